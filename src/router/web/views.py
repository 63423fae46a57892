"""The pages: the queue, a suggestion and its decision, and the coordinator's desk.

Views parse the request, call :mod:`router.web.backend` and render a template; they hold no
review rule of their own. Authentication and CSRF were checked before any of them runs.
"""

from __future__ import annotations

import functools
import urllib.parse

from flask import Flask, abort, current_app, g, redirect, render_template, request, send_file, url_for
from io import BytesIO

from ..errors import InputError
from . import backend

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    years = backend.years(_store())
    return years[0] if years else None


def coordinator_only(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not g.user.is_coordinator:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _visible(item) -> bool:
    current = item.current or {}
    return g.user.may_see(item.division) or g.user.may_see(current.get("division"))


def _mine(items):
    """The items the signed-in user may see (everything for a coordinator or an unlimited reviewer)."""
    if g.user.is_coordinator or not g.user.divisions:
        return list(items)
    return [i for i in items if _visible(i)]


def _filtered(items, args):
    status, topic, division = args.get("status", ""), args.get("topic", ""), args.get("division", "")
    out = []
    for i in items:
        if status and i.status != status:
            continue
        if topic and (i.current or {}).get("topic") != topic:
            continue
        if division and i.division != division:
            continue
        out.append(i)
    return out


def _filters(args) -> dict:
    return {k: args.get(k, "") for k in ("status", "topic", "division") if args.get(k)}


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


def register(app: Flask) -> None:
    @app.get("/")
    def queue():
        year = _year()
        profile = _profile()
        if year is None:
            return render_template("empty.html")
        everything = _mine(backend.queue(_store(), year))
        items = _filtered(everything, request.args)
        counts = backend.division_counts(everything)
        saved = backend.item(_store(), request.args.get("saved", type=int) or 0) if request.args.get("saved") else None
        return render_template("queue.html", year=year, items=items, total=len(everything), counts=counts,
                               statuses=backend.STATUSES, profile=profile, filters=_filters(request.args),
                               saved=saved, outcome=request.args.get("outcome", ""))

    @app.get("/s/<int:sid>")
    def suggestion(sid: int):
        found = backend.item(_store(), sid)
        if found is None:
            abort(404)
        if not _visible(found):
            abort(403)
        filters = _filters(request.args)
        year = _year()
        items = _filtered(_mine(backend.order(_store(), year)), request.args) if year else []
        previous, following = _neighbours(items, sid)
        saved = backend.item(_store(), request.args.get("saved", type=int) or 0) if request.args.get("saved") else None
        return render_template("suggestion.html", item=found, profile=_profile(), previous=previous,
                               following=following, filters=filters, saved=saved,
                               outcome=request.args.get("outcome", ""))

    @app.post("/s/<int:sid>/decide")
    def decide(sid: int):
        store, profile = _store(), _profile()
        found = backend.item(store, sid)
        if found is None:
            abort(404)
        if not _visible(found):
            abort(403)
        form = request.form
        action = form.get("action", "")
        route = {"topic": form.get("topic", ""), "division": form.get("division", ""),
                 "co_divisions": form.getlist("co_divisions")}
        try:
            seen = int(form.get("seen", "0"))
        except ValueError:
            raise InputError("表单内容无效，请刷新页面后重试") from None
        outcome = backend.decide(store, profile, found, action=action, reviewer=g.user.name, route=route,
                                 comment=form.get("comment", "")[:2000], seen=seen)
        if outcome.kind == "conflict":
            return render_template("conflict.html", item=found, theirs=outcome.latest, mine_action=action,
                                   mine_route=route, mine_comment=form.get("comment", ""), profile=profile,
                                   filters=_filters(form)), 409
        filters = _filters(form)
        year = _year()
        items = _filtered(_mine(backend.order(store, year)), form) if year else []
        following = _next_pending(items, sid)
        if following is None:
            return redirect(_queue_url(filters, saved=sid, outcome=outcome.kind), code=303)
        query = urllib.parse.urlencode({**filters, "saved": sid, "outcome": outcome.kind})
        return redirect(url_for("suggestion", sid=following) + f"?{query}", code=303)

    @app.get("/coordinator")
    @coordinator_only
    def coordinator():
        from .. import accounts

        year = _year()
        if year is None:
            return render_template("empty.html")
        by_division, by_reviewer = backend.progress(_store(), year)
        items = backend.queue(_store(), year)
        unflagged = sum(1 for i in items if i.latest is None and i.topic and not i.needs_review)
        return render_template("coordinator.html", year=year, by_division=by_division, by_reviewer=by_reviewer,
                               unflagged=unflagged, users=accounts.list_users(_store()), profile=_profile(),
                               confirmed=request.args.get("confirmed", type=int), statuses=backend.STATUSES,
                               total=len(items))

    @app.post("/coordinator/confirm-unflagged")
    @coordinator_only
    def confirm_unflagged():
        year = _year()
        if year is None:
            abort(404)
        count = backend.confirm_unflagged(_store(), year, g.user.name)
        return redirect(url_for("coordinator", confirmed=count), code=303)

    @app.get("/coordinator/table.xlsx")
    @coordinator_only
    def table():
        year = _year()
        if year is None:
            abort(404)
        data = backend.assignment_table(_store(), _profile(), year)
        return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"{year}年建议交办任务表.xlsx")

    @app.get("/coordinator/report.xlsx")
    @coordinator_only
    def report():
        year = _year()
        if year is None:
            abort(404)
        data = backend.intake_report(_store(), _profile(), year)
        return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"{year}年建议办理情况报告.xlsx")
