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


# --- XLSX: formulas, ids as shown, encrypted and empty first sheets ------------------------------------


def _rewrite_member(source: Path, target: Path, member: str, change) -> Path:
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, change(data) if item.filename == member else data)
    return target


def test_formula_cells_read_as_their_cached_values(runner, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "标题", "内容"])
    sheet.append(["1", "=原文!B2", "=原文!C2"])
    sheet.append(["2", "=原文!B3", "村道"])
    book.save(tmp_path / "plain.xlsx")
    # What Excel or WPS save: the formula and, beside it, the value it showed.
    cached = _rewrite_member(tmp_path / "plain.xlsx", tmp_path / "in.xlsx", "xl/worksheets/sheet1.xml", lambda xml: xml
                             .replace(b"<f>'\xe5\x8e\x9f\xe6\x96\x87'!B2</f><v />".replace(b"'\xe5\x8e\x9f\xe6\x96\x87'", "原文".encode()),
                                      '<f>原文!B2</f><v>关于硬化通村公路的建议</v>'.encode())
                             .replace(b'<c r="B2">', b'<c r="B2" t="str">'))
    result = invoke(runner, ["read", cached, "--format", "jsonl"])
    records = _records(result)
    assert [(r["id"], r["title"], r["body"]) for r in records] == [("1", "关于硬化通村公路的建议", ""), ("2", "", "村道")]
    assert "第2行：第3列（内容）：是公式 =原文!C2，文件里没有保存它的计算结果，已按空白读取；请在 Excel 或 WPS 中打开并保存后重试" \
        in result.stderr
    assert "第3行：第2列（标题）：是公式 =原文!B3，文件里没有保存它的计算结果" in result.stderr
    assert "=原文" not in "".join(r["title"] + r["body"] for r in records)


def test_ids_read_as_the_cell_shows_them(runner, tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "标题"])
    values = [(7, "000", "007"), (dt.datetime(2021, 1, 1), "yyyy/m/d", "2021/1/1"),
              (dt.datetime(2021, 3, 5), "mm-dd-yy", "2021/3/5"), (1178, '"第"0"号"', "第1178号"),
              (123456789012345, "0", "123456789012345"), (1.5, "General", "1.5"), (1178.0, "General", "1178")]
    for i, (value, fmt, _) in enumerate(values, start=2):
        sheet.cell(row=i, column=1, value=value).number_format = fmt
        sheet.cell(row=i, column=2, value=f"关于第{i}村修路的建议")
    book.save(tmp_path / "in.xlsx")
    result = invoke(runner, ["read", tmp_path / "in.xlsx", "--format", "jsonl"])
    assert [r["id"] for r in _records(result)] == [shown for _, _, shown in values]


def test_a_20_digit_number_that_excel_rounded_is_said(runner, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "标题"])
    sheet.append([12345678901234567890.0, "关于修路的建议"])
    book.save(tmp_path / "in.xlsx")
    result = invoke(runner, ["read", tmp_path / "in.xlsx", "--format", "jsonl"])
    assert [r["id"] for r in _records(result)] == ["12345678901234600000"]
    assert ("第2行：第1列（编号）：是一个超过 15 位的数字，Excel 只保存 15 位有效数字，末尾几位已经丢失（读作 12345678901234600000）；"
            "请在导出系统中把该列设为文本后重新导出") in result.stderr


def test_encrypted_workbook_is_called_password_protected(runner, tmp_path):
    # An encrypted .xlsx is an OLE compound file holding EncryptionInfo and EncryptedPackage streams.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 600)
    line = _error_line(invoke(runner, ["read", path]))
    assert line == (f"Error: {path}：工作簿设有打开密码（已加密），无法读取；请在 Excel 或 WPS 中输入密码打开，"
                    "在“文件→信息→保护工作簿”（WPS：“文件→文档加密”）中取消密码后另存为 .xlsx 再试")


