"""Everything the web pages read from or write to the store, in one module.

The views never touch SQL or the review rules directly: they call these functions, which call
the same library functions the CLI uses (``Store.add_decision`` for every decision, the
assignment-table writer of ``router route``, the report of ``router report``). When the
review rules move into ``router.services.review``, this is the one module to switch.
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
from ..profile import Profile
from ..store import Store

__all__ = ["Item", "Entry", "Outcome", "STATUSES", "years", "queue", "order", "item", "decide", "confirm_unflagged", "progress",
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
    """What happened to a decision: saved, unchanged (it repeats the latest), or conflict."""

    kind: str
    latest: Decision | None = None


_ITEMS = """
    SELECT s.id, s.number, s.title, s.deputy, s.content_hash, r.topic, r.division, r.co_divisions,
           r.topic_confidence, r.division_confidence, r.detail,
           d.id, d.action, d.after, d.reviewer, d.created, d.comment {body}
    FROM suggestions s
    JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
    LEFT JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = s.id)
    WHERE {where}
    ORDER BY s.id
"""


def _decision(row) -> Decision | None:
    if row[0] is None:
        return None
    did, action, after, reviewer, created, comment = row
    return Decision(did, action, json.loads(after) if after else None, reviewer, created, comment or "")


def _item(row) -> Item:
    (sid, number, title, deputy, content_hash, topic, division, co, tc, dc, detail) = row[:11]
    return Item(sid, number or str(sid), title, deputy or "", content_hash, topic, division, json.loads(co or "[]"),
                tc or 0.0, dc or 0.0, json.loads(detail or "{}"), _decision(row[11:17]),
                body=row[17] if len(row) > 17 else "")


def years(store: Store) -> list[int]:
    """Years that have routed suggestions in the store, newest first."""
    rows = store.db.execute(
        "SELECT DISTINCT s.year FROM suggestions s JOIN routes r ON r.suggestion_id = s.id "
        "WHERE s.year IS NOT NULL ORDER BY s.year DESC").fetchall()
    return [row[0] for row in rows]


def queue(store: Store, year: int) -> list[Item]:
    """The year's routed suggestions, least confident first (unroutable ones at the very top)."""
    rows = store.db.execute(_ITEMS.format(body="", where="s.year = ?"), (year,)).fetchall()
    items = [_item(row) for row in rows]
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
    rows = store.db.execute(
        """
        SELECT s.id, r.topic, r.division, MIN(COALESCE(r.topic_confidence, 0), COALESCE(r.division_confidence, 0)),
               d.action, json_extract(d.after, '$.topic'), json_extract(d.after, '$.division')
        FROM suggestions s
        JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id)
        LEFT JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE suggestion_id = s.id)
        WHERE s.year = ?
        """, (year,)).fetchall()
    entries = [Entry(*row) for row in rows]
    return sorted(entries, key=lambda e: (e.topic is not None, e.confidence, e.sid))


def item(store: Store, sid: int) -> Item | None:
    row = store.db.execute(_ITEMS.format(body=", s.body", where="s.id = ?"), (sid,)).fetchone()
    if row is None:
        return None
    found = _item(row)
    found.history = [_decision(r) for r in store.db.execute(
        "SELECT id, action, after, reviewer, created, comment FROM decisions WHERE suggestion_id = ? ORDER BY id",
        (sid,)).fetchall()]
    return found


def check_route(profile: Profile, route: dict) -> dict:
    """A route from a form, checked against the profile; co-handlers never repeat the lead."""
    if profile.topic_key(route.get("topic") or "") is None:
        raise InputError("请从列表中选择主题")
    if profile.division_key(route.get("division") or "") is None:
        raise InputError("请从列表中选择主办处室")
    division = profile.division_key(route["division"])
    co = []
    for label in route.get("co_divisions") or []:
        key = profile.division_key(label)
        if key is None:
            raise InputError(f"会办处室“{label}”不在配置中")
        if key != division and key not in co:
            co.append(key)
    return {"topic": profile.topic_key(route["topic"]), "division": division, "co_divisions": co}


