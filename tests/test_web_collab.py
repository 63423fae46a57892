"""The review pages' work together, through Flask's test client on a real store: forms that cannot
be confused, sign-in limits, bulk confirmation with its preview and undo, search, undo, transfers
with 签收/退回, comments, coverage, exports and account pages."""

import io
import json
import re

import openpyxl
import pytest

from router.accounts import add_user
from router.store import Store
from router.web import create_app
from router.web.app import LoginLimiter
from webstore import PASSWORD, SPECS, build_store, decisions, sid_of

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SEEN = re.compile(r'name="seen" value="(\d+)"')


@pytest.fixture
def store_path(tmp_path, profile):
    path = build_store(tmp_path / "web.sqlite", profile)
    with Store.open(path) as store:
        add_user(store, profile, "钱七", role="reviewer", password=PASSWORD, divisions=["development"])
        add_user(store, profile, "孙八", role="reviewer", password=PASSWORD, divisions=["planning_finance"])
    return path


@pytest.fixture
def app(store_path, profile):
    return create_app(store_path, profile)


def sign_in(app, name, password=PASSWORD, address="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)
    response = client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/"})
    assert response.status_code == 303, response.text
    return client


def attempt(app, name, password, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = CSRF.search(client.get("/login").text).group(1)
    return client.post("/login", data={"csrf": token, "name": name, "password": password})


def page_of(client, sid, query=""):
    page = client.get(f"/s/{sid}{query}")
    assert page.status_code == 200, page.text
    return page.text, CSRF.search(page.text).group(1), SEEN.search(page.text).group(1)


def latest(path, title):
    rows = [r for r in decisions(path) if r[0] == title]
    return rows[-1] if rows else None


# --- forms that cannot be confused (#20.4) ------------------------------------------------------


def test_a_correction_from_a_filtered_queue_records_the_choice_and_the_next_page_keeps_only_the_filter(app, store_path):
    client = sign_in(app, "张三")
    sid = sid_of(store_path, SPECS[3][0])  # development, flagged
    text, token, seen = page_of(client, sid, "?f_division=development")
    assert 'name="f_division" value="development"' in text and 'name="division" value="development"' not in text
    response = client.post(f"/s/{sid}/decide", data={
        "csrf": token, "seen": seen, "action": "修改", "topic": "funding", "division": "planning_finance",
        "f_division": "development", "comment": ""})
    assert response.status_code == 303
    row = latest(store_path, SPECS[3][0])
    assert row[2] == "修改" and json.loads(row[3])["division"] == "planning_finance"
    location = response.headers["Location"]
    assert "f_division=development" in location
    assert "topic=" not in location.replace("f_topic=", "") and "&division=" not in location and "?division=" not in location


def test_accept_after_a_transfer_agrees_with_the_transfer(app, store_path):
    first, receiver = sign_in(app, "张三"), sign_in(app, "孙八")
    sid = sid_of(store_path, SPECS[3][0])
    _, token, seen = page_of(first, sid)
    first.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "planning_finance",
                                           "reason": "资金问题"})
    text, token, seen = page_of(receiver, sid)
    assert "当前决定：张三" in text and "规划财务处" in text
    receiver.post(f"/s/{sid}/decide", data={"csrf": token, "seen": seen, "action": "同意"})
    row = latest(store_path, SPECS[3][0])
    assert (row[1], row[2]) == ("孙八", "同意") and json.loads(row[3])["division"] == "planning_finance"
    assert receiver.get(f"/s/{sid}").status_code == 200


