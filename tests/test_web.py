"""The review web application through Flask's test client: sign-in, CSRF, escaping,
authorization, deciding and conflicts, exports, and the `router serve` / `router users` commands."""

import io
import json
import re

import openpyxl
import pytest

from conftest import INTAKE, ROOT, invoke
from router.web import create_app
from router.web.app import LoginLimiter
from webstore import HOSTILE, PASSWORD, SPECS, build_store, decisions, sid_of

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def store_path(tmp_path, profile):
    return build_store(tmp_path / "web.sqlite", profile)


@pytest.fixture
def app(store_path, profile):
    return create_app(store_path, profile, allowed_hosts={"localhost", "127.0.0.1", "::1"})


def sign_in(app, name, password=PASSWORD):
    client = app.test_client()
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)
    response = client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/"})
    assert response.status_code == 303, response.text
    return client


def csrf_of(client, path="/"):
    return CSRF.search(client.get(path).text).group(1)


def test_signed_out_requests_get_the_sign_in_page(app, store_path):
    client = app.test_client()
    for path in ("/", "/s/1", "/coordinator", "/coordinator/table.xlsx", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?next=")
    response = client.post("/s/1/decide", data={"action": "同意", "seen": "0"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert decisions(store_path) == []
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.text and "用户名" in page.text


def test_sign_in_sets_a_strict_session_cookie_and_sign_out_ends_it(app):
    client = app.test_client()
    token = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf": token, "name": "张三", "password": PASSWORD, "next": "/s/1"})
    assert response.status_code == 303 and response.headers["Location"] == "/s/1"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("router_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    session = cookie.split(";")[0].split("=", 1)[1]
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf": csrf_of(client)})
    # The old token is dead on the server, not only forgotten by this browser.
    stranger = app.test_client()
    stranger.set_cookie("router_session", session)
    assert stranger.get("/").status_code == 303


def test_sign_in_redirects_only_to_this_site(app):
    client = app.test_client()
    token = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf": token, "name": "张三", "password": PASSWORD,
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_cookie_is_secure_behind_a_tls_proxy(store_path, profile):
    app = create_app(store_path, profile, behind_proxy=True)
    client = app.test_client()
    headers = {"X-Forwarded-Proto": "https"}
    token = CSRF.search(client.get("/login", headers=headers).text).group(1)
    response = client.post("/login", data={"csrf": token, "name": "张三", "password": PASSWORD}, headers=headers)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("router_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_and_the_attempt_limit(store_path, profile):
    app = create_app(store_path, profile, limiter=LoginLimiter(limit=3, window=600))
    client = app.test_client()
    for _ in range(3):
        token = CSRF.search(client.get("/login").text).group(1)
        response = client.post("/login", data={"csrf": token, "name": "张三", "password": "wrong-password"})
        assert response.status_code == 401 and "用户名或密码错误。" in response.text
    token = CSRF.search(client.get("/login").text).group(1)
    response = client.post("/login", data={"csrf": token, "name": "张三", "password": PASSWORD})
    assert response.status_code == 429 and "登录失败次数过多，请 10 分钟后再试。" in response.text
    # An unknown name is refused the same way as a wrong password.
    other = app.test_client()
    token = CSRF.search(other.get("/login").text).group(1)
    response = other.post("/login", data={"csrf": token, "name": "无此人", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 401 and "用户名或密码错误。" in response.text


def test_login_without_its_csrf_token_is_refused(app):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"name": "张三", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单缺少有效的安全令牌（CSRF），已拒绝。请刷新页面后重新提交。" in response.text
    assert "router_session" not in " ".join(response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_decision_without_the_session_csrf_token_is_refused(app, store_path, token):
    client = sign_in(app, "张三")
    data = {"action": "同意", "seen": "0"}
    if token is not None:
        data["csrf"] = token
    response = client.post(f"/s/{sid_of(store_path, SPECS[0][0])}/decide", data=data)
    assert response.status_code == 400 and "安全令牌" in response.text
    assert decisions(store_path) == []


def test_hostile_titles_are_shown_as_text(app, store_path):
    client = sign_in(app, "张三")
    queue = client.get("/").text
    for page in (queue, *(client.get(f"/s/{sid_of(store_path, title)}").text for title in HOSTILE)):
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in queue
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in queue
    page = client.get(f"/s/{sid_of(store_path, HOSTILE[0])}").text
    assert "&lt;b&gt;不是粗体&lt;/b&gt;" in page and "<b>" not in page


def test_security_headers_on_every_response(app, store_path):
    client = app.test_client()
    responses = [client.get("/login"), client.get("/"), client.get("/static/app.js")]
    signed = sign_in(app, "张三")
    responses += [signed.get("/"), signed.get("/coordinator"), signed.get("/s/999999")]
    for response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = signed.get("/").text
    assert "<script>" not in page and "<script src=\"/static/app.js\" defer></script>" in page
    assert " style=" not in page and "onclick" not in page


def test_another_host_header_is_refused(app):
    response = app.test_client().get("/login", headers={"Host": "rebound.example"})
    assert response.status_code == 400 and "请求无效。" in response.text


def test_no_stack_trace_in_a_response(app, monkeypatch):
    from router.web import backend

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    client = sign_in(app, "张三")
    monkeypatch.setattr(backend, "order", boom)
    response = client.get("/")
    assert response.status_code == 500
    assert "服务器内部错误" in response.text
    assert "Traceback" not in response.text and "secret internals" not in response.text
    assert response.headers["Content-Security-Policy"]


def test_a_reviewer_cannot_use_the_coordinator_pages(app, store_path):
    client = sign_in(app, "张三")
    for path in ("/coordinator", "/coordinator/table.xlsx", "/coordinator/report.xlsx"):
        response = client.get(path)
        assert response.status_code == 403 and "您没有权限访问此页面。" in response.text, path
    response = client.post("/coordinator/confirm-unflagged", data={"csrf": csrf_of(client)})
    assert response.status_code == 403
    assert decisions(store_path) == []
    assert "统筹与导出" not in client.get("/").text


def test_a_reviewer_limited_to_divisions_sees_only_them(app, store_path, profile):
    client = sign_in(app, "赵六")  # 政策法规处 only
    queue = client.get("/").text
    shown = [title for title, _, division, *_ in SPECS if division == "policy"]
    assert len(shown) == 1 and "&lt;script&gt;" in queue
    assert "黄泥坳村" not in queue
    other = sid_of(store_path, SPECS[0][0])
    assert client.get(f"/s/{other}").status_code == 403
    response = client.post(f"/s/{other}/decide", data={"csrf": csrf_of(client), "action": "同意", "seen": "0"})
    assert response.status_code == 403 and decisions(store_path) == []


def test_queue_order_filters_and_counts(app, store_path):
    client = sign_in(app, "张三")
    page = client.get("/").text
    order = re.findall(r'<tr class="item[^"]*" data-sid="(\d+)"', page)
    confidences = {sid_of(store_path, spec[0]): spec[4] for spec in SPECS}
    assert [confidences[int(s)] for s in order] == sorted(confidences.values())
    assert len(re.findall(r'<tr class="item', client.get("/?f_division=development").text)) == 3
    assert len(re.findall(r'<tr class="item', client.get("/?f_topic=funding").text)) == 2
    assert len(re.findall(r'<tr class="item', client.get("/?f_status=已确认").text)) == 0
    assert len(re.findall(r'<tr class="item', client.get("/?f_status=未复核").text)) == 8
    # The names of a decision's own fields are no filter.
    assert len(re.findall(r'<tr class="item', client.get("/?division=development").text)) == 8
    counts = re.search(r'<summary>各处室进度.*?</table>', page, re.S).group(0)
    assert re.search(r"开发指导处</a></td><td>3</td><td>0</td><td>0</td><td>3</td>", counts)


def test_accept_correct_defer_are_appended_with_reviewer_and_route(app, store_path):
    client = sign_in(app, "张三")
    first, second, third = (sid_of(store_path, SPECS[i][0]) for i in (0, 1, 2))
    token = csrf_of(client, f"/s/{first}")
    response = client.post(f"/s/{first}/decide", data={"csrf": token, "action": "同意", "seen": "0"})
    assert response.status_code == 303 and "saved=" in response.headers["Location"]
    response = client.post(f"/s/{second}/decide", data={
        "csrf": token, "action": "修改", "seen": "0", "topic": "comprehensive", "division": "policy",
        "co_divisions": ["policy", "social"], "comment": "属于机制问题"})
    assert response.status_code == 303
    response = client.post(f"/s/{third}/decide", data={"csrf": token, "action": "待定", "seen": "0", "comment": ""})
    assert response.status_code == 400 and "待定请写明原因" in response.text
    client.post(f"/s/{third}/decide", data={"csrf": token, "action": "待定", "seen": "0", "comment": "需问处室"})
    rows = decisions(store_path)
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in rows] == [
        (SPECS[0][0], "张三", "同意", "", "web"),
        (SPECS[1][0], "张三", "修改", "属于机制问题", "web"),
        (SPECS[2][0], "张三", "待定", "需问处室", "web"),
    ]
    assert json.loads(rows[0][3]) == {"topic": "infrastructure_public_services", "division": "development",
                                      "co_divisions": []}
    assert json.loads(rows[1][3]) == {"topic": "comprehensive", "division": "policy", "co_divisions": ["social"]}
    assert rows[2][3] is None
    page = client.get("/?f_status=已确认").text
    assert len(re.findall(r'<tr class="item', page)) == 2
    # The queue opens on 未复核: the decided rows are not mixed in.
    assert len(re.findall(r'<tr class="item', client.get("/").text)) == len(SPECS) - 3


def test_a_correction_outside_the_profile_is_refused(app, store_path):
    client = sign_in(app, "张三")
    sid = sid_of(store_path, SPECS[0][0])
    response = client.post(f"/s/{sid}/decide", data={"csrf": csrf_of(client), "action": "修改", "seen": "0",
                                                     "topic": "no_such_topic", "division": "policy"})
    assert response.status_code == 400 and "请从列表中选择主题" in response.text
    assert decisions(store_path) == []


def test_conflict_the_second_reviewer_sees_who_and_what_and_chooses(app, store_path):
    first, second = sign_in(app, "张三"), sign_in(app, "李四")
    sid = sid_of(store_path, SPECS[3][0])
    page_first, page_second = first.get(f"/s/{sid}").text, second.get(f"/s/{sid}").text
    assert 'name="seen" value="0"' in page_first and 'name="seen" value="0"' in page_second
    first.post(f"/s/{sid}/decide", data={"csrf": CSRF.search(page_first).group(1), "action": "同意", "seen": "0"})
    token = CSRF.search(page_second).group(1)
    response = second.post(f"/s/{sid}/decide", data={"csrf": token, "action": "修改", "seen": "0",
                                                      "topic": "funding", "division": "planning_finance"})
    assert response.status_code == 409
    assert "其他人已先作出决定" in response.text and "张三" in response.text and "同意" in response.text
    assert len(decisions(store_path)) == 1
    # Keeping the other decision writes nothing; keeping one's own appends it as the latest.
    seen = re.search(r'name="seen" value="(\d+)"', response.text).group(1)
    response = second.post(f"/s/{sid}/decide", data={"csrf": token, "action": "修改", "seen": seen,
                                                      "topic": "funding", "division": "planning_finance"})
    assert response.status_code == 303
    assert [(r[1], r[2]) for r in decisions(store_path)] == [("张三", "同意"), ("李四", "修改")]
    # The same decision posted twice (a double click) is recorded once.
    response = second.post(f"/s/{sid}/decide", data={"csrf": token, "action": "修改", "seen": "0",
                                                      "topic": "funding", "division": "planning_finance"})
    assert response.status_code == 303 and "outcome=unchanged" in response.headers["Location"]
    assert len(decisions(store_path)) == 2


def test_coordinator_progress_confirm_unflagged_and_exports(app, store_path, profile, tmp_path, runner):
    reviewer = sign_in(app, "张三")
    flagged = sid_of(store_path, SPECS[2][0])
    reviewer.post(f"/s/{flagged}/decide", data={"csrf": csrf_of(reviewer), "action": "待定", "seen": "0",
                                                 "comment": "=HYPERLINK(\"x\")"})
    client = sign_in(app, "王五")
    page = client.get("/coordinator").text
    unflagged = sum(1 for spec in SPECS if not spec[5])
    assert f"查看可一次确认的 {unflagged} 条" in page
    token = csrf_of(client, "/coordinator")
    # The first click only shows what would be recorded.
    response = client.post("/coordinator/confirm-unflagged", data={"csrf": token})
    assert response.status_code == 200 and f"确认这 {unflagged} 条" in response.text
    assert len(decisions(store_path)) == 1
    response = client.post("/coordinator/confirm-unflagged", data={"csrf": token, "step": "record",
                                                                   "expected": str(unflagged)})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert f"已一次确认 {unflagged} 条无需复核的建议" in page
    assert re.search(r"<td>王五</td><td>3</td><td>3</td>", page)
    assert re.search(r"<td>张三</td><td>1</td><td>1</td>", page)
    assert all(r[5] == "web:confirm-unflagged" for r in decisions(store_path)[1:])

    response = client.get("/coordinator/table.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["交办任务表"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == len(SPECS)
    by_title = {r["标题"]: r for r in rows}
    assert by_title[SPECS[0][0]]["复核"] == "同意" and by_title[SPECS[0][0]]["复核人"] == "王五"
    assert by_title[SPECS[0][0]]["确认主办处室"] == "开发指导处"
    assert by_title[SPECS[2][0]]["复核"] == "待定" and by_title[SPECS[2][0]]["复核意见"].startswith("'=")
    assert by_title[SPECS[3][0]]["复核"] is None
    assert by_title[HOSTILE[0]]["标题"] == HOSTILE[0]
    # The table reads back with `router accept` as the decisions already recorded.
    table = tmp_path / "table.xlsx"
    table.write_bytes(response.data)
    result = invoke(runner, ["accept", table, "--store", store_path])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["同意 3，修改 0，待定 1，未复核 4", "新记录决定 0 条（与已有决定相同，未重复记录）"]

    response = client.get("/coordinator/report.xlsx")
    assert response.status_code == 200
    report = openpyxl.load_workbook(io.BytesIO(response.data))
    assert f"。{len(SPECS)}件建议中" in report["办理情况"]["A2"].value  # A1 is the heading


def test_keyboard_script_is_served_by_the_package(app):
    response = app.test_client().get("/static/app.js")
    assert response.status_code == 200 and 'event.key === "j"' in response.text and 'event.key === "a"' in response.text


# --- the commands ------------------------------------------------------------------------------


def test_users_add_and_list(runner, tmp_path):
    store = tmp_path / "users.sqlite"
    result = invoke(runner, ["users", "add", "张三", "--role", "reviewer", "--divisions", "开发指导处,policy",
                             "--store", store], input="long-password\nlong-password\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "已创建账户：张三（复核人，开发指导处、政策法规处）"
    result = invoke(runner, ["users", "add", "王五", "--role", "coordinator", "--store", store],
                    input="long-password\nanother-one\n")
    assert result.exit_code == 1 and result.output.splitlines()[-1] == "Error: 两次输入的密码不一致，账户未创建"
    result = invoke(runner, ["users", "add", "王五", "--role", "coordinator", "--store", store], input="short\nshort\n")
    assert result.exit_code == 1 and result.output.splitlines()[-1] == "Error: 密码太短：至少 8 个字符"
    result = invoke(runner, ["users", "add", "张三", "--role", "coordinator", "--store", store],
                    input="long-password\nlong-password\n")
    assert result.exit_code == 1 and result.output.splitlines()[-1] == f"Error: {store}：账户“张三”已存在，请换一个名字"
    result = invoke(runner, ["users", "add", "<b>", "--role", "reviewer", "--store", store],
                    input="long-password\nlong-password\n")
    assert result.exit_code == 1 and "账户名“<b>”不可用" in result.output
    result = invoke(runner, ["users", "list", "--store", store])
    assert result.exit_code == 0
    assert [line.split("\t")[:3] for line in result.output.splitlines()] == [["张三", "复核人", "开发指导处、政策法规处"]]
    from router.store import Store

    with Store.open(store) as opened:
        stored = opened.db.execute("SELECT password FROM users").fetchone()[0]
    assert stored.startswith("scrypt$16384$8$1$") and "long-password" not in stored


def test_serve_refuses_another_host_without_accounts(runner, tmp_path, profile):
    store = build_store(tmp_path / "bare.sqlite", profile, users=False)
    result = invoke(runner, ["serve", "--host", "0.0.0.0", "--store", store])
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: 监听 0.0.0.0 会让其他电脑访问，但存储中还没有账户；"
                                     "请先用 `router users add 姓名 --role reviewer` 创建账户")


def test_from_a_routed_intake_to_the_queue(runner, tmp_path, profile):
    """The set-up path: `router route` records the intake, `router users add`, then the pages show it."""
    store = tmp_path / "fresh.sqlite"
    result = invoke(runner, ["route", INTAKE, "-o", tmp_path / "t.xlsx", "--date", "2021-02-20", "--store", store,
                             "--models", ROOT / "src" / "router" / "resources" / "models"])
    assert result.exit_code == 0, result.output
    result = invoke(runner, ["users", "add", "张三", "--role", "reviewer", "--store", store],
                    input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    client = sign_in(create_app(store, profile), "张三")
    page = client.get("/").text
    from router.intake import read_intake

    count = len(read_intake(INTAKE, profile)[1])
    assert "2021年建议复核队列" in page and f"显示 {count} / {count} 条" in page
    from router.store import Store

    with Store.open(store) as opened:
        details = {sid: json.loads(d) for sid, d in opened.db.execute("SELECT suggestion_id, detail FROM routes")}
    with_similar = [sid for sid, d in details.items() if d["similar"]]
    assert with_similar and len(details) == count
    for sid in with_similar[:5]:
        detail = client.get(f"/s/{sid}").text
        assert "往年相似建议" in detail
        assert detail.count("（相似度 ") == len(details[sid]["similar"])


def test_a_store_opened_by_two_threads_keeps_its_wal_when_another_process_comes_and_goes(tmp_path, profile):
    """A second open in the same process must not drop SQLite's locks (closing any descriptor of a
    file drops them all), or another process's close deletes the live WAL and its decisions."""
    import subprocess
    import sys
    import threading

    from router.store import Store

    path = build_store(tmp_path / "locks.sqlite", profile, users=False)
    keeper = Store.open(path)
    opened = []
    thread = threading.Thread(target=lambda: opened.append(Store.open(path)))
    thread.start()
    thread.join()
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from router.store import Store; "
            "Store.open(sys.argv[1]).close()")
    subprocess.run([sys.executable, "-c", code, str(path), str(ROOT / "src")], check=True)
    assert (tmp_path / "locks.sqlite-wal").exists()
    with keeper.transaction() as db:
        keeper.add_decision(db, 1, action="同意", reviewer="张三", after=None)
    subprocess.run([sys.executable, "-c", code, str(path), str(ROOT / "src")], check=True)
    keeper.close()
    opened[0].close()
    assert [r[1] for r in decisions(path)] == ["张三"]
