"""The printed sheets of an assignment workbook: 交办单 (one row a suggestion, A4 landscape) and 建议全文."""

from __future__ import annotations

import datetime as dt

from .fileio import xlsx_cell
from .profile import Profile
from .routing import Route


# The sheet a division works from (the 六定 of DOMAIN.md), printed landscape on A4.
PRINT_SHEET = "交办单"
FULL_TEXT_SHEET = "建议全文"
BODY_CUT = 80  # characters of 建议内容 on the printed sheet; the whole text is on 建议全文


def print_headers(profile: Profile) -> list[str]:
    """The printed table's headers in the office's word for its units (处室, 单位, 部门)."""
    w = profile.unit_word
    return ["序号", "建议号", "标题", "领衔代表", "建议内容（摘要）", "办理类型", "主办单位", "重点建议",
            "建议主题", f"责任{w}", f"会办{w}", "责任领导", "承办人员", "办理任务", "工作目标", "办理时限",
            "会办意见送达"]


_PRINT_WIDTHS = [5, 8, 22, 8, 36, 6, 11, 6, 11, 11, 12, 8, 8, 14, 14, 10.5, 10.5]


def _is_key(value: str) -> bool:
    return str(value or "").strip() in ("是", "重点", "★", "√", "✓", "Y", "y", "1")


def _opinion_due(route: Route, profile: Profile) -> str:
    """For a suggestion this office co-handles, the day its opinion is due to the lead unit."""
    if route.suggestion.role != "会办" or not route.deadline:
        return ""
    try:
        due = dt.date.fromisoformat(route.deadline) - dt.timedelta(days=profile.tracking.opinion_days_before)
    except ValueError:
        return ""
    return due.isoformat()


def _cut(text: str, limit: int = BODY_CUT) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit] + "……（全文见“建议全文”）"


def print_values(route: Route, profile: Profile) -> list:
    s = route.suggestion
    return [
        route.seq, s.id, s.title, s.deputy, _cut(s.body), s.role, s.labels.get("lead_unit", ""),
        "是" if _is_key(s.labels.get("key")) else "",
        profile.topic(route.topic).name if route.topic else "",
        profile.division(route.division).name if route.division else "",
        "、".join(profile.division(k).name for k in route.co_divisions),
        route.leader, None, None, None, route.deadline, _opinion_due(route, profile),
    ]


def _display_width(text: str) -> float:
    """Width in spreadsheet column units: a CJK character takes about two."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in text)


def _row_height(values: list, widths: list[float], *, line: float = 12.0) -> float:
    lines = 1
    for value, width in zip(values, widths):
        if isinstance(value, str) and value:
            lines = max(lines, -(-int(_display_width(value)) // max(1, int(width - 1))))
    return min(409.0, line * lines + 3)


def _print_setup(sheet, *, header_row: int) -> None:
    """Landscape A4, fit to the page width, the header row on every page, centred, page numbers."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"


def cell_maker(sheet):
    """Styled write-only cells for ``sheet``, each combination of styles registered with the workbook once.

    openpyxl hashes every style object a cell is given (13 s of the 19 s the 交办单 of 2,000 rows
    took); a cell whose styles were met before takes the registered style array instead.
    """
    from copy import copy

    from openpyxl.cell import WriteOnlyCell

    seen: dict[tuple, tuple] = {}

    def cell(value, **style):
        c = WriteOnlyCell(sheet, value=value)
        if not style:
            return c
        key = tuple((name, id(item)) for name, item in sorted(style.items()))
        if key in seen:
            c._style = copy(seen[key][0])
        else:
            for name, item in style.items():
                setattr(c, name, item)
            seen[key] = (copy(c._style), tuple(style.values()))  # the objects kept: their ids stay theirs
        return c

    return cell


def _write_assignment_sheets(book, routes: list[Route], profile: Profile, assigned: dt.date | None, meta: dict) -> None:
    """交办单: what a division works from, fit to print; 建议全文: every suggestion's whole text."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(PRINT_SHEET)
    _print_setup(sheet, header_row=3)  # a write-only sheet writes its properties with the first row
    sheet.freeze_panes = "A4"
    headers = print_headers(profile)
    for i, width in enumerate(_PRINT_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)

    styled = cell_maker(sheet)

    def cell(value, **style):
        return styled(xlsx_cell(value), **style)

    year = meta.get("年度") or (assigned.year if assigned else "")
    office = profile.office_name
    lead = sum(r.suggestion.role == "主办" for r in routes)
    co = sum(r.suggestion.role == "会办" for r in routes)
    split = f"（主办 {lead} 件，会办 {co} 件）" if lead or co else ""
    day = f"{assigned.year}年{assigned.month}月{assigned.day}日" if assigned else ""
    sheet.row_dimensions[1].height = 28
    sheet.row_dimensions[3].height = 30
    sheet.append([cell(f"{office}{year}年代表建议交办任务表", font=Font(bold=True, size=16), alignment=centred)])
    sheet.append([cell(f"交办日期：{day}　　共 {len(routes)} 件{split}　　"
                       f"办理时限：交办之日起{profile.deadline_months}个月内答复"
                       + (f"；会办意见于答复期限前{profile.tracking.opinion_days_before}天送主办单位" if co else ""),
                       alignment=Alignment(horizontal="left", vertical="center"))])
    last = get_column_letter(len(headers))
    sheet.merged_cells.add(f"A1:{last}1")  # write-only sheets: the range, not merge_cells()
    sheet.merged_cells.add(f"A2:{last}2")
    sheet.append([cell(h, font=Font(bold=True), alignment=centred, border=box) for h in headers])
    wrapped = {2, 4, 6, 9, 10, 12, 13, 14}  # 0-based columns whose text wraps at the top of the cell
    small = Font(size=10)
    for number, route in enumerate(routes, start=4):
        values = print_values(route, profile)
        # Spreadsheet programs do not all grow a row to its wrapped text (LibreOffice keeps the
        # default height): the height is set from the longest wrapped cell.
        sheet.row_dimensions[number].height = _row_height(values, _PRINT_WIDTHS)
        sheet.append([cell(v, alignment=wrap if i in wrapped else centred, border=box, font=small)
                      for i, v in enumerate(values)])

    full = book.create_sheet(FULL_TEXT_SHEET)
    _print_setup(full, header_row=1)
    for letter, width in zip("ABCDE", (5, 9, 30, 9, 110)):
        full.column_dimensions[letter].width = width
    full.append([WriteOnlyCell(full, value=h) for h in ("序号", "建议号", "标题", "领衔代表", "建议内容")])
    for route in routes:
        s = route.suggestion
        full.append([route.seq, xlsx_cell(s.id), xlsx_cell(s.title), xlsx_cell(s.deputy), xlsx_cell(s.body)])
    full.freeze_panes = "A2"
