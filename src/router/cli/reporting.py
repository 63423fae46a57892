"""`router report`: counts, comparison with earlier years and the report sentence."""

from __future__ import annotations

from pathlib import Path

import click

from .base import (_human_decisions, _resolve_model, cli, from_store_option,
                   models_option, pass_state, store_option)


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
    from ..history import read_history, year_of
    from ..intake import open_intake
    from ..report import ReportItem, build_report, write_report
    from ..routing import route_batch
    from ..store import Store
    from ..tokenizer import Tokenizer

    profile = state.profile
    if not files and not from_store:
        raise click.UsageError("give history workbooks and/or an intake file, or --from-store")
    items: list[ReportItem] = []
    if from_store:
        from ..services.tracking import assigned_years, handlings_of_year

        with Store.open(state.store_path(store_path, write=True, what="从历史库出报告"), create=False) as store:
            # Assigned suggestions count with their handling role, and with the assignment's route
            # when no reviewer confirmed one.
            assigned = {h.suggestion_id: h for y in assigned_years(store) for h in handlings_of_year(store, y)}
            for r in store.confirmed():
                h = assigned.pop(r["id"], None)
                items.append(ReportItem(r["year"], r["number"] or "", r["title"], f"{r['title']}\n{r['body']}",
                                        r["topic"], r["division"], h.role if h else ""))
            counted = {r["id"] for r in store.confirmed()} | set(assigned)
            for h in assigned.values():
                if h.topic and h.division:
                    items.append(ReportItem(h.year, h.number, h.title, f"{h.title}\n{h.body}", h.topic, h.division,
                                            h.role))
            if year:
                # Every suggestion of the year counts, reviewed or not: those without a confirmed
                # decision count with their latest route.
                for r in store.routed_of_year(year):
                    if r["id"] not in counted and r["topic"] and r["division"]:
                        items.append(ReportItem(year, r["number"], r["title"], f"{r['title']}\n{r['body']}",
                                                r["topic"], r["division"], r["role"]))
            roles = {}
            for y in {i.year for i in items if i.year == year}:
                roles.update({r["number"]: r["role"] for r in store.routed_of_year(y) if r["role"]})
            for i in items:
                if i.year == year and not i.role and roles.get(i.id):
                    i.role = roles[i.id]
    model = None
    for path in files:
        reader = open_intake(path, profile)  # the header tells a labelled year from an intake
        if "topic" in reader.mapping and "lead_division" in reader.mapping:
            for i in read_history(Path(path), profile):
                items.append(ReportItem(i.year, i.suggestion.id, i.suggestion.title, i.suggestion.text, i.topic,
                                        i.division, i.suggestion.role))
            continue
        file_year = year if len(files) == 1 and year else year_of(Path(path))
        if model is None:
            model = _resolve_model(state, model_dir, models_root)
            decisions = _human_decisions(state.store_path(store_path, write=False))
        for r in route_batch(model, profile, list(reader), decisions=decisions, year=file_year):
            if r.topic is None:
                continue
            items.append(ReportItem(file_year, r.suggestion.id, r.suggestion.title, r.suggestion.text, r.topic,
                                    r.division, r.suggestion.role, r.needs_review,
                                    min(r.topic_confidence, r.division_confidence)))
    years = sorted({i.year for i in items if i.year})
    if not years:
        raise click.UsageError("no suggestions with a year to report on")
    year = year or years[-1]
    if year not in years:
        raise click.UsageError(f"no suggestions of {year}; the inputs cover {', '.join(map(str, years))}")
    earlier = {y: [i for i in items if i.year == y] for y in years if y < year}
    labelled_only = all("topic" in open_intake(p, profile).mapping for p in files)
    result = build_report(year, [i for i in items if i.year == year], earlier, profile, Tokenizer(),
                          kind="year" if labelled_only else "intake")
    if from_store:
        from ..services.tracking import year_end

        with Store.open(state.store_path(store_path, write=True, what="从历史库出报告"), create=False) as store:
            figures = year_end(store, profile, year)
        if figures.received:
            result.handling = figures
    paths = write_report(result, profile, Path(out_dir))
    click.echo(result.sentence)
    for sentence in result.handling.sentences if result.handling else ():
        click.echo(sentence)
    for kind, path in paths.items():
        click.echo(f"报告（{kind}）：{path}")
