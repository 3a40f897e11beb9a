"""Tests of {{name}}: each method through the plugin class, as aido calls it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aido_plugin import NotFoundError  # noqa: E402

from {{module}} import {{class}}  # noqa: E402


def run(coroutine):
    return asyncio.run(coroutine)


def plugin() -> {{class}}:
    instance = {{class}}()
    run(instance.connect({}))
    return instance


def test_pages_keep_every_version():
    p = plugin()
    page = run(p.create_page(space="eng", title="Setup", content="zebra"))
    assert page["version"] == 1
    assert run(p.update_page(page_id=page["id"], content="zebra 2"))["version"] == 2
    assert [v["version"] for v in run(p.get_page_history(page_id=page["id"]))] == [1, 2]
    assert run(p.find_page(space="eng", title="Setup"))["id"] == page["id"]
    assert [hit["id"] for hit in run(p.search_pages(query="ZEBRA"))] == [page["id"]]


def test_publishing_unchanged_content_makes_no_version():
    p = plugin()
    first = run(p.publish_page(space="eng", title="Notes", content="a"))
    again = run(p.publish_page(space="eng", title="Notes", content="a"))
    assert (again["id"], again["version"]) == (first["id"], 1)


def test_spaces_are_listed():
    p = plugin()
    run(p.create_space(key="eng", name="Engineering"))
    assert [s["key"] for s in run(p.list_spaces())] == ["eng"]


def test_a_deleted_page_is_gone():
    p = plugin()
    page = run(p.create_page(space="eng", title="Old", content="x"))
    run(p.delete_page(page_id=page["id"]))
    with pytest.raises(NotFoundError):
        run(p.get_page(page_id=page["id"]))
