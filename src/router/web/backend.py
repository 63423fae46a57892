"""Everything the web pages read from or write to the store, in one module.

The views never touch SQL or the review rules directly: they call these functions, which call
what the CLI calls: the store's methods (no SQL here), the decision rules of
:mod:`router.services.review` (:func:`~router.services.review.decide_stored` for every
decision), the assignment-table writer of ``router route`` with the same identity and hidden
路由信息 sheet, and the report of ``router report``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..intake import Identity
from ..profile import Profile
from ..store import Store

__all__ = ["Item", "Entry", "Outcome", "STATUSES", "years", "queue", "order", "item", "decide", "progress",
           "assignment_table", "intake_report", "suggested_of"]

STATUSES = ("未复核", "待定", "已确认")


@dataclass
class Decision:
    id: int
    action: str
    after: dict | None
    reviewer: str
    created: str
    comment: str

    @property
    def when(self) -> str:
        """Local time to the minute, as people read it."""
        try:
            return dt.datetime.fromisoformat(self.created).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return self.created


@dataclass
class Item:
    """One suggestion of the year with its latest route and latest decision."""

    sid: int
    number: str
    title: str
    deputy: str
    content_hash: str
    topic: str | None
    division: str | None
    co_divisions: list[str]
    topic_confidence: float
    division_confidence: float
    detail: dict
    latest: Decision | None
    body: str = ""
    history: list[Decision] = field(default_factory=list)
    office: str = ""
    year: int | None = None
    occurrence: int = 1
    key: str = ""  # the suggestion's identity as the table's hidden 建议标识 holds it

    @property
    def confidence(self) -> float:
        return min(self.topic_confidence, self.division_confidence)

    @property
    def needs_review(self) -> bool:
        return bool(self.detail.get("needs_review", True))

    @property
    def status(self) -> str:
        if self.latest is None:
            return "未复核"
        return "待定" if self.latest.action == "待定" else "已确认"

    @property
    def suggested(self) -> dict:
        return suggested_of(self)

    @property
    def current(self) -> dict | None:
        """The route that holds now: the latest confirmed decision's, else the suggested one."""
        if self.latest is not None and self.latest.after:
            return self.latest.after
        return self.suggested if self.topic else None


def suggested_of(item: Item) -> dict:
    return {"topic": item.topic, "division": item.division, "co_divisions": list(item.co_divisions)}


@dataclass
class Outcome:
    """What happened to a decision: saved, unchanged (it repeats the latest), conflict, or forbidden
    (the suggestion's current division is not the reviewer's: :func:`router.services.review.may_decide`)."""

    kind: str
    latest: Decision | None = None


def _decision(row) -> Decision | None:
    if row[0] is None:
        return None
    did, action, after, reviewer, created, comment = row
    return Decision(did, action, json.loads(after) if after else None, reviewer, created, comment or "")


def _item(row) -> Item:
    """An :class:`Item` from a row of :meth:`router.store.Store.review_rows`."""
    (sid, number, title, deputy, content_hash, topic, division, co, tc, dc, detail) = row[:11]
    rest = row[17:]
    office, year, occurrence = rest[-3:]
    key = Identity(office or "", year, number or "", occurrence or 1).as_text()
    return Item(sid, number or str(sid), title, deputy or "", content_hash, topic, division, json.loads(co or "[]"),
                tc or 0.0, dc or 0.0, json.loads(detail or "{}"), _decision(row[11:17]),
                body=rest[0] if len(rest) > 3 else "", office=office or "", year=year, occurrence=occurrence or 1,
                key=key)


def years(store: Store) -> list[int]:
    """Years that have routed suggestions in the store (not withdrawn), newest first."""
    return store.routed_years()


def queue(store: Store, year: int) -> list[Item]:
    """The year's routed suggestions, least confident first (unroutable ones at the very top)."""
    items = [_item(row) for row in store.review_rows(year=year)]
    return sorted(items, key=lambda i: (i.topic is not None, i.confidence, i.sid))


