"""One truth for every decision (#20): the same cases through every surface, the same decision in the store.

Each case of the decision table is run as a reviewer meets it: the web pages over HTTP (Flask's
test client), the terminal (`router review`), the Excel round trip (`router accept`) and tracking
(`router track import`), all on one store made by `router route` of a real intake file. The
expected decision is written once per case and asserted on every surface.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import openpyxl
import pytest

from conftest import HISTORY, INTAKE, invoke
from helpers import SAMPLE, edit_table, table_row, write_csv
from router.accounts import add_user
from router.store import Store
from router.web import create_app

PASSWORD = "correct-horse-1"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
YEAR = 2021


# --- the office: one intake routed into one store ------------------------------------------------


@pytest.fixture
def office(runner, tmp_path, profile):
    store = tmp_path / "s.sqlite"
    intake = write_csv(tmp_path / "intake_2021.csv", SAMPLE)
    table = tmp_path / "t.xlsx"
    result = invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store])
    assert result.exit_code == 0, result.output
    with Store.open(store) as opened:
        add_user(opened, profile, "张三", role="reviewer", password=PASSWORD)
        add_user(opened, profile, "王五", role="coordinator", password=PASSWORD)
    return {"store": store, "table": table, "intake": intake, "tmp": tmp_path}


def _rows(store) -> list[dict]:
    """Each suggestion (by number) with its suggested route and its latest decision."""
    with Store.open(store) as opened:
        rows = opened.db.execute(
            "SELECT s.id, s.number, r.topic, r.division, r.co_divisions FROM suggestions s "
            "JOIN routes r ON r.id = (SELECT MAX(id) FROM routes WHERE suggestion_id = s.id) ORDER BY s.id").fetchall()
        out = []
        for sid, number, topic, division, co in rows:
            latest = opened.db.execute("SELECT action, after, comment, reviewer, origin FROM decisions "
                                       "WHERE suggestion_id = ? ORDER BY id DESC LIMIT 1", (sid,)).fetchone()
            count = opened.db.execute("SELECT COUNT(*) FROM decisions WHERE suggestion_id = ?", (sid,)).fetchone()[0]
            out.append({"sid": sid, "number": number,
                        "suggested": {"topic": topic, "division": division, "co_divisions": json.loads(co or "[]")},
                        "latest": None if latest is None else (latest[0], json.loads(latest[1]) if latest[1] else None,
                                                               latest[2]),
                        "reviewer": latest[3] if latest else None, "origin": latest[4] if latest else None,
                        "count": count})
    return out


def _row(store, number) -> dict:
    return next(r for r in _rows(store) if r["number"] == number)


def _total(store) -> int:
    with Store.open(store) as opened:
        return opened.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]


def _other(profile, division: str) -> str:
    return next(d.key for d in profile.divisions if d.key != division)


# --- the surfaces ----------------------------------------------------------------------------------


def _client(office, profile, name="张三", divisions=None):
    if divisions is not None:
        with Store.open(office["store"]) as opened:
            add_user(opened, profile, name, role="reviewer", password=PASSWORD, divisions=divisions)
    app = create_app(office["store"], profile, allowed_hosts={"localhost"})
    client = app.test_client()
    token = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf": token, "name": name, "password": PASSWORD, "next": "/"})
    assert response.status_code == 303, response.text
    return client


def _web(client, sid, action, *, route=None, comment="", seen=None, profile=None, store=None):
    page = client.get(f"/s/{sid}")
    assert page.status_code == 200, page.status_code
    token = CSRF.search(page.text).group(1)
    if seen is None:
        with Store.open(store) as opened:
            rows = opened.decision_rows(sid, latest=True)
        seen = rows[0][0] if rows else 0
    data = {"csrf": token, "action": action, "seen": str(seen), "comment": comment}
    if route:
        data.update({"topic": profile.topic(route["topic"]).name, "division": profile.division(route["division"]).name})
        data["co_divisions"] = [profile.division(k).name for k in route["co_divisions"]]
    return client.post(f"/s/{sid}/decide", data=data)


def _seq_of(table, number) -> int:
    seq = 1
    while table_row(table, seq)["建议号"] != number:
        seq += 1
    return seq


def _names(profile, route):
    return {"确认主题": profile.topic(route["topic"]).name, "确认主办处室": profile.division(route["division"]).name,
            "确认会办处室": "、".join(profile.division(k).name for k in route["co_divisions"]) or "无"}


def _terminal(runner, office, keys: str):
    return invoke(runner, ["review", "--year", str(YEAR), "--store", office["store"], "--reviewer", "赵六"], input=keys)


def _first_pending(runner, office) -> str:
    """The number the terminal asks about first (the least sure)."""
    result = _terminal(runner, office, "q\n")
    return re.search(r"\[1/\d+\] 序号 \d+　(\S+)", result.output).group(1)


# --- case 1: 同意 of a fresh route records the suggested route ------------------------------------


def test_agree_to_a_fresh_route_on_every_surface(runner, office, profile):
    web, terminal, table = "101", None, "103"
    row = _row(office["store"], web)
    assert _web(_client(office, profile), row["sid"], "同意", store=office["store"]).status_code == 303
    assert _row(office["store"], web)["latest"] == ("同意", row["suggested"], "")

    terminal = _first_pending(runner, office)
    result = _terminal(runner, office, "\nq\n")
    assert result.exit_code == 0 and "本次记录 1 条决定" in result.output
    assert _row(office["store"], terminal)["latest"] == ("同意", _row(office["store"], terminal)["suggested"], "")

    if table == terminal:
        table = next(n for n in ("101", "102", "103") if n not in (web, terminal))
    edit_table(office["table"], {_seq_of(office["table"], table): {"复核": "同意"}})
    assert invoke(runner, ["accept", office["table"], "--store", office["store"]]).exit_code == 0
    assert _row(office["store"], table)["latest"] == ("同意", _row(office["store"], table)["suggested"], "")


# --- case 2: 同意 after a colleague's transfer keeps the transfer ---------------------------------


def test_agree_after_a_transfer_keeps_the_transfer_on_every_surface(runner, office, profile):
    store = office["store"]
    row = _row(store, "101")
    moved = dict(row["suggested"], division=_other(profile, row["suggested"]["division"]))
    moved["co_divisions"] = [k for k in moved["co_divisions"] if k != moved["division"]]
    colleague = _client(office, profile)
    assert _web(colleague, row["sid"], "修改", route=moved, profile=profile, store=store).status_code == 303
    assert _row(store, "101")["latest"][:2] == ("修改", moved)

    # The web: the reviewer of the new division sees the transfer, agrees, and the transfer stands.
    theirs = _client(office, profile, name="乙处复核人", divisions=[moved["division"]])
    assert _web(theirs, row["sid"], "同意", store=store).status_code == 303
    assert _row(store, "101")["latest"] == ("同意", moved, "") and _row(store, "101")["reviewer"] == "乙处复核人"
    assert theirs.get(f"/s/{row['sid']}").status_code == 200  # still theirs: no 403

    # The terminal: a decided suggestion is not asked again; the transfer stands.
    result = _terminal(runner, office, "q\n")
    assert "（已有人工决定的 1 条不再询问）" in result.output and "101" not in result.output.split("待复核", 1)[1]

    # accept: a table routed after the transfer shows it; 同意 there agrees with it.
    again = office["tmp"] / "again.xlsx"
    assert invoke(runner, ["route", office["intake"], "-o", again, "--date", "2021-02-20", "--store", store]).exit_code == 0
    edit_table(again, {_seq_of(again, "101"): {"复核": "同意", "复核人": "李四"}})
    result = invoke(runner, ["accept", again, "--store", store])
    assert result.exit_code == 0, result.output
    assert _row(store, "101")["latest"][:2] == ("同意", moved)

    # tracking: a 转办 is a 修改 by the same rules; the web's 同意 after it keeps it.
    other = _row(store, "102")
    target = _other(profile, other["suggested"]["division"])
    edit_table(again, {seq: {"办理类型": "主办"} for seq in (1, 2, 3)})  # the route filled in 交办日期
    edit_table(again, {_seq_of(again, "102"): {"转办处室": profile.division(target).name}})
    result = invoke(runner, ["track", "import", again, "--store", store, "--year", "2021"])
    assert result.exit_code == 0, result.output
    assert _row(store, "102")["latest"][0] == "修改" and _row(store, "102")["latest"][1]["division"] == target
    assert _row(store, "102")["origin"] == "tracking"
    assert _web(colleague, other["sid"], "同意", store=store).status_code == 303
    assert _row(store, "102")["latest"][:2] == ("同意", _row(store, "102")["latest"][1])
    assert _row(store, "102")["latest"][1]["division"] == target


# --- case 3: a 修改 that changes nothing is 同意 (its comment kept) ---------------------------------


def test_an_unchanged_correction_is_agreement_on_every_surface(runner, office, profile):
    store = office["store"]
    row = _row(store, "101")
    assert _web(_client(office, profile), row["sid"], "修改", route=row["suggested"], comment="核对无误",
                profile=profile, store=store).status_code == 303
    assert _row(store, "101")["latest"] == ("同意", row["suggested"], "核对无误")

    terminal = _first_pending(runner, office)
    result = _terminal(runner, office, "e\n\n\n\n核对无误\nq\n")  # topic, lead, co-divisions as suggested
    assert result.exit_code == 0, result.output
    assert "已保存：同意" in result.output
    assert _row(store, terminal)["latest"] == ("同意", _row(store, terminal)["suggested"], "核对无误")

    table = next(n for n in ("102", "103") if n != terminal)
    suggested = _row(store, table)["suggested"]
    edit_table(office["table"], {_seq_of(office["table"], table): {"复核": "修改", "复核意见": "核对无误",
                                                              **_names(profile, suggested)}})
    result = invoke(runner, ["accept", office["table"], "--store", store])
    assert result.exit_code == 0, result.output
    assert "同意 1，修改 0" in result.output
    assert _row(store, table)["latest"] == ("同意", suggested, "核对无误")

    # tracking: a 转办 to the division that holds already records nothing.
    before = _total(store)
    edit_table(office["table"], {seq: {"办理类型": "主办"} for seq in (1, 2, 3)})  # the route filled in 交办日期
    edit_table(office["table"], {_seq_of(office["table"], table): {"转办处室": profile.division(suggested["division"]).name}})
    result = invoke(runner, ["track", "import", office["table"], "--store", store, "--year", "2021"])
    assert result.exit_code == 0, result.output
    assert _total(store) == before


# --- case 4: 待定 needs a reason everywhere ---------------------------------------------------------


def test_pending_without_a_reason_is_refused_on_every_surface(runner, office, profile):
    store = office["store"]
    row = _row(store, "101")
    response = _web(_client(office, profile), row["sid"], "待定", store=store)
    assert response.status_code == 400 and "待定请写明原因" in response.text

    result = _terminal(runner, office, "d\n\nq\n")
    assert result.exit_code == 0 and "待定请写明原因；本条未记录，请重新决定" in result.output

    edit_table(office["table"], {1: {"复核": "待定"}})
    result = invoke(runner, ["accept", office["table"], "--store", store])
    assert result.exit_code == 1
    assert "row 2, column 复核意见: 待定请写明原因" in result.output
    assert _total(store) == 0

    # With a reason, each surface records it.
    assert _web(_client(office, profile), row["sid"], "待定", comment="需问处室", store=store).status_code == 303
    assert _row(store, "101")["latest"] == ("待定", None, "需问处室")
    result = _terminal(runner, office, "d\n需问财政厅\nq\n")
    assert "已保存：待定 → 原因：需问财政厅" in result.output


# --- case 5: an older copy never overrides a newer decision ----------------------------------------


def test_an_older_copy_lists_conflicts_on_accept_and_web_download(runner, office, profile):
    store = office["store"]
    row = _row(store, "101")
    client = _client(office, profile)
    assert _web(client, row["sid"], "同意", store=store).status_code == 303
    download = office["tmp"] / "download.xlsx"
    coordinator = _client(office, profile, name="王五")
    download.write_bytes(coordinator.get("/coordinator/table.xlsx").data)

    # An unchanged download adds no decision, a 修改 without co-divisions included.
    moved = {"topic": row["suggested"]["topic"], "division": _other(profile, row["suggested"]["division"]),
             "co_divisions": []}
    assert _web(client, row["sid"], "修改", route=moved, profile=profile, store=store).status_code == 303
    fresh = office["tmp"] / "fresh.xlsx"
    fresh.write_bytes(coordinator.get("/coordinator/table.xlsx").data)
    before = _total(store)
    result = invoke(runner, ["accept", fresh, "--store", store])
    assert result.exit_code == 0, result.output
    assert _total(store) == before and _row(store, "101")["latest"][:2] == ("修改", moved)
    state = {k: v for k, v, *_ in openpyxl.load_workbook(fresh)["路由信息"].iter_rows(min_row=2, values_only=True)}
    with Store.open(store) as opened:
        assert state["存储标识"] == opened.store_id
    key = table_row(fresh, _seq_of(fresh, "101"))["建议标识"]
    assert json.loads(key)[1:] == [2021, "101", 1]  # the identity, not a content hash

    # The older download (同意 of the suggested route) conflicts with the newer 修改.
    result = invoke(runner, ["accept", download, "--store", store])
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("冲突：")]
    assert _row(store, "101")["latest"][:2] == ("修改", moved)

    # The older route table too.
    edit_table(office["table"], {_seq_of(office["table"], "101"): {"复核": "同意"}})
    result = invoke(runner, ["accept", office["table"], "--store", store])
    assert "1 行冲突，未记录" in result.output
    assert _row(store, "101")["latest"][:2] == ("修改", moved)


# --- case 6: a copy from another store is refused, even with the same office name -----------------


def test_a_table_from_another_store_is_refused(runner, office, profile):
    other = office["tmp"] / "other.sqlite"
    other_table = office["tmp"] / "other.xlsx"
    assert invoke(runner, ["route", office["intake"], "-o", other_table, "--date", "2021-02-20",
                           "--store", other]).exit_code == 0
    edit_table(other_table, {1: {"复核": "同意", "办理类型": "主办"}})
    for command in (["accept", other_table], ["track", "import", other_table, "--year", "2021"]):
        result = invoke(runner, [*command, "--store", office["store"]])
        assert result.exit_code == 1, result.output
        assert result.output.strip().startswith(f"Error: {other_table}：这张表是另一个历史库分办写出的（存储标识 ")
    assert _total(office["store"]) == 0

    # The web download of one store is refused by the other.
    with Store.open(other) as opened:
        add_user(opened, profile, "张三", role="coordinator", password=PASSWORD)
    download = office["tmp"] / "download.xlsx"
    download.write_bytes(_client({"store": other}, profile).get("/coordinator/table.xlsx").data)
    edit_table(download, {1: {"复核": "同意"}})
    result = invoke(runner, ["accept", download, "--store", office["store"]])
    assert result.exit_code == 1 and "这张表是另一个历史库分办写出的" in result.output


def test_an_existing_store_gets_an_identity_at_migration(tmp_path):
    import sqlite3

    from router.store.schema import MIGRATIONS, statements

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:4]:
            for statement in statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 4")
    with Store.open(path) as opened:
        first = opened.store_id
    with Store.open(path) as opened:
        assert opened.store_id == first and re.fullmatch(r"[0-9a-f]{16}", first)
    with Store.open(tmp_path / "new.sqlite") as opened:
        assert opened.store_id != first


# --- case 7: a mistyped year is refused; a wrong route can be withdrawn ---------------------------


def test_a_mistyped_year_is_refused_and_a_wrong_route_withdrawn(runner, tmp_path, profile):
    store = tmp_path / "s.sqlite"
    table = tmp_path / "t.xlsx"
    result = invoke(runner, ["route", INTAKE, "-o", table, "--date", "2012-02-20", "--store", store])
    assert result.exit_code == 2 and not table.exists()
    assert (f"Error: {INTAKE}：年度 2012 与来文不符：文件名“intake_2021.xlsx”是 2021 年；应为 2021 年的，"
            "请改正 --date 或 --year；确认就是 2012 年，请加 --year-ok") in result.output
    future = invoke(runner, ["history", "import", HISTORY[3], "--year", "2071", "--store", store])
    assert future.exit_code == 2 and "年度 2071 与来文不符" in future.output and "--year-ok" in future.output
    plain = tmp_path / "intake.csv"
    shutil.copy(write_csv(tmp_path / "x.csv", SAMPLE), plain)
    ahead = invoke(runner, ["route", plain, "-o", table, "--year", "2100", "--store", store])
    assert ahead.exit_code == 2 and "年度 2100 在未来" in ahead.output

    # Confirmed, it is recorded; then withdrawn, no reader sees it, and `router decisions` lists it.
    assert invoke(runner, ["route", INTAKE, "-o", table, "--date", "2012-02-20", "--store", store,
                           "--year-ok"]).exit_code == 0
    assert invoke(runner, ["history", "import", HISTORY[3], "--store", store]).exit_code == 0
    early = invoke(runner, ["route", plain, "-o", tmp_path / "u.xlsx", "--year", "2010", "--store", store])
    assert early.exit_code == 2 and "比历史库中最早的 2012 年还早一年以上" in early.output
    result = invoke(runner, ["store", "withdraw", "--year", "2012", "--reason", "误记年度", "--who", "王五",
                             "--store", store])
    assert result.exit_code == 0 and "已撤回2012年的建议 98 件" in result.output
    with Store.open(store) as opened:
        assert opened.routed_years() == [] and {r["year"] for r in opened.confirmed()} == {2020}
        assert opened.suggestions_of_year(2012) == []
    log = invoke(runner, ["decisions", "--store", store, "-o", tmp_path / "d.csv"])
    assert "撤回记录 1 条" in log.output and "王五 撤回2012年的全部建议（误记年度）" in log.output
    again = invoke(runner, ["store", "withdraw", "--year", "2012", "--reason", "x", "--store", store])
    assert again.exit_code == 2 and "没有可撤回的建议（2012年）" in again.output


def test_track_picks_the_year_of_the_latest_assignment(runner, tmp_path):
    store = tmp_path / "s.sqlite"
    for year in (2020, 2021):
        intake = write_csv(tmp_path / f"intake_{year}.csv", SAMPLE)
        assert invoke(runner, ["route", intake, "-o", tmp_path / f"t{year}.xlsx", "--date", f"{year}-02-20",
                               "--store", store]).exit_code == 0
    # Only 2020's 101 is assigned: `router track 101` means that one although 2021 is later.
    result = invoke(runner, ["track", "101", "交办", "--role", "主办", "--date", "2020-02-20", "--year", "2020",
                             "--store", store])
    assert result.exit_code == 0, result.output
    shown = invoke(runner, ["track", "show", "101", "--store", store])
    assert shown.exit_code == 0, shown.output
    assert "2020年" in shown.output
    unassigned = invoke(runner, ["track", "show", "102", "--store", store])
    assert unassigned.exit_code == 1 and "都未交办；请加 --year 指明年度" in unassigned.output


# --- counts that agree: suggestions, not steps; a reply on a 会办 row is the co-handler's opinion --------


def test_year_end_counts_suggestions_and_co_handlers_replies_as_opinions(runner, office, profile, tmp_path):
    from router.services.tracking import division_summary, handlings_of_year, year_end

    store = office["store"]
    steps = [["101", "交办", "--role", "主办", "--date", "2021-02-20"],
             ["102", "交办", "--role", "会办", "--date", "2021-02-20"],
             ["103", "交办", "--role", "主办", "--date", "2021-02-20"],
             ["101", "联系", "--how", "电话", "--date", "2021-03-01"],
             ["101", "答复", "--grade", "A1", "--date", "2021-04-01"],
             ["101", "回访", "--satisfaction", "满意", "--date", "2021-04-20"],
             ["102", "答复", "--grade", "A1", "--date", "2021-04-01"]]  # a reply recorded on the 会办 row
    for step in steps:
        result = invoke(runner, ["track", *step, "--store", store])
        assert result.exit_code == 0, result.output
    out = tmp_path / "report"
    result = invoke(runner, ["report", "--year", "2021", "--from-store", "--store", store, "--out", out])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "已答复的1件主办建议中" in text
    assert "会办的1件全部按期向主办单位送达会办意见" in text
    assert "已答复尚未回访" not in text  # the only 主办 reply was visited; the 会办 reply is an opinion
    with Store.open(store) as opened:
        figures = year_end(opened, profile, 2021)
        assert (figures.received, figures.led, figures.co_handled, figures.replied, figures.opinions,
                figures.not_visited) == (3, 2, 1, 1, 1, 0)
        summary = division_summary(handlings_of_year(opened, 2021), profile, dt.date(2021, 12, 31))
    # 103 owes both the contact and the reply: one suggestion overdue, not two steps.
    assert sum(row["逾期未办"] for row in summary) == 1


def test_a_bulk_confirmation_is_counted_first_and_can_be_taken_back(runner, office, profile):
    from router.services.review import confirm_unflagged, undo_batch, unflagged_pending

    store = office["store"]
    with Store.open(store) as opened:
        pending = unflagged_pending(opened, YEAR)
        unflagged = [r for r in _rows(store) if r["latest"] is None]
        assert pending["count"] >= 1
        batch = confirm_unflagged(opened, YEAR, reviewer="王五")
        assert batch.count == pending["count"]
        again = confirm_unflagged(opened, YEAR, reviewer="王五")
        assert again.count == 0
    confirmed = [r for r in _rows(store) if r["origin"] == "web:confirm-unflagged"]
    assert len(confirmed) == batch.count and all(r["latest"][0] == "同意" for r in confirmed)
    # One of them is decided again by a reviewer: taking the batch back leaves that decision standing.
    kept = confirmed[0]
    moved = dict(kept["suggested"], division=_other(profile, kept["suggested"]["division"]))
    moved["co_divisions"] = [k for k in moved["co_divisions"] if k != moved["division"]]
    assert _web(_client(office, profile), kept["sid"], "修改", route=moved, profile=profile,
                store=store).status_code == 303
    with Store.open(store) as opened:
        assert undo_batch(opened, batch.key, reviewer="王五").taken_back == batch.count - 1
    after = {r["sid"]: r for r in _rows(store)}
    assert after[kept["sid"]]["latest"][:2] == ("修改", moved)
    for r in confirmed[1:]:
        assert after[r["sid"]]["latest"] == ("待定", None, "撤销批量确认")
    assert len(unflagged) >= batch.count
