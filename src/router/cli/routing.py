"""`router route`: an intake into the assignment table."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, models_option, open_store, pass_state, progress_enabled, store_option


def _counter(every: int = 1000):
    """A running count on stderr for streams of unknown length (terminal only)."""
    def show(n: int) -> None:
        if n % every == 0:
            click.echo(f"\r路由：{n} 条", nl=False, err=True)
    return show if progress_enabled() else None


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: INPUT's name with _交办任务表 and the format's extension).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model folder (default: the current model of the models folder).")
@models_option
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "jsonl"]), default=None,
              help="Output format (default: from -o's extension, else xlsx).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Review threshold from 0 to 1 (default: the profile's).")
@click.option("--sheet", default=None, help="Worksheet of an .xlsx input.")
@click.option("--date", "assignment_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Assignment date (交办日期) for the deadline; default today.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="Year of the intake, as recorded in the store (default: the assignment date's year).")
@store_option
@pass_state
def route(state, input_path, output, model_dir, models_root, fmt, threshold, sheet, assignment_date, jobs, year,
          store_path):
    """Route an intake into the assignment table (建议交办任务表)."""
    from ..registry import models_dir
    from ..services.routing import output_format, output_path, route_file

    fmt = output_format(Path(output) if output else None, fmt)
    output = output_path(Path(input_path), Path(output) if output else None, fmt)
    # The XLSX table is recorded in the store (created if need be); other formats only read its decisions.
    with open_store(store_path, only_if_exists=fmt != "xlsx") as store:
        done = route_file(state.profile, Path(input_path), output, fmt, model_dir=model_dir,
                          models_root=models_dir(models_root), cache=state.cache, store=store, threshold=threshold, sheet=sheet,
                          assignment_date=assignment_date.date() if assignment_date else None, jobs=jobs,
                          year=year, progress=_counter())
    if done.routed >= 1000 and progress_enabled():
        click.echo(f"\r路由：{done.routed} 条", err=True)
    click.echo(f"已写出交办任务表：{done.output}")
    click.echo(f"共 {done.routed} 条，需人工复核 {done.review} 条"
               + (f"，无法路由（空白）{done.empty} 条" if done.empty else "")
               + (f"，沿用人工确认 {done.human} 条" if done.human else "")
               + f"；模型：{done.model}")
