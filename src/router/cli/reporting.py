"""`router report`: counts, comparison with earlier years and the report sentence."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, from_store_option, models_option, open_store, pass_state, store_option


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="The year to report on (default: the latest year among the inputs).")
@from_store_option
@store_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model for routing an unlabelled intake (default: the current model).")
@models_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports/report", show_default=True,
              help="Folder for report.md, report.xlsx and trend.png.")
@pass_state
def report(state, files, year, from_store, store_path, model_dir, models_root, out_dir):
    """Report on an intake or a year: counts, comparison with earlier years, the report sentence.

    FILES are labelled workbooks of past years and/or an unlabelled intake (routed with the
    current model, with decisions in the store winning); --from-store adds the store's
    confirmed decisions. The report covers --year (default: the latest); earlier years are
    the comparison.
    """
    from ..registry import models_dir
    from ..services.reporting import report_items, year_report
    from ..services.routing import load_route_model

    if not files and not from_store:
        raise click.UsageError("give history workbooks and/or an intake file, or --from-store")
    profile = state.profile
    with open_store(store_path, create=False, only_if_exists=not from_store) as store:
        items = report_items(profile, [Path(f) for f in files], store=store, from_store=from_store, year=year,
                             load_model=lambda: load_route_model(profile, model_dir=model_dir,
                                                                 models_root=models_dir(models_root),
                                                                 cache=state.cache))
    done = year_report(profile, items, Path(out_dir), year=year, cache=state.cache)
    click.echo(done.sentence)
    for kind, path in done.paths.items():
        click.echo(f"报告（{kind}）：{path}")
