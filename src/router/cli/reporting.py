"""`router report`: counts, comparison with earlier years and the report sentence."""

from __future__ import annotations

from pathlib import Path

import click

from .base import _resolve_model, cli, from_store_option, models_option, open_store, pass_state, store_option


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="报告的年度（默认：输入中最近的年度）。")
@from_store_option
@store_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="为未标注的建议文件分办所用的模型（默认：当前模型）。")
@models_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports/report", show_default=True,
              help="report.md、report.xlsx 和 trend.png 的输出文件夹。")
@pass_state
def report(state, files, year, from_store, store_path, model_dir, models_root, out_dir):
    """一批建议或一个年度的报告：分类件数、与往年比较、报告用语。

    FILES 是往年带标注的工作簿和/或未标注的建议文件（用当前模型分办，存储中的人工决定优先）；--from-store 加入存储中已确认的决定。报告 --year 年度（默认：最近年度），更早的年度作为比较。"""
    from ..services.reporting import is_labelled, report_items, year_report

    if not files and not from_store:
        raise click.UsageError("请给出历史工作簿和/或建议文件，或者 --from-store")
    profile = state.profile
    store_file = state.store_path(store_path, write=from_store, what="从历史库出报告")
    with open_store(store_file, create=False, only_if_exists=not from_store) as store:
        items = report_items(profile, [Path(f) for f in files], store=store, from_store=from_store, year=year,
                             load_model=lambda: _resolve_model(state, model_dir, models_root))
        labelled_only = all(is_labelled(profile, Path(f)) for f in files)
        done = year_report(profile, items, Path(out_dir), year=year, store=store if from_store else None,
                           cache=state.cache, kind="year" if labelled_only else "intake")
    click.echo(done.sentence)
    for sentence in done.handling_sentences:
        click.echo(sentence)
    for kind, path in done.paths.items():
        click.echo(f"报告（{kind}）：{path}")
