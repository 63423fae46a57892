"""People's decisions: one service for every surface that records them.

The web pages (router.web.backend), the terminal review, `router accept`, tracking's 转办 and the
history import all record decisions through :func:`settle` (the office's rules, written once)
and :func:`record`; :func:`may_decide` says who may decide which division's rows. Here too:
which alternatives a reviewer is offered, which suggestions still wait for a person, bulk
confirmation and its undo, and withdrawing a wrong route or import.
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
    "Standing",
    "standing",
    "checked_route",
    "settle",
    "repeats_latest",
    "record",
    "may_decide",
    "decide_stored",
    "record_rows",
    "record_history",
    "withdraw",
    "table_store_problem",
    "unflagged_pending",
    "confirm_unflagged",
    "undo_batch",
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
    after: dict | None
    before: dict | None
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


# --- the rules of a decision, written once for every surface ---------------------------------
#
# The web pages, the terminal review, `router accept`, tracking's 转办 and the history import all
# record decisions through :func:`settle` and :func:`record`:
#
# * 同意 agrees with the route that holds now: the latest decision's route when a decision exists
#   (a colleague's 修改 included), else the model's suggestion. A surface that shows its own route
#   beside 同意 (the table's 建议 columns, a past year's final route) passes that route.
# * 修改 whose route is the one that holds now changes nothing: it is 同意, with its comment kept.
# * 待定 needs a reason (the comment) on every surface: the next person must know what is open.
# * A decision that repeats the latest one (same action, route and comment) records nothing.
# * A reviewer limited to divisions may decide the rows whose division now (the route that holds)
#   is one of theirs (:func:`may_decide`).


@dataclass
class Standing:
    """What holds now for one stored suggestion: the model's suggestion and the latest decision."""

    suggestion_id: int
    suggested: dict | None
    latest: object = None  # router.store.StoredDecision or None

    @property
    def current(self) -> dict | None:
        """The route that holds: the latest decision's (同意 or 修改), else the suggested one."""
        if self.latest is not None and self.latest.after:
            return self.latest.after
        return self.suggested

    @property
    def division(self) -> str | None:
        return (self.current or {}).get("division")


def standing(store, db, suggestion_id: int) -> Standing:
    """The suggestion's :class:`Standing`, read inside the transaction ``db``."""
    return Standing(suggestion_id, store.suggested_route(db, suggestion_id), store.latest_decision(db, suggestion_id))


def _route(route: dict | None) -> dict | None:
    if not route or not route.get("topic"):
        return None
    division = route.get("division")
    co = []
    for key in route.get("co_divisions") or ():
        if key != division and key not in co:
            co.append(key)
    return {"topic": route["topic"], "division": division, "co_divisions": co}


def checked_route(profile: Profile, *, topic: str, division: str, co_divisions=()) -> dict:
    """A route given by names or keys (co-divisions as a list or one text split at 、，, and spaces), as keys.

    A co-division equal to the lead is dropped; every unknown name is a Chinese error naming the choices.
    """
    from ..history import split_divisions

    topic_key, division_key = profile.topic_key(topic or ""), profile.division_key(division or "")
    if topic_key is None:
        raise InputError("请从列表中选择主题" + (f"（“{topic}”不是本机构的主题；可选：{'、'.join(t.name for t in profile.topics)}）"
                                          if topic else ""))
    if division_key is None:
        raise InputError("请从列表中选择主办处室" + (
            f"（“{division}”不是本机构的处室；可选：{'、'.join(d.name for d in profile.divisions)}）" if division else ""))
    names = split_divisions(co_divisions) if isinstance(co_divisions, str) else list(co_divisions or ())
    co = []
    for name in names:
        key = profile.division_key(name)
        if key is None:
            raise InputError(f"会办处室“{name}”不在配置中；请从以下处室中选择：{'、'.join(d.name for d in profile.divisions)}")
        if key != division_key and key not in co:
            co.append(key)
    return {"topic": topic_key, "division": division_key, "co_divisions": co}


def settle(now: Standing, action: str, *, route: dict | None = None, comment: str = "") -> ReviewDecision:
    """A reviewer's answer as the decision to record, by the office's rules (see above).

    ``route`` (keys) is the route of a 修改, or of a 同意 whose surface showed its own route.
    """
    comment = (comment or "").strip()
    if action == "同意":
        after = _route(route) or now.current
        if after is None:
            raise InputError("这条建议没有建议路由，无法“同意”；请用“修改”选择主题和主办处室")
        after = _route(after)
    elif action == "修改":
        after = _route(route)
        if after is None:
            raise InputError("“修改”需要选择主题和主办处室")
        latest = now.latest
        copy = latest is not None and latest.action == "修改" and _route(latest.after) == after \
            and (latest.comment or "") == comment  # the decision that holds, read again (a table's copy)
        if after == _route(now.current) and not copy:
            action = "同意"  # a 修改 that changes nothing agrees with the route that holds
    elif action == "待定":
        if not comment:
            raise InputError("待定请写明原因")
        after = None
    else:
        raise InputError(f"未知的决定“{action}”；可选：同意、修改、待定")
    return ReviewDecision(action, after, now.suggested, comment)


