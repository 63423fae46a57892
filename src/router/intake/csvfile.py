"""CSV and other delimited text: the encoding, the delimiter, and quotes left open."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..messages import failure
from ..profile import Profile
from .encoding import _locate_undecodable, _sniff
from .reader import IntakeReader, _attach, _NoTitleColumn

csv.field_size_limit(1 << 27)


_DELIMITERS = ((",", "逗号"), ("\t", "制表符"), (";", "分号"), ("|", "竖线"))


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
    codec, label = _sniff(path, reader, "请导出带表头的建议表")

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
                    where = f"第 {row or number + 1} 行"
                    if column:
                        name = reader.columns[column - 1] if column <= len(reader.columns) else ""
                        where += f"，第 {column} 列" + (f"（{name}）" if name.strip() else "")
                    raise failure("I112", file=path, where=where, label=label) from None
                except csv.Error as exc:
                    raise failure("I113", file=path, row=number + 1) from None
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


