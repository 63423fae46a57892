"""The bundled history: counts as data/README.md states them, no template text, valid labels."""

import csv
import re
from collections import Counter

import pytest

from conftest import ANSWERS, DATA, HISTORY, INTAKE
from router.history import read_history
from router.intake import read_intake


@pytest.fixture(scope="module")
def years(request):
    from router.profile import load_profile

    profile = load_profile()
    return {path.stem[-4:]: read_history(path, profile) for path in HISTORY}


@pytest.fixture(scope="module")
def answers():
    return list(csv.DictReader(open(ANSWERS, encoding="utf-8")))


def _readme_table(heading_word: str) -> dict[str, dict[str, int]]:
    text = (DATA / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"By {heading_word}"):]
    lines = [l for l in section.splitlines() if l.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    table = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not cells[0].isdigit():
            break
        table[cells[0]] = dict(zip(header[1:], map(int, cells[1:])))
    return table


def test_readme_says_texts_are_written_for_the_project():
    text = (DATA / "README.md").read_text(encoding="utf-8")
    assert "written for this project" in text and "not real suggestions" in text


@pytest.mark.parametrize("what,field,column", [("topic", "topic", "主题"), ("lead division", "division", "主办处室")])
def test_counts_match_readme(profile, years, answers, what, field, column):
    table = _readme_table(what)
    assert set(table) == {"2017", "2018", "2019", "2020", "2021"}
    for year, items in years.items():
        name = (lambda k: profile.topic(k).name) if field == "topic" else (lambda k: profile.division(k).name)
        counts = Counter(name(getattr(i, field)) for i in items)
        expected = table[year]
        assert expected.pop("合计") == len(items)
        assert {k: v for k, v in expected.items() if v} == dict(counts), year
    counts = Counter(a[column] for a in answers)
    expected = table["2021"]
    assert expected.pop("合计") == len(answers)
    assert {k: v for k, v in expected.items() if v} == dict(counts)


# Real piles (county, city and provincial together): about 4 in 10 infrastructure, 1 in 4
# industry and employment, then the three guarantees, comprehensive asks and funding.
REAL_MIX = {
    "infrastructure_public_services": (0.35, 0.48),
    "industry_employment": (0.20, 0.30),
    "education_health_housing": (0.10, 0.20),
    "comprehensive": (0.08, 0.18),
    "funding": (0.04, 0.09),
}


def _assert_real_mix(topics: Counter, label: str):
    total = sum(topics.values())
    for topic, (low, high) in REAL_MIX.items():
        assert low <= topics[topic] / total <= high, (label, topic, topics[topic], total)


def test_sizes_and_mix(profile, years, answers):
    for year, items in years.items():
        assert 110 <= len(items) <= 130, year
        topics = Counter(i.topic for i in items)
        assert topics.most_common(1)[0][0] == "infrastructure_public_services"
        assert min(topics, key=topics.get) == "funding"
        _assert_real_mix(topics, year)
        assert all(60 <= len(i.suggestion.body) <= 800 for i in items), year
        assert all(re.fullmatch(r"代表A\d{3}", i.suggestion.deputy) for i in items)
    assert 80 <= len(answers) <= 100
    _assert_real_mix(Counter(profile.topic_key(a["主题"]) for a in answers), "2021")


def test_registers_vary(years):
    """Short demand-type bodies beside long ones; not every title is 《关于……的建议》."""
    items = [i for year in years.values() for i in year]
    short = sum(len(i.suggestion.body) <= 250 for i in items)
    assert short >= len(items) // 3
    assert sum(len(i.suggestion.body) >= 400 for i in items) >= 40
    titles = [i.suggestion.title for i in items]
    assert sum(not re.fullmatch(r"《关于.+的建议》", t) for t in titles) >= len(titles) // 10
    assert sum("提案" in t for t in titles) >= 8


def test_no_sentence_of_12_or_more_characters_repeats(years, profile):
    _, intake = read_intake(INTAKE, profile)
    texts = [(f"{y}/{i.suggestion.id}", i.suggestion.title + "\n" + i.suggestion.body) for y, items in years.items() for i in items]
    texts += [(f"2021/{s.id}", s.title + "\n" + s.body) for s in intake]
    owners: dict[str, str] = {}
    repeats = []
    for owner, text in texts:
        for sentence in {s.strip() for s in re.split(r"[。！？；!?;\n]", text)}:
            if len(sentence) >= 12:
                if sentence in owners and owners[sentence] != owner:
                    repeats.append((sentence, owners[sentence], owner))
                owners.setdefault(sentence, owner)
    assert repeats == []


def test_answer_key_labels_belong_to_profile(profile, answers):
    _, intake = read_intake(INTAKE, profile)
    assert [s.id for s in intake] == [a["建议号"] for a in answers]
    for a in answers:
        assert profile.topic_key(a["主题"]) and profile.division_key(a["主办处室"])
        assert all(profile.division_key(x) for x in a["会办处室"].split("、") if x)


def test_some_places_and_deputies_recur(years):
    deputies = [{i.suggestion.deputy for i in items} for items in years.values()]
    assert len(set.intersection(*deputies[:2])) >= 1
    roads = [y for y, items in years.items() for i in items if "黄泥坳" in i.suggestion.body]
    assert len(set(roads)) >= 2
