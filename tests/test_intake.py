"""Reading intake files as the congress systems export them, and refusing broken ones clearly."""

import json

import pytest

from conftest import INTAKE, invoke
from helpers import SAMPLE, write_csv, write_xlsx


def test_xlsx_with_title_line_above_header(runner, tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", SAMPLE, title_line="2021年省人大代表建议交办表")
    result = invoke(runner, ["read", path])
    assert result.exit_code == 0, result.output
    assert "表头所在行：第2行" in result.output
    assert "读取建议：3 条" in result.output
    assert "标题 → 标题" in result.output


@pytest.mark.parametrize("encoding,label", [("gbk", "GBK"), ("utf-8-sig", "UTF-8（带BOM）"), ("utf-8", "UTF-8"),
                                            ("gb18030", "GBK")])
def test_csv_encodings_detected_from_bytes(runner, tmp_path, encoding, label):
    path = write_csv(tmp_path / "in.csv", SAMPLE, encoding=encoding)
    before = path.read_bytes()
    result = invoke(runner, ["read", path, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["title"] for r in records] == [row[1] for row in SAMPLE[1:]]
    assert f"编码：{label}" in result.stderr
    assert path.read_bytes() == before


def test_gb18030_only_characters(runner, tmp_path):
    rows = [["编号", "标题"], ["1", "关于㐀㐁字库的建议"]]  # CJK extension A: in GB18030, not in GBK
    path = write_csv(tmp_path / "in.csv", rows, encoding="gb18030")
    result = invoke(runner, ["read", path])
    assert result.exit_code == 0, result.output
    assert "编码：GB18030" in result.output


def test_title_column_named_anyou(runner, tmp_path):
    rows = [["案号", "案由", "提出人", "正文"], ["1", "关于修路的建议", "代表A001", "请求修路"]]
    result = invoke(runner, ["read", write_csv(tmp_path / "in.csv", rows)])
    assert result.exit_code == 0
    assert "案由 → 标题" in result.output and "案号 → 建议号" in result.output


def test_empty_titles_reported_not_dropped(runner, tmp_path):
    rows = SAMPLE + [["104", "", "代表A009", "只有正文没有标题"], ["105", "", "", ""], ["105", "重复编号", "", ""]]
    result = invoke(runner, ["read", write_csv(tmp_path / "in.csv", rows)])
    assert result.exit_code == 0
    assert "读取建议：6 条" in result.output
    assert "第5行：标题为空" in result.output
    assert "第6行：标题和正文均为空，无法路由" in result.output
    assert "第7行：编号重复：105（首次出现在第6行）" in result.output


def test_missing_id_column_generated_and_said(runner, tmp_path):
    rows = [["题目", "内容"], ["关于修路的建议", "修路"], ["关于学校的建议", "学校"]]
    result = invoke(runner, ["read", write_csv(tmp_path / "in.csv", rows), "--format", "jsonl"])
    assert [json.loads(l)["id"] for l in result.stdout.splitlines() if l.startswith("{")] == ["R00001", "R00002"]
    assert "没有编号列" in result.stderr


def test_full_width_text_normalized_for_features_only(runner, tmp_path):
    rows = [["编号", "标题"], ["1", "《关于第１２３号ＡＢ村的建议》"]]
    result = invoke(runner, ["read", write_csv(tmp_path / "in.csv", rows), "--format", "jsonl"])
    record = json.loads(result.stdout.splitlines()[0])
    assert record["title"] == "《关于第１２３号ＡＢ村的建议》"
    assert "123" in record["text"] and "AB" in record["text"]


def test_jsonl_input(runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "1", "title": "关于修路的建议", "body": "修路"}\n\n{"id": "2", "标题": "x"}\n', encoding="utf-8")
    result = invoke(runner, ["read", path])
    assert result.exit_code == 0 and "读取建议：2 条" in result.output


def test_bundled_intake_reads_cleanly(runner):
    result = invoke(runner, ["read", INTAKE])
    assert result.exit_code == 0
    assert "读取建议：98 条" in result.output and "有问题的行：无" in result.output
    assert "表头所在行：第2行" in result.output


def test_sheet_option(runner, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["本表说明"])
    other = book.create_sheet("建议")
    for row in SAMPLE:
        other.append(row)
    book.save(tmp_path / "two.xlsx")
    assert "读取建议：3 条" in invoke(runner, ["read", tmp_path / "two.xlsx", "--sheet", "建议"]).output
    bad = invoke(runner, ["read", tmp_path / "two.xlsx", "--sheet", "无此表"])
    assert bad.exit_code == 1 and "没有名为“无此表”的工作表" in bad.output


# --- bad input: one Error line naming the file, exit 1 or 2, the input unchanged --------------------


def _error_line(result):
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_missing_file(runner, tmp_path):
    result = invoke(runner, ["read", tmp_path / "nope.xlsx"])
    assert result.exit_code == 1
    assert _error_line(result) == f"Error: {tmp_path / 'nope.xlsx'}：找不到文件；请检查路径和文件名"


def test_empty_file(runner, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = invoke(runner, ["read", path])
    assert result.exit_code == 1 and "文件是空的" in _error_line(result)


def test_no_title_column_lists_found_and_accepted(runner, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["编号", "姓名", "备注"], ["1", "张", "x"]])
    before = path.read_bytes()
    line = _error_line(invoke(runner, ["read", path]))
    assert "找不到标题列" in line and "编号、姓名、备注" in line and "案由" in line
    assert path.read_bytes() == before


def test_binary_renamed_xlsx(runner, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(bytes(range(256)) * 10)
    result = invoke(runner, ["read", path])
    assert result.exit_code == 1
    assert "不是可读取的 .xlsx 工作簿" in _error_line(result)


def test_csv_that_is_not_text(runner, tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00" + bytes(range(256)))
    assert "不是文本格式的 CSV" in _error_line(invoke(runner, ["read", path]))


def test_old_xls_refused_with_fix(runner, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "另存为" in _error_line(invoke(runner, ["read", path]))


def test_bad_jsonl_line_named(runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"title": "a"}\n{not json}\n', encoding="utf-8")
    assert "第 2 行：不是有效的 JSON" in _error_line(invoke(runner, ["read", path]))


def test_usage_error_exit_2(runner):
    result = invoke(runner, ["read"])
    assert result.exit_code == 2
    assert result.output == ("用法: router read [OPTIONS] FILE\n运行 'router read --help' 查看帮助。\n\n"
                             "Error: 缺少参数 'FILE'.\n")