def repeats_latest(now: Standing, decision: ReviewDecision) -> bool:
    """Whether recording ``decision`` would repeat the latest decision (then nothing is recorded)."""
    latest = now.latest
    return latest is not None and latest.action == decision.action and (latest.comment or "") == decision.comment \
        and _route(latest.after) == _route(decision.after)


def record(store, db, now: Standing, decision: ReviewDecision, *, reviewer: str, origin: str) -> bool:
    """Append the decision inside ``db`` unless it repeats the latest one; True when recorded."""
    if repeats_latest(now, decision):
        return False
    return store.add_decision(db, now.suggestion_id, action=decision.action, reviewer=reviewer,
                              after=decision.after, before=decision.before, comment=decision.comment, origin=origin)


def may_decide(divisions, now: Standing | str | None) -> bool:
    """Whether a reviewer limited to ``divisions`` (empty: not limited) may decide this suggestion.

    ``now`` is the suggestion's :class:`Standing` or the division that holds now; a suggestion a
    colleague moved to one's division is one's own, one moved away is no longer.
    """
    if not divisions:
        return True
    division = now.division if isinstance(now, Standing) else now
    return division in set(divisions)


def decide_stored(store, suggestion_id: int, action: str, *, reviewer: str, origin: str, route: dict | None = None,
                  comment: str = "", seen: int | None = None, divisions=()):
    """One decision on a stored suggestion, in its own transaction: (kind, decision, latest before).

    ``kind`` is "saved", "unchanged" (it repeats the latest decision), "conflict" (someone decided
    after decision ``seen``, the id the reviewer last saw, 0 for none; nothing is written) or
    "forbidden" (the suggestion is not in the reviewer's ``divisions``).
    """
    with store.transaction() as db:
        now = standing(store, db, suggestion_id)
        latest_id = (store.decision_rows(suggestion_id, db=db, latest=True) or [(0,)])[0][0]
        if not may_decide(divisions, now):
            return "forbidden", None, now.latest
        decision = settle(now, action, route=route, comment=comment)
        if seen is not None and latest_id != seen:
            return ("unchanged" if repeats_latest(now, decision) else "conflict"), decision, now.latest
        recorded = record(store, db, now, decision, reviewer=reviewer, origin=origin)
    return ("saved" if recorded else "unchanged"), decision, now.latest


def agree(route: Route) -> ReviewDecision:
    """同意 in the terminal: the route that holds is settled when it is recorded (:func:`record_decision`)."""
    suggested = _suggested(route)
    return ReviewDecision("同意", None, suggested)


def pick_alternative(profile: Profile, route: Route, number: int) -> ReviewDecision:
    """Alternative ``number`` (from 1) of :func:`alternatives`, as a 修改."""
    options = alternatives(profile, route)
    if not 1 <= number <= len(options):
        raise InputError(f"没有第 {number} 个备选；请选 1 到 {len(options)}")
    topic, division = options[number - 1]
    after = {"topic": topic, "division": division, "co_divisions": [k for k in route.co_divisions if k != division]}
    return ReviewDecision("修改", after, _suggested(route))


def edit(profile: Profile, route: Route, *, topic: str, division: str, co_divisions: str = "",
         comment: str = "") -> ReviewDecision:
    """A reviewer's own route, given by names or keys; co-divisions as one text split at 、，, and spaces.

    Whether it changes anything is settled when it is recorded (:func:`settle`).
    """
    after = checked_route(profile, topic=topic, division=division, co_divisions=co_divisions)
    return ReviewDecision("修改", after, _suggested(route), comment)


@dataclass
class Recorded:
    """What one recorded decision replaced, so that the reviewer can undo it."""

    suggestion_id: int
    previous: object  # the StoredDecision before, or None
    new: bool
    decision: ReviewDecision | None = None  # what was settled and recorded


def record_decision(store, route: Route, decision: ReviewDecision, *, reviewer: str, year: int,
                    source: str, origin: str = "review") -> Recorded:
    """Settle the terminal's answer by the rules and append it at once, in its own transaction."""
    with store.transaction() as db:
        sid = store.upsert_suggestion(db, route.suggestion, year=year, source=source, identity=route.identity)
        now = standing(store, db, sid)
        settled = settle(now, decision.action, route=decision.after, comment=decision.comment)
        new = record(store, db, now, settled, reviewer=reviewer, origin=origin)
    return Recorded(sid, now.latest, new, settled)


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


