"""What a file holds once understood: suggestions, their identity, the header and its columns."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

from ..errors import InputError
from ..messages import failure
from ..profile import COLUMN_FIELDS, Profile, field_name

HEADER_SCAN_ROWS = 30
_SECTION = re.compile("[\u4e00-\u9fff]")
_ID_LIKE = re.compile(r"^第?[\w\-－]*\d[\w\-－]*号?$")
# English field names are accepted in JSONL and CSV besides the profile's aliases.
_ENGLISH = {name: name for name in COLUMN_FIELDS}


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
            lines.append(f"  {column} → {field_name(name, self.profile.unit_word)}")
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
            raise failure("I105", file=path)
        _, cells = max(head, key=lambda item: sum(1 for c in item[1] if c.strip()))
        found = "、".join(c for c in cells if c.strip()) or "（无）"
        accepted = "、".join(profile.columns["title"])
        raise failure("I108", file=path, kind=_NoTitleColumn, found=found, accepted=accepted)
    return best


class _NoTitleColumn(InputError):
    """No header row with a title column in the rows scanned (another delimiter may find one)."""


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

