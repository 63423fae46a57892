"""Reports: the intake report (counts, comparison, the seed's sentence, new and rising terms,
and the suggestions that need review) and the year-end report, headed in the office's words,
which leaves the review queue out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .profile import Profile

__all__ = ["ReportItem", "build_report", "report_sentence", "write_report", "heading", "opening", "is_theme"]

TERMS_SHOWN = 15


@dataclass
class ReportItem:
    """One suggestion as the report counts it."""

    year: int
    id: str
    title: str
    text: str
    topic: str
    division: str
    role: str = ""
    needs_review: bool = False
    confidence: float = 1.0


@dataclass
class Report:
    year: int
    items: list[ReportItem]
    earlier: dict[int, list[ReportItem]]
    topics: Counter = field(default_factory=Counter)
    divisions: Counter = field(default_factory=Counter)
    roles: Counter = field(default_factory=Counter)
    sentence: str = ""
    new_terms: list[tuple[str, int]] = field(default_factory=list)
    rising_terms: list[tuple[str, float, float]] = field(default_factory=list)
    # The year's handling figures (router.services.tracking.YearEnd), when the store has them.
    handling: object = None
    # "intake": a routed intake, with its review queue; "year": the year-end report to the congress.
    kind: str = "intake"


def report_sentence(counts: Counter, total: int, profile: Profile, noun: str = "建议") -> str:
    """The year-end report's sentence, e.g. "31件建议中，涉及……方面的8件，……，其它综合性建议10件"."""
    parts = []
    for topic in profile.topics:
        n = counts.get(topic.key, 0)
        if topic.name.startswith("其它"):
            parts.append(f"{topic.name}{noun}{n}件")
        else:
            parts.append(f"涉及{topic.name}方面的{n}件")
    return f"{total}件{noun}中，" + "，".join(parts) + "。"


def is_theme(term: str) -> bool:
    """Whether a token can stand as a theme of the report (a whole word, not a count or a fragment)."""
    from .words import is_meaningful

    return is_meaningful(term)


def _term_shares(items: list[ReportItem], tokenizer) -> tuple[Counter, int]:
    frequency: Counter = Counter()
    for item in items:
        frequency.update({t for t in tokenizer.cut(item.text) if is_theme(t)})
    return frequency, max(len(items), 1)


def heading(report: Report, profile: Profile) -> str:
    if report.kind == "year":
        return f"{profile.office_name}关于{report.year}年代表建议办理工作情况的报告"
    return f"{profile.office_name}{report.year}年代表建议交办情况"


def opening(report: Report, profile: Profile) -> str:
    """The report's first sentence in the office's words: how many, how many led and co-handled."""
    n = len(report.items)
    lead, co = report.roles.get("主办", 0), report.roles.get("会办", 0)
    split = f"，其中主办{lead}件、会办{co}件" if lead or co else ""
    verb = "承办" if report.kind == "year" else "收到交办的"
    return f"{report.year}年，{profile.office_name}共{verb}代表建议{n}件{split}。"


def build_report(year: int, items: list[ReportItem], earlier: dict[int, list[ReportItem]], profile: Profile,
                 tokenizer, *, kind: str = "intake") -> Report:
    report = Report(year, items, dict(sorted(earlier.items())), kind=kind)
    report.topics = Counter(i.topic for i in items)
    report.divisions = Counter(i.division for i in items)
    report.roles = Counter(i.role or "未注明" for i in items)
    report.sentence = report_sentence(report.topics, len(items), profile)
    now, n_now = _term_shares(items, tokenizer)
    before, n_before = _term_shares([i for group in earlier.values() for i in group], tokenizer)
    if earlier:
        report.new_terms = sorted(((t, c) for t, c in now.items() if c >= 2 and t not in before),
                                  key=lambda tc: (-tc[1], tc[0]))[:TERMS_SHOWN]
        rising = [(t, c / n_now, before[t] / n_before) for t, c in now.items() if c >= 3 and before[t]]
        report.rising_terms = sorted((r for r in rising if r[1] >= 2 * r[2]),
                                     key=lambda r: (-(r[1] / r[2]), r[0]))[:TERMS_SHOWN]
    return report


