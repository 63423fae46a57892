"""People's decisions: reviewing routes one by one, accepting a reviewed table, importing past years.

The rules here are the application's, shared by the terminal review and the web page: which
alternatives a reviewer is offered, how an answer becomes a decision, how it is recorded, and
which suggestions still wait for a person.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, RequestError
from ..profile import Profile
from ..review import human_decisions
from ..routing import Route

__all__ = [
    "ReviewDecision",
    "ReviewSession",
    "Accepted",
    "Imported",
    "alternatives",
    "agree",
    "pick_alternative",
    "edit",
    "record_decision",
    "review_suggestions",
    "start_review",
    "accept_table",
    "import_history_file",
    "human_decisions",
]


@dataclass
class ReviewDecision:
    """What a reviewer decided about one route: the action, the route after and before, a comment."""

    action: str
    after: dict
    before: dict
    comment: str = ""


@dataclass
class ReviewSession:
    """An intake routed for review: every route, and those still waiting for a person, least sure first."""

    routes: list[Route]
    pending: list[Route]
    year: int
    source: str

    @property
    def already_decided(self) -> int:
        return len(self.routes) - len(self.pending)


@dataclass
class Accepted:
    """What accepting a table did: rows seen by action, untouched rows, what was recorded, and why not."""

    seen: dict[str, int]
    untouched: int
    recorded: Counter = field(default_factory=Counter)
    inferred: list = field(default_factory=list)  # rows whose 确认 columns were filled with 复核 empty
    conflicts: list = field(default_factory=list)  # router.review.Conflict: a newer decision differs
    forced: bool = False

    @property
    def new(self) -> int:
        return sum(self.recorded.values())

    @property
    def conflicts_skipped(self) -> bool:
        return bool(self.conflicts) and not self.forced


@dataclass
class Imported:
    items: int
    added: int
    decided: int


def _suggested(route: Route) -> dict:
    return {"topic": route.topic, "division": route.division, "co_divisions": list(route.co_divisions)}


def alternatives(profile: Profile, route: Route) -> list[tuple[str, str]]:
    """[1] the same topic with the runner-up division; [2] the runner-up topic with its usual lead."""
    out = []
    if len(route.divisions) > 1:
        out.append((route.topic, route.divisions[1][0]))
    if len(route.topics) > 1:
        topic = route.topics[1][0]
        out.append((topic, (profile.rules.get(topic) or (route.division,))[0]))
    return out


def agree(route: Route) -> ReviewDecision:
    suggested = _suggested(route)
    return ReviewDecision("同意", dict(suggested), suggested)


def pick_alternative(profile: Profile, route: Route, number: int) -> ReviewDecision:
    """Alternative ``number`` (from 1) of :func:`alternatives`, as a 修改."""
    options = alternatives(profile, route)
    if not 1 <= number <= len(options):
        raise InputError(f"没有第 {number} 个备选；请在 1 到 {len(options)} 之间选择")
    topic, division = options[number - 1]
    after = {"topic": topic, "division": division, "co_divisions": [k for k in route.co_divisions if k != division]}
    return ReviewDecision("修改", after, _suggested(route))


def edit(profile: Profile, route: Route, *, topic: str, division: str, co_divisions: str = "",
         comment: str = "") -> ReviewDecision:
    """A reviewer's own route, given by names or keys; co-divisions as one text split at 、，, and spaces.

    A route that equals the suggestion and carries no comment is recorded as 同意.
    """
    from ..history import split_divisions

    topic_key, division_key = profile.topic_key(topic), profile.division_key(division)
    if topic_key is None:
        raise InputError(f"主题“{topic}”不在配置文件中；请用以下之一：{'、'.join(t.name for t in profile.topics)}")
    if division_key is None:
        raise InputError(f"单位“{division}”不在配置文件中；请用以下之一：{'、'.join(d.name for d in profile.divisions)}")
    co_keys = [profile.division_key(n) for n in split_divisions(co_divisions)]
    if None in co_keys:
        raise InputError(f"会办单位“{co_divisions}”中有不在配置文件中的名称；请用以下名称："
                         f"{'、'.join(d.name for d in profile.divisions)}")
    suggested = _suggested(route)
    after = {"topic": topic_key, "division": division_key, "co_divisions": [k for k in co_keys if k != division_key]}
    action = "同意" if after == suggested and not comment else "修改"
    return ReviewDecision(action, after, suggested, comment)


@dataclass
class Recorded:
    """What one recorded decision replaced, so that the reviewer can undo it."""

    suggestion_id: int
    previous: object  # the StoredDecision before, or None
    new: bool


def record_decision(store, route: Route, decision: ReviewDecision, *, reviewer: str, year: int,
                    source: str, origin: str = "review") -> Recorded:
    """Append the decision at once, in its own transaction."""
    with store.transaction() as db:
        sid = store.upsert_suggestion(db, route.suggestion, year=year, source=source, identity=route.identity)
        previous = store.latest_decision(db, sid)
        new = store.add_decision(db, sid, action=decision.action, reviewer=reviewer, after=decision.after,
                                 before=decision.before, comment=decision.comment, origin=origin)
    return Recorded(sid, previous, new)


def undo_decision(store, recorded: Recorded, *, reviewer: str) -> None:
    """Undo a decision: decisions are append-only, so record again the one before it (or 待定)."""
    previous = recorded.previous
    with store.transaction() as db:
        if previous is None:
            store.add_decision(db, recorded.suggestion_id, action="待定", reviewer=reviewer, after=None,
                               comment="撤销上一条决定", origin="review")
        else:
            store.add_decision(db, recorded.suggestion_id, action=previous.action, reviewer=reviewer,
                               after=previous.after, comment=previous.comment or "撤销上一条决定", origin="review")


def review_suggestions(profile: Profile, *, input_path: Path | None = None, sheet: str | None = None,
                       year: int | None = None, store=None) -> tuple[list, str]:
    """The suggestions to review and the source name: an intake file, or a year already in the store."""
    from ..intake import read_intake

    if input_path:
        _, suggestions = read_intake(input_path, profile, sheet=sheet)
        return suggestions, Path(input_path).name
    if not year:
        raise RequestError("请给出建议文件，或用 --year 复核存储中已有的年度")
    suggestions = store.suggestions_of_year(year)
    if not suggestions:
        raise RequestError(f"存储中没有 {year} 年的建议；请先分办或导入该年度")
    return suggestions, f"store:{year}"


def start_review(profile: Profile, model, store, suggestions: list, *, year: int | None, source: str) -> ReviewSession:
    """Route and annotate the suggestions, record the routes, and queue those without a human decision."""
    from ..routing import route_batch
    from ..similar import annotate

    year = year or dt.date.today().year
    decided = human_decisions(store)
    routes = route_batch(model, profile, suggestions, year=year)
    annotate(model, routes)
    store.record_routes(routes, year=year, source=source, model=str(model.folder))
    pending = sorted((r for r in routes if r.topic and r.identity not in decided
                      and r.identity._replace(office="") not in decided),
                     key=lambda r: min(r.topic_confidence, r.division_confidence))
    return ReviewSession(routes, pending, year, source)


def accept_table(profile: Profile, store, table: Path, *, reviewer: str, confirm_unflagged: bool = False,
                 force: bool = False) -> Accepted:
    """Record the decisions of a reviewed assignment table (all rows or none).

    A copy routed before decisions recorded since does not override them: the rows that differ
    are the result's ``conflicts`` and are left unrecorded unless ``force``.
    ``confirm_unflagged`` records 同意 by ``reviewer`` for every unflagged row left empty.
    """
    from ..review import accept_rows, find_conflicts, read_reviewed_table, read_table_state

    table = Path(table)
    rows, untouched = read_reviewed_table(table, profile, confirm_unflagged=confirm_unflagged)
    since = read_table_state(table).get("决定序号")
    conflicts = find_conflicts(store, rows, since=int(since), origin=table.name) if since else []
    to_record = rows
    if conflicts and not force:
        skipped = {id(c.row) for c in conflicts}
        to_record = [r for r in rows if id(r) not in skipped]
    recorded = accept_rows(store, to_record, reviewer=reviewer, origin=table.name)
    seen = {a: sum(r.action == a for r in rows) for a in ("同意", "修改", "待定")}
    return Accepted(seen, untouched, recorded, [r for r in rows if r.inferred], conflicts, force)


def import_history_file(profile: Profile, store, path: Path, *, year: int | None = None, importer: str) -> Imported:
    """A past year's workbook with its final routes, recorded as decisions."""
    from ..history import read_history
    from ..review import import_history

    items = read_history(Path(path), profile, year=year)
    added, decided = import_history(store, items, importer=importer, origin=Path(path).name,
                                    office=profile.office_name)
    return Imported(len(items), added, decided)
