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


def test_metrics_are_exported_in_the_prometheus_format():
    p = plugin()
    run(p.record_metric(name="runs_total", kind="counter", value=1, labels={"status": "ok"}))
    run(p.record_metric(name="runs_total", kind="counter", value=2, labels={"status": "ok"}))
    run(p.record_metric(name="queue", kind="gauge", value=5))
    body = run(p.export_metrics())["body"]
    assert 'runs_total{status="ok"} 3' in body
    assert "queue 5" in body


def test_events_and_errors_are_kept():
    p = plugin()
    run(p.record_event(name="deployed", message="v1"))
    run(p.report_error(message="boom", error_kind="timeout"))
    run(p.flush())
    assert len(p.events) == 1 and len(p.errors) == 1


def test_an_unknown_metric_kind_is_refused():
    with pytest.raises(InvalidInputError):
        run(plugin().record_metric(name="x", kind="summary", value=1))
