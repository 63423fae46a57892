"""Reading intake and history files: XLSX, CSV (UTF-8, BOM, GBK, GB18030) and JSONL.

A file is understood in two steps. :func:`open_intake` finds the header row and maps its
columns to fields by the profile's aliases; iterating the returned :class:`IntakeReader`
yields one :class:`Suggestion` per non-blank data row, streaming, so a file of a million rows
never sits in memory. Problems (an empty title, a duplicate id) are recorded, never dropped.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..messages import failure
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
        raise failure("I101", file=path)
    if path.is_dir():
        raise failure("I102", file=path)
    suffix = path.suffix.lower()
    formats = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".json": "jsonl"}
    if suffix == ".xls":
        raise failure("I103", file=path)
    if suffix not in formats:
        raise failure("I104", file=path, suffix=suffix or "（无扩展名）")
    try:
        if path.stat().st_size == 0:
            raise failure("I105", file=path)
    except OSError as exc:
        raise failure("I106", file=path, reason=exc.strerror) from None
    reader = IntakeReader(path=path, profile=profile, format=formats[suffix])
    try:
        if reader.format == "xlsx":
            _open_xlsx(path, profile, reader, sheet)
        elif reader.format == "csv":
            _open_csv(path, profile, reader)
        else:
            _open_jsonl(path, profile, reader)
    except PermissionError:
        raise failure("I107", file=path) from None
    return reader


def read_intake(path: str | Path, profile: Profile, *, sheet: str | None = None) -> tuple[IntakeReader, list[Suggestion]]:
    """Read a whole file; the reader carries how it was understood and its problems."""
    reader = open_intake(path, profile, sheet=sheet)
    suggestions = list(reader)
    return reader, suggestions
