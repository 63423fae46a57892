"""`router decisions`: the audit trail of the store, as a table."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, pass_state, store_option


@cli.command("decisions")
@click.option("--year", type=click.IntRange(1949, 2200), default=None, help="只导出该年度建议的决定。")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
              help="输出格式（默认：按 -o 的扩展名，否则 xlsx）。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出文件（默认：当前文件夹的 复核决定[_年度].xlsx 或 .csv）。")
@store_option
@pass_state
def decisions(state, year, fmt, output, store_path):
    """导出审计记录：谁在何时作了什么决定，改前改后及意见。"""
    from ..audit import decision_log, write_decisions
    from ..store import Store

    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = suffix if suffix in ("xlsx", "csv") else "xlsx"
    output = Path(output) if output else Path(f"复核决定{'_' + str(year) if year else ''}.{fmt}")
    with Store.open(state.store_path(store_path, write=True, what="导出复核决定"), create=False) as store:
        log = decision_log(store, year=year)
    from ..audit import WITHDRAWN

    written = write_decisions(log, state.profile, output, fmt)
    withdrawn = [d for d in log if d["action"] == WITHDRAWN]
    people = len({d["reviewer"] for d in log if d["action"] != WITHDRAWN})
    click.echo(f"已导出复核决定 {written - len(withdrawn)} 条（{people} 人）"
               + (f"，撤回记录 {len(withdrawn)} 条" if withdrawn else "") + f"：{output}")
    for d in withdrawn:
        click.echo(f"撤回：{d['created'][:10]} {d['reviewer']} {d['title']}（{d['comment']}）")
