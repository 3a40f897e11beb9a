"""The session driven in-process: what the SDK does with a plugin class."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Mapping

import aido_plugin as ap
from aido_plugin.protocol import encode
from aido_plugin.session import Session


class Branches(ap.VersionControlPlugin):
    """Plain (not async) methods, a Python-keyword parameter, and health
    and validation answers in the design document's simpler forms."""

    PLUGIN_NAME = "branches"
    PLUGIN_VERSION = "1.0.0"
    PLUGIN_DESCRIPTION = "Branches, for tests."
    REQUIRED_CONFIG = ["connection.token"]

    def validate_config(self, config: Mapping[str, Any]) -> Any:
        return [("connection.url", "must start with https://")] if config.get("bad") else True

    def connect(self, config: Mapping[str, Any]) -> None:
        self.token = self.secret("BRANCHES_TOKEN")
        self.instance = self.context.instance

    def health_check(self) -> Any:
        return "healthy" if self.token else False

    def create_branch(self, *, workdir: str, branch: str, from_: str | None = None) -> dict[str, Any]:
        call = ap.current_call()
        assert call is not None
        return {"name": branch, "commit": from_ or "HEAD", "created": call.idempotency_key == "k"}


def exchange(plugin: ap.Plugin, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    """Feeds ``messages`` to a session, one at a time, letting each one's
    work finish; returns everything sent back."""
    sent: list[dict[str, Any]] = []

    def send(message: Mapping[str, Any]) -> None:
        # Through the real encoder, as over stdout.
        sent.append(json.loads(encode(message)))

    async def run() -> None:
        session = Session(plugin, send)
        for message in messages:
            session.handle({"jsonrpc": "2.0", **message})
            for _ in range(5):
                await asyncio.sleep(0)
        await session.close()

    asyncio.run(run())
    return sent


HELLO = {"id": 1, "method": "initialize", "params": {"protocol_versions": ["1.0"], "host": {"name": "t", "version": "0"}}}


def test_metadata_of_a_class_without_a_schema() -> None:
    info = Branches.info()
    assert info["kinds"] == ["version_control"]
    assert info["methods"] == ["version_control.create_branch"]
    assert info["config_schema"] == {
        "type": "object",
        "required": ["connection"],
        "properties": {"connection": {"type": "object", "required": ["token"], "properties": {"token": {}}}},
    }


def test_plain_methods_keyword_parameters_and_meta() -> None:
    sent = exchange(
        Branches(),
        HELLO,
        {"id": 2, "method": "plugin.connect", "params": {"config": {}, "secrets": {"BRANCHES_TOKEN": "t"}, "instance": "version_control"}},
        {
            "id": 3,
            "method": "version_control.create_branch",
            "params": {"workdir": "/w", "branch": "feature/x", "from": "main", "_meta": {"idempotency_key": "k"}},
        },
        {"id": 4, "method": "plugin.health_check"},
    )
    assert sent[1] == {"jsonrpc": "2.0", "id": 2, "result": None}
    assert sent[2]["result"] == {"name": "feature/x", "commit": "main", "created": True}
    assert sent[3]["result"] == {"status": "healthy"}


def test_a_missing_secret_is_a_configuration_error_naming_it() -> None:
    sent = exchange(Branches(), HELLO, {"id": 2, "method": "plugin.connect", "params": {"config": {}}})
    error = sent[1]["error"]
    assert error["data"]["kind"] == "configuration"
    assert "BRANCHES_TOKEN" in error["message"]


def test_validate_config_accepts_the_simple_forms() -> None:
    sent = exchange(
        Branches(),
        HELLO,
        {"id": 2, "method": "plugin.validate_config", "params": {"config": {"bad": True}}},
        {"id": 3, "method": "plugin.validate_config", "params": {"config": {}}},
    )
    assert sent[1]["result"] == {"problems": [{"path": "connection.url", "message": "must start with https://"}]}
    assert sent[2]["result"] == {"problems": []}


def test_the_default_validation_checks_required_keys() -> None:
    class Plain(ap.MonitoringPlugin):
        PLUGIN_NAME = "plain"
        REQUIRED_CONFIG = ["a.b", "c"]

    sent = exchange(Plain(), HELLO, {"id": 2, "method": "plugin.validate_config", "params": {"config": {"a": {}, "c": 1}}})
    assert sent[1]["result"] == {"problems": [{"path": "a.b", "message": "is required"}]}


def test_a_result_that_is_not_json_is_an_internal_error() -> None:
    class Odd(ap.MonitoringPlugin):
        PLUGIN_NAME = "odd"

        async def export_metrics(self) -> Any:
            return {"body": object()}

    sent = exchange(
        Odd(),
        HELLO,
        {"id": 2, "method": "plugin.connect", "params": {"config": {}}},
        {"id": 3, "method": "monitoring.export_metrics"},
    )
    assert sent[2]["error"]["code"] == -32603


def test_duplicate_ids_and_a_second_initialize_are_refused() -> None:
    sent = exchange(Branches(), HELLO, {**HELLO, "id": 9})
    assert sent[1]["error"]["code"] == -32600
    assert "already answered" in sent[1]["error"]["message"]
