"""JSON Lines (one object a line) and JSON arrays of objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..messages import failure
from ..profile import Profile
from .encoding import _LONE_SURROGATE, _locate_undecodable, _sniff
from .reader import IntakeReader, _cell_text, _match_columns


def _open_jsonl(path: Path, profile: Profile, reader: IntakeReader) -> None:
    codec, label = _sniff(path, reader, "每行写一个 JSON 对象")

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
                        raise failure("I114", file=path, row=number, col=exc.colno) from None
                    if not isinstance(value, dict):
                        raise failure("I115", file=path, row=number)
                    yield number, {_LONE_SURROGATE.sub("\ufffd", key): item for key, item in value.items()}
            except UnicodeDecodeError:
                line, _ = _locate_undecodable(path, codec, as_csv=False)
                raise failure("I112", file=path, where=f"第 {line or number + 1} 行", label=label) from None

    # Keys are gathered from every line, so a field that first appears late is not dropped.
    keys, mapping = _fields(path, (obj for _, obj in objects()), profile)
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
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(f"{path}：数组的第{number}个元素不是 JSON 对象；每个元素应是一条建议，如 {{\"标题\": \"……\"}}")
    keys, mapping = _fields(path, items, profile)
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


def _fields(path: Path, objects, profile: Profile) -> tuple[list[str], dict[str, str]]:
    """Every key of ``objects`` in order of first appearance, and the fields they map to; a title is required."""
    keys: list[str] = []
    for obj in objects:
        for key in obj:
            if key not in keys:
                keys.append(key)
    mapping = _match_columns(keys, profile)
    if "title" not in mapping:
        accepted = "、".join(profile.columns["title"])
        raise failure("I109", file=path, found="、".join(keys) or "（无）", accepted=accepted)
    return keys, mapping
