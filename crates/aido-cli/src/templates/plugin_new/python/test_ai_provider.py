"""Tests of {{name}}: each method through the plugin class, as aido calls it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aido_plugin import InvalidInputError  # noqa: E402

from {{module}} import {{class}}  # noqa: E402


def run(coroutine):
    return asyncio.run(coroutine)


def plugin() -> {{class}}:
    instance = {{class}}()
    run(instance.connect({}))
    return instance


def test_answers_are_counted_in_the_usage():
    p = plugin()
    answer = run(p.generate_text(messages=[{"role": "user", "content": "Hello there"}]))
    assert answer["text"] == "echo: Hello there"
    run(p.analyze_code(code="print(1)\n", language="python"))
    run(p.generate_code(instructions="add a test"))
    stats = run(p.get_usage_stats())
    assert stats["requests"] == 3 and stats["by_model"]["echo-1"]["requests"] == 3


def test_costs_are_estimated_without_a_call():
    p = plugin()
    estimate = run(p.estimate_cost(messages=[{"role": "user", "content": "x" * 40}], max_tokens=10))
    assert estimate["input_tokens"] >= 10 and estimate["max_output_tokens"] == 10
    assert run(p.get_usage_stats())["requests"] == 0


def test_a_conversation_needs_a_message():
    with pytest.raises(InvalidInputError):
        run(plugin().generate_text(messages=[]))
