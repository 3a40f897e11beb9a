"""Installed plugins, found through the ai_dev_orchestrator.plugins entry
points of a package made up in a temporary folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

import aido_plugin as ap
from conftest import EXAMPLE_DIR


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[None]:
    info = tmp_path / "memory_tasks_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: memory-tasks-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[ai_dev_orchestrator.plugins]\nmemory-tasks = memory_tasks:MemoryTasks\nbroken = memory_tasks:now\n"
    )
    sys.path[:0] = [str(tmp_path), str(EXAMPLE_DIR)]
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.path.remove(str(EXAMPLE_DIR))
        sys.modules.pop("memory_tasks", None)


def test_discover_lists_entry_points(installed: None) -> None:
    found = ap.discover()
    assert found["memory-tasks"].value == "memory_tasks:MemoryTasks"
    assert ap.ENTRY_POINT_GROUP == "ai_dev_orchestrator.plugins"


def test_load_imports_the_class(installed: None) -> None:
    plugin = ap.load("memory-tasks")
    assert plugin.PLUGIN_NAME == "memory-tasks"
    assert ap.load_object("memory_tasks:MemoryTasks") is plugin


def test_load_refuses_what_is_not_a_plugin(installed: None) -> None:
    with pytest.raises(TypeError, match="not an aido_plugin.Plugin"):
        ap.load("broken")
    with pytest.raises(LookupError, match="no installed plugin `nope`"):
        ap.load("nope")