def _latest(db, sid: int) -> Decision | None:
    row = db.execute("SELECT id, action, after, reviewer, created, comment FROM decisions WHERE suggestion_id = ? "
                     "ORDER BY id DESC LIMIT 1", (sid,)).fetchone()
    return _decision(row) if row else None


def decide(store: Store, profile: Profile, found: Item, *, action: str, reviewer: str, route: dict | None = None,
           comment: str = "", seen: int = 0) -> Outcome:
    """Record one decision unless someone decided since the page was shown (``seen`` is the id
    of the latest decision the reviewer saw, 0 for none); then nothing is written and the
    other decision is returned, so the reviewer can choose."""
    comment = comment.strip()
    suggested = suggested_of(found) if found.topic else None
    if action == "同意":
        if suggested is None:
            raise InputError("这条建议没有建议路由，请用“修改”选择主题和处室")
        after = dict(suggested)
    elif action == "修改":
        after = check_route(profile, route or {})
        if after == suggested and not comment:
            action = "同意"
    elif action == "待定":
        if not comment:
            raise InputError("待定请写明原因")
        after = None
    else:
        raise InputError("未知的决定")
    with store.transaction() as db:
        latest = _latest(db, found.sid)
        if (latest.id if latest else 0) != seen:
            same = latest is not None and latest.action == action and latest.after == after \
                and latest.comment == comment
            return Outcome("unchanged" if same else "conflict", latest)
        recorded = store.add_decision(db, found.sid, action=action, reviewer=reviewer, after=after,
                                      before=suggested, comment=comment, origin="web")
    return Outcome("saved" if recorded else "unchanged", latest)


def confirm_unflagged(store: Store, year: int, reviewer: str) -> int:
    """同意 for every routed suggestion of the year that is not flagged for review and has no decision yet."""
    count = 0
    with store.transaction() as db:
        rows = db.execute(_ITEMS.format(body="", where="s.year = ?"), (year,)).fetchall()
        for found in map(_item, rows):
            if found.latest is not None or found.topic is None or found.needs_review:
                continue
            count += store.add_decision(db, found.sid, action="同意", reviewer=reviewer, after=suggested_of(found),
                                        before=suggested_of(found), origin="web:confirm-unflagged")
    return count


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
    rows = store.db.execute(
        "SELECT d.reviewer, d.action, COUNT(*) FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id "
        "WHERE s.year = ? GROUP BY d.reviewer, d.action", (year,)).fetchall()
    for reviewer, action, n in rows:
        by_reviewer[reviewer][action] += n
        by_reviewer[reviewer]["合计"] += n
    return by_division, dict(sorted(by_reviewer.items()))


def _routes_of_year(store: Store, profile: Profile, year: int):
    """The year's stored routes rebuilt as :class:`router.routing.Route`, in stored order, with the items."""
    from ..intake import Suggestion
    from ..routing import Route

    rows = store.db.execute(_ITEMS.format(body=", s.body", where="s.year = ?"), (year,)).fetchall()
    items = [_item(row) for row in rows]
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
        ))
    return items, routes


def assignment_table(store: Store, profile: Profile, year: int) -> bytes:
    """The XLSX `router route` writes, with each suggestion's latest decision in the review columns,
    so that `router accept` reads it back as the same decisions."""
    import openpyxl

    from ..table import safe_cell, write_routes

    items, routes = _routes_of_year(store, profile, year)
    with tempfile.TemporaryDirectory(prefix="router-web-") as folder:
        path = Path(folder) / "交办任务表.xlsx"
        write_routes(routes, profile, path, "xlsx", title=f"{year}年建议交办任务表")
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
            sheet.cell(row=row, column=col["确认会办处室"],
                       value="、".join(profile.division(k).name for k in d.after.get("co_divisions", [])))
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
