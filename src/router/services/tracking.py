"""Handling after assignment: recording each step, what is due, and the year-end figures.

Each suggestion, once assigned (已交办), goes through 已联系代表 (how and when the deputy was
contacted), 已会商 (a co-handler's opinion sent to the lead unit), 已答复 (the reply: date,
grade from the profile's set, text or file reference) and 已回访 (the deputy's satisfaction).
A division may hand a suggestion to another one during handling (已转办); that correction of
the route is also recorded as a decision (修改, origin 'tracking'), so the next model learns it.

Records are appended to the store's ``handling`` table and never changed; the latest record of
a step is the one that counts, so a correction is a new record. The CLI (`router track`,
`router due`, `router report`) and the web page call the functions here; nothing here imports
click or reads the environment.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..profile import Profile
from ..routing import add_months
from ..store import Store, _now
from ..table import KEY_HEADER, TRACKING_HEADERS

__all__ = [
    "STEPS", "ASSIGNED", "TRANSFERRED", "CONTACTED", "CONSULTED", "REPLIED", "VISITED", "ROLES",
    "TRACKING_HEADERS", "Record", "Handling", "DueStep", "YearEnd", "ImportResult",
    "parse_day", "describe", "find_suggestion", "assigned_years", "handling_of", "handlings_of_year", "tracking_year", "record_event",
    "import_table", "due_steps", "division_summary", "year_end",
]

ASSIGNED, TRANSFERRED, CONTACTED, CONSULTED, REPLIED, VISITED = STEPS = (
    "已交办", "已转办", "已联系代表", "已会商", "已答复", "已回访")
ROLES = ("主办", "会办")
ORIGIN = "tracking"

# The column (and terminal option) that holds each step's date.
DATE_COLUMN = {ASSIGNED: "交办日期", TRANSFERRED: "转办日期", CONTACTED: "联系日期", CONSULTED: "会商日期",
               REPLIED: "答复日期", VISITED: "回访日期"}
MISSING = {CONTACTED: "未联系代表", CONSULTED: "未送会办意见", REPLIED: "未答复", VISITED: "未回访"}


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
        if step == VISITED and self.latest(REPLIED) and self.latest(REPLIED).day:
            return self.latest(REPLIED).day + dt.timedelta(days=t.followup_days)
        return None

    def done_by(self, step: str, on: dt.date) -> bool:
        """Whether the step is recorded as done on or before ``on`` (a record without a date counts as done)."""
        record = self.latest(step)
        return record is not None and (record.day is None or record.day <= on)

    def on_time(self, step: str, profile: Profile) -> bool | None:
        """Whether the step was done by its due date; None when not done or not owed."""
        record, due = self.latest(step), self.due_of(step, profile)
        if record is None or due is None or record.day is None:
            return None
        return record.day <= due


def _routed(db, suggestion_id: int) -> dict:
    """The route that counts: the latest decision's, else the latest suggested route."""
    row = db.execute("SELECT after FROM decisions WHERE suggestion_id = ? ORDER BY id DESC LIMIT 1",
                     (suggestion_id,)).fetchone()
    if row and row[0]:
        return json.loads(row[0])
    row = db.execute("SELECT topic, division, co_divisions FROM routes WHERE suggestion_id = ? ORDER BY id DESC LIMIT 1",
                     (suggestion_id,)).fetchone()
    if row and row[0]:
        return {"topic": row[0], "division": row[1], "co_divisions": json.loads(row[2] or "[]")}
    return {}


def _records(db, suggestion_ids: list[int]) -> dict[int, list[Record]]:
    out: dict[int, list[Record]] = {sid: [] for sid in suggestion_ids}
    for start in range(0, len(suggestion_ids), 500):
        chunk = suggestion_ids[start:start + 500]
        rows = db.execute(
            f"SELECT id, suggestion_id, step, day, detail, recorder, origin, created FROM handling "
            f"WHERE suggestion_id IN ({','.join('?' * len(chunk))}) ORDER BY id", chunk).fetchall()
        for rid, sid, step, day, detail, recorder, origin, created in rows:
            out[sid].append(Record(rid, step, dt.date.fromisoformat(day) if day else None, json.loads(detail),
                                   recorder, origin, created))
    return out


