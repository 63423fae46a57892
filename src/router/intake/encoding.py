"""The encoding of a text file: UTF-8 (with or without BOM), GBK or GB18030, and where it breaks."""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

from ..errors import InputError
from ..messages import failure
from .reader import IntakeReader

SAMPLE_BYTES = 1 << 16


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
        raise failure("I110", file=path)
    if whole:
        return whole[0]
    length, codec, label = max(prefixes, key=lambda item: item[0])  # the first of equals: UTF-8 before GBK
    if length == 0:
        raise failure("I111", file=path)
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
        raise failure("I105", file=path)
    codec, label = _detect_encoding(path, sample)
    reader.encoding = label
    return codec, label

