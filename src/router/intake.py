"""Reading intake and history files: XLSX, CSV (UTF-8, BOM, GBK, GB18030) and JSONL.

A file is understood in two steps. :func:`open_intake` finds the header row and maps its
columns to fields by the profile's aliases; iterating the returned :class:`IntakeReader`
yields one :class:`Suggestion` per non-blank data row, streaming, so a file of a million rows
never sits in memory. Problems (an empty title, a duplicate id) are recorded, never dropped.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import decimal
import hashlib
import itertools
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

from .errors import InputError
from .profile import COLUMN_FIELDS, Profile

__all__ = ["Suggestion", "Identity", "IntakeReader", "open_intake", "read_intake", "header_key"]

HEADER_SCAN_ROWS = 30
_SECTION = re.compile("[\u4e00-\u9fff]")
_ID_LIKE = re.compile(r"^第?[\w\-－]*\d[\w\-－]*号?$")
SAMPLE_BYTES = 1 << 16
# English field names are accepted in JSONL and CSV besides the profile's aliases.
_ENGLISH = {name: name for name in COLUMN_FIELDS}

csv.field_size_limit(1 << 27)


class Identity(NamedTuple):
    """Who a suggestion is: its office, year and number, and which row with that number in its file.

    Two suggestions with the same text are two suggestions; the same text filed again next
    year is a new one (the store links it to the earlier year's). Within one file a repeated
    number gets occurrence 2, 3, …, so no row is merged with another.
    """

    office: str
    year: int | None
    number: str
    occurrence: int = 1

    def as_text(self) -> str:
        """The key as written in an assignment table's hidden column."""
        return json.dumps([self.office, self.year, self.number, self.occurrence], ensure_ascii=False)

    @classmethod
    def from_text(cls, text: str) -> "Identity | None":
        try:
            office, year, number, occurrence = json.loads(text)
        except (ValueError, TypeError):
            return None
        if not isinstance(office, str) or not isinstance(number, str) or not isinstance(occurrence, int) \
                or not (year is None or isinstance(year, int)):
            return None
        return cls(office, year, number, occurrence)


@dataclass
class Suggestion:
    """One suggestion as filed: what users see is kept exactly; features use ``text``."""

    row: int
    id: str
    title: str
    body: str = ""
    deputy: str = ""
    session: str = ""
    role: str = ""
    labels: dict = field(default_factory=dict)
    # 1 for the first row of a file with this id, 2 for the next: with the year, the identity.
    occurrence: int = 1

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}".strip()

    @property
    def content_hash(self) -> str:
        """Identity of the text itself, used to find a reviewer's earlier decision."""
        text = unicodedata.normalize("NFKC", f"{self.title}\n{self.body}")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def identity(self, office: str, year: int | None) -> Identity:
        return Identity(office, year, self.id, self.occurrence)

    @property
    def routable(self) -> bool:
        return bool(self.text.strip())


def _role_of(section: str, role: str) -> str:
    """The pile a section line opens (主办件 or 会办件); else the pile so far."""
    if "会办" in section or "协办" in section:
        return "会办"
    return "主办" if "主办" in section else role


def header_key(cell: str) -> str:
    """A header cell as compared with aliases: NFKC, no spaces, no marks like * or a colon."""
    text = unicodedata.normalize("NFKC", cell or "")
    return re.sub(r"[\s*:：()（）]", "", text)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


