"""One conversation with the host: what to do with each message.

The session knows nothing of file descriptors: it receives decoded lines
and hands messages to a ``send`` function, so it can be driven in-process
(see the tests) as well as over stdin/stdout (``serve``).
"""

from __future__ import annotations

import asyncio
import inspect
import keyword
import logging
from types import MappingProxyType
from typing import Any, Awaitable, Callable, Mapping

from .errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NOT_READY,
    SHUTTING_DOWN,
    VERSION_MISMATCH,
    ConfigurationError,
    PluginError,
    ProtocolError,
    error_object,
)
from .plugin import CallInfo, ConfigProblem, ConnectContext, Health, Plugin, set_current_call
from .protocol import (
    META_KEY,
    PROTOCOL_VERSION,
    decode,
    error_response,
    negotiate,
    response,
    version_mismatch_message,
)

__all__ = ["Session"]

log = logging.getLogger("aido_plugin")

#: How long cleanup may wait for ``disconnect`` when the host is gone.
CLEANUP_SECONDS = 2.0

Send = Callable[[Mapping[str, Any]], None]


async def _maybe_await(value: Any) -> Any:
    """Lets plugin methods be plain or ``async``."""
    if inspect.isawaitable(value):
        return await value
    return value


def _problems(outcome: Any) -> list[dict[str, str]]:
    """What ``validate_config`` returned, as the list of problems that
    travels."""
    if outcome is None or outcome is True:
        return []
    if outcome is False:
        return [ConfigProblem("", "the configuration is not valid").to_dict()]
    problems = []
    for item in outcome:
        if isinstance(item, ConfigProblem):
            problems.append(item.to_dict())
        elif isinstance(item, str):
            problems.append({"path": "", "message": item})
        elif isinstance(item, Mapping):
            problems.append({"path": str(item.get("path", "")), "message": str(item.get("message", ""))})
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            problems.append({"path": str(item[0]), "message": str(item[1])})
        else:
            raise TypeError(
                "validate_config must return ConfigProblem items, (path, message) pairs "
                f"or strings; it returned {item!r}"
            )
    return problems


