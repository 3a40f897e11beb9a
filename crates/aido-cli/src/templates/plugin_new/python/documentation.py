"""{{name}}: an aido documentation plugin, scaffolded by `aido plugin new`.

Every method of the kind works as generated, keeping spaces and pages (with
every version) in memory; replace the bodies with calls to your wiki. aido
starts this file through plugin.toml; `serve()` speaks the protocol on
stdin/stdout.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timezone
from typing import Any, Mapping

from aido_plugin import ConfigProblem, DocumentationPlugin, NotFoundError, current_call, serve

log = logging.getLogger("{{module}}")


def now() -> str:
    """The current time as aido's data has it (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def idempotency_key() -> str | None:
    """The key of the call being handled: the same for every attempt of a step."""
    call = current_call()
    return call.idempotency_key if call else None


class {{class}}(DocumentationPlugin):
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
        self.prefix = "PAGE"
        self.spaces: dict[str, dict[str, Any]] = {}
        # Page id -> every version, oldest first; the last is the page.
        self.pages: dict[str, list[dict[str, Any]]] = {}
        self.made: dict[str, str] = {}
        self.numbers = itertools.count(1)

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        prefix = config.get("prefix", "PAGE")
        if not isinstance(prefix, str) or not prefix.isalnum():
            problems.append(ConfigProblem("prefix", "must be letters and digits, such as DEMO"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        self.prefix = config.get("prefix", "PAGE")
        log.info("connected")

    async def disconnect(self) -> None:
        log.info("disconnected; %d pages forgotten", len(self.pages))

    def _page(self, page_id: str) -> dict[str, Any]:
        versions = self.pages.get(page_id)
        if not versions:
            raise NotFoundError(f"no page {page_id}")
        return versions[-1]

    def _space(self, key: str) -> dict[str, Any]:
        if key not in self.spaces:
            self.spaces[key] = {"key": key, "name": key, "description": "", "url": None}
        return self.spaces[key]

    async def create_page(
        self, *, space: str, title: str, content: str, parent_id: str | None = None
    ) -> dict[str, Any]:
        key = idempotency_key()
        if key in self.made:
            return self._public(self._page(self.made[key]))
        self._space(space)
        if parent_id is not None:
            self._page(parent_id)
        page = {
            "id": f"{self.prefix}-{next(self.numbers)}",
            "space": space,
            "title": title,
            "content": content,
            "version": 1,
            "url": None,
            "parent_id": parent_id,
            "updated": now(),
        }
        self.pages[page["id"]] = [page]
        if key is not None:
            self.made[key] = page["id"]
        return page

    async def update_page(
        self, *, page_id: str, content: str, title: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        current = self._page(page_id)
        if content == current["content"] and (title is None or title == current["title"]):
            # Nothing changed (or a retry): no new version.
            return self._public(current)
        page = dict(current, content=content, title=title or current["title"], updated=now())
        page["version"] = current["version"] + 1
        page["message"] = message
        self.pages[page_id].append(page)
        return self._public(page)

    @staticmethod
    def _public(page: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in page.items() if key != "message"}

    async def get_page(self, *, page_id: str) -> dict[str, Any]:
        return self._public(self._page(page_id))

    async def find_page(self, *, space: str, title: str) -> dict[str, Any] | None:
        for versions in self.pages.values():
            page = versions[-1]
            if page["space"] == space and page["title"] == title:
                return self._public(page)
        return None

    async def delete_page(self, *, page_id: str) -> None:
        self._page(page_id)
        del self.pages[page_id]

    async def search_pages(
        self, *, query: str, space: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        words = query.lower()
        hits = []
        for versions in self.pages.values():
            page = versions[-1]
            text = f"{page['title']}\n{page['content']}".lower()
            if words in text and (space is None or page["space"] == space):
                hits.append(
                    {
                        "id": page["id"],
                        "space": page["space"],
                        "title": page["title"],
                        "url": None,
                        "excerpt": page["content"][:200],
                    }
                )
        return hits if limit is None else hits[:limit]

    async def create_space(self, *, key: str, name: str, description: str = "") -> dict[str, Any]:
        space = self._space(key)
        space.update(name=name, description=description)
        return space

    async def list_spaces(self) -> list[dict[str, Any]]:
        return list(self.spaces.values())

    async def get_page_history(self, *, page_id: str) -> list[dict[str, Any]]:
        self._page(page_id)
        return [
            {
                "version": page["version"],
                "title": page["title"],
                "updated": page["updated"],
                "author": None,
                "message": page.get("message"),
            }
            for page in self.pages[page_id]
        ]

    async def publish_page(
        self, *, space: str, title: str, content: str, parent_id: str | None = None
    ) -> dict[str, Any]:
        existing = await self.find_page(space=space, title=title)
        if existing is None:
            return await self.create_page(space=space, title=title, content=content, parent_id=parent_id)
        return await self.update_page(page_id=existing["id"], content=content)


if __name__ == "__main__":
    serve({{class}})
