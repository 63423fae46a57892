"""The `router` command: a thin click layer that parses, calls the library and formats."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import RouterError

PROFILE_OPTION_HELP = "Office profile (TOML). Default: $ROUTER_PROFILE or the bundled seed office."


class RouterGroup(click.Group):
    """Turns library errors into one `Error: ...` line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RouterError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None
        except Exception as exc:
            if os.environ.get("ROUTER_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected failure ({type(exc).__name__}: {exc}); set ROUTER_DEBUG=1 for details and report it"
            ) from None


class State:
    """What the group passes down: the profile path, loaded on first use."""

    def __init__(self, profile_path):
        self.profile_path = profile_path
        self._profile = None

    @property
    def profile(self):
        if self._profile is None:
            from .profile import load_profile

            self._profile = load_profile(self.profile_path)
        return self._profile


pass_state = click.make_pass_decorator(State)


def progress_enabled() -> bool:
    return sys.stderr.isatty()


@click.group(cls=RouterGroup)
@click.version_option(__version__, prog_name="router")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), default=None, help=PROFILE_OPTION_HELP)
@click.pass_context
def cli(ctx, profile_path):
    """Route deputies' suggestions (代表建议) to topics and divisions.

    Train on past years, evaluate honestly, route a whole February intake into the
    assignment table (建议交办任务表), and learn from reviewers' decisions.
    """
    ctx.obj = State(profile_path)


@cli.group()
def profile():
    """Show the office profile: topics, divisions, rules, aliases."""


@profile.command("show")
@pass_state
def profile_show(state):
    """Print the profile in use (the bundled default unless --profile or $ROUTER_PROFILE)."""
    from .profile import profile_as_text

    click.echo(profile_as_text(state.profile))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first visible one).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: how the file was understood; jsonl: the normalized records.")
@pass_state
def read(state, file, sheet, fmt):
    """Read an intake file and say how it was understood."""
    from .intake import open_intake
    from .tokenizer import normalize

    reader = open_intake(file, state.profile, sheet=sheet)
    if fmt == "jsonl":
        for s in reader:
            record = {
                "row": s.row, "id": s.id, "title": s.title, "deputy": s.deputy, "body": s.body,
                "session": s.session, "role": s.role, "text": normalize(s.text), **s.labels,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        click.echo(reader.describe(), err=True)
    else:
        for _ in reader:
            pass
        click.echo(reader.describe())


def main():
    try:
        cli(prog_name="router")
    except KeyboardInterrupt:
        click.echo("Error: interrupted", err=True)
        sys.exit(130)
