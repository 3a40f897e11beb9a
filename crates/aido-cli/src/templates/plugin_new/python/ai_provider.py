"""{{name}}: an aido ai_provider plugin, scaffolded by `aido plugin new`.

Every method of the kind works as generated: it answers by echoing, counts
tokens roughly (four characters a token) and costs nothing, so workflows can
run against it offline. Replace the bodies with calls to your model's API.
aido starts this file through plugin.toml; `serve()` speaks the protocol on
stdin/stdout.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from aido_plugin import AIProviderPlugin, ConfigProblem, InvalidInputError, serve

log = logging.getLogger("{{module}}")

DEFAULT_MODEL = "echo-1"


def tokens(text: str) -> int:
    """A rough token count: four characters a token."""
    return max(1, len(text) // 4)


class {{class}}(AIProviderPlugin):
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
        # Model -> [requests, input tokens, output tokens].
        self.usage: dict[str, list[int]] = {}

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        prefix = config.get("prefix", "AI")
        if not isinstance(prefix, str) or not prefix.isalnum():
            problems.append(ConfigProblem("prefix", "must be letters and digits, such as DEMO"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        log.info("connected")

    async def disconnect(self) -> None:
        log.info("disconnected")

    def _spend(self, model: str | None, prompt: str, answer: str) -> dict[str, Any]:
        model = model or DEFAULT_MODEL
        used = self.usage.setdefault(model, [0, 0, 0])
        used[0] += 1
        used[1] += tokens(prompt)
        used[2] += tokens(answer)
        return {"input_tokens": tokens(prompt), "output_tokens": tokens(answer)}

    @staticmethod
    def _prompt(system: str | None, messages: Sequence[Mapping[str, Any]]) -> str:
        if not messages:
            raise InvalidInputError("`messages` must hold at least one message")
        return "\n".join([system or ""] + [str(m.get("content", "")) for m in messages])

    async def generate_text(
        self,
        *,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        json_schema: Any = None,
        workdir: str | None = None,
    ) -> dict[str, Any]:
        prompt = self._prompt(system, messages)
        # An answer that fits any object schema when one is asked for.
        text = "{}" if json_schema is not None else f"echo: {messages[-1].get('content', '')}"
        usage = self._spend(model, prompt, text)
        return {"text": text, "model": model or DEFAULT_MODEL, "usage": usage, "cost_usd": 0.0, "stop_reason": "end_turn"}

    async def analyze_code(
        self,
        *,
        code: str,
        language: str | None = None,
        instructions: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        summary = f"{len(code.splitlines())} lines of {language or 'code'}; no findings"
        usage = self._spend(model, code, summary)
        return {"summary": summary, "findings": [], "usage": usage, "cost_usd": 0.0}

    async def generate_code(
        self,
        *,
        instructions: str,
        language: str | None = None,
        context: Sequence[Mapping[str, Any]] = (),
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        code = f"# TODO: {instructions}\n"
        usage = self._spend(model, instructions, code)
        return {"code": code, "language": language, "explanation": "A placeholder.", "usage": usage, "cost_usd": 0.0}

    async def estimate_cost(
        self,
        *,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        json_schema: Any = None,
        workdir: str | None = None,
    ) -> dict[str, Any]:
        prompt = self._prompt(system, messages)
        return {
            "model": model or DEFAULT_MODEL,
            "input_tokens": tokens(prompt),
            "max_output_tokens": max_tokens or 1024,
            "estimated_cost_usd": 0.0,
        }

    async def get_usage_stats(self, *, since: str | None = None) -> dict[str, Any]:
        by_model = {
            model: {
                "requests": used[0],
                "usage": {"input_tokens": used[1], "output_tokens": used[2]},
                "cost_usd": 0.0,
            }
            for model, used in self.usage.items()
        }
        return {
            "requests": sum(u[0] for u in self.usage.values()),
            "usage": {
                "input_tokens": sum(u[1] for u in self.usage.values()),
                "output_tokens": sum(u[2] for u in self.usage.values()),
            },
            "cost_usd": 0.0,
            "by_model": by_model,
        }


if __name__ == "__main__":
    serve({{class}})
