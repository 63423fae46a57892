"""Years that make sense: the year a route or an import records is checked against the file itself.

A year is written into the store with every suggestion, and every reader (the queue, the
report, training, tracking) takes it at its word; a mistyped ``--date 2012-02-20`` would file a
2021 intake as 2012 without a word. So a year that the user states is compared with what the
file says of itself (its name, its title lines, its 届次/年度 column) and with the calendar (not
in the future) and the store (not more than a year before its first year, for routes); a year
that disagrees is refused, naming the year expected and the option that confirms it.

A year nobody stated (the default: the assignment date, today) is not checked: it is the
documented default, and the user did not type it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

__all__ = ["CONFIRM_OPTION", "years_in", "intake_evidence", "year_problem"]

CONFIRM_OPTION = "--year-ok"

_YEAR = re.compile(r"(?<!\d)(19\d{2}|20\d{2})(?!\d)")


def years_in(text: str) -> set[int]:
    return {int(y) for y in _YEAR.findall(text or "")}


def intake_evidence(path: Path, *, title_lines=(), sessions=()) -> list[tuple[str, int]]:
    """What a file says of its own year: (where it says so, the year), most telling first.

    Each source counts only when it names one year: the file's name, a title line above the
    header (e.g. "2021年省人大代表建议交办表"), the 届次/年度 column (the year most of its rows name).
    """
    out = []
    found = years_in(Path(path).stem)
    if len(found) == 1:
        out.append((f"文件名“{Path(path).name}”", found.pop()))
    for line in title_lines:
        found = years_in(line)
        if len(found) == 1:
            out.append((f"标题行“{line[:40]}”", found.pop()))
            break
    counts = Counter(y for value in sessions if len(found := years_in(value)) == 1 for y in found)
    if counts:
        year, n = counts.most_common(1)[0]
        out.append((f"届次/年度列（{n} 行）", year))
    return out


def year_problem(year: int, evidence: list[tuple[str, int]], *, today: dt.date, first_year: int | None = None,
                 given: str = "--date 或 --year") -> str | None:
    """Why ``year`` looks mistyped (a Chinese sentence naming the year expected), or None when it makes sense."""
    confirm = f"确认就是 {year} 年，请加 {CONFIRM_OPTION}"
    for where, expected in evidence:
        if expected != year:
            return f"年度 {year} 与来文不符：{where}是 {expected} 年；应为 {expected} 年的，请改正 {given}；{confirm}"
    if year > today.year:
        return f"年度 {year} 在未来（今年是 {today.year} 年）；请改正 {given}；{confirm}"
    if first_year is not None and year < first_year - 1:
        return (f"年度 {year} 比历史库中最早的 {first_year} 年还早一年以上；应为 {first_year} 年以后的，"
                f"请改正 {given}；{confirm}")
    return None
