"""mycustom: aido tasks in a MyCustom Tasks API tracker, over REST.

The design document's example of a community plugin, written with the
Python SDK for real: every ``task_management`` action, the service's
statuses and priorities mapped through configuration, idempotent writes,
HTTP failures mapped onto aido's error kinds, and the API key received as
a secret. The service is our own invention; its reference is the test
kit's emulator of it (``crates/aido-testkit/src/mycustom.rs``), which
``aido sandbox --services mycustom`` runs.

Configuration (see ``config.yaml.example``): ``base_url`` and ``project``
(required), ``timeout_seconds``, ``mappings.statuses`` and
``mappings.priorities`` (aido's names to the service's). The API key is
the secret ``MYCUSTOM_API_KEY``: aido reads it from its environment and
hands it over inside ``plugin.connect`` only.

How it maps aido onto the API:

- A task is a MyCustom task of type ``task``; **an epic is a task of type
  ``epic``**, and a task's ``epic_id`` is its epic's id.
- Assignees are users' emails (a user id such as ``u_2`` works too).
- **Never twice**: a task or epic created under an idempotency key carries
  the label ``aido-key-<hash of the key>``, looked for before creating (and
  hidden from the task's labels); a comment made under a key ends with a
  line ``<!-- aido-key: <hash> -->``, looked for among the task's comments
  before commenting (and hidden from comment bodies). Status changes and
  assignments are idempotent by nature.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from aido_plugin import (
    EMPTY,
    AuthenticationError,
    ConfigProblem,
    ConfigurationError,
    Health,
    InvalidInputError,
    InvalidResponseError,
    NotFoundError,
    PluginError,
    TaskManagementPlugin,
    current_call,
    serve,
)
from mycustom_client import MyCustomClient

log = logging.getLogger("mycustom")

STATUSES = ("todo", "in_progress", "in_review", "done")
PRIORITIES = ("low", "medium", "high", "critical")

#: aido's names to the service's, unless ``mappings`` says otherwise.
DEFAULT_STATUSES = {"todo": "new", "in_progress": "active", "in_review": "review", "done": "closed"}
DEFAULT_PRIORITIES = {"low": "low", "medium": "normal", "high": "high", "critical": "urgent"}

#: The secret holding the API key (declared in plugin.toml).
API_KEY = "MYCUSTOM_API_KEY"

KEY_LABEL = "aido-key-"
KEY_MARKER = "<!-- aido-key: "

#: The largest page the API serves.
PAGE = 100

_NAMES = {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}}

CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["base_url", "project"],
    "properties": {
        "base_url": {
            "type": "string",
            "description": "The service's URL, such as https://tasks.example.com (the API is under /api/v1).",
        },
        "project": {"type": "string", "description": "The project key new tasks go to, such as DEMO."},
        "timeout_seconds": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "The longest wait for one HTTP answer (10).",
        },
        "mappings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "statuses": {**_NAMES, "description": "aido's statuses to the service's (new, active, review, closed)."},
                "priorities": {
                    **_NAMES,
                    "description": "aido's priorities to the service's (low, normal, high, urgent).",
                },
            },
        },
    },
}


def key_hash(key: str) -> str:
    """A short, stable stand-in for an idempotency key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def idempotency_key() -> str | None:
    """The key of the call being handled, if it has one."""
    call = current_call()
    return call.idempotency_key if call else None


def call_timeout() -> float | None:
    """How long the host waits for the call being handled."""
    call = current_call()
    return call.timeout_seconds if call else None


def without_marker(text: str) -> str:
    """``text`` without its idempotency line."""
    kept = [line for line in text.splitlines() if not line.strip().startswith(KEY_MARKER)]
    return "\n".join(kept).rstrip()


def as_time(value: Any) -> Any:
    """A service date (``YYYY-MM-DD``) as the RFC 3339 time aido expects."""
    if isinstance(value, str) and len(value) == 10:
        return f"{value}T00:00:00Z"
    return value


