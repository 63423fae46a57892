"""The static meaning table: its build, its checksum, and what it knows of meaning."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from router.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def static():
    from router.textmodels.static import StaticMeaning

    return StaticMeaning()


def test_road_is_nearer_highway_than_education(static, tokenizer):
    words = [tokenizer.content_words(w) for w in ("道路", "公路", "教育")]
    road, highway, education = static.encode_tokens(words)
    assert road @ highway > road @ education + 0.3
    assert abs(np.linalg.norm(road) - 1) < 1e-5


def test_texts_without_known_words_get_zero_rows(static):
    rows = static.encode_tokens([[], ["道路"], ["\u0fff\u0ffe"]])
    assert not rows[0].any() and rows[1].any() and not rows[2].any()


def test_a_word_the_table_lacks_is_read_by_its_characters(static):
    table = static._table()
    assert "路况差" not in table.index and "路" in table.index
    assert static.encode_tokens([["路况差"]]).any()


def test_table_is_small_enough_for_the_repository():
    from router.textmodels.static import table_path

    assert table_path().stat().st_size < 5 * 2**20


def _tiny_build(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "router", "models", "build-meaning", "--min-freq", "50000", "--char-min-freq", "50000",
         "--generated", "100", "--no-history", "--no-profiles", "--out", str(out)],
        capture_output=True, text=True, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}, cwd=ROOT, timeout=600)


def test_build_on_a_tiny_vocabulary_is_deterministic(tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    for out in (first, second):
        result = _tiny_build(out)
        assert result.returncode == 0, result.stderr[-2000:]
    assert _sha(first) == _sha(second)
    from router.textmodels.static import _Table

    table = _Table(first)
    assert "两不愁三保障" in table.index and "一个" in table.index and len(table.words) < 5000
    assert table.meta["seed"] == 0 and table.meta["evaluation"]


def _static_model(profile, tokenizer, root: Path):
    from router.model import RouterModel
    from router.registry import save_model

    model = RouterModel.from_profile(profile, meaning="static").fit([], profile, tokenizer)
    return save_model(model, root / "static-cold", profile=profile, data_sha256="", years=[], scores={}, sources=[])


def test_model_records_the_table_and_loads(profile, tokenizer, tmp_path):
    from router.registry import load_model, read_manifest
    from router.textmodels.static import BUILD_COMMAND, table_sha256

    folder = _static_model(profile, tokenizer, tmp_path)
    semantic = read_manifest(folder)["text_models"]["semantic"]
    assert semantic["kind"] == "static" and semantic["sha256"] == table_sha256()
    assert semantic["rebuild"] == BUILD_COMMAND
    model = load_model(folder, profile)
    decision = model.decide(["关于加快农村公路建设的建议"])[0]
    assert max(decision.topic_proba, key=decision.topic_proba.get) == "infrastructure_public_services"


def test_changed_table_is_refused_at_load_with_the_rebuild_command(profile, tokenizer, tmp_path, monkeypatch):
    import router.textmodels.static as static_module
    from router.registry import load_model

    folder = _static_model(profile, tokenizer, tmp_path)
    changed = tmp_path / "static_meaning.npz"
    shutil.copyfile(static_module.table_path(), changed)
    with open(changed, "ab") as handle:
        handle.write(b"\0")
    monkeypatch.setattr(static_module, "table_path", lambda: changed)
    with pytest.raises(ModelError) as caught:
        load_model(folder, profile)
    message = str(caught.value)
    assert "静态词向量表" in message and static_module.BUILD_COMMAND in message and "sha256" in message


def test_missing_table_is_refused_at_load_with_the_rebuild_command(profile, tokenizer, tmp_path, monkeypatch):
    import router.textmodels.static as static_module
    from router.registry import load_model

    folder = _static_model(profile, tokenizer, tmp_path)
    monkeypatch.setattr(static_module, "table_path", lambda: tmp_path / "gone.npz")
    with pytest.raises(ModelError) as caught:
        load_model(folder, profile)
    message = str(caught.value)
    assert "不存在" in message and static_module.BUILD_COMMAND in message


def test_unpickled_meaning_refuses_a_table_that_changed_under_it(tmp_path, monkeypatch):
    import pickle

    import router.textmodels.static as static_module

    meaning = pickle.loads(pickle.dumps(static_module.StaticMeaning()))
    changed = tmp_path / "static_meaning.npz"
    shutil.copyfile(static_module.table_path(), changed)
    with open(changed, "ab") as handle:
        handle.write(b"\0")
    monkeypatch.setattr(static_module, "table_path", lambda: changed)
    with pytest.raises(ModelError, match="静态词向量表"):
        meaning.encode_tokens([["道路"]])


def test_training_without_a_table_says_how_to_build_it(profile, tokenizer, tmp_path, monkeypatch):
    import router.textmodels.static as static_module
    from router.model import RouterModel

    monkeypatch.setattr(static_module, "table_path", lambda: tmp_path / "gone.npz")
    with pytest.raises(ModelError, match="router models build-meaning"):
        RouterModel.from_profile(profile, meaning="static").fit([], profile, tokenizer)


def test_static_then_encoder_reads_the_encoder_only_where_unsure(profile, tokenizer, tmp_path):
    from router.model import RouterModel
    from router.registry import load_model, read_manifest, save_model

    model = RouterModel.from_profile(profile, meaning="static-then-encoder").fit([], profile, tokenizer)
    folder = save_model(model, tmp_path / "hybrid", profile=profile, data_sha256="", years=[], scores={}, sources=[])
    text_models = read_manifest(folder)["text_models"]
    assert text_models["semantic_first"]["kind"] == "static" and text_models["semantic"]["package"]
    model = load_model(folder, profile)
    read = []
    encode = model.features_.encoder_.encode
    model.features_.encoder_.encode = lambda texts: read.extend(texts) or encode(texts)
    texts = ["关于加快农村公路建设的建议", "关于进一步做好有关工作的建议"]
    decisions = model.decide(texts)
    assert len(decisions) == 2 and set(read) <= set(texts)
    assert "关于进一步做好有关工作的建议" in read  # nothing in it says what it asks: unsure


def test_static_then_encoder_refuses_a_changed_table(profile, tokenizer, tmp_path, monkeypatch):
    import router.textmodels.static as static_module
    from router.model import RouterModel
    from router.registry import load_model, save_model

    model = RouterModel.from_profile(profile, meaning="static-then-encoder").fit([], profile, tokenizer)
    folder = save_model(model, tmp_path / "hybrid", profile=profile, data_sha256="", years=[], scores={}, sources=[])
    monkeypatch.setattr(static_module, "table_path", lambda: tmp_path / "gone.npz")
    with pytest.raises(ModelError, match="router models build-meaning"):
        load_model(folder, profile)


def test_encoder_titles_reads_titles_alone_and_the_default_the_body_opening(profile, tokenizer):
    from router.model import RouterModel
    from router.semantic import meaning_text

    assert meaning_text("关于修建村道的建议\n村民出行困难，雨天泥泞", 0) == "修建村道"
    assert meaning_text("关于修建村道的建议\n村民出行困难", 60) == "修建村道。村民出行困难"
    model = RouterModel.from_profile(profile, meaning="encoder-titles").fit([], profile, tokenizer)
    assert model.features_.describe()["semantic_reads"] == "title"
    model = RouterModel.from_profile(profile).fit([], profile, tokenizer)
    assert model.features_.describe()["semantic_reads"] == "title + 60 characters of body"


def test_bundled_model_pickled_before_the_setting_still_reads_the_body_opening(profile):
    from router.office import bundled_models_dir
    from router.registry import current_model_dir, load_model

    model = load_model(current_model_dir(bundled_models_dir()), profile)
    assert model.features_.encoder_.body_chars == 60
    assert len(model.decide(["关于加快农村公路建设的建议\n村民出行困难"])) == 1
