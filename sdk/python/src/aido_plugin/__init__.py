"""Write aido plugins in Python.

aido runs an external plugin as a process speaking JSON-RPC over its
stdin and stdout (``docs/plugin-protocol.md``). This package does the
protocol; a plugin is a class in the style of aido's design document::

    from aido_plugin import NotFoundError, TaskManagementPlugin, serve

    class Tracker(TaskManagementPlugin):
        PLUGIN_NAME = "tracker"
        PLUGIN_VERSION = "0.1.0"
        PLUGIN_DESCRIPTION = "Tasks in our tracker."
        REQUIRED_CONFIG = ["project"]

        async def connect(self, config):
            self.project = config["project"]

        async def get_task(self, *, task_id):
            raise NotFoundError(f"no task {task_id}")

    if __name__ == "__main__":
        serve(Tracker)

- Kind base classes: ``TaskManagementPlugin``, ``VersionControlPlugin``,
  ``DocumentationPlugin``, ``CommunicationPlugin``, ``AIProviderPlugin``,
  ``MonitoringPlugin``; their methods take the catalog's parameters as
  keyword arguments.
- Errors: ``PluginError`` and one class per kind of failure
  (``ConnectionError`` deliberately shadows the built-in; see
  ``aido_plugin.errors``).
- ``current_call()``: the run, step and idempotency key of the call being
  handled.
- ``serve()``: the protocol on stdin/stdout; ``discover()``: plugins
  installed through the ``ai_dev_orchestrator.plugins`` entry points.
"""

from .discovery import ENTRY_POINT_GROUP, discover, load, load_object
from .errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionError,
    InvalidInputError,
    InvalidResponseError,
    NotFoundError,
    PluginError,
    RateLimitedError,
    UnsupportedError,
)
from .kinds import (
    AIProviderPlugin,
    CommunicationPlugin,
    DocumentationPlugin,
    MonitoringPlugin,
    TaskManagementPlugin,
    VersionControlPlugin,
)
from .plugin import EMPTY, CallInfo, ConfigProblem, ConnectContext, Health, Plugin, current_call
from .protocol import PROTOCOL_VERSION
from .server import serve, serve_async

__version__ = "0.1.0"

__all__ = [
    "AIProviderPlugin",
    "AuthenticationError",
    "CallInfo",
    "CommunicationPlugin",
    "ConfigProblem",
    "ConfigurationError",
    "ConnectContext",
    "ConnectionError",
    "DocumentationPlugin",
    "EMPTY",
    "ENTRY_POINT_GROUP",
    "Health",
    "InvalidInputError",
    "InvalidResponseError",
    "MonitoringPlugin",
    "NotFoundError",
    "PROTOCOL_VERSION",
    "Plugin",
    "PluginError",
    "RateLimitedError",
    "TaskManagementPlugin",
    "UnsupportedError",
    "VersionControlPlugin",
    "current_call",
    "discover",
    "load",
    "load_object",
    "serve",
    "serve_async",
]
