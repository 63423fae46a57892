"""What is due (督办) and the year-end figures of handling."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from ...profile import Profile
from ...store import Store
from .records import (
    CONSULTED,
    CONTACTED,
    MISSING,
    REPLIED,
    TRANSFERRED,
    VISITED,
    Handling,
    _number_key,
    handlings_of_year,
)

# --- supervision -----------------------------------------------------------------------------

@dataclass
class DueStep:
    """A step owed and not done, with its due date and how far ``on`` is from it."""

    handling: Handling
    step: str
    due: dt.date
    days_left: int
    division: str
    leader: str

    @property
    def missing(self) -> str:
        return MISSING[self.step]

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def status(self) -> str:
        if self.days_left < 0:
            return f"已逾期{-self.days_left}天"
        return "今日到期" if self.days_left == 0 else f"还剩{self.days_left}天"


def _division_order(profile: Profile, key: str | None) -> int:
    keys = profile.division_keys
    return keys.index(key) if key in keys else len(keys)


def due_steps(handlings: list[Handling], profile: Profile, on: dt.date, within_days: int) -> list[DueStep]:
    """Steps overdue at ``on`` or due within ``within_days`` after it, by division, leader and due date.

    The state is the one at ``on``: a step recorded with a later date was not done yet then.
    """
    out = []
    for h in handlings:
        if not h.assigned or h.assigned > on:
            continue
        for step in (CONTACTED, CONSULTED, REPLIED, VISITED):
            due = h.due_of(step, profile)
            if due is None or h.done_by(step, on) or (step == VISITED and not h.done_by(REPLIED, on)):
                continue
            left = (due - on).days
            if left <= within_days:
                division = profile.division(h.division) if h.division in profile.division_keys else None
                out.append(DueStep(h, step, due, left, division.name if division else "（未定处室）",
                                   division.leader if division else ""))
    return sorted(out, key=lambda d: (_division_order(profile, d.handling.division), d.leader, d.due,
                                      _number_key(d.handling.number)))


def division_summary(handlings: list[Handling], profile: Profile, on: dt.date) -> list[dict]:
    """Per division, at ``on``: assigned (led/co-handled), suggestions with each step done, replies on
    time, and suggestions with a step overdue (a suggestion counts once, however many steps it owes)."""
    rows: dict[str, dict] = {}
    for h in handlings:
        division = profile.division(h.division).name if h.division in profile.division_keys else "（未定处室）"
        leader = profile.division(h.division).leader if h.division in profile.division_keys else ""
        row = rows.setdefault(division, {"处室": division, "责任领导": leader, "交办": 0, "主办": 0, "会办": 0,
                                         "已联系代表": 0, "已会商": 0, "已答复": 0, "按期答复": 0, "已回访": 0,
                                         "逾期未办": 0, "_order": _division_order(profile, h.division)})
        row["交办"] += 1
        row[h.role or "主办"] += 1
        overdue = False
        for step in (CONTACTED, CONSULTED, REPLIED, VISITED):
            if h.done_by(step, on):
                row[step] += 1
            elif (due := h.due_of(step, profile)) is not None and due < on and (
                    step != VISITED or h.done_by(REPLIED, on)):
                overdue = True
        row["逾期未办"] += overdue
        row["按期答复"] += bool(h.done_by(REPLIED, on) and h.on_time(REPLIED, profile))
    return [{k: v for k, v in r.items() if k != "_order"} for r in sorted(rows.values(), key=lambda r: r["_order"])]


# --- the year end ------------------------------------------------------------------------------

@dataclass
class OpenItem:
    number: str
    title: str
    division: str
    grade: str
    reason: str


@dataclass
class YearEnd:
    """The year's handling figures, each counted from the store, and the report's sentences."""

    year: int
    received: int = 0
    led: int = 0
    co_handled: int = 0
    replied: int = 0
    replied_on_time: int = 0
    replied_late: int = 0
    unanswered: int = 0
    opinions: int = 0
    opinions_on_time: int = 0
    opinions_missing: int = 0
    grades: Counter = field(default_factory=Counter)
    grades_by_topic: dict[str, Counter] = field(default_factory=dict)
    satisfaction: Counter = field(default_factory=Counter)
    satisfied: int = 0
    rated: int = 0
    not_visited: int = 0
    asks: int = 0
    adopted_asks: int = 0
    adopted: int = 0
    transferred: int = 0
    open_items: list[OpenItem] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def _percent(share: float) -> str:
    text = f"{share * 100:.1f}".removesuffix(".0")
    return f"{text}%"


def _grade_phrase(counts: Counter, profile: Profile) -> str:
    """ "9件为A1或A2类，1件为C1类": grades counted by their group, in the profile's order."""
    parts = []
    groups: dict[str, list] = {}
    for g in profile.tracking.grades:
        groups.setdefault(g.group, []).append(g.code)
    for codes in groups.values():
        n = sum(counts.get(c, 0) for c in codes)
        if n:
            present = [c for c in codes if counts.get(c)]
            parts.append(f"{n}件为{'或'.join(present)}类")
    return "，".join(parts)


