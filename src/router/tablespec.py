"""The one specification of the assignment table's columns (建议交办任务表 and the sheets printed from it).

Each :class:`Column` says, once: its name (the key readers use, e.g. ``确认主办处室``), its header in
the office's word for its units (``确认主办部门`` in a county office), its width, its dropdown, how
a route fills it and how a reviewer's cell is read back. The sheets are views: lists of column
names (:data:`ASSIGNMENT` for 交办任务表, :data:`QUEUE` for 待复核, :data:`PRINT` for 交办单,
:data:`FULL_TEXT` for 建议全文), never positions. The writers (table.py, printsheet.py) and the
readers of a returned table (review, tracking import) use these names.

A header written in the office's unit word is read back by :func:`canonical` (``确认主办部门`` →
``确认主办处室``), so a reader finds a column by its name whatever the office calls its units.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .profile import Profile

__all__ = [
    "Column", "Fill", "COLUMNS", "ASSIGNMENT", "REVIEW", "TRACKING", "QUEUE", "PRINT", "FULL_TEXT",
    "KEY_HEADER", "HUMAN", "SOURCE_NAMES", "REVIEW_ACTIONS", "column", "columns", "headers", "header_of",
    "canonical", "canonical_header_row", "values", "CellError", "read_cell", "number_label", "display_width",
]

KEY_HEADER = "建议标识"  # a hidden column that ties each row to its suggestion in the store, whatever the sorting
HUMAN = "人工确认"
SOURCE_NAMES = {"model": "模型（历史数据）", "remit": "职责文本", "rule": "主题规则", "human": "人工确认", "empty": "无法路由"}
REVIEW_ACTIONS = ["同意", "修改", "待定"]
BODY_CUT = 80  # characters of 建议内容 on the printed sheet; the whole text is on 建议全文
_UNIT = "处室"  # the unit word of the canonical names


@dataclass
class Fill:
    """What every column's fill may need besides the route: the assignment date."""

    assigned: dt.date | None = None


class CellError(ValueError):
    """A reviewer's cell that cannot be read back (the message is Chinese, without file or row)."""


@dataclass(frozen=True)
class Column:
    name: str  # canonical, with 处室 where the office's unit word goes
    width: float
    fill: Callable[[Any, Profile, Fill], Any]  # (route, profile, fill) -> the cell's value
    options: Callable[[Profile], list[str]] | None = None  # the dropdown's list
    strict: bool = True  # the dropdown refuses other values (a free-text list of names does not)
    read: Callable[[Any, Profile], Any] | None = None  # a reviewer's cell back to a value (CellError if not)
    wrap: bool = False
    group: str = "route"  # route, review, tracking, key, print
    hidden: bool = False
    note: str = ""

    def header(self, profile: Profile | None = None) -> str:
        word = profile.unit_word if profile is not None else _UNIT
        return self.name.replace(_UNIT, word) if word != _UNIT else self.name


