"""The office folder: where one office keeps its own profile, models and store.

``router init [DIR]`` creates it; every command finds it from the working folder upwards,
the way git finds ``.git``. Without one, routing uses what ships inside the package (the
default profile and the bundled default model, see :func:`bundled_models_dir`), and commands
that write state refuse and ask for ``router init`` instead of leaving ``models/`` and
``router.sqlite`` in whatever folder they ran in.

This module reads no environment variable: the CLI passes ``--office``/``$ROUTER_OFFICE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import OfficeError, OutputError

__all__ = [
    "MARKER",
    "Office",
    "bundled_models_dir",
    "find_office",
    "open_office",
    "init_office",
    "no_office_error",
]

# The file that makes a folder an office folder (like .git); it also says what the folder is.
MARKER = "router-office.toml"
PROFILE_FILE = "profile.toml"
MODELS_FOLDER = "models"
STORE_FILE = "router.sqlite"

_MARKER_TEXT = """\
# 本文件夹是 router 的办公室文件夹（由 router init 建立）。
# profile.toml：本单位的配置（主题、处室、职责、规则），按本单位实际修改；
# models/：本单位训练的模型（CURRENT 指明当前模型）；
# router.sqlite：历史库（往年分办结果、每次路由、复核决定）。
# 在本文件夹或其下级文件夹中运行 router，都会使用这里的配置、模型和历史库。
format = 1
"""


def bundled_models_dir() -> Path:
    """The models folder that ships inside the package (``default`` and its ``CURRENT``)."""
    return Path(str(resources.files("router") / "resources" / "models"))


@dataclass(frozen=True)
class Office:
    """An office folder and the paths of what it holds."""

    root: Path

    @property
    def profile_path(self) -> Path:
        return self.root / PROFILE_FILE

    @property
    def models_root(self) -> Path:
        return self.root / MODELS_FOLDER

    @property
    def store_path(self) -> Path:
        return self.root / STORE_FILE

    def has_current_model(self) -> bool:
        return (self.models_root / "CURRENT").is_file()


def find_office(start: str | os.PathLike) -> Office | None:
    """The office folder holding ``start`` (it or a parent has the marker), or None."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return Office(folder)
    return None


def open_office(path: str | os.PathLike) -> Office:
    """The office folder at ``path`` (given with --office or $ROUTER_OFFICE); refused if it is not one."""
    folder = Path(path)
    if not (folder / MARKER).is_file():
        raise OfficeError(f"{folder}：不是办公室文件夹（没有 {MARKER}）；先运行 router init {folder} 建立")
    return Office(folder.resolve())


def no_office_error(what: str) -> OfficeError:
    """The refusal of a command that writes state when no office folder was found."""
    return OfficeError(
        f"{what}需要办公室文件夹，但从当前文件夹向上没有找到（{MARKER}）；"
        "先运行 router init [文件夹] 建立一个（保存本单位的配置、模型和历史库），"
        "在其中运行命令，或用 --office 文件夹 指定"
    )


def init_office(path: str | os.PathLike, *, template: str = "default", force: bool = False) -> Office:
    """Create an office folder: the marker, a profile copied from ``template`` to edit, and ``models/``.

    The store is created on first use. An existing office folder is refused unless ``force``
    (which rewrites the profile only; models and store are kept).
    """
    from .profile import init_profile

    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}：已有同名文件；请给一个文件夹名")
    office = Office(folder.resolve())
    if (folder / MARKER).is_file() and not force:
        raise OutputError(f"{folder}：已经是办公室文件夹；换一个文件夹，或加 --force 重写其中的 profile.toml")
    if office.profile_path.exists() and not force:
        raise OutputError(f"{office.profile_path}：文件已存在；换一个文件夹，或加 --force 覆盖")
    try:
        office.models_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}：无法建立文件夹（{exc.strerror}）；换一个文件夹") from None
    init_profile(template, office.profile_path, force=force)
    (folder / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    return office
