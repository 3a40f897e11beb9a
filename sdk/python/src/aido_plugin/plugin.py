"""What every plugin is, whatever its kind: the ``Plugin`` base class.

A plugin is a class with metadata in class attributes and async methods::

    class Tracker(TaskManagementPlugin):
        PLUGIN_NAME = "tracker"
        PLUGIN_VERSION = "0.1.0"
        PLUGIN_DESCRIPTION = "Tasks in our tracker."
        REQUIRED_CONFIG = ["connection.url"]

        async def connect(self, config):
            self.url = config["connection"]["url"]
            self.token = self.secret("TRACKER_TOKEN")

        async def get_task(self, *, task_id):
            ...

The lifecycle is the one of aido's built-in plugins: ``validate_config``
(checks beyond the schema), ``connect`` once, any number of calls and
``health_check``\\s, ``disconnect`` once.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Iterable, Mapping, Sequence, TypeVar

from .errors import ConfigurationError, UnsupportedError

__all__ = [
    "EMPTY",
    "CallInfo",
    "ConfigProblem",
    "ConnectContext",
    "Health",
    "Plugin",
    "current_call",
    "unimplemented",
    "unsupported",
]

#: An empty read-only mapping: the default of optional object parameters,
#: safe to share because nobody can change it.
EMPTY: Mapping[str, Any] = MappingProxyType({})

_F = TypeVar("_F", bound=Callable[..., Any])

# Marks the base classes' placeholder methods, so the SDK can tell which
# methods a plugin really implements (and list only those).
_UNIMPLEMENTED = "__aido_unimplemented__"


def unimplemented(method: _F) -> _F:
    """Marks a kind method that a plugin has not implemented (yet)."""
    setattr(method, _UNIMPLEMENTED, True)
    return method


def is_implemented(method: Any) -> bool:
    """Whether ``method`` is a plugin's own, not a base class placeholder."""
    function = getattr(method, "__func__", method)
    return not getattr(function, _UNIMPLEMENTED, False)


def unsupported(plugin: Plugin, method: str) -> UnsupportedError:
    """The error of a kind method ``plugin`` does not implement."""
    name = type(plugin).PLUGIN_NAME or type(plugin).__name__
    return UnsupportedError(f"plugin `{name}` does not implement {method}")


@dataclass(frozen=True)
class ConfigProblem:
    """A problem in a plugin's configuration.

    ``path`` is the dotted key it is about (``mappings.statuses.done``);
    ``message`` says what is wrong and what would be right, and never quotes
    a secret.
    """

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The problem as it travels."""
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class Health:
    """A plugin's health, as ``health_check`` reports it."""

    status: str
    reason: str | None = None

    @classmethod
    def healthy(cls) -> Health:
        """Working."""
        return cls("healthy")

    @classmethod
    def degraded(cls, reason: str) -> Health:
        """Working, with a problem worth knowing."""
        return cls("degraded", reason)

    @classmethod
    def unhealthy(cls, reason: str) -> Health:
        """Not working."""
        return cls("unhealthy", reason)

    @classmethod
    def from_value(cls, value: Any) -> Health:
        """What a ``health_check`` returned, as a ``Health``.

        Accepts a ``Health``, ``True``/``None`` (healthy), ``False``
        (unhealthy), a status name, or a ``{"status", "reason"}`` mapping.
        """
        if isinstance(value, Health):
            return value
        if value is None or value is True:
            return cls.healthy()
        if value is False:
            return cls.unhealthy("the health check failed")
        if isinstance(value, str):
            value = {"status": value}
        if isinstance(value, Mapping):
            status = value.get("status")
            reason = value.get("reason")
            if status == "healthy":
                return cls.healthy()
            if status in ("degraded", "unhealthy"):
                return cls(str(status), str(reason or "no reason given"))
        raise TypeError(
            "health_check must return a Health, a bool, or one of "
            f"'healthy', 'degraded', 'unhealthy'; it returned {value!r}"
        )

    def to_dict(self) -> dict[str, str]:
        """The health as it travels."""
        if self.status == "healthy":
            return {"status": "healthy"}
        return {"status": self.status, "reason": self.reason or ""}


@dataclass(frozen=True)
class ConnectContext:
    """Where a configuration comes from, as the host says in
    ``plugin.validate_config`` and ``plugin.connect``."""

    instance: str | None = None
    """The configured instance: the kind, or the instance's own name."""
    project_dir: str | None = None
    """The project's root (where ``aido.yaml`` is), for relative paths."""
    data_dir: str | None = None
    """Where aido keeps its files (``.aido/`` by default)."""


@dataclass(frozen=True)
class CallInfo:
    """Where the call being handled comes from (see ``current_call``)."""

    request_id: int | str
    """The JSON-RPC id of the request."""
    method: str
    """The method, such as ``task_management.create_task``."""
    run_id: str | None = None
    """The workflow run making the call."""
    step: str | None = None
    """The workflow step making the call."""
    idempotency_key: str | None = None
    """For write actions: the same for every attempt of the same step. Look
    for an effect made under it before making another."""
    timeout_seconds: float | None = None
    """How long the host waits for the answer before cancelling the call."""


_CURRENT_CALL: contextvars.ContextVar[CallInfo | None] = contextvars.ContextVar(
    "aido_plugin_current_call", default=None
)


def current_call() -> CallInfo | None:
    """The call being handled by the current task, or ``None`` outside one.

    Read it in a kind method for the idempotency key::

        key = current_call().idempotency_key
    """
    return _CURRENT_CALL.get()


def _has_path(config: Mapping[str, Any], path: str) -> bool:
    node: Any = config
    for segment in path.split("."):
        if not isinstance(node, Mapping) or node.get(segment) is None:
            return False
        node = node[segment]
    return True