def handling_of(db, suggestion_id: int) -> Handling:
    year, number, title, body = db.execute("SELECT year, number, title, body FROM suggestions WHERE id = ?",
                                           (suggestion_id,)).fetchone()
    return Handling(suggestion_id, year, number or "", title, _routed(db, suggestion_id),
                    _records(db, [suggestion_id])[suggestion_id], body)


def handlings_of_year(store: Store, year: int) -> list[Handling]:
    """Every assigned suggestion of ``year``, in the order of their numbers."""
    db = store.db
    rows = db.execute(
        "SELECT DISTINCT s.id, s.year, s.number, s.title, s.body FROM suggestions s "
        "JOIN handling h ON h.suggestion_id = s.id WHERE s.year = ? AND h.step = ?", (year, ASSIGNED)).fetchall()
    records = _records(db, [r[0] for r in rows])
    out = [Handling(sid, y, number or "", title, _routed(db, sid), records[sid], body)
           for sid, y, number, title, body in rows]
    return sorted(out, key=lambda h: (_number_key(h.number), h.suggestion_id))


def _number_key(number: str) -> tuple:
    digits = re.sub(r"\D", "", number or "")
    return (int(digits) if digits else 10 ** 12, number or "")


def assigned_years(store: Store) -> list[int]:
    rows = store.db.execute("SELECT DISTINCT s.year FROM suggestions s JOIN handling h ON h.suggestion_id = s.id "
                            "WHERE h.step = ? AND s.year IS NOT NULL ORDER BY s.year", (ASSIGNED,)).fetchall()
    return [r[0] for r in rows]


def tracking_year(store: Store) -> int | None:
    """The latest year with assigned suggestions; else the latest year in the store."""
    row = store.db.execute(
        "SELECT MAX(s.year) FROM suggestions s JOIN handling h ON h.suggestion_id = s.id WHERE h.step = ?",
        (ASSIGNED,)).fetchone()
    if row and row[0]:
        return row[0]
    row = store.db.execute("SELECT MAX(year) FROM suggestions").fetchone()
    return row[0] if row else None


def find_suggestion(store: Store, ident: str, year: int | None = None) -> int:
    """The stored suggestion numbered ``ident`` (第318号, 318), in ``year`` when given."""
    wanted = re.sub(r"\D", "", ident)
    rows = store.db.execute("SELECT id, year, number FROM suggestions" + (" WHERE year = ?" if year else ""),
                            (year,) if year else ()).fetchall()
    matches = [(sid, y) for sid, y, number in rows
               if (number or "") == ident.strip() or (wanted and re.sub(r"\D", "", number or "") == wanted)]
    where = f"{year}年" if year else "存储"
    if not matches:
        raise InputError(f"{store.path}：{where}中没有建议 {ident}；请核对建议号" + ("" if year else "或加 --year"))
    years = sorted({y for _, y in matches if y})
    if len(matches) > 1:
        if len(years) > 1:
            raise InputError(f"{store.path}：建议 {ident} 在{'、'.join(f'{y}年' for y in years)}都有；请加 --year 指明年度")
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
    """Only the fields a step keeps, in canonical form, so equal records compare equal."""
    keep = {ASSIGNED: ("role", "key", "topic", "division", "co_divisions"), TRANSFERRED: ("division", "from", "comment"),
            CONTACTED: ("how", "note"), CONSULTED: ("note",), REPLIED: ("grade", "text", "asks", "adopted"),
            VISITED: ("satisfaction", "comment")}[step]
    out = {k: detail.get(k) for k in keep}
    if step == REPLIED and out["grade"]:
        grade = profile.tracking.grade(out["grade"])
        out["grade"] = grade.code if grade else out["grade"]
    if step == ASSIGNED:
        out["key"] = bool(out["key"])
        out["co_divisions"] = list(out["co_divisions"] or [])
    return {k: ("" if v is None and k in ("note", "comment", "text", "from") else v) for k, v in out.items()}


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
    cursor = db.execute(
        "INSERT INTO handling (suggestion_id, step, day, detail, recorder, origin, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (h.suggestion_id, step, day.isoformat() if day else None, json.dumps(detail, ensure_ascii=False, sort_keys=True),
         recorder, origin, _now()))
    record = Record(cursor.lastrowid, step, day, detail, recorder, origin, _now())
    if step == TRANSFERRED:
        # A route corrected during handling is a reviewer's correction for the next model.
        before = {"topic": h.topic, "division": h.division, "co_divisions": list(h.routed.get("co_divisions", []))}
        after = {"topic": h.topic, "division": detail["division"],
                 "co_divisions": [c for c in before["co_divisions"] if c != detail["division"]]}
        if h.topic:
            store.add_decision(db, h.suggestion_id, action="修改", reviewer=recorder, after=after, before=before,
                               comment=detail.get("comment") or f"办理中转办：{profile.division(h.division).name}→"
                               f"{profile.division(detail['division']).name}", origin=ORIGIN)
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
        h = handling_of(db, suggestion_id)
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


