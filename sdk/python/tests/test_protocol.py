"""The wire helpers: versions, encoding, decoding."""

from __future__ import annotations

import datetime
import json

import pytest

from aido_plugin.errors import ProtocolError
from aido_plugin.protocol import decode, encode, negotiate, parse_version, version_mismatch_message


def test_versions_parse_as_major_dot_minor() -> None:
    assert parse_version("1.0") == (1, 0)
    assert parse_version("12.3") == (12, 3)
    for bad in ["1", "1.0.0", "a.b", "", "1.", "+1.0", None, 1.0]:
        with pytest.raises(ValueError):
            parse_version(bad)


def test_negotiation_takes_the_highest_common_major_at_the_lower_minor() -> None:
    assert negotiate(["1.0"]) == "1.0"
    assert negotiate(["1.4"], ["1.2"]) == "1.2"
    assert negotiate(["1.0"], ["1.2"]) == "1.0"
    assert negotiate(["2.1", "1.4"], ["2.3", "1.9"]) == "2.1"
    assert negotiate(["2.0"]) is None
    assert negotiate(["nonsense", "1.1"]) == "1.0"
    assert negotiate([]) is None


def test_the_mismatch_message_is_aidos() -> None:
    assert version_mismatch_message("x", ["1.0"], ["2.0", "3.1"]) == (
        "plugin `x` speaks protocol 1.0, but the host speaks 2.0, 3.1; install a version of the plugin "
        "made for the host's protocol, or an aido that speaks the plugin's"
    )


def test_encode_writes_one_compact_line() -> None:
    line = encode({"jsonrpc": "2.0", "id": 1, "result": {"text": "a\nb", "name": "é"}})
    assert line == '{"jsonrpc":"2.0","id":1,"result":{"text":"a\\nb","name":"é"}}\n'.encode()
    assert line.count(b"\n") == 1


def test_encode_turns_dates_into_rfc3339_and_refuses_nan() -> None:
    moment = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.timezone.utc)
    naive = datetime.datetime(2026, 1, 5, 10, 0)
    data = json.loads(encode({"a": moment, "b": naive, "c": datetime.date(2026, 1, 5), "d": (1, 2)}))
    assert data == {"a": "2026-01-05T10:00:00Z", "b": "2026-01-05T10:00:00Z", "c": "2026-01-05", "d": [1, 2]}
    with pytest.raises(ValueError):
        encode({"x": float("nan")})
    with pytest.raises(TypeError):
        encode({"x": object()})


@pytest.mark.parametrize(
    ("line", "code", "request_id"),
    [
        (b"{nope", -32700, None),
        (b"\xff\xfe", -32700, None),
        (b"[]", -32600, None),
        (b'{"jsonrpc":"1.0","id":4,"method":"m"}', -32600, 4),
        (b'{"jsonrpc":"2.0","id":5,"method":7}', -32600, 5),
        (b'{"jsonrpc":"2.0","id":1.5,"method":"m"}', -32600, None),
    ],
)
def test_decode_refuses_what_is_not_a_message(line: bytes, code: int, request_id: object) -> None:
    with pytest.raises(ProtocolError) as raised:
        decode(line)
    assert raised.value.code == code
    assert raised.value.request_id == request_id


def test_decode_reads_a_message() -> None:
    assert decode(b'{"jsonrpc":"2.0","method":"exit"}') == {"jsonrpc": "2.0", "method": "exit"}
