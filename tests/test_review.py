"""The review loop: route -> edit the XLSX as a reviewer -> accept -> retrain from the store."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from conftest import HISTORY, INTAKE, invoke


def _edit(table: Path, edits: dict[int, dict[str, str]]) -> None:
    """Fill review columns by 序号 as a reviewer would in Excel."""
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        seq = row[0].value
        for column, value in edits.get(seq, {}).items():
            row[header.index(column)].value = value
    book.save(table)


def _decisions(store: Path) -> list[tuple]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT suggestion_id, action, after, reviewer, comment FROM decisions ORDER BY id").fetchall()


@pytest.fixture
def routed(runner, bundled_model_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    table = tmp_path / "table.xlsx"
    result = invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", table, "--store", store,
                             "--date", "2021-02-20"])
    assert result.exit_code == 0, result.output
    return table, store


def _route_of(table: Path, seq: int) -> dict:
    sheet = openpyxl.load_workbook(table)["交办任务表"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == seq)
    return dict(zip(header, row))


def test_round_trip_accept_and_learn(runner, routed, bundled_model_dir, tmp_path):
    table, store = routed
    # The store learns the bundled history too, so retraining has the past years.
    for path in HISTORY:
        assert invoke(runner, ["history", "import", path, "--store", store]).exit_code == 0
    imported = len(_decisions(store))
    first = _route_of(table, 1)
    wrong_division = "社会扶贫处" if first["建议主办处室"] != "社会扶贫处" else "政策法规处"
    third = _route_of(table, 3)
    wrong_third = "考核评估处" if third["建议主办处室"] != "考核评估处" else "规划财务处"
    _edit(table, {
        1: {"复核": "修改", "确认主办处室": wrong_division, "复核意见": "按处室分工调整", "复核人": "张处长"},
        2: {"复核": "同意"},
        3: {"复核": "修改", "确认主办处室": wrong_third},
        4: {"复核": "同意"},
        5: {"复核": "待定", "复核意见": "需与财政厅沟通"},
    })
    result = invoke(runner, ["accept", table, "--store", store, "--reviewer", "李四"])
    assert result.exit_code == 0, result.output
    assert "同意 2，修改 2，待定 1，未复核 93" in result.output
    recorded = _decisions(store)[imported:]
    assert [r[1] for r in recorded] == ["修改", "同意", "修改", "同意", "待定"]
    assert recorded[0][3] == "张处长" and recorded[1][3] == "李四"
    assert recorded[4][2] is None and recorded[4][4] == "需与财政厅沟通"

    again = invoke(runner, ["accept", table, "--store", store])
    assert again.exit_code == 0 and "新记录决定 0 条" in again.output
    assert len(_decisions(store)) == imported + 5

    # Human decisions win when the same intake is routed again: the same year's suggestions, by identity
    # (office, year, number), so the year is given (issue #13: a decision never follows the text to another year).
    out = tmp_path / "again.jsonl"
    assert invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", out, "--store", store,
                           "--year", "2021"]).exit_code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records[0]["route_source"] == "human" and records[0]["division_name"] == wrong_division
    assert records[4]["route_source"] != "human"  # 待定 confirms nothing

    # Retraining from the store learns the corrections.
    models = tmp_path / "learned-models"
    trained = invoke(runner, ["train", "--from-store", "--store", store, "--models", models, "--name", "learned"])
    assert trained.exit_code == 0, trained.output
    # Promotion's evidence is what people decided themselves: the year's corrections first.
    assert "2021 年的 2 条修改（纠正），新模型答对" in trained.output
    assert "其中人工独立决定的" in trained.output
    fresh = tmp_path / "fresh.sqlite"  # no decisions: the model alone decides
    out = tmp_path / "learned.jsonl"
    assert invoke(runner, ["route", INTAKE, "--models", models, "-o", out, "--store", fresh]).exit_code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records[0]["division_name"] == wrong_division
    assert records[2]["division_name"] == wrong_third


def test_history_import_is_idempotent_and_records_changes(runner, tmp_path):
    store = tmp_path / "s.sqlite"
    first = invoke(runner, ["history", "import", HISTORY[0], "--store", store])
    assert "新增建议 120 条，新增决定 120 条" in first.output
    assert "新增建议 0 条，新增决定 0 条" in invoke(runner, ["history", "import", HISTORY[0], "--store", store]).output
    changed = tmp_path / "history_2017.xlsx"
    book = openpyxl.load_workbook(HISTORY[0])
    sheet = book.active
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("主办处室") + 1).value = "办公室"
    book.save(changed)
    assert "新增建议 0 条，新增决定 1 条" in invoke(runner, ["history", "import", changed, "--store", store]).output


@pytest.mark.parametrize("column,value,message", [
    ("确认主办处室", "财务科", "“确认主办处室”列：单位“财务科”不在配置文件中"),
    ("复核", "可以", "“复核”列：“可以”不是 同意、修改、待定 之一"),
    ("确认主题", "交通", "“确认主题”列：主题“交通”不在配置文件中"),
])
def test_bad_value_refused_and_store_unchanged(runner, routed, column, value, message):
    table, store = routed
    edits = {1: {"复核": "同意"}, 2: {"复核": "修改", column: value} if column != "复核" else {column: value}}
    _edit(table, edits)
    before = _decisions(store)
    result = invoke(runner, ["accept", table, "--store", store])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"Error: {table}：第 3 行，{message}")
    assert _decisions(store) == before


def test_decisions_are_append_only(routed):
    _, store = routed
    with sqlite3.connect(store) as db:
        db.execute("INSERT INTO decisions (suggestion_id, reviewer, created, action) VALUES (1, 'x', 'now', '待定')")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE decisions SET action = '同意'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM decisions")


def test_concurrent_accepts_lose_nothing(runner, bundled_model_dir, tmp_path):
    store = tmp_path / "store.sqlite"
    tables = []
    for i, rows in enumerate((range(1, 23), range(23, 45))):
        table = tmp_path / f"t{i}.xlsx"
        assert invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", table, "--store", store]).exit_code == 0
        _edit(table, {seq: {"复核": "同意", "复核人": f"审核{i}"} for seq in rows})
        tables.append(table)
    router = Path(sys.executable).with_name("router")
    procs = [subprocess.Popen([router, "accept", t, "--store", store], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for t in tables for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    decisions = _decisions(store)
    assert len(decisions) == 44
    assert len({d[0] for d in decisions}) == 44


def test_terminal_review_through_a_pty(bundled_model_dir, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    store = tmp_path / "store.sqlite"
    router = Path(sys.executable).with_name("router")
    child = pexpect.spawn(str(router), ["review", str(INTAKE), "--model", str(bundled_model_dir), "--store", str(store),
                                        "--reviewer", "王五", "--year", "2021"], encoding="utf-8", timeout=60)
    child.expect("决定")
    child.sendline("")  # accept the first
    child.expect("已保存：同意")
    child.expect("决定")
    child.sendline("1")  # pick the first alternative for the second
    child.expect("已保存：修改")
    child.expect("决定")
    child.sendline("q")
    child.expect("本次记录 2 条决定")
    child.expect(pexpect.EOF)
    decisions = _decisions(store)
    assert [d[1] for d in decisions] == ["同意", "修改"]
    assert all(d[3] == "王五" for d in decisions)


def test_store_check_and_backup(runner, routed, tmp_path):
    _, store = routed
    assert "完好" in invoke(runner, ["store", "check", "--store", store]).output
    backup = tmp_path / "backup.sqlite"
    result = invoke(runner, ["store", "backup", backup, "--store", store])
    assert result.exit_code == 0 and backup.is_file()
    assert "完好" in invoke(runner, ["store", "check", "--store", backup]).output
    broken = tmp_path / "broken.sqlite"
    data = bytearray(store.read_bytes())
    data[100:4096] = b"\xff" * 3996  # the whole first page after the file header: the schema
    broken.write_bytes(bytes(data))
    result = invoke(runner, ["store", "check", "--store", broken])
    line = result.output.strip()
    assert result.exit_code == 1 and line.startswith(f"Error: {broken}：存储已损坏（")
    assert line.endswith("）；请用 `router store backup` 做的备份恢复") and "\n" not in line


def test_review_a_year_from_the_store(runner, routed, bundled_model_dir):
    _, store = routed
    result = invoke(runner, ["review", "--year", "2021", "--model", bundled_model_dir, "--store", store,
                             "--reviewer", "赵六"], input="\nq\n")
    assert result.exit_code == 0, result.output
    assert "待复核 98 条" in result.output and "本次记录 1 条决定" in result.output
    assert [(d[1], d[3]) for d in _decisions(store)] == [("同意", "赵六")]
    missing = invoke(runner, ["review", "--year", "2015", "--model", bundled_model_dir, "--store", store])
    assert missing.exit_code == 2
    assert missing.output.strip().splitlines()[-1] == "Error: 存储中没有 2015 年的建议；请先分办或导入该年度"


def test_terminal_review_counter_co_divisions_by_number_and_undo(runner, tmp_path, bundled_model_dir):
    from helpers import SAMPLE, write_csv

    store = tmp_path / "s.sqlite"
    intake = write_csv(tmp_path / "intake.csv", SAMPLE)
    # accept the first, undo it, then edit it: topic and lead as suggested, co-divisions 2 and 3 by number.
    result = invoke(runner, ["review", intake, "--model", bundled_model_dir, "--store", store, "--reviewer", "赵六",
                             "--year", "2021"], input="\nu\ne\n\n\n2 3\n\nq\n")
    assert result.exit_code == 0, result.output
    assert "[1/3] 序号" in result.output and "（已完成 1/3）" in result.output
    assert "已撤销第 1 条的决定，请重新决定" in result.output
    assert "本次记录 1 条决定" in result.output
    recorded = _decisions(store)
    assert [d[1] for d in recorded] == ["同意", "待定", "修改"]
    assert recorded[1][4] == "撤销上一条决定"
    after = json.loads(recorded[2][2])
    assert after["co_divisions"] == [k for k in ("policy", "planning_finance") if k != after["division"]]
    # The terminal's u is the web's undo: the 待定 is marked as the reversal of the 同意 it took back.
    with sqlite3.connect(store) as db:
        ids = [r[0] for r in db.execute("SELECT id FROM decisions ORDER BY id")]
        assert db.execute("SELECT reversal_id, reversed_id FROM reversals").fetchall() == [(ids[1], ids[0])]
