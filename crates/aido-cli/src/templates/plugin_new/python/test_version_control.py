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


def test_clone_branch_commit_push_and_open_a_pull_request():
    p = plugin()
    clone = run(p.clone_repository(repository="acme/app", destination="/work/app"))
    assert clone["branch"] == "main"
    branch = run(p.create_branch(workdir="/work/app", branch="feature"))
    assert branch["created"] is True
    commit = run(p.commit_changes(workdir="/work/app", message="Add it", files=["a.txt"]))
    pushed = run(p.push_branch(workdir="/work/app", branch="feature"))
    assert pushed["commit"] == commit["sha"]
    pull = run(p.create_pull_request(repository="acme/app", title="Add it", source_branch="feature"))
    assert pull["state"] == "open" and pull["target_branch"] == "main"
    assert [pr["number"] for pr in run(p.list_pull_requests(repository="acme/app"))] == [pull["number"]]


def test_files_are_written_and_read():
    p = plugin()
    run(p.update_file(repository="acme/app", path="README.md", content="hi", message="docs"))
    assert run(p.get_file_content(repository="acme/app", path="README.md"))["content"] == "hi"
    assert run(p.get_repository_info(repository="acme/app"))["default_branch"] == "main"
    with pytest.raises(NotFoundError):
        run(p.get_file_content(repository="acme/app", path="missing.md"))
