"""XLSX workbooks as Excel, WPS and LibreOffice save them: sheets, merged cells, cached formula values."""

from __future__ import annotations

import contextlib
import itertools
import re
import zipfile
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..messages import failure
from ..profile import Profile
from .cells import _shown
from .reader import (
    HEADER_SCAN_ROWS,
    IntakeReader,
    _attach,
    _cell_text,
    _match_columns,
    _NoTitleColumn,
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _refuse_ole(path: Path) -> None:
    """An OLE compound file named .xlsx: an encrypted workbook, or an old .xls renamed."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    if not head.startswith(_OLE_MAGIC):
        return
    if "EncryptionInfo".encode("utf-16-le") in head or "EncryptedPackage".encode("utf-16-le") in head:
        raise InputError(f"{path}：工作簿设有打开密码（已加密），无法读取；请在 Excel 或 WPS 中输入密码打开，"
                         "在“文件→信息→保护工作簿”（WPS：“文件→文档加密”）中取消密码后另存为 .xlsx 再试")
    raise InputError(f"{path}：这是旧版 .xls 格式的工作簿（只是扩展名为 .xlsx）；请在 Excel 或 WPS 中打开并另存为 .xlsx 再试")


def _sheet_with_data(workbook, skip, profile: Profile) -> str | None:
    """The name of the first other sheet whose first rows hold a title column."""
    for other in workbook.worksheets:
        if other.title == skip:
            continue
        with contextlib.suppress(Exception):
            other.reset_dimensions()
            head = [[_cell_text(v) for v in row] for row in itertools.islice(other.iter_rows(values_only=True),
                                                                              HEADER_SCAN_ROWS)]
            if any("title" in _match_columns(cells, profile) for cells in head):
                return other.title
    return None


def _open_xlsx(path: Path, profile: Profile, reader: IntakeReader, sheet: str | None) -> None:
    import openpyxl

    _refuse_ole(path)
    try:
        # Cached values: what Excel or WPS show for a formula, never its text.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise failure("I116", file=path, reason=type(exc).__name__) from None
    except Exception as exc:  # openpyxl raises many types for damaged parts of a workbook
        raise failure("I117", file=path, reason=exc) from None
    if sheet is not None:
        if sheet not in workbook.sheetnames:
            raise failure("I118", file=path, sheet=sheet, sheets="、".join(workbook.sheetnames))
        worksheet = workbook[sheet]
    else:
        visible = [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if not visible:
            raise failure("I119", file=path)
        worksheet = visible[0]
    reader.sheet = worksheet.title
    # Declared dimensions can be wrong or huge; read only the rows that exist.
    worksheet.reset_dimensions()
    try:
        merges, no_value = _scan_sheet(worksheet)
    except Exception as exc:  # a damaged member fails here, before any row is read
        raise failure("I120", file=path, sheet=worksheet.title, after="", reason=type(exc).__name__) from None
    reader.merged_cells = len(merges)

    def rows() -> Iterator[tuple[int, list]]:
        number = 0
        active: list[tuple[int, int, int]] = []
        top: dict[tuple[int, int], object] = {}
        waiting = iter(merges)
        upcoming = next(waiting, None)
        try:
            for number, cells in enumerate(worksheet.iter_rows(), start=1):
                values = []
                for column, cell in enumerate(cells, start=1):
                    shown, problem = _shown(cell)
                    if problem:
                        reader.problems.append((number, f"第{column}列{_column_name(reader, column)}：{problem}"))
                    values.append(shown)
                for column, formula in no_value.get(number, ()):
                    reader.problems.append((number, f"第{column}列{_column_name(reader, column)}：是公式 ={formula}，"
                                                    "文件里没有保存它的计算结果，已按空白读取；请在 Excel 或 WPS 中打开并保存后重试"))
                while upcoming is not None and upcoming[0] <= number:
                    active.append(upcoming)
                    upcoming = next(waiting, None)
                if active:
                    values = _fill_merged(values, number, active, top)
                    active = [m for m in active if m[1] > number]
                while values and values[-1] in (None, ""):
                    values.pop()
                yield number, values
        except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
            raise failure("I120", file=path, sheet=worksheet.title, after=f"第 {number} 行之后",
                          reason=type(exc).__name__) from None
        except InputError:
            raise
        except Exception as exc:
            raise failure("I120", file=path, sheet=worksheet.title, after=f"第 {number} 行之后",
                          reason=f"{type(exc).__name__}: {exc}") from None

    try:
        _attach(path, profile, reader, rows)
    except InputError as exc:
        # An empty or notes-only first sheet: name the sheet that holds the suggestions.
        if sheet is None and (getattr(exc, "code", None) == "I105" or isinstance(exc, _NoTitleColumn)):
            other = _sheet_with_data(workbook, worksheet.title, profile)
            if other:
                raise InputError(f"{path}：第一个工作表“{worksheet.title}”里没有建议表格（没有含标题列的表头）；"
                                 f"建议在工作表“{other}”里：请加上 --sheet {other}") from None
        raise
    # Problems found while scanning for the header are found again when the rows are read.
    reader.problems.clear()


def _column_name(reader: IntakeReader, column: int) -> str:
    name = reader.columns[column - 1] if 0 < column <= len(reader.columns) else ""
    return f"（{name}）" if name.strip() else ""


_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Z]{1,3})\$?(\d+):\$?([A-Z]{1,3})\$?(\d+)"')
# A formula cell and what follows its formula: a cached value, an empty one, or none.
_FORMULA_CELL = re.compile(
    rb'<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)\s*'
    rb'(<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>|<(?:\w+:)?v>)?')
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_STRING_TYPE = re.compile(rb'\bt="(?:str|s|inlineStr)"')


def _scan_sheet(worksheet) -> tuple[list[tuple[int, int, int]], dict[int, list[tuple[int, str]]]]:
    """Merged ranges that span rows, and formula cells without a cached value, by row.

    A read-only worksheet exposes neither (merged cells are listed after the cells, and a
    formula without a value reads as empty), so the sheet's XML is scanned once in blocks.
    """
    from openpyxl.utils import column_index_from_string

    get_source = getattr(worksheet, "_get_source", None)
    if get_source is None:
        return [], {}
    found: list[tuple[int, int, int]] = []
    no_value: dict[int, list[tuple[int, str]]] = {}
    tail, offset, seen_merge, seen_formula = b"", 0, 0, 0
    with get_source() as source:
        while block := source.read(1 << 20):
            buffer = tail + block
            if b"mergeCell" in buffer:
                for match in _MERGE_CELL.finditer(buffer):
                    if offset + match.start() < seen_merge:
                        continue
                    seen_merge = offset + match.end()
                    first, last = int(match[2]), int(match[4])
                    if last > first:
                        found.append((first, last, column_index_from_string(match[1].decode())))
            if b"<f" in buffer or b":f" in buffer:
                for match in _FORMULA_CELL.finditer(buffer):
                    if offset + match.start() < seen_formula or match.end() == len(buffer):
                        continue
                    seen_formula = offset + match.end()
                    value = match[3]
                    empty = value is None or value.endswith(b"/>") or value.rstrip().endswith(b"</v>") and \
                        not _STRING_TYPE.search(match[1])
                    if value is not None and value.endswith(b"<v>"):
                        empty = False  # a value follows
                    ref = _CELL_REF.search(match[1])
                    if empty and ref:
                        formula = (match[2] or b"").decode("utf-8", "replace")
                        no_value.setdefault(int(ref[2]), []).append(
                            (column_index_from_string(ref[1].decode()), _xml_unescape(formula)))
            tail = buffer[-2048:]
            offset += len(buffer) - len(tail)
    return sorted(found), no_value


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'") \
        .replace("&amp;", "&")


def _fill_merged(values: list, number: int, active, top: dict) -> list:
    """Give the rows a merged cell covers its value, as a reader of the sheet sees it.

    Only the range's first column is filled (a title spilling across columns stays one cell),
    and only in rows that hold something else (a merge over empty rows adds no suggestions).
    """
    has_content = any(v not in (None, "") for v in values)
    for first, last, column in active:
        if number == first:
            top[(first, column)] = values[column - 1] if column <= len(values) else None
        elif number <= last and has_content:
            if len(values) < column:
                values.extend([None] * (column - len(values)))
            if values[column - 1] in (None, ""):
                values[column - 1] = top.get((first, column))
        if number >= last:
            top.pop((first, column), None)
    return values