@dataclass
class IntakeReader:
    """How a file was understood, and an iterator over its suggestions."""

    path: Path
    profile: Profile
    format: str
    encoding: str = ""
    sheet: str = ""
    header_row: int = 0
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    generated_ids: bool = False
    problems: list[tuple[int, str]] = field(default_factory=list)
    blank_rows: int = 0
    rows_read: int = 0
    merged_cells: int = 0
    delimiter: str = ""
    # Non-empty rows that are not suggestions: (row, 表头行 or 标题行, the row's text).
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    _rows: object = None

    def __iter__(self) -> Iterator[Suggestion]:
        index = {name: self.columns.index(col) for name, col in self.mapping.items()}
        seen: dict[str, int] = {}
        occurrences: dict[str, int] = {}
        title_keys = _title_keys(self.profile)
        role = ""
        for _, _, text in self.skipped:  # section lines above the header
            role = _role_of(text, role)
        count = 0
        for row_number, cells in self._rows():
            if not any(str(c).strip() for c in cells):
                self.blank_rows += 1
                continue
            # A header row inside the data: a repeated one, or the header of a second pile (会办件
            # under 主办件), whose columns may differ. Its columns apply from here on.
            if any(header_key(c) in title_keys for c in cells if len(c) <= 40):
                mapping = _match_columns(cells, self.profile)
                if "title" in mapping and len(mapping) >= min(2, len(self.mapping)):
                    self.columns, self.mapping = list(cells), mapping
                    index = {name: self.columns.index(col) for name, col in mapping.items()}
                    self.skipped.append((row_number, "表头行", "、".join(c for c in cells if c.strip())))
                    continue
            filled = [i for i, c in enumerate(cells) if str(c).strip()]
            if len(filled) == 1 and filled[0] not in (index.get("title"), index.get("body")) \
                    and _SECTION.search(cells[filled[0]]) and not _ID_LIKE.match(cells[filled[0]].strip()):
                # Words alone outside the title and body columns: a section line such as 二、会办件（21件）.
                text = cells[filled[0]].strip()
                self.skipped.append((row_number, "标题行", text))
                role = _role_of(text, role)
                continue
            count += 1

            def get(name: str) -> str:
                i = index.get(name)
                return cells[i].strip() if i is not None and i < len(cells) else ""

            ident = get("id") or (f"R{count:05d}" if self.generated_ids else "")
            occurrences[ident] = occurrences.get(ident, 0) + 1
            suggestion = Suggestion(
                row=row_number,
                id=ident,
                title=get("title"),
                body=get("body"),
                deputy=get("deputy"),
                session=get("session"),
                role=get("role") or role,
                labels={
                    name: get(name)
                    for name in ("topic", "lead_division", "co_divisions", "grade", "lead_unit", "co_units", "key")
                    if name in index and get(name)
                },
                occurrence=occurrences[ident],
            )
            if not suggestion.title:
                what = "标题和正文均为空，无法路由" if not suggestion.body else "标题为空"
                self.problems.append((row_number, what))
            if not ident:
                self.problems.append((row_number, "编号为空"))
            elif ident in seen:
                self.problems.append((row_number, f"编号重复：{ident}（首次出现在第{seen[ident]}行）"))
            else:
                seen[ident] = row_number
            self.rows_read = count
            yield suggestion
        self.rows_read = count

    def describe(self) -> str:
        """What `router read` prints, in Chinese for the coordinator."""
        lines = [f"文件：{self.path}", f"格式：{self.format}"]
        if self.encoding:
            lines.append(f"编码：{self.encoding}")
        if self.sheet:
            lines.append(f"工作表：{self.sheet}")
        if self.delimiter:
            lines.append(f"分隔符：{self.delimiter}")
        if self.header_row:
            lines.append(f"表头所在行：第{self.header_row}行")
        lines.append("列对应：")
        for name, column in self.mapping.items():
            lines.append(f"  {column} → {name}")
        unmapped = [c for c in self.columns if c and c not in self.mapping.values()]
        if unmapped:
            lines.append(f"未使用的列：{'、'.join(unmapped)}")
        if self.merged_cells:
            lines.append(f"合并单元格：{self.merged_cells} 处跨行合并，其值已填入所覆盖的各行")
        if self.generated_ids:
            lines.append("没有编号列：已按行序生成编号（R00001 起）")
        lines.append(f"读取建议：{self.rows_read} 条")
        if self.blank_rows:
            lines.append(f"空白行（整行无内容，未计入）：{self.blank_rows} 行")
        if self.skipped:
            lines.append(f"表头行和标题行（不是建议，未计入）：{len(self.skipped)} 行")
            for row, kind, text in self.skipped:
                lines.append(f"  第{row}行：{kind}：{text[:60]}")
        if self.problems:
            lines.append(f"有问题的行：{len(self.problems)} 处（均已保留）")
            for row, message in self.problems:
                lines.append(f"  第{row}行：{message}")
        else:
            lines.append("有问题的行：无")
        return "\n".join(lines)


