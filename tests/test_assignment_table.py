"""The assignment table a division works from: title line, 六定 columns, full text, print set-up."""

import openpyxl

from conftest import invoke
from helpers import write_csv

ROWS = [
    ["建议号", "标题", "领衔代表", "建议内容", "办理类型", "主办单位", "重点"],
    ["第318号", "《关于硬化黄泥坳村通村公路的建议》", "代表A007", "黄泥坳村到岩门镇6.8公里砂石路，请求硬化。" * 12,
     "会办", "省交通运输厅", ""],
    ["102", "《关于扩大扶贫小额信贷覆盖面的建议》", "代表A058", "建议延长续贷期限，增加风险补偿金。", "主办",
     "省扶贫开发办公室", "是"],
]


def test_print_sheet(runner, tmp_path):
    intake = write_csv(tmp_path / "intake.csv", ROWS)
    table = tmp_path / "t.xlsx"
    result = invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", tmp_path / "s.sqlite"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(table)
    assert [n for n in book.sheetnames if book[n].sheet_state == "visible"] == [
        "交办任务表", "交办单", "建议全文", "待复核"]
    sheet = book["交办单"]
    assert sheet["A1"].value == "省扶贫开发办公室（示例）2021年代表建议交办任务表"
    assert sheet["A2"].value.startswith("交办日期：2021年2月20日　　共 2 件（主办 1 件，会办 1 件）")
    header = [c.value for c in sheet[3]]
    assert header == ["序号", "建议号", "标题", "领衔代表", "建议内容（摘要）", "办理类型", "主办单位", "重点建议",
                      "建议主题", "责任处室", "会办处室", "责任领导", "承办人员", "办理任务", "工作目标", "办理时限",
                      "会办意见送达"]
    first = dict(zip(header, [c.value for c in sheet[4]]))
    second = dict(zip(header, [c.value for c in sheet[5]]))
    assert (first["办理类型"], first["主办单位"], first["重点建议"]) == ("会办", "省交通运输厅", None)
    assert first["建议内容（摘要）"].endswith("……（全文见“建议全文”）") and len(first["建议内容（摘要）"]) == 80 + len("……（全文见“建议全文”）")
    assert (first["办理时限"], first["会办意见送达"]) == ("2021-05-20", "2021-05-05")
    assert (second["重点建议"], second["会办意见送达"]) == ("是", None)
    assert first["承办人员"] is None and first["办理任务"] is None and first["工作目标"] is None
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$3:$3"
    assert sheet["E4"].alignment.wrap_text
    full = book["建议全文"]
    assert full["E2"].value == ROWS[1][3]


def test_headers_use_the_profiles_word_for_units(tmp_path):
    from router.profile import init_profile
    from router.printsheet import print_headers

    county = init_profile("county", tmp_path / "c.toml")
    assert print_headers(county)[9:11] == ["责任部门", "会办部门"]
