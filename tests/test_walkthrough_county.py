"""A county government office's first spring, end to end, from an installed wheel (issue #23).

In an empty folder: `router init --template county` (a cold model is made there and then), route
the county pile (its suggestions go to the county's departments, not the seed's divisions), review
the table with openpyxl under the headers in the county's word (确认主办部门), accept (a bad cell
first: refused in Chinese), train on a labelled year whose file name holds no year and whose lead
column is headed 主办单位, route again (the decisions kept, the trained model named), print: every
sheet set for A4 with its header repeated, and the report and the audit trail free of English.
With $USER empty the reviewer is 未署名, never `reviewer`.
"""

import csv
import re
import shutil
import subprocess

import openpyxl
import pytest

from conftest import DATA, ROOT
from helpers import table_header
from test_walkthrough import _env, installed  # noqa: F401  (the wheel's router command, a fixture)

pytestmark = pytest.mark.walkthrough

INTAKE = DATA / "county_intake_2021.xlsx"
HISTORY = DATA / "county_history.xlsx"
ANSWERS = ROOT / "tests" / "data" / "county_intake_2021_answers.csv"
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def test_county_office_first_spring(installed, tmp_path):  # noqa: F811
    folder = tmp_path / "桐溪县政府办"
    env = _env(tmp_path / "cache")
    env["USER"] = ""
    env.pop("USERNAME", None)

    def router(*args, expect=0, cwd=None):
        done = subprocess.run([str(installed), *map(str, args)], cwd=cwd or folder, env=env, capture_output=True,
                              text=True)
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr

    made = router("init", folder.name, "--template", "county", cwd=tmp_path)
    assert "冷启动模型" in made and "已设为当前模型" in made
    for path in (INTAKE, HISTORY):
        shutil.copy(path, folder / path.name)

    # The first route works at once, names the cold model and says how to do better.
    table = folder / "交办任务表.xlsx"
    routed = router("route", INTAKE.name, "-o", table, "--date", "2021/3/1")
    assert "共 40 条" in routed and "冷启动模型" in routed and "router train" in routed
    answers = {r["建议号"]: r for r in csv.DictReader(open(ANSWERS, encoding="utf-8"))}
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    at, header = table_header(sheet)
    assert "确认主办部门" in header and "确认主办处室" not in header and "办理时限" in header
    col = {name: header.index(name) + 1 for name in header if name}
    rows = range(at + 1, at + 41)
    leads = [sheet.cell(r, col["建议主办部门"]).value for r in rows]
    assert set(leads) <= {row["主办单位"] for row in answers.values()} | {"乡村振兴局", "发展和改革局", "财政局"}
    right = sum(sheet.cell(r, col["建议主办部门"]).value == answers[sheet.cell(r, col["建议号"]).value]["主办单位"]
                for r in rows)
    assert right >= 24, right  # the county's departments, from their remits alone

    # A reviewer types a word that is not an action: refused in Chinese, naming row and column.
    first, second, third = rows[0], rows[1], rows[2]
    sheet.cell(first, col["复核"]).value = "ok"
    book.save(table)
    refused = router("accept", table, expect=1)
    assert f"第 {first} 行，“复核”列：“ok”不是 同意、修改、待定 之一" in refused
    assert not ENGLISH.search(refused.replace(str(table), "").replace("Error:", ""))  # "Error:" stays greppable
    sheet.cell(first, col["复核"]).value = "同意"
    sheet.cell(second, col["复核"]).value = "修改"
    sheet.cell(second, col["确认主题"]).value = "扶贫资金投入"
    sheet.cell(second, col["确认主办部门"]).value = "财政局"
    sheet.cell(third, col["复核"]).value = "待定"
    sheet.cell(third, col["复核意见"]).value = "请分管领导定"
    book.save(table)
    accepted = router("accept", table)
    assert "新记录决定 3 条" in accepted

    # Training on last year's results: the file's name holds no year (its 年度 column does), its
    # lead column is 主办单位; the trained model replaces the cold one.
    trained = router("train", HISTORY.name)
    assert "2020 年 40 条" in trained and "已设为当前模型" in trained
    again = folder / "交办任务表_二.xlsx"
    routed = router("route", INTAKE.name, "-o", again, "--date", "2021-03-01")
    assert "沿用人工确认 2 条" in routed  # 同意 and 修改; 待定 waits and "往年结果训练" in routed
    book = openpyxl.load_workbook(again)
    sheet = book["交办任务表"]
    at, header = table_header(sheet)
    col = {name: header.index(name) + 1 for name in header if name}
    by_number = {sheet.cell(r, col["建议号"]).value: r for r in range(at + 1, at + 41)}
    fixed = by_number[openpyxl.load_workbook(table)["交办任务表"].cell(second, col["建议号"]).value]
    assert sheet.cell(fixed, col["建议主办部门"]).value == "财政局"
    assert sheet.cell(fixed, col["复核人"]).value == "未署名"

    # Print: every visible sheet is set for A4, its header on every page, page numbers at the foot.
    visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    assert [ws.title for ws in visible] == ["交办任务表", "交办单", "建议全文", "待复核"]
    for ws in visible:
        assert ws.page_setup.paperSize in (9, "9") and ws.page_setup.orientation == "landscape", ws.title
        assert ws.print_title_rows and "&P" in ws.oddFooter.center.text, ws.title
    assert book["交办任务表"].print_area  # the columns a reader needs, not all 39
    printed = book["交办单"]
    heads = [c.value for c in printed[3]]
    assert "责任部门" in heads and "会办部门" in heads
    widths = [printed.column_dimensions[openpyxl.utils.get_column_letter(i)].width for i in range(1, len(heads) + 1)]
    assert all(w >= 2 * len(h) + 1 for h, w in zip(heads, widths) if len(h) <= 4), list(zip(heads, widths))

    # What the office prints and sends holds no English word: the report and the audit trail.
    router("report", "--from-store", "--year", "2021", "--out", folder / "报告")
    text = (folder / "报告" / "report.md").read_text(encoding="utf-8")
    assert not ENGLISH.search(text), ENGLISH.findall(text)
    audit = folder / "复核决定.csv"
    router("decisions", "-o", audit)
    with open(audit, encoding="utf-8-sig", newline="") as handle:
        log = list(csv.DictReader(handle))
    assert {d["复核人"] for d in log} == {"未署名"}
    cells = " ".join(v for d in log for v in d.values())
    assert not ENGLISH.search(cells), ENGLISH.findall(cells)
