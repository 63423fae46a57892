"""A small store for the web tests: routes built by hand (no model), a few hostile titles, accounts."""

from pathlib import Path

from router.accounts import add_user
from router.intake import Suggestion
from router.routing import Route
from router.store import Store

PASSWORD = "correct-horse-1"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
YEAR = 2021

# (title, topic, division, co-handlers, confidence, flagged)
SPECS = [
    ("《关于硬化黄泥坳村通村公路的建议》", "infrastructure_public_services", "development", [], 0.91, False),
    ("《关于扩大扶贫小额信贷覆盖面的建议》", "funding", "planning_finance", [], 0.88, False),
    ("《关于加强防止返贫监测的建议》", "comprehensive", "assessment", ["policy"], 0.42, True),
    ("《关于支持茶叶产业发展的建议》", "industry_employment", "development", ["social"], 0.35, True),
    ("《关于改造乡村学校危房的建议》", "education_health_housing", "assessment", [], 0.77, False),
    (HOSTILE[0], "comprehensive", "policy", [], 0.30, True),
    (HOSTILE[1], "funding", "planning_finance", [], 0.31, True),
    ("《关于建设村卫生室的建议》", "education_health_housing", "development", [], 0.66, True),
]


def build_store(path: Path, profile, *, specs=SPECS, year: int = YEAR, users=True) -> Path:
    routes = []
    for seq, (title, topic, division, co, confidence, flagged) in enumerate(specs, start=1):
        other_topic = next(t.key for t in profile.topics if t.key != topic)
        other_division = next(d.key for d in profile.divisions if d.key != division)
        suggestion = Suggestion(row=seq, id=str(1000 + seq), title=title, body=f"第{seq}件的正文。\n<b>不是粗体</b>",
                                deputy=f"代表{seq:03d}")
        routes.append(Route(
            seq=seq, suggestion=suggestion, topic=topic, topic_confidence=confidence,
            topics=[(topic, confidence), (other_topic, round(1 - confidence, 3))], division=division,
            division_confidence=confidence, divisions=[(division, confidence), (other_division, round(1 - confidence, 3))],
            co_divisions=list(co), needs_review=flagged, reasons=["通村公路", "硬化"], source="model",
            leader="", deadline="2021-05-20",
            similar=[{"year": 2020, "id": "88", "title": "《关于修路的建议》", "topic": topic, "topic_name": profile.topic(topic).name,
                      "division": division, "division_name": profile.division(division).name, "score": 0.5}],
            duplicate_of="与序号1（1001）相似度80%，建议合并办理" if seq == 8 else "",
        ))
    with Store.open(path) as store:
        store.record_routes(routes, year=year, source="test.xlsx", model="test")
        if users:
            add_user(store, profile, "张三", role="reviewer", password=PASSWORD)
            add_user(store, profile, "李四", role="reviewer", password=PASSWORD)
            add_user(store, profile, "赵六", role="reviewer", password=PASSWORD, divisions=["policy"])
            add_user(store, profile, "王五", role="coordinator", password=PASSWORD)
    return path


def sid_of(path: Path, title: str) -> int:
    with Store.open(path) as store:
        return store.db.execute("SELECT id FROM suggestions WHERE title = ?", (title,)).fetchone()[0]


def decisions(path: Path) -> list[tuple]:
    with Store.open(path) as store:
        return store.db.execute(
            "SELECT s.title, d.reviewer, d.action, d.after, d.comment, d.origin FROM decisions d "
            "JOIN suggestions s ON s.id = d.suggestion_id ORDER BY d.id").fetchall()
