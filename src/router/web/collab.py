"""The review pages' work together: search, the decision record, transfers, comments, coverage.

Read by the web views (``router.web.views``); it sits beside backend.py, whose functions it calls.
Decisions go through :func:`router.web.backend.decide` (:func:`router.services.review.decide_stored`,
the one decision path); undo and bulk confirmation are :func:`router.services.review.undo`,
:func:`~router.services.review.confirm_unflagged` and :func:`~router.services.review.undo_batch`,
the same for every surface; who may decide is :func:`router.services.review.may_decide`. All SQL is
in :mod:`router.store.collab`.

Rules:
- A transfer (转办) is a 修改 to the receiving division with a reason; the receiving division sees
  it until it 签收 (the route stands) or 退回 (a 修改 back to the route before, with a reason).
- A comment is addressed to a division, the coordinator or everyone; it waits on its addressee
  until someone else writes on the same suggestion. A 待定 reason opens a thread.

Why one module of about 440 lines: transfers, comments and coverage share the question of which
division a suggestion is waiting on; their SQL is apart, their rules read together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

from ..accounts import User, reviewers_of
from ..errors import InputError
from ..services import review
from ..store import collab as sql
from . import backend

__all__ = ["Hit", "search", "history", "undoable", "recent_batches", "limits", "may_decide", "visible",
           "Transfer", "transfer_state", "open_transfers", "transfer", "answer_transfer",
           "Comment", "thread", "add_comment", "waiting_on", "coverage", "filtered_table", "current_division",
           "COORDINATOR", "addressee_name", "OrderCache"]

COORDINATOR = "coordinator"
SEARCH_LIMIT = 100
_NUMBER = re.compile(r"^第?\s*(\d+)\s*号?$")


def _when(created: str) -> str:
    try:
        return dt.datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return created or ""


def current_division(item) -> str | None:
    current = item.current or {}
    return current.get("division")


def limits(user: User) -> tuple:
    """The divisions a user's decisions are limited to (empty: not limited), for
    :func:`router.services.review.may_decide`."""
    return () if user.is_coordinator else tuple(user.divisions)


def may_decide(user: User, item) -> bool:
    """Whether the user may decide ``item``: :func:`router.services.review.may_decide` on the division
    that holds now (a transferred row belongs to its new division)."""
    return review.may_decide(limits(user), current_division(item))


def visible(user: User, item, store=None) -> bool:
    """A user sees the rows they may decide (:func:`may_decide`), those suggested to one of their
    divisions, and those with a comment addressed to one of their divisions (asked to have a look)."""
    if may_decide(user, item) or user.may_see(item.division):
        return True
    return store is not None and any(c[3].split(":", 1)[-1] in user.divisions for c in sql.comments_of(store, item.sid)
                                     if c[3].startswith("division:"))


def addressed_sids(store, year: int, user: User) -> set[int]:
    """Suggestions of the year with a comment addressed to one of the user's divisions."""
    return {c[1] for c in sql.comments_of_year(store, year)
            if c[3].startswith("division:") and c[3].split(":", 1)[1] in user.divisions}


# --- the queue's order, kept between requests ----------------------------------------------------