def year_end(store: Store, profile: Profile, year: int) -> YearEnd:
    """Count the year's handling records into the year-end figures and sentences."""
    handlings = handlings_of_year(store, year)
    y = YearEnd(year)
    y.received = len(handlings)
    solved = {g.code for g in profile.tracking.grades if g.outcome == "solved"}
    for h in handlings:
        # By role (Handling.done): a reply on a 会办 row is the co-handler's opinion, not the office's reply.
        reply, visit = h.done(REPLIED), h.done(VISITED)
        y.transferred += h.latest(TRANSFERRED) is not None
        if h.role == "会办":
            y.co_handled += 1
            if h.done(CONSULTED):
                y.opinions += 1
                y.opinions_on_time += bool(h.on_time(CONSULTED, profile))
            else:
                y.opinions_missing += 1
        else:
            y.led += 1
            if reply is None:
                y.unanswered += 1
            else:
                y.replied += 1
                on_time = h.on_time(REPLIED, profile)
                y.replied_on_time += bool(on_time)
                y.replied_late += not on_time
        if reply is not None:
            grade = reply.detail["grade"]
            if h.role != "会办":
                y.grades[grade] += 1
                y.grades_by_topic.setdefault(h.topic or "", Counter())[grade] += 1
                y.adopted += grade in solved
            if reply.detail.get("asks") is not None:
                y.asks += reply.detail["asks"]
                y.adopted_asks += reply.detail.get("adopted") or 0
            if visit is None:
                y.not_visited += 1
        if visit is not None:
            y.rated += 1
            y.satisfaction[visit.detail["satisfaction"]] += 1
            y.satisfied += visit.detail["satisfaction"] in profile.tracking.satisfied
        if h.role != "会办" and (reply is None or reply.detail["grade"] not in solved):
            division = profile.division(h.division).name if h.division in profile.division_keys else ""
            reason = (reply.detail.get("text") or "") if reply else "尚未答复"
            grade = profile.tracking.grade(reply.detail["grade"]) if reply else None
            y.open_items.append(OpenItem(h.number, h.title, division, grade.code if grade else "",
                                         reason or (grade.meaning if grade else "")))
    y.sentences = _sentences(y, profile)
    return y


def _sentences(y: YearEnd, profile: Profile) -> list[str]:
    out = [f"{y.year}年共承办代表建议{y.received}件，其中主办{y.led}件、会办{y.co_handled}件。"]
    if y.led:
        if y.replied_on_time == y.led:
            text = f"主办的{y.led}件建议全部按期办结并书面答复代表"
        else:
            parts = [f"{y.replied_on_time}件按期答复"]
            if y.replied_late:
                parts.append(f"{y.replied_late}件逾期答复")
            if y.unanswered:
                parts.append(f"{y.unanswered}件尚未答复")
            text = f"主办的{y.led}件建议中，" + "，".join(parts)
        if y.co_handled:
            if y.opinions_on_time == y.co_handled:
                text += f"；会办的{y.co_handled}件全部按期向主办单位送达会办意见"
            else:
                text += f"；会办的{y.co_handled}件中，{y.opinions_on_time}件按期送达会办意见"
                if y.opinions - y.opinions_on_time:
                    text += f"，{y.opinions - y.opinions_on_time}件逾期送达"
                if y.opinions_missing:
                    text += f"，{y.opinions_missing}件尚未送达"
        out.append(text + "。")
    if y.replied:
        out.append(f"从答复类别看，已答复的{y.replied}件主办建议中，{_grade_phrase(y.grades, profile)}。")
        parts = []
        for topic in profile.topics:
            counts = y.grades_by_topic.get(topic.key)
            if counts:
                parts.append(f"涉及{topic.name}方面的{sum(counts.values())}件中，{_grade_phrase(counts, profile)}")
        if parts:
            out.append("按主题分，" + "；".join(parts) + "。")
    if y.rated:
        detail = "、".join(f"{level}{y.satisfaction.get(level, 0)}件" for level in profile.tracking.satisfaction)
        text = f"回访代表{y.rated}件，代表满意率{_percent(y.satisfaction_rate)}（{detail}）"
        if y.not_visited:
            text += f"，另有{y.not_visited}件已答复尚未回访"
        out.append(text + "。")
    if y.asks:
        out.append(f"代表在主办建议中提出的{y.asks}条具体建议中，{y.adopted_asks}条已经采纳。")
    elif y.replied:
        out.append(f"已解决或采纳的主办建议{y.adopted}件。")
    if y.open_items:
        out.append(f"需在下一年度继续推进的建议{len(y.open_items)}件：" + "；".join(
            f"{i.number}{'（' + i.grade + '类）' if i.grade else ''}，{i.reason}" for i in y.open_items) + "。")
    if y.transferred:
        out.append(f"办理中转办{y.transferred}件，已作为分办修正记入历史，供下一年度的模型学习。")
    return out
