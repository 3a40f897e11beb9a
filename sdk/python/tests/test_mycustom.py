"""The ``mycustom`` example plugin: its pure parts here, and the whole
plugin against the Rust emulator of the MyCustom Tasks API, started with
``aido sandbox --services mycustom`` when an ``aido`` binary is built
(``AIDO_BIN``, else ``target/debug/aido`` or ``target/release/aido`` of
this checkout). Tests that need the emulator are skipped without one.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import SDK, PluginProcess, error_of

MYCUSTOM_DIR = SDK / "examples" / "mycustom"
sys.path.insert(0, str(MYCUSTOM_DIR))

import aido_plugin as ap  # noqa: E402
from aido_plugin.plugin import CallInfo, set_current_call  # noqa: E402

import mycustom  # noqa: E402
import mycustom_client  # noqa: E402

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover - older Pythons skip the manifest comparison
    tomllib = None

REPO = SDK.parents[1]
KEY = "mc_pytest-key-0123456789"


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# ----- without a service -----


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_the_manifest_agrees_with_the_plugin() -> None:
    manifest = tomllib.loads((MYCUSTOM_DIR / "plugin.toml").read_text())
    info = mycustom.MyCustomTaskPlugin.info()
    assert info["name"] == manifest["name"] == "mycustom"
    assert info["version"] == manifest["version"]
    assert info["description"] == manifest["description"]
    assert info["kinds"] == manifest["kinds"]
    assert info["required_config"] == manifest["config"]["required"]
    assert info["config_schema"] == manifest["config"]["schema"]
    assert manifest["secrets"] == [mycustom.API_KEY]
    # Every action of the kind is implemented.
    assert len(info["methods"]) == len(ap.TaskManagementPlugin.METHODS)


def test_validate_config_reports_every_problem() -> None:
    plugin = mycustom.MyCustomTaskPlugin()
    problems = run(
        plugin.validate_config(
            {
                "base_url": "ftp://x",
                "timeout_seconds": 0,
                "mappings": {
                    "statuses": {"todo": "new", "doing": "active", "done": "new"},
                    "priorities": {"high": ""},
                },
            }
        )
    )
    paths = sorted(p.path for p in problems)
    assert paths == [
        "base_url",
        "mappings.priorities.high",
        "mappings.statuses.doing",
        "mappings.statuses.done",
        "project",
        "timeout_seconds",
    ]
    good = {"base_url": "http://127.0.0.1:1", "project": "DEMO"}
    assert run(plugin.validate_config(good)) == []


def test_connect_without_the_secret_names_the_variable_not_a_value() -> None:
    plugin = mycustom.MyCustomTaskPlugin()
    with pytest.raises(ap.ConfigurationError, match="MYCUSTOM_API_KEY"):
        run(plugin.connect({"base_url": "http://127.0.0.1:1", "project": "DEMO"}))


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (401, ap.AuthenticationError, False),
        (403, ap.AuthenticationError, False),
        (404, ap.NotFoundError, False),
        (400, ap.InvalidInputError, False),
        (422, ap.InvalidInputError, False),
        (429, ap.RateLimitedError, True),
        (500, ap.ConnectionError, True),
        (503, ap.ConnectionError, True),
        (302, ap.InvalidResponseError, False),
    ],
)
def test_http_failures_map_onto_the_sdk_errors(status: int, error: type, retryable: bool) -> None:
    body = b'{"error": {"code": "x", "message": "Nope.", "field": "title"}}'
    exc = mycustom_client.error_for(status, body, {"Retry-After": "7"}, "GET /tasks/DEMO-1")
    assert type(exc) is error
    assert exc.retryable is retryable
    assert "GET /tasks/DEMO-1" in exc.message
    if status == 429:
        assert exc.retry_after == 7.0
    if status == 422:
        assert "`title`" in exc.message


def test_markers_hide_and_hashes_are_stable() -> None:
    assert mycustom.without_marker("Hi\n\n<!-- aido-key: 0123 -->") == "Hi"
    assert mycustom.key_hash("aido:r1:step") == mycustom.key_hash("aido:r1:step")
    assert mycustom.key_hash("a") != mycustom.key_hash("b")
    assert mycustom.as_time("2030-01-02") == "2030-01-02T00:00:00Z"


def test_the_plugin_speaks_the_protocol_and_wants_its_secret() -> None:
    process = PluginProcess([sys.executable, str(MYCUSTOM_DIR / "mycustom.py")])
    try:
        info = process.initialize()["result"]["plugin"]
        assert info["name"] == "mycustom"
        answer = process.call(
            "plugin.connect", {"config": {"base_url": "http://127.0.0.1:1", "project": "DEMO"}, "secrets": {}}
        )
        assert error_of(answer)[1] == "configuration"
        assert "MYCUSTOM_API_KEY" in answer["error"]["message"]
    finally:
        process.kill()


# ----- against the emulator -----


def aido_binary() -> Path | None:
    named = os.environ.get("AIDO_BIN")
    candidates = [Path(named)] if named else [REPO / "target" / "debug" / "aido", REPO / "target" / "release" / "aido"]
    return next((path for path in candidates if path.is_file() and os.access(path, os.X_OK)), None)


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """The base URL of a MyCustom emulator accepting ``KEY``."""
    binary = aido_binary()
    if binary is None:
        pytest.skip("no aido binary (cargo build -p aido-cli, or set AIDO_BIN)")
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "sandbox.out"
        env = {**os.environ, "MYCUSTOM_API_KEY": KEY, "NO_COLOR": "1"}
        env.pop("AIDO_CONFIG", None)
        with open(log_path, "wb") as log:
            sandbox = subprocess.Popen(
                [str(binary), "sandbox", "--services", "mycustom"],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            url = None
            while url is None:
                found = re.search(r"http://127\.0\.0\.1:\d+", log_path.read_text(errors="replace"))
                url = found.group(0) if found else None
                if url is None:
                    if sandbox.poll() is not None and "not a sandbox service" in log_path.read_text(errors="replace"):
                        pytest.skip(f"{binary} predates the mycustom emulator; rebuild it")
                    if sandbox.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"aido sandbox did not start:\n{log_path.read_text(errors='replace')}")
                    time.sleep(0.05)
            yield url
        finally:
            sandbox.terminate()
            try:
                sandbox.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sandbox.kill()
                sandbox.wait()


def connected(url: str, **config: Any) -> mycustom.MyCustomTaskPlugin:
    plugin = mycustom.MyCustomTaskPlugin()
    plugin.secrets = {mycustom.API_KEY: KEY}
    run(plugin.connect({"base_url": url, "project": "DEMO", **config}))
    return plugin


def keyed(key: str | None, coroutine_factory: Any) -> Any:
    """Runs a plugin call as the SDK does, with ``key`` as the call's
    idempotency key."""

    async def call() -> Any:
        set_current_call(CallInfo(request_id=1, method="task_management.x", idempotency_key=key))
        return await coroutine_factory()

    return run(call())


def test_every_action_against_the_emulator(service: str) -> None:
    plugin = connected(service)
    epic = keyed("t:epic", lambda: plugin.create_epic(title="Checkout"))
    task = keyed(
        "t:create",
        lambda: plugin.create_task(
            title="Pay",
            priority="critical",
            labels=["backend"],
            assignee="alice@example.com",
            epic_id=epic["id"],
            due_date="2030-01-02T00:00:00Z",
            story_points=3,
        ),
    )
    again = keyed("t:create", lambda: plugin.create_task(title="Pay"))
    assert again["id"] == task["id"]
    assert task["priority"] == "critical"
    assert task["labels"] == ["backend"]
    assert task["assignee"] == "alice@example.com"
    assert task["epic_id"] == epic["id"]
    moved = run(plugin.update_task_status(task_id=task["id"], status="in_review"))
    assert moved["status"] == "in_review"
    assert run(plugin.assign_task(task_id=task["id"], assignee=None))["assignee"] is None
    first = keyed("t:comment", lambda: plugin.add_comment(task_id=task["id"], body="Done soon."))
    second = keyed("t:comment", lambda: plugin.add_comment(task_id=task["id"], body="Done soon."))
    assert first == second
    assert first["body"] == "Done soon."
    assert [c["body"] for c in run(plugin.get_comments(task_id=task["id"]))] == ["Done soon."]
    changes = [e["change"]["type"] for e in run(plugin.get_task_history(task_id=task["id"]))]
    assert changes == ["created", "status_changed", "assigned", "commented"]
    listed = run(plugin.get_project_tasks(epic_id=epic["id"], status="in_review"))
    assert [t["id"] for t in listed] == [task["id"]]
    assert run(plugin.get_project_tasks(labels=["nothing-has-this"])) == []
    assert run(plugin.health_check()) == ap.Health.healthy()


def test_listing_follows_cursors_up_to_the_limit(service: str) -> None:
    plugin = connected(service)
    label = f"page-{time.monotonic_ns()}"
    for n in range(5):
        run(plugin.create_task(title=f"page {n}", labels=[label]))
    mycustom.PAGE, saved = 2, mycustom.PAGE
    try:
        assert len(run(plugin.get_project_tasks(labels=[label]))) == 5
        assert len(run(plugin.get_project_tasks(labels=[label], limit=3))) == 3
    finally:
        mycustom.PAGE = saved


def test_mappings_from_config_change_what_is_sent(service: str) -> None:
    # Swapping two names shows the mapping is read from the configuration.
    plugin = connected(service, mappings={"statuses": {"todo": "review", "in_review": "new"}})
    task = run(plugin.create_task(title="Mapped"))
    assert task["status"] == "todo"
    plain = connected(service)
    assert run(plain.get_task(task_id=task["id"]))["status"] == "in_review"


def test_errors_from_the_service(service: str) -> None:
    plugin = connected(service)
    with pytest.raises(ap.NotFoundError):
        run(plugin.get_task(task_id="DEMO-999999"))
    with pytest.raises(ap.InvalidInputError, match="epic_id"):
        run(plugin.create_task(title="x", epic_id="DEMO-999999"))
    with pytest.raises(ap.InvalidInputError, match="no user"):
        run(plugin.assign_task(task_id="DEMO-1", assignee="nobody@example.com"))
    wrong = mycustom.MyCustomTaskPlugin()
    wrong.secrets = {mycustom.API_KEY: "mc_wrong"}
    with pytest.raises(ap.AuthenticationError) as caught:
        run(wrong.connect({"base_url": service, "project": "DEMO"}))
    assert "mc_wrong" not in str(caught.value)
    with pytest.raises(ap.ConfigurationError, match="NOPE"):
        run(connected(service).connect({"base_url": service, "project": "NOPE"}))


def test_an_unreachable_service_is_a_retryable_connection_error() -> None:
    plugin = mycustom.MyCustomTaskPlugin()
    plugin.secrets = {mycustom.API_KEY: KEY}
    with pytest.raises(ap.ConnectionError) as caught:
        # Port 9 (discard) on loopback: nothing listens there.
        run(plugin.connect({"base_url": "http://127.0.0.1:9", "project": "DEMO", "timeout_seconds": 2}))
    assert caught.value.retryable
