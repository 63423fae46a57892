"""Topic and division models: history-trained linear models blended with the profile's priors.

Each decision is a probability over the profile's labels made of three parts:

- ``model``: a logistic regression on word (jieba) and character 1-3-gram TF-IDF features,
  trained on the labelled history;
- ``remit``: similarity of the text to the profile's own words for each label (a topic's
  description and typical terms, a division's remit), which needs no history at all;
- ``rule``: for divisions only, the profile's topic -> usual lead division rules applied to
  the topic probabilities.

The history part weighs ``n / (n + prior_strength)`` for ``n`` labelled examples, so a new
office with no history routes from remits and rules (cold start), a small one leans on them,
and a large one is driven by its history. The weight comes from the profile and the amount of
data, never from which data set is being routed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize as l2_normalize

from .profile import Profile
from .tokenizer import normalize

__all__ = ["Featurizer", "RouterModel", "Decision", "Example"]

# Softmax temperature for cosine similarities to label descriptions (cosines are small).
PROTOTYPE_TEMPERATURE = 0.03
# How the prior splits between the topic rules and the remit text for divisions.
RULE_SHARE = 0.6


def _tokens_as_is(tokens):
    return tokens


@dataclass
class Example:
    """A labelled suggestion used for training."""

    text: str
    topic: str
    division: str
    co_divisions: tuple[str, ...] = ()
    year: int | None = None
    id: str = ""
    weight: float = 1.0


@dataclass
class Decision:
    """Probabilities and their explanation for one suggestion."""

    topic_proba: dict[str, float]
    division_proba: dict[str, float]
    source: str
    reasons: list[str]


class Featurizer:
    """Word TF-IDF over jieba tokens beside character 1-3-gram TF-IDF, fitted once."""

    def __init__(self, *, max_features: int = 200000, min_df: int = 1):
        self.max_features = max_features
        self.min_df = min_df

    def fit(self, tokens: list[list[str]], texts: list[str]) -> "Featurizer":
        self.words_ = TfidfVectorizer(
            analyzer=_tokens_as_is, sublinear_tf=True, min_df=self.min_df, max_features=self.max_features
        ).fit(tokens)
        self.chars_ = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=self.min_df,
            max_features=self.max_features, dtype=np.float32,
        ).fit([normalize(t) for t in texts])
        self.names_ = np.concatenate([self.words_.get_feature_names_out(), self.chars_.get_feature_names_out()])
        self.n_words_ = len(self.words_.vocabulary_)
        return self

    def transform(self, tokens: list[list[str]], texts: list[str]) -> sp.csr_matrix:
        words = self.words_.transform(tokens)
        chars = self.chars_.transform([normalize(t) for t in texts])
        return l2_normalize(sp.hstack([words, chars], format="csr", dtype=np.float32))


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _LabelModel:
    """History classifier plus description prototypes over one label set."""

    def __init__(self, labels: list[str], prototypes: sp.csr_matrix, C: float):
        self.labels = labels
        self.prototypes = prototypes
        self.C = C
        self.classifier_ = None
        self.n_ = 0

    def fit(self, X, y: list[str], sample_weight=None) -> "_LabelModel":
        self.n_ = len(y)
        if len(set(y)) >= 2:
            self.classifier_ = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
            self.classifier_.fit(X, y, sample_weight=sample_weight)
        elif len(set(y)) == 1:
            self.single_ = y[0]
        return self

    def history_proba(self, X) -> np.ndarray:
        out = np.zeros((X.shape[0], len(self.labels)), dtype=np.float64)
        if self.classifier_ is not None:
            proba = self.classifier_.predict_proba(X)
            for j, label in enumerate(self.classifier_.classes_):
                out[:, self.labels.index(label)] = proba[:, j]
        elif self.n_:
            out[:, self.labels.index(self.single_)] = 1.0
        return out

    def prior_proba(self, X) -> np.ndarray:
        return _softmax(np.asarray((X @ self.prototypes.T).todense()), PROTOTYPE_TEMPERATURE)


def _label_counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


class RouterModel:
    """Learns topics and lead divisions from history and the profile; routes in batches.

    The tokenizer is not part of the pickled state: the model folder keeps the dictionary
    and the loader attaches a tokenizer built from it (see :mod:`router.registry`).
    """

    def __init__(self, *, prior_strength: float = 40.0, C: float = 4.0, max_features: int = 200000, min_df: int = 1):
        self.prior_strength = prior_strength
        self.C = C
        self.max_features = max_features
        self.min_df = min_df
        self.tokenizer = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["tokenizer"] = None
        return state

    @classmethod
    def from_profile(cls, profile: Profile) -> "RouterModel":
        return cls(prior_strength=profile.prior_strength, C=profile.C,
                   max_features=profile.max_features, min_df=profile.min_df)

    def fit(self, examples: list[Example], profile: Profile, tokenizer) -> "RouterModel":
        self.tokenizer = tokenizer
        self.topics_ = profile.topic_keys
        self.divisions_ = profile.division_keys
        topic_texts = [f"{t.name} {t.description} {' '.join(t.terms)}" for t in profile.topics]
        division_texts = [f"{d.name} {d.remit}" for d in profile.divisions]
        texts = [e.text for e in examples]
        tokens = tokenizer.cut_many(texts)
        proto_tokens = tokenizer.cut_many(topic_texts + division_texts)
        self.featurizer_ = Featurizer(max_features=self.max_features, min_df=1 if not examples else self.min_df)
        self.featurizer_.fit(tokens + proto_tokens, texts + topic_texts + division_texts)
        protos = self.featurizer_.transform(proto_tokens, topic_texts + division_texts)
        n_topics = len(topic_texts)
        self.topic_model_ = _LabelModel(self.topics_, protos[:n_topics], self.C)
        self.division_model_ = _LabelModel(self.divisions_, protos[n_topics:], self.C)
        self.rules_ = np.zeros((len(self.topics_), len(self.divisions_)))
        for i, topic in enumerate(self.topics_):
            leads = profile.rules.get(topic, ())
            for rank, division in enumerate(leads):
                self.rules_[i, self.divisions_.index(division)] = 0.5 ** rank
            if leads:
                self.rules_[i] /= self.rules_[i].sum()
            else:
                self.rules_[i] = 1.0 / len(self.divisions_)
        if examples:
            X = self.featurizer_.transform(tokens, texts)
            weights = np.array([e.weight for e in examples], dtype=float)
            self.topic_model_.fit(X, [e.topic for e in examples], weights)
            self.division_model_.fit(X, [e.division for e in examples], weights)
        self.n_examples_ = len(examples)
        self.topic_counts_ = _label_counts([e.topic for e in examples])
        self.division_counts_ = _label_counts([e.division for e in examples])
        return self

    @property
    def history_weight(self) -> float:
        n = self.n_examples_
        return n / (n + self.prior_strength) if n else 0.0

    def decide(self, texts: list[str], tokens: list[list[str]] | None = None, *, n_reasons: int = 5) -> list[Decision]:
        """Topic and division probabilities, the dominant source, and the terms that weighed most."""
        if not texts:
            return []
        if tokens is None:
            tokens = self.tokenizer.cut_many(texts)
        X = self.featurizer_.transform(tokens, texts)
        w = self.history_weight
        topic_hist = self.topic_model_.history_proba(X)
        topic_prior = self.topic_model_.prior_proba(X)
        topic_p = w * topic_hist + (1 - w) * topic_prior
        div_hist = self.division_model_.history_proba(X)
        div_rule = topic_p @ self.rules_
        div_remit = self.division_model_.prior_proba(X)
        parts = {
            "model": w * div_hist,
            "rule": (1 - w) * RULE_SHARE * div_rule,
            "remit": (1 - w) * (1 - RULE_SHARE) * div_remit,
        }
        div_p = parts["model"] + parts["rule"] + parts["remit"]
        decisions = []
        for i in range(len(texts)):
            t_best = int(np.argmax(topic_p[i]))
            d_best = int(np.argmax(div_p[i]))
            source = max(parts, key=lambda name: parts[name][i, d_best])
            decisions.append(
                Decision(
                    topic_proba=dict(zip(self.topics_, topic_p[i].round(6).tolist())),
                    division_proba=dict(zip(self.divisions_, div_p[i].round(6).tolist())),
                    source=source,
                    reasons=self._reasons(X[i], t_best, w, n_reasons),
                )
            )
        return decisions

    def _reasons(self, row: sp.csr_matrix, topic_index: int, w: float, k: int) -> list[str]:
        """Features of the text that pushed hardest towards the chosen topic."""
        if row.nnz == 0:
            return []
        indices, values = row.indices, row.data
        weight = np.zeros(len(indices))
        classifier = self.topic_model_.classifier_
        if classifier is not None and w > 0:
            classes = list(classifier.classes_)
            label = self.topics_[topic_index]
            if label in classes:
                coef = classifier.coef_[classes.index(label)] if classifier.coef_.shape[0] > 1 else (
                    classifier.coef_[0] * (1 if classes.index(label) == 1 else -1))
                weight += w * values * coef[indices]
        proto = self.topic_model_.prototypes[topic_index].toarray().ravel()
        weight += (1 - w) * values * proto[indices] / PROTOTYPE_TEMPERATURE * 0.1
        names = self.featurizer_.names_
        chosen: list[str] = []
        for j in np.argsort(-weight):
            if weight[j] <= 0 or len(chosen) >= k:
                break
            name = str(names[indices[j]]).strip()
            if len(name) < 2 or any(name in c or c in name for c in chosen):
                continue
            chosen.append(name)
        return chosen