@pytest.mark.parametrize("first", [[], [["填表说明：本表由系统导出"], ["请勿修改表头"]]])
def test_empty_first_sheet_names_the_sheet_with_data(runner, tmp_path, first):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    for row in first:
        book.active.append(row)
    data = book.create_sheet("2021年建议")
    for row in SAMPLE:
        data.append(row)
    book.save(tmp_path / "in.xlsx")
    line = _error_line(invoke(runner, ["read", tmp_path / "in.xlsx"]))
    assert line == (f"Error: {tmp_path / 'in.xlsx'}：第一个工作表“说明”里没有建议表格（没有含标题列的表头）；"
                    "建议在工作表“2021年建议”里：请加上 --sheet 2021年建议")
    assert "读取建议：3 条" in invoke(runner, ["read", tmp_path / "in.xlsx", "--sheet", "2021年建议"]).output


# --- identity: (office, year, number), the text a property -----------------------------------------


class _Model:
    """A stand-in model: every suggestion to the first topic and division, sure of it."""

    def __init__(self, profile):
        import types

        self.profile = profile
        self.tokenizer = types.SimpleNamespace(warm=lambda: None)

    def features(self, texts):
        import scipy.sparse as sp

        return sp.csr_matrix((len(texts), 1))

    def decide(self, texts, X=None, **kwargs):
        import types

        t, d = self.profile.topic_keys, self.profile.division_keys
        return [types.SimpleNamespace(topic_proba={k: 1.0 if k == t[0] else 0.0 for k in t},
                                      division_proba={k: 1.0 if k == d[0] else 0.0 for k in d},
                                      reasons=[], source="model") for _ in texts]


def _suggestions(*rows):
    from router.intake import Suggestion

    return [Suggestion(row=i, id=number, title=title, deputy=deputy) for i, (number, title, deputy) in enumerate(rows, 1)]


def test_same_title_suggestions_stay_apart_and_decisions_follow_identity(profile, tmp_path):
    import datetime as dt

    from router.review import human_decisions
    from router.routing import route_batch
    from router.store import Store

    model = _Model(profile)
    intake = _suggestions(("12", "关于修路的建议", "代表甲"), ("13", "关于修路的建议", "代表乙"))
    day = dt.date(2021, 2, 20)
    with Store.open(tmp_path / "s.sqlite") as store:
        routes = route_batch(model, profile, intake, assignment_date=day)
        store.record_routes(routes, year=2021, source="in.xlsx", model="m")
        rows = store.db.execute("SELECT year, number, deputy FROM suggestions ORDER BY id").fetchall()
        assert rows == [(2021, "12", "代表甲"), (2021, "13", "代表乙")]  # before: one row, 代表乙 never stored
        other = profile.division_keys[-1]
        with store.transaction() as db:
            store.add_decision(db, store.find(db, routes[1].identity), action="修改", reviewer="李四",
                               after={"topic": profile.topic_keys[0], "division": other, "co_divisions": []})
        decisions = human_decisions(store)
        assert list(decisions) == [routes[1].identity]
        assert routes[1].identity == (profile.office_name, 2021, "13", 1)
        again = route_batch(model, profile, intake, assignment_date=day, decisions=decisions)
        assert [(r.source, r.division) for r in again] == [("model", profile.division_keys[0]), ("human", other)]
        # Filed again next year: a new suggestion, linked to last year's, neither merged nor auto-confirmed.
        next_year = route_batch(model, profile, _suggestions(("5", "关于修路的建议", "代表乙")),
                                assignment_date=dt.date(2022, 2, 20), decisions=decisions)
        assert next_year[0].source == "model"
        store.record_routes(next_year, year=2022, source="in2022.xlsx", model="m")
        sid = store.db.execute("SELECT id FROM suggestions WHERE year = 2022").fetchone()[0]
        assert store.repeats(sid) == [{"id": 2, "year": 2021, "number": "13"}]
        assert len(store.suggestions_of_year(2022)) == 1 and len(store.suggestions_of_year(2021)) == 2


