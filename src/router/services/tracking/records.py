"""The steps of handling, and each record of one: parsing dates, checking a step, appending it."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from ...errors import InputError
from ...profile import Profile
from ...routing import add_months
from ...store import Store, _now

from .steps import DATE_COLUMN, MISSING, STEP, STEPS  # noqa: F401  (the steps as data; re-exported)

ASSIGNED, TRANSFERRED, CONTACTED, CONSULTED, REPLIED, VISITED = STEPS
ROLES = ("主办", "会办")
ORIGIN = "tracking"



# --- dates -------------------------------------------------------------------------------

_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_day(value) -> dt.date | None:
    """A date from a cell or an option: a date, 2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 20000 <= value <= 80000:
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))  # an Excel serial date
    text = str(value).strip().lstrip("'")
    if (m := re.match(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2})?$", text)):
        text = m.group(1)
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"'{text}' 不是日期；请写成 2021-03-05")
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"'{text}' 不是有效日期；请写成 2021-03-05") from None


# --- the stored records ------------------------------------------------------------------

@dataclass
class Record:
    """One stored handling record."""

    id: int
    step: str
    day: dt.date | None
    detail: dict
    recorder: str
    origin: str
    created: str


@dataclass
class Handling:
    """A suggestion and its handling records: its state, read from the latest record of each step."""

    suggestion_id: int
    year: int | None
    number: str
    title: str
    routed: dict
    records: list[Record] = field(default_factory=list)
    body: str = ""

    @property
    def label(self) -> str:
        return f"{self.number or self.suggestion_id}（{self.year}年）" if self.year else str(self.number)

    def latest(self, step: str) -> Record | None:
        return next((r for r in reversed(self.records) if r.step == step), None)

    def done(self, step: str) -> Record | None:
        """The record that does ``step`` for this suggestion, by its role.

        On a 会办 row a reply is the co-handler's opinion to the lead (it does 已会商, not 已答复):
        the office's reply and the deputy's visit belong to the lead's row.
        """
        if self.role == "会办":
            if step == CONSULTED:
                return self.latest(CONSULTED) or self.latest(REPLIED)
            if step in (REPLIED, VISITED):
                return None
        return self.latest(step)

    @property
    def assignment(self) -> Record | None:
        return self.latest(ASSIGNED)

    @property
    def assigned(self) -> dt.date | None:
        return self.assignment.day if self.assignment else None

    @property
    def role(self) -> str:
        return self.assignment.detail.get("role", "") if self.assignment else ""

    @property
    def key(self) -> bool:
        return bool(self.assignment and self.assignment.detail.get("key"))

    @property
    def division(self) -> str | None:
        transfer = self.latest(TRANSFERRED)
        if transfer:
            return transfer.detail["division"]
        if self.assignment and self.assignment.detail.get("division"):
            return self.assignment.detail["division"]
        return self.routed.get("division")

    @property
    def topic(self) -> str | None:
        return self.routed.get("topic") or (self.assignment.detail.get("topic") if self.assignment else None)

    def reply_due(self, profile: Profile) -> dt.date:
        months = profile.tracking.key_months if self.key and profile.tracking.key_months else profile.deadline_months
        return add_months(self.assigned, months)

    def due_of(self, step: str, profile: Profile) -> dt.date | None:
        """When ``step`` is due for this suggestion, or None when the office does not owe it."""
        t = profile.tracking
        if not self.assigned:
            return None
        if step == CONTACTED and self.role == "主办":
            return self.assigned + dt.timedelta(days=t.contact_days)
        if step == CONSULTED and self.role == "会办":
            return self.reply_due(profile) - dt.timedelta(days=t.opinion_days_before)
        if step == REPLIED and self.role == "主办":
            return self.reply_due(profile)
        if step == VISITED and self.done(REPLIED) and self.done(REPLIED).day:
            return self.done(REPLIED).day + dt.timedelta(days=t.followup_days)
        return None

    def done_by(self, step: str, on: dt.date) -> bool:
        """Whether the step is recorded as done on or before ``on`` (a record without a date counts as done)."""
        record = self.done(step)
        return record is not None and (record.day is None or record.day <= on)

    def on_time(self, step: str, profile: Profile) -> bool | None:
        """Whether the step was done by its due date; None when not done or not owed."""
        record, due = self.done(step), self.due_of(step, profile)
        if record is None or due is None or record.day is None:
            return None
        return record.day <= due


def _routed(store: Store, db, suggestion_id: int) -> dict:
    """The route that counts: the latest decision's, else the latest suggested route."""
    latest = store.latest_decision(db, suggestion_id)
    if latest is not None and latest.after:
        return latest.after
    return store.suggested_route(db, suggestion_id) or {}


def _records(store: Store, db, suggestion_ids: list[int]) -> dict[int, list[Record]]:
    out: dict[int, list[Record]] = {sid: [] for sid in suggestion_ids}
    for rid, sid, step, day, detail, recorder, origin, created in store.handling_rows(db, suggestion_ids):
        out[sid].append(Record(rid, step, dt.date.fromisoformat(day) if day else None, json.loads(detail),
                               recorder, origin, created))
    return out


