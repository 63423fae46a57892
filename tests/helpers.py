"""Small builders of intake files for tests."""

import csv
from pathlib import Path

from openpyxl import Workbook


def write_csv(path: Path, rows, encoding="utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows, *, title_line: str | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    if title_line:
        sheet.append([title_line])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(rows[0]), 2))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


SAMPLE = [
    ["建议号", "标题", "领衔代表", "内容"],
    ["101", "《关于硬化石岭县黄泥坳村通村公路的建议》", "代表A007", "黄泥坳村到岩门镇6.8公里砂石路，请求硬化。"],
    ["102", "《关于扩大扶贫小额信贷覆盖面的建议》", "代表A058", "建议延长续贷期限，增加风险补偿金。"],
    ["103", "关于加强村卫生室建设的建议", "代表A070", "红土县村卫生室缺少乡村医生。"],
]


def table_header(sheet) -> tuple[int, list]:
    """The row number and cells of an assignment table's header (the row holding 建议标识)."""
    for number, row in enumerate(sheet.iter_rows(max_row=6, values_only=True), start=1):
        if "建议标识" in row:
            return number, list(row)
    raise AssertionError("no header row")


def edit_table(table, changes):
    """Fill cells of the sheet 交办任务表 as a reviewer would: {seq: {header: value}}."""
    import openpyxl

    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    at, header = table_header(sheet)
    for seq, values in changes.items():
        for name, value in values.items():
            sheet.cell(at + seq, header.index(name) + 1, value)
    book.save(table)


def table_row(table, seq):
    """Row ``seq`` of the sheet 交办任务表 as {header: value}."""
    import openpyxl

    sheet = openpyxl.load_workbook(table)["交办任务表"]
    at, header = table_header(sheet)
    return dict(zip(header, [c.value for c in sheet[at + seq]]))