def test_a_strangers_guesses_do_not_lock_out_a_colleague(store_path, profile):
    app = create_app(store_path, profile, limiter=LoginLimiter(limit=3, window=600, address_limit=6))
    office = "10.0.0.1"
    sign_in(app, "李四", address=office).get("/")  # 李四 has signed in from the office before
    for _ in range(8):
        assert attempt(app, "无此人", "guess-guess", office).status_code in (401, 429)
    # A colleague known at this address still signs in; a name never seen here waits.
    assert attempt(app, "李四", PASSWORD, office).status_code == 303
    response = attempt(app, "张三", PASSWORD, office)
    assert response.status_code == 429 and "本机所在地址登录失败次数过多" in response.text
    assert attempt(app, "张三", PASSWORD, "10.0.0.2").status_code == 303
    # Failures of one account stop that account only, from anywhere.
    for _ in range(3):
        response = attempt(app, "钱七", "wrong-password", "10.0.0.3")
        assert response.status_code == 401 and 'value="钱七"' in response.text  # the name is kept
    response = attempt(app, "钱七", PASSWORD, "10.0.0.4")
    assert response.status_code == 429 and "账户“钱七”登录失败次数过多" in response.text
    assert attempt(app, "孙八", PASSWORD, "10.0.0.3").status_code == 303


def test_bulk_confirmation_asks_first_leaves_out_divisions_with_a_reviewer_and_can_be_taken_back(app, store_path):
    client = sign_in(app, "王五")
    token = CSRF.search(client.get("/coordinator").text).group(1)
    preview = client.post("/coordinator/confirm-unflagged", data={"csrf": token})
    assert preview.status_code == 200 and decisions(store_path) == []
    # Unflagged: 1001 development (钱七's), 1002 planning_finance (孙八's), 1005 assessment (nobody's).
    assert "将按建议路由把 <strong>1</strong> 条" in preview.text
    assert "开发指导处 1 条（复核人：钱七）" in preview.text and "规划财务处 1 条（复核人：孙八）" in preview.text
    # A stale count is refused and shown again.
    response = client.post("/coordinator/confirm-unflagged", data={"csrf": token, "step": "record", "expected": "3"})
    assert response.status_code == 409 and "确认前看到的是 3 条，现在是 1 条" in response.text
    assert decisions(store_path) == []
    response = client.post("/coordinator/confirm-unflagged", data={
        "csrf": token, "step": "record", "expected": "2", "include": ["development"]})
    assert response.status_code == 303
    assert sorted(r[0] for r in decisions(store_path)) == sorted([SPECS[0][0], SPECS[4][0]])
    page = client.get("/coordinator").text
    batch = re.search(r'id="undo-batch-(\d+)"', page).group(1)
    # Someone decides one of them meanwhile: that one is kept.
    reviewer = sign_in(app, "钱七")
    sid = sid_of(store_path, SPECS[0][0])
    _, rtoken, seen = page_of(reviewer, sid)
    reviewer.post(f"/s/{sid}/decide", data={"csrf": rtoken, "seen": seen, "action": "待定", "comment": "再看看"})
    response = client.post(f"/coordinator/confirm-unflagged/{batch}/undo", data={"csrf": token})
    assert response.status_code == 303
    assert "已撤销 1 条一次确认" in client.get(response.headers["Location"]).text
    assert latest(store_path, SPECS[4][0])[2:6:3] == ("待定", "web:undo-confirm")
    assert latest(store_path, SPECS[0][0])[1:3] == ("钱七", "待定")
    assert len(decisions(store_path)) == 4  # nothing removed
    again = client.post(f"/coordinator/confirm-unflagged/{batch}/undo", data={"csrf": token})
    assert again.status_code == 400 and "这一批已撤销过" in again.text


# --- search -------------------------------------------------------------------------------------