def handling_of(store: Store, db, suggestion_id: int) -> Handling:
    """One suggestion's handling, read inside ``db`` (a transaction of ``store``, or its connection)."""
    year, number, title, body = store.suggestion_brief(db, suggestion_id)
    return Handling(suggestion_id, year, number or "", title, _routed(store, db, suggestion_id),
                    _records(store, db, [suggestion_id])[suggestion_id], body)


def handlings_of_year(store: Store, year: int) -> list[Handling]:
    """Every assigned suggestion of ``year`` (not withdrawn), in the order of their numbers."""
    db = store.db
    rows = store.suggestions_with_step(year, ASSIGNED)
    records = _records(store, db, [r[0] for r in rows])
    out = [Handling(sid, y, number or "", title, _routed(store, db, sid), records[sid], body)
           for sid, y, number, title, body in rows]
    return sorted(out, key=lambda h: (_number_key(h.number), h.suggestion_id))


def _number_key(number: str) -> tuple:
    digits = re.sub(r"\D", "", number or "")
    return (int(digits) if digits else 10 ** 12, number or "")


def assigned_years(store: Store) -> list[int]:
    return store.years_with_step(ASSIGNED)


def tracking_year(store: Store) -> int | None:
    """The latest year with assigned suggestions; else the latest year in the store."""
    years = store.years_with_step(ASSIGNED)
    return years[-1] if years else store.latest_year()


def find_suggestion(store: Store, ident: str, year: int | None = None) -> int:
    """The stored suggestion numbered ``ident`` (第318号, 318), in ``year`` when given.

    Without ``year``, a number filed in several years is the one of the year of the latest
    交办 of that number; a number never assigned must be given its year.
    """
    wanted = re.sub(r"\D", "", ident)
    rows = store.numbered(year)
    matches = [(sid, y) for sid, y, number in rows
               if (number or "") == ident.strip() or (wanted and re.sub(r"\D", "", number or "") == wanted)]
    where = f"{year}年" if year else "存储"
    if not matches:
        raise InputError(f"{store.path}：{where}中没有建议 {ident}；请核对建议号" + ("" if year else "或加 --year"))
    years = sorted({y for _, y in matches if y})
    if len(matches) > 1 and len(years) > 1 and not year:
        assigned = store.latest_step_year(ASSIGNED, wanted) if wanted else None
        if assigned in years:
            matches = [(sid, y) for sid, y in matches if y == assigned]
            years = [assigned]
    if len(matches) > 1:
        if len(years) > 1:
            raise InputError(f"{store.path}：建议 {ident} 在{'、'.join(f'{y}年' for y in years)}都有，且都未交办；"
                             "请加 --year 指明年度")
        raise InputError(f"{store.path}：{where}中有 {len(matches)} 件建议编号为 {ident}；请核对建议号")
    return matches[0][0]


# --- recording ---------------------------------------------------------------------------

def _check(h: Handling, step: str, day: dt.date | None, detail: dict, profile: Profile) -> tuple[str, str] | None:
    """What is wrong with recording ``step`` for ``h`` now, as (column, message); None when it may be recorded."""
    t = profile.tracking
    date_column = DATE_COLUMN[step]
    if step == ASSIGNED:
        if day is None:
            return date_column, "交办需要交办日期"
        if detail.get("role") not in ROLES:
            return "办理类型", f"'{detail.get('role', '')}' 不是 {'、'.join(ROLES)} 之一"
        if not detail.get("division"):
            return "确认主办处室", "交办需要主办处室；请先复核（router accept）或指明处室"
        return None
    if not h.assigned:
        return date_column, f"尚未交办，不能登记“{step}”；请先登记交办（填写交办日期，或 router track ID 交办 --date …）"
    if day is not None and day < h.assigned:
        return date_column, f"{date_column} {day} 早于交办日期 {h.assigned}；请核对日期"
    if step == TRANSFERRED:
        if not detail.get("division"):
            return "转办处室", "转办需要新的主办处室"
        if detail["division"] == h.division:
            return "转办处室", f"已由{profile.division(h.division).name}办理，无需转办"
    elif step == CONTACTED:
        if day is None:
            return date_column, "联系代表需要联系日期"
        if detail.get("how") not in t.contact_methods:
            return "联系方式", f"'{detail.get('how', '')}' 不是联系方式之一（可选：{'、'.join(t.contact_methods)}）"
    elif step == CONSULTED:
        if day is None:
            return date_column, "会商需要送达会办意见的日期"
    elif step == REPLIED:
        if day is None:
            return date_column, "答复需要答复日期"
        grade = detail.get("grade", "")
        if not grade:
            return "答复类别", "答复需要答复类别（可选：" + "、".join(g.code for g in t.grades) + "）"
        if t.grade(grade) is None:
            return "答复类别", f"'{grade}' 不在本机构的答复类别中（可选：{'、'.join(g.code for g in t.grades)}）"
        asks, adopted = detail.get("asks"), detail.get("adopted")
        if adopted is not None and asks is not None and adopted > asks:
            return "采纳条数", f"采纳条数 {adopted} 多于建议条数 {asks}"
    elif step == VISITED:
        reply = h.latest(REPLIED)
        if reply is None:
            return "满意度", "尚无答复记录，不能登记满意度；请先登记答复"
        if detail.get("satisfaction") not in t.satisfaction:
            return "满意度", f"'{detail.get('satisfaction', '')}' 不是满意度之一（可选：{'、'.join(t.satisfaction)}）"
        if day is not None and reply.day and day < reply.day:
            return date_column, f"回访日期 {day} 早于答复日期 {reply.day}；请核对日期"
    return None


