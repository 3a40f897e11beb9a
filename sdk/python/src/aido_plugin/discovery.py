"""Finding installed plugins through Python entry points.

A package makes its plugin known by declaring an entry point in the
``ai_dev_orchestrator.plugins`` group, named after the plugin and pointing
at its class::

    # pyproject.toml of the plugin's package
    [project.entry-points."ai_dev_orchestrator.plugins"]
    memory-tasks = "memory_tasks:MemoryTasks"

``discover()`` lists them, ``load(name)`` imports one, and
``python -m aido_plugin serve memory-tasks`` serves it, which is what the
plugin's ``plugin.toml`` can run.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

from .plugin import Plugin

__all__ = ["ENTRY_POINT_GROUP", "discover", "load", "load_object"]

#: The entry-point group installed plugins declare themselves in.
ENTRY_POINT_GROUP = "ai_dev_orchestrator.plugins"


def discover() -> dict[str, importlib.metadata.EntryPoint]:
    """The installed plugins' entry points, by name, sorted. When two
    packages declare the same name, the first found wins."""
    points = importlib.metadata.entry_points()
    if hasattr(points, "select"):
        group = points.select(group=ENTRY_POINT_GROUP)
    else:
        # Python 3.9 answers a dict of groups.
        group = points.get(ENTRY_POINT_GROUP, ())  # type: ignore[attr-defined]
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for point in group:
        found.setdefault(point.name, point)
    return dict(sorted(found.items()))


def load(name: str) -> type[Plugin]:
    """The plugin class the entry point ``name`` declares."""
    points = discover()
    if name not in points:
        known = ", ".join(points) or "none"
        raise LookupError(f"no installed plugin `{name}` in {ENTRY_POINT_GROUP}; installed: {known}")
    return _plugin_class(points[name].load(), points[name].value)


def load_object(reference: str) -> type[Plugin]:
    """The plugin class named ``module:attribute`` (``memory_tasks:MemoryTasks``)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"`{reference}` is not module:attribute")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return _plugin_class(target, reference)


def _plugin_class(target: Any, reference: str) -> type[Plugin]:
    if isinstance(target, type) and issubclass(target, Plugin):
        return target
    raise TypeError(f"`{reference}` is not an aido_plugin.Plugin class")
