"""memory-tasks: a complete aido task plugin that keeps its tasks in memory.

It shows the whole SDK in a small space: metadata, configuration checks,
connect, kind methods with the catalog's keyword arguments, errors that
travel with their kind, idempotent creation through ``current_call()``,
logging, and a ``print`` that cannot break the protocol.

aido starts it through ``plugin.toml`` in this folder. To talk to it by
hand (``pip install -e sdk/python`` first), type one JSON line per message
and end with Ctrl-D::

    $ python3 memory_tasks.py
    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocol_versions":["1.0"],"host":{"name":"me","version":"0"}}}
    {"jsonrpc":"2.0","id":2,"method":"plugin.connect","params":{"config":{"project":"DEMO"}}}
    {"jsonrpc":"2.0","id":3,"method":"task_management.create_task","params":{"title":"Try aido"}}

Its configuration: ``project`` (required), the key of new task ids, and
``latency_seconds``, a pause before every answer for trying timeouts and
cancellation.
"""

from __future__ import annotations

import asyncio
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

log = logging.getLogger("memory_tasks")

STATUSES = ("todo", "in_progress", "in_review", "done")
PRIORITIES = ("low", "medium", "high", "critical")


def now() -> str:
    """The current time as aido's data has it (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class MemoryTasks(TaskManagementPlugin):
    PLUGIN_NAME = "memory-tasks"
    PLUGIN_VERSION = "0.1.0"
    PLUGIN_DESCRIPTION = "Tasks kept in memory, for trying aido's external plugins."
    REQUIRED_CONFIG = ["project"]
    # The same schema as in plugin.toml, which aido checks before starting us.
    CONFIG_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "required": ["project"],
        "properties": {
            "project": {"type": "string", "description": "The project key new tasks get, such as DEMO."},
            "latency_seconds": {
                "type": "number",
                "minimum": 0,
                "description": "A pause before every answer, for trying timeouts and cancellation.",
            },
        },
    }

    def __init__(self) -> None:
        self.project = ""
        self.latency = 0.0
        self.tasks: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        # Idempotency key -> task id, so a retried creation returns the task
        # made the first time instead of a second one.
        self.created_by_key: dict[str, str] = {}
        self.numbers = itertools.count(1)

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        latency = config.get("latency_seconds", 0)
        if not isinstance(latency, (int, float)) or isinstance(latency, bool) or latency < 0:
            problems.append(ConfigProblem("latency_seconds", "must be a number of seconds, 0 or more"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        self.project = config["project"]
        self.latency = float(config.get("latency_seconds", 0))
        # Printing is safe: the SDK sends it to stderr, not into the protocol.
        print(f"memory-tasks: connected to project {self.project}")
        log.info("connected to project %s", self.project)

    async def disconnect(self) -> None:
        log.info("disconnected; %d tasks forgotten", len(self.tasks))

    async def _pause(self) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)

    def _task(self, task_id: str) -> dict[str, Any]:
        task = self.tasks.get(task_id)
        if task is None:
            raise NotFoundError(f"no task {task_id} in project {self.project}")
        return task

    async def get_task(self, *, task_id: str) -> dict[str, Any]:
        await self._pause()
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
        await self._pause()
        call = current_call()
        key = call.idempotency_key if call else None
        if key in self.created_by_key:
            return self.tasks[self.created_by_key[key]]
        if status is not None and status not in STATUSES:
            raise InvalidInputError(f"`{status}` is not a status; use one of {', '.join(STATUSES)}")
        if priority is not None and priority not in PRIORITIES:
            raise InvalidInputError(f"`{priority}` is not a priority; use one of {', '.join(PRIORITIES)}")
        task_id = f"{project or self.project}-{next(self.numbers)}"
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
        if key is not None:
            self.created_by_key[key] = task_id
        log.info("created %s", task_id)
        return task

    async def update_task_status(self, *, task_id: str, status: str) -> dict[str, Any]:
        await self._pause()
        if status not in STATUSES:
            raise InvalidInputError(f"`{status}` is not a status; use one of {', '.join(STATUSES)}")
        task = self._task(task_id)
        task["status"] = status
        task["updated"] = now()
        return task

    async def add_comment(self, *, task_id: str, body: str) -> dict[str, Any]:
        await self._pause()
        self._task(task_id)
        comments = self.comments.setdefault(task_id, [])
        call = current_call()
        key = call.idempotency_key if call else None
        for comment in comments:
            if key is not None and comment["custom_key"] == key:
                return _public(comment)
        comment = {
            "id": f"{task_id}/c{len(comments) + 1}",
            "task_id": task_id,
            "author": "memory-tasks",
            "body": body,
            "created": now(),
            "custom_key": key,
        }
        comments.append(comment)
        return _public(comment)

    async def get_comments(self, *, task_id: str) -> list[dict[str, Any]]:
        await self._pause()
        self._task(task_id)
        return [_public(comment) for comment in self.comments.get(task_id, [])]

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
        await self._pause()
        prefix = f"{project or self.project}-"
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


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    """A stored comment without the plugin's own bookkeeping."""
    return {key: value for key, value in comment.items() if key != "custom_key"}


if __name__ == "__main__":
    serve(MemoryTasks)