def test_history_of_the_same_text_in_two_years_keeps_both_routes(profile, tmp_path):
    from router.history import Labelled
    from router.review import import_history
    from router.store import Store

    s2019, s2020 = _suggestions(("3", "关于修路的建议", ""), ("3", "关于修路的建议", ""))
    items = [Labelled(s2019, 2019, profile.topic_keys[0], profile.division_keys[0], (), "h2019.xlsx"),
             Labelled(s2020, 2020, profile.topic_keys[1], profile.division_keys[1], (), "h2020.xlsx")]
    with Store.open(tmp_path / "s.sqlite") as store:
        assert import_history(store, items, importer="x", origin="h", office=profile.office_name) == (2, 2)
        assert [(r["year"], r["topic"]) for r in store.confirmed()] == [(2019, profile.topic_keys[0]),
                                                                        (2020, profile.topic_keys[1])]


def test_repeated_numbers_in_one_file_are_two_suggestions(runner, bundled_model_dir, tmp_path):
    rows = [["编号", "标题"], ["1", "关于修路的建议"], ["1", "关于学校的建议"], ["2", "关于饮水的建议"]]
    store = tmp_path / "s.sqlite"
    table = tmp_path / "t.xlsx"
    assert invoke(runner, ["route", write_csv(tmp_path / "in.csv", rows), "--model", bundled_model_dir, "-o", table,
                           "--store", store, "--year", "2021"]).exit_code == 0
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT number, occurrence, title FROM suggestions ORDER BY id").fetchall() == [
            ("1", 1, "关于修路的建议"), ("1", 2, "关于学校的建议"), ("2", 1, "关于饮水的建议")]


_V1 = """
CREATE TABLE suggestions (id INTEGER PRIMARY KEY, content_hash TEXT NOT NULL UNIQUE, year INTEGER, number TEXT,
    title TEXT NOT NULL, body TEXT NOT NULL, deputy TEXT, source_file TEXT, created TEXT NOT NULL);
CREATE INDEX suggestions_year ON suggestions(year);
CREATE TABLE routes (id INTEGER PRIMARY KEY, suggestion_id INTEGER NOT NULL REFERENCES suggestions(id), model TEXT,
    topic TEXT, division TEXT, co_divisions TEXT, topic_confidence REAL, division_confidence REAL, detail TEXT,
    created TEXT NOT NULL);
CREATE TABLE decisions (id INTEGER PRIMARY KEY, suggestion_id INTEGER NOT NULL REFERENCES suggestions(id),
    reviewer TEXT NOT NULL, created TEXT NOT NULL, action TEXT NOT NULL, before TEXT, after TEXT,
    comment TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT '');
CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
INSERT INTO suggestions VALUES (1, 'h1', 2020, '7', '关于修路的建议', '', '', 'a', 't'),
    (2, 'h2', 2020, '7', '关于学校的建议', '', '', 'a', 't'), (3, 'h1x', 2021, '7', '关于修路的建议', '', '', 'b', 't');
INSERT INTO routes VALUES (1, 1, 'm', 'funding', 'policy', '[]', 0.9, 0.9, '{}', 't');
INSERT INTO decisions VALUES (1, 1, '甲', 't', '同意', NULL, '{"co_divisions": [], "division": "policy", "topic": "funding"}', '', ''),
    (2, 2, '乙', 't', '待定', NULL, NULL, 'x', '');
PRAGMA user_version = 1;
"""


def test_migration_2_moves_a_store_without_loss(tmp_path):
    from router.store import SCHEMA_VERSION, Store, check_store

    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
    before = {t: sqlite3.connect(path).execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in ("routes", "decisions")}
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
        rows = store.db.execute("SELECT id, office, year, number, occurrence, title FROM suggestions ORDER BY id").fetchall()
        assert rows == [(1, "", 2020, "7", 1, "关于修路的建议"), (2, "", 2020, "7", 2, "关于学校的建议"),
                        (3, "", 2021, "7", 1, "关于修路的建议")]
        for table, old in before.items():
            assert store.db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() == old
        assert [r["id"] for r in store.confirmed()] == [1]
    assert check_store(path) == []
    with Store.open(path) as store:  # opening again changes nothing
        assert store.db.execute("SELECT COUNT(*) FROM suggestions").fetchone()[0] == 3


