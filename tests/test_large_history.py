"""The large-history form of the model (RouterModel(large_history=...)): a smoke fit and its compact transform."""

import random

import numpy as np
import pytest

from router.domain import Example
from router.model import RouterModel
from router.textmodels.features import Featurizer, _tokens_as_is, _Vocabulary

N_EXAMPLES = 300


def _synthetic(profile, n: int, seed: int = 0) -> list[Example]:
    """Texts built from each topic's typical terms; the division is the topic's usual lead."""
    rng = random.Random(seed)
    examples = []
    for i in range(n):
        topic = profile.topics[i % len(profile.topics)]
        terms = rng.sample(topic.terms, k=min(3, len(topic.terms)))
        title = f"关于{terms[0]}的建议"
        body = "，".join(f"建议加强{t}工作" for t in terms) + f"。第{i}号。"
        division = (profile.rules.get(topic.key) or (profile.division_keys[0],))[0]
        examples.append(Example(text=f"{title}\n{body}", topic=topic.key, division=division, year=2020 + i % 3,
                                id=str(i)))
    return examples


@pytest.fixture(scope="module")
def large_model(tokenizer):
    from router.profile import load_profile

    profile = load_profile()
    examples = _synthetic(profile, N_EXAMPLES)
    model = RouterModel.from_profile(profile, large_history=100)
    return model.fit(examples, profile, tokenizer), examples, profile


def test_large_form_is_taken_and_fits(large_model):
    model, examples, profile = large_model
    assert model.n_examples_ == N_EXAMPLES
    assert model.large_ is True and model.hmm_ is False
    assert model.features_.encoder_ is None  # the large form has no sentence encoder
    featurizer = model.features_.sparse_
    assert featurizer.compact and featurizer.title_chars and not featurizer.text_chars
    assert isinstance(featurizer.words_, _Vocabulary) and isinstance(featurizer.title_chars_, _Vocabulary)
    assert featurizer.chars_ is None
    assert model.topic_model_.kind_ == "NBSVM"


def test_large_form_routes_its_own_kind_of_text(large_model):
    model, examples, profile = large_model
    held_out = _synthetic(profile, 50, seed=1)
    decisions = model.decide([e.text for e in held_out])
    assert len(decisions) == 50
    for d in decisions:
        assert set(d.topic_proba) == set(profile.topic_keys)
        assert abs(sum(d.topic_proba.values()) - 1.0) < 1e-5  # rounded to six places
        assert abs(sum(d.division_proba.values()) - 1.0) < 1e-5  # rounded to six places
    correct = sum(max(d.topic_proba, key=d.topic_proba.get) == e.topic for d, e in zip(decisions, held_out))
    assert correct >= 45, correct


@pytest.mark.parametrize("analyzer", ["char", "tokens"])
def test_compact_transform_matches_scikit_learn(tokenizer, analyzer):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["关于加快通村公路  硬化的建议\n岩门镇６.８公里砂石路", "扶贫小额信贷 ABC 覆盖面", "村卫生室", "",
             "Ｆｕｌｌ　ｗｉｄｔｈ and   spaces\t\tand tabs"]
    unseen = ["通村公路和小额信贷", "完全没有见过的词语 xyz", ""]
    if analyzer == "char":
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
        fit_docs, new_docs = texts, unseen
    else:
        vectorizer = TfidfVectorizer(analyzer=_tokens_as_is, sublinear_tf=True)
        fit_docs, new_docs = tokenizer.cut_many(texts), tokenizer.cut_many(unseen)
    vectorizer.fit(fit_docs)
    compact = _Vocabulary(vectorizer)
    for docs in (fit_docs, new_docs):
        expected = vectorizer.transform(docs).toarray()
        observed = compact.transform(docs).toarray()
        assert observed.shape == expected.shape
        np.testing.assert_allclose(observed, expected, rtol=1e-5, atol=1e-6)


def test_compact_featurizer_matches_the_full_one(tokenizer):
    from router.profile import load_profile

    texts = [e.text for e in _synthetic(load_profile(), 60)]
    tokens = tokenizer.cut_many(texts, hmm=False)
    full = Featurizer(text_chars=False, title_chars=True, compact=False).fit(tokens, texts)
    compact = Featurizer(text_chars=False, title_chars=True, compact=True).fit(tokens, texts)
    np.testing.assert_allclose(compact.transform(tokens, texts).toarray(), full.transform(tokens, texts).toarray(),
                               rtol=1e-5, atol=1e-6)
