"""`router store`: integrity check and backup of the history store."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, pass_state, store_option


@cli.group("store")
def store_group():
    """Check and back up the history store."""


@store_group.command("check")
@store_option
@pass_state
def store_check(state, store_path):
    """Run SQLite's integrity check without writing to the store."""
    from ..store import check_store

    path = state.store_path(store_path, write=True, what="检查历史库")
    problems = check_store(path)
    if problems:
        raise click.ClickException(f"{path}: the store is damaged ({'; '.join(problems[:3])}); "
                                   "restore it from a backup made with `router store backup`")
    click.echo(f"{path}：完好")


@store_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@store_option
@pass_state
def store_backup(state, target, store_path):
    """Copy the store with SQLite's online backup (safe while others write)."""
    from ..store import Store

    with Store.open(state.store_path(store_path, write=True, what="备份历史库"), create=False) as store:
        store.backup(Path(target))
        counts = store.counts()
    click.echo(f"已备份到 {target}：建议 {counts['suggestions']} 条，决定 {counts['decisions']} 条")