def mapping_problems(section: str, given: Any, names: Sequence[str]) -> list[ConfigProblem]:
    """Problems of ``mappings.<section>``: known keys, one service name each."""
    path = f"mappings.{section}"
    if given is None:
        return []
    if not isinstance(given, Mapping):
        return [ConfigProblem(path, f"must map aido's {section} ({', '.join(names)}) to the service's")]
    problems = []
    seen: dict[str, str] = {}
    for name, value in given.items():
        if name not in names:
            problems.append(ConfigProblem(f"{path}.{name}", f"is not one of aido's {section}: {', '.join(names)}"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(ConfigProblem(f"{path}.{name}", "must be the service's name for it"))
        elif value in seen:
            problems.append(ConfigProblem(f"{path}.{name}", f"is the same as {path}.{seen[value]}; each needs its own"))
        else:
            seen[value] = name
    return problems


class MyCustomTaskPlugin(TaskManagementPlugin):
    PLUGIN_NAME = "mycustom"
    PLUGIN_VERSION = "0.1.0"
    PLUGIN_DESCRIPTION = "Tasks in a MyCustom Tasks API tracker, over REST (an example written with the Python SDK)."
    REQUIRED_CONFIG = ["base_url", "project"]
    # The same schema as in plugin.toml, which aido checks before starting us.
    CONFIG_SCHEMA = CONFIG_SCHEMA

    def __init__(self) -> None:
        self.api: MyCustomClient | None = None
        self.project = ""
        self.statuses = dict(DEFAULT_STATUSES)
        self.priorities = dict(DEFAULT_PRIORITIES)
        self.status_names: dict[str, str] = {}
        self.priority_names: dict[str, str] = {}
        # Email -> user id, filled as assignees are looked up.
        self.user_ids: dict[str, str] = {}

    # ----- lifecycle -----

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        base_url = config.get("base_url")
        if isinstance(base_url, str) and not base_url.startswith(("http://", "https://")):
            problems.append(ConfigProblem("base_url", "must start with http:// or https://"))
        timeout = config.get("timeout_seconds", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            problems.append(ConfigProblem("timeout_seconds", "must be a number of seconds, more than 0"))
        mappings = config.get("mappings") or {}
        if not isinstance(mappings, Mapping):
            problems.append(ConfigProblem("mappings", "must hold `statuses` and `priorities`"))
        else:
            problems += mapping_problems("statuses", mappings.get("statuses"), STATUSES)
            problems += mapping_problems("priorities", mappings.get("priorities"), PRIORITIES)
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        api_key = self.secret(API_KEY)
        self.project = config["project"]
        mappings = config.get("mappings") or {}
        self.statuses.update(mappings.get("statuses") or {})
        self.priorities.update(mappings.get("priorities") or {})
        self.status_names = {theirs: ours for ours, theirs in self.statuses.items()}
        self.priority_names = {theirs: ours for ours, theirs in self.priorities.items()}
        self.api = MyCustomClient(config["base_url"], api_key, float(config.get("timeout_seconds", 10)))
        # One request proves the URL, the key and the project at once.
        try:
            await self.api.request("GET", f"/projects/{_quote(self.project)}")
        except NotFoundError:
            raise ConfigurationError(f"project: MyCustom has no project `{self.project}`") from None
        log.info("connected to %s, project %s", self.api.root, self.project)

    async def disconnect(self) -> None:
        self.api = None

    async def health_check(self) -> Health:
        try:
            await self._api().request("GET", "/health", auth=False, timeout=5)
            await self._api().request("GET", "/users/me", timeout=5)
        except AuthenticationError:
            return Health.unhealthy("MyCustom refuses the API key (MYCUSTOM_API_KEY)")
        except (PluginError, OSError) as err:
            return Health.unhealthy(f"MyCustom is not reachable: {err}")
        return Health.healthy()

    # ----- helpers -----

    def _api(self) -> MyCustomClient:
        if self.api is None:
            raise ConfigurationError("not connected")
        return self.api

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self._api().request(method, path, timeout=call_timeout(), **kwargs)

    def _their_status(self, status: str) -> str:
        if status not in self.statuses:
            raise InvalidInputError(f"`{status}` is not a status; use one of {', '.join(STATUSES)}")
        return self.statuses[status]

    def _their_priority(self, priority: str) -> str:
        if priority not in self.priorities:
            raise InvalidInputError(f"`{priority}` is not a priority; use one of {', '.join(PRIORITIES)}")
        return self.priorities[priority]

    def _our_status(self, theirs: Any) -> str:
        ours = self.status_names.get(theirs)
        if ours is None:
            log.warning("status %r is not in mappings.statuses; shown as todo", theirs)
            return "todo"
        return ours

    def _our_priority(self, theirs: Any) -> str:
        return self.priority_names.get(theirs, "medium")

    async def _user_id(self, assignee: str) -> str:
        """A user id for an email (looked up once) or an id."""
        if "@" not in assignee:
            return assignee
        if assignee.lower() not in self.user_ids:
            found = await self._call("GET", "/users", query=[("email", assignee)])
            users = found.get("data") or []
            if not users:
                raise InvalidInputError(f"MyCustom has no user with the email {assignee}")
            self.user_ids[assignee.lower()] = users[0]["id"]
        return self.user_ids[assignee.lower()]

    async def _pages(self, path: str, query: list[tuple[str, Any]], limit: int | None = None) -> list[Any]:
        """Every item of a list, following ``next_cursor``, up to ``limit``."""
        items: list[Any] = []
        cursor = None
        while True:
            size = PAGE if limit is None else max(1, min(PAGE, limit - len(items)))
            page = await self._call("GET", path, query=[*query, ("limit", size), ("cursor", cursor)])
            if not isinstance(page, Mapping) or not isinstance(page.get("data"), list):
                raise InvalidResponseError(f"MyCustom answered GET {path} without a `data` list")
            items += page["data"]
            cursor = page.get("next_cursor")
            if not cursor or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]

    def _task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """A service task in aido's standard format."""
        try:
            return {
                "id": task["id"],
                "title": task["title"],
                "description": without_marker(task.get("description") or ""),
                "status": self._our_status(task.get("status")),
                "assignee": (task.get("assignee") or {}).get("email"),
                "priority": self._our_priority(task.get("priority")),
                "labels": [label for label in task.get("labels") or [] if not label.startswith(KEY_LABEL)],
                "created": task["created_at"],
                "updated": task["updated_at"],
                "due_date": as_time(task.get("due_date")),
                "epic_id": task.get("epic_id"),
                "story_points": task.get("story_points"),
                "custom_fields": {"url": task.get("url"), "project": task.get("project"), "type": task.get("type")},
            }
        except (KeyError, TypeError, AttributeError) as err:
            raise InvalidResponseError(f"MyCustom sent a task without {err}") from None

    def _comment(self, comment: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": comment["id"],
            "task_id": comment["task_id"],
            "author": (comment.get("author") or {}).get("email"),
            "body": without_marker(comment.get("body") or ""),
            "created": comment["created_at"],
        }

    async def _create(self, project: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Creates a task or an epic, once per idempotency key."""
        project = project or self.project
        key = idempotency_key()
        if key is not None:
            label = KEY_LABEL + key_hash(key)
            found = await self._call(
                "GET", f"/projects/{_quote(project)}/tasks", query=[("label", label), ("limit", 1)]
            )
            if found.get("data"):
                log.info("%s was made under this key already", found["data"][0]["id"])
                return found["data"][0]
            body["labels"] = [*body.get("labels", []), label]
        return await self._call("POST", f"/projects/{_quote(project)}/tasks", body=body)

    # ----- task_management -----

    async def get_task(self, *, task_id: str) -> dict[str, Any]:
        task = await self._call("GET", f"/tasks/{_quote(task_id)}")
        return self._task(task)

    async def create_task(
        self,
        *,
        title: str,
        description: str = "",
        project: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        labels: Sequence[str] = (),
        due_date: str | None = None,
        epic_id: str | None = None,
        story_points: float | None = None,
        custom_fields: Mapping[str, Any] = EMPTY,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "task",
            "title": title,
            "description": description,
            "status": self._their_status(status or "todo"),
            "priority": self._their_priority(priority or "medium"),
            "labels": list(labels),
        }
        if assignee:
            body["assignee_id"] = await self._user_id(assignee)
        if due_date:
            body["due_date"] = due_date
        if epic_id:
            body["epic_id"] = epic_id
        if story_points is not None:
            body["story_points"] = story_points
        return self._task(await self._create(project, body))

    async def update_task_status(self, *, task_id: str, status: str) -> dict[str, Any]:
        body = {"status": self._their_status(status)}
        return self._task(await self._call("PATCH", f"/tasks/{_quote(task_id)}", body=body))

    async def add_comment(self, *, task_id: str, body: str) -> dict[str, Any]:
        path = f"/tasks/{_quote(task_id)}/comments"
        key = idempotency_key()
        text = body
        if key is not None:
            marker = f"{KEY_MARKER}{key_hash(key)} -->"
            for comment in await self._pages(path, []):
                if marker in (comment.get("body") or ""):
                    return self._comment(comment)
            text = f"{body}\n\n{marker}"
        return self._comment(await self._call("POST", path, body={"body": text}))

    async def get_comments(self, *, task_id: str) -> list[dict[str, Any]]:
        return [self._comment(c) for c in await self._pages(f"/tasks/{_quote(task_id)}/comments", [])]

    async def create_epic(
        self,
        *,
        title: str,
        description: str = "",
        project: str | None = None,
        labels: Sequence[str] = (),
    ) -> dict[str, Any]:
        body = {"type": "epic", "title": title, "description": description, "labels": list(labels)}
        epic = self._task(await self._create(project, body))
        return {
            "id": epic["id"],
            "title": epic["title"],
            "description": epic["description"],
            "status": epic["status"],
            "url": epic["custom_fields"]["url"],
            "created": epic["created"],
        }

    async def get_project_tasks(
        self,
        *,
        project: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
        labels: Sequence[str] = (),
        epic_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        query: list[tuple[str, Any]] = [("type", "task")]
        if status is not None:
            query.append(("status", self._their_status(status)))
        if assignee is not None:
            query.append(("assignee_id", await self._user_id(assignee)))
        if epic_id is not None:
            query.append(("epic_id", epic_id))
        query += [("label", label) for label in labels]
        path = f"/projects/{_quote(project or self.project)}/tasks"
        return [self._task(t) for t in await self._pages(path, query, limit)]

    async def assign_task(self, *, task_id: str, assignee: str | None) -> dict[str, Any]:
        user = await self._user_id(assignee) if assignee else None
        task = await self._call("PATCH", f"/tasks/{_quote(task_id)}", body={"assignee_id": user})
        return self._task(task)

    async def get_task_history(self, *, task_id: str) -> list[dict[str, Any]]:
        events = await self._pages(f"/tasks/{_quote(task_id)}/history", [])
        return [self._event(event) for event in events]

    def _event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        kind = event.get("type")
        if kind == "status_changed":
            change = {"type": kind, "from": self._our_status(event.get("from")), "to": self._our_status(event.get("to"))}
        elif kind == "assigned":
            change = {"type": kind, "from": event.get("from"), "to": event.get("to")}
        elif kind == "commented":
            change = {"type": kind, "comment_id": event.get("comment_id")}
        elif kind == "created":
            change = {"type": kind}
        else:
            change = {
                "type": "field_changed",
                "field": str(event.get("field") or kind),
                "from": event.get("from"),
                "to": event.get("to"),
            }
        return {"at": event.get("at"), "actor": (event.get("actor") or {}).get("email"), "change": change}


def _quote(segment: str) -> str:
    """A task id or project key as one path segment."""
    return quote(str(segment), safe="")


if __name__ == "__main__":
    serve(MyCustomTaskPlugin)
