"""Topic and division models: history-trained linear models blended with the profile's priors.

Each decision is a probability over the profile's labels made of three parts:

- ``model``: a linear model on TF-IDF features trained on the labelled history. Below
  ``LARGE_HISTORY`` examples it is a logistic regression on words (jieba) and character
  1-3-grams of the whole text; from ``LARGE_HISTORY`` on it takes the large-data form
  described at that constant;
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

import pickle
import re
import sys
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .profile import Profile
from .tokenizer import normalize

__all__ = ["Featurizer", "RouterModel", "Decision", "Example"]

# Softmax temperature for cosine similarities to label descriptions (cosines are small).
PROTOTYPE_TEMPERATURE = 0.03
# How the prior splits between the topic rules and the remit text for divisions.
RULE_SHARE = 0.6

# From this many labelled examples on, the history model takes its large-data form:
# - features: words of the whole text and character 1-3-grams of its first line (the title)
#   only. With tens or hundreds of examples, character n-grams of the whole text let a word
#   never seen in training still match; with thousands, the words carry that signal, and
#   character n-grams of long bodies cost more than jieba itself when routing and training
#   (on a public 7-label message set of 7,874 items they added nothing to macro-F1).
# - classifier: one-vs-rest linear SVMs on features scaled by naive Bayes log-count ratios
#   (NB-SVM, Wang & Manning 2012), with a softmax temperature fitted on a held-out share so
#   the probabilities still drive review. On the same data it beat the logistic regression
#   by about one point of macro-F1 and trains in seconds instead of a minute; with a few
#   hundred examples the held-out share would be too small to fit that temperature.
# - tokens: jieba without its HMM guessing of words missing from the dictionary. It makes
#   cutting about a quarter faster (cutting is most of the time of training and routing);
#   on the same data macro-F1 was the same (0.9329 against 0.9327), since the history
#   itself supplies the vocabulary. A small history keeps the default mode it was built with.
# - storage: the fitted vocabularies and weights only (no scikit-learn objects), so that
#   loading the model to route imports no scikit-learn (see Featurizer ``compact``).
# Where the switch sits: trained on 300 examples of that data, the small form scored 0.81
# macro-F1 against 0.80; on 1,000, 0.87 against 0.89 and it took eight times longer. It
# depends only on the number of examples (and can be moved with
# ``RouterModel(large_history=...)``), never on which data set is being learned.
LARGE_HISTORY = 1000
# Share of the examples held out to fit the NB-SVM's softmax temperature.
CALIBRATION_SHARE = 0.2


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
    """Word TF-IDF over jieba tokens beside character 1-3-gram TF-IDF, fitted once.

    ``text_chars`` adds character n-grams of the whole text (small histories);
    ``title_chars`` adds character n-grams of its first line, the title (large histories).
    ``compact`` keeps, once fitted, only each block's vocabulary and weights instead of
    scikit-learn's vectorizers, so that routing with the model never imports scikit-learn
    (0.7 s, a third of a cold start).
    """

    def __init__(self, *, max_features: int = 200000, min_df: int = 1, text_chars: bool = True,
                 title_chars: bool = False, compact: bool = False):
        self.max_features = max_features
        self.min_df = min_df
        self.text_chars = text_chars
        self.title_chars = title_chars
        self.compact = compact

    def _char_vectorizer(self, min_df: int):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=min_df,
                               max_features=self.max_features, dtype=np.float32)

    def fit(self, tokens: list[list[str]], texts: list[str]) -> "Featurizer":
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.words_ = TfidfVectorizer(
            analyzer=_tokens_as_is, sublinear_tf=True, min_df=self.min_df, max_features=self.max_features
        ).fit(tokens)
        names = [self.words_.get_feature_names_out()]
        self.chars_ = self.title_chars_ = None
        if self.text_chars:
            self.chars_ = self._char_vectorizer(self.min_df).fit([normalize(t) for t in texts])
            names.append(self.chars_.get_feature_names_out())
        if self.title_chars:
            # Titles are short and each n-gram in them is rare: keep every one.
            self.title_chars_ = self._char_vectorizer(1).fit([_first_line(t) for t in texts])
            names.append(self.title_chars_.get_feature_names_out())
        self.names_ = np.concatenate(names)
        if self.compact:
            for name in ("words_", "chars_", "title_chars_"):
                if getattr(self, name) is not None:
                    setattr(self, name, _Vocabulary(getattr(self, name)))
        return self

    def transform(self, tokens: list[list[str]], texts: list[str]) -> sp.csr_matrix:
        blocks = [self.words_.transform(tokens)]
        # getattr: models saved before the title block existed have only words_ and chars_.
        if getattr(self, "chars_", None) is not None:
            blocks.append(self.chars_.transform([normalize(t) for t in texts]))
        if getattr(self, "title_chars_", None) is not None:
            blocks.append(self.title_chars_.transform([_first_line(t) for t in texts]))
        X = sp.hstack(blocks, format="csr", dtype=np.float32)
        if getattr(self, "compact", False):
            return _l2_rows(X)
        from sklearn.preprocessing import normalize as l2_normalize

        return l2_normalize(X)


def _l2_rows(X: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length (empty rows stay empty), as sklearn's normalize does."""
    X = sp.csr_matrix(X)
    squares = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    X.data /= np.repeat(norms, np.diff(X.indptr)).astype(X.dtype)
    return X