class OrderCache:
    """:func:`router.web.backend.order` of a year, kept in memory and brought up to date from the
    decisions recorded since (a suggestion's place depends on its route only; a decision changes
    its status). Rebuilt when a route or the year changes. On 10,000 suggestions
    ``backend.order`` takes about 0.1 s, and every page and every decision needs the order.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._years: list[int] | None = None
        self._state: dict = {}  # year: (route mark, decision mark, entries, by sid)

    def years(self, store) -> list[int]:
        routes, _ = sql.store_marks(store)
        with self._lock:
            if self._years is None or self._years[0] != routes:
                self._years = [routes, backend.years(store)]
            return list(self._years[1])

    def order(self, store, year: int) -> list:
        routes, decided = sql.store_marks(store)
        with self._lock:
            cached = self._state.get(year)
            if cached is None or cached[0] != routes or cached[1] > decided:
                entries = backend.order(store, year)
                self._state[year] = (routes, decided, entries, {e.sid: i for i, e in enumerate(entries)})
                return list(entries)
            _, mark, entries, at = cached
            if mark < decided:
                for _, sid, action, topic, division in sql.decisions_after(store, mark):
                    if sid in at:
                        # Replaced, never changed in place: a list handed out before stays as it was.
                        entries[at[sid]] = dataclasses.replace(entries[at[sid]], action=action, after_topic=topic,
                                                               after_division=division)
                self._state[year] = (routes, decided, entries, at)
            return list(entries)


# --- search -------------------------------------------------------------------------------------

@dataclass
class Hit:
    sid: int
    year: int | None
    number: str
    title: str
    deputy: str
    topic: str | None
    division: str | None
    status: str


def search(store, user: User, query: str, *, year: int | None) -> tuple[list[Hit], int]:
    """Suggestions of ``year`` (every year when None) by 建议号 (“1359”, “第1359号”) or by words of the
    title, the text or the deputy's name (all words must occur); only rows the user may see.
    Returns at most :data:`SEARCH_LIMIT` hits and how many were found in all."""
    query = " ".join(query.split())[:200]
    if not query:
        return [], 0
    number = _NUMBER.match(query)
    terms = [] if number else [t for t in query.split(" ") if t][:8]
    number = number.group(1) if number else None
    ids = sql.search_ids(store, terms=terms, number=number, year=year)
    if user.is_coordinator or not user.divisions:  # sees everything: only the rows shown are read
        rows, found = sql.search_rows(store, ids[:SEARCH_LIMIT]), len(ids)
    else:
        rows, found = sql.search_rows(store, ids), None
    hits = []
    for sid, y, num, title, deputy, topic, division, action, after_topic, after_division in rows:
        now_division = after_division if after_topic else division
        if not (review.may_decide(limits(user), now_division) or user.may_see(division)):
            continue  # the rule of visible(), without the comments (a search lists no thread)
        status = "未复核" if action is None else ("待定" if action == "待定" else "已确认")
        hits.append(Hit(sid, y, num or str(sid), title, deputy or "", after_topic or topic, now_division, status))
    return hits[:SEARCH_LIMIT], len(hits) if found is None else found


# --- the decision record, undo ------------------------------------------------------------------

@dataclass
class Recorded:
    id: int
    action: str
    after: dict | None
    reviewer: str
    when: str
    comment: str
    origin: str
    reverses: int | None = None  # the decision this one took back
    reversed_by: int | None = None


def history(store, sid: int) -> list[Recorded]:
    """Every decision on a suggestion, oldest first, with which one took back which."""
    reversals = sql.reversals_of(store, sid)
    back = {v: k for k, v in reversals.items()}
    return [Recorded(i, action, json.loads(after) if after else None, reviewer, _when(created), comment or "",
                     origin, reversals.get(i), back.get(i))
            for i, action, after, reviewer, created, comment, origin in sql.decision_rows(store, sid)]


def undoable(store, user: User, limit: int = 10) -> list[dict]:
    """The user's own decisions that are still the latest on their suggestion, newest first."""
    return [{"id": did, "sid": sid, "number": number or str(sid), "title": title, "action": action,
             "after": json.loads(after) if after else None, "when": _when(created)}
            for did, sid, number, title, action, after, created in sql.own_recent(store, user.name, limit)]


def recent_batches(store) -> list[dict]:
    """The latest bulk confirmations (:func:`router.services.review.confirm_unflagged`), for the coordinator's page."""
    return [{"id": i, "actor": actor, "when": _when(created), "detail": json.loads(detail), "count": count,
             "undone": bool(undone)}
            for i, actor, created, detail, count, undone in sql.batches(store, review.BATCH_KIND)]


# --- transfers ----------------------------------------------------------------------------------

@dataclass
class Transfer:
    id: int
    sid: int
    kind: str
    from_division: str | None
    to_division: str
    reason: str
    before: dict | None
    actor: str
    when: str
    decision_id: int | None


def _transfer(row) -> Transfer:
    tid, sid, kind, frm, to, reason, before, actor, created, decision_id = row
    return Transfer(tid, sid, kind, frm, to, reason, json.loads(before) if before else None, actor, _when(created),
                    decision_id)


def transfer_state(store, sid: int) -> tuple[Transfer | None, list[Transfer]]:
    """(the open 转办 waiting for 签收/退回 or None, every transfer record oldest first)."""
    records = [_transfer(r) for r in sql.transfers_of(store, sid)]
    return (records[-1] if records and records[-1].kind == "转办" else None), records


def open_transfers(store, year: int) -> dict[int, Transfer]:
    return {t.sid: t for t in map(_transfer, sql.open_transfers(store, year))}


def _decided(store, profile, found, actor: User, *, route: dict, comment: str, seen: int, then):
    """A transfer's or a 退回's 修改, through the one decision path (the rules and who may decide);
    ``then(db, decision id)`` writes its transfer record in the same transaction."""
    return backend.decide(store, profile, found, action="修改", reviewer=actor.name, route=route, comment=comment,
                          seen=seen, divisions=limits(actor), then=then)


