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
    run(instance.connect({}))
    return instance


def test_messages_threads_and_direct_messages():
    p = plugin()
    message = run(p.send_message(text="Hello"))
    assert message["channel"] == "general"
    reply = run(p.send_message(channel="general", text="Hi", thread_id=message["id"]))
    assert reply["thread_id"] == message["id"]
    assert run(p.send_direct_message(user="ana@example.com", text="psst"))["id"]
    assert run(p.get_user_info(user="ana@example.com"))["email"] == "ana@example.com"


def test_a_retried_message_is_posted_once():
    p = plugin()
    set_current_call(CallInfo(request_id=1, method="test", idempotency_key="run-1:notify"))
    first = run(p.send_message(text="Once"))
    second = run(p.send_message(text="Once"))
    set_current_call(None)
    assert first["id"] == second["id"]


def test_channels_and_files():
    p = plugin()
    channel = run(p.create_channel(name="releases", description="Release news"))
    assert run(p.get_channel_info(channel="releases")) == channel
    uploaded = run(p.upload_file(channel="releases", filename="notes.txt", content="v1"))
    assert uploaded["name"] == "notes.txt"
    with pytest.raises(NotFoundError):
        run(p.get_channel_info(channel="nope"))
