"""Writing the assignment table (建议交办任务表) as XLSX, CSV or JSONL, atomically.

Every file is written to a temporary file in the target folder and renamed over the target
only when complete, so a crash or a full disk leaves the old file whole. Cells that a
spreadsheet would read as a formula (starting with = + - @) are neutralized with a leading
apostrophe, so opening the output in Excel or WPS cannot run anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Iterable

from .errors import OutputError
from .fileio import xlsx_cell, atomic_path, file_mode, safe_cell  # noqa: F401  (re-exported: table writers used to own them)
from .printsheet import _print_setup, _write_assignment_sheets, cell_maker
from .profile import Profile
from .routing import Route

__all__ = [
    "HEADERS",
    "REVIEW_HEADERS",
    "REVIEW_ACTIONS",
    "TRACKING_HEADERS",
    "atomic_path",
    "safe_cell",
    "file_mode",
    "write_routes",
    "default_output_path",
    "output_format",
]

HEADERS = [
    "序号", "建议号", "标题", "领衔代表", "建议主题", "主题置信度", "建议主办处室", "建议会办处室",
    "处室置信度", "责任领导", "办理时限", "需人工复核", "判断依据", "备选", "路由来源", "相似往年建议", "疑似重复",
]
REVIEW_HEADERS = ["复核", "确认主题", "确认主办处室", "确认会办处室", "复核意见", "复核人"]
REVIEW_ACTIONS = ["同意", "修改", "待定"]
# Handling columns (`router track import`): 办理类型 and 交办日期 are filled here, the rest by the divisions.
TRACKING_HEADERS = [
    "办理类型", "交办日期", "重点", "转办处室", "联系方式", "联系日期", "会商日期", "答复日期", "答复类别",
    "答复内容或文号", "建议条数", "采纳条数", "满意度", "回访日期", "回访意见",
]
# A hidden column that ties each row to its suggestion in the store, whatever the sorting.
KEY_HEADER = "建议标识"
# A hidden sheet of the XLSX table: the store it was routed with and the newest decision then.
META_SHEET = "路由信息"
META_STORE = "历史库"
META_DECISION = "决定序号"
META_STORE_ID = "存储标识"  # the random id of the store that routed the table (a table from another store is refused)
SOURCE_NAMES = {"model": "模型（历史数据）", "remit": "职责文本", "rule": "主题规则", "human": "人工确认", "empty": "无法路由"}

FORMATS = ("xlsx", "csv", "jsonl")


def output_format(output: Path | None, fmt: str | None) -> str:
    """The table's format from --format and -o's extension; refuses a mismatch or an unknown extension."""
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if output is not None and suffix not in FORMATS:
        raise OutputError(f"{output}：扩展名“.{suffix}”不是交办任务表的格式；请把输出文件命名为 .xlsx、.csv 或 .jsonl"
                          if suffix else f"{output}：没有扩展名；请把输出文件命名为 .xlsx、.csv 或 .jsonl")
    if fmt is not None and output is not None and suffix != fmt:
        raise OutputError(f"{output}：--format {fmt} 与扩展名 .{suffix} 不一致，写出的文件会打不开；"
                          f"请把输出文件改名为 .{fmt}，或去掉 --format")
    return fmt or suffix or "xlsx"


def default_output_path(input_path: Path, fmt: str) -> Path:
    return Path(input_path).with_name(f"{Path(input_path).stem}_交办任务表.{fmt}")


def _pct(p: float) -> str:
    return f"{p:.0%}"


def _alternatives(route: Route, profile: Profile) -> str:
    topics = "；".join(f"{profile.topic(k).name} {_pct(p)}" for k, p in route.topics[1:3])
    divisions = "；".join(f"{profile.division(k).name} {_pct(p)}" for k, p in route.divisions[1:3])
    return f"主题：{topics}｜处室：{divisions}" if route.topics else ""


def number_label(number) -> str:
    """第318号 for a suggestion number, whether it came as 318, 第318号 or 318号 (never 第第318号号)."""
    text = str(number or "").strip()
    if text.startswith("第"):
        text = text[1:]
    if text.endswith("号"):
        text = text[:-1]
    return f"第{text.strip()}号" if text.strip() else ""


def _similar_text(route: Route) -> str:
    return "\n".join(
        f"{s['year']}年 {number_label(s['id'])} {s['title']}（{s['topic_name']}／{s['division_name']}）".replace("  ", " ")
        for s in route.similar
    )


HUMAN = "人工确认"


def review_values(route: Route, profile: Profile) -> list:
    """The review columns: empty for the model's routes; the reviewer's decision, from the store, on confirmed ones."""
    h = route.human
    if h is None:
        return [None] * len(REVIEW_HEADERS)
    return [h.action, profile.topic(route.topic).name, profile.division(route.division).name,
            "、".join(profile.division(k).name for k in route.co_divisions) or None, h.comment or None,
            h.reviewer or None]


def row_values(route: Route, profile: Profile) -> list:
    s = route.suggestion
    if route.human is not None:
        # The reviewer's route: the model's confidences, reasons and runners-up would contradict it.
        who = f"（{route.human.reviewer}）" if route.human.reviewer else ""
        return [
            route.seq, s.id, s.title, s.deputy, profile.topic(route.topic).name, HUMAN,
            profile.division(route.division).name, "、".join(profile.division(k).name for k in route.co_divisions),
            HUMAN, route.leader, route.deadline, "否", f"{HUMAN}{who}", HUMAN, SOURCE_NAMES["human"],
            _similar_text(route), route.duplicate_of,
        ]
    return [
        route.seq,
        s.id,
        s.title,
        s.deputy,
        profile.topic(route.topic).name if route.topic else "",
        round(route.topic_confidence, 3),
        profile.division(route.division).name if route.division else "",
        "、".join(profile.division(k).name for k in route.co_divisions),
        round(route.division_confidence, 3),
        route.leader,
        route.deadline,
        "是" if route.needs_review else "否",
        "、".join(route.reasons),
        _alternatives(route, profile),
        SOURCE_NAMES.get(route.source, route.source),
        _similar_text(route),
        route.duplicate_of,
    ]


def _write_csv(routes: Iterable[Route], profile: Profile, tmp: Path) -> int:
    count = 0
    with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for route in routes:
            writer.writerow([safe_cell(v) for v in row_values(route, profile)])
            count += 1
    return count


# Characters that str.splitlines and some JSONL readers take for line breaks, which json.dumps
# leaves raw: escaped, so that one record stays one line.
_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_line(record: dict) -> str:
    text = json.dumps(record, ensure_ascii=False)
    for raw, escaped in _BREAKS.items():
        text = text.replace(raw, escaped)
    return text + "\n"


def _write_jsonl(routes: Iterable[Route], profile: Profile, tmp: Path) -> int:
    count = 0
    with open(tmp, "w", encoding="utf-8") as handle:
        for route in routes:
            handle.write(_json_line(route.as_record(profile)))
            count += 1
    return count


XLSX_MAX_ROWS = 1_048_576  # Excel's and WPS's limit, the header row included


def _tracking_values(route: Route, assigned: dt.date | None) -> list:
    values = [None] * len(TRACKING_HEADERS)
    values[0] = route.suggestion.role or None
    values[1] = assigned.isoformat() if assigned and route.topic else None
    return values


def _write_xlsx(routes: Iterable[Route], profile: Profile, tmp: Path, title: str,
                assigned: dt.date | None = None, meta: dict | None = None) -> int:
    """The review workbook, written in openpyxl's write-only (streaming) mode: rows go to disk as they come."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    routes = routes if isinstance(routes, list) else list(routes)
    if len(routes) + 1 > XLSX_MAX_ROWS:
        raise OutputError(
            f"交办任务表有 {len(routes)} 行，超过 Excel/WPS 一个工作表最多 {XLSX_MAX_ROWS - 1:,} 行数据的上限，"
            "写成 .xlsx 会被截断；请改用 CSV 或 JSONL：-o 文件名.csv（或 .jsonl）"
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("交办任务表")
    headers = HEADERS + REVIEW_HEADERS + TRACKING_HEADERS + [KEY_HEADER]
    bold = Font(bold=True)
    widths = {"标题": 42, "判断依据": 28, "备选": 40, "相似往年建议": 48, "建议会办处室": 18, "复核意见": 24,
              "建议主题": 16, "确认主题": 16, "建议主办处室": 14, "确认主办处室": 14, "确认会办处室": 18,
              "答复内容或文号": 30, "回访意见": 24, "转办处室": 14}
    for i, name in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = widths.get(name, max(10, 2 * len(name) + 4))
    sheet.column_dimensions[get_column_letter(len(headers))].hidden = True
    sheet.freeze_panes = "D2"
    _print_setup(sheet, header_row=1)  # the review surface prints too: landscape, its header on every page
    last = max(2, len(routes) + 1)

    # Dropdowns read their lists from a hidden sheet, which has no length limit.
    options = {
        "复核": REVIEW_ACTIONS,
        "确认主题": [t.name for t in profile.topics],
        "确认主办处室": [d.name for d in profile.divisions],
        "确认会办处室": [d.name for d in profile.divisions],
        "办理类型": ["主办", "会办"],
        "重点": ["是", "否"],
        "转办处室": [d.name for d in profile.divisions],
        "联系方式": list(profile.tracking.contact_methods),
        "答复类别": [g.code for g in profile.tracking.grades],
        "满意度": list(profile.tracking.satisfaction),
    }
    for col, (name, values) in enumerate(options.items(), start=1):
        letter = get_column_letter(col)
        target = get_column_letter(headers.index(name) + 1)
        # 会办 may hold several names; the dropdown offers one, and free text is checked on accept.
        strict = name != "确认会办处室"
        validation = DataValidation(type="list", formula1=f"'选项'!${letter}$2:${letter}${len(values) + 1}",
                                    allow_blank=True, showErrorMessage=strict)
        validation.error = f"请从下拉列表中选择{name}"
        validation.add(f"{target}2:{target}{last}")
        sheet.data_validations.append(validation)

    styled = cell_maker(sheet)

    centered = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sheet.append([styled(name, font=bold, alignment=centered) for name in headers])
    highlight = PatternFill("solid", fgColor="FFF2CC")
    for route in routes:
        values = [xlsx_cell(v) for v in row_values(route, profile) + review_values(route, profile)] \
            + [xlsx_cell(v) for v in _tracking_values(route, assigned)] \
            + [route.identity.as_text() if route.identity else route.suggestion.content_hash]
        sheet.append([styled(v, fill=highlight) for v in values] if route.needs_review else values)

    lists = book.create_sheet("选项")
    columns = list(options.items())
    for r in range(max(len(v) for _, v in columns) + 1):
        lists.append([(name if r == 0 else (xlsx_cell(values[r - 1]) if r - 1 < len(values) else None))
                      for name, values in columns])
    lists.sheet_state = "hidden"

    _write_assignment_sheets(book, routes, profile, assigned, meta or {})

    queue = book.create_sheet("待复核")
    for letter, width in zip("ABCDEFGH", (8, 10, 42, 16, 10, 14, 10, 28)):
        queue.column_dimensions[letter].width = width
    queue.freeze_panes = "A2"
    queue.append([styled(name, font=bold) for name in
                  ("序号", "建议号", "标题", "建议主题", "主题置信度", "建议主办处室", "处室置信度", "判断依据")])
    pending = sorted((r for r in routes if r.needs_review), key=lambda r: min(r.topic_confidence, r.division_confidence))
    for route in pending:
        values = row_values(route, profile)
        queue.append([xlsx_cell(v) for v in (values[0], values[1], values[2], values[4], values[5], values[6], values[8], values[12])])
    if meta:
        # What the table was routed from, so that accepting an older copy can tell newer decisions apart.
        state = book.create_sheet(META_SHEET)
        state.append(["项目", "值"])
        for key, value in meta.items():
            state.append([key, xlsx_cell(str(value))])
        state.sheet_state = "hidden"
    book.properties.title = title
    book.save(tmp)
    return len(routes)


def write_routes(routes: Iterable[Route], profile: Profile, path: Path, fmt: str, *, title: str = "建议交办任务表",
                 before_replace=None, assigned: dt.date | None = None, meta: dict | None = None) -> int:
    """Write routes atomically in ``fmt`` (xlsx, csv, jsonl); return the number of rows written.

    ``before_replace`` (e.g. recording the routes in the store) runs after the table is whole
    and before it replaces the old one, so a failure there leaves the old table in place.
    ``assigned`` is the assignment date (交办日期) written in the XLSX's handling columns.
    """
    writers = {"csv": _write_csv, "jsonl": _write_jsonl}
    with atomic_path(path, before_replace=before_replace) as tmp:
        if fmt == "xlsx":
            return _write_xlsx(routes, profile, tmp, title, assigned, meta)
        return writers[fmt](routes, profile, tmp)
