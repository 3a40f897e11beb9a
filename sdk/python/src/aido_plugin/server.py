"""``serve``: runs a plugin over stdin/stdout until the host is done."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import NoReturn, Union

from .plugin import Plugin
from .session import Session
from .stdio import ProtocolLogHandler, StdioChannel

__all__ = ["serve", "serve_async"]

log = logging.getLogger("aido_plugin")

PluginLike = Union[Plugin, "type[Plugin]"]


def serve(plugin: PluginLike, *, log_level: int | None = logging.INFO, parent_poll_seconds: float = 1.0) -> NoReturn:
    """Serves ``plugin`` (an instance, or a class to instantiate) on
    stdin/stdout, then exits the process.

    Requests are handled concurrently, each in its own task; ``$/cancel``
    cancels a request's task. Logging records go to the host as ``log``
    notifications (from ``log_level`` up; ``None`` leaves the root logger's
    level alone), and ``print`` output goes to stderr. The process exits on
    ``exit``, at the end of stdin, and when the host process is gone
    (checked every ``parent_poll_seconds``): status 0 after ``shutdown``, 1
    otherwise.

    Ctrl-C (SIGINT) is ignored: when a user interrupts aido, the whole
    process group gets it, and the plugin must live on until aido has
    disconnected it. End a plugin started by hand with Ctrl-D.
    """
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        # Not the main thread: signals are not ours to set.
        pass
    code = asyncio.run(serve_async(plugin, log_level=log_level, parent_poll_seconds=parent_poll_seconds))
    sys.exit(code)


async def serve_async(
    plugin: PluginLike,
    *,
    log_level: int | None = logging.INFO,
    parent_poll_seconds: float = 1.0,
) -> int:
    """``serve`` without exiting: returns the exit status."""
    # As early as possible: a parent that dies before this goes unnoticed
    # (unless `initialize` names it in `parent_pid`).
    parent = os.getppid()
    instance = plugin() if isinstance(plugin, type) else plugin
    if not isinstance(instance, Plugin):
        raise TypeError(f"serve() needs an aido_plugin.Plugin; got {type(instance).__name__}")
    channel = StdioChannel.take_over()
    session = Session(instance, channel.send)
    handler = ProtocolLogHandler(channel.send, lambda: session.initialized)
    root = logging.getLogger()
    root.addHandler(handler)
    if log_level is not None:
        root.setLevel(log_level)
    channel.start_reading(asyncio.get_running_loop(), session.handle_line, session.on_eof)
    watcher = asyncio.ensure_future(_watch_parent(session, parent, parent_poll_seconds))
    try:
        await session.finished.wait()
    finally:
        watcher.cancel()
        await session.close()
        root.removeHandler(handler)
        channel.close()
    return session.exit_code if session.exit_code is not None else 1


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (POSIX; elsewhere assumed alive,
    since ``os.kill`` would end it on Windows)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        # It exists, and belongs to someone else.
        return True
    return True


async def _watch_parent(session: Session, parent: int, interval: float) -> None:
    """Ends the session when the host process is gone: our parent is no
    longer ``parent`` (we were adopted), or the ``parent_pid`` of
    ``initialize`` is dead."""
    while not session.finished.is_set():
        await asyncio.sleep(interval)
        pid = session.parent_pid
        if os.getppid() != parent or (pid is not None and not _alive(pid)):
            log.warning("the host process is gone; exiting")
            session.finish(1)
            return
