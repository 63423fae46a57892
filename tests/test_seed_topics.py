"""A profile that keeps the five seed topics takes its topics from the bundled model (issue #21, item 3)."""

import shutil

import numpy as np
import openpyxl
import pytest

from conftest import DATA, invoke
from helpers import table_header

COUNTY_INTAKE = DATA / "county_intake_2021.xlsx"


def _bundled_dir():
    from router.office import bundled_models_dir
    from router.registry import current_model_dir

    return current_model_dir(bundled_models_dir())


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("ROUTER_STORE", "ROUTER_MODELS", "ROUTER_PROFILE", "ROUTER_OFFICE"):
        monkeypatch.delenv(name, raising=False)


def _init_county(runner, folder):
    result = invoke(runner, ["init", folder, "--template", "county"])
    assert result.exit_code == 0, result.output
    from router.registry import current_model_dir

    return current_model_dir(folder / "models")


def _topics_of(table):
    sheet = openpyxl.load_workbook(table)["交办任务表"]
    at, header = table_header(sheet)
    column = header.index("建议主题") + 1
    return [sheet.cell(row, column).value for row in range(at + 1, sheet.max_row + 1)]


def test_templates_keep_the_seed_topics_and_a_renamed_topic_does_not(tmp_path):
    from router.profile import keeps_seed_topics, load_profile, template_path

    for template in ("county", "city", "province", "default"):
        assert keeps_seed_topics(load_profile(template_path(template)))
    text = template_path("county").read_text(encoding="utf-8").replace('name = "扶贫资金投入"', 'name = "资金"')
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    assert not keeps_seed_topics(load_profile(tmp_path / "p.toml"))


def test_county_cold_model_routes_topics_with_the_bundled_topic_model(runner, tmp_path, clean_env):
    from router.profile import load_profile
    from router.registry import load_model, read_manifest

    folder = tmp_path / "县政府办"
    model_dir = _init_county(runner, folder)
    bundled_dir = _bundled_dir()
    seed = read_manifest(model_dir)["seed_topics"]
    bundled_manifest = read_manifest(bundled_dir)
    # The manifest names the bundled model whose topic part the folder holds.
    assert seed["model"] == bundled_dir.name
    assert seed["model_sha256"] == bundled_manifest["sha256"]["model.joblib"]
    assert seed["created"] == bundled_manifest["created"] and seed["examples"] == bundled_manifest["examples"]

    county = load_model(model_dir, load_profile(folder / "profile.toml"))
    bundled = load_model(bundled_dir, load_profile())
    texts = ["关于整修山坪塘的建议", "关于加大扶贫小额信贷投放的建议\n农户缺少发展资金", "关于建设村卫生室的建议"]
    tokens = county.tokens_of(texts)
    X = county.features(texts, tokens)
    own_prior = county.topic_prior_.proba(X)
    history = bundled.topic_model_.proba(bundled.features(texts))
    order = [bundled.topics_.index(k) for k in county.topics_]
    w = bundled.weights_["topic"]
    expected = (1 - w) * own_prior + w * history[:, order]
    got = np.array([[d.topic_proba[k] for k in county.topics_] for d in county.decide(texts)])
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, own_prior, atol=1e-3)


def test_a_seeded_model_routes_the_same_after_the_bundled_model_is_gone(runner, tmp_path, clean_env, monkeypatch):
    folder = tmp_path / "县政府办"
    _init_county(runner, folder)
    monkeypatch.chdir(folder)
    before = tmp_path / "before.xlsx"
    result = invoke(runner, ["route", COUNTY_INTAKE, "-o", before, "--date", "2021年3月1日"])
    assert result.exit_code == 0, result.output
    # The topic part is copied into the model folder: routing needs no bundled model.
    monkeypatch.setattr("router.office.bundled_models_dir", lambda: tmp_path / "nowhere")
    after = tmp_path / "after.xlsx"
    result = invoke(runner, ["route", COUNTY_INTAKE, "-o", after, "--date", "2021年3月1日"])
    assert result.exit_code == 0, result.output
    assert _topics_of(after) == _topics_of(before)
    assert any(_topics_of(after))


def test_training_refuses_when_the_bundled_topic_model_was_changed(runner, tmp_path, clean_env, monkeypatch):
    from router.office import bundled_models_dir

    copy = tmp_path / "bundled"
    shutil.copytree(bundled_models_dir(), copy)
    model_file = copy / _bundled_dir().name / "model.joblib"
    model_file.write_bytes(model_file.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr("router.office.bundled_models_dir", lambda: copy)
    result = invoke(runner, ["init", tmp_path / "县政府办", "--template", "county"])
    assert result.exit_code != 0
    assert "随包默认模型" in result.output and "五类主题" in result.output and "重新安装 router" in result.output
    assert "Traceback" not in result.output


def test_the_default_profile_and_its_own_topics_are_not_seeded(tmp_path, profile, tokenizer):
    from router.model import RouterModel
    from router.profile import load_profile, template_path

    assert RouterModel.from_profile(profile).fit([], profile, tokenizer).seed_ is None
    text = template_path("county").read_text(encoding="utf-8").replace('name = "扶贫资金投入"', 'name = "资金"')
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    own = load_profile(tmp_path / "p.toml")
    assert RouterModel.from_profile(own).fit([], own, tokenizer).seed_ is None
    county = load_profile(template_path("county"))
    assert RouterModel.from_profile(county).fit([], county, tokenizer).seed_ is not None
    assert RouterModel.from_profile(county).fit([], county, tokenizer, seed=False).seed_ is None


def test_the_bundled_model_is_retrained_from_nothing(runner, tmp_path, clean_env, monkeypatch):
    """`make model` deletes the bundled model and trains it again: its profile needs no seed."""
    monkeypatch.setattr("router.office.bundled_models_dir", lambda: tmp_path / "nowhere")
    result = invoke(runner, ["train", DATA / "history_2019.xlsx", DATA / "history_2020.xlsx",
                             "--models", tmp_path / "models", "--name", "default"])
    assert result.exit_code == 0, result.output



def test_an_office_history_moves_seeded_topics_no_more_than_its_share(runner, tmp_path, clean_env, monkeypatch):
    from router.registry import current_model_dir, read_manifest

    folder = tmp_path / "县政府办"
    _init_county(runner, folder)
    monkeypatch.chdir(folder)
    trained = invoke(runner, ["train", DATA / "county_history.xlsx", "--name", "y2020"])
    assert trained.exit_code == 0, trained.output
    manifest = read_manifest(folder / "models" / "y2020")
    seed = manifest["seed_topics"]
    n = manifest["examples"]
    # The seed is a history of its own: the office's rows weigh at most n / (n + prior_strength + its rows).
    assert 0 < n and manifest["history_weight"]["evidence"]["topic"]["cap"] == round(
        n / (n + manifest["settings"]["prior_strength"] + seed["examples"]), 4)
    assert manifest["history_weight"]["weight"] <= manifest["history_weight"]["evidence"]["topic"]["cap"]
    assert current_model_dir(folder / "models").name == "y2020"  # the first trained model replaces the cold one
