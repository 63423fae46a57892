"""The pages: the queue, search, a suggestion and its decision, transfers and comments, one's own
decisions, the account, and the coordinator's desk.

Views parse the request, call :mod:`router.web.backend`, :mod:`router.web.collab` and, for undo,
bulk confirmation and who may decide, :mod:`router.services.review` (what the CLI calls), and render
a template; they hold no review rule of their own. Authentication and CSRF were checked before any
of them runs.

Queue filters travel under names no decision field uses (``f_status``, ``f_topic``,
``f_division``), so a form's own ``topic``/``division`` are never confused with a filter, and the
page after a decision carries only the filter, never the route just chosen.

Why one module of about 470 lines: every route of the review site is listed here, one short
function each over the same request helpers; the rules live in the modules they call.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections import Counter, defaultdict
from io import BytesIO

from flask import Flask, abort, current_app, g, redirect, render_template, request, send_file, url_for

from .. import accounts
from ..errors import InputError, StoreError
from ..services import review
from . import backend, collab

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTERS = ("f_status", "f_topic", "f_division")
ALL = "全部"
PER_PAGE = 50  # rows of the queue on one page


def _state() -> dict:
    return current_app.extensions["router"]


def _store():
    return _state()["store"]()


def _profile():
    return _state()["profile"]


def _year() -> int | None:
    fixed = _state()["year"]
    if fixed:
        return fixed
    years = _state()["order"].years(_store())
    return years[0] if years else None


def _order(year: int) -> list:
    """The queue's order (as :func:`backend.order`), kept up to date between requests."""
    return _state()["order"].order(_store(), year)


