"""Render each visible sheet of a workbook to PDF with LibreOffice, and its first page to PNG (by hand, not a test).

    .venv/bin/python tests/render_sheets.py TABLE.xlsx OUT_FOLDER

Each sheet is copied alone into a workbook of its own (the others removed), converted with
``soffice --headless --convert-to pdf`` and its first page turned into PNG with ``pdftoppm -png -r 60``.
Prints, per sheet, the number of pages of its PDF.
"""

import re
import subprocess
import sys
from pathlib import Path

import openpyxl


def main(table: str, out: str) -> None:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [ws.title for ws in openpyxl.load_workbook(table, read_only=True).worksheets if ws.sheet_state == "visible"]
    for index, name in enumerate(names):
        book = openpyxl.load_workbook(table)
        for other in [ws for ws in book.worksheets if ws.title != name]:
            book.remove(other)
        book.active = 0
        single = out_dir / f"sheet{index}.xlsx"
        book.save(single)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(out_dir), str(single)],
                       check=True, capture_output=True, timeout=300)
        pdf = single.with_suffix(".pdf")
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(out_dir / f"sheet{index}")],
                       check=True)
        print(f"{name}: {pages} 页 -> {out_dir}/sheet{index}-1.png")


if __name__ == "__main__":
    main(*sys.argv[1:3])