@dataclass
class Entry:
    """A light row of the queue's order, for moving between suggestions (no text, no route detail)."""

    sid: int
    topic: str | None
    division: str | None
    confidence: float
    action: str | None
    after_topic: str | None
    after_division: str | None

    @property
    def status(self) -> str:
        return "未复核" if self.action is None else ("待定" if self.action == "待定" else "已确认")

    @property
    def current(self) -> dict | None:
        if self.after_topic:
            return {"topic": self.after_topic, "division": self.after_division}
        return {"topic": self.topic, "division": self.division} if self.topic else None


def order(store: Store, year: int) -> list[Entry]:
    """The queue's order (as :func:`queue`) in one light query."""
    entries = [Entry(*row) for row in store.queue_entries(year)]
    return sorted(entries, key=lambda e: (e.topic is not None, e.confidence, e.sid))


def item(store: Store, sid: int) -> Item | None:
    rows = store.review_rows(suggestion_id=sid, body=True)
    if not rows:
        return None
    found = _item(rows[0])
    found.history = [_decision(r) for r in store.decision_rows(sid)]
    return found


def check_route(profile: Profile, route: dict) -> dict:
    """A route from a form (names or keys), checked against the profile; co-handlers never repeat the lead."""
    from ..services.review import checked_route

    return checked_route(profile, topic=route.get("topic") or "", division=route.get("division") or "",
                         co_divisions=list(route.get("co_divisions") or ()))


def decide(store: Store, profile: Profile, found: Item, *, action: str, reviewer: str, route: dict | None = None,
           comment: str = "", seen: int = 0, divisions=None, then=None) -> Outcome:
    """Record one decision by the office's rules (:func:`router.services.review.settle`: 同意 agrees
    with the current decision, an unchanged 修改 is 同意, 待定 needs a reason) unless someone
    decided since the page was shown (``seen`` is the id of the latest decision the reviewer saw,
    0 for none); then nothing is written and the other decision is returned, so the reviewer can
    choose. With ``divisions`` (a limited reviewer's), a suggestion whose current division is not
    among them is "forbidden" and nothing is written. ``then(db, decision id)`` runs in the decision's
    transaction once it is saved (see :func:`router.services.review.decide_stored`)."""
    from ..services.review import decide_stored

    checked = check_route(profile, route or {}) if action == "修改" else None
    if action not in ("同意", "修改", "待定"):
        raise InputError("未知的决定")
    kind, _, latest = decide_stored(store, found.sid, action, reviewer=reviewer, origin="web", route=checked,
                                    comment=comment, seen=seen, divisions=divisions or (), then=then)
    if kind in ("conflict", "unchanged") and latest is not None:
        rows = store.decision_rows(found.sid, latest=True)
        return Outcome(kind, _decision(rows[0]) if rows else None)
    return Outcome(kind, None)


def division_counts(items: list[Item]) -> dict[str | None, Counter]:
    counts: dict[str | None, Counter] = defaultdict(Counter)
    for i in items:
        counts[i.division][i.status] += 1
        counts[i.division]["合计"] += 1
    return counts


def progress(store: Store, year: int) -> tuple[dict[str | None, Counter], dict[str, Counter]]:
    """Counts by suggested division and status, and decisions of the year by reviewer and action."""
    by_division = division_counts(queue(store, year))
    by_reviewer: dict[str, Counter] = defaultdict(Counter)
    for reviewer, action, n in store.decision_counts(year):
        by_reviewer[reviewer][action] += n
        by_reviewer[reviewer]["合计"] += n
    return by_division, dict(sorted(by_reviewer.items()))


def _routes_of_year(store: Store, profile: Profile, year: int):
    """The year's stored routes rebuilt as :class:`router.routing.Route`, in stored order, with the items."""
    from ..intake import Suggestion
    from ..routing import Route

    items = [_item(row) for row in store.review_rows(year=year, body=True)]
    routes = []
    for seq, i in enumerate(items, start=1):
        d = i.detail
        division = i.division
        routes.append(Route(
            seq=seq, suggestion=Suggestion(row=seq, id=i.number, title=i.title, body=i.body, deputy=i.deputy),
            topic=i.topic, topic_confidence=i.topic_confidence, topics=[tuple(t) for t in d.get("topics", [])],
            division=division, division_confidence=i.division_confidence,
            divisions=[tuple(t) for t in d.get("divisions", [])], co_divisions=list(i.co_divisions),
            needs_review=i.needs_review, reasons=list(d.get("reasons", [])), source=d.get("source", "model"),
            leader=d.get("leader") or (profile.division(division).leader if division else ""),
            deadline=d.get("deadline", ""), similar=list(d.get("similar", [])), duplicate_of=d.get("duplicate_of", ""),
            identity=Identity.from_text(i.key),
        ))
    return items, routes


