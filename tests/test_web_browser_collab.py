"""The review pages' work together in Debian's Chromium (Playwright, never a downloaded browser):
search, undo, a transfer with 签收 and 退回, a comment thread, a 修改 from a filtered queue, the
shortcuts, the layout at 1366×768 and on a phone at 390×844. Screenshots are kept in
tests/artifacts/ (ignored by git) for a person to look at.
"""

import json

import pytest

from router.accounts import add_user
from router.store import Store
from test_web_browser import ARTIFACTS, CHROMIUM, browser, latest, server, signed_in  # noqa: F401 (fixtures)
from webstore import PASSWORD, SPECS, decisions, sid_of

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing")

DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def office(server):  # noqa: F811
    """The browser server's store, with a reviewer for each of two divisions."""
    from router.profile import load_profile

    base, store = server
    with Store.open(store) as opened:
        add_user(opened, load_profile(), "钱七", role="reviewer", password=PASSWORD, divisions=["development"])
        add_user(opened, load_profile(), "孙八", role="reviewer", password=PASSWORD, divisions=["planning_finance"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return base, store


def open_as(browser, base, name, viewport=DESK, **options):  # noqa: F811
    return signed_in(browser, base, name, viewport, **options)


def test_the_decision_buttons_are_in_view_at_1366x768_and_shortcuts_respect_focus(browser, office):  # noqa: F811
    base, store = office
    page = open_as(browser, base, "张三")
    page.screenshot(path=str(ARTIFACTS / "queue-1366.png"))
    title = SPECS[5][0]
    page.goto(f"{base}/s/{sid_of(store, title)}")
    page.screenshot(path=str(ARTIFACTS / "suggestion-1366.png"))
    for control in ("#accept", "#correct-open", "#transfer-open", "#defer-open"):
        box = page.locator(control).bounding_box()
        assert box and box["y"] + box["height"] <= DESK["height"], control
    assert "主题置信度" in page.inner_text(".route") and "处室置信度" in page.inner_text(".route")
    assert "责任领导" in page.inner_text("#duty") and "办理时限" in page.inner_text("#duty")
    # A focused link keeps its keys: "a" decides nothing.
    page.focus("#next")
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    assert latest(store, title) is None
    # Turned off on the account page, the shortcuts do nothing anywhere.
    page.goto(f"{base}/account")
    page.uncheck("#shortcuts")
    page.goto(f"{base}/s/{sid_of(store, title)}")
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    assert latest(store, title) is None
    page.goto(f"{base}/account")
    page.check("#shortcuts")
    page.goto(f"{base}/s/{sid_of(store, title)}")
    page.keyboard.press("a")
    page.wait_for_selector(".notice")
    assert latest(store, title)[1:3] == ("张三", "同意")
    assert page.dialogs == []


def test_a_correction_from_a_filtered_queue_records_the_chosen_division(browser, office):  # noqa: F811
    base, store = office
    page = open_as(browser, base, "张三")
    page.select_option("#f-division", "development")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**f_division=development**")
    title = SPECS[3][0]
    page.click(f"#queue tr[data-sid='{sid_of(store, title)}'] a.open")
    page.click("#correct-open")
    page.select_option("#division", label="社会扶贫处")
    page.screenshot(path=str(ARTIFACTS / "correction-1366.png"))
    page.click("#save-correction")
    page.wait_for_selector(".notice")
    row = latest(store, title)
    assert row[2] == "修改" and json.loads(row[3])["division"] == "social"
    assert "f_division=development" in page.url and "&division=" not in page.url


def test_search_then_undo_from_the_decision_record(browser, office):  # noqa: F811
    base, store = office
    page = open_as(browser, base, "李四")
    title = SPECS[1][0]
    page.fill("#search-box", "小额信贷")
    page.press("#search-box", "Enter")
    page.wait_for_selector("#results")
    page.screenshot(path=str(ARTIFACTS / "search-1366.png"))
    assert page.locator("#results tr.item").count() == 1
    page.click("#results a.open")
    assert page.inner_text("#title") == title
    page.fill("#search-box", "第1002号")
    page.press("#search-box", "Enter")
    page.wait_for_selector("#results")
    assert page.locator("#results tr.item").count() == 1
    page.click("#results a.open")
    page.click("#accept")
    page.wait_for_selector(".notice")
    assert latest(store, title)[1:3] == ("李四", "同意")
    page.goto(f"{base}/s/{sid_of(store, title)}")
    page.click("#undo")
    page.wait_for_selector("#notice")
    assert "已撤销" in page.inner_text("#notice")
    history = page.inner_text("#history")
    assert "撤销" in history and "（已撤销）" in history
    assert page.locator("#history li.reversed").count() == 1
    page.screenshot(path=str(ARTIFACTS / "undo-1366.png"), full_page=True)
    assert [r[2] for r in decisions(store) if r[0] == title] == ["同意", "待定"]


def test_transfer_signed_for_and_returned(browser, office):  # noqa: F811
    base, store = office
    sender, receiver = open_as(browser, base, "钱七"), open_as(browser, base, "孙八")
    title = SPECS[7][0]  # development
    url = f"{base}/s/{sid_of(store, title)}"
    sender.goto(url)
    sender.click("#transfer-open")
    sender.select_option("#to-division", label="规划财务处")
    sender.fill("#transfer-reason", "涉及资金安排")
    sender.click("#send-transfer")
    sender.wait_for_load_state()
    receiver.goto(f"{base}/")
    assert "涉及资金安排" in receiver.inner_text("#waiting")
    receiver.screenshot(path=str(ARTIFACTS / "transfer-queue-1366.png"))
    receiver.goto(url)
    receiver.click("#return-open")
    receiver.fill("#return-reason", "属开发指导处职责")
    receiver.screenshot(path=str(ARTIFACTS / "transfer-return-1366.png"))
    receiver.click("#send-back")
    receiver.wait_for_selector(".notice")
    assert "已退回" in receiver.inner_text(".notice")  # back in the queue: the row is no longer theirs
    row = latest(store, title)
    assert (row[1], row[2], row[4]) == ("孙八", "修改", "退回：属开发指导处职责")
    assert json.loads(row[3])["division"] == "development"
    sender.goto(url)
    sender.click("#transfer-open")
    sender.select_option("#to-division", label="规划财务处")
    sender.fill("#transfer-reason", "资金为主")
    sender.click("#send-transfer")
    sender.wait_for_load_state()
    receiver.goto(url)
    receiver.click("#sign-for")
    receiver.wait_for_selector("#notice")
    assert receiver.locator("#transfer-waiting").count() == 0
    assert "签收" in receiver.inner_text("#transfers")
    assert json.loads(latest(store, title)[3])["division"] == "planning_finance"


def test_a_comment_thread_between_a_reviewer_and_the_coordinator(browser, office):  # noqa: F811
    base, store = office
    reviewer, coordinator = open_as(browser, base, "张三"), open_as(browser, base, "王五")
    title = SPECS[6][0]
    url = f"{base}/s/{sid_of(store, title)}"
    reviewer.goto(url)
    reviewer.click("#defer-open")
    reviewer.fill("#defer-comment", "主办处室不明，请统筹")
    reviewer.click("#save-defer")
    reviewer.wait_for_load_state()
    coordinator.goto(f"{base}/")
    assert "主办处室不明，请统筹" in coordinator.inner_text("#waiting")
    coordinator.goto(url)
    coordinator.fill("#comment-body", "按资金问题办，规划财务处主办")
    coordinator.click("#send-comment")
    coordinator.wait_for_selector("#notice")
    reviewer.goto(url)
    thread = reviewer.inner_text("#thread ol.comments")
    assert thread.index("主办处室不明") < thread.index("按资金问题办")
    reviewer.screenshot(path=str(ARTIFACTS / "thread-1366.png"), full_page=True)


def test_the_queue_on_a_phone(browser, office):  # noqa: F811
    base, store = office
    page = open_as(browser, base, "张三", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(f"{base}/?f_status=全部")
    page.screenshot(path=str(ARTIFACTS / "queue-390.png"))
    page.screenshot(path=str(ARTIFACTS / "queue-390-full.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    cards = page.locator("#queue tr.item")
    assert cards.count() == len(SPECS)
    for i in range(cards.count()):
        link = cards.nth(i).locator("a.open").bounding_box()
        assert link["height"] >= 44 and link["width"] >= 200
    first = cards.nth(0).bounding_box()
    assert first["height"] < 200 and first["width"] <= PHONE["width"]
    for control in ("#f-status", ".filters button[type=submit]", "#search-box"):
        assert page.locator(control).bounding_box()["height"] >= 44, control
    page.click("#queue tr.item >> nth=0 >> a.open")
    page.screenshot(path=str(ARTIFACTS / "suggestion-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("#accept").bounding_box()["height"] >= 44


def test_the_coordinator_sees_coverage_confirms_after_a_preview_and_takes_the_batch_back(browser, office):  # noqa: F811
    base, store = office
    page = open_as(browser, base, "王五")
    page.goto(f"{base}/coordinator")
    assert "没有专门复核人的处室" in page.inner_text("#uncovered")
    page.screenshot(path=str(ARTIFACTS / "coordinator-1366.png"), full_page=True)
    before = len(decisions(store))
    page.click("#confirm-unflagged")
    page.wait_for_selector("#confirm-form")
    shown = int(page.inner_text("#summary strong"))
    assert "开发指导处" in page.inner_text("#include-form") and "钱七" in page.inner_text("#include-form")
    page.check("#include-form input[value=development]")
    page.click("#include-recount")
    page.wait_for_selector("#confirm-form")
    included = int(page.inner_text("#summary strong"))
    assert included > shown and "开发指导处" in page.inner_text("#taken")
    page.screenshot(path=str(ARTIFACTS / "confirm-1366.png"), full_page=True)
    assert len(decisions(store)) == before
    page.click("#confirm-record")
    page.wait_for_selector(".notice")
    assert len(decisions(store)) == before + included
    page.click("#batches button.undo")
    page.wait_for_selector(".notice")
    assert f"已撤销 {included} 条一次确认" in page.inner_text(".notice")
    assert [r[5] for r in decisions(store)[-included:]] == ["web:undo-confirm"] * included