def table_store_problem(store, table: Path, state: dict) -> str | None:
    """Why a table routed by another store may not be read into this one (None when it may).

    A table remembers the store that routed it (存储标识 in its hidden 路由信息 sheet); a table
    from before stores had identities names none and is read as before.
    """
    from ..table import META_STORE_ID

    theirs = state.get(META_STORE_ID, "")
    if theirs and theirs != store.store_id:
        return (f"{table}：这张表是另一个历史库分办写出的（存储标识 {theirs}，本历史库为 {store.store_id}），"
                f"即使机构名称相同也不能记入本历史库；请用写出这张表的历史库（--store），"
                "或在本办公室文件夹中重新 router route 这份来文")
    return None


def _settled_rows(store, db, rows, origin: str) -> list[tuple]:
    """Each table row as (row, Standing, decision settled by the rules)."""
    from ..review import stored_row

    out = []
    for r in rows:
        now = standing(store, db, stored_row(store, db, r, origin))
        out.append((r, now, settle(now, r.action, route=r.confirmed, comment=r.comment)))
    return out


def record_rows(store, rows, *, reviewer: str, origin: str) -> Counter:
    """Record reviewed table rows in one transaction (all or nothing), by the rules; count what was recorded."""
    recorded: Counter = Counter()
    with store.transaction() as db:
        for r, now, decision in _settled_rows(store, db, rows, origin):
            if record(store, db, now, decision, reviewer=r.reviewer or reviewer, origin=origin):
                recorded[decision.action] += 1
    return recorded


def accept_table(profile: Profile, store, table: Path, *, reviewer: str, confirm_unflagged: bool = False,
                 force: bool = False) -> Accepted:
    """Record the decisions of a reviewed assignment table (all rows or none).

    A table routed by another store is refused. A copy routed before decisions recorded since
    does not override them: the rows that differ are the result's ``conflicts`` and are left
    unrecorded unless ``force``. ``confirm_unflagged`` records 同意 by ``reviewer`` for every
    unflagged row left empty. Each row is settled by the rules of :func:`settle`.
    """
    from ..review import find_conflicts, read_reviewed_table, read_table_state

    table = Path(table)
    rows, untouched = read_reviewed_table(table, profile, confirm_unflagged=confirm_unflagged)
    state = read_table_state(table)
    problem = table_store_problem(store, table, state)
    if problem:
        raise InputError(problem)
    since = state.get("决定序号")
    conflicts = find_conflicts(store, rows, since=int(since), origin=table.name) if since else []
    skipped = {id(c.row) for c in conflicts} if not force else set()
    recorded: Counter = Counter()
    seen: Counter = Counter()
    with store.transaction() as db:
        for r, now, decision in _settled_rows(store, db, rows, table.name):
            seen[decision.action if id(r) not in skipped else r.action] += 1
            if id(r) in skipped:
                continue
            if record(store, db, now, decision, reviewer=r.reviewer or reviewer, origin=table.name):
                recorded[decision.action] += 1
    return Accepted({a: seen[a] for a in ("同意", "修改", "待定")}, untouched, recorded,
                    [r for r in rows if r.inferred], conflicts, force)


def record_history(store, items, *, importer: str, origin: str, office: str = "") -> tuple[int, int]:
    """Past years' final routes as decisions (同意 of the final route, by the rules); (new suggestions, new decisions).

    Each item is its own suggestion, by (office, year, number): the same text in two years is
    two suggestions, each with its year's route.
    """
    added = decided = 0
    with store.transaction() as db:
        for item in items:
            identity = item.suggestion.identity(office, item.year)
            known = store.find(db, identity) is not None
            sid = store.upsert_suggestion(db, item.suggestion, year=item.year, source=origin, identity=identity)
            added += not known
            now = standing(store, db, sid)
            after = {"topic": item.topic, "division": item.division, "co_divisions": list(item.co_divisions)}
            decision = settle(now, "同意", route=after)
            decided += record(store, db, now, ReviewDecision("同意", decision.after, None), reviewer=importer,
                              origin=origin)
    return added, decided


def import_history_file(profile: Profile, store, path: Path, *, year: int | None = None, importer: str,
                        year_ok: bool = False) -> Imported:
    """A past year's workbook with its final routes, recorded as decisions.

    A ``year`` given that disagrees with the file (its name, its 届次/年度 column) or lies in the
    future is refused unless ``year_ok`` (:mod:`router.services.years`). Past years are often
    imported newest first, so an early year is not refused here.
    """
    from ..history import read_history
    from .years import intake_evidence, year_problem

    items = read_history(Path(path), profile, year=year)
    if year is not None and not year_ok:
        evidence = intake_evidence(path, sessions=[i.suggestion.session for i in items])
        problem = year_problem(year, evidence, today=dt.date.today(), given="--year")
        if problem:
            raise RequestError(f"{path}：{problem}")
    added, decided = record_history(store, items, importer=importer, origin=Path(path).name,
                                    office=profile.office_name)
    return Imported(len(items), added, decided)


