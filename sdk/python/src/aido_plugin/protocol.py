"""The wire format, without I/O: versions, message shapes, encoding.

Mirrors aido's ``aido-plugin-protocol`` crate; ``docs/plugin-protocol.md``
is the specification.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from typing import Any, Iterable, Mapping

from .errors import INVALID_REQUEST, PARSE_ERROR, ProtocolError

__all__ = [
    "PROTOCOL_VERSION",
    "encode",
    "decode",
    "negotiate",
    "parse_version",
]

#: The protocol version this SDK speaks.
PROTOCOL_VERSION = "1.0"

#: The member of a kind method's parameters that carries the call's context.
META_KEY = "_meta"


def parse_version(text: Any) -> tuple[int, int]:
    """``"1.2"`` as ``(1, 2)``; ``ValueError`` for anything else."""
    if isinstance(text, str):
        major, dot, minor = text.partition(".")
        if dot and major.isdigit() and minor.isdigit() and major.isascii() and minor.isascii():
            return int(major), int(minor)
    raise ValueError(f"{text!r} is not a protocol version; expected MAJOR.MINOR, such as 1.0")


def negotiate(offered: Iterable[str], supported: Iterable[str] = (PROTOCOL_VERSION,)) -> str | None:
    """The version to answer ``initialize`` with: the highest major both
    sides speak, at the lower of the two minors; ``None`` when they share
    none. Versions that do not parse are skipped."""
    ours = []
    for text in supported:
        ours.append(parse_version(text))
    best: tuple[int, int] | None = None
    for text in offered:
        try:
            major, minor = parse_version(text)
        except ValueError:
            continue
        for our_major, our_minor in ours:
            if our_major == major:
                candidate = (major, min(minor, our_minor))
                if best is None or candidate > best:
                    best = candidate
    return None if best is None else f"{best[0]}.{best[1]}"


def version_mismatch_message(plugin: str, plugin_versions: Iterable[str], host_versions: Iterable[str]) -> str:
    """The message of a version mismatch, naming the plugin and both sides'
    versions (the same words as aido's)."""
    ours = ", ".join(plugin_versions) or "no version"
    theirs = ", ".join(str(v) for v in host_versions) or "no version"
    return (
        f"plugin `{plugin}` speaks protocol {ours}, but the host speaks {theirs}; "
        "install a version of the plugin made for the host's protocol, or an aido that speaks the plugin's"
    )


def _json_default(value: Any) -> Any:
    """What ``json`` cannot encode on its own, as plain data."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            # A naive time is taken as UTC, the only zone aido's data uses.
            value = value.replace(tzinfo=datetime.timezone.utc)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        return to_dict() if callable(to_dict) else dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as one line: compact UTF-8 JSON and ``\\n``.

    ``datetime`` values become RFC 3339 strings; ``NaN`` and infinities
    are refused (JSON has none).
    """
    text = json.dumps(
        message,
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
        default=_json_default,
    )
    return text.encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One line as a message object; a ``ProtocolError`` (parse error or
    invalid request, with the request's id when it could be read) when it
    is not one."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(PARSE_ERROR, "other", f"the line is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError(INVALID_REQUEST, "other", "a message is one JSON object (batches are not used)")
    request_id = message.get("id")
    known_id = request_id if _is_id(request_id) else None
    if message.get("jsonrpc") != "2.0":
        raise ProtocolError(
            INVALID_REQUEST, "other", 'not a JSON-RPC 2.0 message: `jsonrpc` must be "2.0"', known_id
        )
    if "method" in message and not isinstance(message["method"], str):
        raise ProtocolError(INVALID_REQUEST, "other", "`method` must be a string", known_id)
    if "method" in message and request_id is not None and not _is_id(request_id):
        raise ProtocolError(INVALID_REQUEST, "other", "a request's `id` is an integer or a string")
    return message


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def response(request_id: Any, result: Any) -> dict[str, Any]:
    """A successful answer."""
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: Mapping[str, Any]) -> dict[str, Any]:
    """A failed answer; ``request_id`` is ``None`` when it could not be read."""
    return {"jsonrpc": "2.0", "id": request_id, "error": dict(error)}


def notification(method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A message that expects no answer."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = dict(params)
    return message


def request(request_id: Any, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A message that expects an answer."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = dict(params)
    return message