def _required_schema(paths: Iterable[str]) -> dict[str, Any]:
    """A JSON Schema requiring every dotted path in ``paths``."""
    schema: dict[str, Any] = {"type": "object"}
    for path in paths:
        node = schema
        for segment in path.split("."):
            required = node.setdefault("required", [])
            if segment not in required:
                required.append(segment)
            properties = node.setdefault("properties", {})
            node = properties.setdefault(segment, {"type": "object"})
        # The last segment may hold any value.
        node.pop("type", None)
    return schema


class Plugin:
    """The base of every plugin; subclass one of the kind classes.

    Class attributes describe the plugin:

    - ``PLUGIN_NAME``: the name users write in ``provider:``, as in
      ``plugin.toml`` (lower-case letters, digits, ``-`` and ``_``).
    - ``PLUGIN_VERSION``: its version, ``MAJOR.MINOR.PATCH``.
    - ``PLUGIN_DESCRIPTION``: one sentence.
    - ``REQUIRED_CONFIG``: configuration keys that must be set, as dotted
      paths (``connection.api_key``).
    - ``CONFIG_SCHEMA``: the JSON Schema of the configuration; when
      ``None``, a schema requiring ``REQUIRED_CONFIG`` is sent.

    Before ``connect`` runs, the SDK sets ``self.secrets`` (the secrets the
    manifest declares, by environment variable name; read them with
    ``secret``) and ``self.context`` (a ``ConnectContext``).

    Every method may be ``async`` (as the base ones are) or plain; plain
    ones run on the event loop, so keep them quick.
    """

    PLUGIN_NAME: ClassVar[str] = ""
    PLUGIN_VERSION: ClassVar[str] = "0.0.0"
    PLUGIN_DESCRIPTION: ClassVar[str] = ""
    REQUIRED_CONFIG: ClassVar[Sequence[str]] = ()
    CONFIG_SCHEMA: ClassVar[Mapping[str, Any] | None] = None

    # Set by the kind classes.
    KIND: ClassVar[str | None] = None
    METHODS: ClassVar[Sequence[str]] = ()

    # Read-only defaults, replaced per instance by the SDK before connect.
    secrets: Mapping[str, str] = EMPTY
    context: ConnectContext = ConnectContext()

    async def validate_config(self, config: Mapping[str, Any]) -> list[ConfigProblem]:
        """Checks beyond the schema; report every problem, not just the first.

        The host has already checked the schema. The default checks that
        every ``REQUIRED_CONFIG`` key is set; an override should usually
        start with ``problems = await super().validate_config(config)``.
        May also return ``True``/``None`` (fine), ``False`` (not fine), or
        ``(path, message)`` pairs; may raise ``ConfigurationError``.
        """
        return [
            ConfigProblem(path, "is required")
            for path in type(self).REQUIRED_CONFIG
            if not _has_path(config, path)
        ]

    async def connect(self, config: Mapping[str, Any]) -> None:
        """Takes the configuration and gets ready for calls.

        Raise ``ConfigurationError``, ``AuthenticationError`` or
        ``ConnectionError`` when that fails. The default does nothing.
        """

    async def disconnect(self) -> None:
        """Releases what ``connect`` took. The default does nothing."""

    async def health_check(self) -> Health | bool | str:
        """Whether the plugin can work right now. The default: healthy."""
        return Health.healthy()

    def secret(self, name: str) -> str:
        """The secret ``name`` (an environment variable name the manifest
        lists under ``secrets``), or a ``ConfigurationError`` saying it is
        not set."""
        value = self.secrets.get(name)
        if value is None:
            raise ConfigurationError(
                f"the secret {name} is not set: set the environment variable {name} "
                "for aido, and list it under `secrets` in plugin.toml"
            )
        return value

    # ----- introspection, used by the server -----

    @classmethod
    def kinds(cls) -> list[str]:
        """The kinds the class serves, from its kind base classes."""
        found: list[str] = []
        for klass in cls.__mro__:
            kind = klass.__dict__.get("KIND")
            if kind and kind not in found:
                found.append(kind)
        return found

    @classmethod
    def kind_methods(cls) -> dict[str, tuple[str, str]]:
        """Every catalog method of the class's kinds: ``"<kind>.<action>"``
        to ``(kind, action)``."""
        methods: dict[str, tuple[str, str]] = {}
        for klass in cls.__mro__:
            kind = klass.__dict__.get("KIND")
            for action in klass.__dict__.get("METHODS", ()) if kind else ():
                methods[f"{kind}.{action}"] = (kind, action)
        return methods

    @classmethod
    def implemented_methods(cls) -> list[str]:
        """The catalog methods the class implements, ``<kind>.<action>``."""
        return [
            method
            for method, (_, action) in cls.kind_methods().items()
            if is_implemented(getattr(cls, action, None))
        ]

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """The configuration's JSON Schema, as sent in ``initialize``."""
        if cls.CONFIG_SCHEMA is not None:
            return dict(cls.CONFIG_SCHEMA)
        return _required_schema(cls.REQUIRED_CONFIG)

    @classmethod
    def info(cls) -> dict[str, Any]:
        """What the plugin says about itself in ``initialize``."""
        return {
            "name": cls.PLUGIN_NAME,
            "version": cls.PLUGIN_VERSION,
            "description": cls.PLUGIN_DESCRIPTION,
            "kinds": cls.kinds(),
            "methods": cls.implemented_methods(),
            "required_config": list(cls.REQUIRED_CONFIG),
            "config_schema": cls.config_schema(),
        }


def set_current_call(info: CallInfo | None) -> contextvars.Token[CallInfo | None]:
    """Sets what ``current_call`` returns in the current context (the SDK's
    server does this for each request)."""
    return _CURRENT_CALL.set(info)
