"""The HTTP side of the ``mycustom`` plugin: one client for the MyCustom
Tasks API, with its failures mapped onto the SDK's error classes.

Standard library only: ``urllib.request``, run in a worker thread so the
plugin's event loop keeps answering the host (cancellation, health checks,
other calls) while a request is in flight. The API is documented in the
test kit's emulator of it (``crates/aido-testkit/src/mycustom.rs``).

How an answer becomes an error:

======================  =========================================
HTTP                    error class (aido error kind)
======================  =========================================
401, 403                ``AuthenticationError``
404                     ``NotFoundError``
400, 409, 422           ``InvalidInputError`` (naming the field)
429                     ``RateLimitedError`` with ``Retry-After``
5xx, refused, dropped   ``ConnectionError`` (retryable)
timeout                 ``TimeoutError`` (retryable)
3xx, not JSON           ``InvalidResponseError``
======================  =========================================

No message quotes the API key: it only ever travels in the
``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterable, Mapping

from aido_plugin import (
    AuthenticationError,
    ConnectionError,
    InvalidInputError,
    InvalidResponseError,
    NotFoundError,
    PluginError,
    RateLimitedError,
)

USER_AGENT = "aido-mycustom/0.1.0"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: following one could carry the API key to
    another host, and a redirect from an API means a wrong ``base_url``."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (the API sends seconds, never a date)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _api_error(body: bytes) -> tuple[str, str, str | None]:
    """The ``code``, ``message`` and ``field`` of the API's error body."""
    try:
        error = json.loads(body or b"{}").get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    return str(error.get("code", "")), str(error.get("message", "")), error.get("field")


def error_for(status: int, body: bytes, headers: Mapping[str, str], what: str) -> PluginError:
    """The exception for an unsuccessful answer to ``what`` (such as
    ``GET /tasks/DEMO-1``)."""
    code, message, field = _api_error(body)
    message = message.strip().rstrip(".")
    said = f": {message}" if message else ""
    if status in (401, 403):
        return AuthenticationError(
            f"MyCustom refused the API key for {what} (HTTP {status}){said}; "
            "check MYCUSTOM_API_KEY"
        )
    if status == 404:
        return NotFoundError(f"{message or 'not found'} ({what})")
    if status in (400, 409, 422):
        where = f" (field `{field}`)" if field else ""
        return InvalidInputError(f"MyCustom rejected {what}{where}{said}")
    if status == 429:
        return RateLimitedError(f"MyCustom rate-limited {what}{said}", retry_after=_retry_after(headers))
    if status >= 500:
        return ConnectionError(f"MyCustom failed on {what} (HTTP {status}){said}")
    if 300 <= status < 400:
        return InvalidResponseError(
            f"MyCustom answered {what} with a redirect (HTTP {status}); check base_url"
        )
    return PluginError(f"MyCustom answered {what} with HTTP {status} {code}{said}".rstrip())


class MyCustomClient:
    """Requests to one MyCustom Tasks API, authenticated with one key."""

    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        self.root = base_url.rstrip("/") + "/api/v1"
        self._api_key = api_key
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:  # never show the key
        return f"MyCustomClient({self.root!r})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, Any]] = (),
        body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        auth: bool = True,
    ) -> Any:
        """``method path`` (under ``/api/v1``) with ``query`` pairs and a
        JSON ``body``; the answer's JSON. ``timeout`` caps the client's
        own."""
        pairs = [(name, str(value)) for name, value in query if value is not None]
        url = self.root + path + (f"?{urllib.parse.urlencode(pairs)}" if pairs else "")
        limit = self.timeout if timeout is None else max(0.1, min(self.timeout, timeout))
        what = f"{method} {path}"
        loop = asyncio.get_running_loop()
        # A cancelled call leaves its thread to finish on its own; the
        # answer is dropped, and the idempotency key covers a retry.
        status, data, headers = await loop.run_in_executor(
            None, self._send, method, url, body, limit, auth, what
        )
        if not 200 <= status < 300:
            raise error_for(status, data, headers, what)
        try:
            return json.loads(data) if data else None
        except ValueError:
            raise InvalidResponseError(f"MyCustom answered {what} with a body that is not JSON") from None

    def _send(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        timeout: float,
        auth: bool,
        what: str,
    ) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if auth:
            headers["Authorization"] = f"Bearer {self._api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, response.read(), dict(response.headers.items())
        except urllib.error.HTTPError as err:
            try:
                payload = err.read()
            except (OSError, http.client.HTTPException):
                payload = b""
            return err.code, payload, dict(err.headers.items()) if err.headers else {}
        except (socket.timeout, TimeoutError):
            raise TimeoutError(f"MyCustom did not answer {what} within {timeout:g} s") from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise TimeoutError(f"MyCustom did not answer {what} within {timeout:g} s") from None
            raise ConnectionError(f"cannot reach MyCustom for {what}: {reason}") from None
        except (http.client.HTTPException, OSError) as err:
            # A connection dropped mid-answer (RemoteDisconnected, reset).
            raise ConnectionError(f"the connection to MyCustom broke during {what}: {err}") from None
