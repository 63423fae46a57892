"""Every message a user meets is Chinese: the catalogue, and the CLI walked over bad files (issue #23).

Each case is a user's mistake as the CLI meets it (a misspelled header, an old .xls, an empty CSV,
a profile over an existing file, a bad review cell, a table of another store, a year the file
does not tell …). Each must end in one `Error: ` line (or click's usage error), with no traceback
and no English sentence once paths, commands and options are taken out. A last test routes,
accepts, reports and exports, and finds no English word in what the office prints or sends.
"""

import csv
import re
import shutil

import openpyxl
import pytest

from conftest import HISTORY, INTAKE, invoke
from helpers import SAMPLE, edit_table, table_header, write_csv

# Three English words in a row is a sentence a user would have to read in English.
SENTENCE = re.compile(r"[A-Za-z][A-Za-z'’-]+(?:[\s,;:.()]+[A-Za-z][A-Za-z'’-]+){2,}")
# What may stay: commands and options a user types, file names and formats, product names.
ALLOWED = [r"Error:", r"router(?: [a-z][a-z-]*)*", r"--?[a-z][a-z-]*", r"\S+\.(?:xlsx|xls|csv|jsonl|json|toml|sqlite)",
           r"\[OPTIONS\]", r"UTF-8|GBK|GB18030|SQLite|Excel|WPS|TOML|JSON|CSV|XLSX|BadZipFile|KeyError"]


def english_sentences(text: str, *paths) -> list[str]:
    for path in sorted((str(p) for p in paths), key=len, reverse=True):
        text = text.replace(path, "")
    for pattern in ALLOWED:
        text = re.sub(pattern, " ", text)
    return SENTENCE.findall(text)


def test_catalogue_is_chinese_with_codes_and_advice():
    from router.errors import RouterError
    from router.messages import CATALOGUE, failure

    assert len(CATALOGUE) >= 40
    for code, entry in CATALOGUE.items():
        assert re.fullmatch(r"[IOP]\d{3}", code) and issubclass(entry.kind, RouterError)
        assert re.search(r"[\u4e00-\u9fff]", entry.text) and not english_sentences(entry.text + entry.advice), code
    error = failure("I108", file="a.csv", found="编号", accepted="标题、案由")
    assert error.code == "I108" and str(error).startswith("a.csv：找不到标题列；表中的列：编号；请把标题列的表头改为")
    assert str(failure("I114", file="b.jsonl", row=3, col=5)).startswith("b.jsonl：第 3 行：不是有效的 JSON")


@pytest.fixture
def office(runner, tmp_path, monkeypatch):
    """A default office folder with the four past years imported, as the working folder."""
    folder = tmp_path / "office"
    assert invoke(runner, ["init", folder]).exit_code == 0
    monkeypatch.chdir(folder)
    for name in ("ROUTER_STORE", "ROUTER_MODELS", "ROUTER_PROFILE", "ROUTER_OFFICE"):
        monkeypatch.delenv(name, raising=False)
    return folder