def assignment_table(store: Store, profile: Profile, year: int) -> bytes:
    """The XLSX `router route` writes, with each suggestion's latest decision in the review columns,
    so that `router accept` reads it back as the same decisions.

    It carries what `router route`'s table carries: each suggestion's identity in 建议标识, and the
    hidden 路由信息 sheet naming this store (存储标识) and its latest decision (决定序号), so that
    accepting an older download lists the rows decided since as conflicts.
    """
    import openpyxl

    from ..table import META_DECISION, META_STORE, META_STORE_ID, safe_cell, write_routes

    meta = {META_STORE: str(Path(store.path).resolve()), META_DECISION: store.last_decision_id(),
            META_STORE_ID: store.store_id, "年度": year, "来文": f"网页下载（{year}年）",
            "路由时间": dt.datetime.now().isoformat(timespec="seconds")}
    items, routes = _routes_of_year(store, profile, year)
    with tempfile.TemporaryDirectory(prefix="router-web-") as folder:
        path = Path(folder) / "交办任务表.xlsx"
        write_routes(routes, profile, path, "xlsx", title=f"{year}年建议交办任务表", meta=meta)
        book = openpyxl.load_workbook(path)
    sheet = book["交办任务表"]
    from ..tablespec import canonical_header_row

    header = canonical_header_row(c.value for c in sheet[1])  # the headers use the office's unit word
    col = {name: header.index(name) + 1 for name in ("复核", "确认主题", "确认主办处室", "确认会办处室", "复核意见", "复核人")}
    for row, i in enumerate(items, start=2):
        d = i.latest
        if d is None:
            continue
        sheet.cell(row=row, column=col["复核"], value=d.action)
        if d.after:
            sheet.cell(row=row, column=col["确认主题"], value=profile.topic(d.after["topic"]).name)
            sheet.cell(row=row, column=col["确认主办处室"], value=profile.division(d.after["division"]).name)
            # "无", not an empty cell: an empty 确认会办处室 reads back as the suggested co-divisions.
            sheet.cell(row=row, column=col["确认会办处室"],
                       value="、".join(profile.division(k).name for k in d.after.get("co_divisions", [])) or "无")
        sheet.cell(row=row, column=col["复核意见"], value=safe_cell(d.comment))
        sheet.cell(row=row, column=col["复核人"], value=safe_cell(d.reviewer))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def intake_report(store: Store, profile: Profile, year: int) -> bytes:
    """report.xlsx of `router report` for the year: decisions where made, the suggested route elsewhere;
    earlier years from the store's confirmed decisions."""
    from ..report import ReportItem, build_report, write_report
    from ..tokenizer import Tokenizer

    items, _ = _routes_of_year(store, profile, year)
    current = []
    for i in items:
        route = i.current
        if route is None:
            continue
        confirmed = i.status == "已确认"
        current.append(ReportItem(year, i.number, i.title, f"{i.title}\n{i.body}", route["topic"], route["division"],
                                  needs_review=not confirmed and (i.needs_review or i.status == "待定"),
                                  confidence=1.0 if confirmed else i.confidence))
    earlier: dict[int, list] = defaultdict(list)
    for r in store.confirmed():
        if r["year"] and r["year"] < year:
            earlier[r["year"]].append(ReportItem(r["year"], r["number"] or "", r["title"],
                                                 f"{r['title']}\n{r['body']}", r["topic"], r["division"]))
    result = build_report(year, current, dict(earlier), profile, Tokenizer())
    with tempfile.TemporaryDirectory(prefix="router-web-") as folder:
        paths = write_report(result, profile, Path(folder))
        return paths["xlsx"].read_bytes()
