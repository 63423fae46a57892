"""`router store`: integrity check and backup of the history store."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, open_store, pass_state, store_option


@cli.group("store")
def store_group():
    """检查和备份历史存储。"""


@store_group.command("check")
@store_option
@pass_state
def store_check(state, store_path):
    """运行 SQLite 完整性检查，不写入存储。"""
    from ..store import check_store

    path = state.store_path(store_path, write=True, what="检查历史库")
    problems = check_store(path)
    if problems:
        raise click.ClickException(f"{path}：存储已损坏（{'; '.join(problems[:3])}）；"
                                   "请用 `router store backup` 做的备份恢复")
    click.echo(f"{path}：完好")


@store_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@store_option
@pass_state
def store_backup(state, target, store_path):
    """用 SQLite 在线备份复制存储（他人写入时也安全）。"""
    with open_store(state.store_path(store_path, write=True, what="备份历史库"), create=False) as store:
        store.backup(Path(target))
        counts = store.counts()
    click.echo(f"已备份到 {target}：建议 {counts['suggestions']} 条，决定 {counts['decisions']} 条")
