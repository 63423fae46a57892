"""Reviewers' decisions: reading a reviewed assignment table, importing past years, recording."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .history import Labelled, split_divisions
from .intake import Identity
from .profile import Profile
from .routing import HumanDecision
from .store import ACTIONS, Store
from .table import KEY_HEADER
from .tablespec import canonical_header_row

__all__ = ["ReviewRow", "Conflict", "read_reviewed_table", "read_table_state", "find_conflicts", "describe_route",
           "unrecorded_review_rows", "accept_rows", "import_history", "human_decisions"]


@dataclass
class ReviewRow:
    row: int
    key: str  # the hidden 建议标识: an Identity as text (a table from before #13: a content hash)
    action: str
    suggested: dict
    confirmed: dict | None
    comment: str
    reviewer: str
    inferred: bool = False  # 确认 columns filled, 复核 empty: taken as 修改


# What a 确认会办处室 cell holds for "no co-handling division" (an empty cell keeps the suggested ones).
NO_DIVISIONS = ("无", "-", "—")


def _cell(value) -> str:
    return "" if value is None else str(value).strip().lstrip("'")


def _header_row(rows) -> tuple[int, list[str]]:
    """The header and its row number: the first row (of the first few) that holds the key column.

    A table may open with a title line (office, year, date of assignment) above the header.
    """
    for number, values in enumerate(rows, start=1):
        header = canonical_header_row(_cell(c) for c in values)  # 确认主办部门 → 确认主办处室
        if KEY_HEADER in header or "复核" in header or number >= 6:
            return number, header
    return 1, []


def read_table_state(path: Path) -> dict:
    """What an XLSX table remembers of its routing (the hidden sheet 路由信息); empty for older tables."""
    import openpyxl

    from .table import META_SHEET

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return {}
    if META_SHEET not in book.sheetnames:
        return {}
    return {_cell(k): _cell(v) for k, v, *_ in book[META_SHEET].iter_rows(min_row=2, values_only=True) if k}


def open_table_sheet(path: Path, what_to_give: str):
    """The sheet 交办任务表 (else the first) of a filled-in assignment workbook, read-only, cached values."""
    import openpyxl

    if not path.is_file():
        raise InputError(f"{path}：找不到文件；{what_to_give}")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path}：不是可读的 .xlsx 工作簿（{type(exc).__name__}）；请在 Excel 或 WPS 中另存为 .xlsx") from None
    return book["交办任务表"] if "交办任务表" in book.sheetnames else book.worksheets[0]


def read_reviewed_table(path: Path, profile: Profile, *, confirm_unflagged: bool = False) -> tuple[list[ReviewRow], int]:
    """Rows with a 复核 value, checked against the profile; and the number of untouched rows.

    Every bad row is reported at once (one error listing them all), and nothing is recorded.
    A row whose 确认 columns are filled but whose 复核 is empty counts as 修改 (its
    ``inferred`` says so); a 待定 needs its reason in 复核意见. Whether a 修改 changes anything
    is settled against the store when it is recorded (:func:`router.services.review.settle`). With
    ``confirm_unflagged`` a row whose 复核 is empty and that was not flagged for review
    (需人工复核 否) counts as 同意: the coordinator confirms every unflagged route in one step.
    """
    path = Path(path)
    sheet = open_table_sheet(path, "请给出 router route 写出、复核后的交办任务表（.xlsx）")
    header_at, header = _header_row(sheet.iter_rows(max_row=6, values_only=True))
    rows = sheet.iter_rows(min_row=header_at + 1, values_only=True)
    needed = ["需人工复核", "建议主题", "建议主办处室", "建议会办处室", "复核", "确认主题", "确认主办处室", "确认会办处室", "复核意见",
              "复核人", KEY_HEADER]
    missing = [name for name in needed if name not in header]
    if missing:
        raise InputError(f"{path}：不是 router route 写出的交办任务表（缺少列：{'、'.join(missing)}）；请复核 router route 写出的表")
    col = {name: header.index(name) for name in needed}
    topics = "、".join(t.name for t in profile.topics)
    divisions = "、".join(d.name for d in profile.divisions)

    def topic_of(row_number: int, column: str, value: str) -> str:
        key = profile.topic_key(value)
        if key is None:
            raise InputError(f"{path}：第 {row_number} 行，“{column}”列：主题“{value}”不在配置文件中；请从下拉列表选择：{topics}")
        return key

    def division_of(row_number: int, column: str, value: str) -> str:
        key = profile.division_key(value)
        if key is None:
            raise InputError(f"{path}：第 {row_number} 行，“{column}”列：单位“{value}”不在配置文件中；请从下拉列表选择：{divisions}")
        return key

    def one_row(row_number: int, get) -> ReviewRow | None:
        action = get("复核")
        inferred = False
        if not action and any(get(name) for name in ("确认主题", "确认主办处室", "确认会办处室")):
            action, inferred = "修改", True
        if not action and confirm_unflagged and get("需人工复核") == "否" and get("建议主题"):
            action = "同意"
        if not action:
            return None
        if action not in ACTIONS:
            raise InputError(f"{path}：第 {row_number} 行，“复核”列：“{action}”不是 {'、'.join(ACTIONS)} 之一；请从下拉列表选择")
        if not get(KEY_HEADER):
            raise InputError(f"{path}：第 {row_number} 行，“{KEY_HEADER}”列是空的；这一列由 router 填写，请不要改动（可重新 router route 生成）")
        suggested = {"topic": None, "division": None, "co_divisions": []}
        if get("建议主题"):
            suggested = {
                "topic": topic_of(row_number, "建议主题", get("建议主题")),
                "division": division_of(row_number, "建议主办处室", get("建议主办处室")),
                "co_divisions": [division_of(row_number, "建议会办处室", n) for n in split_divisions(get("建议会办处室"))],
            }
        confirmed = None
        if action != "待定":
            topic = topic_of(row_number, "确认主题", get("确认主题")) if get("确认主题") else suggested["topic"]
            division = (division_of(row_number, "确认主办处室", get("确认主办处室"))
                        if get("确认主办处室") else suggested["division"])
            co = ([] if get("确认会办处室") in NO_DIVISIONS else
                  [division_of(row_number, "确认会办处室", n) for n in split_divisions(get("确认会办处室"))]
                  if get("确认会办处室") else suggested["co_divisions"])
            if topic is None or division is None:
                raise InputError(f"{path}：第 {row_number} 行：这一行没有建议的分办，{action}需要填写“确认主题”和“确认主办处室”")
            confirmed = {"topic": topic, "division": division, "co_divisions": [c for c in co if c != division]}
            if action == "同意" and confirmed != suggested:
                action = "修改"  # 同意 beside other 确认 columns: the reviewer's own route
        elif not get("复核意见"):
            raise InputError(f"{path}: row {row_number}, column 复核意见: 待定请写明原因")
        return ReviewRow(row_number, get(KEY_HEADER), action, suggested, confirmed, get("复核意见"), get("复核人"),
                         inferred)

    reviewed: list[ReviewRow] = []
    problems: list[str] = []
    untouched = 0
    for row_number, values in enumerate(rows, start=header_at + 1):
        values = list(values) + [None] * (len(header) - len(values))
        if not any(_cell(v) for v in values):
            continue
        get = lambda name, values=values: _cell(values[col[name]])  # noqa: E731
        try:
            row = one_row(row_number, get)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if row is None:
            untouched += 1
        else:
            reviewed.append(row)
    first_row: dict[str, ReviewRow] = {}
    for row in reviewed:
        other = first_row.setdefault(row.key, row)
        if other is not row and (other.action, other.confirmed) != (row.action, row.confirmed):
            problems.append(f"{path}: row {row.row}: the same suggestion as row {other.row} ({KEY_HEADER}) with a "
                            "different decision (a copied row?); keep one of them")
    if len(problems) == 1:
        raise InputError(problems[0])
    if problems:
        listed = "；".join(p.removeprefix(f"{path}：") for p in problems)
        raise InputError(f"{path}：有 {len(problems)} 行有问题，一条也没有记录：{listed}")
    return reviewed, untouched


@dataclass
class Conflict:
    """A row of an older copy of the table that contradicts a decision recorded after that copy was routed."""

    row: ReviewRow
    number: str
    newer: dict


def find_conflicts(store: Store, rows: list[ReviewRow], *, since: int, origin: str) -> list[Conflict]:
    """Rows whose suggestion got a different decision after decision ``since`` (when the table was routed)."""
    out = []
    with store.transaction() as db:
        for r in rows:
            sid = stored_row(store, db, r, origin)
            newer = store.decisions_since(db, sid, since)
            if not newer:
                continue
            latest = newer[-1]
            if (latest["after"] or None) == (r.confirmed or None):
                continue  # the same route (or both 待定): nothing to choose between
            out.append(Conflict(r, store.suggestion_number(db, sid), latest))
    return out


def describe_route(profile: Profile, action: str, route: dict | None) -> str:
    if not route or not route.get("topic"):
        return action
    co = "、".join(profile.division(k).name for k in route.get("co_divisions") or ())
    return (f"{action} {profile.topic(route['topic']).name}／{profile.division(route['division']).name}"
            + (f"（会办：{co}）" if co else ""))


def unrecorded_review_rows(path: Path, profile: Profile, decisions: dict) -> list[int]:
    """Rows of an existing table holding review entries that the store does not hold (work a new table would wipe)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return []
    sheet = book["交办任务表"] if "交办任务表" in book.sheetnames else book.worksheets[0]
    header_at, header = _header_row(sheet.iter_rows(max_row=6, values_only=True))
    review = [name for name in ("复核", "确认主题", "确认主办处室", "确认会办处室", "复核意见", "复核人") if name in header]
    if KEY_HEADER not in header or not review:
        return []
    key_col = header.index(KEY_HEADER)
    out = []
    for number, values in enumerate(sheet.iter_rows(min_row=header_at + 1, values_only=True), start=header_at + 1):
        values = list(values) + [None] * (len(header) - len(values))
        get = lambda name: _cell(values[header.index(name)])  # noqa: E731
        if not any(get(name) for name in review):
            continue
        identity = Identity.from_text(_cell(values[key_col]))
        h = (decisions.get(identity) or decisions.get(identity._replace(office=""))) if identity else None
        if h is None:
            out.append(number)
            continue
        if get("复核") and get("复核") != h.action:
            out.append(number)
        elif get("确认主题") and profile.topic_key(get("确认主题")) != h.topic:
            out.append(number)
        elif get("确认主办处室") and profile.division_key(get("确认主办处室")) != h.division:
            out.append(number)
    return out