def test_search_by_number_words_and_deputy_within_permissions(app, store_path):
    client = sign_in(app, "张三")
    for query, title in (("1004", SPECS[3][0]), ("第1004号", SPECS[3][0]), ("茶叶", SPECS[3][0]),
                         ("代表004", SPECS[3][0]), ("乡村 危房", SPECS[4][0])):
        page = client.get("/search", query_string={"q": query}).text
        assert re.findall(r'<tr class="item" data-sid="(\d+)"', page) == [str(sid_of(store_path, title))], query
    assert "共找到 0 条" in client.get("/search", query_string={"q": "不存在的词"}).text
    limited = sign_in(app, "赵六")  # policy only
    page = limited.get("/search", query_string={"q": "建议"}).text
    assert "共找到 0 条" in page or "黄泥坳" not in page
    assert 'data-sid=' not in limited.get("/search", query_string={"q": "1004"}).text
    assert "共找到 1 条" in limited.get("/search", query_string={"q": "script"}).text


def test_search_reaches_past_years_from_a_suggestion(tmp_path, profile):
    path = build_store(tmp_path / "two.sqlite", profile)
    build_store(path, profile, specs=[("《关于茶园道路的往年建议》", "funding", "development", [], 0.9, False)],
                year=2020, users=False)
    app = create_app(path, profile, year=2021)
    client = sign_in(app, "张三")
    assert "往年建议" not in client.get("/search", query_string={"q": "茶园"}).text.split("共找到")[1][:400]
    page = client.get("/search", query_string={"q": "茶园", "scope": "all"}).text
    assert "2020年" in page and "《关于茶园道路的往年建议》" in page
    sid = sid_of(path, SPECS[3][0])
    assert 'id="past-years" href="/search?q=' in client.get(f"/s/{sid}").text


# --- undo ---------------------------------------------------------------------------------------


def test_undo_of_ones_own_last_decision_is_an_appended_reversal(app, store_path):
    client, other = sign_in(app, "张三"), sign_in(app, "李四")
    sid = sid_of(store_path, SPECS[2][0])
    _, token, seen = page_of(client, sid)
    client.post(f"/s/{sid}/decide", data={"csrf": token, "seen": seen, "action": "修改", "topic": "funding",
                                          "division": "planning_finance"})
    text, _, _ = page_of(client, sid)
    decision = re.search(r'action="/undo/(\d+)"', text).group(1)
    # Only one's own decision, and only while it is the latest.
    assert 'action="/undo/' not in page_of(other, sid)[0]
    response = other.post(f"/undo/{decision}", data={"csrf": CSRF.search(other.get("/").text).group(1)})
    assert response.status_code == 400 and "只能撤销您本人作出的决定" in response.text
    response = client.post(f"/undo/{decision}", data={"csrf": token})
    assert response.status_code == 303
    rows = [r for r in decisions(store_path) if r[0] == SPECS[2][0]]
    assert [(r[2], r[4], r[5]) for r in rows] == [("修改", "", "web"), ("待定", "撤销上一条决定", "web:undo")]
    text, _, _ = page_of(client, sid, "?notice=撤销")
    history = re.search(r'<ol class="history" id="history">(.*?)</ol>', text, re.S).group(1)
    assert 'class="reversed"' in history and "<strong>撤销</strong>" in history and "（已撤销）" in history
    response = client.post(f"/undo/{decision}", data={"csrf": token})
    assert response.status_code == 400
    # The list of one's own decisions offers the undo too.
    assert "没有可撤销的决定" in client.get("/mine").text  # the reversal itself is not offered
    assert f'action="/undo/{decision}"' not in client.get("/mine").text


# --- transfers ----------------------------------------------------------------------------------


