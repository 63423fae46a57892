"""The audit trail: every decision in the store, who made it, when, before and after, with comments."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .profile import Profile

__all__ = ["AUDIT_HEADERS", "decision_log", "write_decisions"]

AUDIT_HEADERS = ["年度", "建议号", "标题", "决定时间", "复核人", "复核", "原主题", "原主办", "原会办",
                 "确认主题", "确认主办", "确认会办", "复核意见", "来源"]


WITHDRAWN = "撤回"


def decision_log(store, *, year: int | None = None) -> list[dict]:
    """Every decision (append-only, oldest first), joined with its suggestion's year, number and title.

    Decisions on withdrawn suggestions are left out; each withdrawal (``router store withdraw``) is
    listed instead, as an entry whose action is 撤回, in the order it was made.
    """
    out = []
    for y, number, title, created, reviewer, action, before, after, comment, origin in store.decision_log_rows(year):
        out.append({"year": y, "number": number or "", "title": title, "created": created, "reviewer": reviewer,
                    "action": action, "before": json.loads(before) if before else None,
                    "after": json.loads(after) if after else None, "comment": comment or "", "origin": origin or ""})
    for w in store.withdrawals():
        if year is not None and w["year"] not in (None, year):
            continue
        what = "、".join(x for x in (f"{w['year']}年" if w["year"] else "", f"来文 {w['source']}" if w["source"] else "") if x)
        out.append({"year": w["year"] or "", "number": "", "title": f"撤回{what}的全部建议", "created": w["created"],
                    "reviewer": w["who"], "action": WITHDRAWN, "before": None, "after": None, "comment": w["reason"],
                    "origin": "router store withdraw"})
    return sorted(out, key=lambda d: d["created"])


def _names(profile: Profile, route: dict | None) -> tuple[str, str, str]:
    if not route or not route.get("topic"):
        return "", "", ""

    def topic(key):
        return next((t.name for t in profile.topics if t.key == key), key)

    def division(key):
        return next((d.name for d in profile.divisions if d.key == key), key)

    return (topic(route["topic"]), division(route.get("division")) if route.get("division") else "",
            "、".join(division(c) for c in route.get("co_divisions") or ()))


# Where a decision was made, as the store records it, in the reader's words; a file name stays as it is.
ORIGIN_NAMES = {"review": "终端复核（router review）", "terminal": "终端录入", "web": "网页复核",
                "web:confirm-unflagged": "网页批量确认", "": "未记录"}


def origin_name(origin: str) -> str:
    """A surface's name; a table or file accepted, by its name without the extension (表格“交办任务表”)."""
    if (origin or "") in ORIGIN_NAMES:
        return ORIGIN_NAMES[origin or ""]
    stem, dot, ext = origin.rpartition(".")
    if dot and stem and ext.lower() in ("xlsx", "xlsm", "csv", "jsonl", "json"):
        return f"表格“{stem}”"
    return origin


def _rows(log: list[dict], profile: Profile):
    for d in log:
        yield [d["year"] or "", d["number"], d["title"], d["created"][:19].replace("T", " "), d["reviewer"],
               d["action"], *_names(profile, d["before"]), *_names(profile, d["after"]), d["comment"],
               origin_name(d["origin"])]


def write_decisions(log: list[dict], profile: Profile, path: Path, fmt: str) -> int:
    """Write the audit trail as XLSX or CSV (atomically); return the number of decisions written."""
    from .table import atomic_path, safe_cell

    path = Path(path)
    rows = [[safe_cell(v) for v in row] for row in _rows(log, profile)]
    with atomic_path(path) as tmp:
        if fmt == "csv":
            with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(AUDIT_HEADERS)
                writer.writerows(rows)
        else:
            from openpyxl import Workbook
            from openpyxl.styles import Alignment, Font

            book = Workbook()
            sheet = book.active
            sheet.title = "复核决定"
            sheet.append(AUDIT_HEADERS)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row in rows:
                sheet.append(row)
            widths = [6, 9, 40, 19, 10, 6, 16, 14, 20, 16, 14, 20, 30, 24]
            for i, width in enumerate(widths, start=1):
                sheet.column_dimensions[sheet.cell(1, i).column_letter].width = width
            for row in sheet.iter_rows(min_row=2):
                row[2].alignment = Alignment(wrap_text=True, vertical="top")
            sheet.freeze_panes = "A2"
            sheet.auto_filter.ref = sheet.dimensions
            book.save(tmp)
    return len(rows)
