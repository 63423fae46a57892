"""People's decisions: one service for every surface that records them.

The web pages (router.web.backend), the terminal review, `router accept`, tracking's 转办 and the
history import all record decisions through :func:`settle` (the office's rules, written once)
and :func:`record`; :func:`may_decide` says who may decide which division's rows; :func:`undo`
is the one rule of taking a decision back (the terminal's ``u``, the web's 撤销, a bulk
confirmation's reversal). Here too: which alternatives a reviewer is offered, which suggestions
still wait for a person, bulk confirmation (:func:`unflagged_pending`, :func:`confirm_unflagged`,
:func:`undo_batch`: the web's coordinator page calls them), and withdrawing a wrong route or import.

Why one module of about 700 lines: every rule of what a decision means is read here, side by
side (同意 against the current decision, 修改, 待定, undo, bulk confirmation, withdrawal); split,
the surfaces would again each hold a part of the truth.
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
    "undo",
    "undo_decision",
    "unflagged_pending",
    "Batch",
    "BatchUndone",
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
                  comment: str = "", seen: int | None = None, divisions=(), then=None):
    """One decision on a stored suggestion, in its own transaction: (kind, decision, latest before).

    ``kind`` is "saved", "unchanged" (it repeats the latest decision), "conflict" (someone decided
    after decision ``seen``, the id the reviewer last saw, 0 for none; nothing is written) or
    "forbidden" (the suggestion is not in the reviewer's ``divisions``). ``then(db, decision id)``,
    when given, runs in the same transaction once the decision is saved (a transfer's record).
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
        if recorded and then is not None:
            then(db, store.decision_rows(suggestion_id, db=db, latest=True)[0][0])
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
    decision_id: int = 0  # the decision recorded (0 when it repeated the latest and nothing was)


def record_decision(store, route: Route, decision: ReviewDecision, *, reviewer: str, year: int,
                    source: str, origin: str = "review") -> Recorded:
    """Settle the terminal's answer by the rules and append it at once, in its own transaction."""
    with store.transaction() as db:
        sid = store.upsert_suggestion(db, route.suggestion, year=year, source=source, identity=route.identity)
        now = standing(store, db, sid)
        settled = settle(now, decision.action, route=decision.after, comment=decision.comment)
        new = record(store, db, now, settled, reviewer=reviewer, origin=origin)
        decision_id = store.decision_rows(sid, db=db, latest=True)[0][0] if new else 0
    return Recorded(sid, now.latest, new, settled, decision_id)


def undo_decision(store, recorded: Recorded, *, reviewer: str) -> None:
    """The terminal's ``u``: take back what :func:`record_decision` recorded, by the rule of :func:`undo`
    (nothing to take back when it recorded nothing)."""
    if recorded.decision_id:
        undo(store, recorded.decision_id, reviewer=reviewer, origin="review")


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


# --- undo: one rule for the terminal's u, the web's 撤销 and taking back a bulk confirmation ----------
#
# Decisions are append-only: an undo records again the decision before the one taken back (待定 with
# the undo's comment when there was none), settled and recorded by the rules above, and marks it as
# the reversal of the one taken back (table ``reversals``). Only a decision that is still the latest
# of its suggestion can be taken back; a taken-back 转办 is withdrawn, a taken-back 退回 reopens it.

UNDO_COMMENT = "撤销上一条决定"


def _take_back(store, db, sid: int, decision_id: int, *, reviewer: str, origin: str, comment: str,
               batch_id: int | None = None) -> int | None:
    """Undo ``decision_id`` inside ``db`` (see above); the reversal's decision id (None when nothing was recorded)."""
    import json

    from ..store import collab as sql

    now = standing(store, db, sid)
    before = store.decision_before(db, sid, decision_id)
    if before is None:
        decision = settle(now, "待定", comment=comment)
    else:
        action, after, previous = before
        decision = settle(now, action, route=json.loads(after) if after else None, comment=previous or comment)
        if repeats_latest(now, decision):  # it repeats the decision taken back: record it as a reversal
            decision.comment = f"{previous}（{comment}）" if previous else f"{comment}（撤销）"
    if not record(store, db, now, decision, reviewer=reviewer, origin=origin):
        return None
    new = sql.last_decision_id(db, sid)
    sql.insert_reversal(db, new, decision_id, batch_id)
    _withdraw_transfer(db, sid, decision_id, reviewer)
    return new


def _withdraw_transfer(db, sid: int, decision_id: int, actor: str) -> None:
    """A taken-back 转办 is withdrawn (撤回); a taken-back 退回 opens its transfer again."""
    import json

    from ..store import collab as sql

    records = sql.transfers_of(db, sid)  # (id, sid, kind, from, to, reason, before, actor, created, decision id)
    if not records or records[-1][9] != decision_id:
        return
    last = records[-1]
    if last[2] == "转办":
        sql.insert_transfer(db, sid, "撤回", from_division=last[3], to_division=last[4], reason="撤销转办",
                            actor=actor, decision_id=None)
    elif last[2] == "退回":
        opened = next((r for r in reversed(records) if r[2] == "转办"), None)
        if opened:
            sql.insert_transfer(db, sid, "转办", from_division=opened[3], to_division=opened[4], reason=opened[5],
                                actor=opened[7], decision_id=opened[9],
                                before=json.loads(opened[6]) if opened[6] else None)


def undo(store, decision_id: int, *, reviewer: str, origin: str, comment: str = UNDO_COMMENT) -> int:
    """Take back one's own decision while it is the latest of its suggestion; the suggestion's id."""
    from ..store import collab as sql

    with store.transaction() as db:
        row = sql.decision_owner(db, decision_id)
        if row is None or row[1] != reviewer:
            raise InputError("只能撤销您本人作出的决定")
        sid = row[0]
        if sql.last_decision_id(db, sid) != decision_id:
            raise InputError("这条决定之后已有新的决定，不能再撤销；请重新决定")
        if sql.reversed_ids(db, [decision_id]):
            raise InputError("这条决定已撤销过")
        _take_back(store, db, sid, decision_id, reviewer=reviewer, origin=origin, comment=comment)
    return sid


# --- bulk confirmation: what it would do, doing it, taking it back ---------------------------------
#
# One mechanism for every surface: :func:`unflagged_pending` says first how many rows of which
# divisions a bulk 同意 would record (divisions with a reviewer of their own are left out unless
# named), :func:`confirm_unflagged` records them as one batch (refused when the count seen is no
# longer the count), :func:`undo_batch` takes the batch back by the rule of :func:`undo`.

BATCH_KIND = "confirm-unflagged"


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


def _pending(store, db, year: int, divisions, users, include) -> dict:
    from collections import defaultdict

    from ..accounts import reviewers_of

    by_division: dict = defaultdict(list)
    for sid, now in _unflagged(store, db, year, divisions):
        by_division[now.division].append((sid, now))
    taken, left = {}, {}
    for division, rows in by_division.items():
        own = [u.name for u in reviewers_of(list(users or ()), division)]
        if own and division not in include:
            left[division] = {"count": len(rows), "reviewers": own}
        else:
            taken[division] = {"count": len(rows), "reviewers": own, "rows": rows}
    return {"taken": taken, "left": left, "count": sum(v["count"] for v in taken.values())}


def unflagged_pending(store, year: int, *, divisions=(), users=(), include=frozenset()) -> dict:
    """What a bulk 同意 would record, before asking: {"taken": {division: {"count", "reviewers", "rows"}},
    "left": {division: {"count", "reviewers"}}, "count"}. Rows of a division that has its own reviewer
    among ``users`` (accounts) are left out unless the division is in ``include``."""
    with store.transaction() as db:
        return _pending(store, db, year, divisions, users, include)


@dataclass
class Batch:
    """A bulk confirmation: its batch id (``key``, for :func:`undo_batch`; 0 when nothing was recorded),
    the suggestions confirmed, and what was shown before (:func:`unflagged_pending`)."""

    key: int
    origin: str
    suggestion_ids: list[int]
    pending: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.suggestion_ids)


@dataclass
class BatchUndone:
    taken_back: int
    kept: int  # decided again since: those decisions stand


def confirm_unflagged(store, year: int, *, reviewer: str, divisions=(), users=(), include=frozenset(),
                      expected: int | None = None, origin: str = "web:confirm-unflagged") -> Batch:
    """同意 (by the rules) for the rows :func:`unflagged_pending` names, in one transaction, as one batch.

    Refused when ``expected`` (the count the reviewer was shown) is no longer the count."""
    from ..store import collab as sql

    done = []
    with store.transaction() as db:
        pending = _pending(store, db, year, divisions, users, include)
        if expected is not None and pending["count"] != expected:
            raise InputError(f"确认前看到的是 {expected} 条，现在是 {pending['count']} 条（其间有人作了决定）；"
                             "请核对后重新确认")
        if not pending["count"]:
            return Batch(0, origin, [], pending)
        batch = sql.insert_batch(db, BATCH_KIND, reviewer, {
            "year": year, "divisions": {k or "": v["count"] for k, v in pending["taken"].items()}})
        for part in pending["taken"].values():
            for sid, now in part["rows"]:
                if record(store, db, now, settle(now, "同意"), reviewer=reviewer, origin=origin):
                    sql.insert_batch_decision(db, batch, sql.last_decision_id(db, sid))
                    done.append(sid)
    return Batch(batch, origin, done, pending)


def undo_batch(store, key, *, reviewer: str, origin: str = "web:undo-confirm",
               comment: str = "撤销批量确认") -> BatchUndone:
    """Take back a bulk confirmation by its :attr:`Batch.key` (append-only, by the rule of :func:`undo`):
    each of its decisions that is still the latest of its suggestion is taken back; decisions made
    since stand and are counted as kept."""
    from ..store import collab as sql

    batch_id = int(key) if str(key).isdigit() else 0
    with store.transaction() as db:
        found = sql.batch_row(db, batch_id)
        if found is None or found[1] != BATCH_KIND:
            raise InputError("没有这一批一次确认")
        if sql.batch_reversed(db, batch_id):
            raise InputError("这一批已撤销过")
        reversal = sql.insert_batch(db, "undo-confirm", reviewer, {"batch": batch_id}, reverses=batch_id)
        taken_back = kept = 0
        for decision_id, sid, latest in sql.batch_decisions(db, batch_id):
            if latest != decision_id:
                kept += 1
                continue
            _take_back(store, db, sid, decision_id, reviewer=reviewer, origin=origin, comment=comment,
                       batch_id=reversal)
            taken_back += 1
    return BatchUndone(taken_back, kept)
