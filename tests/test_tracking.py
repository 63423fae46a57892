"""Handling after assignment: the bundled intake followed from route to year-end report, and refusals.

Expectations are computed from what the test records, never from fixed totals of the intake.
"""

import datetime as dt
import re
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from conftest import INTAKE, invoke
from helpers import SAMPLE, write_xlsx
from router.routing import add_months

ASSIGNED = dt.date(2021, 2, 20)
REPLY_DUE = add_months(ASSIGNED, 3)          # the profile's [deadline] months
KEY_DUE = add_months(ASSIGNED, 2)            # [tracking] key_months
CONTACT_DUE = ASSIGNED + dt.timedelta(days=30)
OPINION_DUE = REPLY_DUE - dt.timedelta(days=15)
C1_REASON = "需出台省级政策，已与省财政厅、省发展改革委协调，列入明年研究"


def _rows(table: Path) -> tuple[list[str], list[dict]]:
    sheet = openpyxl.load_workbook(table)["交办任务表"]
    header = [c.value for c in sheet[1]]
    return header, [dict(zip(header, r), _row=i) for i, r in enumerate(sheet.iter_rows(min_row=2, values_only=True), 2)]


def _fill(table: Path, edits: dict[str, dict], target: Path | None = None) -> Path:
    """Fill handling columns by 建议号, as a division does in Excel."""
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for column, value in edits.get(row[header.index("建议号")].value, {}).items():
            row[header.index(column)].value = value
    book.save(target or table)
    return target or table


def _handling_count(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT COUNT(*) FROM handling").fetchone()[0]


@pytest.fixture
def routed(runner, bundled_model_dir, tmp_path):
    store, table = tmp_path / "store.sqlite", tmp_path / "交办任务表.xlsx"
    result = invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", table, "--store", store,
                             "--date", ASSIGNED.isoformat()])
    assert result.exit_code == 0, result.output
    return table, store


def _plan(rows: list[dict]) -> dict:
    """What each suggestion's handling will be: most done, some late, one C1, a few missing."""
    led = [r["建议号"] for r in rows if r["办理类型"] == "主办"]
    co = [r["建议号"] for r in rows if r["办理类型"] == "会办"]
    assert len(led) >= 8 and len(co) >= 5, "the intake needs lead and co-handled suggestions"
    plan = {n: {"role": "主办"} for n in led} | {n: {"role": "会办"} for n in co}
    key = led[4]
    plan[key]["key"] = True
    for i, n in enumerate(led[:-2]):                       # the last two: never contacted, never replied
        plan[n]["contact"] = dt.date(2021, 3, 28) if i == 0 else dt.date(2021, 3, 1) + dt.timedelta(days=i)
        late = i in (0, 1) or n == key                    # two late, and the key one misses its shorter deadline
        plan[n]["reply"] = dt.date(2021, 6, 1) if i in (0, 1) else dt.date(2021, 5, 10)
        plan[n]["late"] = late
        grade, asks, adopted = [("A1", 3, 3), ("A2", 4, 3)][i % 2]
        if i == 2:
            grade, asks, adopted = "C1", 2, 0
        elif i == 3:
            grade, asks, adopted = "B", 2, 1
        plan[n].update(grade=grade, asks=asks, adopted=adopted)
        plan[n]["satisfaction"] = "基本满意" if grade == "C1" else ("不满意" if i == 3 else "满意")
        plan[n]["visit"] = plan[n]["reply"] + dt.timedelta(days=20)
    for i, n in enumerate(co[:-3]):                        # the last three: opinion missing
        plan[n]["opinion"] = dt.date(2021, 5, 10) if i == 0 else dt.date(2021, 4, 20)
    return plan


def _edits(plan: dict) -> dict[str, dict]:
    edits = {}
    for n, p in plan.items():
        e = {}
        if p.get("key"):
            e["重点"] = "是"
        if "contact" in p:
            e.update({"联系方式": "电话", "联系日期": p["contact"].strftime("%Y/%m/%d")})
        if "opinion" in p:
            e["会商日期"] = dt.datetime.combine(p["opinion"], dt.time())   # a real Excel date cell
        if "reply" in p:
            e.update({"答复日期": f"{p['reply'].year}年{p['reply'].month}月{p['reply'].day}日", "答复类别": p["grade"],
                      "答复内容或文号": C1_REASON if p["grade"] == "C1" else f"扶办函〔2021〕{len(edits) + 1}号",
                      "建议条数": p["asks"], "采纳条数": p["adopted"], "满意度": p["satisfaction"],
                      "回访日期": p["visit"].isoformat()})
        edits[n] = e
    return edits