def _cases(tmp_path, office, runner):
    """(name, args, files to write first) of user mistakes; files are made by the callables."""
    t = tmp_path
    cases = []

    def case(name, args, setup=None, code=None):
        cases.append((name, args, setup, code))

    case("missing file", ["read", t / "没有.xlsx"])
    case("a folder", ["read", t])
    case("old .xls", ["read", t / "old.xls"], lambda: (t / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0old"))
    case("unknown type", ["read", t / "建议.doc"], lambda: (t / "建议.doc").write_bytes(b"x"))
    case("empty CSV", ["route", t / "empty.csv", "-o", t / "o.xlsx"], lambda: (t / "empty.csv").write_bytes(b""))
    case("misspelled title header", ["route", t / "typo.csv", "-o", t / "o.xlsx"],
         lambda: write_csv(t / "typo.csv", [["编号", "标提", "内容"], ["1", "修路", "修一条路"]]))
    case("binary CSV", ["read", t / "bin.csv"], lambda: (t / "bin.csv").write_bytes(b"\x00\x01\x02" * 100))
    case("bad JSONL line", ["read", t / "in.jsonl"],
         lambda: (t / "in.jsonl").write_text('{"标题": "修路"}\n{标题: 修路}\n', encoding="utf-8"))
    case("not a workbook", ["read", t / "fake.xlsx"], lambda: (t / "fake.xlsx").write_bytes(b"PK\x03\x04garbage"))
    case("no such sheet", ["read", INTAKE, "--sheet", "无此表"])
    case("missing profile", ["--profile", t / "无.toml", "profile", "show"])
    case("bad TOML", ["--profile", t / "bad.toml", "profile", "show"],
         lambda: (t / "bad.toml").write_text("[office\nname = 1\n", encoding="utf-8"))
    case("profile init over a file", ["profile", "init", "--template", "county", office / "profile.toml"])
    case("init over an office", ["init", office])
    case("a date in no known form", ["route", INTAKE, "-o", t / "o.xlsx", "--date", "2021-13-45"], code=2)
    case("an output of no table format", ["route", INTAKE, "-o", t / "o.doc"])
    case("accept of an intake", ["accept", INTAKE])
    case("train on a file with no year", ["train", t / "labelled.csv"],
         lambda: write_csv(t / "labelled.csv", [["标题", "主题", "主办处室"], ["修路", "其它综合性", "办公室"]]))
    case("train on labels of another profile", ["train", t / "history_2019.csv"],
         lambda: write_csv(t / "history_2019.csv", [["标题", "主题", "主办处室"], ["修路", "交通", "交通科"]]))
    case("history without a topic column", ["history", "import", t / "history_2018.csv"],
         lambda: write_csv(t / "history_2018.csv", [["标题", "内容"], ["修路", "修一条路"]]))
    case("promote a model that is not there", ["models", "promote", "没有这个模型"])
    case("backup over a file", ["store", "backup", t / "keep.sqlite"],
         lambda: ((t / "keep.sqlite").write_bytes(b"keep"),
                  invoke(runner, ["history", "import", HISTORY[0]])))
    case("a model for another profile", ["--profile", t / "county.toml", "route", INTAKE, "-o", t / "o.xlsx"],
         lambda: invoke(runner, ["profile", "init", "--template", "county", t / "county.toml"]))
    return cases


def test_every_error_path_walked_is_chinese(runner, tmp_path, office):
    walked = []
    for name, args, setup, code in _cases(tmp_path, office, runner):
        if setup:
            setup()
        result = invoke(runner, args)
        output = result.output
        assert result.exit_code == (code or 1), (name, output)
        assert "Traceback" not in output and "Error: " in output, (name, output)
        line = next(l for l in output.splitlines() if l.startswith("Error: "))
        found = english_sentences(line, tmp_path, office, INTAKE, *HISTORY)
        assert found == [], (name, line, found)
        walked.append(name)
    assert len(walked) >= 20


def test_review_errors_are_chinese(runner, tmp_path, office):
    """A bad review cell, and a table routed by another store: refused in Chinese, naming the row."""
    intake = write_csv(tmp_path / "intake.csv", SAMPLE)
    table = tmp_path / "t.xlsx"
    assert invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20"]).exit_code == 0
    edit_table(table, {2: {"复核": "ok"}})
    at, _ = table_header(openpyxl.load_workbook(table)["交办任务表"])
    line = invoke(runner, ["accept", table]).output.strip()
    assert line.startswith(f"Error: {table}：第 {at + 2} 行，“复核”列：“ok”不是 同意、修改、待定 之一")
    assert english_sentences(line, table) == []
    edit_table(table, {2: {"复核": "同意"}})
    other = tmp_path / "other.sqlite"
    result = invoke(runner, ["accept", table, "--store", other])
    assert result.exit_code == 1 and english_sentences(result.output, table, other) == [], result.output


# An English word (review, terminal, reviewer, Model); acronyms the deputies write (GDP, 4G) are their own.
ENGLISH_WORD = re.compile(r"[a-z]{2,}|[A-Z][a-z]+")


def _visible_cells(path):
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        if sheet.sheet_state != "visible":
            continue
        at, header = table_header(sheet) if sheet.title == "交办任务表" else (0, [])
        hidden = {i for i, name in enumerate(header) if name == "建议标识"}
        for row in sheet.iter_rows(values_only=True):
            for i, value in enumerate(row):
                if isinstance(value, str) and i not in hidden:
                    yield sheet.title, value


def test_no_english_word_reaches_a_table_a_report_or_an_export(runner, tmp_path, office, monkeypatch):
    monkeypatch.setenv("USER", "")
    monkeypatch.delenv("USERNAME", raising=False)
    for path in HISTORY:
        assert invoke(runner, ["history", "import", path]).exit_code == 0
    table = office / "交办任务表.xlsx"
    assert invoke(runner, ["route", INTAKE, "-o", table, "--date", "2021-02-20"]).exit_code == 0
    edit_table(table, {1: {"复核": "修改", "确认主办处室": "社会扶贫处"}})
    assert invoke(runner, ["accept", table, "--confirm-unflagged"]).exit_code == 0
    found = [(s, v) for s, v in _visible_cells(table) if ENGLISH_WORD.search(v)]
    assert found == []
    csv_table = office / "交办任务表.csv"
    assert invoke(runner, ["route", INTAKE, "-o", csv_table]).exit_code == 0
    text = csv_table.read_text(encoding="utf-8-sig")
    assert ENGLISH_WORD.findall(text) == []
    assert invoke(runner, ["report", "--from-store", "--year", "2021", "--out", office / "报告"]).exit_code == 0
    report = re.sub(r"\]\([^)]+\.png\)", "]", (office / "报告" / "report.md").read_text(encoding="utf-8"))  # the chart's file
    assert ENGLISH_WORD.findall(report) == []
    assert [(s, v) for s, v in _visible_cells(office / "报告" / "report.xlsx") if ENGLISH_WORD.search(v)] == []
    audit = office / "复核决定.csv"
    assert invoke(runner, ["decisions", "-o", audit]).exit_code == 0
    with open(audit, encoding="utf-8-sig", newline="") as handle:
        log = list(csv.DictReader(handle))
    assert log and {d["复核人"] for d in log} == {"未署名"}  # not `reviewer` when $USER is empty
    own = {p.stem for p in HISTORY}  # the user's own file names, as the office named them, stay
    assert [v for d in log for v in d.values() if ENGLISH_WORD.search(re.sub("|".join(own), "", v))] == []
    assert [v for s, v in _visible_cells(office / "复核决定.xlsx") if ENGLISH_WORD.search(v)] == [] \
        if (office / "复核决定.xlsx").exists() else True
