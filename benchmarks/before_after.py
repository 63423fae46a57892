"""`router route` on the bundled intake (XLSX) before and after the redesign of issue #12.

The bundled 2021 intake (98 rows) is repeated to 1,000 and 10,000 rows, each copy of a row
with its own number and a title that differs from the other copies (so no cache of texts
already seen helps either side), and written as an XLSX with the bundled intake's header.
Each size is routed to an XLSX table by two programs on the same machine, one after the
other:

- before: the code at ``BASELINE`` (the end of the first round, where issue #12 starts),
  exported with ``git archive`` into a temporary folder and run with its own bundled model
  (``models/default``, trained from that commit's bundled history);
- after: this checkout's ``router``, with the model packaged inside it.

Both run in an empty folder and record their routes into a new store there (``--store``), as
the first route of a year does; one warm-up run of
the 98-row intake first so that jieba's dictionary cache exists for both. The "after" model
does more per row (the sentence encoder of issue #11), so the ratio is the whole program's, not
the redesign's alone; the number of tokenization passes is pinned by
``tests/test_route.py::test_xlsx_route_cuts_each_text_once``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = "e7057c3"
INTAKE = REPO / "data" / "intake_2021.xlsx"
SIZES = (1_000, 10_000)
ROUTER = Path(sys.executable).parent / "router"

BASELINE_MAIN = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
                 "from router.cli import cli; sys.argv[0] = 'router'; cli()")


def _intake_rows() -> tuple[list, list[list]]:
    import openpyxl

    book = openpyxl.load_workbook(INTAKE, read_only=True)
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    header_at = next(i for i, r in enumerate(rows) if any(str(c or "").strip() in ("标题", "建议标题") for c in r))
    header = rows[header_at]
    data = [r for r in rows[header_at + 1:] if any(c not in (None, "") for c in r)]
    return header, data


def write_copies(path: Path, n: int) -> None:
    """The bundled intake repeated to ``n`` rows, every row with its own number and title."""
    import openpyxl

    header, data = _intake_rows()
    names = [str(h or "") for h in header]
    number = next(i for i, h in enumerate(names) if h in ("建议号", "编号", "序号"))
    title = next(i for i, h in enumerate(names) if h in ("标题", "建议标题"))
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("建议")
    sheet.append(header)
    for k in range(n):
        row = list(data[k % len(data)])
        copy = k // len(data)
        row[number] = f"{row[number]}-{copy + 1}"
        if copy:
            row[title] = f"{row[title]}（第{copy + 1}批）"
        sheet.append(row)
    book.save(path)


def export_baseline(work: Path) -> Path:
    target = work / f"router-{BASELINE}"
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def run_before_after(work: Path, measure, quick: bool = False) -> dict:
    """Wall time and peak memory of both programs at each size; ``measure`` is run.py's."""
    base = export_baseline(work)
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("ROUTER_OFFICE", None)
    env.pop("ROUTER_STORE", None)

    def before(intake: Path, out: Path, cwd: Path) -> list[str]:
        return [sys.executable, "-c", BASELINE_MAIN, str(base / "src"), "route", str(intake), "-o", str(out),
                "--models", str(base / "models"), "--store", str(cwd / "router.sqlite"), "--date", "2021-02-20"]

    def after(intake: Path, out: Path, cwd: Path) -> list[str]:
        return [str(ROUTER), "route", str(intake), "-o", str(out), "--store", str(cwd / "router.sqlite"),
                "--date", "2021-02-20"]

    sizes = (1_000,) if quick else SIZES
    rows = []
    for name, command in (("before", before), ("after", after)):
        folder = work / f"ba-{name}"
        folder.mkdir(exist_ok=True)
        measure(command(INTAKE, folder / "warm.xlsx", folder), cwd=folder, env=env)
    for n in sizes:
        intake = work / f"intake_{n}.xlsx"
        write_copies(intake, n)
        row = {"rows": n}
        for name, command in (("before", before), ("after", after)):
            folder = work / f"ba-{name}"
            out = folder / f"table_{n}.xlsx"
            for stale in folder.glob("router.sqlite*"):
                stale.unlink()  # each run records its routes into a new store, as a first route of the year does
            result = measure(command(intake, out, folder), cwd=folder, env=env)
            row[name] = {"seconds": round(result["seconds"], 2), "peak_rss_mb": result["peak_rss_mb"],
                         "summary": result["stdout"].strip().splitlines()[-1:] or [""]}
            out.unlink(missing_ok=True)
        row["ratio"] = round(row["after"]["seconds"] / row["before"]["seconds"], 2)
        rows.append(row)
        intake.unlink()
    shutil.rmtree(base, ignore_errors=True)
    return {"baseline": BASELINE, "intake": "data/intake_2021.xlsx repeated", "rows": rows}


def markdown(result: dict) -> list[str]:
    lines = [f"**Before and after** (issue #12): `router route` of the bundled intake repeated to an XLSX of n rows, "
             f"to an XLSX table; before = commit `{result['baseline']}` with its own bundled model, after = this "
             "checkout with the packaged model (which also runs the sentence encoder):", "",
             "| rows | before s | after s | after / before | before peak MB | after peak MB |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        lines.append(f"| {r['rows']:,} | {r['before']['seconds']:.1f} | {r['after']['seconds']:.1f} | {r['ratio']:.2f}x | "
                     f"{r['before']['peak_rss_mb']:.0f} | {r['after']['peak_rss_mb']:.0f} |")
    return lines + [""]