def transfer(store, profile, found, actor: User, *, to_division: str, reason: str, seen: int):
    """转办 to another division: a 修改 of the lead division with the reason, marked for the receiver."""
    to = profile.division_key(to_division or "")
    if to is None:
        raise InputError("请从列表中选择接收转办的处室")
    reason = reason.strip()[:2000]
    if not reason:
        raise InputError("转办请写明理由")
    current = dict(found.current or {})
    if not current.get("topic"):
        raise InputError("这条建议没有建议路由，请用“修改”选择主题和处室")
    if current.get("division") == to:
        raise InputError(f"这条建议已由{profile.division(to).name}主办，无需转办")
    route = {"topic": current["topic"], "division": to,
             "co_divisions": [k for k in current.get("co_divisions", []) if k != to]}
    return _decided(store, profile, found, actor, route=route, comment=f"转办：{reason}", seen=seen,
                    then=lambda db, decision_id: sql.insert_transfer(
                        db, found.sid, "转办", from_division=current.get("division"), to_division=to, reason=reason,
                        actor=actor.name, decision_id=decision_id, before=current))


def answer_transfer(store, profile, found, actor: User, *, accept: bool, reason: str, seen: int):
    """签收 (the transfer's route stands) or 退回 with a reason (a 修改 back to the route before it)."""
    waiting, records = transfer_state(store, found.sid)
    if waiting is None:
        if records and records[-1].kind in ("签收", "退回"):
            last = records[-1]
            raise InputError(f"这条转办已由 {last.actor} 于 {last.when} {last.kind}，无需再处理")
        raise InputError("这条建议没有待签收的转办")
    if waiting.actor == actor.name and not actor.is_coordinator:
        raise InputError("这是您本人的转办，应由接收处室签收或退回；如要收回，请撤销您的决定")
    if not actor.may_see(waiting.to_division):
        raise InputError(f"转办给{profile.division(waiting.to_division).name}，只有该处室的复核人或统筹人可以签收或退回")
    reason = reason.strip()[:2000]
    if accept:
        with store.transaction() as db:
            stale = sql.last_decision_id(db, found.sid) != seen
            answered = sql.transfers_of(db, found.sid)[-1][0] != waiting.id  # a colleague answered meanwhile
            if answered:
                return backend.Outcome("unchanged")
            if not stale:
                sql.insert_transfer(db, found.sid, "签收", from_division=waiting.from_division,
                                    to_division=waiting.to_division, reason=reason, actor=actor.name, decision_id=None)
        if stale:  # someone decided since the page was shown: they choose again
            return backend.Outcome("conflict", backend.item(store, found.sid).latest)
        return backend.Outcome("saved")
    if not reason:
        raise InputError("退回请写明理由")
    before = waiting.before or {"topic": found.topic, "division": waiting.from_division, "co_divisions": []}
    return _decided(store, profile, found, actor, route=before, comment=f"退回：{reason}", seen=seen,
                    then=lambda db, decision_id: sql.insert_transfer(
                        db, found.sid, "退回", from_division=waiting.from_division, to_division=waiting.to_division,
                        reason=reason, actor=actor.name, decision_id=decision_id))


# --- comments -----------------------------------------------------------------------------------

@dataclass
class Comment:
    id: int
    sid: int
    author: str
    addressed_to: str
    body: str
    when: str
    decision_id: int | None
    answered: bool = False


def addressee_name(profile, addressed_to: str) -> str:
    if addressed_to == COORDINATOR:
        return "统筹人"
    if addressed_to.startswith("division:"):
        key = addressed_to.split(":", 1)[1]
        return profile.division(key).name if key in profile.division_keys else key
    return "所有人"


def _addressee(profile, value: str) -> str:
    value = (value or "").strip()
    if value in ("", COORDINATOR):
        return value
    key = profile.division_key(value.split(":", 1)[-1])
    if key is None:
        raise InputError("请从列表中选择留言对象")
    return f"division:{key}"


def _comments(rows) -> list[Comment]:
    out = [Comment(*row[:5], _when(row[5]), row[6]) for row in rows]
    by_sid: dict[int, list[Comment]] = defaultdict(list)
    for c in out:
        by_sid[c.sid].append(c)
    for thread_ in by_sid.values():
        for at, c in enumerate(thread_):
            c.answered = any(later.author != c.author for later in thread_[at + 1:])
    return out


def thread(store, sid: int) -> list[Comment]:
    return _comments(sql.comments_of(store, sid))