def _text(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    return value if isinstance(value, str) else None


class Session:
    """The protocol state of one plugin process."""

    def __init__(self, plugin: Plugin, send: Send) -> None:
        self.plugin = plugin
        self._send = send
        self._name = type(plugin).PLUGIN_NAME or type(plugin).__name__
        self._kind_methods = type(plugin).kind_methods()
        self._implemented = set(type(plugin).implemented_methods())
        self._tasks: dict[Any, asyncio.Future[None]] = {}
        self._signatures: dict[str, inspect.Signature] = {}
        self._connected = False
        self._shutdown = False
        #: Whether ``initialize`` was answered; until then logs go to stderr.
        self.initialized = False
        #: The host's process id, from ``initialize``.
        self.parent_pid: int | None = None
        #: Set once the process should exit; ``exit_code`` says how.
        self.finished = asyncio.Event()
        self.exit_code: int | None = None

    # ----- input -----

    def handle_line(self, line: bytes) -> None:
        """Handles one line read from the host."""
        if not line.strip():
            return
        try:
            message = decode(line)
        except ProtocolError as exc:
            self._send_error(exc.request_id, exc)
            return
        self.handle(message)

    def handle(self, message: Mapping[str, Any]) -> None:
        """Handles one decoded message."""
        method = message.get("method")
        request_id = message.get("id")
        if method is None:
            if "result" in message or "error" in message:
                # This SDK sends no requests, so there is nothing to match.
                log.debug("ignoring a response to request %r", request_id)
            else:
                error = ProtocolError(
                    INVALID_REQUEST,
                    "other",
                    "a message has a `method` (request, notification) or a `result` or `error` (response)",
                )
                self._send_error(request_id, error)
            return
        params = message.get("params")
        if request_id is None:
            self._on_notification(method, params)
        else:
            self._on_request(request_id, method, params)

    def on_eof(self) -> None:
        """The host closed our stdin."""
        self.finish(0 if self._shutdown else 1)

    def finish(self, exit_code: int) -> None:
        """Asks ``serve`` to end the process with ``exit_code``."""
        if self.exit_code is None:
            self.exit_code = exit_code
        self.finished.set()

    # ----- notifications -----

    def _on_notification(self, method: str, params: Any) -> None:
        if method == "$/cancel":
            target = params.get("id") if isinstance(params, Mapping) else None
            task = self._tasks.get(target)
            if task is not None and not task.done():
                task.cancel()
        elif method == "exit":
            self.finish(0 if self._shutdown else 1)
        elif method == "initialized":
            log.debug("the host accepted the handshake")
        else:
            # Later minor versions may add notifications; ignore them.
            log.debug("ignoring notification %s", method)

    # ----- requests -----

    def _on_request(self, request_id: Any, method: str, params: Any) -> None:
        if request_id in self._tasks:
            error = ProtocolError(INVALID_REQUEST, "other", f"request {request_id!r} is already in flight")
            self._send_error(request_id, error)
            return
        if self._shutdown:
            self._send_error(request_id, ProtocolError(SHUTTING_DOWN, "other", "the plugin is shutting down"))
            return
        if method == "initialize":
            # Answered at once, so that the state is settled for the next line.
            try:
                result = self._initialize(params)
            except PluginError as exc:
                self._send_error(request_id, exc)
            else:
                self._send_result(request_id, method, result)
                self.initialized = True
            return
        if not self.initialized:
            error = ProtocolError(NOT_READY, "other", f"`{method}` came before `initialize`")
            self._send_error(request_id, error)
            return
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            error = ProtocolError(INVALID_PARAMS, "invalid_input", f"the parameters of `{method}` must be an object")
            self._send_error(request_id, error)
            return
        info = self._call_info(request_id, method, params)
        if method == "shutdown":
            # Refuse what comes next at once; the cleanup itself takes time.
            self._shutdown = True
            self._spawn(request_id, method, info, lambda: self._do_shutdown(request_id))
        else:
            self._spawn(request_id, method, info, lambda: self._dispatch(method, params))

    @staticmethod
    def _call_info(request_id: Any, method: str, params: Mapping[str, Any]) -> CallInfo:
        meta = params.get(META_KEY)
        meta = meta if isinstance(meta, Mapping) else {}
        timeout = meta.get("timeout_seconds")
        return CallInfo(
            request_id=request_id,
            method=method,
            run_id=_text(meta, "run_id"),
            step=_text(meta, "step"),
            idempotency_key=_text(meta, "idempotency_key"),
            timeout_seconds=float(timeout) if isinstance(timeout, (int, float)) else None,
        )

    def _spawn(
        self,
        request_id: Any,
        method: str,
        info: CallInfo,
        work: Callable[[], Awaitable[Any]],
    ) -> None:
        task = asyncio.ensure_future(self._run(request_id, method, info, work))
        self._tasks[request_id] = task

        def finished(task: asyncio.Future[None]) -> None:
            self._tasks.pop(request_id, None)
            # A task cancelled before its first step never ran `_run`, so
            # nothing answered it yet.
            if task.cancelled():
                self._send_error(request_id, asyncio.CancelledError())

        task.add_done_callback(finished)

    async def _run(
        self,
        request_id: Any,
        method: str,
        info: CallInfo,
        work: Callable[[], Awaitable[Any]],
    ) -> None:
        # Each task runs in its own copy of the context, so this is seen by
        # the plugin's code for this request only.
        set_current_call(info)
        try:
            result = await work()
        except asyncio.CancelledError as exc:
            # The outermost frame of the task: answering is all that is left.
            self._send_error(request_id, exc)
        except Exception as exc:
            if not isinstance(exc, PluginError):
                log.error("%s failed", method, exc_info=exc)
            self._send_error(request_id, exc)
        else:
            self._send_result(request_id, method, result)

    def _initialize(self, params: Any) -> dict[str, Any]:
        if self.initialized:
            raise ProtocolError(INVALID_REQUEST, "other", "`initialize` was already answered")
        offered = params.get("protocol_versions") if isinstance(params, Mapping) else None
        if not isinstance(offered, list) or not all(isinstance(v, str) for v in offered):
            raise ProtocolError(
                INVALID_PARAMS, "invalid_input", "`protocol_versions` must be a list of versions such as \"1.0\""
            )
        version = negotiate(offered)
        if version is None:
            raise ProtocolError(
                VERSION_MISMATCH, "unsupported", version_mismatch_message(self._name, [PROTOCOL_VERSION], offered)
            )
        parent_pid = params.get("parent_pid")
        if isinstance(parent_pid, int) and not isinstance(parent_pid, bool) and parent_pid > 0:
            self.parent_pid = parent_pid
        return {"protocol_version": version, "plugin": type(self.plugin).info()}

    async def _dispatch(self, method: str, params: Mapping[str, Any]) -> Any:
        if method == "plugin.validate_config":
            return await self._validate_config(params)
        if method == "plugin.connect":
            return await self._connect(params)
        if method == "plugin.health_check":
            health = await _maybe_await(self.plugin.health_check())
            return Health.from_value(health).to_dict()
        if method == "plugin.disconnect":
            await self._disconnect()
            return None
        if method in self._kind_methods:
            return await self._call_kind_method(method, params)
        raise ProtocolError(METHOD_NOT_FOUND, "unsupported", self._unknown_method(method))

    def _unknown_method(self, method: str) -> str:
        kind = method.partition(".")[0]
        kinds = type(self.plugin).kinds()
        if kind not in kinds and "." in method:
            return f"no method `{method}`: plugin `{self._name}` serves {', '.join(kinds) or 'no kind'}"
        return f"no method `{method}`"

    @staticmethod
    def _config(params: Mapping[str, Any]) -> Mapping[str, Any]:
        config = params.get("config")
        if not isinstance(config, Mapping):
            raise ProtocolError(INVALID_PARAMS, "invalid_input", "`config` must be an object")
        return config

    def _set_context(self, params: Mapping[str, Any]) -> None:
        self.plugin.context = ConnectContext(
            instance=_text(params, "instance"),
            project_dir=_text(params, "project_dir"),
            data_dir=_text(params, "data_dir"),
        )

    async def _validate_config(self, params: Mapping[str, Any]) -> dict[str, Any]:
        config = self._config(params)
        self._set_context(params)
        try:
            outcome = await _maybe_await(self.plugin.validate_config(config))
        except ConfigurationError as exc:
            outcome = [ConfigProblem("", exc.message)]
        return {"problems": _problems(outcome)}

    async def _connect(self, params: Mapping[str, Any]) -> None:
        if self._connected:
            raise ProtocolError(INVALID_REQUEST, "other", "already connected; send `plugin.disconnect` first")
        config = self._config(params)
        secrets = params.get("secrets", {})
        if not isinstance(secrets, Mapping) or not all(isinstance(v, str) for v in secrets.values()):
            raise ProtocolError(INVALID_PARAMS, "invalid_input", "`secrets` must map names to strings")
        self.plugin.secrets = MappingProxyType(dict(secrets))
        self._set_context(params)
        await _maybe_await(self.plugin.connect(config))
        self._connected = True

    async def _disconnect(self) -> None:
        if not self._connected:
            return
        # Refuse new calls while disconnecting.
        self._connected = False
        await _maybe_await(self.plugin.disconnect())

    async def _call_kind_method(self, method: str, params: Mapping[str, Any]) -> Any:
        if method not in self._implemented:
            raise ProtocolError(
                METHOD_NOT_FOUND, "unsupported", f"plugin `{self._name}` does not implement {method}"
            )
        if not self._connected:
            raise ProtocolError(NOT_READY, "other", f"`{method}` came before `plugin.connect` succeeded")
        _, action = self._kind_methods[method]
        function = getattr(self.plugin, action)
        # `from` and other Python keywords arrive as `from_`.
        arguments = {
            (f"{name}_" if keyword.iskeyword(name) else name): value
            for name, value in params.items()
            if name != META_KEY
        }
        # The signature is read once per method: `inspect.signature` costs
        # more than the rest of a small call.
        signature = self._signatures.get(action)
        if signature is None:
            signature = self._signatures[action] = inspect.signature(function)
        try:
            signature.bind(**arguments)
        except TypeError as exc:
            raise ProtocolError(INVALID_PARAMS, "invalid_input", f"{method}: {exc}") from None
        return await _maybe_await(function(**arguments))

    async def _do_shutdown(self, own_id: Any) -> None:
        others = [task for request_id, task in self._tasks.items() if request_id != own_id]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._disconnect()

    async def close(self) -> None:
        """Ends the session: cancels calls in flight and, when still
        connected, disconnects (within ``CLEANUP_SECONDS``)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._connected:
            try:
                await asyncio.wait_for(self._disconnect(), CLEANUP_SECONDS)
            except Exception as exc:  # noqa: BLE001 - reported, the process is ending anyway
                log.warning("disconnect failed while exiting: %s", exc)

    # ----- output -----

    def _send_result(self, request_id: Any, method: str, result: Any) -> None:
        try:
            self._send(response(request_id, result))
        except (TypeError, ValueError) as exc:
            log.error("the result of %s is not JSON data: %s", method, exc)
            error = ProtocolError(INTERNAL_ERROR, "other", f"the result of `{method}` is not JSON data: {exc}")
            self._send(error_response(request_id, error.to_error_object()))

    def _send_error(self, request_id: Any, exc: BaseException) -> None:
        self._send(error_response(request_id, error_object(exc)))
