"""The printed sheets of an assignment workbook: 交办单 (one row a suggestion, A4 landscape) and 建议全文."""

from __future__ import annotations

import datetime as dt

from . import tablespec as spec
from .fileio import xlsx_cell
from .profile import Profile
from .routing import Route


# The sheet a division works from (the 六定 of DOMAIN.md), printed landscape on A4.
PRINT_SHEET = "交办单"
FULL_TEXT_SHEET = "建议全文"
BODY_CUT = spec.BODY_CUT


def print_headers(profile: Profile) -> list[str]:
    """The printed table's headers in the office's word for its units (处室, 单位, 部门)."""
    return spec.headers(spec.PRINT, profile)


def print_values(route: Route, profile: Profile) -> list:
    return spec.values(spec.PRINT, route, profile)


def _display_width(text: str) -> float:
    return spec.display_width(text)


def _row_height(values: list, widths: list[float], *, line: float = 12.0) -> float:
    """The height of a row whose cells wrap: the longest cell's lines (each explicit line break counted)."""
    lines = 1
    for value, width in zip(values, widths):
        if isinstance(value, str) and value:
            room = max(1, int(width - 1))
            count = sum(max(1, -(-int(_display_width(part)) // room)) for part in value.split("\n"))
            lines = max(lines, count)
    return min(409.0, line * lines + 3)


def _header_fit(cols, profile: Profile) -> list[float]:
    """Each column's width, widened where its header's words would break inside a word.

    A header may wrap onto two lines at most, and only between whole words: 办理类型 stays
    whole (no 办理类/型); 会办意见送达 may print as 会办意见/送达.
    """
    out = []
    for col, width in cols:
        header = col.header(profile)
        need = _display_width(header) + 1.5
        if need > width and len(header) >= 6:
            need = _display_width(header[: (len(header) + 1) // 2]) + 1.5  # two lines, split at the middle
        out.append(max(width, need))
    return out


def _header_height(cols, widths: list[float], profile: Profile) -> float:
    lines = max((2 if _display_width(col.header(profile)) + 1.5 > w else 1) for (col, _), w in zip(cols, widths))
    return 16.0 * lines + 6


def _print_setup(sheet, *, header_row: int, title: str | None = None, landscape: bool = True) -> None:
    """A4, fit to the page width, the header row on every page, centred, the title on top and page numbers."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.7
    sheet.page_margins.header = sheet.page_margins.footer = 0.3
    if title:
        sheet.oddHeader.center.text = title.replace("&", "&&")
        sheet.oddHeader.center.size = 12
        sheet.oddHeader.center.font = "宋体,Bold"
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
    cols = spec.columns(spec.PRINT)
    headers = [c.header(profile) for c, _ in cols]
    widths = _header_fit(cols, profile)
    for i, width in enumerate(widths, start=1):
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
    sheet.row_dimensions[3].height = _header_height(cols, widths, profile)
    sheet.append([cell(f"{office}{year}年代表建议交办任务表", font=Font(bold=True, size=16), alignment=centred)])
    sheet.append([cell(f"交办日期：{day}　　共 {len(routes)} 件{split}　　"
                       f"办理时限：交办之日起{profile.deadline_months}个月内答复"
                       + (f"；会办意见于答复期限前{profile.tracking.opinion_days_before}天送主办单位" if co else ""),
                       alignment=Alignment(horizontal="left", vertical="center"))])
    last = get_column_letter(len(headers))
    sheet.merged_cells.add(f"A1:{last}1")  # write-only sheets: the range, not merge_cells()
    sheet.merged_cells.add(f"A2:{last}2")
    sheet.append([cell(h, font=Font(bold=True), alignment=centred, border=box) for h in headers])
    small = Font(size=10)
    aligns = [wrap if c.wrap else centred for c, _ in cols]
    for number, route in enumerate(routes, start=4):
        values = print_values(route, profile)
        # Spreadsheet programs do not all grow a row to its wrapped text (LibreOffice keeps the
        # default height): the height is set from the longest wrapped cell.
        sheet.row_dimensions[number].height = _row_height(values, widths, line=11.0)
        sheet.append([cell(v, alignment=a, border=box, font=small) for v, a in zip(values, aligns)])

    full = book.create_sheet(FULL_TEXT_SHEET)
    _print_setup(full, header_row=1, title=f"{office}{year}年代表建议全文")
    cols = spec.columns(spec.FULL_TEXT)
    widths = _header_fit(cols, profile)
    for i, width in enumerate(widths, start=1):
        full.column_dimensions[get_column_letter(i)].width = width
    styled_full = cell_maker(full)
    full.row_dimensions[1].height = 22
    full.append([styled_full(c.header(profile), font=Font(bold=True), alignment=centred, border=box) for c, _ in cols])
    aligns = [wrap if c.wrap else Alignment(vertical="top") for c, _ in cols]
    for number, route in enumerate(routes, start=2):
        values = [xlsx_cell(v) for v in spec.values(spec.FULL_TEXT, route, profile)]
        full.row_dimensions[number].height = _row_height(values, widths, line=13.0)
        full.append([styled_full(v, alignment=a, border=box) for v, a in zip(values, aligns)])
    full.freeze_panes = "A2"