# --- the assignment table ------------------------------------------------------------------

@dataclass
class Conflict:
    row: int
    column: str
    table: str
    stored: str
    recorded: str

    def __str__(self) -> str:
        return f"第{self.row}行 {self.column}：表中为“{self.table}”，已记录为“{self.stored}”（{self.recorded}）"


@dataclass
class ImportResult:
    year: int
    rows: int = 0
    recorded: Counter = field(default_factory=Counter)
    unchanged: int = 0
    conflicts: list[Conflict] = field(default_factory=list)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lstrip("'").strip()


def _shown(step: str, record: Record, column: str, profile: Profile) -> str:
    """A stored record's value as the table's ``column`` shows it."""
    d = record.detail
    return {
        "交办日期": str(record.day or ""), "办理类型": d.get("role", ""), "重点": "是" if d.get("key") else "否",
        "转办处室": profile.division(d["division"]).name if d.get("division") and step == TRANSFERRED else "",
        "联系日期": str(record.day or ""), "联系方式": d.get("how", ""), "会商日期": str(record.day or ""),
        "答复日期": str(record.day or ""), "答复类别": d.get("grade", ""), "答复内容或文号": d.get("text", ""),
        "建议条数": "" if d.get("asks") is None else str(d["asks"]),
        "采纳条数": "" if d.get("adopted") is None else str(d["adopted"]),
        "满意度": d.get("satisfaction", ""), "回访日期": str(record.day or ""), "回访意见": d.get("comment", ""),
    }[column]


# Each step of a row: the table columns it reads, the one whose emptiness means "not filled".
_ROW_STEPS = [
    (ASSIGNED, ("交办日期", "办理类型", "重点")),
    (TRANSFERRED, ("转办处室",)),
    (CONTACTED, ("联系日期", "联系方式")),
    (CONSULTED, ("会商日期",)),
    (REPLIED, ("答复日期", "答复类别", "答复内容或文号", "建议条数", "采纳条数")),
    (VISITED, ("满意度", "回访日期", "回访意见")),
]
# A step is filled in a row when one of these is not empty (the others are details).
_FILLED_BY = {ASSIGNED: ("交办日期",), TRANSFERRED: ("转办处室",), CONTACTED: ("联系日期", "联系方式"),
              CONSULTED: ("会商日期",), REPLIED: ("答复日期", "答复类别"), VISITED: ("满意度",)}


