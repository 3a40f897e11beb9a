"""{{name}}: an aido task_management plugin, scaffolded by `aido plugin new`.

Every method of the kind works as generated, keeping tasks in memory; replace
the bodies with calls to your tracker. aido starts this file through
plugin.toml; `serve()` speaks the protocol on stdin/stdout.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from aido_plugin import (
    EMPTY,
    ConfigProblem,
    InvalidInputError,
    NotFoundError,
    TaskManagementPlugin,
    current_call,
    serve,
)

log = logging.getLogger("{{module}}")

STATUSES = ("todo", "in_progress", "in_review", "done")
PRIORITIES = ("low", "medium", "high", "critical")


def now() -> str:
    """The current time as aido's data has it (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def idempotency_key() -> str | None:
    """The key of the call being handled: the same for every attempt of a step."""
    call = current_call()
    return call.idempotency_key if call else None


class {{class}}(TaskManagementPlugin):
    PLUGIN_NAME = "{{name}}"
    PLUGIN_VERSION = "0.1.0"
    PLUGIN_DESCRIPTION = "{{description}}"
    REQUIRED_CONFIG: list[str] = []
    # The same schema as in plugin.toml, which aido checks before starting us.
    CONFIG_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "prefix": {
                "type": "string",
                "pattern": "^[A-Za-z][A-Za-z0-9]*$",
                "description": "The prefix of the identifiers this plugin makes, such as DEMO.",
            },
        },
    }

    def __init__(self) -> None:
        self.prefix = "TASK"
        self.tasks: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.epics: dict[str, dict[str, Any]] = {}
        # Idempotency key -> what was made under it, so that a retried step
        # gets the first result instead of a second task.
        self.made: dict[str, Any] = {}
        self.numbers = itertools.count(1)

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        prefix = config.get("prefix", "TASK")
        if not isinstance(prefix, str) or not prefix.isalnum():
            problems.append(ConfigProblem("prefix", "must be letters and digits, such as DEMO"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        self.prefix = config.get("prefix", "TASK")
        log.info("connected; new tasks are %s-<n>", self.prefix)

    async def disconnect(self) -> None:
        log.info("disconnected; %d tasks forgotten", len(self.tasks))

    def _task(self, task_id: str) -> dict[str, Any]:
        task = self.tasks.get(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id}")
        return task

    def _record(self, task_id: str, change: dict[str, Any]) -> None:
        self.history.setdefault(task_id, []).append({"at": now(), "actor": None, "change": change})

    @staticmethod
    def _check(value: str | None, allowed: Sequence[str], what: str) -> None:
        if value is not None and value not in allowed:
            raise InvalidInputError(f"`{value}` is not a {what}; use one of {', '.join(allowed)}")

    async def get_task(self, *, task_id: str) -> dict[str, Any]:
        return self._task(task_id)

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
        key = idempotency_key()
        if key in self.made:
            return self.tasks[self.made[key]]
        self._check(status, STATUSES, "status")
        self._check(priority, PRIORITIES, "priority")
        if epic_id is not None and epic_id not in self.epics:
            raise NotFoundError(f"no epic {epic_id}")
        task_id = f"{project or self.prefix}-{next(self.numbers)}"
        stamp = now()
        task = {
            "id": task_id,
            "title": title,
            "description": description,
            "status": status or "todo",
            "assignee": assignee,
            "priority": priority or "medium",
            "labels": list(labels),
            "created": stamp,
            "updated": stamp,
            "due_date": due_date,
            "epic_id": epic_id,
            "story_points": story_points,
            "custom_fields": dict(custom_fields),
        }
        self.tasks[task_id] = task
        self._record(task_id, {"type": "created"})
        if key is not None:
            self.made[key] = task_id
        return task

    async def update_task_status(self, *, task_id: str, status: str) -> dict[str, Any]:
        self._check(status, STATUSES, "status")
        task = self._task(task_id)
        if task["status"] != status:
            self._record(task_id, {"type": "status_changed", "from": task["status"], "to": status})
            task["status"] = status
            task["updated"] = now()
        return task

    async def add_comment(self, *, task_id: str, body: str) -> dict[str, Any]:
        self._task(task_id)
        key = idempotency_key()
        if key in self.made:
            return self.made[key]
        comments = self.comments.setdefault(task_id, [])
        comment = {
            "id": f"{task_id}/c{len(comments) + 1}",
            "task_id": task_id,
            "author": None,
            "body": body,
            "created": now(),
        }
        comments.append(comment)
        self._record(task_id, {"type": "commented", "comment_id": comment["id"]})
        if key is not None:
            self.made[key] = comment
        return comment

    async def get_comments(self, *, task_id: str) -> list[dict[str, Any]]:
        self._task(task_id)
        return list(self.comments.get(task_id, []))

    async def create_epic(
        self,
        *,
        title: str,
        description: str = "",
        project: str | None = None,
        labels: Sequence[str] = (),
    ) -> dict[str, Any]:
        key = idempotency_key()
        if key in self.made:
            return self.made[key]
        epic = {
            "id": f"{project or self.prefix}-E{next(self.numbers)}",
            "title": title,
            "description": description,
            "status": "todo",
            "url": None,
            "created": now(),
        }
        self.epics[epic["id"]] = epic
        if key is not None:
            self.made[key] = epic
        return epic

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
        prefix = f"{project or self.prefix}-"
        found = [
            task
            for task in self.tasks.values()
            if task["id"].startswith(prefix)
            and (status is None or task["status"] == status)
            and (assignee is None or task["assignee"] == assignee)
            and (epic_id is None or task["epic_id"] == epic_id)
            and all(label in task["labels"] for label in labels)
        ]
        return found if limit is None else found[:limit]

    async def assign_task(self, *, task_id: str, assignee: str | None = None) -> dict[str, Any]:
        task = self._task(task_id)
        if task["assignee"] != assignee:
            self._record(task_id, {"type": "assigned", "from": task["assignee"], "to": assignee})
            task["assignee"] = assignee
            task["updated"] = now()
        return task

    async def get_task_history(self, *, task_id: str) -> list[dict[str, Any]]:
        self._task(task_id)
        return list(self.history.get(task_id, []))


if __name__ == "__main__":
    serve({{class}})