def display_width(text: str) -> float:
    """Width in spreadsheet column units: a CJK character takes about two."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in str(text))


# --- what a route puts in a cell -------------------------------------------------------------------

def _pct(p: float) -> str:
    return f"{p:.0%}"


def _topic(r, p):
    return p.topic(r.topic).name if r.topic else ""


def _division(r, p):
    return p.division(r.division).name if r.division else ""


def _co(r, p):
    return "、".join(p.division(k).name for k in r.co_divisions)


def _alternatives(r, p) -> str:
    topics = "；".join(f"{p.topic(k).name} {_pct(x)}" for k, x in r.topics[1:3])
    divisions = "；".join(f"{p.division(k).name} {_pct(x)}" for k, x in r.divisions[1:3])
    return f"主题：{topics}｜{p.unit_word}：{divisions}" if r.topics else ""


def number_label(number) -> str:
    """第318号 for a suggestion number, whether it came as 318, 第318号 or 318号 (never 第第318号号)."""
    text = str(number or "").strip()
    if text.startswith("第"):
        text = text[1:]
    if text.endswith("号"):
        text = text[:-1]
    return f"第{text.strip()}号" if text.strip() else ""


def _similar(r, p) -> str:
    return "\n".join(
        f"{s['year']}年 {number_label(s['id'])} {s['title']}（{s['topic_name']}／{s['division_name']}）".replace("  ", " ")
        for s in r.similar
    )


def _human_or(value: Callable):
    """The reviewer's route shows 人工确认 where the model's confidences, reasons and runners-up would contradict it."""
    return lambda r, p, f: HUMAN if r.human is not None else value(r, p, f)


def _reasons(r, p, f):
    if r.human is not None:
        return f"{HUMAN}（{r.human.reviewer}）" if r.human.reviewer else HUMAN
    return "、".join(r.reasons)


def _review(attr: Callable):
    return lambda r, p, f: (attr(r, p) or None) if r.human is not None else None


def _is_key(value) -> bool:
    return str(value or "").strip() in ("是", "重点", "★", "√", "✓", "Y", "y", "1")


def _cut(text: str, limit: int = BODY_CUT) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit] + "……（全文见“建议全文”）"


def _opinion_due(r, p) -> str:
    """For a suggestion this office co-handles, the day its opinion is due to the lead unit."""
    if r.suggestion.role != "会办" or not r.deadline:
        return ""
    try:
        due = dt.date.fromisoformat(r.deadline) - dt.timedelta(days=p.tracking.opinion_days_before)
    except ValueError:
        return ""
    return due.isoformat()


# --- how a reviewer's cell is read back -----------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_action(value, profile):
    text = _text(value)
    if text and text not in REVIEW_ACTIONS:
        raise CellError(f"“{text}”不是 {'、'.join(REVIEW_ACTIONS)} 之一；请从下拉列表选择")
    return text or None


def _read_topic(value, profile):
    text = _text(value)
    if not text:
        return None
    key = profile.topic_key(text)
    if key is None:
        raise CellError(f"主题“{text}”不在配置文件中；请从下拉列表选择")
    return key


def _read_division(value, profile):
    text = _text(value)
    if not text:
        return None
    key = profile.division_key(text)
    if key is None:
        raise CellError(f"{profile.unit_word}“{text}”不在配置文件中；请从下拉列表选择")
    return key


def _read_divisions(value, profile):
    keys = []
    for name in re.split(r"[、,，;；/\s]+", _text(value)):
        if name:
            key = _read_division(name, profile)
            if key not in keys:
                keys.append(key)
    return keys


def _read_text(value, profile):
    return _text(value) or None


def _read_date(value, profile):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
    try:
        if match:
            return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        pass
    raise CellError(f"“{text}”不是日期；请写成 2021-03-15 这样")


def _read_count(value, profile):
    text = _text(value)
    if not text:
        return None
    if not text.isdigit():
        raise CellError(f"“{text}”不是件数；请写整数")
    return int(text)


def _names(attr: str):
    return lambda p: [x.name for x in getattr(p, attr)]


def _fixed(*items):
    return lambda p: list(items)


# --- the columns ---------------------------------------------------------------------------------

_ALL = [
    # The model's route (what router route writes)
    Column("序号", 6, lambda r, p, f: r.seq),
    Column("建议号", 9, lambda r, p, f: r.suggestion.id),
    Column("标题", 36, lambda r, p, f: r.suggestion.title, wrap=True),
    Column("领衔代表", 9, lambda r, p, f: r.suggestion.deputy, wrap=True),
    Column("建议主题", 14, lambda r, p, f: _topic(r, p), wrap=True),
    Column("主题置信度", 8, _human_or(lambda r, p, f: round(r.topic_confidence, 3))),
    Column("建议主办处室", 14, lambda r, p, f: _division(r, p), wrap=True),
    Column("建议会办处室", 16, lambda r, p, f: _co(r, p), wrap=True),
    Column("处室置信度", 8, _human_or(lambda r, p, f: round(r.division_confidence, 3))),
    Column("责任领导", 13, lambda r, p, f: r.leader, wrap=True),
    Column("办理时限", 11, lambda r, p, f: r.deadline),
    Column("需人工复核", 7, lambda r, p, f: "否" if r.human is not None else ("是" if r.needs_review else "否")),
    Column("判断依据", 26, _reasons, wrap=True),
    Column("备选", 36, _human_or(lambda r, p, f: _alternatives(r, p)), wrap=True),
    Column("路由来源", 12, lambda r, p, f: SOURCE_NAMES.get(r.source, r.source) if r.human is None else SOURCE_NAMES["human"],
           wrap=True),
    Column("相似往年建议", 44, lambda r, p, f: _similar(r, p), wrap=True),
    Column("疑似重复", 10, lambda r, p, f: r.duplicate_of),
    # The reviewer's columns (router accept reads them back)
    Column("复核", 7, lambda r, p, f: r.human.action if r.human is not None else None, _fixed(*REVIEW_ACTIONS),
           read=_read_action, group="review"),
    Column("确认主题", 14, _review(_topic), _names("topics"), read=_read_topic, wrap=True, group="review"),
    Column("确认主办处室", 14, _review(_division), _names("divisions"), read=_read_division, wrap=True, group="review"),
    # 会办 may hold several names; the dropdown offers one, and free text is checked on accept.
    Column("确认会办处室", 16, _review(_co), _names("divisions"), strict=False, read=_read_divisions, wrap=True,
           group="review"),
    Column("复核意见", 22, _review(lambda r, p: r.human.comment), read=_read_text, wrap=True, group="review"),
    Column("复核人", 9, _review(lambda r, p: r.human.reviewer), read=_read_text, group="review"),
    # Handling (router track import): 办理类型 and 交办日期 are filled here, the rest by the units.
    Column("办理类型", 9, lambda r, p, f: r.suggestion.role or None, _fixed("主办", "会办"), read=_read_text,
           group="tracking"),
    Column("交办日期", 11, lambda r, p, f: f.assigned.isoformat() if f.assigned and r.topic else None, read=_read_date,
           group="tracking"),
    Column("重点", 6, lambda r, p, f: None, _fixed("是", "否"), read=_read_text, group="tracking"),
    Column("转办处室", 14, lambda r, p, f: None, _names("divisions"), read=_read_division, group="tracking"),
    Column("联系方式", 9, lambda r, p, f: None, lambda p: list(p.tracking.contact_methods), read=_read_text,
           group="tracking"),
    Column("联系日期", 11, lambda r, p, f: None, read=_read_date, group="tracking"),
    Column("会商日期", 11, lambda r, p, f: None, read=_read_date, group="tracking"),
    Column("答复日期", 11, lambda r, p, f: None, read=_read_date, group="tracking"),
    Column("答复类别", 9, lambda r, p, f: None, lambda p: [g.code for g in p.tracking.grades], read=_read_text,
           group="tracking"),
    Column("答复内容或文号", 28, lambda r, p, f: None, read=_read_text, wrap=True, group="tracking"),
    Column("建议条数", 9, lambda r, p, f: None, read=_read_count, group="tracking"),
    Column("采纳条数", 9, lambda r, p, f: None, read=_read_count, group="tracking"),
    Column("满意度", 8, lambda r, p, f: None, lambda p: list(p.tracking.satisfaction), read=_read_text, group="tracking"),
    Column("回访日期", 11, lambda r, p, f: None, read=_read_date, group="tracking"),
    Column("回访意见", 22, lambda r, p, f: None, read=_read_text, wrap=True, group="tracking"),
    Column(KEY_HEADER, 10, lambda r, p, f: r.identity.as_text() if r.identity else r.suggestion.content_hash,
           group="key", hidden=True),
    # Only on the printed sheets (交办单, 建议全文)
    Column("建议内容（摘要）", 34, lambda r, p, f: _cut(r.suggestion.body), wrap=True, group="print"),
    Column("主办单位", 12, lambda r, p, f: r.suggestion.labels.get("lead_unit", ""), wrap=True, group="print",
           note="人大交办时的主办单位"),
    Column("重点建议", 6, lambda r, p, f: "是" if _is_key(r.suggestion.labels.get("key")) else "", group="print"),
    Column("责任处室", 12, lambda r, p, f: _division(r, p), wrap=True, group="print"),
    Column("会办处室", 12, lambda r, p, f: _co(r, p), wrap=True, group="print"),
    Column("承办人员", 9, lambda r, p, f: None, group="print"),
    Column("办理任务", 14, lambda r, p, f: None, wrap=True, group="print"),
    Column("工作目标", 14, lambda r, p, f: None, wrap=True, group="print"),
    Column("会办意见送达", 13, lambda r, p, f: _opinion_due(r, p), group="print"),
    Column("建议内容", 100, lambda r, p, f: r.suggestion.body, wrap=True, group="print"),
]

COLUMNS: dict[str, Column] = {c.name: c for c in _ALL}

# The sheets, as lists of column names (optionally with a width for that sheet).
REVIEW = [c.name for c in _ALL if c.group == "review"]
TRACKING = [c.name for c in _ALL if c.group == "tracking"]
ASSIGNMENT = [c.name for c in _ALL if c.group == "route"] + REVIEW + TRACKING + [KEY_HEADER]
# What a reader of the printed 交办任务表 needs (its print area): the route, up to 判断依据.
ASSIGNMENT_PRINTED = ASSIGNMENT[:ASSIGNMENT.index("判断依据") + 1]
QUEUE = ["序号", "建议号", "标题", "建议主题", "主题置信度", "建议主办处室", "处室置信度", "判断依据", "备选"]
PRINT = [("序号", 5), ("建议号", 8), ("标题", 22), ("领衔代表", 9), ("建议内容（摘要）", 34), ("办理类型", 9),
         ("主办单位", 10), ("重点建议", 9), ("建议主题", 11), ("责任处室", 11), ("会办处室", 12), ("责任领导", 9),
         ("承办人员", 9), ("办理任务", 13), ("工作目标", 13), ("办理时限", 11), ("会办意见送达", 13)]
FULL_TEXT = [("序号", 6), ("建议号", 9), ("标题", 28), ("领衔代表", 9), ("建议内容", 100)]


def column(name: str) -> Column:
    return COLUMNS[canonical(name)]


def columns(view) -> list[tuple[Column, float]]:
    """A sheet's columns with their widths there: never narrower than the header's words."""
    out = []
    for item in view:
        name, width = item if isinstance(item, tuple) else (item, None)
        col = COLUMNS[name]
        out.append((col, width or col.width))
    return out


def header_of(name: str, profile: Profile | None = None) -> str:
    return COLUMNS[name].header(profile)


def headers(view, profile: Profile | None = None) -> list[str]:
    return [c.header(profile) for c, _ in columns(view)]


def values(view, route, profile: Profile, fill: Fill | None = None) -> list:
    """One route's cells for a sheet, in the sheet's order."""
    fill = fill or Fill()
    return [c.fill(route, profile, fill) for c, _ in columns(view)]


_UNIT_WORDS = ("处室", "部门", "单位", "科室", "股室")
_CANONICAL = {}
for _name in COLUMNS:
    for _word in _UNIT_WORDS:
        _CANONICAL.setdefault(_name.replace(_UNIT, _word), _name)


def canonical(header) -> str:
    """A header cell as the column's name: 确认主办部门 → 确认主办处室; other text unchanged (stripped)."""
    text = "" if header is None else str(header).strip()
    return _CANONICAL.get(text, text)


def canonical_header_row(cells) -> list[str]:
    return [canonical(c) for c in cells]


def read_cell(name: str, value, profile: Profile):
    """A reviewer's cell of column ``name`` read back (keys for topics and units); CellError when it cannot be."""
    col = column(name)
    if col.read is None:
        return _read_text(value, profile)
    return col.read(value, profile)