class _CellError(ValueError):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def _count(value: str, column: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise _CellError(column, f"'{value}' 不是条数；请填写非负整数")
    return int(value)


def _row_fields(step: str, get, h: Handling, profile: Profile) -> dict:
    """The details of ``step`` as a row of the table gives them."""
    if step == ASSIGNED:
        routed = h.routed or {}
        division = routed.get("division")
        if not division:
            name = get("确认主办处室") or get("建议主办处室")
            division = profile.division_key(name) if name else None
        if get("重点") not in ("", "是", "否"):
            raise _CellError("重点", f"'{get('重点')}' 应为 是 或 否")
        topic = routed.get("topic") or profile.topic_key(get("确认主题") or get("建议主题") or "")
        return {"role": get("办理类型"), "key": get("重点") == "是", "division": division, "topic": topic,
                "co_divisions": routed.get("co_divisions", [])}
    if step == TRANSFERRED:
        division = profile.division_key(get("转办处室"))
        if division is None:
            raise _CellError("转办处室", f"'{get('转办处室')}' 不是本机构的处室（可选：{'、'.join(d.name for d in profile.divisions)}）")
        return {"division": division, "from": h.division or ""}
    if step == CONTACTED:
        return {"how": get("联系方式")}
    if step == REPLIED:
        return {"grade": get("答复类别"), "text": get("答复内容或文号"), "asks": _count(get("建议条数"), "建议条数"),
                "adopted": _count(get("采纳条数"), "采纳条数")}
    if step == VISITED:
        return {"satisfaction": get("满意度"), "comment": get("回访意见")}
    return {}


def _conflicts(row: int, step: str, columns, get, day, stored: Record, profile: Profile) -> list[Conflict]:
    """The table's non-empty cells that differ from the stored record (empty cells never conflict)."""
    out = []
    for column in columns:
        value = get(column)
        if not value:
            continue
        if column == DATE_COLUMN.get(step) and day is not None:
            value = str(day)
        if column == "答复类别" and profile.tracking.grade(value):
            value = profile.tracking.grade(value).code
        shown = _shown(step, stored, column, profile)
        if value != shown:
            out.append(Conflict(row, column, value, shown,
                                f"{stored.created[:10]} 由{stored.recorder}经{stored.origin or '终端'}登记"))
    return out


def _stored_ids(store: Store, db, key: str) -> list[int]:
    """The stored rows a table's hidden key names: one by identity, or those with the text of an older table's hash."""
    from ..intake import Identity

    identity = Identity.from_text(key)
    if identity is not None:
        sid = store.find(db, identity)
        return [sid] if sid is not None else []
    return store.suggestion_ids_with_text(key)


def import_table(store: Store, profile: Profile, path: Path, *, year: int | None = None, recorder: str,
                 origin: str | None = None) -> ImportResult:
    """Record the handling columns of an assignment table, all rows or none.

    Every row is checked first; any problem refuses the whole table, naming each row and column,
    and nothing is recorded. A value that differs from what is already recorded is a conflict:
    listed, not recorded (an older copy never overrides a newer record; correct a record with
    `router track`). Values equal to the records are skipped.
    """
    import openpyxl

    path = Path(path)
    origin = origin or path.name
    if not path.is_file():
        raise InputError(f"{path}：找不到文件；请给出 router route 写出并由处室填写的交办任务表（.xlsx）")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path}：不是可读的 .xlsx 工作簿（{type(exc).__name__}）；请在 Excel 或 WPS 中另存为 .xlsx") from None
    sheet = book["交办任务表"] if "交办任务表" in book.sheetnames else book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [_cell(c) for c in next(rows, [])]
    missing = [name for name in [KEY_HEADER, *TRACKING_HEADERS] if name not in header]
    if missing:
        raise InputError(f"{path}：不是带办理跟踪列的交办任务表（缺少列：{'、'.join(missing)}）；"
                         "请使用 router route 写出的 .xlsx")
    col = {name: i for i, name in enumerate(header) if name}
    table_rows = [(n, list(v) + [None] * (len(header) - len(v))) for n, v in enumerate(rows, start=2)]
    book.close()

    with store.transaction() as db:
        # The latest year in the store: last year's table needs --year, so it is never taken for this year's.
        target = year or store.db.execute("SELECT MAX(year) FROM suggestions").fetchone()[0]
        result = ImportResult(year=target)
        problems: list[str] = []
        pending: list[tuple[Handling, str, dt.date | None, dict]] = []
        handled: dict[int, int] = {}
        for row_number, values in table_rows:
            get = lambda name: _cell(values[col[name]]) if name in col else ""  # noqa: E731
            raw = {name: values[col[name]] for name in TRACKING_HEADERS}
            if not any(_cell(v) for v in values):
                continue
            if not any(get(name) for name in TRACKING_HEADERS):
                continue
            result.rows += 1
            where = f"第{row_number}行"
            key = get(KEY_HEADER)
            if not key:
                problems.append(f"{where} {KEY_HEADER}：为空；请勿修改该隐藏列")
                continue
            found = _stored_ids(store, db, key)
            if not found:
                problems.append(f"{where}：该建议不在存储 {store.path} 中（表格来自另一个存储？）；"
                                "请用生成此表时的存储（--store 或 ROUTER_STORE）")
                continue
            if len(found) > 1:
                problems.append(f"{where}：这张表是旧版 router 写出的，按文字识别建议，而存储里有 {len(found)} 条建议文字相同；"
                                "请用当前版本重新 router route 这份来文，在新表上填写")
                continue
            sid = found[0]
            own_year = db.execute("SELECT year FROM suggestions WHERE id = ?", (sid,)).fetchone()[0]
            if target and own_year != target:
                problems.append(f"{where}：该建议属于{own_year}年，本次导入的是{target}年的办理记录；"
                                f"导入{own_year}年的表格请加 --year {own_year}")
                continue
            if sid in handled:
                problems.append(f"{where}：与第{handled[sid]}行是同一件建议；每件建议只填一行")
                continue
            handled[sid] = row_number
            h = handling_of(db, sid)
            for step, columns in _ROW_STEPS:
                if not any(get(c) for c in _FILLED_BY[step]):
                    continue
                try:
                    day = parse_day(raw[DATE_COLUMN[step]]) if DATE_COLUMN[step] in raw else None
                    detail = _normalized(step, _row_fields(step, get, h, profile), profile)
                except _CellError as exc:
                    problems.append(f"{where} {exc.column}：{exc.message}")
                    break
                except ValueError as exc:
                    problems.append(f"{where} {DATE_COLUMN[step]}：{exc}")
                    break
                stored = h.latest(step)
                if step == TRANSFERRED and h.division == detail["division"]:
                    result.unchanged += 1
                    continue
                if stored is not None:
                    conflicts = [] if _same(stored, day, detail) else _conflicts(
                        row_number, step, columns, get, day, stored, profile)
                    result.conflicts.extend(conflicts)
                    result.unchanged += not conflicts
                    continue
                problem = _check(h, step, day, detail, profile)
                if problem:
                    problems.append(f"{where} {problem[0]}：{problem[1]}")
                    break
                # Applied at once, so that the row's later steps are checked against it.
                h.records.append(Record(0, step, day, detail, recorder, origin, ""))
                pending.append((h, step, day, detail))
        if problems:
            shown = "；".join(problems[:5]) + (f"；等共{len(problems)}处" if len(problems) > 5 else "")
            raise InputError(f"{path}：{shown}。未记录任何内容；请改正后重新导入")
        for h, *_ in pending:
            h.records = [r for r in h.records if r.id]
        for h, step, day, detail in pending:
            _append(db, h, step, day, detail, recorder=recorder, origin=origin, profile=profile, store=store)
            result.recorded[step] += 1
    return result