def test_table_from_before_identities_is_accepted_unless_ambiguous(profile, tmp_path):
    from router.errors import InputError
    from router.review import ReviewRow, accept_rows
    from router.store import Store

    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
    after = {"topic": profile.topic_keys[0], "division": profile.division_keys[0], "co_divisions": []}
    with Store.open(path) as store:
        row = ReviewRow(2, "h2", "同意", after, after, "", "")
        assert accept_rows(store, [row], reviewer="x", origin="old.xlsx")["同意"] == 1
        with store.transaction() as db:
            db.execute("UPDATE suggestions SET content_hash = 'h1' WHERE id = 3")
        with pytest.raises(InputError, match="存储里有 2 条建议文字相同"):
            accept_rows(store, [ReviewRow(5, "h1", "同意", after, after, "", "")], reviewer="x", origin="old.xlsx")


# --- misleading failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../outside", "a/b", "/tmp/abs", "..", ".hidden", "CURRENT"])
def test_model_names_are_plain_names(runner, bundled_model_dir, tmp_path, name):
    models = bundled_model_dir.parent
    before = sorted(p.name for p in tmp_path.rglob("*"))
    line = _error_line(invoke(runner, ["train", "--cold", "--models", models, "--name", name]))
    assert line.startswith(f"Error: 模型名“{name}”不是一个普通的名字（--name）：模型只能放在模型文件夹里")
    line = _error_line(invoke(runner, ["models", "promote", name, "--models", models]))
    assert line.startswith(f"Error: 模型名“{name}”不是一个普通的名字")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    (models / "CURRENT").write_text("../../elsewhere\n", encoding="utf-8")
    line = _error_line(invoke(runner, ["models", "show", "--models", models]))
    assert line.startswith(f"Error: 模型名“../../elsewhere”不是一个普通的名字（{models / 'CURRENT'}）")


