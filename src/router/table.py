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
from .printsheet import _header_fit, _header_height, _print_setup, _row_height, _write_assignment_sheets, cell_maker
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

from . import tablespec as spec
from .tablespec import HUMAN, KEY_HEADER, REVIEW_ACTIONS, SOURCE_NAMES, Fill, number_label  # noqa: F401  (re-exported)

# The canonical names of the columns (readers find columns by these; the written headers use the
# office's unit word, and tablespec.canonical reads them back): see router.tablespec.
HEADERS = [name for name in spec.ASSIGNMENT if spec.COLUMNS[name].group == "route"]
REVIEW_HEADERS = list(spec.REVIEW)
# Handling columns (`router track import`): 办理类型 and 交办日期 are filled here, the rest by the divisions.
TRACKING_HEADERS = list(spec.TRACKING)
# A hidden sheet of the XLSX table: the store it was routed with and the newest decision then.
META_SHEET = "路由信息"
META_STORE = "历史库"
META_DECISION = "决定序号"
META_STORE_ID = "存储标识"  # the random id of the store that routed the table (a table from another store is refused)
ASSIGNMENT_SHEET = "交办任务表"
QUEUE_SHEET = "待复核"

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


def review_values(route: Route, profile: Profile) -> list:
    """The review columns: empty for the model's routes; the reviewer's decision, from the store, on confirmed ones."""
    return spec.values(spec.REVIEW, route, profile)


def row_values(route: Route, profile: Profile) -> list:
    """The route's columns (HEADERS), as the table shows them."""
    return spec.values(HEADERS, route, profile)


def _write_csv(routes: Iterable[Route], profile: Profile, tmp: Path) -> int:
    count = 0
    with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(spec.headers(HEADERS, profile))
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


def _write_xlsx(routes: Iterable[Route], profile: Profile, tmp: Path, title: str,
                assigned: dt.date | None = None, meta: dict | None = None) -> int:
    """The review workbook, written in openpyxl's write-only (streaming) mode: rows go to disk as they come.

    Its sheets and their columns come from router.tablespec: 交办任务表 (the review surface; its
    print area is the route a reader needs), 交办单 and 建议全文 (printed, see printsheet), 待复核.
    """
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
    fill = Fill(assigned)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(ASSIGNMENT_SHEET)
    cols = spec.columns(spec.ASSIGNMENT)
    names = [c.name for c, _ in cols]
    widths = _header_fit(cols, profile)
    for i, ((col, _), width) in enumerate(zip(cols, widths), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
        if col.hidden:
            sheet.column_dimensions[get_column_letter(i)].hidden = True
    sheet.freeze_panes = "D2"
    year = (meta or {}).get("年度") or (assigned.year if assigned else "")
    printed = len(spec.ASSIGNMENT_PRINTED)
    _print_setup(sheet, header_row=1, title=f"{profile.office_name}{year}年代表建议交办任务表（复核用）")
    last = max(2, len(routes) + 1)
    sheet.print_area = f"A1:{get_column_letter(printed)}{last}"
    sheet.print_options.gridLines = True

    # Dropdowns read their lists from a hidden sheet, which has no length limit.
    options = [(col, col.options(profile)) for col, _ in cols if col.options is not None]
    for n, (col, items) in enumerate(options, start=1):
        letter = get_column_letter(n)
        target = get_column_letter(names.index(col.name) + 1)
        validation = DataValidation(type="list", formula1=f"'选项'!${letter}$2:${letter}${len(items) + 1}",
                                    allow_blank=True, showErrorMessage=col.strict)
        validation.error = f"请从下拉列表中选择{col.header(profile)}"
        validation.add(f"{target}2:{target}{last}")
        sheet.data_validations.append(validation)

    styled = cell_maker(sheet)
    bold = Font(bold=True)
    centered = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(horizontal="center", vertical="top")
    highlight = PatternFill("solid", fgColor="FFF2CC")
    aligns = [wrap if col.wrap else top for col, _ in cols]
    sheet.row_dimensions[1].height = _header_height(cols, widths, profile)
    sheet.append([styled(col.header(profile), font=bold, alignment=centered) for col, _ in cols])
    print_widths = widths[:printed]
    for number, route in enumerate(routes, start=2):
        values = [xlsx_cell(v) for v in spec.values(spec.ASSIGNMENT, route, profile, fill)]
        # LibreOffice does not grow a row to its wrapped text: the height comes from the printed columns.
        sheet.row_dimensions[number].height = _row_height(values[:printed], print_widths)
        if route.needs_review:
            sheet.append([styled(v, fill=highlight, alignment=a) for v, a in zip(values, aligns)])
        else:
            sheet.append([styled(v, alignment=a) for v, a in zip(values, aligns)])

    lists = book.create_sheet("选项")
    for r in range(max(len(items) for _, items in options) + 1):
        lists.append([(col.header(profile) if r == 0 else (xlsx_cell(items[r - 1]) if r - 1 < len(items) else None))
                      for col, items in options])
    lists.sheet_state = "hidden"

    _write_assignment_sheets(book, routes, profile, assigned, meta or {})
    _write_queue(book, routes, profile, fill, title=f"{profile.office_name}{year}年代表建议待复核清单")
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


def _write_queue(book, routes: list[Route], profile: Profile, fill: Fill, *, title: str) -> None:
    """待复核: the flagged routes, least confident first, printed landscape with its header on every page."""
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    queue = book.create_sheet(QUEUE_SHEET)
    cols = spec.columns(spec.QUEUE)
    widths = _header_fit(cols, profile)
    for i, width in enumerate(widths, start=1):
        queue.column_dimensions[get_column_letter(i)].width = width
    queue.freeze_panes = "A2"
    _print_setup(queue, header_row=1, title=title)
    styled = cell_maker(queue)
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(horizontal="center", vertical="top")
    queue.row_dimensions[1].height = _header_height(cols, widths, profile)
    queue.append([styled(col.header(profile), font=Font(bold=True), alignment=centred, border=box) for col, _ in cols])
    pending = sorted((r for r in routes if r.needs_review), key=lambda r: min(r.topic_confidence, r.division_confidence))
    aligns = [wrap if col.wrap else top for col, _ in cols]
    for number, route in enumerate(pending, start=2):
        values = [xlsx_cell(v) for v in spec.values(spec.QUEUE, route, profile, fill)]
        queue.row_dimensions[number].height = _row_height(values, widths)
        queue.append([styled(v, alignment=a, border=box) for v, a in zip(values, aligns)])


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
