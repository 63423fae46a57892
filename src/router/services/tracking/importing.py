"""A filled-in assignment table read back: each row's steps recorded, conflicts with the store listed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import InputError
from ...profile import Profile
from ...store import Store
from ...table import KEY_HEADER, TRACKING_HEADERS
from ...tablespec import canonical_header_row
from .records import (
    ASSIGNED,
    DATE_COLUMN,
    TRANSFERRED,
    Handling,
    Record,
    _append,
    _check,
    _normalized,
    _same,
    handling_of,
    parse_day,
)
from .steps import STEP, STEP_SPECS

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
    """A stored record's value as the table's ``column`` shows it (by the step's specification)."""
    spec = STEP[step]
    if column == spec.date_column:
        return str(record.day or "")
    field = next(f for f in spec.fields if f.column == column)
    value = record.detail.get(field.name)
    if field.kind == "flag":
        return "是" if value else "否"
    if field.kind == "division":
        return profile.division(value).name if value else ""
    if field.kind == "count":
        return "" if value is None else str(value)
    return value or ""


# Each step of a row: the table columns it reads, and those any of which filled means the row fills the step.
_ROW_STEPS = [(s.name, s.columns) for s in STEP_SPECS]
_FILLED_BY = {s.name: s.filled_by for s in STEP_SPECS}


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
    """The details of ``step`` as a row of the table gives them: each field of the step's specification
    read by its kind, then the fields derived from the route and the handling."""
    out = {}
    for field in STEP[step].fields:
        if not field.column:
            continue
        value = get(field.column)
        if field.kind == "flag":
            if value not in ("", "是", "否"):
                raise _CellError(field.column, f"'{value}' 应为 是 或 否")
            value = value == "是"
        elif field.kind == "division":
            key = profile.division_key(value)
            if key is None:
                raise _CellError(field.column, f"'{value}' 不是本机构的处室（可选：{'、'.join(d.name for d in profile.divisions)}）")
            value = key
        elif field.kind == "count":
            value = _count(value, field.column)
        out[field.name] = value
    if step == ASSIGNED:
        routed = h.routed or {}
        division = routed.get("division")
        if not division:
            name = get("确认主办处室") or get("建议主办处室")
            division = profile.division_key(name) if name else None
        topic = routed.get("topic") or profile.topic_key(get("确认主题") or get("建议主题") or "")
        out.update(division=division, topic=topic, co_divisions=routed.get("co_divisions", []))
    if step == TRANSFERRED:
        out["from"] = h.division or ""
    return out


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
    from ...intake import Identity

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
    from ...review import open_table_sheet, read_table_state
    from ..review import table_store_problem

    path = Path(path)
    origin = origin or path.name
    problem = table_store_problem(store, path, read_table_state(path)) if path.is_file() else None
    if problem:
        raise InputError(problem)
    sheet = open_table_sheet(path, "请给出 router route 写出并由处室填写的交办任务表（.xlsx）")
    book = sheet.parent
    rows = sheet.iter_rows(values_only=True)
    header = canonical_header_row(_cell(c) for c in next(rows, []))  # 转办部门 → 转办处室
    missing = [name for name in [KEY_HEADER, *TRACKING_HEADERS] if name not in header]
    if missing:
        raise InputError(f"{path}：不是带办理跟踪列的交办任务表（缺少列：{'、'.join(missing)}）；"
                         "请使用 router route 写出的 .xlsx")
    col = {name: i for i, name in enumerate(header) if name}
    table_rows = [(n, list(v) + [None] * (len(header) - len(v))) for n, v in enumerate(rows, start=2)]
    book.close()

    with store.transaction() as db:
        # The latest year in the store: last year's table needs --year, so it is never taken for this year's.
        target = year or store.latest_year(db)
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
            own_year = store.suggestion_year(db, sid)
            if target and own_year != target:
                problems.append(f"{where}：该建议属于{own_year}年，本次导入的是{target}年的办理记录；"
                                f"导入{own_year}年的表格请加 --year {own_year}")
                continue
            if sid in handled:
                problems.append(f"{where}：与第{handled[sid]}行是同一件建议；每件建议只填一行")
                continue
            handled[sid] = row_number
            h = handling_of(store, db, sid)
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

