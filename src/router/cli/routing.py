"""`router route`: an intake into the assignment table."""

from __future__ import annotations

from pathlib import Path

import click

from .base import DateParam, _resolve_model, cli, model_advice, model_label, models_option, open_store, pass_state, progress_enabled, store_option


def _counter(every: int = 1000):
    """A running count on stderr for streams of unknown length (terminal only)."""
    def show(n: int) -> None:
        if n % every == 0:
            click.echo(f"\r路由：{n} 条", nl=False, err=True)
    return show if progress_enabled() else None


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出文件（默认：INPUT 的文件名加 _交办任务表 和格式的扩展名）。")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="模型文件夹（默认：模型文件夹中的当前模型）。")
@models_option
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "jsonl"]), default=None,
              help="输出格式（默认：按 -o 的扩展名，否则 xlsx）。")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="需人工复核的置信度阈值，0 到 1（默认：配置文件中的值）。")
@click.option("--sheet", default=None, help=".xlsx 输入文件的工作表。")
@click.option("--date", "assignment_date", type=DateParam(), default=None,
              help="交办日期，用于计算答复时限；默认今天。")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="并行进程数。")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="建议所属年度，记入存储（默认：交办日期的年份）。")
@click.option("--force", is_flag=True, help="覆盖含有尚未记录的复核内容的交办任务表。")
@click.option("--year-ok", is_flag=True,
              help="确认年度无误：所给年度与来文（文件名、标题行、届次列）不符、在未来或早于历史库最早年度一年以上时，仍按此记录。")
@store_option
@pass_state
def route(state, input_path, output, model_dir, models_root, fmt, threshold, sheet, assignment_date, jobs, year,
          force, year_ok, store_path):
    """把一批建议分办，写成建议交办任务表。"""
    from ..services.routing import output_format, output_path, route_file

    fmt = output_format(Path(output) if output else None, fmt)
    output = output_path(Path(input_path), Path(output) if output else None, fmt)
    store_file = state.store_path(store_path, write=False)
    # Decisions come from the store when there is one; an XLSX table's routes are recorded in it.
    with open_store(store_file, only_if_exists=True) as store:
        done = route_file(state.profile, Path(input_path), output, fmt,
                          load_model=lambda: _resolve_model(state, model_dir, models_root), store=store,
                          store_file=store_file, threshold=threshold, sheet=sheet,
                          assignment_date=assignment_date.date() if assignment_date else None, jobs=jobs,
                          year=year, force=force, progress=_counter(), year_ok=year_ok)
    if done.routed >= 1000 and progress_enabled():
        click.echo(f"\r路由：{done.routed} 条", err=True)
    click.echo(f"已写出交办任务表：{done.output}")
    click.echo(f"共 {done.routed} 条，需人工复核 {done.review} 条"
               + (f"，无法路由（空白）{done.empty} 条" if done.empty else "")
               + (f"，沿用人工确认 {done.human} 条" if done.human else "")
               + f"；模型：{model_label(done.model)}")
    advice = model_advice(done.model)
    if advice:
        click.echo(f"提示：{advice}")
    if fmt == "xlsx" and not done.recorded:
        click.echo("未找到办公室文件夹，路由结果未记入历史库；要复核并用 router accept 记录决定，"
                   "先运行 router init 建立办公室文件夹，在其中重新路由")
