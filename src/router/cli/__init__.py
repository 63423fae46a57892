"""The `router` command: a thin click layer that parses, calls the library and formats.

The group and shared options live in :mod:`router.cli.base`; each module registers the
commands of one area of the work on import.
"""

from __future__ import annotations

import sys

import click

from . import auditing, learning, office, reading, reporting, reviewing, routing, storing, tracking, web  # noqa: F401  (registers commands)
from .base import cli

__all__ = ["cli", "main"]


def main():
    try:
        cli(prog_name="router")
    except KeyboardInterrupt:
        click.echo("Error: 已中断", err=True)
        sys.exit(130)
