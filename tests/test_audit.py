"""router decisions: the audit trail exported, by year, as CSV or XLSX."""

import csv

from openpyxl import load_workbook

from conftest import HISTORY, invoke


def test_decisions_exported_by_year(runner, tmp_path):
    store = tmp_path / "s.sqlite"
    for path in HISTORY[:2]:
        assert invoke(runner, ["history", "import", path, "--store", store, "--importer", "李四"]).exit_code == 0
    out = tmp_path / "d.csv"
    result = invoke(runner, ["decisions", "--year", "2018", "-o", out, "--store", store])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:6] == ["年度", "建议号", "标题", "决定时间", "复核人", "复核"]
    assert {r[0] for r in rows[1:]} == {"2018"}
    assert {r[4] for r in rows[1:]} == {"李四"}
    assert result.output.strip() == f"已导出复核决定 {len(rows) - 1} 条（1 人）：{out}"
    every = invoke(runner, ["decisions", "-o", tmp_path / "all.xlsx", "--store", store])
    sheet = load_workbook(tmp_path / "all.xlsx").active
    assert sheet.title == "复核决定"
    assert sheet.max_row - 1 == int(every.output.split("复核决定 ")[1].split(" 条")[0]) > len(rows) - 1


def test_decisions_need_a_store(runner, tmp_path):
    missing = tmp_path / "none.sqlite"
    result = invoke(runner, ["decisions", "--store", missing])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {missing}")