def stored_row(store: Store, db, r: ReviewRow, origin: str) -> int:
    identity = Identity.from_text(r.key)
    if identity is not None:
        sid = store.find(db, identity)
    else:  # a table written before identities: its key is the text's hash, which several rows may share
        ids = store.suggestion_ids_with_text(r.key)
        if len(ids) > 1:
            raise InputError(
                f"{origin}：第{r.row}行：这张表是旧版 router 写出的，按文字识别建议，而存储里有 {len(ids)} 条建议文字相同，"
                "无法确定是哪一条；请用当前版本重新 `router route` 这份来文，在新表上复核后再 accept"
            )
        sid = ids[0] if ids else None
    if sid is None:
        raise InputError(
            f"{origin}：第 {r.row} 行：这条建议不在历史库 {store.path} 中（这张表可能是别的办公室文件夹或历史库分办的）；"
            "请在本办公室文件夹中重新 router route 这份来文，在新表上复核后再 accept"
        )
    return sid


def accept_rows(store: Store, rows: list[ReviewRow], *, reviewer: str, origin: str) -> Counter:
    """Record all rows in one transaction (all or nothing) by the office's rules; count what was recorded by action.

    The rules are :mod:`router.services.review`'s (kept here for callers of the library).
    """
    from .services.review import record_rows

    return record_rows(store, rows, reviewer=reviewer, origin=origin)


def import_history(store: Store, items: list[Labelled], *, importer: str, origin: str,
                   office: str = "") -> tuple[int, int]:
    """Past years' final routes as decisions; (new suggestions, new decisions). See
    :func:`router.services.review.record_history`."""
    from .services.review import record_history

    return record_history(store, items, importer=importer, origin=origin, office=office)


def human_decisions(store: Store) -> dict[Identity, HumanDecision]:
    """Reviewers' latest confirmed decisions, keyed by the suggestion's :class:`Identity`."""
    return {
        identity: HumanDecision(r["topic"], r["division"], tuple(r.get("co_divisions", ())), action=r["action"],
                                reviewer=r.get("reviewer") or "", comment=r.get("comment") or "")
        for identity, r in store.decisions_by_identity().items()
    }