# --- supervision -----------------------------------------------------------------------------

@dataclass
class DueStep:
    """A step owed and not done, with its due date and how far ``on`` is from it."""

    handling: Handling
    step: str
    due: dt.date
    days_left: int
    division: str
    leader: str

    @property
    def missing(self) -> str:
        return MISSING[self.step]

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def status(self) -> str:
        if self.days_left < 0:
            return f"已逾期{-self.days_left}天"
        return "今日到期" if self.days_left == 0 else f"还剩{self.days_left}天"


def _division_order(profile: Profile, key: str | None) -> int:
    keys = profile.division_keys
    return keys.index(key) if key in keys else len(keys)


def due_steps(handlings: list[Handling], profile: Profile, on: dt.date, within_days: int) -> list[DueStep]:
    """Steps overdue at ``on`` or due within ``within_days`` after it, by division, leader and due date.

    The state is the one at ``on``: a step recorded with a later date was not done yet then.
    """
    out = []
    for h in handlings:
        if not h.assigned or h.assigned > on:
            continue
        for step in (CONTACTED, CONSULTED, REPLIED, VISITED):
            due = h.due_of(step, profile)
            if due is None or h.done_by(step, on) or (step == VISITED and not h.done_by(REPLIED, on)):
                continue
            left = (due - on).days
            if left <= within_days:
                division = profile.division(h.division) if h.division in profile.division_keys else None
                out.append(DueStep(h, step, due, left, division.name if division else "（未定处室）",
                                   division.leader if division else ""))
    return sorted(out, key=lambda d: (_division_order(profile, d.handling.division), d.leader, d.due,
                                      _number_key(d.handling.number)))


