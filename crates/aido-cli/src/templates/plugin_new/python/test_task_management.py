"""Tests of {{name}}: each method through the plugin class, as aido calls it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aido_plugin import CallInfo, NotFoundError  # noqa: E402
from aido_plugin.plugin import set_current_call  # noqa: E402

from {{module}} import {{class}}  # noqa: E402


def run(coroutine):
    return asyncio.run(coroutine)


def plugin() -> {{class}}:
    instance = {{class}}()
    run(instance.connect({"prefix": "T"}))
    return instance


def keyed(key: str) -> None:
    """Makes the next calls carry `key` as their idempotency key."""
    set_current_call(CallInfo(request_id=1, method="test", idempotency_key=key))


def test_tasks_are_created_read_moved_and_listed():
    p = plugin()
    task = run(p.create_task(title="Write tests", priority="high", labels=["x"]))
    assert task["id"] == "T-1" and task["status"] == "todo"
    assert run(p.get_task(task_id="T-1"))["title"] == "Write tests"
    moved = run(p.update_task_status(task_id="T-1", status="done"))
    assert moved["status"] == "done"
    assert [t["id"] for t in run(p.get_project_tasks(labels=["x"]))] == ["T-1"]
    assert run(p.assign_task(task_id="T-1", assignee="ana"))["assignee"] == "ana"
    changes = [event["change"]["type"] for event in run(p.get_task_history(task_id="T-1"))]
    assert changes == ["created", "status_changed", "assigned"]


def test_comments_and_epics():
    p = plugin()
    epic = run(p.create_epic(title="Launch"))
    task = run(p.create_task(title="Child", epic_id=epic["id"]))
    assert task["epic_id"] == epic["id"]
    run(p.add_comment(task_id=task["id"], body="Looks good"))
    assert [c["body"] for c in run(p.get_comments(task_id=task["id"]))] == ["Looks good"]


def test_a_retried_write_returns_the_first_result():
    p = plugin()
    keyed("run-1:create")
    first = run(p.create_task(title="Once"))
    second = run(p.create_task(title="Once"))
    set_current_call(None)
    assert first["id"] == second["id"]
    assert len(run(p.get_project_tasks())) == 1


def test_unknown_tasks_are_not_found():
    with pytest.raises(NotFoundError):
        run(plugin().get_task(task_id="T-404"))


def test_the_configuration_is_checked():
    problems = run({{class}}().validate_config({"prefix": "no spaces"}))
    assert [problem.path for problem in problems] == ["prefix"]
