"""Labelled history: past years' workbooks with the topic and divisions finally used."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .domain import Example
from .errors import InputError
from .intake import Suggestion, open_intake
from .profile import Profile

__all__ = ["Labelled", "read_history", "year_of", "data_sha256", "to_examples", "split_divisions"]

_YEAR = re.compile(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)")


@dataclass
class Labelled:
    suggestion: Suggestion
    year: int
    topic: str
    division: str
    co_divisions: tuple[str, ...]
    source: str


def year_of(path: Path) -> int:
    match = _YEAR.search(Path(path).name)
    if not match:
        raise InputError(f"{path}：无法从文件名看出年度，表中也没有“年度”或“届次”列；"
                         "请把文件命名为 history_2019.xlsx 这样，或加 --year 2019")
    return int(match.group(1))


def _session_year(path: Path, s: Suggestion, column: str) -> int:
    """A row's year from its 年度/届次 cell (2019, 2019年, 2019年人代会), for a file whose name has none."""
    match = _YEAR.search(s.session or "")
    if not match:
        raise InputError(f"{path}：第 {s.row} 行，“{column}”列：“{s.session}”看不出年度，文件名中也没有年度；"
                         "请在该列写上年份（如 2019），把文件命名为 history_2019.xlsx 这样，或加 --year 2019")
    return int(match.group(1))


def split_divisions(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[、,，;；/\s]+", value or "") if part.strip()]


def read_history(path: Path, profile: Profile, *, year: int | None = None) -> list[Labelled]:
    """Read one labelled year; every label must be a name or key of the profile."""
    path = Path(path)
    named = _YEAR.search(path.name)
    year = year or (int(named.group(1)) if named else None)
    reader = open_intake(path, profile)
    if year is None and "session" not in reader.mapping:
        year_of(path)  # refuses, saying how to give the year
    for needed in ("topic", "lead_division"):
        if needed not in reader.mapping:
            aliases = "、".join(profile.columns[needed])
            raise InputError(f"{path}：没有{ {'topic': '主题', 'lead_division': '主办处室（单位）'}.get(needed, needed)}列；"
                             f"带标注的往年结果需要一个表头为以下之一的列：{aliases}")
    topic_col = reader.mapping["topic"]
    lead_col = reader.mapping["lead_division"]
    co_col = reader.mapping.get("co_divisions", "")
    out = []
    for s in reader:
        topic = profile.topic_key(s.labels.get("topic", ""))
        if topic is None:
            raise InputError(
                f"{path}：第 {s.row} 行，“{topic_col}”列：主题“{s.labels.get('topic', '')}”不在配置文件中；"
                f"请用以下之一：{'、'.join(t.name for t in profile.topics)}"
            )
        lead = profile.division_key(s.labels.get("lead_division", ""))
        if lead is None:
            raise InputError(
                f"{path}：第 {s.row} 行，“{lead_col}”列：单位“{s.labels.get('lead_division', '')}”不在配置文件中；"
                f"请用以下之一：{'、'.join(d.name for d in profile.divisions)}"
            )
        co = []
        for name in split_divisions(s.labels.get("co_divisions", "")):
            key = profile.division_key(name)
            if key is None:
                raise InputError(
                    f"{path}：第 {s.row} 行，“{co_col}”列：单位“{name}”不在配置文件中；"
                    f"请用以下之一：{'、'.join(d.name for d in profile.divisions)}"
                )
            if key != lead and key not in co:
                co.append(key)
        out.append(Labelled(s, year or _session_year(path, s, reader.mapping["session"]), topic, lead, tuple(co),
                            path.name))
    return out


def to_examples(items: list[Labelled]) -> list[Example]:
    return [
        Example(text=i.suggestion.text, topic=i.topic, division=i.division,
                co_divisions=i.co_divisions, year=i.year, id=i.suggestion.id)
        for i in items
    ]


def data_sha256(examples: list[Example]) -> str:
    """A hash of what a model learned from: stable across runs and machines."""
    digest = hashlib.sha256()
    for e in examples:
        record = [e.year, e.id, e.text, e.topic, e.division, list(e.co_divisions)]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
