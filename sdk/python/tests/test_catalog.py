"""The kind classes against aido's action catalog, as the specification
publishes it (a Rust test keeps that table equal to the catalog)."""

from __future__ import annotations

import inspect
import keyword
import re
from pathlib import Path

import pytest

import aido_plugin as ap

SPEC = Path(__file__).resolve().parents[3] / "docs" / "plugin-protocol.md"

CLASSES = {
    "task_management": ap.TaskManagementPlugin,
    "version_control": ap.VersionControlPlugin,
    "documentation": ap.DocumentationPlugin,
    "communication": ap.CommunicationPlugin,
    "ai_provider": ap.AIProviderPlugin,
    "monitoring": ap.MonitoringPlugin,
}


def catalog() -> dict[str, list[tuple[str, bool]]]:
    """``<kind>.<action>`` to its parameters, (name, required), from the
    specification's method tables."""
    methods = {}
    for row in re.finditer(r"^\| `(\w+\.\w+)` \| (?:read|write) \| (.*?) \| .* \|$", SPEC.read_text(), re.M):
        parameters = re.findall(r"`(\w+)`(\??):", row.group(2))
        methods[row.group(1)] = [(name, mark != "?") for name, mark in parameters]
    return methods


@pytest.mark.skipif(not SPEC.exists(), reason="the specification is not beside this checkout")
def test_every_catalog_method_is_a_method_with_the_catalogs_parameters() -> None:
    methods = catalog()
    assert len(methods) > 40
    for kind, klass in CLASSES.items():
        assert klass.KIND == kind
        listed = sorted(name for name in methods if name.startswith(f"{kind}."))
        assert sorted(f"{kind}.{action}" for action in klass.METHODS) == listed
    for method, parameters in methods.items():
        kind, action = method.split(".")
        signature = inspect.signature(getattr(CLASSES[kind], action))
        found = [
            (name, parameter.default is inspect.Parameter.empty)
            for name, parameter in signature.parameters.items()
            if name != "self"
        ]
        wanted = [(f"{name}_" if keyword.iskeyword(name) else name, required) for name, required in parameters]
        assert found == wanted, method
        assert all(
            parameter.kind is inspect.Parameter.KEYWORD_ONLY
            for name, parameter in signature.parameters.items()
            if name != "self"
        ), method
        assert inspect.iscoroutinefunction(getattr(CLASSES[kind], action)), method