def coordinator_only(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not g.user.is_coordinator:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _visible(item) -> bool:
    return collab.visible(g.user, item, _store())


def _may_decide(item) -> bool:
    """:func:`router.services.review.may_decide` for the signed-in user on the division that holds now."""
    return review.may_decide(collab.limits(g.user), collab.current_division(item))


def _forbidden(item):
    """403 that says whose row this is."""
    profile = _profile()
    name = lambda k: profile.division(k).name if k in profile.division_keys else "（无）"  # noqa: E731
    now = collab.current_division(item)
    where = name(item.division) + ("" if now in (None, item.division) else f"，现由{name(now)}主办")
    mine = "、".join(name(k) for k in g.user.divisions) or "（无）"
    message = (f"第{item.number}号建议由{where}复核；您的账户只负责 {mine}。"
               "如需处理，请统筹人转办或调整您的负责处室。")
    return render_template("error.html", status=403, message=message), 403


def _mine(items):
    """The items the signed-in user may see (everything for a coordinator or an unlimited reviewer)."""
    if g.user.is_coordinator or not g.user.divisions:
        return list(items)
    year = _year()
    asked = collab.addressed_sids(_store(), year, g.user) if year else set()
    return [i for i in items if collab.visible(g.user, i) or i.sid in asked]


def _filters(args) -> dict:
    """The queue's filters as given (``f_status`` defaults to 未复核 on the queue itself)."""
    return {k: args.get(k, "") for k in FILTERS if args.get(k)}


def _status_filter(filters: dict) -> str:
    value = filters.get("f_status", "未复核")
    return "" if value == ALL else value


def _filtered(items, filters: dict):
    status, topic, division = _status_filter(filters), filters.get("f_topic", ""), filters.get("f_division", "")
    if not (status or topic or division):
        return items
    out = []
    for i in items:
        current = i.current or {}
        if status and i.status != status:
            continue
        if topic and current.get("topic") != topic:
            continue
        if division and current.get("division") != division:
            continue
        out.append(i)
    return out


def _neighbours(items, sid: int):
    ids = [i.sid for i in items]
    if sid not in ids:
        return None, None
    at = ids.index(sid)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def _next_pending(items, sid: int):
    """The next suggestion after ``sid`` in queue order that nobody has decided, wrapping around."""
    ids = [i.sid for i in items]
    start = ids.index(sid) + 1 if sid in ids else 0
    for i in items[start:] + items[:start]:
        if i.status == "未复核" and i.sid != sid:
            return i.sid
    return None


def _queue_url(filters: dict, **extra) -> str:
    query = urllib.parse.urlencode({**filters, **extra})
    return url_for("queue") + (f"?{query}" if query else "")


def _seen(form) -> int:
    try:
        return int(form.get("seen", "0"))
    except ValueError:
        raise InputError("表单内容无效，请刷新页面后重试") from None


def _found(sid: int):
    found = backend.item(_store(), sid)
    if found is None:
        abort(404)
    return found


def _counts_now(items) -> dict:
    counts: dict = defaultdict(Counter)
    for i in items:
        where = collab.current_division(i)
        counts[where][i.status] += 1
        counts[where]["合计"] += 1
    return counts


def _my_divisions(profile):
    """The divisions a user's filters list: their own, or all for a coordinator or an unlimited reviewer."""
    if g.user.is_coordinator or not g.user.divisions:
        return list(profile.divisions)
    return [d for d in profile.divisions if d.key in g.user.divisions]


def _after_decision(store, sid: int, filters: dict, outcome_kind: str):
    year = _year()
    items = _filtered(_mine(_order(year)), {**filters, "f_status": filters.get("f_status", ALL)}) \
        if year else []
    following = _next_pending(items, sid)
    if following is None:
        return redirect(_queue_url(filters, saved=sid, outcome=outcome_kind), code=303)
    query = urllib.parse.urlencode({**filters, "saved": sid, "outcome": outcome_kind})
    return redirect(url_for("suggestion", sid=following) + f"?{query}", code=303)


def _back_to(sid: int, filters: dict, **extra):
    query = urllib.parse.urlencode({**filters, **extra})
    return redirect(url_for("suggestion", sid=sid) + (f"?{query}" if query else ""), code=303)


def _conflict(found, outcome, action, route, comment, filters):
    return render_template("conflict.html", item=found, theirs=outcome.latest, mine_action=action, mine_route=route,
                           mine_comment=comment, profile=_profile(), filters=filters), 409


def register(app: Flask) -> None:
    @app.get("/")
    def queue():
        year = _year()
        profile = _profile()
        if year is None:
            return render_template("empty.html")
        store = _store()
        everything = _mine(_order(year))
        filters = _filters(request.args)
        chosen = _filtered(everything, filters)
        pages = max(1, -(-len(chosen) // PER_PAGE))
        page = min(max(1, request.args.get("p", type=int) or 1), pages)
        # Only the rows of this page are read in full; the order, filters and counts come from the kept order.
        items = [backend.item(store, e.sid) for e in chosen[(page - 1) * PER_PAGE:page * PER_PAGE]]
        transfers = collab.open_transfers(store, year)
        waiting = collab.waiting_on(store, year, g.user)
        # Transfers wait on the receiving division's own reviewers; a coordinator sees them all.
        mine_transfers = {sid: t for sid, t in transfers.items()
                          if t.to_division in g.user.divisions or g.user.is_coordinator}
        saved = backend.item(store, request.args.get("saved", type=int) or 0) if request.args.get("saved") else None
        seen = {e.sid for e in everything}
        by_sid = {sid: backend.item(store, sid) for sid in set(mine_transfers) | set(waiting) if sid in seen}
        return render_template(
            "queue.html", year=year, items=items, total=len(everything), shown=len(chosen), page=page, pages=pages,
            first=(page - 1) * PER_PAGE + 1, counts=_counts_now(everything),
            statuses=backend.STATUSES, profile=profile, filters=filters, status_filter=filters.get("f_status", "未复核"),
            saved=saved, outcome=request.args.get("outcome", ""), transfers=transfers,
            waiting=waiting, mine_transfers=mine_transfers, by_sid=by_sid, divisions=_my_divisions(profile),
            undone=request.args.get("undone", ""))

    @app.get("/search")
    def search():
        profile, store = _profile(), _store()
        query = request.args.get("q", "").strip()
        everywhere = request.args.get("scope") == "all"
        year = _year()
        hits, found = collab.search(store, g.user, query, year=None if everywhere else year) if query else ([], 0)
        return render_template("search.html", query=query, hits=hits, found=found, everywhere=everywhere, year=year,
                               profile=profile, limit=collab.SEARCH_LIMIT)

    @app.get("/s/<int:sid>")
    def suggestion(sid: int):
        store, profile = _store(), _profile()
        found = _found(sid)
        if not _visible(found):
            return _forbidden(found)
        filters = _filters(request.args)
        year = _year()
        items = _filtered(_mine(_order(year)), {**filters, "f_status": filters.get("f_status", ALL)}) \
            if year else []
        previous, following = _neighbours(items, sid)
        saved = backend.item(store, request.args.get("saved", type=int) or 0) if request.args.get("saved") else None
        waiting, transfers = collab.transfer_state(store, sid)
        history = collab.history(store, sid)
        latest = history[-1] if history else None
        may_undo = latest is not None and latest.reviewer == g.user.name and latest.reverses is None
        current = found.current or {}
        division = current.get("division")
        leader = (profile.division(division).leader if division in profile.division_keys else "") \
            or found.detail.get("leader", "")
        return render_template(
            "suggestion.html", item=found, profile=profile, previous=previous, following=following, filters=filters,
            saved=saved, outcome=request.args.get("outcome", ""), waiting=waiting, transfers=transfers,
            history=history, may_undo=may_undo, thread=collab.thread(store, sid), leader=leader,
            deadline=found.detail.get("deadline", ""), addressee=collab.addressee_name,
            may_answer=waiting is not None and g.user.may_see(waiting.to_division)
            and (waiting.actor != g.user.name or g.user.is_coordinator),
            notice=request.args.get("notice", ""))

    @app.post("/s/<int:sid>/decide")
    def decide(sid: int):
        store, profile = _store(), _profile()
        found = _found(sid)
        if not _may_decide(found):
            return _forbidden(found)
        form = request.form
        action = form.get("action", "")
        route = {"topic": form.get("topic", ""), "division": form.get("division", ""),
                 "co_divisions": form.getlist("co_divisions")}
        comment = form.get("comment", "")[:2000]
        filters = _filters(form)
        # A 待定 reason opens a thread, addressed to whom the reviewer chose (the coordinator by default),
        # written in the decision's transaction.
        thread = (lambda db, decision_id: collab.add_comment(
            store, profile, found, g.user, addressed_to=form.get("addressed_to", collab.COORDINATOR), body=comment,
            decision_id=decision_id, db=db)) if action == "待定" else None
        outcome = backend.decide(store, profile, found, action=action, reviewer=g.user.name, route=route,
                                 comment=comment, seen=_seen(form), divisions=collab.limits(g.user), then=thread)
        if outcome.kind == "forbidden":  # moved out of the user's divisions since the page was read
            return _forbidden(_found(sid))
        if outcome.kind == "conflict":
            return _conflict(found, outcome, action, route, comment, filters)
        return _after_decision(store, sid, filters, outcome.kind)

    @app.post("/s/<int:sid>/transfer")
    def transfer(sid: int):
        store, profile = _store(), _profile()
        found = _found(sid)
        if not _may_decide(found):
            return _forbidden(found)
        form, filters = request.form, _filters(request.form)
        outcome = collab.transfer(store, profile, found, g.user, to_division=form.get("to_division", ""),
                                  reason=form.get("reason", ""), seen=_seen(form))
        if outcome.kind == "forbidden":
            return _forbidden(_found(sid))
        if outcome.kind == "conflict":
            return _conflict(found, outcome, "转办", {"topic": "", "division": form.get("to_division", ""),
                                                     "co_divisions": []}, form.get("reason", ""), filters)
        return _after_decision(store, sid, filters, outcome.kind)

    @app.post("/s/<int:sid>/answer")
    def answer(sid: int):
        store, profile = _store(), _profile()
        found = _found(sid)
        if not _visible(found):
            return _forbidden(found)
        form, filters = request.form, _filters(request.form)
        kind = form.get("answer", "")
        if kind not in ("签收", "退回"):
            raise InputError("请选择签收或退回")
        outcome = collab.answer_transfer(store, profile, found, g.user, accept=kind == "签收",
                                         reason=form.get("reason", ""), seen=_seen(form))
        if outcome.kind == "forbidden":
            return _forbidden(_found(sid))
        if outcome.kind == "conflict":
            return _conflict(found, outcome, kind, {"topic": "", "division": "", "co_divisions": []},
                             form.get("reason", ""), filters)
        if not _visible(_found(sid)):  # returned out of the user's divisions
            return redirect(_queue_url(filters, saved=sid, outcome=kind), code=303)
        return _back_to(sid, filters, notice=kind)

    @app.post("/s/<int:sid>/comment")
    def comment(sid: int):
        store, profile = _store(), _profile()
        found = _found(sid)
        if not _visible(found):
            return _forbidden(found)
        collab.add_comment(store, profile, found, g.user, addressed_to=request.form.get("addressed_to", ""),
                           body=request.form.get("body", ""))
        return _back_to(sid, _filters(request.form), notice="留言")

    @app.post("/undo/<int:decision_id>")
    def undo(decision_id: int):
        store = _store()
        sid = review.undo(store, decision_id, reviewer=g.user.name, origin="web:undo")
        if request.form.get("back") == "mine":
            return redirect(url_for("mine", undone=sid), code=303)
        return _back_to(sid, _filters(request.form), notice="撤销")

    @app.get("/mine")
    def mine():
        store = _store()
        undone = backend.item(store, request.args.get("undone", type=int) or 0) if request.args.get("undone") else None
        return render_template("mine.html", decisions=collab.undoable(store, g.user, 20), profile=_profile(),
                               undone=undone)

    @app.route("/account", methods=["GET", "POST"])
    def account():
        from .app import SESSION_COOKIE

        error, done, status = "", False, 200
        if request.method == "POST":
            try:
                accounts.change_password(_store(), g.user, request.form.get("old", ""), request.form.get("new", ""),
                                         request.form.get("repeat", ""),
                                         keep_session=request.cookies.get(SESSION_COOKIE, ""))
                done = True
            except InputError as exc:
                error, status = str(exc), 400
        return render_template("account.html", error=error, done=done, profile=_profile()), status

    @app.get("/coordinator")
    @coordinator_only
    def coordinator():
        year = _year()
        if year is None:
            return render_template("empty.html")
        store, profile = _store(), _profile()
        users = accounts.list_users(store)
        return render_template("coordinator.html", year=year, cover=collab.coverage(store, profile, year, users),
                               preview=review.unflagged_pending(store, year, users=users),
                               batches=collab.recent_batches(store),
                               profile=profile, confirmed=request.args.get("confirmed", type=int),
                               undone=request.args.get("undone", ""), kept=request.args.get("kept", type=int))

    @app.post("/coordinator/confirm-unflagged")
    @coordinator_only
    def confirm_unflagged():
        year = _year()
        if year is None:
            abort(404)
        store, profile = _store(), _profile()
        users = accounts.list_users(store)
        include = set(request.form.getlist("include"))
        if request.form.get("step") != "record":
            return render_template("confirm.html", year=year,
                                   preview=review.unflagged_pending(store, year, users=users, include=include),
                                   include=include, profile=profile, error="")
        try:
            expected = int(request.form.get("expected", "-1"))
        except ValueError:
            raise InputError("表单内容无效，请刷新页面后重试") from None
        try:
            done = review.confirm_unflagged(store, year, reviewer=g.user.name, users=users, include=include,
                                            expected=expected)
        except InputError as exc:
            return render_template("confirm.html", year=year,
                                   preview=review.unflagged_pending(store, year, users=users, include=include),
                                   include=include, profile=profile, error=str(exc)), 409
        return redirect(url_for("coordinator", confirmed=done.count), code=303)

    @app.post("/coordinator/confirm-unflagged/<int:batch>/undo")
    @coordinator_only
    def undo_confirm(batch: int):
        done = review.undo_batch(_store(), batch, reviewer=g.user.name)
        return redirect(url_for("coordinator", undone=done.taken_back, kept=done.kept), code=303)

    @app.route("/coordinator/users", methods=["GET", "POST"])
    @coordinator_only
    def users():
        store, profile = _store(), _profile()
        error, status, added = "", 200, ""
        form = request.form
        if request.method == "POST":
            try:
                if form.get("password", "") != form.get("repeat", ""):
                    raise InputError("两次输入的密码不一致，账户未创建")
                user = accounts.add_user(store, profile, form.get("name", ""), role=form.get("role", "reviewer"),
                                         password=form.get("password", ""), divisions=form.getlist("divisions"))
                added = user.name
            except (InputError, StoreError) as exc:
                # The store's path is no business of the page: only what to do.
                error, status = str(exc).split("：", 1)[-1] if isinstance(exc, StoreError) else str(exc), 400
        return render_template("users.html", users=accounts.list_users(store), profile=profile, error=error,
                               added=added, form=form if error else {}), status

    @app.post("/coordinator/users/<name>/<verb>")
    @coordinator_only
    def user_state(name: str, verb: str):
        if verb not in ("disable", "enable"):
            abort(404)
        accounts.set_disabled(_store(), name, verb == "disable", by=g.user)
        return redirect(url_for("users"), code=303)

    @app.get("/coordinator/table.xlsx")
    @coordinator_only
    def table():
        year = _year()
        if year is None:
            abort(404)
        store, profile = _store(), _profile()
        division = request.args.get("division", "")
        if request.args.get("status") == "待定":
            data = collab.filtered_table(store, profile, year, keep=lambda i: i.status == "待定")
            name = f"{year}年待定建议.xlsx"
        elif division:
            if division not in profile.division_keys:
                abort(404)
            data = collab.filtered_table(store, profile, year, keep=lambda i: collab.current_division(i) == division)
            name = f"{year}年{profile.division(division).name}建议交办任务表.xlsx"
        else:
            data = backend.assignment_table(store, profile, year)
            name = f"{year}年建议交办任务表.xlsx"
        return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)

    @app.get("/coordinator/report.xlsx")
    @coordinator_only
    def report():
        year = _year()
        if year is None:
            abort(404)
        data = backend.intake_report(_store(), _profile(), year)
        return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"{year}年建议办理情况报告.xlsx")