@pytest.mark.parametrize("args,message", [
    (["-o", "{tmp}/out.txt"], "{tmp}/out.txt：扩展名“.txt”不是交办任务表的格式；请把输出文件命名为 .xlsx、.csv 或 .jsonl"),
    (["-o", "{tmp}/x.xlsx", "--format", "csv"],
     "{tmp}/x.xlsx：--format csv 与扩展名 .xlsx 不一致，写出的文件会打不开；请把输出文件改名为 .csv，或去掉 --format"),
])
def test_output_extension_and_format_must_agree(runner, bundled_model_dir, tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    line = _error_line(invoke(runner, ["route", write_csv(tmp_path / "in.csv", SAMPLE), "--model", bundled_model_dir,
                                       *args, "--store", tmp_path / "s.sqlite"]))
    assert line == "Error: " + message.format(tmp=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "models"]


def test_route_records_in_the_store_before_replacing_the_table(runner, bundled_model_dir, tmp_path, monkeypatch):
    import router.store
    from router.errors import StoreError

    out = tmp_path / "table.xlsx"
    out.write_bytes(b"old reviewed table")

    def refuse(self, *args, **kwargs):
        raise StoreError(f"{self.path}：无法写入历史库（attempt to write a readonly database）；"
                         "请检查文件夹的权限，或用 --store 另选一个")

    monkeypatch.setattr(router.store.Store, "record_routes", refuse)
    line = _error_line(invoke(runner, ["route", write_csv(tmp_path / "in.csv", SAMPLE), "--model", bundled_model_dir,
                                       "-o", out, "--store", tmp_path / "s.sqlite"]))
    assert "无法写入历史库" in line
    assert out.read_bytes() == b"old reviewed table"  # before: replaced, then the store failed
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_held_write_lock_is_said_and_given_up(tmp_path, monkeypatch, caplog):
    import logging

    from router.errors import StoreError
    from router.store import Store

    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    monkeypatch.setattr(Store, "lock_notice", 0.2)
    monkeypatch.setattr(Store, "lock_timeout", 1.0)
    with Store.open(path) as store, caplog.at_level(logging.WARNING, logger="router.store"):
        with pytest.raises(StoreError) as refused:
            with store.transaction():
                pass
    holder.rollback()
    assert [r.getMessage() for r in caplog.records][0].startswith(
        f"{path}：另一个进程（如另一位复核人的 router accept）正在写入存储，正在等待它写完（最多再等")
    assert str(refused.value).startswith(f"{path}：另一个进程一直占着存储的写锁，已等待 ")
    assert str(refused.value).endswith("秒仍未释放，本次没有写入任何内容；请等其他 router 命令（如另一位复核人的 router accept 或 "
                                       "router route）结束后重试，或检查是否有卡住未退出的 router 进程")


def test_store_check_in_a_read_only_folder_is_not_called_damage(runner, tmp_path, monkeypatch):
    from router.store import Store

    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        with store.transaction() as db:
            db.execute("INSERT INTO suggestions (year, number, content_hash, title, body, created) "
                       "VALUES (2021, '1', 'h', 't', '', 'now')")
    real = sqlite3.connect

    def read_only_folder(target, *args, **kwargs):  # what SQLite says when it may not create s.sqlite-shm
        if str(target).startswith("file:") and "immutable" not in str(target):
            raise sqlite3.OperationalError("unable to open database file")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_folder)
    result = invoke(runner, ["store", "check", "--store", path])
    assert result.exit_code == 0 and result.output.strip() == f"{path}：完好"  # no WAL content: the file alone is checked
    Path(f"{path}-wal").write_bytes(b"\0" * 100)  # recent changes still in the write-ahead log
    line = _error_line(invoke(runner, ["store", "check", "--store", path]))
    assert line.startswith(f"Error: {path}：无法打开存储来检查（unable to open database file）：它所在的文件夹不可写")
    assert "这不说明存储已损坏，不要用备份覆盖它" in line and "damaged" not in line


def test_json_array_file_is_read(runner, tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps([{"编号": "1", "标题": "关于修路的建议"}, {"编号": "2", "标题": "关于学校的建议", "内容": "校舍"}],
                               ensure_ascii=False, indent=2), encoding="utf-8")
    result = invoke(runner, ["read", path, "--format", "jsonl"])
    assert [(r["id"], r["title"], r["body"]) for r in _records(result)] == [("1", "关于修路的建议", ""),
                                                                          ("2", "关于学校的建议", "校舍")]
    path.write_text('[{"标题": "a"}, 3]', encoding="utf-8")
    assert _error_line(invoke(runner, ["read", path])) == (
        f"Error: {path}：数组的第2个元素不是 JSON 对象；每个元素应是一条建议，如 {{\"标题\": \"……\"}}")


def _routed_with_a_correction(runner, model_dir, tmp_path):
    """SAMPLE routed into a new store for 2021, the second suggestion corrected to funding / planning_finance."""
    from router.store import Store

    store = tmp_path / "s.sqlite"
    source = write_csv(tmp_path / "in.csv", SAMPLE)
    assert invoke(runner, ["route", source, "--model", model_dir, "-o", tmp_path / "t.xlsx", "--store", store,
                           "--year", "2021"]).exit_code == 0
    with Store.open(store) as opened:
        with opened.transaction() as db:
            opened.add_decision(db, 2, action="修改", reviewer="x",
                                after={"topic": "funding", "division": "planning_finance", "co_divisions": []})
    return store, source