def test_transfer_is_marked_for_the_receiver_until_signed_for_or_returned(app, store_path):
    sender, receiver, coordinator = sign_in(app, "钱七"), sign_in(app, "孙八"), sign_in(app, "王五")
    sid = sid_of(store_path, SPECS[7][0])  # development
    _, token, seen = page_of(sender, sid)
    response = sender.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "planning_finance",
                                                       "reason": ""})
    assert response.status_code == 400 and "转办请写明理由" in response.text
    sender.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "planning_finance",
                                            "reason": "涉及资金安排"})
    row = latest(store_path, SPECS[7][0])
    assert row[2] == "修改" and row[4] == "转办：涉及资金安排" and json.loads(row[3])["division"] == "planning_finance"
    queue = receiver.get("/?f_status=全部").text
    assert 'id="waiting"' in queue and "转办待签收" in queue and "涉及资金安排" in queue
    cover = coordinator.get("/coordinator").text
    assert re.search(r"<td>规划财务处</td><td>孙八</td><td>1</td><td>0</td><td>2</td><td>1</td><td>3</td>", cover), cover
    # 退回 needs a reason; it records a 修改 back to the route before, and the mark goes.
    text, token, seen = page_of(receiver, sid)
    assert 'id="sign-for"' in text
    assert 'id="sign-for"' not in page_of(sender, sid)[0]
    response = receiver.post(f"/s/{sid}/answer", data={"csrf": token, "seen": seen, "answer": "退回", "reason": ""})
    assert response.status_code == 400 and "退回请写明理由" in response.text
    receiver.post(f"/s/{sid}/answer", data={"csrf": token, "seen": seen, "answer": "退回", "reason": "属开发指导处职责"})
    row = latest(store_path, SPECS[7][0])
    assert (row[1], row[2], row[4]) == ("孙八", "修改", "退回：属开发指导处职责")
    assert json.loads(row[3])["division"] == "development"
    queue = receiver.get("/?f_status=全部").text
    assert 'id="waiting"' not in queue and "转办待签收·" not in queue
    # Again, and this time 签收: the transfer's route stands.
    _, token, seen = page_of(sender, sid)
    sender.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "planning_finance",
                                            "reason": "再议：资金为主"})
    _, token, seen = page_of(receiver, sid)
    response = receiver.post(f"/s/{sid}/answer", data={"csrf": token, "seen": seen, "answer": "签收"})
    assert response.status_code == 303
    text, _, _ = page_of(receiver, sid)
    assert 'id="transfer-waiting"' not in text and "签收" in re.search(r'id="transfers">(.*?)</ol>', text, re.S).group(1)
    assert json.loads(latest(store_path, SPECS[7][0])[3])["division"] == "planning_finance"
    with Store.open(store_path) as store:
        kinds = [r[0] for r in store.db.execute("SELECT kind FROM transfers ORDER BY id")]
    assert kinds == ["转办", "退回", "转办", "签收"]


def test_a_transferred_row_is_decided_by_its_new_division_only(app, store_path):
    sender, receiver = sign_in(app, "钱七"), sign_in(app, "孙八")
    sid = sid_of(store_path, SPECS[7][0])  # development
    assert receiver.get(f"/s/{sid}").status_code == 403
    _, token, seen = page_of(sender, sid)
    sender.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "planning_finance",
                                            "reason": "涉及资金安排"})
    count = len(decisions(store_path))
    # The sender still sees the row suggested to their division, but it is no longer theirs to decide.
    text, token, seen = page_of(sender, sid)
    response = sender.post(f"/s/{sid}/decide", data={"csrf": token, "seen": seen, "action": "同意"})
    assert response.status_code == 403 and "现由规划财务处主办" in response.text
    assert len(decisions(store_path)) == count
    # They may take back their own transfer (one undo rule): the route before is recorded again.
    decision = re.search(r'action="/undo/(\d+)"', text).group(1)
    assert sender.post(f"/undo/{decision}", data={"csrf": token}).status_code == 303
    row = latest(store_path, SPECS[7][0])
    assert (row[1], row[5]) == ("钱七", "web:undo") and row[2] == "待定"
    with Store.open(store_path) as store:
        assert [r[0] for r in store.db.execute("SELECT kind FROM transfers ORDER BY id")] == ["转办", "撤回"]
    # Back in its own division: the receiver no longer reaches it, the sender decides it.
    assert receiver.get(f"/s/{sid}").status_code == 403
    _, token, seen = page_of(sender, sid)
    assert sender.post(f"/s/{sid}/decide", data={"csrf": token, "seen": seen, "action": "同意"}).status_code == 303


