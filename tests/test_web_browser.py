"""`router serve` in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser).

A real `router serve` process on a free localhost port over a store built for the test; two
reviewers in two browser contexts, a coordinator in a third. Screenshots of the queue and of a
suggestion page are kept in tests/artifacts/ (ignored by git).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openpyxl
import pytest

from conftest import ROOT
from webstore import HOSTILE, PASSWORD, SPECS, build_store, decisions, sid_of

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: install Debian's "
                                "chromium and chromium-driver (make test does when run as root)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from router.profile import load_profile

    folder = tmp_path_factory.mktemp("browser")
    store = build_store(folder / "store.sqlite", load_profile())
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = open(folder / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "router", "serve", "--port", str(port), "--store", str(store)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{base}/login", timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"router serve exited: {(folder / 'serve.log').read_text()}")
            time.sleep(0.1)
    yield base, store
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield launched
        launched.close()


def signed_in(browser, base, name, viewport=None, **options):
    context = browser.new_context(locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900},
                                  accept_downloads=True, **options)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")
    return page


def latest(store, title):
    rows = [r for r in decisions(store) if r[0] == title]
    return rows[-1] if rows else None


def test_two_reviewers_accept_correct_defer_and_meet_a_conflict(server, browser):
    base, store = server
    first, second = signed_in(browser, base, "张三"), signed_in(browser, base, "李四")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert first.locator("#queue tr.item").count() == len(SPECS)
    first.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    # Accept with the keyboard: j selects the first row, Enter opens it, a accepts.
    accepted = SPECS[2][0]
    first.goto(f"{base}/s/{sid_of(store, accepted)}")
    first.screenshot(path=str(ARTIFACTS / "suggestion.png"), full_page=True)
    first.keyboard.press("a")
    first.wait_for_selector(".notice")
    assert "已保存" in first.inner_text(".notice")
    assert latest(store, accepted)[1:3] == ("张三", "同意")

    # Correct with the dropdowns and a comment.
    corrected = SPECS[3][0]
    first.goto(f"{base}/s/{sid_of(store, corrected)}")
    first.click("#correct-open")
    first.select_option("#topic", label="扶贫资金投入")
    first.select_option("#division", label="规划财务处")
    first.check("input[name=co_divisions][value=social]")
    first.fill("#correct-comment", "主要是资金问题")
    first.click("#save-correction")
    first.wait_for_selector(".notice")
    row = latest(store, corrected)
    assert row[1:3] == ("张三", "修改") and row[4] == "主要是资金问题"
    assert json.loads(row[3]) == {"topic": "funding", "division": "planning_finance", "co_divisions": ["social"]}

    # Defer with a reason, as the second reviewer.
    deferred = SPECS[7][0]
    second.goto(f"{base}/s/{sid_of(store, deferred)}")
    second.click("#defer-open")
    second.fill("#defer-comment", "与第1001号疑似重复，待合并")
    second.click("#save-defer")
    second.wait_for_selector(".notice")
    assert latest(store, deferred)[1:3] == ("李四", "待定")

    # A conflict: both open the same suggestion, the first accepts, the second then corrects.
    contested = SPECS[4][0]
    url = f"{base}/s/{sid_of(store, contested)}"
    first.goto(url)
    second.goto(url)
    first.click("#accept")
    first.wait_for_selector(".notice")
    second.click("#correct-open")
    second.select_option("#division", label="开发指导处")
    second.click("#save-correction")
    second.wait_for_selector("#conflict")
    warning = second.inner_text("#conflict .warning")
    assert "张三" in warning and "同意" in warning
    assert [r[1:3] for r in decisions(store) if r[0] == contested] == [("张三", "同意")]
    second.click("#keep-mine")
    second.wait_for_selector(".notice")
    assert [r[1:3] for r in decisions(store) if r[0] == contested] == [("张三", "同意"), ("李四", "修改")]
    assert first.dialogs == [] and second.dialogs == []

    # j / k on the queue move the selection; Enter opens the selected suggestion.
    first.goto(f"{base}/")
    first.keyboard.press("j")
    first.keyboard.press("j")
    first.keyboard.press("k")
    selected = first.locator("#queue tr.selected")
    assert selected.count() == 1
    sid = selected.get_attribute("data-sid")
    assert sid == first.locator("#queue tr.item").nth(0).get_attribute("data-sid")
    first.keyboard.press("Enter")
    first.wait_for_url(f"{base}/s/{sid}*")

    from router.store import check_store

    assert check_store(store) == []
    assert len(decisions(store)) == 5


def test_hostile_titles_render_as_text(server, browser):
    base, store = server
    page = signed_in(browser, base, "张三")
    links = page.locator("#queue a.open").all_inner_texts()
    assert HOSTILE[0] in links and HOSTILE[1] in links
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    for title in HOSTILE:
        page.goto(f"{base}/s/{sid_of(store, title)}")
        assert page.inner_text("#title") == title
        assert page.locator("main img").count() == 0
        assert page.locator(".body b").count() == 0 and "<b>不是粗体</b>" in page.inner_text(".body")
    assert page.dialogs == []


def test_a_form_posted_without_its_csrf_token_is_refused(server, browser):
    base, store = server
    page = signed_in(browser, base, "张三")
    title = SPECS[0][0]
    page.goto(f"{base}/s/{sid_of(store, title)}")
    page.locator("form.accept input[name=csrf]").evaluate("element => element.remove()")
    page.click("#accept")
    page.wait_for_selector(".error-page")
    assert "表单缺少有效的安全令牌（CSRF），已拒绝。" in page.inner_text(".error")
    assert latest(store, title) is None


def test_a_reviewer_cannot_open_the_coordinator_page(server, browser):
    base, _ = server
    page = signed_in(browser, base, "李四")
    response = page.goto(f"{base}/coordinator")
    assert response.status == 403 and "您没有权限访问此页面。" in page.inner_text(".error")
    response = page.goto(f"{base}/coordinator/table.xlsx")
    assert response.status == 403


def test_coordinator_confirms_unflagged_and_downloads_the_table(server, browser, tmp_path):
    base, store = server
    page = signed_in(browser, base, "王五")
    page.goto(f"{base}/coordinator")
    before = len(decisions(store))
    undecided_unflagged = [s for s in SPECS if not s[5] and latest(store, s[0]) is None]
    page.click("#confirm-unflagged")
    page.wait_for_selector("#confirm-form")
    assert len(decisions(store)) == before  # the first click only shows what would be recorded
    assert f"将按建议路由把 {len(undecided_unflagged)} 条" in page.inner_text("#summary")
    page.screenshot(path=str(ARTIFACTS / "confirm.png"), full_page=True)
    page.click("#confirm-record")
    page.wait_for_selector(".notice")
    assert f"已一次确认 {len(undecided_unflagged)} 条" in page.inner_text(".notice")
    assert len(decisions(store)) == before + len(undecided_unflagged)
    with page.expect_download() as info:
        page.click("#download-table")
    target = tmp_path / "table.xlsx"
    info.value.save_as(target)
    sheet = openpyxl.load_workbook(target)["交办任务表"]
    header = [c.value for c in sheet[1]]
    rows = {r[header.index("标题")]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == len(SPECS)
    for title, *_ in SPECS:
        stored = latest(store, title)
        assert rows[title]["复核"] == (stored[2] if stored else None), title
        if stored:
            assert rows[title]["复核人"] == stored[1]
    with page.expect_download() as info:
        page.click("#download-report")
    info.value.save_as(tmp_path / "report.xlsx")
    assert f"。{len(SPECS)}件建议中" in openpyxl.load_workbook(tmp_path / "report.xlsx")["办理情况"]["A2"].value