def withdraw(store, *, year: int | None = None, source: str = "", reason: str, who: str) -> int:
    """Take back a wrong route or import: an append-only withdrawal of a year's suggestions (only those
    first recorded from the file ``source`` when given), which every reader leaves out from now on.

    Returns how many suggestions it took out; refuses one that names nothing or covers nothing.
    """
    from ..store import _now

    source = Path(source).name if source else ""
    if year is None and not source:
        raise RequestError("请用 --year 和/或 --file 指明撤回哪一年度或哪一份来文")
    if not (reason or "").strip():
        raise RequestError("请用 --reason 写明撤回原因（记入审计记录）")
    what = "、".join(x for x in (f"{year}年" if year else "", f"来文 {source}" if source else "") if x)
    if not store.covered(year=year, source=source):
        raise RequestError(f"{store.path}：没有可撤回的建议（{what}）；请用 router decisions 查看已有的年度和来文")
    return store.withdraw(year=year, source=source, reason=reason.strip(), who=who, created=_now())


# --- bulk confirmation: what it would do, doing it, taking it back ---------------------------------


def _unflagged(store, db, year: int, divisions=()):
    """(suggestion id, Standing) of the year's routed, unflagged suggestions without a decision that a
    reviewer limited to ``divisions`` may decide."""
    import json

    for row in store.review_rows(year=year, db=db):
        sid, topic, detail, decision_id = row[0], row[5], row[10], row[11]
        if decision_id is not None or topic is None or json.loads(detail or "{}").get("needs_review", True):
            continue
        now = standing(store, db, sid)
        if may_decide(divisions, now):
            yield sid, now


def unflagged_pending(store, year: int, *, divisions=()) -> Counter:
    """How many suggestions a bulk 同意 would confirm, by division (what to say before asking)."""
    with store.transaction() as db:
        return Counter(now.division for _, now in _unflagged(store, db, year, divisions))


@dataclass
class Batch:
    """A bulk confirmation: the suggestions confirmed and the decisions it recorded (ids ``first``..``last``
    with ``origin``); its ``key`` (e.g. "web:confirm-unflagged/41-108") takes it back with :func:`undo_batch`."""

    origin: str
    suggestion_ids: list[int]
    first: int = 0
    last: int = 0

    @property
    def count(self) -> int:
        return len(self.suggestion_ids)

    @property
    def key(self) -> str:
        return f"{self.origin}/{self.first}-{self.last}"


def confirm_unflagged(store, year: int, *, reviewer: str, divisions=(), origin: str = "web:confirm-unflagged") -> Batch:
    """同意 (by the rules) for every routed, unflagged suggestion of the year without a decision that the
    reviewer may decide, in one transaction; the batch's ``key`` lets :func:`undo_batch` take it back."""
    done = []
    with store.transaction() as db:
        first = store.last_decision_id() + 1
        for sid, now in list(_unflagged(store, db, year, divisions)):
            if record(store, db, now, settle(now, "同意"), reviewer=reviewer, origin=origin):
                done.append(sid)
        last = store.last_decision_id()
    return Batch(origin, done, first, last)


def undo_batch(store, key: str, *, reviewer: str) -> int:
    """Take back a bulk confirmation by its :attr:`Batch.key` (append-only): each of its decisions that is
    still the latest of its suggestion is followed by the decision before it, or by 待定 when there was
    none; decisions made since stand. Returns how many were taken back."""
    import json
    import re

    match = re.fullmatch(r"(.+)/(\d+)-(\d+)", key or "")
    if not match:
        raise RequestError(f"“{key}”不是批量确认的标识")
    origin, first, last = match.group(1), int(match.group(2)), int(match.group(3))
    undone = 0
    with store.transaction() as db:
        for decision_id, sid in store.decisions_of_origin(db, origin):
            if not first <= decision_id <= last:
                continue
            latest = store.decision_rows(sid, db=db, latest=True)
            if not latest or latest[0][0] != decision_id:
                continue  # decided again since: that decision stands
            before = store.decision_before(db, sid, decision_id)
            if before is None:
                store.add_decision(db, sid, action="待定", reviewer=reviewer, after=None, comment="撤销批量确认",
                                   origin=f"undo:{origin}")
            else:
                action, after, comment = before
                store.add_decision(db, sid, action=action, reviewer=reviewer, after=json.loads(after) if after else None,
                                   comment=comment or "撤销批量确认", origin=f"undo:{origin}")
            undone += 1
    return undone