def test_the_next_model_learns_the_transfer(app, store_path):
    client = sign_in(app, "钱七")
    sid = sid_of(store_path, SPECS[7][0])
    _, token, seen = page_of(client, sid)
    client.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "social", "reason": "社会帮扶"})
    with Store.open(store_path) as store:
        confirmed = {r["title"]: r for r in store.confirmed()}
    assert confirmed[SPECS[7][0]]["division"] == "social" and confirmed[SPECS[7][0]]["action"] == "修改"


# --- comments -----------------------------------------------------------------------------------


def test_a_deferral_opens_a_thread_that_waits_on_its_addressee_until_answered(app, store_path):
    reviewer, coordinator, division = sign_in(app, "张三"), sign_in(app, "王五"), sign_in(app, "孙八")
    sid = sid_of(store_path, SPECS[2][0])
    _, token, seen = page_of(reviewer, sid)
    reviewer.post(f"/s/{sid}/decide", data={"csrf": token, "seen": seen, "action": "待定", "comment": "主办不明，请统筹",
                                            "addressed_to": "coordinator"})
    queue = coordinator.get("/?f_status=全部").text
    assert "留言待回" in queue and "主办不明，请统筹" in queue
    assert 'id="waiting"' not in division.get("/?f_status=全部").text
    text, ctoken, _ = page_of(coordinator, sid)
    assert "（待定原因）" in text
    coordinator.post(f"/s/{sid}/comment", data={"csrf": ctoken, "addressed_to": "division:planning_finance",
                                                "body": "请规划财务处看看"})
    assert 'id="waiting"' not in coordinator.get("/?f_status=全部").text
    assert "请规划财务处看看" in division.get("/?f_status=全部").text
    response = division.post(f"/s/{sid}/comment", data={"csrf": CSRF.search(division.get("/").text).group(1),
                                                         "addressed_to": "", "body": "  "})
    assert response.status_code == 400 and "留言不能为空" in response.text
    thread = re.search(r'<ol class="comments">(.*?)</ol>', page_of(division, sid)[0], re.S).group(1)
    assert thread.index("主办不明") < thread.index("请规划财务处看看")


# --- coverage, exports, accounts, pages --------------------------------------------------------


def test_coverage_names_divisions_without_a_reviewer_and_measures_against_the_deadline(tmp_path, store_path):
    from router.profile import load_profile

    source = load_profile().source
    text = open(source, encoding="utf-8").read().replace("[review]\n", "[review]\ndeadline = 2021-03-31\n", 1)
    custom = tmp_path / "profile.toml"
    custom.write_text(text, encoding="utf-8")
    profile = load_profile(custom)
    assert profile.review_deadline == "2021-03-31"
    client = sign_in(create_app(store_path, profile), "王五")
    page = client.get("/coordinator").text
    assert "复核截止：<strong>2021-03-31</strong>" in page and "已过" in page
    uncovered = re.search(r'id="uncovered">(.*?)</p>', page, re.S).group(1)
    assert "考核评估处" in uncovered and "开发指导处" not in uncovered and "政策法规处" not in uncovered
    assert "张三、李四" in uncovered  # the unlimited reviewers
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("deadline = 2021-03-31", 'deadline = "三月底"'), encoding="utf-8")
    from router.errors import ProfileError

    with pytest.raises(ProfileError, match=r"\[review\] deadline 应为日期"):
        load_profile(bad)


