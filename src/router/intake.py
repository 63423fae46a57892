"""Reading intake and history files: XLSX, CSV (UTF-8, BOM, GBK, GB18030) and JSONL.

A file is understood in two steps. :func:`open_intake` finds the header row and maps its
columns to fields by the profile's aliases; iterating the returned :class:`IntakeReader`
yields one :class:`Suggestion` per non-blank data row, streaming, so a file of a million rows
never sits in memory. Problems (an empty title, a duplicate id) are recorded, never dropped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .errors import InputError
from .profile import COLUMN_FIELDS, Profile

__all__ = ["Suggestion", "IntakeReader", "open_intake", "read_intake", "header_key"]

HEADER_SCAN_ROWS = 30
SAMPLE_BYTES = 1 << 16
# English field names are accepted in JSONL and CSV besides the profile's aliases.
_ENGLISH = {name: name for name in COLUMN_FIELDS}

csv.field_size_limit(1 << 27)


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

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}".strip()

    @property
    def content_hash(self) -> str:
        """Identity of the text itself, used to find a reviewer's earlier decision."""
        text = unicodedata.normalize("NFKC", f"{self.title}\n{self.body}")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def routable(self) -> bool:
        return bool(self.text.strip())


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
    _rows: object = None

    def __iter__(self) -> Iterator[Suggestion]:
        index = {name: self.columns.index(col) for name, col in self.mapping.items()}
        seen: dict[str, int] = {}
        count = 0
        for row_number, cells in self._rows():
            if not any(str(c).strip() for c in cells):
                self.blank_rows += 1
                continue
            count += 1

            def get(name: str) -> str:
                i = index.get(name)
                return cells[i].strip() if i is not None and i < len(cells) else ""

            ident = get("id") or (f"R{count:05d}" if self.generated_ids else "")
            suggestion = Suggestion(
                row=row_number,
                id=ident,
                title=get("title"),
                body=get("body"),
                deputy=get("deputy"),
                session=get("session"),
                role=get("role"),
                labels={
                    name: get(name)
                    for name in ("topic", "lead_division", "co_divisions", "grade", "lead_unit", "co_units")
                    if name in index and get(name)
                },
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
        if self.header_row:
            lines.append(f"表头所在行：第{self.header_row}行")
        lines.append("列对应：")
        for name, column in self.mapping.items():
            lines.append(f"  {column} → {name}")
        unmapped = [c for c in self.columns if c and c not in self.mapping.values()]
        if unmapped:
            lines.append(f"未使用的列：{'、'.join(unmapped)}")
        if self.generated_ids:
            lines.append("没有编号列：已按行序生成编号（R00001 起）")
        lines.append(f"读取建议：{self.rows_read} 条")
        if self.blank_rows:
            lines.append(f"空白行（整行无内容，未计入）：{self.blank_rows} 行")
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


def _find_header(path: Path, head: list[tuple[int, list[str]]], profile: Profile):
    best = None
    for row_number, cells in head:
        mapping = _match_columns(cells, profile)
        if "title" in mapping and (best is None or len(mapping) > len(best[1])):
            best = (row_number, mapping, cells)
    if best is None:
        if not any(any(c.strip() for c in cells) for _, cells in head):
            raise InputError(f"{path}: the file is empty; export the suggestions with a header row")
        _, cells = max(head, key=lambda item: sum(1 for c in item[1] if c.strip()))
        found = "、".join(c for c in cells if c.strip()) or "(none)"
        accepted = "、".join(profile.columns["title"])
        raise InputError(
            f"{path}: no title column found; columns found: {found}; "
            f"name the title column one of: {accepted} (or add an alias under [intake.columns] in the profile)"
        )
    return best


def _detect_encoding(path: Path, sample: bytes) -> tuple[str, str]:
    """(codec, label) from the bytes alone; never from the locale."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8（带BOM）"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16"
    if b"\0" in sample:
        raise InputError(f"{path}: this is not a text CSV (it contains binary bytes); export the table as CSV or XLSX")
    for codec, label in (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            codecs.getincrementaldecoder(codec)().decode(sample, final=False)
            return codec, label
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: not text in UTF-8, GBK or GB18030; re-save the file as UTF-8 CSV")


def _open_csv(path: Path, profile: Profile, reader: IntakeReader) -> None:
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise InputError(f"{path}: the file is empty; export the suggestions with a header row")
    codec, label = _detect_encoding(path, sample)
    reader.encoding = label

    def rows() -> Iterator[tuple[int, list[str]]]:
        with open(path, encoding=codec, errors="strict", newline="") as handle:
            records = csv.reader(handle)
            number = 0
            try:
                for number, cells in enumerate(records, start=1):
                    yield number, cells
            except UnicodeDecodeError:
                raise InputError(
                    f"{path}: row {number + 1} is not valid {label} text (the file mixes encodings); "
                    "re-save the whole file in one encoding, preferably UTF-8"
                ) from None
            except csv.Error as exc:
                raise InputError(f"{path}: row {number + 1} is not valid CSV ({exc}); fix the quoting there") from None

    _attach(path, profile, reader, rows)


def _attach(path: Path, profile: Profile, reader: IntakeReader, rows) -> None:
    head: list[tuple[int, list[str]]] = []
    for item in rows():
        head.append((item[0], [_cell_text(c) for c in item[1]]))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    header_row, mapping, cells = _find_header(path, head, profile)
    reader.header_row = header_row
    reader.columns = cells
    reader.mapping = mapping
    reader.generated_ids = "id" not in mapping

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        for number, values in rows():
            if number > header_row:
                yield number, [_cell_text(v) for v in values]

    reader._rows = data_rows


def _open_xlsx(path: Path, profile: Profile, reader: IntakeReader, sheet: str | None) -> None:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
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

    def rows() -> Iterator[tuple[int, list]]:
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                values = list(values)
                while values and values[-1] in (None, ""):
                    values.pop()
                yield number, values
        except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
            raise InputError(
                f"{path}: the workbook is truncated or damaged ({type(exc).__name__}); save it again from Excel or WPS"
            ) from None
        except Exception as exc:
            raise InputError(f"{path}: the workbook could not be read to the end ({exc}); save it again") from None

    _attach(path, profile, reader, rows)


def _open_jsonl(path: Path, profile: Profile, reader: IntakeReader) -> None:
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip():
        raise InputError(f"{path}: the file is empty; write one JSON object per line")
    codec, label = _detect_encoding(path, sample)
    reader.encoding = label
    keys: list[str] = []

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
                    yield number, value
            except UnicodeDecodeError:
                raise InputError(f"{path}: line {number + 1} is not valid {label} text; save the file as UTF-8") from None

    for _, obj in objects():
        for key in obj:
            if key not in keys:
                keys.append(key)
        break
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

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, obj in objects():
            yield number, [_cell_text(obj.get(k)) for k in keys]

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
