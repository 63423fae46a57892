"""`router store`: integrity check and backup of the history store."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, open_store, pass_state, store_option


@cli.group("store")
def store_group():
    """检查、备份历史存储，撤回错误的分办或导入。"""


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


@store_group.command("withdraw")
@click.option("--year", type=click.IntRange(1949, 2200), default=None, help="撤回该年度的建议（例如误记的年度）。")
@click.option("--file", "source", default=None, help="只撤回由该来文或往年文件（按文件名）记入的建议。")
@click.option("--reason", default="", help="撤回原因（必填，记入审计记录）。")
@click.option("--who", default=None, help="撤回人姓名（默认：$USER）。")
@store_option
@pass_state
def store_withdraw(state, year, source, reason, who, store_path):
    """撤回一次错误的分办或导入（只追加记录，不删除）。

    被撤回的建议从此不出现在复核队列、报告、训练、办理跟踪和审计记录中；撤回本身列在 router decisions 里。"""
    from ..services.review import withdraw
    from .base import _reviewer

    with open_store(state.store_path(store_path, write=True, what="撤回"), create=False) as store:
        n = withdraw(store, year=year, source=source or "", reason=reason, who=_reviewer(who))
    what = "、".join(x for x in (f"{year}年" if year else "", f"来文 {source}" if source else "") if x)
    click.echo(f"已撤回{what}的建议 {n} 件（存储：{store.path}）；撤回记录列在 router decisions 中")