def test_exports_of_the_deferred_and_of_one_division(app, store_path):
    reviewer = sign_in(app, "张三")
    sid = sid_of(store_path, SPECS[2][0])
    _, token, seen = page_of(reviewer, sid)
    reviewer.post(f"/s/{sid}/decide", data={"csrf": token, "seen": seen, "action": "待定", "comment": "再看"})
    client = sign_in(app, "王五")

    def rows(query):
        response = client.get("/coordinator/table.xlsx", query_string=query)
        assert response.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(response.data))["交办任务表"]
        header = [c.value for c in sheet[1]]
        return [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]

    assert [r["标题"] for r in rows({"status": "待定"})] == [SPECS[2][0]]
    assert sorted(r["标题"] for r in rows({"division": "development"})) == sorted(
        s[0] for s in SPECS if s[2] == "development")
    assert client.get("/coordinator/table.xlsx", query_string={"division": "nowhere"}).status_code == 404


def test_accounts_change_password_add_and_disable(app, store_path):
    client = sign_in(app, "张三")
    token = CSRF.search(client.get("/account").text).group(1)
    response = client.post("/account", data={"csrf": token, "old": "wrong", "new": "new-password-1", "repeat": "new-password-1"})
    assert response.status_code == 400 and "原密码不正确" in response.text
    response = client.post("/account", data={"csrf": token, "old": PASSWORD, "new": "new-password-1", "repeat": "x"})
    assert response.status_code == 400 and "两次输入的新密码不一致" in response.text
    response = client.post("/account", data={"csrf": token, "old": PASSWORD, "new": "new-password-1",
                                             "repeat": "new-password-1"})
    assert response.status_code == 200 and "密码已修改" in response.text
    assert client.get("/").status_code == 200  # this session stays
    sign_in(app, "张三", "new-password-1")

    coordinator = sign_in(app, "王五")
    assert sign_in(app, "李四").get("/coordinator/users").status_code == 403
    token = CSRF.search(coordinator.get("/coordinator/users").text).group(1)
    response = coordinator.post("/coordinator/users", data={"csrf": token, "name": "周九", "role": "reviewer",
                                                             "divisions": ["assessment"], "password": "initial-pass",
                                                             "repeat": "initial-pass"})
    assert response.status_code == 200 and "已添加账户：周九" in response.text
    response = coordinator.post("/coordinator/users", data={"csrf": token, "name": "周九", "role": "reviewer",
                                                             "password": "initial-pass", "repeat": "initial-pass"})
    assert response.status_code == 400 and "账户“周九”已存在" in response.text and str(store_path) not in response.text
    newcomer = sign_in(app, "周九", "initial-pass")
    assert newcomer.get("/").status_code == 200
    coordinator.post("/coordinator/users/周九/disable", data={"csrf": token})
    assert newcomer.get("/").status_code == 303  # the session ended
    assert attempt(app, "周九", "initial-pass", "10.1.1.1").status_code == 401
    response = coordinator.post("/coordinator/users/王五/disable", data={"csrf": token})
    assert response.status_code == 400 and "不能停用自己的账户" in response.text
    coordinator.post("/coordinator/users/周九/enable", data={"csrf": token})
    sign_in(app, "周九", "initial-pass")


def test_pages_name_roles_confidences_duty_and_whose_row_a_403_is(app, store_path, profile):
    client = sign_in(app, "赵六")  # 政策法规处 only
    queue = client.get("/").text
    assert "主题置信度" in queue and "处室置信度" in queue and 'class="legend' in queue and "需复核" in queue
    divisions = re.search(r'<select name="f_division".*?</select>', queue, re.S).group(0)
    assert "政策法规处" in divisions and "开发指导处" not in divisions
    assert "（复核人）" in queue and "复核人员" not in queue
    other = sid_of(store_path, SPECS[0][0])
    response = client.get(f"/s/{other}")
    assert response.status_code == 403 and "第1001号建议由开发指导处复核；您的账户只负责 政策法规处" in response.text
    page = sign_in(app, "张三").get(f"/s/{sid_of(store_path, SPECS[0][0])}").text
    leader = profile.division("development").leader
    assert f"责任领导：<strong>{leader}</strong>" in page and "办理时限：<strong>2021-05-20</strong>" in page
    for text in (app.test_client().get("/login").text, sign_in(app, "王五").get("/coordinator").text):
        assert "router " not in text and "<code>" not in text
    assert "统筹与导出" in sign_in(app, "王五").get("/").text