def test_division_key_renamed_after_decisions(runner, bundled_model_dir, tmp_path):
    import types

    from router.errors import ProfileError
    from router.intake import read_intake
    from router.profile import default_profile_path, load_profile
    from router.review import human_decisions
    from router.routing import route_batch
    from router.store import Store

    store, source = _routed_with_a_correction(runner, bundled_model_dir, tmp_path)
    with Store.open(store) as opened:
        decisions = human_decisions(opened)
    text = default_profile_path().read_text(encoding="utf-8").replace('"planning_finance"', '"finance"')
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(text, encoding="utf-8")

    def model_for(profile):  # a model of this profile's keys (the bundled one refuses another profile)
        import scipy.sparse as sp

        return types.SimpleNamespace(features=lambda texts: sp.csr_matrix((len(texts), 1)),
                                     decide=lambda texts, X=None, **kw: [types.SimpleNamespace(
            topic_proba={k: 1.0 / len(profile.topic_keys) for k in profile.topic_keys},
            division_proba={k: 1.0 / len(profile.division_keys) for k in profile.division_keys},
            reasons=[], source="model") for _ in texts])

    profile = load_profile(renamed)
    _, suggestions = read_intake(source, profile)
    with pytest.raises(ProfileError) as refused:  # before: KeyError / StopIteration, "unexpected failure"
        route_batch(model_for(profile), profile, suggestions, decisions=decisions, year=2021)
    assert str(refused.value) == (
        f"{renamed}：存储里已记录的复核决定使用了本配置中没有的键：“planning_finance”1 条（如 2021年第102号）；"
        "如果这些主题或处室已改名，请在配置文件顶部加上 renamed = {planning_finance = \"新的键\"}，"
        "把旧键对应到现在的键，然后重试")
    mapped = tmp_path / "mapped.toml"
    mapped.write_text('renamed = {planning_finance = "finance"}\n' + text, encoding="utf-8")
    profile = load_profile(mapped)
    routes = route_batch(model_for(profile), profile, suggestions, decisions=decisions, year=2021)
    assert [(r.source, r.division) for r in routes][1] == ("human", "finance")


# --- scale -------------------------------------------------------------------------------------------


def test_blocked_duplicate_search_finds_what_all_pairs_finds():
    import numpy as np
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from router.similar import nearest_earlier

    rng = np.random.default_rng(7)
    base = sp.random(400, 5000, density=0.01, random_state=7, format="csr", dtype=np.float32)
    rows = [base]
    for _ in range(3):  # near copies of earlier rows, and exact ones
        noisy = base[rng.integers(0, 400, 150)].copy()
        noisy.data *= rng.uniform(0.9, 1.1, noisy.data.size).astype(np.float32)
        rows.append(noisy)
    rows.append(base[rng.integers(0, 400, 50)])
    vectors = normalize(sp.vstack(rows, format="csr"))
    exact = nearest_earlier(vectors, 0.75, exact_below=10 ** 6)
    blocked = nearest_earlier(vectors, 0.75, exact_below=0)
    assert sum(found is not None for found in exact) >= 500
    assert [f and f[0] for f in blocked] == [f and f[0] for f in exact]
    assert all(b is None or abs(b[1] - e[1]) < 1e-5 for b, e in zip(blocked, exact))


def test_xlsx_past_excels_row_limit_is_refused_naming_csv(profile, tmp_path, monkeypatch):
    import router.table
    from router.errors import OutputError
    from router.routing import route_batch

    routes = route_batch(_Model(profile), profile, _suggestions(*[(str(i), f"关于第{i}村的建议", "") for i in range(5)]))
    monkeypatch.setattr(router.table, "XLSX_MAX_ROWS", 5)  # 5 rows of data and a header would be 6
    out = tmp_path / "t.xlsx"
    with pytest.raises(OutputError) as refused:
        router.table.write_routes(routes, profile, out, "xlsx")
    assert str(refused.value) == ("交办任务表有 5 行，超过 Excel/WPS 一个工作表最多 4 行数据的上限，写成 .xlsx 会被截断；"
                                  "请改用 CSV 或 JSONL：-o 文件名.csv（或 .jsonl）")
    assert list(tmp_path.iterdir()) == []
    assert router.table.write_routes(routes, profile, tmp_path / "t.csv", "csv") == 5