def _table(rows: list[list], headers: list[str]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _comparison_rows(report: Report, profile: Profile, attribute: str, labels) -> list[list]:
    years = {**report.earlier, report.year: report.items}
    rows = []
    for year, items in years.items():
        counts = Counter(getattr(i, attribute) for i in items)
        rows.append([year, *[counts.get(k, 0) for k, _ in labels], len(items)])
    return rows


def markdown(report: Report, profile: Profile) -> str:
    topics = [(t.key, t.name) for t in profile.topics]
    divisions = [(d.key, d.name) for d in profile.divisions]
    n = len(report.items)
    lines = [f"# {heading(report, profile)}", "", opening(report, profile) + report.sentence, ""]
    if report.handling is not None:
        lines += handling_markdown(report.handling, profile)
    lines += ["## 按主题", ""] + _table(
        [[name, report.topics.get(key, 0), f"{report.topics.get(key, 0) / max(n, 1):.0%}"] for key, name in topics],
        ["主题", "件数", "占比"]) + [""]
    w = profile.unit_word
    lines += [f"## 按主办{w}", ""] + _table(
        [[name, report.divisions.get(key, 0)] for key, name in divisions], [f"主办{w}", "件数"]) + [""]
    lines += ["## 主办与会办", ""] + _table([[role, count] for role, count in sorted(report.roles.items())],
                                        ["办理类型", "件数"]) + [""]
    if report.earlier:
        lines += ["## 与往年比较（主题）", ""]
        lines += _table(_comparison_rows(report, profile, "topic", topics), ["年度", *[n for _, n in topics], "合计"]) + [""]
        lines += [f"## 与往年比较（主办{w}）", ""]
        lines += _table(_comparison_rows(report, profile, "division", divisions),
                        ["年度", *[n for _, n in divisions], "合计"]) + [""]
        lines += ["![各年度主题分布](trend.png)", ""]
        lines += ["## 今年新出现的词", "", "、".join(f"{t}（{c}件）" for t, c in report.new_terms) or "无", ""]
        lines += ["## 明显增多的词", "", "、".join(f"{t}（{a:.0%}，往年{b:.0%}）" for t, a, b in report.rising_terms) or "无", ""]
    if report.kind == "year":
        return "\n".join(lines) + "\n"  # the review queue belongs to the intake report
    pending = sorted((i for i in report.items if i.needs_review), key=lambda i: i.confidence)
    lines += ["## 需人工复核的建议", ""]
    lines += _table([[i.id, i.title, profile.topic(i.topic).name, profile.division(i.division).name,
                      f"{i.confidence:.0%}"] for i in pending], ["建议号", "标题", "建议主题", "建议主办处室", "置信度"]) \
        if pending else ["无"]
    return "\n".join(lines) + "\n"


def plot_trend(report: Report, profile: Profile, path: Path) -> None:
    import numpy as np

    from .charts import pyplot

    plt, font = pyplot()
    years = {**report.earlier, report.year: report.items}
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.8 / max(len(profile.topics), 1)
    x = np.arange(len(years))
    for j, topic in enumerate(profile.topics):
        counts = [sum(i.topic == topic.key for i in items) for items in years.values()]
        ax.bar(x + j * width, counts, width, label=topic.name if font else topic.key)
    ax.set_xticks(x + width * (len(profile.topics) - 1) / 2, [str(y) for y in years])
    ax.set_ylabel("件数" if font else "suggestions")
    ax.legend(fontsize=8)
    ax.set_title("各年度建议主题分布" if font else "suggestions by topic and year")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: Report, profile: Profile, folder: Path) -> dict[str, Path]:
    """report.md, report.xlsx and (with earlier years) trend.png, each written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .fileio import atomic_path
    from .table import safe_cell

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": folder / "report.md", "xlsx": folder / "report.xlsx"}
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(markdown(report, profile), encoding="utf-8")
    book = Workbook()
    sheet = book.active
    sheet.title = "办理情况"
    sheet.append([heading(report, profile)])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    sheet.append([opening(report, profile) + report.sentence])
    sheet.append([])
    topics = [(t.key, t.name) for t in profile.topics]
    divisions = [(d.key, d.name) for d in profile.divisions]
    for title, attribute, labels in (("主题", "topic", topics), (f"主办{profile.unit_word}", "division", divisions)):
        sheet.append([f"年度 / {title}", *[n for _, n in labels], "合计"])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        for row in _comparison_rows(report, profile, attribute, labels):
            sheet.append(row)
        sheet.append([])
    sheet.append(["办理类型", "件数"])
    for role, count in sorted(report.roles.items()):
        sheet.append([role, count])
    sheet.column_dimensions["A"].width = 18
    if report.kind != "year":
        pending = book.create_sheet("需人工复核")
        pending.append(["建议号", "标题", "建议主题", "建议主办处室", "置信度"])
        for i in sorted((i for i in report.items if i.needs_review), key=lambda i: i.confidence):
            pending.append([safe_cell(i.id), safe_cell(i.title), profile.topic(i.topic).name,
                            profile.division(i.division).name, round(i.confidence, 3)])
        pending.column_dimensions["B"].width = 48
    if report.handling is not None:
        handled = book.create_sheet("办理结果", 1)
        for sentence in report.handling.sentences:
            handled.append([safe_cell(sentence)])
        handled.append([])
        handled.append(["建议号", "标题", "主办处室", "答复类别", "原因"])
        for i in report.handling.open_items:
            handled.append([safe_cell(v) for v in (i.number, i.title, i.division, i.grade or "未答复", i.reason)])
        handled.column_dimensions["A"].width = 60
    terms = book.create_sheet("新词与增多的词")
    terms.append(["新出现的词", "件数"])
    for t, c in report.new_terms:
        terms.append([t, c])
    terms.append([])
    terms.append(["增多的词", "今年占比", "往年占比"])
    for t, a, b in report.rising_terms:
        terms.append([t, round(a, 3), round(b, 3)])
    with atomic_path(paths["xlsx"]) as tmp:
        book.save(tmp)
    if report.earlier:
        paths["png"] = folder / "trend.png"
        with atomic_path(paths["png"]) as tmp:
            plot_trend(report, profile, tmp.with_suffix(".png"))
            tmp.with_suffix(".png").replace(tmp)
    return paths


# --- handling: the half-monthly supervision sheet, the monthly summary, the year-end part ----------

SUMMARY_HEADERS = ["处室", "责任领导", "交办", "主办", "会办", "已联系代表", "已会商", "已答复", "按期答复", "已回访", "逾期未办"]
DUE_HEADERS = ["处室", "责任领导", "建议号", "标题", "办理类型", "缺少的步骤", "应完成日期", "状态"]


def _due_row(d) -> list:
    h = d.handling
    return [d.division, d.leader, h.number, h.title, h.role, d.missing, d.due.isoformat(), d.status]


def due_markdown(due: list, summary: list[dict], *, year: int, on, within_days: int) -> str:
    """The 督办单 (half-monthly check) by division and leader, then the monthly dispatch summary."""
    overdue = sum(d.overdue for d in due)
    lines = [f"# {year}年建议办理督办单（截至{on.isoformat()}，含{within_days}天内到期）", "",
             f"已逾期 {overdue} 项，即将到期 {len(due) - overdue} 项。", ""]
    if not due:
        lines += ["无逾期或即将到期的事项。", ""]
    groups: dict[tuple[str, str], list] = {}
    for d in due:
        groups.setdefault((d.division, d.leader), []).append(d)
    for (division, leader), items in groups.items():
        lines += [f"## {division}（责任领导：{leader or '未定'}）", ""]
        lines += _table([_due_row(d)[2:] for d in items], DUE_HEADERS[2:]) + [""]
    lines += [f"## 月度调度汇总（截至{on.isoformat()}）", ""]
    lines += _table([[r[h] for h in SUMMARY_HEADERS] for r in summary], SUMMARY_HEADERS) if summary else ["无已交办的建议"]
    return "\n".join(lines) + "\n"


def write_due_xlsx(due: list, summary: list[dict], path: Path, *, year: int, on, within_days: int) -> None:
    """督办单 and 月度调度 sheets, written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from .table import atomic_path, safe_cell

    book = Workbook()
    sheet = book.active
    sheet.title = "督办单"
    sheet.append([f"{year}年建议办理督办单（截至{on.isoformat()}，含{within_days}天内到期）"])
    sheet.append(DUE_HEADERS)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    late = PatternFill("solid", fgColor="F8CBAD")
    for d in due:
        sheet.append([safe_cell(v) for v in _due_row(d)])
        if d.overdue:
            for cell in sheet[sheet.max_row]:
                cell.fill = late
    for letter, width in zip("ABCDEFGH", (14, 22, 10, 44, 8, 14, 12, 12)):
        sheet.column_dimensions[letter].width = width
    monthly = book.create_sheet("月度调度")
    monthly.append([f"月度调度汇总（截至{on.isoformat()}）"])
    monthly.append(SUMMARY_HEADERS)
    for cell in monthly[2]:
        cell.font = Font(bold=True)
    for r in summary:
        monthly.append([safe_cell(r[h]) for h in SUMMARY_HEADERS])
    monthly.column_dimensions["A"].width = 14
    monthly.column_dimensions["B"].width = 22
    with atomic_path(path) as tmp:
        book.save(tmp)


def handling_markdown(figures, profile: Profile) -> list[str]:
    """The year-end report's handling part: the sentences, grades by topic and what stays open."""
    lines = ["## 办理情况", "", *figures.sentences, ""]
    codes = [g.code for g in profile.tracking.grades]
    if figures.grades:
        rows = []
        for topic in profile.topics:
            counts = figures.grades_by_topic.get(topic.key, Counter())
            rows.append([topic.name, *[counts.get(c, 0) for c in codes], sum(counts.values())])
        rows.append(["合计", *[figures.grades.get(c, 0) for c in codes], sum(figures.grades.values())])
        lines += ["### 答复类别（主办）", ""] + _table(rows, ["主题", *codes, "合计"]) + [""]
    if figures.open_items:
        lines += ["### 需继续推进的建议", ""] + _table(
            [[i.number, i.title, i.division, i.grade or "未答复", i.reason] for i in figures.open_items],
            ["建议号", "标题", "主办处室", "答复类别", "原因"]) + [""]
    return lines
