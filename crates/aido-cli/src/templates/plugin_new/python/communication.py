"""{{name}}: an aido communication plugin, scaffolded by `aido plugin new`.

Every method of the kind works as generated, keeping channels, messages and
files in memory; replace the bodies with calls to your chat service. aido
starts this file through plugin.toml; `serve()` speaks the protocol on
stdin/stdout.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timezone
from typing import Any, Mapping

from aido_plugin import ConfigProblem, CommunicationPlugin, NotFoundError, current_call, serve

log = logging.getLogger("{{module}}")

#: Where messages without a channel go.
DEFAULT_CHANNEL = "general"


def now() -> str:
    """The current time as aido's data has it (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def idempotency_key() -> str | None:
    """The key of the call being handled: the same for every attempt of a step."""
    call = current_call()
    return call.idempotency_key if call else None


class {{class}}(CommunicationPlugin):
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
        self.prefix = "MSG"
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.made: dict[str, dict[str, Any]] = {}
        self.numbers = itertools.count(1)

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        prefix = config.get("prefix", "MSG")
        if not isinstance(prefix, str) or not prefix.isalnum():
            problems.append(ConfigProblem("prefix", "must be letters and digits, such as DEMO"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        self.prefix = config.get("prefix", "MSG")
        self._channel(DEFAULT_CHANNEL)
        log.info("connected")

    async def disconnect(self) -> None:
        log.info("disconnected; %d messages forgotten", len(self.messages))

    def _channel(self, name: str, description: str | None = None, private: bool = False) -> dict[str, Any]:
        if name not in self.channels:
            self.channels[name] = {
                "id": name,
                "name": name,
                "description": description,
                "private": private,
                "member_count": 1,
            }
        return self.channels[name]

    def _post(self, channel: str, text: str, thread_id: str | None) -> dict[str, Any]:
        key = idempotency_key()
        if key in self.made:
            return self.made[key]
        message = {
            "id": f"{self.prefix}-{next(self.numbers)}",
            "channel": channel,
            "text": text,
            "thread_id": thread_id,
            "sent": now(),
            "url": None,
        }
        self.messages.append(message)
        if key is not None:
            self.made[key] = message
        return message

    async def send_message(self, *, channel: str | None = None, text: str, thread_id: str | None = None) -> dict[str, Any]:
        name = channel or DEFAULT_CHANNEL
        if name not in self.channels:
            raise NotFoundError(f"no channel {name}")
        if thread_id is not None and not any(m["id"] == thread_id for m in self.messages):
            raise NotFoundError(f"no message {thread_id} to reply to")
        return self._post(name, text, thread_id)

    async def send_direct_message(self, *, user: str, text: str) -> dict[str, Any]:
        channel = self._channel(f"dm-{user}", private=True)
        return self._post(channel["id"], text, None)

    async def create_channel(
        self, *, name: str, description: str | None = None, private: bool = False
    ) -> dict[str, Any]:
        return self._channel(name, description, private)

    async def get_channel_info(self, *, channel: str) -> dict[str, Any]:
        if channel not in self.channels:
            raise NotFoundError(f"no channel {channel}")
        return self.channels[channel]

    async def get_user_info(self, *, user: str) -> dict[str, Any]:
        return {"id": user, "name": user, "display_name": None, "email": user if "@" in user else None}

    async def upload_file(
        self,
        *,
        channel: str | None = None,
        filename: str,
        content: str,
        encoding: str = "text",
        title: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        key = idempotency_key()
        if key in self.made:
            return self.made[key]
        name = channel or DEFAULT_CHANNEL
        if name not in self.channels:
            raise NotFoundError(f"no channel {name}")
        uploaded = {"id": f"{self.prefix}-F{next(self.numbers)}", "name": filename, "channel": name, "url": None}
        self.files.append(dict(uploaded, content=content, encoding=encoding, title=title, comment=comment))
        if key is not None:
            self.made[key] = uploaded
        return uploaded


if __name__ == "__main__":
    serve({{class}})