def _normalized(step: str, detail: dict, profile: Profile) -> dict:
    """Only the fields a step keeps (its :class:`~router.services.tracking.steps.Step`), in canonical
    form, so equal records compare equal."""
    fields = STEP[step].fields
    out = {f.name: detail.get(f.name) for f in fields}
    if step == REPLIED and out["grade"]:
        grade = profile.tracking.grade(out["grade"])
        out["grade"] = grade.code if grade else out["grade"]
    if step == ASSIGNED:
        out["key"] = bool(out["key"])
        out["co_divisions"] = list(out["co_divisions"] or [])
    return {f.name: (f.default if out[f.name] is None else out[f.name]) for f in fields}


def describe(record: Record, profile: Profile) -> str:
    """A record's details in words, e.g. "主办，开发指导处，重点" or "A1，已印发文件（3条建议，采纳2条）"."""
    d = record.detail
    name = lambda key: profile.division(key).name if key in profile.division_keys else (key or "")  # noqa: E731
    if record.step == ASSIGNED:
        return "，".join(x for x in (d.get("role"), name(d.get("division")), "重点" if d.get("key") else "") if x)
    if record.step == TRANSFERRED:
        return f"{name(d.get('from'))}→{name(d.get('division'))}" + (f"，{d['comment']}" if d.get("comment") else "")
    if record.step == CONTACTED:
        return d.get("how", "") + (f"，{d['note']}" if d.get("note") else "")
    if record.step == CONSULTED:
        return d.get("note", "")
    if record.step == REPLIED:
        asks = f"（{d['asks']}条建议，采纳{d.get('adopted') or 0}条）" if d.get("asks") is not None else ""
        return d.get("grade", "") + (f"，{d['text']}" if d.get("text") else "") + asks
    return d.get("satisfaction", "") + (f"，{d['comment']}" if d.get("comment") else "")


def _same(record: Record | None, day: dt.date | None, detail: dict) -> bool:
    return record is not None and record.day == day and record.detail == detail


def _append(db, h: Handling, step: str, day: dt.date | None, detail: dict, *, recorder: str, origin: str,
            profile: Profile, store: Store) -> Record:
    created = _now()
    rid = store.append_handling(db, h.suggestion_id, step, day.isoformat() if day else None, detail,
                                recorder=recorder, origin=origin, created=created)
    record = Record(rid, step, day, detail, recorder, origin, created)
    if step == TRANSFERRED:
        # A route corrected during handling is a reviewer's correction for the next model: a 修改,
        # recorded by the same rules as every other decision.
        from ..review import record as record_decision, settle, standing

        before = {"topic": h.topic, "division": h.division, "co_divisions": list(h.routed.get("co_divisions", []))}
        after = {"topic": h.topic, "division": detail["division"],
                 "co_divisions": [c for c in before["co_divisions"] if c != detail["division"]]}
        if h.topic:
            now = standing(store, db, h.suggestion_id)
            decision = settle(now, "修改", route=after, comment=detail.get("comment") or
                              f"办理中转办：{profile.division(h.division).name}→{profile.division(detail['division']).name}")
            record_decision(store, db, now, decision, reviewer=recorder, origin=ORIGIN)
            h.routed = after
    h.records.append(record)
    return record


def record_event(store: Store, profile: Profile, suggestion_id: int, step: str, *, day: dt.date | None = None,
                 recorder: str, origin: str = "terminal", **fields) -> bool:
    """Record one step for one suggestion after checking it; True when something new was recorded.

    ``fields`` are the step's details: role, key, division (交办, 转办); how (联系); grade, text,
    asks, adopted (答复); satisfaction, comment (回访); note, comment.
    """
    if step not in STEPS:
        raise InputError(f"未知的办理步骤 '{step}'；可选：{'、'.join(STEPS)}")
    with store.transaction() as db:
        h = handling_of(store, db, suggestion_id)
        if step == ASSIGNED:
            fields.setdefault("division", h.routed.get("division"))
            fields.setdefault("topic", h.routed.get("topic"))
            fields.setdefault("co_divisions", h.routed.get("co_divisions", []))
        if step == TRANSFERRED:
            fields["from"] = h.division or ""
        detail = _normalized(step, fields, profile)
        problem = _check(h, step, day, detail, profile)
        if problem:
            raise InputError(f"{h.label}：{problem[1]}（未记录）")
        if _same(h.latest(step), day, detail):
            return False
        _append(db, h, step, day, detail, recorder=recorder, origin=origin, profile=profile, store=store)
        return True

