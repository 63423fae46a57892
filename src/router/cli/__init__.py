"""The `router` command: a thin click layer that parses, calls the library and formats.

The group and shared options live in :mod:`router.cli.base`; each module registers the
commands of one area of the work on import. A command's module is imported when the command
is first looked up (:data:`COMMANDS`), so that `router route` does not pay for importing
tracking, training or the web server; listing the commands (`router --help`, a near miss)
imports them all.
"""

from __future__ import annotations

import sys

import click

from .base import LazyCommands, cli

__all__ = ["cli", "main", "COMMANDS"]

# Each top-level command and the module of router.cli that registers it (tests/test_cli_zh.py
# checks the list against what the modules register).
COMMANDS = {
    "decisions": "auditing",
    "train": "learning", "evaluate": "learning", "models": "learning",
    "init": "office",
    "profile": "reading", "read": "reading",
    "report": "reporting",
    "history": "reviewing", "accept": "reviewing", "review": "reviewing",
    "route": "routing",
    "store": "storing",
    "track": "tracking", "due": "tracking",
    "serve": "web", "users": "web",
}
cli.commands = LazyCommands(__name__, COMMANDS, cli.commands)


def main():
    try:
        cli(prog_name="router")
    except KeyboardInterrupt:
        click.echo("Error: 已中断", err=True)
        sys.exit(130)
