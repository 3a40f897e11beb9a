"""How exceptions become the protocol's error objects, and back."""

from __future__ import annotations

import asyncio
import builtins

import pytest

import aido_plugin as ap
from aido_plugin.errors import PluginError, error_object


@pytest.mark.parametrize(
    ("error", "code", "kind", "retryable"),
    [
        (ap.ConfigurationError("no project"), -32000, "configuration", False),
        (ap.ConnectionError("refused"), -32000, "connection", True),
        (ap.AuthenticationError("bad token"), -32000, "authentication", False),
        (ap.NotFoundError("no task X"), -32000, "not_found", False),
        (ap.RateLimitedError("slow down"), -32000, "rate_limited", True),
        (ap.InvalidResponseError("garbled"), -32000, "invalid_response", False),
        (ap.UnsupportedError("cannot"), -32000, "unsupported", False),
        (ap.InvalidInputError("no title"), -32602, "invalid_input", False),
        (ap.PluginError("boom"), -32000, "other", False),
        (ap.PluginError("slow", kind="timeout"), -32000, "timeout", True),
    ],
)
def test_each_class_travels_with_its_kind(error: PluginError, code: int, kind: str, retryable: bool) -> None:
    assert error_object(error) == {
        "code": code,
        "message": error.message,
        "data": {"kind": kind, "retryable": retryable},
    }


def test_rate_limits_carry_retry_after() -> None:
    error = ap.RateLimitedError("slow down", retry_after=2.5)
    assert error.retry_after == 2.5
    assert error_object(error)["data"] == {"kind": "rate_limited", "retryable": True, "retry_after_seconds": 2.5}
    assert error_object(ap.RateLimitedError(retry_after=3))["data"]["retry_after_seconds"] == 3.0


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (builtins.TimeoutError("read timed out"), "timeout"),
        (asyncio.TimeoutError(), "timeout"),
        (ConnectionRefusedError(111, "refused"), "connection"),
        (builtins.ConnectionError("reset"), "connection"),
        (NotImplementedError("later"), "unsupported"),
        (asyncio.CancelledError(), "cancelled"),
        (ValueError("bad"), "other"),
    ],
)
def test_other_exceptions_are_mapped(exception: BaseException, kind: str) -> None:
    assert error_object(exception)["data"]["kind"] == kind


def test_cancelled_uses_its_own_code_and_unexpected_errors_name_their_type() -> None:
    assert error_object(asyncio.CancelledError())["code"] == -32004
    assert error_object(KeyError("x"))["message"] == "KeyError: 'x'"


def test_connection_error_shadows_the_builtin_and_subclasses_it() -> None:
    assert ap.ConnectionError is not builtins.ConnectionError
    error = ap.ConnectionError("down", retry_after=1)
    assert isinstance(error, builtins.ConnectionError)
    assert isinstance(error, PluginError)
    assert str(error) == "down"
    with pytest.raises(builtins.ConnectionError):
        raise error


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="not an error kind"):
        PluginError("x", kind="oops")


@pytest.mark.parametrize(
    "error",
    [
        ap.ConfigurationError("a"),
        ap.ConnectionError("b"),
        ap.AuthenticationError("c"),
        ap.NotFoundError("d"),
        ap.RateLimitedError("e", retry_after=4.0),
        ap.InvalidResponseError("f"),
        ap.UnsupportedError("g"),
        ap.InvalidInputError("h"),
        PluginError("i", kind="timeout"),
        PluginError("j", kind="cancelled"),
    ],
)
def test_error_objects_read_back_as_the_same_error(error: PluginError) -> None:
    back = PluginError.from_error_object(error.to_error_object())
    assert type(back) is type(error)
    assert (back.kind, back.message, back.retry_after, back.code) == (
        error.kind,
        error.message,
        error.retry_after,
        error.code,
    )


def test_foreign_error_objects_are_read_from_their_code() -> None:
    assert PluginError.from_error_object({"code": -32601, "message": "Method not found"}).kind == "unsupported"
    assert PluginError.from_error_object({"code": -32602, "message": "bad"}).kind == "invalid_input"
    read = PluginError.from_error_object({"code": -32000, "message": "m", "data": {"kind": "quota"}})
    assert read.kind == "other"