def _match_columns(cells: list[str], profile: Profile) -> dict[str, str]:
    """Map fields to header cells by alias; an alias listed earlier in the profile wins."""
    ranks: dict[str, tuple[str, int]] = {}
    for name, names in profile.columns.items():
        for rank, alias in enumerate(names):
            ranks.setdefault(header_key(alias), (name, rank))
    for name in _ENGLISH:
        ranks.setdefault(name, (name, len(ranks) + 1000))
    best: dict[str, tuple[int, str]] = {}
    for cell in cells:
        key = header_key(cell)
        hit = ranks.get(key) or ranks.get(key.lower())
        if hit and (hit[0] not in best or hit[1] < best[hit[0]][0]):
            best[hit[0]] = (hit[1], cell)
    return {name: cell for name, (_, cell) in sorted(best.items(), key=lambda kv: cells.index(kv[1][1]))}


def _title_keys(profile: Profile) -> set[str]:
    return {header_key(alias) for alias in profile.columns["title"]} | {"title"}


def _find_header(path: Path, head: list[tuple[int, list[str]]], profile: Profile):
    """The first row naming a title column and another field (else the row naming the most).

    The first, not the widest: a sheet may hold a second pile under a second, wider header,
    which is met again while reading; choosing it would drop every row of the first pile.
    """
    best = None
    for row_number, cells in head:
        mapping = _match_columns(cells, profile)
        if "title" in mapping and len(mapping) >= 2:
            best = (row_number, mapping, cells)
            break
        if "title" in mapping and (best is None or len(mapping) > len(best[1])):
            best = (row_number, mapping, cells)
    if best is None:
        if not any(any(c.strip() for c in cells) for _, cells in head):
            raise InputError(f"{path}: the file is empty; export the suggestions with a header row")
        _, cells = max(head, key=lambda item: sum(1 for c in item[1] if c.strip()))
        found = "、".join(c for c in cells if c.strip()) or "(none)"
        accepted = "、".join(profile.columns["title"])
        raise _NoTitleColumn(
            f"{path}: no title column found; columns found: {found}; "
            f"name the title column one of: {accepted} (or add an alias under [intake.columns] in the profile)"
        )
    return best


