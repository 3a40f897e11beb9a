"""A host for tests: runs a plugin as a subprocess and speaks the protocol.

Everything here is loopback through pipes; no network.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

SDK = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = SDK / "examples" / "memory_tasks"
EXAMPLE = EXAMPLE_DIR / "memory_tasks.py"

#: Generous, for slow CI machines; a passing test never waits this long.
TIMEOUT = 10.0


def plugin_env() -> dict[str, str]:
    """The environment a host gives a plugin, plus the SDK's source so the
    tests also run without installing it."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["PYTHONPATH"] = str(SDK / "src")
    env["PYTHONUNBUFFERED"] = "1"
    return env


class PluginProcess:
    """One plugin process and the host's side of its pipes."""

    def __init__(self, args: list[str] | None = None, **popen: Any) -> None:
        command = args or [sys.executable, str(EXAMPLE)]
        self.proc = subprocess.Popen(
            command,
            cwd=EXAMPLE_DIR,
            env=plugin_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen,
        )
        self.raw_stdout: list[bytes] = []
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.logs: list[dict[str, Any]] = []
        self._stderr: list[bytes] = []
        self._next_id = 0
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    # ----- reading -----

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw_stdout.append(line)
            try:
                message = json.loads(line)
            except ValueError:
                # Not a message: recorded in raw_stdout, which tests check.
                continue
            self.messages.put(message)
        self.messages.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def next_message(self, timeout: float = TIMEOUT) -> dict[str, Any] | None:
        """The next message that is not a log (``None`` at end of stdout)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no message within {timeout} s; stderr:\n{self.stderr}")
            message = self.messages.get(timeout=remaining)
            if message is not None and message.get("method") == "log":
                self.logs.append(message["params"])
                continue
            return message

    def response(self, request_id: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The response to ``request_id``; other responses are an error."""
        message = self.next_message(timeout)
        assert message is not None, f"stdout closed; stderr:\n{self.stderr}"
        assert message.get("id") == request_id, message
        return message

    # ----- writing -----

    def send_line(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode("utf-8") + b"\n")
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_line(json.dumps(message))

    def request(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Sends a request; returns its id."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self._next_id

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sends a request and returns its response."""
        return self.response(self.request(method, params))

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    # ----- the usual start -----

    def initialize(self, versions: list[str] | None = None) -> dict[str, Any]:
        answer = self.call(
            "initialize",
            {
                "protocol_versions": versions or ["1.0"],
                "host": {"name": "pytest", "version": "0"},
                "parent_pid": os.getpid(),
            },
        )
        if "result" in answer:
            self.notify("initialized")
        return answer

    def connect(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call("plugin.connect", {"config": config or {"project": "DEMO"}, "secrets": {}})

    def start(self, config: dict[str, Any] | None = None) -> PluginProcess:
        assert "result" in self.initialize()
        assert self.connect(config) == {"jsonrpc": "2.0", "id": self._next_id, "result": None}
        return self

    # ----- the end -----

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout=timeout)

    def drain(self) -> None:
        """After the process ended: reads what is left of its output, so
        ``raw_stdout``, ``logs`` and ``stderr`` are complete."""
        for reader in self._readers:
            reader.join(TIMEOUT)
        while True:
            message = self.messages.get_nowait() if not self.messages.empty() else None
            if message is None:
                return
            if message.get("method") == "log":
                self.logs.append(message["params"])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


@pytest.fixture
def plugin() -> Iterator[PluginProcess]:
    process = PluginProcess()
    try:
        yield process
    finally:
        process.kill()


def error_of(answer: dict[str, Any]) -> tuple[int, str]:
    """The code and kind of an error response."""
    assert "error" in answer, answer
    return answer["error"]["code"], answer["error"]["data"]["kind"]
