"""{{name}}: an aido version_control plugin, scaffolded by `aido plugin new`.

Every method of the kind works as generated, keeping repositories, branches,
commits and pull requests in memory (a working copy is only a name here);
replace the bodies with calls to your git host. aido starts this file through
plugin.toml; `serve()` speaks the protocol on stdin/stdout.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from aido_plugin import ConfigProblem, InvalidInputError, NotFoundError, VersionControlPlugin, current_call, serve

log = logging.getLogger("{{module}}")

DEFAULT_BRANCH = "main"


def now() -> str:
    """The current time as aido's data has it (RFC 3339, UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def idempotency_key() -> str | None:
    """The key of the call being handled: the same for every attempt of a step."""
    call = current_call()
    return call.idempotency_key if call else None


class {{class}}(VersionControlPlugin):
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
        self.prefix = "PR"
        # Repository -> {"branches": {name: sha}, "files": {(branch, path): content}}.
        self.repositories: dict[str, dict[str, Any]] = {}
        # Working copy -> [repository, checked-out branch].
        self.workdirs: dict[str, list[str]] = {}
        self.pulls: list[dict[str, Any]] = []
        self.made: dict[str, dict[str, Any]] = {}
        self.counter = itertools.count(1)

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        problems = await super().validate_config(config)
        prefix = config.get("prefix", "PR")
        if not isinstance(prefix, str) or not prefix.isalnum():
            problems.append(ConfigProblem("prefix", "must be letters and digits, such as DEMO"))
        return problems

    async def connect(self, config: Mapping[str, Any]) -> None:
        self.prefix = config.get("prefix", "PR")
        log.info("connected")

    async def disconnect(self) -> None:
        log.info("disconnected; %d repositories forgotten", len(self.repositories))

    def _sha(self, *parts: str) -> str:
        text = "\0".join(parts) + f"\0{next(self.counter)}"
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _repository(self, name: str) -> dict[str, Any]:
        if name not in self.repositories:
            self.repositories[name] = {"branches": {DEFAULT_BRANCH: self._sha(name)}, "files": {}}
        return self.repositories[name]

    def _workdir(self, workdir: str) -> list[str]:
        if workdir not in self.workdirs:
            raise NotFoundError(f"{workdir} is not a working copy; clone a repository into it first")
        return self.workdirs[workdir]

    async def clone_repository(
        self, *, repository: str, destination: str, branch: str | None = None, depth: int | None = None
    ) -> dict[str, Any]:
        branches = self._repository(repository)["branches"]
        branch = branch or DEFAULT_BRANCH
        if branch not in branches:
            raise NotFoundError(f"no branch {branch} in {repository}")
        self.workdirs[destination] = [repository, branch]
        return {"workdir": destination, "branch": branch, "head": branches[branch], "default_branch": DEFAULT_BRANCH}

    async def create_branch(self, *, workdir: str, branch: str, from_: str | None = None) -> dict[str, Any]:
        checkout = self._workdir(workdir)
        branches = self._repository(checkout[0])["branches"]
        created = branch not in branches
        if created:
            start = from_ or checkout[1]
            if start not in branches:
                raise NotFoundError(f"no branch {start} to start {branch} from")
            branches[branch] = branches[start]
        checkout[1] = branch
        return {"name": branch, "commit": branches[branch], "created": created}

    async def commit_changes(
        self,
        *,
        workdir: str,
        message: str,
        files: Sequence[str] = (),
        author: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        repository, branch = self._workdir(workdir)
        sha = self._sha(repository, branch, message)
        self._repository(repository)["branches"][branch] = sha
        return {"sha": sha, "message": message, "files": list(files)}

    async def push_branch(
        self, *, workdir: str, branch: str, remote: str | None = None, force: bool = False
    ) -> dict[str, Any]:
        repository, _ = self._workdir(workdir)
        branches = self._repository(repository)["branches"]
        if branch not in branches:
            raise NotFoundError(f"no branch {branch} in {workdir}")
        return {"remote": remote or "origin", "branch": branch, "commit": branches[branch]}

    async def create_pull_request(
        self,
        *,
        repository: str,
        title: str,
        description: str = "",
        source_branch: str,
        target_branch: str | None = None,
        draft: bool = False,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
    ) -> dict[str, Any]:
        key = idempotency_key()
        if key in self.made:
            return self.made[key]
        branches = self._repository(repository)["branches"]
        if source_branch not in branches:
            raise NotFoundError(f"no branch {source_branch} in {repository}")
        for pull in self.pulls:
            if pull["repository"] == repository and pull["source_branch"] == source_branch and pull["state"] == "open":
                raise InvalidInputError(f"pull request #{pull['number']} is already open for {source_branch}")
        number = len(self.pulls) + 1
        pull = {
            "id": f"{self.prefix}-{number}",
            "number": number,
            "url": f"memory://{repository}/pull/{number}",
            "title": title,
            "description": description,
            "source_branch": source_branch,
            "target_branch": target_branch or DEFAULT_BRANCH,
            "draft": draft,
            "state": "open",
            "created": now(),
        }
        self.pulls.append(dict(pull, repository=repository))
        if key is not None:
            self.made[key] = pull
        return pull

    async def list_pull_requests(
        self, *, repository: str, state: str | None = None, source_branch: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in pull.items() if k != "repository"}
            for pull in self.pulls
            if pull["repository"] == repository
            and (state is None or pull["state"] == state)
            and (source_branch is None or pull["source_branch"] == source_branch)
        ]

    async def get_repository_info(self, *, repository: str) -> dict[str, Any]:
        self._repository(repository)
        return {
            "name": repository.rsplit("/", 1)[-1],
            "full_name": repository,
            "description": None,
            "default_branch": DEFAULT_BRANCH,
            "url": None,
            "clone_url": f"memory://{repository}",
            "private": False,
        }

    async def get_file_content(self, *, repository: str, path: str, ref: str | None = None) -> dict[str, Any]:
        ref = ref or DEFAULT_BRANCH
        content = self._repository(repository)["files"].get((ref, path))
        if content is None:
            raise NotFoundError(f"no file {path} at {ref} in {repository}")
        return {"path": path, "content": content, "sha": self._sha(content), "ref": ref}

    async def update_file(
        self, *, repository: str, path: str, content: str, message: str, branch: str | None = None
    ) -> dict[str, Any]:
        branch = branch or DEFAULT_BRANCH
        repo = self._repository(repository)
        if branch not in repo["branches"]:
            raise NotFoundError(f"no branch {branch} in {repository}")
        repo["files"][(branch, path)] = content
        sha = self._sha(repository, branch, path, message)
        repo["branches"][branch] = sha
        return {"sha": sha, "message": message, "files": [path]}


if __name__ == "__main__":
    serve({{class}})