_CODECS = (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030"))
# Bytes that did not decode, as Python's surrogateescape handler shows them.
_ESCAPED = re.compile("[\udc80-\udcff]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _decodable_prefix(sample: bytes, codec: str) -> int:
    """How many leading bytes of ``sample`` are valid ``codec`` text (all of them if it is that codec)."""
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        return exc.start
    return len(sample)


def _detect_encoding(path: Path, sample: bytes) -> tuple[str, str]:
    """(codec, label) from the bytes alone; never from the locale.

    When no candidate decodes the whole sample, the file mixes encodings: the candidate that
    reads furthest is chosen, so that reading stops with the row and column that do not fit.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8（带BOM）"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16"
    prefixes = [(_decodable_prefix(sample, codec), codec, label) for codec, label in _CODECS]
    whole = [(codec, label) for length, codec, label in prefixes if length == len(sample)]
    # A stray NUL in a cell is text (it is dropped from the outputs); many, or NULs in bytes
    # that are not text, mean a binary file.
    nuls = sample.count(b"\0")
    if nuls and (nuls * 100 > len(sample) or not whole):
        raise InputError(f"{path}: this is not a text CSV (it contains binary bytes); export the table as CSV or XLSX")
    if whole:
        return whole[0]
    length, codec, label = max(prefixes, key=lambda item: item[0])  # the first of equals: UTF-8 before GBK
    if length == 0:
        raise InputError(f"{path}: not text in UTF-8, GBK or GB18030; re-save the file as UTF-8 CSV")
    return codec, label


def _locate_undecodable(path: Path, codec: str, *, as_csv: bool) -> tuple[int | None, int | None]:
    """(row, column) of the first bytes that are not ``codec`` text; only called once reading has failed.

    Decoding happens in blocks, so the error itself does not say which row it is in: read
    again, letting undecodable bytes through as escapes, and find the first row holding one.
    """
    try:
        with open(path, encoding=codec, errors="surrogateescape", newline="" if as_csv else None) as handle:
            records = csv.reader(handle) if as_csv else ([line] for line in handle)
            for number, cells in enumerate(records, start=1):
                for column, cell in enumerate(cells, start=1):
                    if _ESCAPED.search(cell):
                        return number, column
    except (UnicodeError, csv.Error, ValueError, OSError):
        pass
    return None, None


def _sniff(path: Path, reader: IntakeReader, what_to_do: str) -> tuple[str, str]:
    """The codec of a text file from its first bytes; refuses an empty file."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise InputError(f"{path}: the file is empty; {what_to_do}")
    codec, label = _detect_encoding(path, sample)
    reader.encoding = label
    return codec, label


_DELIMITERS = ((",", "逗号"), ("\t", "制表符"), (";", "分号"), ("|", "竖线"))


class _NoTitleColumn(InputError):
    """No header row with a title column in the rows scanned (another delimiter may find one)."""


def _ends_inside_quote(text: str, delimiter: str) -> bool:
    """Whether a record's raw text ends inside a quoted field, read as Python's csv reader reads it.

    The reader takes such a field to the end of the file without a word (its strict mode
    would say so, but stops first at harmless quirks like ""1), so the quoting is followed here.
    """
    in_quote, field_start, i = False, True, 0
    while i < len(text):
        c = text[i]
        if in_quote:
            if c == '"':
                if text[i + 1: i + 2] == '"':
                    i += 2
                    continue
                in_quote = False
        elif c == '"' and field_start:
            in_quote = True
            field_start = False
        elif c == delimiter or c in "\r\n":
            field_start = True
        else:
            field_start = False
        i += 1
    return in_quote


def _swallowed_lines(cells: list[str], spanned: list[str], delimiter: str, width: int) -> tuple[int, int]:
    """(column, count) when the later physical lines of one record look like whole data rows, else (0, 0).

    A cell spanning lines is legal CSV; physical lines inside one record that hold a
    delimiter for every column of the header are rows that a stray or missing quote folded
    into one cell. The column is the first cell holding a line break.
    """
    if width < 2:
        return 0, 0
    rowlike = sum(1 for text in spanned[1:] if text.count(delimiter) >= width - 1)
    if not rowlike:
        return 0, 0
    column = next((i for i, cell in enumerate(cells, start=1) if "\n" in cell or "\r" in cell), len(cells))
    return column, rowlike


def _refuse_open_quote(path: Path, spanned: list[str], delimiter: str, number: int, start: int, line: int,
                       column: int, count: int) -> None:
    """Refuse a record whose quote swallowed later rows (``count`` of them) or ran to the end of the file.

    A record still inside a quote when its lines end is one the reader ended at the end of the file.
    """
    if _ends_inside_quote("".join(spanned), delimiter):
        raise InputError(
            f"{path}：第{number}行（文件第{start}行）有一个引号没有闭合，从这里到文件末尾的 "
            f"{line - start + 1} 行都被读进了一个单元格；请在该单元格末尾补上 \"，或删去多余的 \"，然后重试"
        )
    if count:
        raise InputError(
            f"{path}：第{number}行（文件第{start}行）第{column}列的引号直到文件第{line}行才闭合，"
            f"其间 {count} 行数据被并进了这一个单元格；请检查该单元格的引号（补上缺少的 \" 或删去多余的 \"）后重试"
        )


def _open_csv(path: Path, profile: Profile, reader: IntakeReader) -> None:
    codec, label = _sniff(path, reader, "export the suggestions with a header row")

    def rows_split_by(delimiter: str):
        def rows() -> Iterator[tuple[int, list[str]]]:
            with open(path, encoding=codec, errors="strict", newline="") as handle:
                raw: list[str] = []  # the physical lines of the record being read

                def lines():
                    for text in handle:
                        raw.append(text)
                        yield text

                records = csv.reader(lines(), delimiter=delimiter)
                number = line = start = 0
                width = len(reader.columns)
                try:
                    for number, cells in enumerate(records, start=1):
                        start, line = line + 1, records.line_num
                        spanned, raw[:] = raw[:], []
                        if line > start:
                            column, count = _swallowed_lines(cells, spanned, delimiter, width)
                            if count:
                                _refuse_open_quote(path, spanned, delimiter, number, start, line, column, count)
                        # The narrowest header met so far (a second pile may be wider or narrower).
                        if reader.columns:
                            width = min(width, len(reader.columns)) if width else len(reader.columns)
                        elif len(cells) >= 2:  # before the header is known: the narrowest row of cells
                            width = min(width, len(cells)) if width else len(cells)
                        yield number, cells
                    if line > start:  # the last record spans lines: did its quote run to the end?
                        _refuse_open_quote(path, spanned, delimiter, number, start, line, 0, 0)
                except UnicodeDecodeError:
                    row, column = _locate_undecodable(path, codec, as_csv=True)
                    where = f"row {row or number + 1}"
                    if column:
                        name = reader.columns[column - 1] if column <= len(reader.columns) else ""
                        where += f", column {column}" + (f" ({name})" if name.strip() else "")
                    raise InputError(
                        f"{path}: {where} is not valid {label} text (the file mixes encodings); "
                        "re-save the whole file in one encoding, preferably UTF-8"
                    ) from None
                except csv.Error as exc:
                    raise InputError(f"{path}: row {number + 1} is not valid CSV ({exc}); fix the quoting there") from None
        return rows

    # The delimiter is sniffed by trying each until one yields a header with a title column.
    first_refusal = None
    for delimiter, name in _DELIMITERS:
        try:
            _attach(path, profile, reader, rows_split_by(delimiter))
        except _NoTitleColumn as exc:
            first_refusal = first_refusal or exc
            continue
        if delimiter != ",":
            reader.delimiter = name
        return
    raise first_refusal


def _attach(path: Path, profile: Profile, reader: IntakeReader, rows) -> None:
    head: list[tuple[int, list[str]]] = []
    for item in rows():
        head.append((item[0], [_cell_text(c) for c in item[1]]))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    header_row, mapping, cells = _find_header(path, head, profile)
    reader.header_row = header_row
    reader.skipped = [(number, "标题行", "、".join(c for c in above if c.strip()))
                      for number, above in head if number < header_row and any(c.strip() for c in above)]
    reader.columns = cells
    reader.mapping = mapping
    reader.generated_ids = "id" not in mapping

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        for number, values in rows():
            if number > header_row:
                yield number, [_cell_text(v) for v in values]

    reader._rows = data_rows


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
        raise InputError(
            f"{path}: not a readable .xlsx workbook ({type(exc).__name__}); "
            "open it in Excel or WPS and save it again as .xlsx"
        ) from None
    except Exception as exc:  # openpyxl raises many types for damaged parts of a workbook
        raise InputError(f"{path}: the workbook is damaged ({exc}); open it in Excel or WPS and save it again") from None
    if sheet is not None:
        if sheet not in workbook.sheetnames:
            raise InputError(
                f"{path}: no sheet named '{sheet}'; sheets: {'、'.join(workbook.sheetnames)}"
            )
        worksheet = workbook[sheet]
    else:
        visible = [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if not visible:
            raise InputError(f"{path}: the workbook has no visible sheet; name one with --sheet")
        worksheet = visible[0]
    reader.sheet = worksheet.title
    # Declared dimensions can be wrong or huge; read only the rows that exist.
    worksheet.reset_dimensions()
    try:
        merges, no_value = _scan_sheet(worksheet)
    except Exception as exc:  # a damaged member fails here, before any row is read
        raise InputError(
            f"{path}: sheet '{worksheet.title}' is truncated or damaged ({type(exc).__name__}); "
            "open it in Excel or WPS and save it again as .xlsx"
        ) from None
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
            raise InputError(
                f"{path}: sheet '{worksheet.title}' is truncated or damaged after row {number} ({type(exc).__name__}); "
                "open it in Excel or WPS and save it again as .xlsx"
            ) from None
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{path}: sheet '{worksheet.title}' is damaged after row {number} ({type(exc).__name__}: {exc}); "
                "open it in Excel or WPS and save it again as .xlsx"
            ) from None

    try:
        _attach(path, profile, reader, rows)
    except InputError as exc:
        # An empty or notes-only first sheet: name the sheet that holds the suggestions.
        if sheet is None and ("the file is empty" in str(exc) or isinstance(exc, _NoTitleColumn)):
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


# --- what a cell shows ---------------------------------------------------------------------------

EXCEL_DIGITS = 15
_FORMAT_SKIP = re.compile(r"\[[^\]]*\]|_.|\*.")
_DATE_TOKEN = re.compile(r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|上午/下午|.', re.I)
_DATE_FIELDS = {"yyyy", "yy", "mmmm", "mmm", "mm", "m", "dddd", "ddd", "dd", "d", "hh", "h", "ss", "s"}
_NUMBER_PART = re.compile(r"[0#?][0#?,]*(?:\.[0#?]+)?%?|\.[0#?]+%?")
# Excel's built-in short date shows as the system's date; on a Chinese system: 2021/1/1.
_LOCAL_DATES = {"mm-dd-yy": "yyyy/m/d", "m/d/yy h:mm": "yyyy/m/d h:mm", "d-mmm-yy": "yyyy/m/d",
                "d-mmm": "m月d日", "mmm-yy": "yyyy年m月"}


def _shown(cell) -> tuple[object, str]:
    """A cell's value as Excel or WPS show it (its number format applied), and a problem, if any.

    An id formatted 000 shows as 007, not 7; a date as 2021/1/1, not 2021-01-01T00:00:00; a
    number is never a float's repr.
    """
    value = getattr(cell, "value", None)
    if value is None or isinstance(value, (str, bool)):
        return value, ""
    fmt = getattr(cell, "number_format", None) or "General"
    try:
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return _format_date(value, fmt), ""
        if isinstance(value, (int, float)):
            return _format_number(value, fmt)
    except (ValueError, OverflowError):
        pass
    return _cell_text(value), ""


def _format_number(value, fmt: str) -> tuple[str, str]:
    problem = ""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 10 ** EXCEL_DIGITS:
        value = int(decimal.Decimal(f"{value:.{EXCEL_DIGITS}g}"))
        problem = (f"是一个超过 {EXCEL_DIGITS} 位的数字，Excel 只保存 {EXCEL_DIGITS} 位有效数字，末尾几位已经丢失"
                   f"（读作 {value}）；请在导出系统中把该列设为文本后重新导出")
    section = fmt.split(";")[0] if not (value < 0 and ";" in fmt) else fmt.split(";")[1]
    section = _FORMAT_SKIP.sub("", section)
    if section.strip().lower() in ("general", "", "@"):
        return _general(value), problem
    match = _NUMBER_PART.search(section.replace('"', "\x00"))
    if not match:
        return _general(value), problem
    part = match.group(0)
    literal = lambda text: re.sub(r'"([^"]*)"|\\(.)', lambda m: m.group(1) or m.group(2) or "", text)  # noqa: E731
    number = abs(value) if ";" in fmt and value < 0 else value
    if part.endswith("%"):
        number, part = number * 100, part[:-1]
    integer, _, decimals = part.partition(".")
    places = len(decimals)
    if isinstance(number, int) and not places:  # exact: an int through a float format loses digits
        text = f"{number:,}" if "," in integer else str(number)
    else:
        text = f"{number:,.{places}f}" if "," in integer else f"{number:.{places}f}"
    width = integer.count("0")
    if width > 1:
        sign = "-" if text.startswith("-") else ""
        whole, dot, fraction = text.lstrip("-").partition(".")
        text = sign + whole.zfill(width) + dot + fraction
    if match.group(0).endswith("%"):
        text += "%"
    return literal(section[: match.start()]) + text + literal(section[match.end():]), problem


def _general(value) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.{EXCEL_DIGITS}g}"


def _format_date(value, fmt: str) -> str:
    section = _FORMAT_SKIP.sub("", fmt.split(";")[0]).strip()
    section = _LOCAL_DATES.get(section.lower(), section)
    if section.lower() in ("general", "", "@"):
        section = "yyyy/m/d" if not isinstance(value, dt.time) else "h:mm:ss"
        if isinstance(value, dt.datetime) and value.time() != dt.time(0):
            section += " h:mm:ss"
    tokens = _DATE_TOKEN.findall(section)
    fields = [i for i, t in enumerate(tokens) if t.lower() in _DATE_FIELDS]

    def is_minute(i: int) -> bool:
        """m or mm right after an hour or right before seconds is minutes, as in Excel."""
        before = [tokens[j].lower() for j in fields if j < i][-1:]
        after = [tokens[j].lower() for j in fields if j > i][:1]
        return before in (["h"], ["hh"]) or after in (["s"], ["ss"])

    out = []
    for i, token in enumerate(tokens):
        low = token.lower()
        if token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        elif low in ("yyyy", "yy") and hasattr(value, "year"):
            out.append(f"{value.year:04d}" if low == "yyyy" else f"{value.year % 100:02d}")
        elif low in ("mm", "m") and is_minute(i) and hasattr(value, "minute"):
            out.append(f"{value.minute:02d}" if low == "mm" else str(value.minute))
        elif low in ("mmmm", "mmm", "mm", "m") and hasattr(value, "month"):
            out.append(f"{value.month:02d}" if low == "mm" else f"{value.month}" if low == "m" else f"{value.month}月")
        elif low in ("dddd", "ddd") and hasattr(value, "weekday"):
            out.append("星期" + "一二三四五六日"[value.weekday()])
        elif low in ("dd", "d") and hasattr(value, "day"):
            out.append(f"{value.day:02d}" if low == "dd" else str(value.day))
        elif low in ("hh", "h") and hasattr(value, "hour"):
            out.append(f"{value.hour:02d}" if low == "hh" else str(value.hour))
        elif low in ("ss", "s") and hasattr(value, "second"):
            out.append(f"{value.second:02d}" if low == "ss" else str(value.second))
        elif low in ("am/pm", "上午/下午") and hasattr(value, "hour"):
            out.append("上午" if value.hour < 12 else "下午")
        elif low not in _DATE_FIELDS:
            out.append(token)
    return "".join(out)


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


def _open_jsonl(path: Path, profile: Profile, reader: IntakeReader) -> None:
    codec, label = _sniff(path, reader, "write one JSON object per line")
    keys: list[str] = []

    with open(path, encoding=codec, errors="replace") as handle:
        first = handle.read(4096).lstrip("\ufeff \t\r\n")[:1]
    if first == "[":
        _open_json_array(path, profile, reader, codec)
        return

    def objects() -> Iterator[tuple[int, dict]]:
        with open(path, encoding=codec, errors="strict") as handle:
            number = 0
            try:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}: line {number} is not valid JSON ({exc.msg}); fix or remove it") from None
                    if not isinstance(value, dict):
                        raise InputError(f"{path}: line {number} is not a JSON object; write one object per line")
                    yield number, {_LONE_SURROGATE.sub("\ufffd", key): item for key, item in value.items()}
            except UnicodeDecodeError:
                line, _ = _locate_undecodable(path, codec, as_csv=False)
                raise InputError(
                    f"{path}: line {line or number + 1} is not valid {label} text (the file mixes encodings); "
                    "save the whole file as UTF-8"
                ) from None

    # Keys are gathered from every line, so a field that first appears late is not dropped.
    for _, obj in objects():
        for key in obj:
            if key not in keys:
                keys.append(key)
    mapping = _match_columns(keys, profile)
    if "title" not in mapping:
        accepted = "、".join(profile.columns["title"])
        raise InputError(
            f"{path}: no title field found; fields found: {'、'.join(keys) or '(none)'}; "
            f"name it 'title' or one of: {accepted}"
        )
    reader.columns = keys
    reader.mapping = mapping
    reader.generated_ids = "id" not in mapping
    position = {key: i for i, key in enumerate(keys)}
    line_mappings: dict[tuple, dict[str, str]] = {}

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, obj in objects():
            cells = [""] * len(keys)
            for key, value in obj.items():
                cells[position[key]] = _cell_text(value)
            # A line may name a field by another alias (标题 here, title there): its own key counts.
            own = line_mappings.get(tuple(obj))
            if own is None:
                own = _match_columns(list(obj), profile)
                if len(line_mappings) < 1000:
                    line_mappings[tuple(obj)] = own
            for name, key in own.items():
                target = position[mapping[name]]
                if key != mapping[name] and not cells[target].strip():
                    cells[target] = cells[position[key]]
            if any(_LONE_SURROGATE.search(cell) for cell in cells):
                cells = [_LONE_SURROGATE.sub("\ufffd", cell) for cell in cells]
                reader.problems.append((number, "含无法表示的字符（孤立的 UTF-16 代理项），已替换为 \ufffd"))
            yield number, cells

    reader._rows = rows


def _open_json_array(path: Path, profile: Profile, reader: IntakeReader, codec: str) -> None:
    """A .json file holding one array of objects (as many systems export): each element is a row."""
    try:
        with open(path, encoding=codec, errors="strict") as handle:
            items = json.load(handle)
    except UnicodeDecodeError:
        raise InputError(f"{path}：不是有效的 {reader.encoding} 文本（文件混用了编码）；请把整个文件存为 UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}：第{exc.lineno}行第{exc.colno}列不是有效的 JSON（{exc.msg}）；请修正该处后重试") from None
    if not isinstance(items, list):
        raise InputError(f"{path}：JSON 文件应是一个由对象组成的数组，或每行一个对象（JSONL）")
    keys: list[str] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(f"{path}：数组的第{number}个元素不是 JSON 对象；每个元素应是一条建议，如 {{\"标题\": \"……\"}}")
        for key in item:
            if key not in keys:
                keys.append(key)
    mapping = _match_columns(keys, profile)
    if "title" not in mapping:
        accepted = "、".join(profile.columns["title"])
        raise InputError(f"{path}: no title field found; fields found: {'、'.join(keys) or '(none)'}; "
                         f"name it 'title' or one of: {accepted}")
    reader.format = "json"
    reader.columns, reader.mapping = keys, mapping
    reader.generated_ids = "id" not in mapping
    position = {key: i for i, key in enumerate(keys)}

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, item in enumerate(items, start=1):
            cells = [""] * len(keys)
            for key, value in item.items():
                cells[position[key]] = _LONE_SURROGATE.sub("\ufffd", _cell_text(value))
            yield number, cells

    reader._rows = rows


def open_intake(path: str | Path, profile: Profile, *, sheet: str | None = None) -> IntakeReader:
    """Understand a file's shape; iterate the result to read its suggestions."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give an .xlsx, .csv or .jsonl file")
    suffix = path.suffix.lower()
    formats = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
    if suffix == ".xls":
        raise InputError(f"{path}: old .xls workbooks are not read; save it as .xlsx in Excel or WPS")
    if suffix not in formats:
        raise InputError(f"{path}: unknown file type '{suffix}'; give an .xlsx, .csv or .jsonl file")
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty; export the suggestions with a header row")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from None
    reader = IntakeReader(path=path, profile=profile, format=formats[suffix])
    try:
        if reader.format == "xlsx":
            _open_xlsx(path, profile, reader, sheet)
        elif reader.format == "csv":
            _open_csv(path, profile, reader)
        else:
            _open_jsonl(path, profile, reader)
    except PermissionError:
        raise InputError(f"{path}: permission denied; check that you may read the file") from None
    return reader


def read_intake(path: str | Path, profile: Profile, *, sheet: str | None = None) -> tuple[IntakeReader, list[Suggestion]]:
    """Read a whole file; the reader carries how it was understood and its problems."""
    reader = open_intake(path, profile, sheet=sheet)
    suggestions = list(reader)
    return reader, suggestions