# --- every non-empty row accounted for (hypothesis) ---------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_IDS = st.one_of(st.integers(1, 9999).map(str), st.sampled_from(
    ["007", "0012", "2021-01-01", "2021/1/1", "1-1", "12345678901234567890", "1.5", "1e5", "第1178号", ""]))
_TITLES = st.sampled_from(["关于修路的建议", "关于学校的建议", "关于饮水安全的建议", "关于村卫生室的建议", ""])
_LINE = st.one_of(
    st.tuples(st.just("row"), _IDS, _TITLES, st.sampled_from(["", "村道泥泞", "校舍老旧 请求改造"])),
    st.tuples(st.just("header"), st.sampled_from(["编号,标题,内容", "编号,标题,领衔代表,内容"])),
    st.tuples(st.just("section"), st.sampled_from(["二、会办件（3件）", "一、主办件"])),
    st.tuples(st.just("blank"),),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, min_size=1, max_size=25), damage=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 3)),
                                                                       max_size=3))
def test_every_non_empty_row_is_accounted_for(profile, tmp_path_factory, lines, damage):
    """Routed once, or listed as a header/title line, or the whole file refused naming a damaged row."""
    from router.errors import InputError
    from router.intake import read_intake

    text = ["2021年建议交办表", "编号,标题,内容"]
    kinds = ["title", "header"]
    for item in lines:
        kinds.append(item[0])
        text.append({"row": lambda: ",".join(item[1:]), "header": lambda: item[1], "section": lambda: item[1],
                     "blank": lambda: ""}[item[0]]())
    rows = [i for i, kind in enumerate(kinds) if kind == "row"]
    damaged = set()
    for which, cell in damage:  # a quote put at the start of a cell: unbalanced quoting
        if rows:
            i = rows[which % len(rows)]
            cells = text[i].split(",")
            cells[cell % len(cells)] = '"' + cells[cell % len(cells)]
            text[i] = ",".join(cells)
            damaged.add(i + 1)
    path = tmp_path_factory.mktemp("prop") / "in.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    try:
        reader, suggestions = read_intake(path, profile)
    except InputError as exc:
        assert damaged and any(f"：第{row}行（文件第{row}行）" in str(exc) for row in damaged), (str(exc), damaged)
        return
    non_empty = [i + 1 for i, line in enumerate(text) if line.replace(",", "").replace('"', "").strip()]
    accounted = [s.row for s in suggestions] + [row for row, _, _ in reader.skipped] + [reader.header_row]
    assert sorted(accounted) == non_empty
    assert len(set(accounted)) == len(accounted)
    for s in suggestions:  # ids as written: never a number's or a date's repr
        if not damaged:
            assert s.id == text[s.row - 1].split(",")[0] or (s.id.startswith("R") and not s.id[1:].isalpha())


@pytest.mark.parametrize("old, new, kind", [("planning_finance", "finance", "division"), ("funding", "money", "topic")])
def test_report_from_store_follows_renamed_keys(runner, bundled_model_dir, tmp_path, old, new, kind):
    """A year-end report over decisions recorded under a key the profile has since renamed (#13)."""
    from router.profile import default_profile_path

    store, _ = _routed_with_a_correction(runner, bundled_model_dir, tmp_path)
    text = default_profile_path().read_text(encoding="utf-8").replace(f'"{old}"', f'"{new}"')
    mapped = tmp_path / "mapped.toml"
    mapped.write_text(f'renamed = {{{old} = "{new}"}}\n' + text, encoding="utf-8")
    reported = invoke(runner, ["--profile", mapped, "report", "--from-store", "--store", store, "--year", "2021",
                               "--out", tmp_path / "report"])
    assert reported.exit_code == 0, reported.output
    assert (tmp_path / "report" / "report.md").is_file()
