"""Review work is never lost: no overwrite of a reviewed table, older copies conflict, bad rows all at once."""

import shutil

import openpyxl

from conftest import invoke
from helpers import SAMPLE, edit_table, table_header, table_row, write_csv


def _other_division(name):
    return "社会扶贫处" if name != "社会扶贫处" else "政策法规处"


def _routed(runner, tmp_path):
    store = tmp_path / "s.sqlite"
    intake = write_csv(tmp_path / "intake.csv", SAMPLE)
    table = tmp_path / "t.xlsx"
    result = invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store])
    assert result.exit_code == 0, result.output
    return intake, table, store


def test_route_refuses_to_overwrite_review_entries(runner, tmp_path):
    intake, table, store = _routed(runner, tmp_path)
    edit_table(table, {2: {"复核": "同意", "复核人": "张三"}})
    before = table.read_bytes()
    refused = invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store])
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Error: {table}：表中第 3 行（共 1 行）有复核记录尚未记入历史库，重新路由会覆盖它们；"
        f"先运行 router accept {table} 记录，或换一个输出文件（-o {tmp_path / 't_新.xlsx'}），或加 --force 覆盖")
    assert table.read_bytes() == before
    # Once accepted, routing again shows the decision and may replace the table.
    assert invoke(runner, ["accept", table, "--store", store]).exit_code == 0
    again = invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store])
    assert again.exit_code == 0, again.output
    assert "沿用人工确认 1 条" in again.output
    shown = table_row(table, 2)
    assert (shown["复核"], shown["复核人"], shown["路由来源"]) == ("同意", "张三", "人工确认")
    assert shown["主题置信度"] == shown["处室置信度"] == "人工确认"
    assert shown["判断依据"] == "人工确认（张三）"


def test_rerouted_table_shows_the_human_route(runner, tmp_path):
    intake, table, store = _routed(runner, tmp_path)
    first = table_row(table, 1)
    corrected = _other_division(first["建议主办处室"])
    edit_table(table, {1: {"复核": "修改", "确认主办处室": corrected, "复核意见": "按分工调整", "复核人": "王五"}})
    assert invoke(runner, ["accept", table, "--store", store]).exit_code == 0
    again = tmp_path / "again.xlsx"
    assert invoke(runner, ["route", intake, "-o", again, "--date", "2021-02-20", "--store", store]).exit_code == 0
    shown = table_row(again, 1)
    assert shown["建议主办处室"] == shown["确认主办处室"] == corrected
    assert (shown["复核"], shown["复核意见"], shown["复核人"]) == ("修改", "按分工调整", "王五")
    # Accepting the re-routed table records nothing new: it holds what the store holds.
    result = invoke(runner, ["accept", again, "--store", store])
    assert "新记录决定 0 条" in result.output


def test_an_older_copy_lists_conflicts_and_records_nothing_for_them(runner, tmp_path):
    intake, table, store = _routed(runner, tmp_path)
    older = tmp_path / "older.xlsx"
    shutil.copy(table, older)
    first = table_row(table, 1)
    newer_division = _other_division(first["建议主办处室"])
    edit_table(table, {1: {"复核": "修改", "确认主办处室": newer_division, "复核人": "张三"}})
    assert invoke(runner, ["accept", table, "--store", store]).exit_code == 0
    edit_table(older, {1: {"复核": "同意", "复核人": "李四"}, 2: {"复核": "同意", "复核人": "李四"}})
    result = invoke(runner, ["accept", older, "--store", store])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    conflict = [line for line in lines if line.startswith("冲突：")]
    assert len(conflict) == 1
    assert conflict[0].startswith(f"冲突：第2行（101）表中为“同意 {first['建议主题']}／{first['建议主办处室']}")
    assert f"历史库中 张三 于 " in conflict[0] and f"已记录“修改 {first['建议主题']}／{newer_division}" in conflict[0]
    assert "1 行冲突，未记录" in result.output
    assert "新记录决定 1 条" in result.output  # row 2 had no newer decision
    forced = invoke(runner, ["accept", older, "--store", store, "--force"])
    assert "新记录决定 1 条" in forced.output


def test_confirm_columns_without_review_are_a_correction_and_bad_rows_come_all_at_once(runner, tmp_path):
    intake, table, store = _routed(runner, tmp_path)
    first = table_row(table, 1)
    edit_table(table, {1: {"确认主办处室": _other_division(first["建议主办处室"])},
                  2: {"复核": "修改"}})
    result = invoke(runner, ["accept", table, "--store", store])
    assert "第2行：确认列已填而复核为空，按“修改”记录" in result.output
    assert "同意 1，修改 1，待定 0，未复核 1" in result.output  # row 3's 修改 changes nothing: 同意
    edit_table(table, {1: {"复核": "好的"}, 3: {"确认主题": "不存在的主题", "复核": "修改"}})
    bad = invoke(runner, ["accept", table, "--store", store])
    assert bad.exit_code == 1
    line = bad.output.strip()
    assert line.startswith(f"Error: {table}：有 2 行有问题，一条也没有记录：第 2 行，“复核”列：“好的”")
    assert "第 4 行，“确认主题”列：主题“不存在的主题”不在配置文件中" in line


def test_a_copied_row_with_another_decision_is_refused(runner, tmp_path):
    intake, table, store = _routed(runner, tmp_path)
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    at, header = table_header(sheet)
    copy = [c.value for c in sheet[at + 1]]
    sheet.append(copy)
    book.save(table)
    first = table_row(table, 1)
    edit_table(table, {1: {"复核": "同意"}, 4: {"复核": "修改", "确认主办处室": _other_division(first["建议主办处室"])}})
    result = invoke(runner, ["accept", table, "--store", store])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {table}: row 5: the same suggestion as row 2 (建议标识) with a different "
                                     "decision (a copied row?); keep one of them")


def test_similar_never_lists_the_suggestion_itself_and_numbers_are_wrapped_once():
    from types import SimpleNamespace

    from router.similar import _is_itself
    from router.table import number_label

    assert [number_label(n) for n in ("318", "第318号", "318号", "", None)] == ["第318号"] * 3 + ["", ""]
    route = SimpleNamespace(suggestion=SimpleNamespace(id="第318号", title="《关于硬化道路的建议》"),
                            identity=SimpleNamespace(year=2020))
    assert _is_itself({"id": "第318号", "year": 2020, "title": "x"}, route)
    assert _is_itself({"id": "第318号", "year": 2019, "title": "《关于硬化道路的建议》"}, route)
    assert not _is_itself({"id": "第318号", "year": 2019, "title": "《关于另一件事的建议》"}, route)


def test_csv_and_jsonl_carry_similar_and_duplicate_of(runner, tmp_path):
    import json

    from conftest import INTAKE

    out = tmp_path / "t.jsonl"
    assert invoke(runner, ["route", INTAKE, "-o", out, "--date", "2021-02-20", "--store", tmp_path / "s.sqlite"]).exit_code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sum(bool(r["similar"]) for r in records) > 50
    assert all(s["id"] != r["id"] or s["year"] != 2021 for r in records for s in r["similar"])
