"""One specification of the assignment table, and every sheet set up to print (issues #20 item 2, #23 item 3)."""

import openpyxl
import pytest

from conftest import INTAKE, invoke
from helpers import table_header


def test_every_sheet_is_a_view_of_the_one_specification():
    from router import table, tablespec as spec
    from router.printsheet import print_headers
    from router.profile import load_profile, template_path

    county = load_profile(template_path("county"))
    assert set(spec.ASSIGNMENT) | {n for n, _ in spec.PRINT} | set(spec.QUEUE) <= set(spec.COLUMNS)
    # The names readers import from table.py keep working, and follow the spec.
    assert table.HEADERS + table.REVIEW_HEADERS + table.TRACKING_HEADERS + [table.KEY_HEADER] == spec.ASSIGNMENT
    assert spec.headers(spec.REVIEW, county) == ["复核", "确认主题", "确认主办部门", "确认会办部门", "复核意见", "复核人"]
    assert print_headers(county)[9:11] == ["责任部门", "会办部门"]
    for name in spec.ASSIGNMENT:
        assert spec.canonical(spec.header_of(name, county)) == name
    assert spec.canonical("确认主办单位") == "确认主办处室" and spec.canonical(" 复核 ") == "复核"


def test_a_reviewers_cells_are_read_back_by_the_spec():
    from router.profile import load_profile, template_path
    from router.tablespec import CellError, read_cell

    county = load_profile(template_path("county"))
    assert read_cell("复核", " 修改 ", county) == "修改"
    assert read_cell("确认主办部门", "交通运输局", county) == "transport"
    assert read_cell("确认会办处室", "水利局、财政局；水利局", county) == ["water", "finance"]
    assert read_cell("答复日期", "2021/5/20", county).isoformat() == "2021-05-20"
    with pytest.raises(CellError, match="“ok”不是 同意、修改、待定 之一"):
        read_cell("复核", "ok", county)
    with pytest.raises(CellError, match="部门“交通科”不在配置文件中"):
        read_cell("确认主办处室", "交通科", county)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("print") / "t.xlsx"
    result = invoke(CliRunner(), ["route", INTAKE, "-o", out, "--date", "2021-02-20"])
    assert result.exit_code == 0, result.output
    return openpyxl.load_workbook(out)


def test_every_visible_sheet_prints_on_a4_with_title_header_and_page_numbers(workbook):
    visible = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
    assert [ws.title for ws in visible] == ["交办任务表", "交办单", "建议全文", "待复核"]
    for ws in visible:
        setup = ws.page_setup
        assert str(setup.paperSize) == "9" and setup.orientation == "landscape", ws.title
        assert str(setup.fitToWidth) == "1" and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows, ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text, ws.title
        title = ws.oddHeader.center.text or ws["A1"].value
        assert "2021年" in title and "代表建议" in title, (ws.title, title)
    # 交办任务表 prints the columns a reader needs (its 39 would shrink to nothing), wrapped.
    area = str(workbook["交办任务表"].print_area)
    assert "$A$1:$M$" in area, area
    at, header = table_header(workbook["交办任务表"])
    assert workbook["交办任务表"].cell(at + 1, header.index("标题") + 1).alignment.wrap_text
    # 建议全文 wraps each whole text in a row as tall as it needs.
    full = workbook["建议全文"]
    assert full.cell(2, 5).alignment.wrap_text and full.row_dimensions[2].height > 40


def test_header_widths_fit_their_words(workbook):
    from openpyxl.utils import get_column_letter

    from router.tablespec import display_width

    for name, header_row in (("交办任务表", 1), ("交办单", 3), ("待复核", 1), ("建议全文", 1)):
        ws = workbook[name]
        for i, cell in enumerate(ws[header_row], start=1):
            text = str(cell.value or "")
            width = ws.column_dimensions[get_column_letter(i)].width
            # A header fits whole on one line, or (six characters and more) on two, split between words.
            lines = 1 if len(text) < 6 else 2
            assert width + 0.01 >= display_width(text[: -(-len(text) // lines)]) + 1, (name, text, width)