_WHITE_SPACES = re.compile(r"\s\s+")


class _Vocabulary:
    """A fitted TfidfVectorizer reduced to what transforming needs: terms, idf, settings.

    It repeats the vectorizer's steps (for characters: lower-case, runs of white space to one
    space, n-grams; then counts, 1 + log, times idf, unit length), with numpy alone.
    """

    def __init__(self, vectorizer):
        self.tokens = callable(vectorizer.analyzer)
        self.ngram_range = tuple(vectorizer.ngram_range)
        self.lowercase = bool(vectorizer.lowercase)
        self.sublinear_tf = bool(vectorizer.sublinear_tf)
        self.dtype = np.dtype(vectorizer.dtype)
        self.vocabulary_ = dict(vectorizer.vocabulary_)
        self.idf_ = np.asarray(vectorizer.idf_, dtype=self.dtype)

    def _grams(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        text = _WHITE_SPACES.sub(" ", text)
        low, high = self.ngram_range
        grams = list(text) if low == 1 else []
        for n in range(max(low, 2), min(high, len(text)) + 1):
            grams.extend(text[i:i + n] for i in range(len(text) - n + 1))
        return grams

    def transform(self, documents) -> sp.csr_matrix:
        index = self.vocabulary_.get
        columns: list[int] = []
        indptr = [0]
        for document in documents:
            grams = document if self.tokens else self._grams(document)
            columns.extend([j for g in grams if (j := index(g)) is not None])
            indptr.append(len(columns))
        X = sp.csr_matrix(
            (np.ones(len(columns), dtype=self.dtype), np.asarray(columns, dtype=np.int64), np.asarray(indptr)),
            shape=(len(indptr) - 1, len(self.idf_)),
        )
        X.sum_duplicates()
        if self.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        X.data *= self.idf_[X.indices]
        return _l2_rows(X)


def _first_line(text: str) -> str:
    """The title: a suggestion's text is its title, a line break, then its body."""
    return normalize(text.split("\n", 1)[0])


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _NBSVM:
    """One-vs-rest linear SVMs on features scaled by naive Bayes log-count ratios.

    Each class gets the ratio ``r`` of how often a feature occurs in its examples against the
    others', and a linear SVM on ``X * r``; ``coef_`` stores ``r * w`` so that scoring is one
    sparse product, like any linear model. Probabilities are a softmax of the scores at a
    temperature fitted on a held-out share of the examples.
    """

    def __init__(self, *, C: float = 1.0, alpha: float = 1.0, calibration_share: float = CALIBRATION_SHARE,
                 random_state: int = 0):
        self.C = C
        self.alpha = alpha
        self.calibration_share = calibration_share
        self.random_state = random_state

    def _fit_linear(self, X: sp.csr_matrix, y: np.ndarray, weights: np.ndarray, classes: np.ndarray):
        from sklearn.svm import LinearSVC

        present = X.copy()
        present.data[:] = 1.0
        coef = np.zeros((len(classes), X.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(classes), dtype=np.float32)
        for j, label in enumerate(classes):
            positive = y == label
            p = self.alpha + np.asarray(present.T @ (weights * positive)).ravel()
            q = self.alpha + np.asarray(present.T @ (weights * ~positive)).ravel()
            ratio = (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)
            svm = LinearSVC(C=self.C, dual=True, max_iter=2000, random_state=self.random_state)
            svm.fit(X @ sp.diags(ratio), positive, sample_weight=weights)
            coef[j] = ratio * svm.coef_[0]
            intercept[j] = svm.intercept_[0]
        return coef, intercept

    def fit(self, X, y, sample_weight=None) -> "_NBSVM":
        X = sp.csr_matrix(X, dtype=np.float32)
        y = np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.classes_ = np.unique(y)
        self.temperature_ = self._fit_temperature(X, y, weights)
        self.coef_, self.intercept_ = self._fit_linear(X, y, weights, self.classes_)
        return self

    def _fit_temperature(self, X, y, weights) -> float:
        rng = np.random.default_rng(self.random_state)
        held = rng.random(len(y)) < self.calibration_share
        fit_classes = np.unique(y[~held])
        scored = held & np.isin(y, fit_classes)
        if len(fit_classes) < 2 or scored.sum() < 2:
            return 1.0
        coef, intercept = self._fit_linear(X[~held], y[~held], weights[~held], fit_classes)
        scores = np.asarray(X[scored] @ coef.T) + intercept
        truth = np.searchsorted(fit_classes, y[scored])
        best, best_loss = 1.0, np.inf
        for temperature in np.geomspace(0.02, 5.0, 80):
            z = scores / temperature
            z -= z.max(axis=1, keepdims=True)
            loss = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(truth)), truth]))
            if loss < best_loss:
                best, best_loss = float(temperature), loss
        return best

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        return _softmax(self.decision_function(X), self.temperature_)


