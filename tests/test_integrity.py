"""Nothing lost, nothing merged, nothing changed (issue #13): every input row accounted for, ids as shown,
suggestions kept apart by their identity, failures that say what is wrong.

The cases these tests back are rows of the README's robustness table (tests/test_hostile.py CASES).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import invoke  # noqa: E402
from helpers import SAMPLE, write_csv, write_xlsx  # noqa: E402


def _error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Error: "), result.output
    return lines[-1]


def _records(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


# --- CSV quoting -------------------------------------------------------------------------------------


def test_unclosed_quote_to_the_end_is_refused_naming_the_row(runner, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('编号,标题,内容\n1,关于修路的建议,修路\n2,"关于学校的建议,学校\n3,关于饮水的建议,饮水\n'
                    + "".join(f"{i},关于第{i}村的建议,内容\n" for i in range(4, 8)), encoding="utf-8")
    line = _error_line(invoke(runner, ["read", path]))
    assert line == (f"Error: {path}：第3行（文件第3行）有一个引号没有闭合，从这里到文件末尾的 6 行都被读进了一个单元格；"
                    "请在该单元格末尾补上 \"，或删去多余的 \"，然后重试")


def test_stray_quote_that_closes_rows_later_is_refused(runner, bundled_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    rows = ["编号,标题,内容", "1,关于修路的建议,修路", '2,"关于学校的建议,学校', "3,关于饮水的建议,饮水",
            '4,关于医疗的建议,"医疗', "5,关于电网的建议,电网"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    line = _error_line(invoke(runner, ["route", path, "--model", bundled_model_dir, "-o", out]))
    assert line == (f"Error: {path}：第3行（文件第3行）第2列的引号直到文件第5行才闭合，其间 2 行数据被并进了这一个单元格；"
                    "请检查该单元格的引号（补上缺少的 \" 或删去多余的 \"）后重试")
    assert not out.exists()


def test_legal_multiline_cells_still_read(runner, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["编号", "标题", "内容"], ["1", "关于修路的建议", "第一段\n第二段，还有一段\n末段"],
                                           ["2", "关于学校的建议", "校舍"]])
    records = _records(invoke(runner, ["read", path, "--format", "jsonl"]))
    assert [r["body"] for r in records] == ["第一段\n第二段，还有一段\n末段", "校舍"]


@pytest.mark.parametrize("delimiter,name", [(";", "分号"), ("\t", "制表符")])
def test_semicolon_and_tab_delimited_csv(runner, tmp_path, delimiter, name):
    path = tmp_path / "in.csv"
    path.write_text(delimiter.join(SAMPLE[0]) + "\n" + "".join(delimiter.join(r) + "\n" for r in SAMPLE[1:]),
                    encoding="utf-8")
    result = invoke(runner, ["read", path, "--format", "jsonl"])
    assert [r["title"] for r in _records(result)] == [r[1] for r in SAMPLE[1:]]
    assert f"分隔符：{name}" in result.stderr


# --- two piles, repeated headers, section lines -----------------------------------------------------


def _two_piles() -> list[list[str]]:
    return [
        ["2021年建议交办表"],
        ["一、主办件（2件）"],
        ["建议号", "标题", "内容"],
        ["101", "关于硬化通村公路的建议", "村道泥泞"],
        ["102", "关于扩大小额信贷的建议", "续贷"],
        [],
        ["二、会办件（3件）"],
        ["建议号", "标题", "领衔代表", "内容"],
        ["201", "关于村卫生室的建议", "代表A070", "缺医生"],
        ["202", "关于饮水安全的建议", "代表A058", "水源"],
        ["建议号", "标题", "领衔代表", "内容"],  # the header repeated, as at a page break
        ["203", "关于电商扶贫的建议", "代表A001", "物流"],
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_two_piles_under_two_headers_are_both_read(runner, tmp_path, fmt):
    rows = _two_piles()
    path = write_csv(tmp_path / "in.csv", rows) if fmt == "csv" else write_xlsx(tmp_path / "in.xlsx", rows)
    result = invoke(runner, ["read", path, "--format", "jsonl"])
    records = _records(result)
    assert [(r["id"], r["deputy"], r["role"]) for r in records] == [
        ("101", "", "主办"), ("102", "", "主办"), ("201", "代表A070", "会办"), ("202", "代表A058", "会办"),
        ("203", "代表A001", "会办")]
    described = invoke(runner, ["read", path]).output
    assert "表头所在行：第3行" in described and "读取建议：5 条" in described
    for row, kind in [(1, "标题行"), (2, "标题行"), (7, "标题行"), (8, "表头行"), (11, "表头行")]:
        assert f"  第{row}行：{kind}：" in described
