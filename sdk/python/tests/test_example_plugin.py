"""The example plugin, run as aido runs it: a subprocess on pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import EXAMPLE, EXAMPLE_DIR, TIMEOUT, PluginProcess, error_of, plugin_env

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover - older Pythons skip the manifest comparison
    tomllib = None


def test_initialize_describes_the_plugin(plugin: PluginProcess) -> None:
    answer = plugin.initialize()
    result = answer["result"]
    assert result["protocol_version"] == "1.0"
    info = result["plugin"]
    assert info["name"] == "memory-tasks"
    assert info["kinds"] == ["task_management"]
    assert info["required_config"] == ["project"]
    assert "task_management.get_task" in info["methods"]
    assert "task_management.create_task" in info["methods"]
    # Not implemented, so not listed.
    assert "task_management.create_epic" not in info["methods"]
    assert info["config_schema"]["required"] == ["project"]


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_initialize_agrees_with_the_manifest(plugin: PluginProcess) -> None:
    manifest = tomllib.loads((EXAMPLE_DIR / "plugin.toml").read_text())
    info = plugin.initialize()["result"]["plugin"]
    assert info["name"] == manifest["name"]
    assert info["version"] == manifest["version"]
    assert info["description"] == manifest["description"]
    assert info["kinds"] == manifest["kinds"]
    assert info["required_config"] == manifest["config"]["required"]
    assert info["config_schema"] == manifest["config"]["schema"]


def test_a_newer_minor_is_answered_with_ours(plugin: PluginProcess) -> None:
    assert plugin.initialize(["1.7"])["result"]["protocol_version"] == "1.0"


def test_a_version_mismatch_names_the_plugin_and_both_versions(plugin: PluginProcess) -> None:
    answer = plugin.initialize(["2.0"])
    assert error_of(answer) == (-32001, "unsupported")
    message = answer["error"]["message"]
    assert message.startswith("plugin `memory-tasks` speaks protocol 1.0, but the host speaks 2.0;")
    # The plugin stays up: the host decides what happens next.
    assert plugin.proc.poll() is None


def test_requests_before_initialize_are_not_ready(plugin: PluginProcess) -> None:
    assert error_of(plugin.call("plugin.health_check")) == (-32002, "other")


def test_validate_config_reports_every_problem(plugin: PluginProcess) -> None:
    plugin.initialize()
    answer = plugin.call("plugin.validate_config", {"config": {"latency_seconds": -1}})
    assert answer["result"] == {
        "problems": [
            {"path": "project", "message": "is required"},
            {"path": "latency_seconds", "message": "must be a number of seconds, 0 or more"},
        ]
    }
    answer = plugin.call("plugin.validate_config", {"config": {"project": "DEMO"}})
    assert answer["result"] == {"problems": []}


def test_calls_before_connect_are_not_ready(plugin: PluginProcess) -> None:
    plugin.initialize()
    answer = plugin.call("task_management.get_task", {"task_id": "DEMO-1"})
    assert error_of(answer) == (-32002, "other")


def test_connect_then_a_missing_task_is_not_found(plugin: PluginProcess) -> None:
    plugin.start()
    answer = plugin.call("task_management.get_task", {"task_id": "DEMO-9"})
    assert error_of(answer) == (-32000, "not_found")
    assert answer["error"]["message"] == "no task DEMO-9 in project DEMO"
    assert answer["error"]["data"]["retryable"] is False


def test_create_task_returns_a_standard_task_once_per_idempotency_key(plugin: PluginProcess) -> None:
    plugin.start()
    params = {
        "title": "Add login",
        "priority": "high",
        "labels": ["auth"],
        "_meta": {"run_id": "r-1", "step": "plan", "idempotency_key": "aido:r-1:plan"},
    }
    created = plugin.call("task_management.create_task", params)["result"]
    assert created["id"] == "DEMO-1"
    assert created["status"] == "todo" and created["priority"] == "high"
    assert set(created) == {
        "id", "title", "description", "status", "assignee", "priority", "labels",
        "created", "updated", "due_date", "epic_id", "story_points", "custom_fields",
    }  # fmt: skip
    assert created["created"].endswith("Z")

    # The same step tried again: the same task, not a second one.
    again = plugin.call("task_management.create_task", params)["result"]
    assert again == created
    fetched = plugin.call("task_management.get_task", {"task_id": "DEMO-1"})["result"]
    assert fetched == created
    listed = plugin.call("task_management.get_project_tasks", {})["result"]
    assert [task["id"] for task in listed] == ["DEMO-1"]


def test_errors_of_the_plugin_keep_their_kind(plugin: PluginProcess) -> None:
    plugin.start()
    answer = plugin.call("task_management.create_task", {"title": "x", "status": "doing"})
    assert error_of(answer) == (-32602, "invalid_input")
    assert "not a status" in answer["error"]["message"]


def test_unimplemented_and_unknown_methods_are_unsupported(plugin: PluginProcess) -> None:
    plugin.start()
    answer = plugin.call("task_management.create_epic", {"title": "Auth"})
    assert error_of(answer) == (-32601, "unsupported")
    assert answer["error"]["message"] == "plugin `memory-tasks` does not implement task_management.create_epic"
    assert error_of(plugin.call("documentation.get_page", {"page_id": "1"})) == (-32601, "unsupported")
    assert error_of(plugin.call("chat.fly")) == (-32601, "unsupported")


def test_parameters_that_do_not_fit_are_invalid_input(plugin: PluginProcess) -> None:
    plugin.start()
    answer = plugin.call("task_management.get_task", {"task_id": "DEMO-1", "colour": "red"})
    assert error_of(answer) == (-32602, "invalid_input")
    assert "colour" in answer["error"]["message"]
    assert error_of(plugin.call("task_management.get_task", {})) == (-32602, "invalid_input")


def test_a_broken_line_gets_a_parse_error(plugin: PluginProcess) -> None:
    plugin.send_line("{not json")
    answer = plugin.next_message()
    assert answer is not None and answer["id"] is None
    assert error_of(answer) == (-32700, "other")


def test_a_stray_print_goes_to_stderr_not_stdout(plugin: PluginProcess) -> None:
    # The example prints in connect().
    plugin.start()
    plugin.call("plugin.health_check")
    plugin.close_stdin()
    plugin.wait()
    plugin.drain()
    assert "[stdout] memory-tasks: connected to project DEMO" in plugin.stderr
    for line in plugin.raw_stdout:
        assert json.loads(line)["jsonrpc"] == "2.0", line


def test_logging_becomes_log_notifications(plugin: PluginProcess) -> None:
    plugin.start()
    assert {"level": "info", "message": "connected to project DEMO", "target": "memory_tasks"} in plugin.logs


def test_health_check(plugin: PluginProcess) -> None:
    plugin.start()
    assert plugin.call("plugin.health_check")["result"] == {"status": "healthy"}


def test_cancel_answers_cancelled_at_once(plugin: PluginProcess) -> None:
    plugin.start({"project": "DEMO", "latency_seconds": 60})
    slow = plugin.request("task_management.get_task", {"task_id": "DEMO-1"})
    started = time.monotonic()
    plugin.notify("$/cancel", {"id": slow})
    answer = plugin.response(slow)
    assert error_of(answer) == (-32004, "cancelled")
    assert time.monotonic() - started < 5
    # A cancel of something finished or unknown is ignored.
    plugin.notify("$/cancel", {"id": 999})
    assert plugin.call("plugin.health_check")["result"] == {"status": "healthy"}


def test_requests_run_concurrently(plugin: PluginProcess) -> None:
    plugin.start({"project": "DEMO", "latency_seconds": 1.0})
    started = time.monotonic()
    ids = [plugin.request("task_management.get_project_tasks", {}) for _ in range(5)]
    # A quick request overtakes the slow ones.
    quick = plugin.request("plugin.health_check")
    first = plugin.next_message()
    assert first is not None and first["id"] == quick
    answered = {plugin.next_message()["id"] for _ in ids}  # type: ignore[index]
    assert answered == set(ids)
    assert time.monotonic() - started < 4, "five one-second calls took as long as in sequence"


def test_shutdown_then_exit(plugin: PluginProcess) -> None:
    plugin.start()
    assert plugin.call("shutdown") == {"jsonrpc": "2.0", "id": plugin._next_id, "result": None}
    assert error_of(plugin.call("plugin.health_check")) == (-32003, "other")
    plugin.notify("exit")
    assert plugin.wait() == 0
    # disconnect ran as part of shutdown.
    assert {"level": "info", "message": "disconnected; 0 tasks forgotten", "target": "memory_tasks"} in plugin.logs


def test_shutdown_answers_calls_in_flight_first(plugin: PluginProcess) -> None:
    plugin.start({"project": "DEMO", "latency_seconds": 60})
    slow = plugin.request("task_management.get_task", {"task_id": "DEMO-1"})
    stop = plugin.request("shutdown")
    assert error_of(plugin.response(slow)) == (-32004, "cancelled")
    assert plugin.response(stop)["result"] is None


def test_exit_without_shutdown_exits_with_1(plugin: PluginProcess) -> None:
    plugin.start()
    plugin.notify("exit")
    assert plugin.wait() == 1


def test_end_of_stdin_exits(plugin: PluginProcess) -> None:
    plugin.start({"project": "DEMO", "latency_seconds": 60})
    plugin.request("task_management.get_task", {"task_id": "DEMO-1"})
    plugin.close_stdin()
    # Promptly, without waiting for the minute-long call.
    assert plugin.wait(timeout=5) == 1


def test_end_of_stdin_after_shutdown_exits_with_0(plugin: PluginProcess) -> None:
    plugin.start()
    plugin.call("shutdown")
    plugin.close_stdin()
    assert plugin.wait() == 0


def test_exits_when_the_parent_process_dies() -> None:
    """The plugin's parent dies while the plugin's stdin stays open (its
    write end is held here), and ``initialize`` named no parent pid: the
    plugin notices that it was adopted."""
    plugin_in, to_plugin = os.pipe()
    from_plugin, plugin_out = os.pipe()
    # The launcher starts the plugin, then lives until its own stdin closes.
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, sys.argv[1]], cwd=sys.argv[2], stdin=int(sys.argv[3]),"
            " stdout=int(sys.argv[4]), stderr=subprocess.DEVNULL)\n"
            "sys.stdin.read()\n",
            str(EXAMPLE),
            str(EXAMPLE_DIR),
            str(plugin_in),
            str(plugin_out),
        ],
        env=plugin_env(),
        stdin=subprocess.PIPE,
        pass_fds=(plugin_in, plugin_out),
    )
    os.close(plugin_in)
    os.close(plugin_out)
    with os.fdopen(from_plugin, "rb") as out:
        try:
            hello = {"protocol_versions": ["1.0"], "host": {"name": "pytest", "version": "0"}}
            line = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
            os.write(to_plugin, line.encode() + b"\n")
            assert "result" in json.loads(out.readline())
            started = time.monotonic()
            assert launcher.stdin is not None
            launcher.stdin.close()
            assert launcher.wait(TIMEOUT) == 0
            # The plugin's stdout ends when it exits, though its stdin is open.
            rest: list[bytes] = []
            reader = threading.Thread(target=lambda: rest.append(out.read()), daemon=True)
            reader.start()
            reader.join(TIMEOUT)
            assert not reader.is_alive(), "the plugin outlived its parent"
            assert b'"the host process is gone; exiting"' in rest[0]
            assert time.monotonic() - started < TIMEOUT
        finally:
            os.close(to_plugin)
            if launcher.poll() is None:
                launcher.kill()
                launcher.wait()


def test_exits_when_the_parent_pid_of_initialize_is_gone(plugin: PluginProcess) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    answer = plugin.call(
        "initialize",
        {"protocol_versions": ["1.0"], "host": {"name": "pytest", "version": "0"}, "parent_pid": dead.pid},
    )
    assert "result" in answer
    assert plugin.wait() == 1
    plugin.drain()
    assert {"level": "warn", "message": "the host process is gone; exiting", "target": "aido_plugin"} in plugin.logs