def division_summary(handlings: list[Handling], profile: Profile, on: dt.date) -> list[dict]:
    """Per division, at ``on``: assigned (led/co-handled), steps done, replies on time, overdue steps."""
    rows: dict[str, dict] = {}
    for h in handlings:
        division = profile.division(h.division).name if h.division in profile.division_keys else "（未定处室）"
        leader = profile.division(h.division).leader if h.division in profile.division_keys else ""
        row = rows.setdefault(division, {"处室": division, "责任领导": leader, "交办": 0, "主办": 0, "会办": 0,
                                         "已联系代表": 0, "已会商": 0, "已答复": 0, "按期答复": 0, "已回访": 0,
                                         "逾期未办": 0, "_order": _division_order(profile, h.division)})
        row["交办"] += 1
        row[h.role or "主办"] += 1
        for step in (CONTACTED, CONSULTED, REPLIED, VISITED):
            if h.done_by(step, on):
                row[step] += 1
            elif (due := h.due_of(step, profile)) is not None and due < on and (
                    step != VISITED or h.done_by(REPLIED, on)):
                row["逾期未办"] += 1
        row["按期答复"] += bool(h.done_by(REPLIED, on) and h.on_time(REPLIED, profile))
    return [{k: v for k, v in r.items() if k != "_order"} for r in sorted(rows.values(), key=lambda r: r["_order"])]


# --- the year end ------------------------------------------------------------------------------

@dataclass
class OpenItem:
    number: str
    title: str
    division: str
    grade: str
    reason: str


@dataclass
class YearEnd:
    """The year's handling figures, each counted from the store, and the report's sentences."""

    year: int
    received: int = 0
    led: int = 0
    co_handled: int = 0
    replied: int = 0
    replied_on_time: int = 0
    replied_late: int = 0
    unanswered: int = 0
    opinions: int = 0
    opinions_on_time: int = 0
    opinions_missing: int = 0
    grades: Counter = field(default_factory=Counter)
    grades_by_topic: dict[str, Counter] = field(default_factory=dict)
    satisfaction: Counter = field(default_factory=Counter)
    satisfied: int = 0
    rated: int = 0
    not_visited: int = 0
    asks: int = 0
    adopted_asks: int = 0
    adopted: int = 0
    transferred: int = 0
    open_items: list[OpenItem] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def _percent(share: float) -> str:
    text = f"{share * 100:.1f}".removesuffix(".0")
    return f"{text}%"


def _grade_phrase(counts: Counter, profile: Profile) -> str:
    """ "9件为A1或A2类，1件为C1类": grades counted by their group, in the profile's order."""
    parts = []
    groups: dict[str, list] = {}
    for g in profile.tracking.grades:
        groups.setdefault(g.group, []).append(g.code)
    for codes in groups.values():
        n = sum(counts.get(c, 0) for c in codes)
        if n:
            present = [c for c in codes if counts.get(c)]
            parts.append(f"{n}件为{'或'.join(present)}类")
    return "，".join(parts)