def add_comment(store, profile, found, author: User, *, addressed_to: str, body: str,
                decision_id: int | None = None, db=None) -> None:
    """A comment on the suggestion; inside ``db`` when given (a 待定's thread, in its decision's transaction)."""
    body = body.strip()[:2000]
    if not body:
        raise InputError("留言不能为空")
    addressee = _addressee(profile, addressed_to)
    if db is not None:
        sql.insert_comment(db, found.sid, author.name, addressee, body, decision_id)
        return
    with store.transaction() as db:
        sql.insert_comment(db, found.sid, author.name, addressee, body, decision_id)


def _waits_on(user: User, addressed_to: str) -> bool:
    if addressed_to == COORDINATOR:
        return user.is_coordinator
    if addressed_to.startswith("division:"):
        return addressed_to.split(":", 1)[1] in user.divisions
    return False


def waiting_on(store, year: int, user: User) -> dict[int, list[Comment]]:
    """Unanswered comments of the year addressed to the user (their divisions, or the coordinator)."""
    out: dict[int, list[Comment]] = defaultdict(list)
    for c in _comments(sql.comments_of_year(store, year)):
        if not c.answered and c.author != user.name and _waits_on(user, c.addressed_to):
            out[c.sid].append(c)
    return dict(out)


# --- coverage and progress ----------------------------------------------------------------------

def coverage(store, profile, year: int, users: list[User], *, today: dt.date | None = None) -> dict:
    """Divisions without a reviewer of their own, each division's share decided (counted where each
    suggestion is now) against the profile's ``[review] deadline``, and reviewers' throughput."""
    today = today or dt.date.today()
    items = backend.queue(store, year)
    transfers = open_transfers(store, year)
    counts: dict[str | None, Counter] = defaultdict(Counter)
    for i in items:
        where = current_division(i)
        counts[where][i.status] += 1
        counts[where]["合计"] += 1
        if i.sid in transfers:
            counts[where]["转办待签收"] += 1
    started = min((r[1] for r in sql.decided_since(store, year)), default=None)
    deadline = dt.date.fromisoformat(profile.review_deadline) if profile.review_deadline else None
    start_day = dt.datetime.fromisoformat(started).date() if started else today
    expected = None
    if deadline:
        span = max(1, (deadline - start_day).days)
        expected = min(1.0, max(0.0, (today - start_day).days / span))
    rows = []
    unlimited = [u.name for u in users if not u.disabled and u.role == "reviewer" and not u.divisions]
    for d in profile.divisions:
        c = counts.get(d.key, Counter())
        own = [u.name for u in reviewers_of(users, d.key)]
        share = c["已确认"] / c["合计"] if c["合计"] else None
        rows.append({"key": d.key, "name": d.name, "reviewers": own, "total": c["合计"], "decided": c["已确认"],
                     "deferred": c["待定"], "open": c["未复核"], "transfers": c["转办待签收"], "share": share,
                     "behind": bool(expected is not None and share is not None and share < expected)})
    if None in counts:
        c = counts[None]
        rows.append({"key": None, "name": "无法路由", "reviewers": [], "total": c["合计"], "decided": c["已确认"],
                     "deferred": c["待定"], "open": c["未复核"], "transfers": 0,
                     "share": c["已确认"] / c["合计"] if c["合计"] else None, "behind": False})
    week = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)).isoformat()
    recent = Counter(r for r, created in sql.decided_since(store, year) if created >= week)
    throughput = [{"reviewer": name, "decisions": n, "days": days, "per_day": n / max(1, days),
                   "last_week": recent[name], "last": _when(last)}
                  for name, n, days, first, last in sql.reviewer_days(store, year)]
    return {"rows": rows, "uncovered": [r["name"] for r in rows if r["key"] and not r["reviewers"]],
            "unlimited": unlimited, "deadline": profile.review_deadline,
            "days_left": (deadline - today).days if deadline else None, "expected": expected,
            "total": len(items), "decided": sum(1 for i in items if i.status == "已确认"), "throughput": throughput}


def filtered_table(store, profile, year: int, *, keep) -> bytes:
    """The assignment table of :func:`router.web.backend.assignment_table` with only the rows whose
    suggestion ``keep(item)`` accepts (matched by 建议号), in every sheet that lists suggestions."""
    import openpyxl

    numbers = {i.number for i in backend.queue(store, year) if keep(i)}
    book = openpyxl.load_workbook(io.BytesIO(backend.assignment_table(store, profile, year)))
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        if "建议号" not in header:
            continue
        column = header.index("建议号")
        for row in range(sheet.max_row, 1, -1):
            value = sheet.cell(row=row, column=column + 1).value
            if value is not None and str(value) not in numbers:
                sheet.delete_rows(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
