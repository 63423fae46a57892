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
        raise InputError(f"{path}: cannot tell the year from the file name; name it like history_2019.xlsx or give --year")
    return int(match.group(1))


def split_divisions(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[、,，;；/\s]+", value or "") if part.strip()]


def read_history(path: Path, profile: Profile, *, year: int | None = None) -> list[Labelled]:
    """Read one labelled year; every label must be a name or key of the profile."""
    path = Path(path)
    year = year or year_of(path)
    reader = open_intake(path, profile)
    for needed in ("topic", "lead_division"):
        if needed not in reader.mapping:
            aliases = "、".join(profile.columns[needed])
            raise InputError(f"{path}: no {needed} column; a labelled history needs one named {aliases}")
    topic_col = reader.mapping["topic"]
    lead_col = reader.mapping["lead_division"]
    co_col = reader.mapping.get("co_divisions", "")
    out = []
    for s in reader:
        topic = profile.topic_key(s.labels.get("topic", ""))
        if topic is None:
            raise InputError(
                f"{path}: row {s.row}, column {topic_col}: unknown topic '{s.labels.get('topic', '')}'; "
                f"use one of: {'、'.join(t.name for t in profile.topics)}"
            )
        lead = profile.division_key(s.labels.get("lead_division", ""))
        if lead is None:
            raise InputError(
                f"{path}: row {s.row}, column {lead_col}: unknown division '{s.labels.get('lead_division', '')}'; "
                f"use one of: {'、'.join(d.name for d in profile.divisions)}"
            )
        co = []
        for name in split_divisions(s.labels.get("co_divisions", "")):
            key = profile.division_key(name)
            if key is None:
                raise InputError(
                    f"{path}: row {s.row}, column {co_col}: unknown division '{name}'; "
                    f"use one of: {'、'.join(d.name for d in profile.divisions)}"
                )
            if key != lead and key not in co:
                co.append(key)
        out.append(Labelled(s, year, topic, lead, tuple(co), path.name))
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
