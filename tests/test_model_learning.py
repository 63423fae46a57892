"""Learning that only helps: per-task weights, history over the labels it saw, the profile's words, review by share."""

import dataclasses

import numpy as np
import pytest

from conftest import HISTORY, invoke
from router.history import read_history, to_examples
from router.model import RouterModel
from router.profile import load_profile, template_path

# A few asks of one county year, written here for the test (two departments only).
ROWS = [
    ("关于硬化村组道路的建议", "infrastructure_public_services", "transport"),
    ("关于拓宽乡村公路的建议", "infrastructure_public_services", "transport"),
    ("关于维修水毁公路的建议", "infrastructure_public_services", "transport"),
    ("关于改造危桥的建议", "infrastructure_public_services", "transport"),
    ("关于开通农村客运班线的建议", "infrastructure_public_services", "transport"),
    ("关于扶持生猪养殖的建议", "industry_employment", "agriculture"),
    ("关于发展茶叶产业的建议", "industry_employment", "agriculture"),
    ("关于建设蔬菜基地的建议", "industry_employment", "agriculture"),
    ("关于推广农业新技术的建议", "industry_employment", "agriculture"),
    ("关于扶持农民专业合作社的建议", "industry_employment", "agriculture"),
]


@pytest.fixture(scope="module")
def county():
    return load_profile(template_path("county"))


@pytest.fixture(scope="module")
def county_year(county, tokenizer):
    from router.domain import Example

    examples = [Example(text=t, topic=topic, division=d, year=2024, id=str(i)) for i, (t, topic, d) in enumerate(ROWS)]
    return RouterModel.from_profile(county).fit(examples, county, tokenizer)


def test_history_never_takes_probability_from_labels_it_has_not_seen(county_year, county):
    model = county_year
    seen = {"transport", "agriculture"}
    assert [k for k, s in zip(model.divisions_, model.division_seen_) if s] == ["agriculture", "transport"]
    texts = ["关于新建乡镇卫生院的建议", "关于安装路灯的建议", "关于提高低保标准的建议"]
    X = model.features(texts)
    topic_hist, topic_prior = model.topic_model_.proba(X), model.topic_prior_.proba(X)
    div_hist, div_remit = model.division_model_.proba(X), model.division_prior_.proba(X)
    with_history = model._blend((model.weights_["topic"], 0.9), topic_hist, topic_prior, div_hist, div_remit)[1]
    priors_alone = model._blend((model.weights_["topic"], 0.0), topic_hist, topic_prior, div_hist, div_remit)[1]
    unseen = [j for j, k in enumerate(model.divisions_) if k not in seen]
    # Every label the year had no example of keeps exactly its prior probability...
    np.testing.assert_allclose(with_history[:, unseen], priors_alone[:, unseen], rtol=1e-9, atol=1e-12)
    # ...and the rows still sum to one: history only moved the seen labels' mass among them.
    np.testing.assert_allclose(with_history.sum(axis=1), 1.0, rtol=1e-9)


def test_a_single_year_weighs_history_by_cross_validation(county_year):
    evidence = county_year.blend_evidence_
    assert evidence["kind"] == "cross_validation" and evidence["items"] == len(ROWS)
    for task in ("topic", "division"):
        weight = county_year.weights_[task]
        # Thin evidence shrinks to the priors: ten rows weigh at most 10 / (10 + prior_strength).
        assert 0.0 <= weight <= 10 / (10 + county_year.prior_strength) + 1e-9
        assert evidence[task]["chosen"] == weight


def test_the_profiles_words_stay_in_the_vocabulary_whatever_min_df_prunes(county, county_year, tokenizer):
    assert county.min_df >= 2  # the template prunes the history's rare words
    vocabulary = county_year.features_.sparse_.words_.vocabulary_
    words = {w for d in county.divisions for a in d.asks for w in tokenizer.content_words(a, hmm=True)}
    missing = sorted(w for w in words if w not in vocabulary)
    assert not missing, missing[:10]


def test_review_share_picks_the_threshold_on_the_models_own_evidence(profile, tokenizer):
    items = [i for path in HISTORY[:2] for i in read_history(path, profile)]
    model = RouterModel.from_profile(profile).fit(to_examples(items), profile, tokenizer)
    confidences = model.review_confidences_
    # Two years: the evidence is the temporal backtest, every title of the later year.
    assert model.blend_evidence_["kind"] == "temporal"
    assert confidences is not None and len(confidences) == sum(i.year == 2018 for i in items)
    for share in (0.1, 0.3, 0.5):
        threshold = model.review_threshold(dataclasses.replace(profile, review_share=share))
        flagged = float(np.mean(confidences < threshold))
        assert abs(flagged - share) <= 0.05, (share, threshold, flagged)
    # Without a share the profile's threshold stands.
    assert model.review_threshold(dataclasses.replace(profile, review_share=None)) == profile.threshold


def test_review_share_out_of_range_is_refused_naming_the_line(tmp_path):
    text = template_path("county").read_text(encoding="utf-8")
    assert "share = 0.3\n" in text
    path = tmp_path / "profile.toml"
    path.write_text(text.replace("share = 0.3\n", "share = 1.5\n"), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if row.startswith("share = "))
    from router.errors import ProfileError

    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value) == f"{path}：第 {line} 行：“share”应是 0.0 到 1.0 之间的数，现在是 1.5；请改为该范围内的数"


def test_evaluate_prints_flags_apart_and_the_rest_by_share(runner, tmp_path):
    result = invoke(runner, ["evaluate", *HISTORY[:3], "--out", tmp_path / "reports"])
    assert result.exit_code == 0, result.output
    assert "需复核：主题" in result.output and "处室" in result.output
    line = next(row for row in result.output.splitlines() if row.strip().startswith("按复核比例"))
    assert [part.split()[0] for part in line.split("：", 1)[1].split("；")] == ["10%", "20%", "30%", "40%", "50%", "60%"]
    markdown = (tmp_path / "reports" / "evaluation.md").read_text(encoding="utf-8")
    assert "## 按复核比例（时间回测合计）" in markdown