def _expected_due(plan: dict, on: dt.date, within: int) -> set[tuple[str, str]]:
    """The missing steps at ``on``: owed, not done by then, due before on + within."""
    out = set()
    for n, p in plan.items():
        reply_due = KEY_DUE if p.get("key") else REPLY_DUE
        owed = []
        if p["role"] == "主办":
            owed += [("未联系代表", CONTACT_DUE, p.get("contact")), ("未答复", reply_due, p.get("reply"))]
            if p.get("reply") and p["reply"] <= on:
                owed.append(("未回访", p["reply"] + dt.timedelta(days=30), p.get("visit")))
        else:
            owed.append(("未送会办意见", reply_due - dt.timedelta(days=15), p.get("opinion")))
        for missing, due, done in owed:
            if not (done and done <= on) and (due - on).days <= within:
                out.add((n, missing))
    return out


def _due_rows(markdown: str) -> set[tuple[str, str]]:
    return {(cells[0], cells[3]) for line in markdown.splitlines()
            if line.startswith("| 第") and len(cells := [c.strip() for c in line.strip("|").split("|")]) == 6}


def test_follow_the_intake_from_route_to_year_end_report(runner, routed, tmp_path):
    table, store = routed
    header, rows = _rows(table)
    assert header[header.index("复核人") + 1:header.index("复核人") + 3] == ["办理类型", "交办日期"]
    assert {r["交办日期"] for r in rows} == {ASSIGNED.isoformat()}
    plan = _plan(rows)

    # February: the assignment table as routed records 已交办 for every suggestion.
    result = invoke(runner, ["track", "import", table, "--store", store, "--by", "办公室"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{table}（2021年）：已填写 {len(rows)} 行；新记录：已交办 {len(rows)}；与已有记录相同 0 项\n"

    # Handling: the divisions fill their columns and send the table back.
    _fill(table, _edits(plan))
    result = invoke(runner, ["track", "import", table, "--store", store, "--by", "办公室"])
    assert result.exit_code == 0, result.output
    contacts = sum("contact" in p for p in plan.values())
    opinions = sum("opinion" in p for p in plan.values())
    replies = sum("reply" in p for p in plan.values())
    key_rows = sum(bool(p.get("key")) for p in plan.values())
    # 重点 is an assignment detail: changing it on an assigned row is a conflict, not a new record.
    assert result.output.splitlines()[0] == (
        f"{table}（2021年）：已填写 {len(rows)} 行；新记录：已联系代表 {contacts}，已会商 {opinions}，已答复 {replies}，"
        f"已回访 {replies}；与已有记录相同 {len(rows) - key_rows} 项")
    key_number = next(n for n, p in plan.items() if p.get("key"))
    key_row = next(r["_row"] for r in rows if r["建议号"] == key_number)
    assert result.output.splitlines()[2].startswith(f"  第{key_row}行 重点：表中为“是”，已记录为“否”")
    # The office records the key mark from the terminal (a new assignment record; the latest counts).
    assert invoke(runner, ["track", key_number, "交办", "--role", "主办", "--key", "--date", ASSIGNED.isoformat(),
                           "--store", store]).exit_code == 0

    # A suggestion handed to another division during handling becomes a correction for training.
    moved = next(n for n, p in plan.items() if p["role"] == "主办" and p.get("grade") == "A1")
    before = next(r["建议主办处室"] for r in rows if r["建议号"] == moved)
    target = "社会扶贫处" if before != "社会扶贫处" else "政策法规处"
    result = invoke(runner, ["track", moved, "转办", "--division", target, "--date", "2021-03-05", "--store", store])
    assert result.exit_code == 0 and result.output == f"已记录：{moved} 已转办 2021-03-05\n"
    with sqlite3.connect(store) as db:
        action, after, origin = db.execute("SELECT action, after, origin FROM decisions ORDER BY id DESC").fetchone()
    assert (action, origin) == ("修改", "tracking") and _division_name(after) == target
    from router.store import Store
    with Store.open(store) as s:
        assert any(c["number"] == moved and c["action"] == "修改" for c in s.confirmed())

    # Importing the same table again records nothing twice.
    count = _handling_count(store)
    again = invoke(runner, ["track", "import", table, "--store", store])
    assert again.exit_code == 0 and "新记录：无" in again.output and _handling_count(store) == count

    # Supervision at two dates: exactly the missing steps, by division.
    for on, within in ((dt.date(2021, 3, 25), 14), (dt.date(2021, 5, 25), 14)):
        result = invoke(runner, ["due", "--date", on.isoformat(), "--within", f"{within}d", "--store", store])
        assert result.exit_code == 0, result.output
        expected = _expected_due(plan, on, within)
        assert _due_rows(result.output) == expected
        overdue = sum(1 for n, m in expected if _due_date(plan[n], m) < on)
        assert f"已逾期 {overdue} 项，即将到期 {len(expected) - overdue} 项。" in result.output
        assert "## 月度调度汇总" in result.output

    sheet_file = tmp_path / "督办单.xlsx"
    result = invoke(runner, ["due", "--date", "2021-05-25", "--format", "xlsx", "-o", sheet_file, "--store", store])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(sheet_file)
    listed = {(r[2], r[5]) for r in book["督办单"].iter_rows(min_row=3, values_only=True)}
    assert listed == _expected_due(plan, dt.date(2021, 5, 25), 14)
    monthly = list(book["月度调度"].iter_rows(min_row=3, values_only=True))
    replied_by_then = sum(1 for p in plan.values() if p.get("reply") and p["reply"] <= dt.date(2021, 5, 25))
    assert sum(r[2] for r in monthly) == len(rows) and sum(r[7] for r in monthly) == replied_by_then

    # Year end: the report's sentences carry the recorded figures.
    out = tmp_path / "report"
    result = invoke(runner, ["report", "--year", "2021", "--from-store", "--store", store, "--out", out])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text(encoding="utf-8")
    led = [p for p in plan.values() if p["role"] == "主办"]
    co = [p for p in plan.values() if p["role"] == "会办"]
    late = sum(bool(p.get("late")) for p in led)
    assert f"2021年共承办代表建议{len(plan)}件，其中主办{len(led)}件、会办{len(co)}件。" in text
    on_time_opinions = sum(1 for p in co if p.get("opinion") and p["opinion"] <= OPINION_DUE)
    assert (f"主办的{len(led)}件建议中，{replies - late}件按期答复，{late}件逾期答复，{len(led) - replies}件尚未答复；"
            f"会办的{len(co)}件中，{on_time_opinions}件按期送达会办意见，{opinions - on_time_opinions}件逾期送达，"
            f"{len(co) - opinions}件尚未送达。") in text
    grades = Counter(p["grade"] for p in led if "grade" in p)
    assert grades["C1"] == 1
    assert (f"从答复类别看，已答复的{replies}件主办建议中，{grades['A1'] + grades['A2']}件为A1或A2类，"
            f"{grades['B']}件为B类，1件为C1类。") in text
    satisfied = sum(p.get("satisfaction") in ("满意", "基本满意") for p in led)
    rate = f"{satisfied / replies * 100:.1f}".removesuffix(".0")
    assert (f"回访代表{replies}件，代表满意率{rate}%（满意{satisfied - 1}件、基本满意1件、不满意1件）。") in text
    asks = sum(p.get("asks", 0) for p in led)
    adopted = sum(p.get("adopted", 0) for p in led)
    assert f"代表在主办建议中提出的{asks}条具体建议中，{adopted}条已经采纳。" in text
    c1 = next(n for n, p in plan.items() if p.get("grade") == "C1")
    assert f"{c1}（C1类），{C1_REASON}" in text
    assert "办理中转办1件" in text
    assert "按主题分，涉及" in text and "### 答复类别（主办）" in text


def _division_name(after: str) -> str:
    import json

    from router.profile import load_profile

    return load_profile().division(json.loads(after)["division"]).name


def _due_date(p: dict, missing: str) -> dt.date:
    reply_due = KEY_DUE if p.get("key") else REPLY_DUE
    return {"未联系代表": CONTACT_DUE, "未答复": reply_due, "未送会办意见": reply_due - dt.timedelta(days=15),
            "未回访": (p.get("reply") or ASSIGNED) + dt.timedelta(days=30)}[missing]


def test_an_older_copy_never_overrides_a_newer_record(runner, routed, tmp_path):
    table, store = routed
    _, rows = _rows(table)
    n = next(r["建议号"] for r in rows if r["办理类型"] == "主办")
    row = next(r["_row"] for r in rows if r["建议号"] == n)
    old = _fill(table, {n: {"答复日期": "2021-05-10", "答复类别": "B"}}, tmp_path / "旧表.xlsx")
    assert invoke(runner, ["track", "import", table, "--store", store]).exit_code == 0
    # A newer record from the terminal, then the older copy comes back.
    assert invoke(runner, ["track", n, "答复", "--date", "2021-05-12", "--grade", "A1", "--store", store]).exit_code == 0
    count = _handling_count(store)
    result = invoke(runner, ["track", "import", old, "--store", store])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "冲突 2 处，以已有记录为准，未覆盖（如需更正请用 router track ID 步骤 …）："
    assert lines[2].startswith(f"  第{row}行 答复日期：表中为“2021-05-10”，已记录为“2021-05-12”（")
    assert lines[3].startswith(f"  第{row}行 答复类别：表中为“B”，已记录为“A1”（")
    assert _handling_count(store) == count
    shown = invoke(runner, ["track", "show", n, "--store", store]).output
    assert "已答复　A1" in shown and "已答复　B" not in shown


def _bad(runner, table, store, extra=()):
    before = _handling_count(store)
    result = invoke(runner, ["track", "import", table, "--store", store, *extra])
    assert result.exit_code == 1
    assert _handling_count(store) == before
    return result.output.strip()


def test_bad_tables_refused_naming_the_row_and_nothing_recorded(runner, routed, tmp_path):
    table, store = routed
    _, rows = _rows(table)
    assert invoke(runner, ["track", "import", table, "--store", store]).exit_code == 0
    led = [r for r in rows if r["办理类型"] == "主办"]
    a, b, c = led[0], led[1], led[2]
    done = "。未记录任何内容；请改正后重新导入"

    early = _fill(table, {a["建议号"]: {"答复日期": "2021-02-01", "答复类别": "A1"},
                          b["建议号"]: {"答复日期": "2021-05-01", "答复类别": "A1"}}, tmp_path / "early.xlsx")
    assert _bad(runner, early, store) == (
        f"Error: {early}：第{a['_row']}行 答复日期：答复日期 2021-02-01 早于交办日期 2021-02-20；请核对日期{done}")
    assert "已答复" not in invoke(runner, ["track", "show", b["建议号"], "--store", store]).output

    grade = _fill(table, {a["建议号"]: {"答复日期": "2021-05-01", "答复类别": "D"}}, tmp_path / "grade.xlsx")
    assert _bad(runner, grade, store) == (
        f"Error: {grade}：第{a['_row']}行 答复类别：'D' 不在本机构的答复类别中（可选：A1、A2、B、C1、C2）{done}")

    unanswered = _fill(table, {c["建议号"]: {"满意度": "满意"}}, tmp_path / "unanswered.xlsx")
    assert _bad(runner, unanswered, store) == (
        f"Error: {unanswered}：第{c['_row']}行 满意度：尚无答复记录，不能登记满意度；请先登记答复{done}")

    date = _fill(table, {c["建议号"]: {"联系方式": "电话", "联系日期": "下周"}}, tmp_path / "date.xlsx")
    assert _bad(runner, date, store) == (
        f"Error: {date}：第{c['_row']}行 联系日期：'下周' 不是日期；请写成 2021-03-05{done}")

    # Another year: the 2021 table when the store's latest year is 2022.
    intake_2022 = write_xlsx(tmp_path / "intake_2022.xlsx", SAMPLE)
    result = invoke(runner, ["route", intake_2022, "--model", Path(store).parent / "models" / "default",
                             "-o", tmp_path / "t2022.xlsx", "--store", store, "--date", "2022-02-18"])
    assert result.exit_code == 0, result.output
    message = _bad(runner, table, store)
    problems = [f"第{r['_row']}行：该建议属于2021年，本次导入的是2022年的办理记录；导入2021年的表格请加 --year 2021"
                for r in rows[:5]]
    assert message == f"Error: {table}：{'；'.join(problems)}；等共{len(rows)}处{done}"
    assert invoke(runner, ["track", "import", table, "--store", store, "--year", "2021"]).exit_code == 0

    # Another store: the rows are not in it.
    other = tmp_path / "other.sqlite"
    assert invoke(runner, ["route", intake_2022, "--model", Path(store).parent / "models" / "default",
                           "-o", tmp_path / "other.xlsx", "--store", other, "--date", "2022-02-18"]).exit_code == 0
    message = _bad(runner, table, other)  # the table names the store that routed it (存储标识)
    assert message.startswith(f"Error: {table}：这张表是另一个历史库分办写出的（存储标识 ")
    assert "即使机构名称相同也不能记入本历史库" in message

    # Not an assignment table with handling columns.
    plain = write_xlsx(tmp_path / "plain.xlsx", SAMPLE)
    assert _bad(runner, plain, store) == (
        f"Error: {plain}：不是带办理跟踪列的交办任务表（缺少列：建议标识、办理类型、交办日期、重点、转办处室、联系方式、联系日期、"
        "会商日期、答复日期、答复类别、答复内容或文号、建议条数、采纳条数、满意度、回访日期、回访意见）；请使用 router route 写出的 .xlsx")


def test_bad_steps_from_the_terminal_refused(runner, routed):
    table, store = routed
    _, rows = _rows(table)
    n = next(r["建议号"] for r in rows if r["办理类型"] == "主办")
    unassigned = invoke(runner, ["track", n, "联系", "--how", "电话", "--date", "2021-03-01", "--store", store])
    assert unassigned.exit_code == 1 and unassigned.output.strip() == (
        f"Error: {n}（2021年）：尚未交办，不能登记“已联系代表”；请先登记交办（填写交办日期，或 router track ID 交办 --date …）（未记录）")
    assert invoke(runner, ["track", "import", table, "--store", store]).exit_code == 0
    count = _handling_count(store)
    cases = [
        (["答复", "--date", "2021-02-01", "--grade", "A1"], "答复日期 2021-02-01 早于交办日期 2021-02-20；请核对日期"),
        (["答复", "--date", "2021-05-01", "--grade", "D"], "'D' 不在本机构的答复类别中（可选：A1、A2、B、C1、C2）"),
        (["回访", "--satisfaction", "满意"], "尚无答复记录，不能登记满意度；请先登记答复"),
        (["联系", "--how", "写信", "--date", "2021-03-01"], "'写信' 不是联系方式之一（可选：见面、电话、微信、走访）"),
    ]
    for args, message in cases:
        result = invoke(runner, ["track", n, *args, "--store", store])
        assert result.exit_code == 1 and result.output.strip() == f"Error: {n}（2021年）：{message}（未记录）", args
    missing = invoke(runner, ["track", "第99999号", "联系", "--store", store])
    assert missing.exit_code == 1 and missing.output.strip() == f"Error: {store}：存储中没有建议 第99999号；请核对建议号或加 --year"
    assert _handling_count(store) == count
    assert invoke(runner, ["due", "--within", "两周", "--store", store]).exit_code == 2


def test_profiles_without_tracking_keep_loading(tmp_path):
    from router.profile import default_profile_path, load_profile

    text = default_profile_path().read_text(encoding="utf-8")
    path = tmp_path / "old.toml"
    path.write_text(text[:text.index("# Handling after assignment")], encoding="utf-8")
    profile = load_profile(path)
    assert [g.code for g in profile.tracking.grades] == ["A1", "A2", "B", "C1", "C2"]
    assert profile.tracking.key_months == 0 and profile.tracking.contact_days == 30


def test_grade_outside_outcomes_refused_in_profile(runner, tmp_path):
    from router.profile import default_profile_path

    text = default_profile_path().read_text(encoding="utf-8").replace('outcome = "in_progress"', 'outcome = "maybe"')
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    result = invoke(runner, ["--profile", path, "profile", "show"])
    line = next(i for i, l in enumerate(text.splitlines(), 1) if l == 'code = "B"')
    assert result.exit_code == 1 and result.output.strip() == (
        f"Error: {path}：第 {line} 行：答复类别 'B' 的 outcome 应为 solved、in_progress、not_now 之一"
        "（solved 已解决或采纳，in_progress 正在解决，not_now 暂不能解决）")


def test_the_step_specification_owns_every_tracking_column_once():
    """The steps are data: each handling column of the assignment table is read by exactly one step."""
    from router.services.tracking import MISSING, STEP_SPECS, STEPS
    from router.table import TRACKING_HEADERS

    owned = [column for step in STEP_SPECS for column in step.columns]
    assert sorted(owned) == sorted(TRACKING_HEADERS)
    assert all(set(step.filled_by) <= set(step.columns) for step in STEP_SPECS)
    assert STEPS == ("已交办", "已转办", "已联系代表", "已会商", "已答复", "已回访")
    assert MISSING == {"已联系代表": "未联系代表", "已会商": "未送会办意见", "已答复": "未答复", "已回访": "未回访"}
