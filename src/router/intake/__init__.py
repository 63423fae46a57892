"""Reading intake and history files: XLSX, CSV (UTF-8, BOM, GBK, GB18030) and JSONL.

A file is understood in two steps. :func:`open_intake` finds the header row and maps its
columns to fields by the profile's aliases; iterating the returned :class:`IntakeReader`
yields one :class:`Suggestion` per non-blank data row, streaming, so a file of a million rows
never sits in memory. Problems (an empty title, a duplicate id) are recorded, never dropped.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..profile import Profile
from .csvfile import _open_csv
from .jsonfile import _open_jsonl
from .reader import Identity, IntakeReader, Suggestion, header_key
from .xlsxfile import _open_xlsx

__all__ = ["Suggestion", "Identity", "IntakeReader", "open_intake", "read_intake", "header_key"]


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
