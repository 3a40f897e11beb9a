"""{{name}}: an aido monitoring plugin, scaffolded by `aido plugin new`.

Every method of the kind works as generated, keeping metrics, events and
errors in memory and exporting the metrics in the Prometheus text format;
replace the bodies with calls to your monitoring service. aido starts this
file through plugin.toml; `serve()` speaks the protocol on stdin/stdout.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from aido_plugin import EMPTY, ConfigProblem, InvalidInputError, MonitoringPlugin, serve

log = logging.getLogger("{{module}}")

KINDS = ("counter", "gauge", "histogram")


class {{class}}(MonitoringPlugin):
    PLUGIN_NAME = "{{name}}"
    PLUGIN_VERSION = "0.1.0"
    PLUGIN_DESCRIPTION = "{{description}}"
    REQUIRED_CONFIG: list[str] = []
    # The same schema as in plugin.toml, which aido checks before starting us.
    CONFIG_SCHEMA = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "prefix": {
                "type": "string",
                "pattern": "^[A-Za-z][A-Za-z0-9]*$",
                "description": "The prefix of the identifiers this plugin makes, such as DEMO.",
            },
        },
    }

    def __init__(self) -> None:
        # (name, sorted labels) -> [kind, value, count, help].
        self.metrics: dict[tuple[str, tuple[tuple[str, str], ...]], list[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        prefix = config.get("prefix", "M")
        if not isinstance(prefix, str) or not prefix.isalnum():
            problems.append(ConfigProblem("prefix", "must be letters and digits, such as DEMO"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        log.info("connected")

    async def disconnect(self) -> None:
        log.info("disconnected; %d metrics forgotten", len(self.metrics))

    async def record_metric(
        self,
        *,
        name: str,
        kind: str,
        value: float,
        labels: Mapping[str, Any] = EMPTY,
        help: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise InvalidInputError(f"`{kind}` is not a metric kind; use one of {', '.join(KINDS)}")
        key = (name, tuple(sorted((str(k), str(v)) for k, v in labels.items())))
        metric = self.metrics.setdefault(key, [kind, 0.0, 0, help])
        if kind == "gauge":
            metric[1] = value
        else:
            # Counters add; a histogram keeps its sum and count.
            metric[1] += value
        metric[2] += 1

    async def record_event(
        self,
        *,
        name: str,
        level: str = "info",
        message: str = "",
        fields: Mapping[str, Any] = EMPTY,
        at: str | None = None,
    ) -> None:
        self.events.append({"name": name, "level": level, "message": message, "fields": dict(fields), "at": at})

    async def report_error(
        self,
        *,
        message: str,
        error_kind: str | None = None,
        plugin: str | None = None,
        operation: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        context: Mapping[str, Any] = EMPTY,
    ) -> None:
        self.errors.append({"message": message, "error_kind": error_kind, "plugin": plugin, "operation": operation})

    async def flush(self) -> None:
        # Nothing is buffered; a real sink sends what it holds here.
        return None

    async def export_metrics(self) -> dict[str, Any]:
        lines = []
        for (name, labels), (kind, value, count, help_text) in sorted(self.metrics.items()):
            if help_text:
                lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            rendered = ",".join(f'{k}="{v}"' for k, v in labels)
            suffix = f"{{{rendered}}}" if rendered else ""
            if kind == "histogram":
                lines.append(f"{name}_sum{suffix} {value}")
                lines.append(f"{name}_count{suffix} {count}")
            else:
                lines.append(f"{name}{suffix} {value}")
        return {"content_type": "text/plain; version=0.0.4", "body": "\n".join(lines) + ("\n" if lines else "")}


if __name__ == "__main__":
    serve({{class}})