def test_a_transfer_answered_twice_is_recorded_once(app, store_path, profile):
    with Store.open(store_path) as store:
        add_user(store, profile, "吴十", role="reviewer", password=PASSWORD, divisions=["planning_finance"])
    sender, one, two = sign_in(app, "钱七"), sign_in(app, "孙八"), sign_in(app, "吴十")
    sid = sid_of(store_path, SPECS[7][0])
    _, token, seen = page_of(sender, sid)
    sender.post(f"/s/{sid}/transfer", data={"csrf": token, "seen": seen, "to_division": "planning_finance",
                                            "reason": "资金"})
    (_, token_one, seen_one), (_, token_two, seen_two) = page_of(one, sid), page_of(two, sid)
    assert one.post(f"/s/{sid}/answer", data={"csrf": token_one, "seen": seen_one, "answer": "签收"}).status_code == 303
    for answer in ("签收", "退回"):
        response = two.post(f"/s/{sid}/answer", data={"csrf": token_two, "seen": seen_two, "answer": answer,
                                                      "reason": "x"})
        assert response.status_code == 400 and "这条转办已由 孙八 于" in response.text and "签收，无需再处理" in response.text
    with Store.open(store_path) as store:
        assert [r[0] for r in store.db.execute("SELECT kind FROM transfers ORDER BY id")] == ["转办", "签收"]


def test_the_kept_queue_order_follows_every_decision_and_route(store_path, profile):
    """The order kept between requests is backend.order's after decisions from any process and a new route."""
    from router.web import backend
    from router.web.collab import OrderCache

    cache = OrderCache()
    fields = lambda entries: [(e.sid, e.action, e.after_topic, e.after_division) for e in entries]  # noqa: E731
    with Store.open(store_path) as store, Store.open(store_path) as other:
        first = cache.order(store, 2021)
        assert fields(first) == fields(backend.order(store, 2021))
        with other.transaction() as db:
            other.add_decision(db, 3, action="修改", reviewer="某人", after={"topic": "funding", "division": "social"})
            other.add_decision(db, 5, action="待定", reviewer="某人", after=None, comment="?")
        assert fields(cache.order(store, 2021)) == fields(backend.order(store, 2021)) != fields(first)
        assert [e.status for e in first].count("未复核") == len(SPECS)  # a list handed out earlier is unchanged
        build_store(store_path, profile, specs=SPECS[:2], users=False)  # routed again: a new route
        assert fields(cache.order(store, 2021)) == fields(backend.order(store, 2021))
        assert cache.years(store) == backend.years(store) == [2021]


def test_a_long_queue_comes_in_pages_of_fifty(tmp_path, profile):
    specs = [(f"《关于第{n}件事的建议》", "funding", "development", [], 0.3 + n / 1000, True) for n in range(120)]
    path = build_store(tmp_path / "long.sqlite", profile, specs=specs)
    client = sign_in(create_app(path, profile), "张三")
    pages = [client.get("/", query_string={"p": p}).text for p in (1, 2, 3, 9)]
    rows = [re.findall(r'<tr class="item[^"]*" data-sid="(\d+)"', page) for page in pages]
    assert [len(r) for r in rows] == [50, 50, 20, 20]  # a page past the end shows the last
    assert len(set(rows[0] + rows[1] + rows[2])) == 120
    assert "显示 120 / 120 条（本页第 51–100 条）" in pages[1] and 'id="page-next"' in pages[1]
    assert 'id="page-next"' not in pages[2]
    filtered = client.get("/", query_string={"p": 2, "f_topic": "funding"}).text
    assert 'href="/?p=3&amp;f_topic=funding"' in filtered or 'href="/?f_topic=funding&amp;p=3"' in filtered
