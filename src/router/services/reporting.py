"""The year's report: items gathered from the store, labelled history workbooks and routed intakes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..errors import RequestError
from ..profile import Profile
from ..report import Report, ReportItem

__all__ = ["YearReport", "is_labelled", "report_items", "year_report"]


@dataclass
class YearReport:
    report: Report
    paths: dict[str, Path]

    @property
    def sentence(self) -> str:
        return self.report.sentence

    @property
    def handling_sentences(self) -> list[str]:
        return list(self.report.handling.sentences) if getattr(self.report, "handling", None) else []


def _store_items(store, year: int | None = None) -> list[ReportItem]:
    """Confirmed suggestions; assigned ones count with their handling role, and with the assignment's
    route when no reviewer confirmed one. With ``year``, every suggestion of that year counts,
    reviewed or not: those without a confirmed decision with their latest route."""
    from .tracking import assigned_years, handlings_of_year

    assigned = {h.suggestion_id: h for y in assigned_years(store) for h in handlings_of_year(store, y)}
    items = []
    for r in store.confirmed():
        h = assigned.pop(r["id"], None)
        items.append(ReportItem(r["year"], r["number"] or "", r["title"], f"{r['title']}\n{r['body']}", r["topic"],
                                r["division"], h.role if h else ""))
    counted = {r["id"] for r in store.confirmed()} | set(assigned)
    for h in assigned.values():
        if h.topic and h.division:
            items.append(ReportItem(h.year, h.number, h.title, f"{h.title}\n{h.body}", h.topic, h.division, h.role))
    if year:
        routed = store.routed_of_year(year)
        for r in routed:
            if r["id"] not in counted and r["topic"] and r["division"]:
                items.append(ReportItem(year, r["number"], r["title"], f"{r['title']}\n{r['body']}", r["topic"],
                                        r["division"], r["role"]))
    # 主办/会办 come from the intake's 办理类型, which each route recorded: a confirmed decision
    # keeps the role of the suggestion it decided (else the report says 未注明 for every one).
    for y in sorted({i.year for i in items if i.year and not i.role}):
        roles = {r["number"]: r["role"] for r in store.routed_of_year(y) if r["role"]}
        for i in items:
            if i.year == y and not i.role and roles.get(i.id):
                i.role = roles[i.id]
    return items


def is_labelled(profile: Profile, path: Path) -> bool:
    """A labelled year (topic and lead division columns) rather than an intake to route."""
    from ..intake import open_intake

    mapping = open_intake(path, profile).mapping
    return "topic" in mapping and "lead_division" in mapping


def report_items(profile: Profile, files: Iterable[Path] = (), *, store=None, from_store: bool = False,
                 year: int | None = None, load_model: Callable[[], object] | None = None) -> list[ReportItem]:
    """Report items from the store's confirmed decisions (``from_store``) and from each file.

    The header tells a labelled year from an intake; an intake is routed with the model that
    ``load_model`` returns (called once, only when needed), with the store's decisions winning.
    It belongs to ``year`` when it is the only file, else to the year in its name.
    """
    from ..history import read_history, year_of
    from ..intake import open_intake
    from ..review import human_decisions
    from ..routing import route_batch

    files = [Path(f) for f in files]
    if not files and not from_store:
        raise RequestError("请给出历史工作簿和/或建议文件，或者 --from-store")
    items: list[ReportItem] = _store_items(store, year) if from_store else []
    stored = {(i.year, i.id) for i in items}  # a file's suggestion the store holds already counts once
    model = decisions = None
    for path in files:
        reader = open_intake(path, profile)
        if "topic" in reader.mapping and "lead_division" in reader.mapping:
            items.extend(ReportItem(i.year, i.suggestion.id, i.suggestion.title, i.suggestion.text, i.topic,
                                    i.division, i.suggestion.role)
                         for i in read_history(path, profile) if (i.year, i.suggestion.id) not in stored)
            continue
        file_year = year if len(files) == 1 and year else year_of(path)
        if model is None:
            model = load_model()
            decisions = human_decisions(store) if store is not None else {}
        for r in route_batch(model, profile, list(reader), decisions=decisions, year=file_year):
            if r.topic is None or (file_year, r.suggestion.id) in stored:
                continue
            items.append(ReportItem(file_year, r.suggestion.id, r.suggestion.title, r.suggestion.text, r.topic,
                                    r.division, r.suggestion.role, r.needs_review,
                                    min(r.topic_confidence, r.division_confidence)))
    return items


def year_report(profile: Profile, items: list[ReportItem], out_dir: Path, *, year: int | None = None,
                store=None, cache: Path | None = None, kind: str = "year") -> YearReport:
    """Report on ``year`` (default: the latest among the items), earlier years as the comparison.

    With ``store``, the year's handling figures (replies, grades, follow-up) join the report.
    ``kind`` is "year" (the year-end report: no review queue) or "intake" (a routed intake).
    """
    from ..report import build_report, write_report
    from ..tokenizer import Tokenizer

    years = sorted({i.year for i in items if i.year})
    if not years:
        raise RequestError("没有带年度的建议可供报告")
    year = year or years[-1]
    if year not in years:
        raise RequestError(f"没有 {year} 年的建议；输入涵盖的年度为 {'、'.join(map(str, years))}")
    earlier = {y: [i for i in items if i.year == y] for y in years if y < year}
    report = build_report(year, [i for i in items if i.year == year], earlier, profile, Tokenizer(cache=cache),
                          kind=kind)
    if store is not None:
        from .tracking import year_end

        figures = year_end(store, profile, year)
        if figures.received:
            report.handling = figures
    return YearReport(report, write_report(report, profile, Path(out_dir)))
