"""``python -m aido_plugin``: list installed plugins, or serve one.

    python -m aido_plugin list
    python -m aido_plugin serve memory-tasks             # an entry-point name
    python -m aido_plugin serve memory_tasks:MemoryTasks  # or module:Class
"""

from __future__ import annotations

import argparse
import sys

from .discovery import ENTRY_POINT_GROUP, discover, load, load_object
from .server import serve


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status of ``list`` and of
    failures (``serve`` exits the process itself)."""
    parser = argparse.ArgumentParser(prog="python -m aido_plugin", description="aido plugins written in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help=f"list the plugins installed in the {ENTRY_POINT_GROUP} entry-point group")
    serve_command = commands.add_parser("serve", help="serve a plugin on stdin/stdout")
    serve_command.add_argument("plugin", help="an installed plugin's name, or module:Class")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name, point in discover().items():
            print(f"{name}\t{point.value}")
        return 0
    try:
        plugin = load_object(args.plugin) if ":" in args.plugin else load(args.plugin)
    except (LookupError, ImportError, AttributeError, TypeError, ValueError) as exc:
        print(f"aido_plugin: {exc}", file=sys.stderr)
        return 2
    serve(plugin)  # exits the process


if __name__ == "__main__":
    sys.exit(main())