class _LabelModel:
    """History classifier plus description prototypes over one label set."""

    def __init__(self, labels: list[str], prototypes: sp.csr_matrix, C: float, *, large: bool = False):
        self.labels = labels
        self.prototypes = prototypes
        self.C = C
        self.large = large
        self.classifier_ = None
        self.n_ = 0

    def fit(self, X, y: list[str], sample_weight=None) -> "_LabelModel":
        self.n_ = len(y)
        if len(set(y)) >= 2:
            if self.large:
                # The profile's C is tuned for the logistic regression; the SVMs' own default
                # of 1 suits their scaled features (0.3 and 3 were no better).
                self.classifier_ = _NBSVM()
            else:
                from sklearn.linear_model import LogisticRegression

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

    def __init__(self, *, prior_strength: float = 40.0, C: float = 4.0, max_features: int = 200000, min_df: int = 1,
                 large_history: int = LARGE_HISTORY):
        self.prior_strength = prior_strength
        self.C = C
        self.max_features = max_features
        self.min_df = min_df
        self.large_history = large_history
        self.tokenizer = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["tokenizer"] = None
        # joblib unpickles with a pure-Python unpickler, which takes about a second over a
        # vocabulary of 200,000 terms (most of a cold start); the C unpickler takes a tenth of
        # that. So the state travels as one blob pickled by the C pickler.
        return {"packed_state": pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)}

    def __setstate__(self, state):
        if "packed_state" in state:  # models saved before packing hold their state as is
            state = pickle.loads(state["packed_state"])
        self.__dict__.update(state)

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
        large = len(examples) >= self.large_history
        self.hmm_ = not large
        texts = [e.text for e in examples]
        tokens = self.tokens_of(texts, intern=True)
        proto_tokens = self.tokens_of(topic_texts + division_texts)
        self.featurizer_ = Featurizer(max_features=self.max_features, min_df=1 if not examples else self.min_df,
                                      text_chars=not large, title_chars=large, compact=large)
        self.featurizer_.fit(tokens + proto_tokens, texts + topic_texts + division_texts)
        protos = self.featurizer_.transform(proto_tokens, topic_texts + division_texts)
        n_topics = len(topic_texts)
        self.topic_model_ = _LabelModel(self.topics_, protos[:n_topics], self.C, large=large)
        self.division_model_ = _LabelModel(self.divisions_, protos[n_topics:], self.C, large=large)
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

    def tokens_of(self, texts: list[str], *, intern: bool = False) -> list[list[str]]:
        """Tokens as this model was trained on them (models saved before ``hmm_`` used the HMM).

        ``intern`` keeps one string object per distinct word: a history of 100,000 texts holds
        some 20 million tokens, and separate copies of each took gigabytes.
        """
        hmm = getattr(self, "hmm_", True)
        cut = self.tokenizer.cut
        if intern:
            return [list(map(sys.intern, cut(text, hmm=hmm))) for text in texts]
        return [cut(text, hmm=hmm) for text in texts]

    @property
    def history_weight(self) -> float:
        n = self.n_examples_
        return n / (n + self.prior_strength) if n else 0.0

    def decide(self, texts: list[str], tokens: list[list[str]] | None = None, *, n_reasons: int = 5) -> list[Decision]:
        """Topic and division probabilities, the dominant source, and the terms that weighed most."""
        if not texts:
            return []
        if tokens is None:
            tokens = self.tokens_of(texts)
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
        rows = np.arange(len(texts))
        t_best = np.argmax(topic_p, axis=1)
        d_best = np.argmax(div_p, axis=1)
        # The part that gave the chosen division most; ties go to the first, as max() would.
        names = list(parts)
        sources = np.argmax(np.stack([parts[name][rows, d_best] for name in names]), axis=0)
        reasons = self._reasons_many(X, t_best, w, n_reasons)
        topic_rows = topic_p.round(6).tolist()
        division_rows = div_p.round(6).tolist()
        return [
            Decision(
                topic_proba=dict(zip(self.topics_, topic_rows[i])),
                division_proba=dict(zip(self.divisions_, division_rows[i])),
                source=names[sources[i]],
                reasons=reasons[i],
            )
            for i in range(len(texts))
        ]

    def _reasons_many(self, X: sp.csr_matrix, topic_index: np.ndarray, w: float, k: int) -> list[list[str]]:
        """For each row, the features that pushed hardest towards its chosen topic.

        The same sums as a row-by-row loop, computed over the whole batch at once: each stored
        value of ``X`` is weighed by the chosen topic's coefficient and prototype.
        """
        X = sp.csr_matrix(X)
        indices, values, indptr = X.indices, X.data, X.indptr
        row_of = np.repeat(np.arange(X.shape[0]), np.diff(indptr))
        chosen_topic = topic_index[row_of]
        weight = np.zeros(len(indices))
        classifier = self.topic_model_.classifier_
        if classifier is not None and w > 0:
            classes = list(classifier.classes_)
            coef = np.asarray(classifier.coef_)
            # Row of coef_ and sign for each topic; a binary model has one row for class 1.
            coef_row = np.full(len(self.topics_), -1)
            sign = np.ones(len(self.topics_))
            for t, label in enumerate(self.topics_):
                if label in classes:
                    c = classes.index(label)
                    if coef.shape[0] > 1:
                        coef_row[t] = c
                    else:
                        coef_row[t], sign[t] = 0, 1 if c == 1 else -1
            known = coef_row[chosen_topic] >= 0
            picked = coef[coef_row[chosen_topic[known]], indices[known]]
            if coef.shape[0] == 1:
                picked = picked * sign[chosen_topic[known]]
            weight[known] += w * values[known] * picked
        prototypes = self.topic_model_.prototypes.toarray()
        weight += (1 - w) * values * prototypes[chosen_topic, indices] / PROTOTYPE_TEMPERATURE * 0.1
        names = self.featurizer_.names_
        out = []
        for i in range(X.shape[0]):
            lo, hi = indptr[i], indptr[i + 1]
            chosen: list[str] = []
            if hi > lo:
                segment = weight[lo:hi]
                for j in np.argsort(-segment):
                    if segment[j] <= 0 or len(chosen) >= k:
                        break
                    name = str(names[indices[lo + j]]).strip()
                    if len(name) < 2 or any(name in c or c in name for c in chosen):
                        continue
                    chosen.append(name)
            out.append(chosen)
        return out
