"""The error taxonomy: the exceptions a plugin raises, and how each travels.

Raise the class that says what went wrong; the SDK answers the call with a
JSON-RPC error whose ``data.kind`` tells aido what to do (retry, wait, ask
the user to fix the configuration)::

    raise NotFoundError(f"no task {task_id}")
    raise RateLimitedError("the tracker asks to slow down", retry_after=12.5)

Exceptions that are not ``PluginError``\\s are mapped too:
``TimeoutError`` (also ``asyncio.TimeoutError``) is ``timeout``, the
built-in ``ConnectionError`` family (refused, reset, aborted) is
``connection``, ``NotImplementedError`` is ``unsupported``, and anything
else is ``other``, with its traceback logged.

About ``ConnectionError``: as in aido's design document, this module defines
its own ``ConnectionError``, which shadows Python's built-in of the same name
wherever it is imported (``from aido_plugin import ConnectionError``). It is
deliberate, so that plugin code reads like the design document; and to keep
the shadowing harmless, ours is also a subclass of the built-in, so an
``except ConnectionError`` written against either catches it. Import the
module instead (``import aido_plugin as ap``, ``ap.ConnectionError``) to keep
the built-in name.
"""

from __future__ import annotations

import asyncio
import builtins
from typing import Any, Mapping

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionError",
    "InvalidInputError",
    "InvalidResponseError",
    "NotFoundError",
    "PluginError",
    "RateLimitedError",
    "UnsupportedError",
    "error_object",
    "ERROR_KINDS",
    "RETRYABLE_KINDS",
]

# Error codes of the protocol (docs/plugin-protocol.md, "Errors").
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PLUGIN_ERROR = -32000
VERSION_MISMATCH = -32001
NOT_READY = -32002
SHUTTING_DOWN = -32003
CANCELLED = -32004

#: Every error kind, as aido names them.
ERROR_KINDS = (
    "configuration",
    "connection",
    "authentication",
    "not_found",
    "rate_limited",
    "invalid_response",
    "unsupported",
    "timeout",
    "invalid_input",
    "cancelled",
    "other",
)

#: The kinds for which the same call may work if made again later.
RETRYABLE_KINDS = frozenset({"connection", "rate_limited", "timeout"})


def _code_of_kind(kind: str) -> int:
    """The JSON-RPC code a failure of ``kind`` travels with."""
    if kind == "invalid_input":
        return INVALID_PARAMS
    if kind == "cancelled":
        return CANCELLED
    return PLUGIN_ERROR


class PluginError(Exception):
    """A failed call, of ``kind`` (``other`` unless a subclass says).

    ``message`` is for people: say what failed and what would fix it, and
    never include a secret. ``retry_after`` is in seconds.
    """

    kind: str = "other"

    def __init__(
        self,
        message: str = "",
        *,
        kind: str | None = None,
        retry_after: float | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            if kind not in ERROR_KINDS:
                raise ValueError(f"{kind!r} is not an error kind; the kinds are {', '.join(ERROR_KINDS)}")
            self.kind = kind
        self.retry_after = retry_after
        self.code = code if code is not None else _code_of_kind(self.kind)

    @property
    def retryable(self) -> bool:
        """Whether the same call may work if made again later."""
        return self.kind in RETRYABLE_KINDS

    def to_error_object(self) -> dict[str, Any]:
        """The JSON-RPC error object this error travels as."""
        data: dict[str, Any] = {"kind": self.kind, "retryable": self.retryable}
        if self.retry_after is not None:
            data["retry_after_seconds"] = float(self.retry_after)
        return {"code": self.code, "message": self.message or self.kind.replace("_", " "), "data": data}

    @classmethod
    def from_error_object(cls, error: Mapping[str, Any]) -> PluginError:
        """The exception an error object stands for: the class of its
        ``data.kind`` (or of its code, without ``data``)."""
        data = error.get("data")
        code = error.get("code")
        kind = data.get("kind") if isinstance(data, Mapping) else None
        if kind not in ERROR_KINDS:
            kind = {
                METHOD_NOT_FOUND: "unsupported",
                VERSION_MISMATCH: "unsupported",
                INVALID_PARAMS: "invalid_input",
                CANCELLED: "cancelled",
            }.get(code if isinstance(code, int) else 0, "other")
        retry_after = data.get("retry_after_seconds") if isinstance(data, Mapping) else None
        message = str(error.get("message", ""))
        klass = _CLASS_OF_KIND.get(kind, PluginError)
        if klass is PluginError:
            return PluginError(message, kind=kind, retry_after=retry_after, code=code)
        return klass(message, retry_after=retry_after, code=code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, kind={self.kind!r})"


class ConfigurationError(PluginError):
    """The configuration is missing something or holds a bad value."""

    kind = "configuration"


class ConnectionError(PluginError, builtins.ConnectionError):  # noqa: A001 - deliberate, see above
    """The service cannot be reached, or answered with a server error.

    Shadows the built-in ``ConnectionError`` on purpose and subclasses it;
    see the module's documentation.
    """

    kind = "connection"


class AuthenticationError(PluginError):
    """The service refused the credentials (HTTP 401/403)."""

    kind = "authentication"


class NotFoundError(PluginError):
    """The thing asked for does not exist."""

    kind = "not_found"


class RateLimitedError(PluginError):
    """The service asked to slow down; ``retry_after`` says for how many
    seconds, when it said."""

    kind = "rate_limited"

    def __init__(
        self,
        message: str = "rate limited",
        retry_after: float | None = None,
        *,
        code: int | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, code=code)


class InvalidResponseError(PluginError):
    """The service answered with something the plugin cannot understand."""

    kind = "invalid_response"


class UnsupportedError(PluginError):
    """The plugin or its service cannot do this."""

    kind = "unsupported"


class InvalidInputError(PluginError):
    """The parameters do not fit the action."""

    kind = "invalid_input"


class ProtocolError(PluginError):
    """A protocol-level failure (a broken line, not ready, an unknown
    method, bad parameters), with its own code. Raised by the SDK itself;
    ``request_id`` is the id of the request it answers, when known."""

    def __init__(self, code: int, kind: str, message: str, request_id: int | str | None = None) -> None:
        super().__init__(message, kind=kind, code=code)
        self.request_id = request_id


_CLASS_OF_KIND: dict[str, type[PluginError]] = {
    "configuration": ConfigurationError,
    "connection": ConnectionError,
    "authentication": AuthenticationError,
    "not_found": NotFoundError,
    "rate_limited": RateLimitedError,
    "invalid_response": InvalidResponseError,
    "unsupported": UnsupportedError,
    "invalid_input": InvalidInputError,
}


def error_object(exc: BaseException) -> dict[str, Any]:
    """The JSON-RPC error object for any exception a call raised."""
    if isinstance(exc, PluginError):
        return exc.to_error_object()
    if isinstance(exc, asyncio.CancelledError):
        return PluginError("cancelled by the host", kind="cancelled").to_error_object()
    # `asyncio.TimeoutError` is the built-in one from Python 3.11 on, and a
    # class of its own before.
    if isinstance(exc, (builtins.TimeoutError, asyncio.TimeoutError)):
        return PluginError(_describe(exc), kind="timeout").to_error_object()
    if isinstance(exc, builtins.ConnectionError):
        return PluginError(_describe(exc), kind="connection").to_error_object()
    if isinstance(exc, NotImplementedError):
        return PluginError(_describe(exc), kind="unsupported").to_error_object()
    return PluginError(_describe(exc), kind="other").to_error_object()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
