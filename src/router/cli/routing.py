"""`router route`: an intake into the assignment table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .base import _counting, _human_decisions, _resolve_model, cli, model_label, models_option, pass_state, progress_enabled, store_option


def _annotated(model, routes, chunk: int = 20000):
    """Similar past suggestions and duplicates for a stream, a chunk at a time (duplicates within a chunk)."""
    from ..similar import annotate

    batch = []
    for r in routes:
        batch.append(r)
        if len(batch) >= chunk:
            annotate(model, batch)
            yield from batch
            batch = []
    if batch:
        annotate(model, batch)
        yield from batch


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
@click.option("--force", is_flag=True, help="Overwrite a table that holds review entries not yet accepted.")
@store_option
@pass_state
def route(state, input_path, output, model_dir, models_root, fmt, threshold, sheet, assignment_date, jobs, year,
          force, store_path):
    """Route an intake into the assignment table (建议交办任务表)."""
    from ..errors import InputError
    from ..intake import open_intake
    from ..routing import route_stream
    from ..similar import annotate
    from ..store import Store
    from ..table import default_output_path, output_format, write_routes

    profile = state.profile
    fmt = output_format(Path(output) if output else None, fmt)
    output = Path(output) if output else default_output_path(Path(input_path), fmt)
    if output.resolve() == Path(input_path).resolve():
        raise click.UsageError("the output would overwrite the input; choose another -o")
    reader = open_intake(input_path, profile, sheet=sheet)
    model = _resolve_model(state, model_dir, models_root)
    day = assignment_date.date() if assignment_date else dt.date.today()
    store_file = state.store_path(store_path, write=False)
    decisions = _human_decisions(store_file)
    if fmt == "xlsx" and output.exists() and not force:
        from ..errors import OutputError
        from ..review import unrecorded_review_rows

        pending = unrecorded_review_rows(output, profile, decisions)
        if pending:
            shown = "、".join(map(str, pending[:10])) + ("等" if len(pending) > 10 else "")
            raise OutputError(
                f"{output}：表中第 {shown} 行（共 {len(pending)} 行）有复核记录尚未记入历史库，重新路由会覆盖它们；"
                f"先运行 router accept {output} 记录，或换一个输出文件（-o {output.with_name(output.stem + '_新' + output.suffix)}），"
                "或加 --force 覆盖")
    counts = {"routed": 0, "review": 0, "empty": 0, "human": 0}

    def routes():
        stream = route_stream(model, profile, reader, threshold=threshold, assignment_date=day, jobs=jobs,
                              decisions=decisions, year=year or day.year)
        if progress_enabled():
            stream = _counting(stream, "路由")
        for r in stream:
            counts["routed"] += 1
            counts["review"] += r.needs_review
            counts["empty"] += r.source == "empty"
            counts["human"] += r.source == "human"
            yield r
        if counts["routed"] == counts["empty"]:
            raise InputError(f"{input_path}: no suggestion has a title or body; nothing to route")

    if fmt == "xlsx":
        # The review surface: kept whole, enriched with similar past suggestions, and recorded
        # in the store so that `router accept` can match the reviewed rows.
        routed = list(routes())
        annotate(model, routed)

        meta = {}
        if store_file is not None:
            last = 0
            if store_file.exists():
                with Store.open(store_file) as store:
                    last = store.last_decision_id()
            meta = {"历史库": str(store_file.resolve()), "决定序号": last}
        meta.update({"年度": year or day.year, "交办日期": day.isoformat(), "来文": Path(input_path).name,
                     "模型": model.folder.name, "路由时间": dt.datetime.now().isoformat(timespec="seconds")})

        def record():  # before the new table replaces the old: a table is never left unrecorded
            if store_file is None:
                return
            with Store.open(store_file) as store:
                store.record_routes(routed, year=year or day.year, source=Path(input_path).name,
                                    model=str(model.folder))

        write_routes(routed, profile, output, fmt, before_replace=record, assigned=day, meta=meta)
    else:
        write_routes(_annotated(model, routes()), profile, output, fmt)
    click.echo(f"已写出交办任务表：{output}")
    click.echo(f"共 {counts['routed']} 条，需人工复核 {counts['review']} 条"
               + (f"，无法路由（空白）{counts['empty']} 条" if counts["empty"] else "")
               + (f"，沿用人工确认 {counts['human']} 条" if counts["human"] else "")
               + f"；模型：{model_label(model)}")
    if store_file is None and fmt == "xlsx":
        click.echo("未找到办公室文件夹，路由结果未记入历史库；要复核并用 router accept 记录决定，"
                   "先运行 router init 建立办公室文件夹，在其中重新路由")
