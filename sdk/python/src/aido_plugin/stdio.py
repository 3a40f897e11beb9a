"""The process's stdin and stdout, taken over for the protocol.

Anything else the process writes must not reach the host's stdout reader:
a stray ``print`` would corrupt the conversation. So, when serving starts:

- the protocol gets private duplicates of file descriptors 0 and 1;
- descriptor 1 is pointed at stderr, and descriptor 0 at ``/dev/null``, so
  child processes, C extensions and ``os.write(1, ...)`` cannot touch the
  protocol;
- ``sys.stdout`` becomes a writer that sends each line to stderr, marked
  ``[stdout]``, and ``sys.stdin`` reads nothing.

Lines are read by the event loop itself when stdin is a pipe (see
``StdioChannel.start_reading``); otherwise by a daemon thread with
``os.read`` (not a buffered file, so that a thread blocked in a read never
holds a lock the interpreter needs at exit), handed to the event loop in
order.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import stat
import sys
import threading
from typing import Any, Callable, Mapping

from .protocol import encode, notification

__all__ = ["StdioChannel", "StrayOutput", "ProtocolLogHandler"]

_READ_SIZE = 1 << 16


class StrayOutput(io.TextIOBase):
    """Stands in for ``sys.stdout``: each line written goes to stderr,
    marked ``[stdout]``, instead of into the protocol stream."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        # Descriptor 1 now leads to stderr, so code that writes to it
        # directly is as safe as code that writes here.
        return 1

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            while "\n" in self._pending:
                line, self._pending = self._pending.split("\n", 1)
                self._emit(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._emit(self._pending)
                self._pending = ""

    @staticmethod
    def _emit(line: str) -> None:
        stderr = sys.stderr
        if stderr is not None:
            stderr.write(f"[stdout] {line}\n")
            stderr.flush()


class StdioChannel:
    """The protocol's two streams: messages out, lines in."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._lock = threading.Lock()
        self._broken = False
        self._closed = False
        self._pending = b""

    @classmethod
    def take_over(cls) -> StdioChannel:
        """Takes descriptors 0 and 1 for the protocol and protects them from
        the rest of the process (see the module's documentation)."""
        for stream in (sys.stdout, sys.__stdout__):
            if stream is not None:
                stream.flush()
        read_fd = os.dup(0)
        write_fd = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(devnull, 0)
        finally:
            os.close(devnull)
        os.dup2(2, 1)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        sys.stdout = StrayOutput()
        return cls(read_fd, write_fd)

    def send(self, message: Mapping[str, Any]) -> None:
        """Writes one message. Raises ``TypeError``/``ValueError`` when it is
        not JSON data; a host that stopped reading is noted once and
        otherwise ignored (the end of stdin follows)."""
        data = encode(message)
        with self._lock:
            if self._broken or self._closed:
                return
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._write_fd, view)
                    view = view[written:]
            except OSError as exc:
                self._broken = True
                sys.stderr.write(f"aido_plugin: the host stopped reading ({exc}); dropping output\n")

    def start_reading(
        self,
        loop: asyncio.AbstractEventLoop,
        on_line: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> None:
        """Reads lines; ``on_line`` and then ``on_eof`` run on ``loop``.

        A pipe is read by the event loop itself (``add_reader``): a line
        then wakes the loop directly, instead of waking a thread that must
        take the interpreter lock and wake the loop in turn, which costs
        tens of microseconds per call and, under load, milliseconds. A
        stream that is not a pipe or a socket (a regular file, a terminal) is
        read by a daemon thread instead.
        """
        # Only a pipe or a socket: a terminal's non-blocking flag would be
        # shared with the shell that started the plugin by hand.
        mode = os.fstat(self._read_fd).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            try:
                os.set_blocking(self._read_fd, False)
                loop.add_reader(self._read_fd, self._on_readable, loop, on_line, on_eof)
                self._pending = b""
                return
            except (OSError, ValueError, NotImplementedError):
                os.set_blocking(self._read_fd, True)
        thread = threading.Thread(
            target=self._read_lines, args=(loop, on_line, on_eof), name="aido-plugin-stdin", daemon=True
        )
        thread.start()

    def _on_readable(
        self,
        loop: asyncio.AbstractEventLoop,
        on_line: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> None:
        try:
            chunk = os.read(self._read_fd, _READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            sys.stderr.write(f"aido_plugin: reading stdin failed ({exc})\n")
            chunk = b""
        if not chunk:
            loop.remove_reader(self._read_fd)
            if self._pending.strip():
                on_line(self._pending)
            self._pending = b""
            on_eof()
            return
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            on_line(line.rstrip(b"\r"))

    def _read_lines(
        self,
        loop: asyncio.AbstractEventLoop,
        on_line: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> None:
        pending = b""
        try:
            while True:
                try:
                    chunk = os.read(self._read_fd, _READ_SIZE)
                except OSError as exc:
                    sys.stderr.write(f"aido_plugin: reading stdin failed ({exc})\n")
                    break
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    loop.call_soon_threadsafe(on_line, line.rstrip(b"\r"))
            if pending.strip():
                loop.call_soon_threadsafe(on_line, pending)
            loop.call_soon_threadsafe(on_eof)
        except RuntimeError:
            # The loop is closed: the process is exiting already.
            return

    def close(self) -> None:
        """Stops writing; the reading thread ends with the process."""
        with self._lock:
            self._closed = True
        try:
            os.close(self._write_fd)
        except OSError:
            pass


def _level_name(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    if levelno >= logging.DEBUG:
        return "debug"
    return "trace"


class ProtocolLogHandler(logging.Handler):
    """Sends log records to the host as ``log`` notifications; before the
    handshake, writes them to stderr."""

    def __init__(self, send: Callable[[Mapping[str, Any]], None], ready: Callable[[], bool]) -> None:
        super().__init__()
        self._send = send
        self._ready = ready
        self._local = threading.local()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # A failure while sending could log again; never recurse.
        if getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            message = self.format(record)
            if self._ready():
                params = {"level": _level_name(record.levelno), "message": message, "target": record.name}
                self._send(notification("log", params))
            elif sys.stderr is not None:
                sys.stderr.write(f"{record.levelname.lower()} {record.name}: {message}\n")
        except Exception:  # noqa: BLE001 - logging's own convention
            self.handleError(record)
        finally:
            self._local.busy = False
