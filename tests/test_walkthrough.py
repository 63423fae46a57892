"""The coordinator's February, end to end, as real processes from an installed wheel (issue #14).

A wheel is built from this checkout and installed into a fresh virtual environment (its
dependencies come from the running interpreter's site-packages, added by a .pth file, so no
package index is needed); then, in an empty folder outside the repository: router init,
import four past years, route the intake, review the table with openpyxl, confirm the
unflagged rows, accept, route again (decisions shown), accept an older copy (conflicts
listed, nothing overwritten), retrain from the store, promote, report the year.

It takes about 90 seconds on two shared cores (most of it routing twice and training);
it runs in `make test` and is marked `walkthrough` so that `pytest -m "not walkthrough"`
can leave it out while working.
"""

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import openpyxl
import pytest

from conftest import HISTORY, INTAKE, ROOT
from helpers import table_header

pytestmark = pytest.mark.walkthrough


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The router command of a fresh venv holding only the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(work), str(ROOT)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    wheel = next(work.glob("suggestion_router-*.whl"))
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = Path(subprocess.run([env_dir / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Without PYTHONPATH: a checkout on it (src/, with the build's egg-info) would look installed already.
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                                "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True,
                               env=_env(work / "cache"))
    assert installed.returncode == 0, installed.stderr
    # After the install, so that pip does not take the checkout's own editable install for this one.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    where = subprocess.run([env_dir / "bin" / "python", "-c", "import router; print(router.__file__)"],
                           capture_output=True, text=True, env=_env(work / "cache"), check=True).stdout
    assert where.startswith(str(site)), where
    return env_dir / "bin" / "router"


def _env(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "ROUTER_STORE", "ROUTER_MODELS", "ROUTER_PROFILE", "ROUTER_OFFICE")}
    env["ROUTER_CACHE_DIR"] = str(cache)
    return env


def test_february_end_to_end(installed, tmp_path):
    office = tmp_path / "扶贫办"
    office.mkdir()
    for path in [*HISTORY, INTAKE]:
        shutil.copy(path, office / path.name)
    env = _env(tmp_path / "cache")

    def router(*args, expect=0):
        done = subprocess.run([str(installed), *map(str, args)], cwd=office, env=env, capture_output=True, text=True)
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done.stdout

    def decisions_of(year):
        out = office / f"d{year}.csv"
        router("decisions", "--year", year, "-o", out)
        with open(out, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))

    # Outside an office folder, state is never scattered.
    refused = subprocess.run([str(installed), "history", "import", HISTORY[0].name], cwd=office, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 1 and "先运行 router init" in refused.stderr
    assert sorted(p.name for p in office.iterdir()) == sorted([*(p.name for p in HISTORY), INTAKE.name])

    assert "已建立办公室文件夹" in router("init")
    for path, count in zip(HISTORY, (120, 121, 121, 120)):
        assert f"{path.name}：{count} 条，新增建议 {count} 条，新增决定 {count} 条" in router("history", "import", path.name)

    table = office / "交办任务表.xlsx"
    routed = router("route", INTAKE.name, "-o", table, "--date", "2021-02-20")
    assert "共 98 条" in routed and "模型：随包默认模型（default" in routed
    older = office / "交办任务表_旧.xlsx"
    shutil.copy(table, older)

    # The reviewer corrects two flagged rows and agrees with the other flagged ones.
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    at, header = table_header(sheet)
    col = {name: header.index(name) + 1 for name in header if name}
    flagged = [r for r in range(at + 1, at + 99) if sheet.cell(r, col["需人工复核"]).value == "是"]
    assert 2 < len(flagged) < 98
    corrected = {}
    for r in flagged[:2]:
        suggested = sheet.cell(r, col["建议主办处室"]).value
        corrected[r] = "社会扶贫处" if suggested != "社会扶贫处" else "政策法规处"
        sheet.cell(r, col["复核"], "修改")
        sheet.cell(r, col["确认主办处室"], corrected[r])
        sheet.cell(r, col["复核意见"], "按处室分工调整")
        sheet.cell(r, col["复核人"], "张三")
    for r in flagged[2:]:
        sheet.cell(r, col["复核"], "同意")
        sheet.cell(r, col["复核人"], "张三")
    book.save(table)
    accepted = router("accept", table, "--reviewer", "李四", "--confirm-unflagged")
    assert f"同意 96，修改 2，待定 0，未复核 0" in accepted and "新记录决定 98 条" in accepted
    log = decisions_of(2021)
    assert len(log) == 98
    assert sum(d["复核人"] == "李四" for d in log) == 98 - len(flagged)

    # Routing again shows the decisions; the reviewed table is not overwritten by accident.
    again = office / "交办任务表_复核后.xlsx"
    assert "沿用人工确认 98 条" in router("route", INTAKE.name, "-o", again, "--date", "2021-02-20")
    shown = openpyxl.load_workbook(again)["交办任务表"]
    first = flagged[0]
    assert [shown.cell(first, col[n]).value for n in ("复核", "确认主办处室", "复核人", "路由来源")] == [
        "修改", corrected[first], "张三", "人工确认"]
    assert shown.cell(first, col["建议主办处室"]).value == corrected[first]

    # An older copy, reviewed differently, does not override the newer decision.
    book = openpyxl.load_workbook(older)
    sheet = book["交办任务表"]
    sheet.cell(first, col["复核"], "同意")
    sheet.cell(first, col["复核人"], "王五")
    book.save(older)
    stale = router("accept", older)
    assert len([line for line in stale.splitlines() if line.startswith("冲突：")]) == 1
    assert f"历史库中 张三 于 " in stale and "1 行冲突，未记录" in stale and "新记录决定 0 条" in stale
    assert len(decisions_of(2021)) == 98

    # Retraining from the store uses every year; the promotion compares with the packaged model.
    trained = router("train", "--from-store", "--name", "model-2021")
    assert "训练数据：2017 年 120 条，2018 年 121 条，2019 年 121 条，2020 年 120 条，2021 年 98 条（共 580 条" in trained
    assert "尚未设为当前模型（现用随包默认模型）" in trained
    promoted = router("models", "promote", "model-2021").strip().splitlines()
    assert promoted[-1] == "当前模型：model-2021" and promoted[0].startswith("比较依据：2021 年（人工独立决定的建议")
    assert (office / "models" / "CURRENT").read_text(encoding="utf-8") == "model-2021\n"

    # The year-end report counts every suggestion of the year, in the office's words.
    reported = router("report", "--from-store", "--year", "2021", "--out", office / "report")
    assert reported.splitlines()[0].startswith("98件建议中，")
    text = (office / "report" / "report.md").read_text(encoding="utf-8")
    assert "共承办代表建议98件，其中主办16件、会办82件。" in text
    assert "需人工复核" not in text
    assert sorted(p.name for p in (office / "models").iterdir()) == ["CURRENT", "HISTORY", "model-2021"]
