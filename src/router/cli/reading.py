"""`router profile` and `router read`: what the office is set up as, and how a file is understood."""

from __future__ import annotations

import json

import click

from .base import cli, pass_state


@cli.group()
def profile():
    """Show the office profile: topics, divisions, rules, aliases."""


@profile.command("show")
@pass_state
def profile_show(state):
    """Print the profile in use (the bundled default unless --profile or $ROUTER_PROFILE)."""
    from ..profile import profile_as_text

    click.echo(profile_as_text(state.profile))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first visible one).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: how the file was understood; jsonl: the normalized records.")
@pass_state
def read(state, file, sheet, fmt):
    """Read an intake file and say how it was understood."""
    from ..intake import open_intake
    from ..tokenizer import normalize

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
