"""Writing files so that a crash, a full disk or a kill never leaves half a file, and cells that are safe.

Every file router writes goes to a temporary file in the target folder and is renamed over
the target only when complete; the new file gets the mode the old one had (or the umask's).
The table writers, the store's backup, the model registry and the reports all use this.
A spreadsheet cell written by router is text that never runs as a formula and fits in one cell.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from .messages import failure

__all__ = ["atomic_path", "file_mode", "safe_cell", "xlsx_cell", "XLSX_CELL_MAX"]


def file_mode(path: Path, *, folder: bool = False) -> int:
    """The mode a new file (or folder) gets from the umask, or the mode of the file it replaces."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return (0o777 if folder else 0o666) & ~umask


@contextlib.contextmanager
def atomic_path(path: Path, *, advice: str = "用 -o 另选一个位置", before_replace=None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    ``before_replace`` runs once the new file is whole on disk and before it replaces the old
    one: when it fails, the old file stays and the new one is removed.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise failure("O101", file=path, folder=folder, advice=advice)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        os.close(fd)
    except PermissionError:
        raise failure("O102", file=path, folder=folder, advice=advice) from None
    except OSError as exc:
        raise failure("O103", file=path, folder=folder, reason=exc.strerror, advice=advice) from None
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600): give it the mode the user would expect.
        os.chmod(tmp, file_mode(path))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise failure("O104", file=path, reason=exc.strerror or exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# Characters XML 1.0 forbids (an XLSX holding one cannot be opened) and lone surrogates.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel and WPS hold at most 32,767 characters in a cell and report a damaged file beyond it.
XLSX_CELL_MAX = 32767
TRUNCATED = "……（超出表格单元格 32767 字上限，已截断；全文见原文件）"


def safe_cell(value):
    """A value that a spreadsheet shows as text and never evaluates."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL.sub("", value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def xlsx_cell(value):
    """:func:`safe_cell`, cut to what one XLSX cell holds (counted as Excel counts, in UTF-16 units)."""
    value = safe_cell(value)
    if isinstance(value, str) and len(value) > XLSX_CELL_MAX // 2 and _utf16_len(value) > XLSX_CELL_MAX:
        budget = XLSX_CELL_MAX - _utf16_len(TRUNCATED)
        cut = value[:budget]
        while (excess := _utf16_len(cut) - budget) > 0:
            cut = cut[: -((excess + 1) // 2)]  # a character is one or two units: never cut too much
        return cut + TRUNCATED
    return value


def read_checked(path: Path) -> memoryview | None:
    """The payload of a cache file that :func:`write_checked` wrote, or None when the file is
    missing or fails the sha256 at its head (damaged, truncated, foreign): rebuild it, never read it."""
    try:
        blob = Path(path).read_bytes()
    except OSError:
        return None
    if len(blob) > 32 and hashlib.sha256(memoryview(blob)[32:]).digest() == blob[:32]:
        return memoryview(blob)[32:]
    return None


def write_checked(path: Path, payload: bytes, *, folder_mode: int = 0o777) -> bool:
    """Write ``payload`` behind its sha256 through a staging file renamed into place; False when
    the folder cannot be written (a cache then only costs its rebuild at the next start)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            staging.write_bytes(hashlib.sha256(payload).digest() + payload)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)
    except OSError:
        return False
    return True


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