def year_end(store: Store, profile: Profile, year: int) -> YearEnd:
    """Count the year's handling records into the year-end figures and sentences."""
    handlings = handlings_of_year(store, year)
    y = YearEnd(year)
    y.received = len(handlings)
    solved = {g.code for g in profile.tracking.grades if g.outcome == "solved"}
    for h in handlings:
        reply, visit = h.latest(REPLIED), h.latest(VISITED)
        y.transferred += h.latest(TRANSFERRED) is not None
        if h.role == "会办":
            y.co_handled += 1
            if h.latest(CONSULTED):
                y.opinions += 1
                y.opinions_on_time += bool(h.on_time(CONSULTED, profile))
            else:
                y.opinions_missing += 1
        else:
            y.led += 1
            if reply is None:
                y.unanswered += 1
            else:
                y.replied += 1
                on_time = h.on_time(REPLIED, profile)
                y.replied_on_time += bool(on_time)
                y.replied_late += not on_time
        if reply is not None:
            grade = reply.detail["grade"]
            if h.role != "会办":
                y.grades[grade] += 1
                y.grades_by_topic.setdefault(h.topic or "", Counter())[grade] += 1
                y.adopted += grade in solved
            if reply.detail.get("asks") is not None:
                y.asks += reply.detail["asks"]
                y.adopted_asks += reply.detail.get("adopted") or 0
            if visit is None:
                y.not_visited += 1
        if visit is not None:
            y.rated += 1
            y.satisfaction[visit.detail["satisfaction"]] += 1
            y.satisfied += visit.detail["satisfaction"] in profile.tracking.satisfied
        if h.role != "会办" and (reply is None or reply.detail["grade"] not in solved):
            division = profile.division(h.division).name if h.division in profile.division_keys else ""
            reason = (reply.detail.get("text") or "") if reply else "尚未答复"
            grade = profile.tracking.grade(reply.detail["grade"]) if reply else None
            y.open_items.append(OpenItem(h.number, h.title, division, grade.code if grade else "",
                                         reason or (grade.meaning if grade else "")))
    y.sentences = _sentences(y, profile)
    return y


def _sentences(y: YearEnd, profile: Profile) -> list[str]:
    out = [f"{y.year}年共承办代表建议{y.received}件，其中主办{y.led}件、会办{y.co_handled}件。"]
    if y.led:
        if y.replied_on_time == y.led:
            text = f"主办的{y.led}件建议全部按期办结并书面答复代表"
        else:
            parts = [f"{y.replied_on_time}件按期答复"]
            if y.replied_late:
                parts.append(f"{y.replied_late}件逾期答复")
            if y.unanswered:
                parts.append(f"{y.unanswered}件尚未答复")
            text = f"主办的{y.led}件建议中，" + "，".join(parts)
        if y.co_handled:
            if y.opinions_on_time == y.co_handled:
                text += f"；会办的{y.co_handled}件全部按期向主办单位送达会办意见"
            else:
                text += f"；会办的{y.co_handled}件中，{y.opinions_on_time}件按期送达会办意见"
                if y.opinions - y.opinions_on_time:
                    text += f"，{y.opinions - y.opinions_on_time}件逾期送达"
                if y.opinions_missing:
                    text += f"，{y.opinions_missing}件尚未送达"
        out.append(text + "。")
    if y.replied:
        out.append(f"从答复类别看，已答复的{y.replied}件主办建议中，{_grade_phrase(y.grades, profile)}。")
        parts = []
        for topic in profile.topics:
            counts = y.grades_by_topic.get(topic.key)
            if counts:
                parts.append(f"涉及{topic.name}方面的{sum(counts.values())}件中，{_grade_phrase(counts, profile)}")
        if parts:
            out.append("按主题分，" + "；".join(parts) + "。")
    if y.rated:
        detail = "、".join(f"{level}{y.satisfaction.get(level, 0)}件" for level in profile.tracking.satisfaction)
        text = f"回访代表{y.rated}件，代表满意率{_percent(y.satisfaction_rate)}（{detail}）"
        if y.not_visited:
            text += f"，另有{y.not_visited}件已答复尚未回访"
        out.append(text + "。")
    if y.asks:
        out.append(f"代表在主办建议中提出的{y.asks}条具体建议中，{y.adopted_asks}条已经采纳。")
    elif y.replied:
        out.append(f"已解决或采纳的主办建议{y.adopted}件。")
    if y.open_items:
        out.append(f"需在下一年度继续推进的建议{len(y.open_items)}件：" + "；".join(
            f"{i.number}{'（' + i.grade + '类）' if i.grade else ''}，{i.reason}" for i in y.open_items) + "。")
    if y.transferred:
        out.append(f"办理中转办{y.transferred}件，已作为分办修正记入历史，供下一年度的模型学习。")
    return out
