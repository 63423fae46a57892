"""Topic and division models: history-trained classifiers blended with the profile's priors.

Each decision is a probability over the profile's labels made of three parts:

- ``model``: a linear classifier trained on the labelled history, over the features of the
  text models behind the seam of :mod:`router.textmodels`: the sparse one (word and
  character TF-IDF, :mod:`router.textmodels.features`) and, for a small history, the
  sentence encoder (:mod:`router.semantic`), whose vectors carry meaning beyond the
  history's own words. From ``LARGE_HISTORY`` examples on the classifier takes the
  large-data form described at that constant;
- ``remit``: similarity of the text to the profile's own words for each label (a topic's
  description, terms and typical asks; a division's remit and typical asks), which needs no
  history at all;
- ``rule``: for divisions only, the profile's topic -> usual lead division rules applied to
  the topic probabilities.

How much the history weighs against the priors is learned from the history itself, per task
(topics, divisions: ``weights_``, with the evidence in ``blend_evidence_``): with two or more
years, every later year is routed (by its titles alone, as many intakes are) by a model
trained on the years before; with one year, by five-fold cross-validation inside it. The
weight that routes the held-out titles best is kept, at most ``n / (n + prior_strength)``
so that thin evidence shrinks to the priors; with no history, routing is from remits and
rules alone (cold start). History only moves probability among the labels it has examples
of (a label it never saw keeps its prior probability). The weight comes from the data and
the profile, never from which data set is being routed.

A profile that keeps the default profile's five seed topics but has divisions of its own
(the county, city and province templates) takes its topics' prior from the bundled default
model as well: a copy of that model's topic part travels in the model
(:class:`router.seeds.SeedTopics`, recorded in the manifest as ``seed_topics``).

Why one module of about 760 lines: fitting, the choice of weights and the blend of routing read
the same per-task arrays (weights, seen labels, priors) and change together; the text models, the
linear classifiers and the seed topics are modules of their own.
"""

from __future__ import annotations

import contextlib
import pickle
import sys

import numpy as np
import scipy.sparse as sp

from .domain import Decision, Example
from .profile import Profile
from .textmodels import LARGE_HISTORY, LARGE_MEANING, MEANING, SEMANTIC_WEIGHT, Prototypes, TextFeatures
from .textmodels.linear import NBSVM, softmax
from .words import is_meaningful

__all__ = ["RouterModel", "Decision", "Example", "LARGE_HISTORY", "FORMAT"]

# The model's own layout, recorded in the manifest (registry.FORMAT_VERSION says the folder's).
FORMAT = "router-blend-2"
# The divisions' prior is the remit match times (topic rule + RULE_FLOOR): the smaller the
# floor, the more a division outside the topic's usual leads needs a clear remit match.
RULE_FLOOR = 0.1
# A past suggestion this close (cosine of the TF-IDF rows; the near-duplicate mark's level) is
# the same ask filed again: its confirmed route weighs this much against the blend, so a
# reviewer's correction is followed next time even where the priors outweigh the history.
PRECEDENT_MIN = 0.75
# Remembered suggestions a decision keeps for similar search (which shows three, looking at up
# to seven to skip the suggestion itself when a year the model learned from is routed again).
NEAREST = 8
PRECEDENT_WEIGHT = 0.8
# Conventions: confirmed titles at least this close to a row's title vote for its division
# (see RouterModel._conventions); the closest weigh most (softmax at this temperature).
CONVENTION_MIN = 0.35
# From this cosine on, the vote moves the row by the full PRECEDENT_WEIGHT.
CONVENTION_FULL = 0.7
CONVENTION_TEMPERATURE = 0.05
# The titles a model keeps for its conventions (the latest ones; the small form has fewer
# than LARGE_HISTORY).
CONVENTION_MAX = 1000
# The candidate history weights the temporal backtest chooses from.
WEIGHT_GRID = tuple(round(x, 2) for x in np.linspace(0.0, 1.0, 21))
# Folds of the cross-validation that weighs a single year's history.
CV_FOLDS = 5



class _LabelModel:
    """The history classifier over one label set (topics, or lead divisions).

    Fitting uses scikit-learn (or :class:`NBSVM`); what predicting needs is kept as arrays
    (``classes_``, ``coef_``, ``intercept_`` and the kind of link), so that a loaded model
    predicts with numpy alone and routing never imports scikit-learn (1.7-2.6 s on a cold
    start). The fitted estimator itself stays in ``estimator_`` until the model is pickled
    (the parity test compares the two).
    """

    def __init__(self, labels: list[str], *, C: float, large: bool):
        self.labels = labels
        self.C = C
        self.large = large

    def fit(self, X, y: list[str], sample_weight=None) -> "_LabelModel":
        self.n_ = len(y)
        self.estimator_ = None
        self.single_ = None
        self.kind_ = None
        self.classes_ = self.coef_ = self.intercept_ = None
        self.temperature_ = 1.0
        if len(set(y)) >= 2:
            if self.large:
                # The profile's C is tuned for the logistic regression; the SVMs' own default
                # of 1 suits their scaled features (0.3 and 3 were no better).
                estimator = NBSVM()
            else:
                from sklearn.linear_model import LogisticRegression

                # Unweighted: "balanced" weights inflated the departments a year had one or two
                # examples of (their rows weighed as much as a whole common class).
                estimator = LogisticRegression(C=self.C, max_iter=3000, tol=1e-3)
            estimator.fit(X, y, sample_weight=sample_weight)
            self._keep(estimator)
        elif len(set(y)) == 1:
            self.single_ = y[0]
        return self

    def _keep(self, estimator) -> None:
        """The arrays that predicting reads, from a fitted estimator."""
        self.estimator_ = estimator
        self.kind_ = type(estimator).__name__
        self.classes_ = np.asarray(estimator.classes_)
        self.coef_ = np.ascontiguousarray(estimator.coef_)
        self.intercept_ = np.asarray(estimator.intercept_, dtype=self.coef_.dtype).ravel()
        self.temperature_ = float(getattr(estimator, "temperature_", 1.0))
        self.column_ = np.array([self.labels.index(label) for label in self.classes_])

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("estimator_", None)
        return state

    def __setstate__(self, state):
        # A model pickled before the arrays were kept holds its estimator as ``classifier_``.
        classifier = state.pop("classifier_", None)
        self.__dict__.update(state)
        self.estimator_ = None
        if "kind_" not in state:
            self.kind_ = self.classes_ = self.coef_ = self.intercept_ = None
            self.temperature_ = 1.0
            if classifier is not None:
                self._keep(classifier)
                self.estimator_ = None

    def decision(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_

    def proba(self, X) -> np.ndarray:
        out = np.zeros((X.shape[0], len(self.labels)), dtype=np.float64)
        if self.coef_ is not None:
            scores = self.decision(X)
            if scores.shape[1] == 1:  # a binary logistic regression scores the second class
                p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
                proba = np.column_stack([1.0 - p, p])
            else:
                proba = softmax(scores, self.temperature_)
            out[:, self.column_] = proba
        elif self.single_ is not None:
            out[:, self.labels.index(self.single_)] = 1.0
        return out

    def seen(self) -> np.ndarray:
        """Which labels the history had examples of (the only ones its probabilities speak for)."""
        mask = np.zeros(len(self.labels), dtype=bool)
        if self.classes_ is not None:
            mask[self.column_] = True
        elif self.single_ is not None:
            mask[self.labels.index(self.single_)] = True
        return mask


def _redistribute(hist: np.ndarray, prior: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The prior's mass on the ``seen`` labels shared out as ``hist`` says; other labels keep the prior."""
    if not seen.any():
        return prior
    mass = (prior * seen).sum(axis=1, keepdims=True)
    return np.where(seen, hist * mass, prior)


def _best_weight(scores: dict[float, np.ndarray], cap: float = 1.0) -> tuple[float, dict]:
    """The weight (at most ``cap``) whose held-out titles were right most often; ties to the smaller.

    The one-standard-error rule (the smallest weight within one SE of the best) was tried
    here: on the written history's temporal backtest it cost 0.04 topic accuracy (0.970 ->
    0.928; a year's model trained on the one year before kept to the priors), while the cap
    ``n / (n + prior_strength)`` kept small histories as close to the cold start (dev set).
    For seeded topics (:class:`router.seeds.SeedTopics`) it kept the learning curve at the cold start
    (county template, dev set, all rows: topic +0.000) where the cap that counts the seed's
    own examples (see :meth:`RouterModel._choose_weight`) lets it rise (+0.013).
    """
    scores = {w: v for w, v in scores.items() if w <= cap + 1e-9}
    means = {w: float(v.mean()) for w, v in scores.items()}
    chosen = min(means, key=lambda w: (-means[w], w))
    return float(chosen), {"accuracy_by_weight": {str(w): round(v, 4) for w, v in means.items()},
                           "chosen": float(chosen), "cap": round(cap, 4)}


@contextlib.contextmanager
def _caches_in(tokenizer):
    """While fitting, the sentence encoder keeps its parsed vocabulary and weights in the
    tokenizer's cache folder (a loaded model's encoder is given it by the loader)."""
    from .semantic import SentenceEncoder

    previous = SentenceEncoder.cache
    SentenceEncoder.cache = getattr(tokenizer, "cache", None) or previous
    try:
        yield
    finally:
        SentenceEncoder.cache = previous


def _label_counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _title_only(text: str) -> str:
    return text.split("\n", 1)[0]


class RouterModel:
    """Learns topics and lead divisions from history and the profile; routes in batches.

    Parameters are stored as given; learned state is set by :meth:`fit` and ends in ``_``.
    The tokenizer is not part of the pickled state: the model folder keeps the dictionary
    and the loader attaches a tokenizer built from it (see :mod:`router.registry`).
    """

    def __init__(self, *, prior_strength: float, C: float, max_features: int, min_df: int,
                 large_history: int = LARGE_HISTORY, semantic: bool = True,
                 semantic_weight: float = SEMANTIC_WEIGHT, meaning: str = MEANING,
                 large_meaning: str | None = LARGE_MEANING):
        self.prior_strength = prior_strength
        self.C = C
        self.max_features = max_features
        self.min_df = min_df
        self.large_history = large_history
        self.semantic = semantic
        self.semantic_weight = semantic_weight
        # The meaning model of each form (textmodels.MEANING_KINDS; None: none in the large form).
        self.meaning = meaning
        self.large_meaning = large_meaning
        self.tokenizer = None

    def __getstate__(self):
        state = self.__dict__.copy()
        for transient in ("tokenizer", "manifest", "folder"):
            state.pop(transient, None)
        # joblib unpickles with a pure-Python unpickler, which takes about a second over a
        # vocabulary of 200,000 terms (most of a cold start); the C unpickler takes a tenth of
        # that. So the state travels as one blob pickled by the C pickler.
        return {"packed_state": pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)}

    def __setstate__(self, state):
        self.__dict__.update(pickle.loads(state["packed_state"]))
        self.tokenizer = None
        self.__dict__.setdefault("review_confidences_", None)
        self.__dict__.setdefault("seed_", None)
        if "weights_" not in self.__dict__:
            # A model fitted before per-task weights: one weight, history over every label.
            self.weights_ = {"topic": self.history_weight_, "division": self.history_weight_}
            self.topic_seen_ = np.ones(len(self.topics_), dtype=bool)
            self.division_seen_ = np.ones(len(self.divisions_), dtype=bool)

    @classmethod
    def from_profile(cls, profile: Profile, **overrides) -> "RouterModel":
        settings = dict(prior_strength=profile.prior_strength, C=profile.C, max_features=profile.max_features,
                        min_df=profile.min_df)
        settings.update(overrides)
        return cls(**settings)

    # ----- fitting -----

    def fit(self, examples: list[Example], profile: Profile, tokenizer, *, seed=True) -> "RouterModel":
        """Fit on ``examples`` (none: a cold start from the profile alone).

        ``seed``: take the topics' distribution from the bundled default model where the
        profile keeps its seed topics (:func:`router.seeds.bundled_seed`; True), never (False),
        or from this :class:`router.seeds.SeedTopics`.
        """
        # One BLAS thread: on problems of this size OpenBLAS threads fight over the cores
        # (the logistic regressions took ten times longer with two threads than with one).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1), _caches_in(tokenizer):
            return self._fit(examples, profile, tokenizer, seed)

    def _fit(self, examples: list[Example], profile: Profile, tokenizer, seed=True) -> "RouterModel":
        self.tokenizer = tokenizer
        self.topics_ = profile.topic_keys
        self.divisions_ = profile.division_keys
        large = len(examples) >= self.large_history
        self.large_ = large
        self.hmm_ = not large
        texts = [e.text for e in examples]
        # Each labelled text also teaches by its title alone: many intakes are title lists.
        title_texts = [_title_only(t) for t in texts] if not large else []
        tokens = self.tokens_of(texts + title_texts, intern=True)
        meaning = getattr(self, "large_meaning", LARGE_MEANING) if large else getattr(self, "meaning", MEANING)
        self.features_ = TextFeatures(max_features=self.max_features, min_df=self.min_df if examples else 1,
                                      large=large, semantic=self.semantic and bool(meaning),
                                      semantic_weight=self.semantic_weight, meaning=meaning or "encoder")
        topic_phrases = [[f"{t.name}：{t.description}", *t.terms, *getattr(t, "asks", ())] for t in profile.topics]
        division_phrases = [[f"{d.name}：{d.remit}", *getattr(d, "asks", ())] for d in profile.divisions]
        proto_texts = [" ".join(p) for p in topic_phrases + division_phrases]
        proto_tokens = self.tokens_of(proto_texts)
        # The profile's own words always stay in the vocabulary, whatever min_df prunes of the
        # history's: without them the priors lose a third of their terms once history exists.
        self.features_.fit(tokens + proto_tokens, texts + title_texts + proto_texts, kept=len(proto_texts))
        self.topic_prior_ = Prototypes(self.features_, topic_phrases, self.tokens_of)
        self.division_prior_ = Prototypes(self.features_, division_phrases, self.tokens_of)
        self.rules_ = self._rules(profile)
        # The small form only: from LARGE_HISTORY examples on the history weighs n / (n + prior_strength)
        # (at least 0.96) and the large form has no sentence vectors to lend the seed.
        from .seeds import bundled_seed

        candidate = (bundled_seed(profile) if seed is True else seed or None) if not large else None
        self.seed_ = candidate if candidate is not None and candidate.fits(self.features_) else None
        # Where a static table routes first ("static-then-encoder"), the encoder reads the
        # texts whose topic or lead division is unsure as review would call it.
        self.unsure_ = (profile.threshold, profile.margin)
        self.topic_model_ = _LabelModel(self.topics_, C=self.C, large=large)
        self.division_model_ = _LabelModel(self.divisions_, C=self.C, large=large)
        self.n_examples_ = len(examples)
        self.margin_ = profile.margin
        # Per held-out title of the weights' evidence: the confidence (the lower of the topic's
        # and the division's top probability) under which it goes to review; -1 where the
        # runner-up's margin sends it anyway. Read by review_threshold.
        self.review_confidences_ = None
        self.memory_ = None  # set by router.similar.attach_memory
        self.blend_evidence_ = {}
        self.conventions_ = None
        self.history_weight_ = 0.0
        self.weights_ = {"topic": 0.0, "division": 0.0}
        if examples:
            X = self.features_.transform(tokens, texts + title_texts, exact=True)
            weights = np.array([e.weight for e in examples] * (2 if title_texts else 1), dtype=float)
            topics = [e.topic for e in examples] * (2 if title_texts else 1)
            divisions = [e.division for e in examples] * (2 if title_texts else 1)
            self.topic_model_.fit(X, topics, weights)
            self.division_model_.fit(X, divisions, weights)
            self.weights_ = self._choose_weight(examples, X, weights, self._topic_base(X, tokens))
            self.history_weight_ = self.weights_["topic"]
            if title_texts:
                # The confirmed titles (the small form's title rows), for the conventions. The
                # large form has none: its rows are whole texts, whose character n-grams make
                # every pair a little similar (a near-dense product over thousands of rows),
                # and its classifier already follows what thousands of examples say.
                rows = self.features_.sparse_block(X[len(examples):])[-CONVENTION_MAX:]
                labels = np.array([self.divisions_.index(e.division) for e in examples][-CONVENTION_MAX:])
                self.conventions_ = (sp.csr_matrix(rows, dtype=np.float32), labels)
        else:
            # Cold start: nothing learned; the priors route alone.
            self.topic_model_.fit(None, [])
            self.division_model_.fit(None, [])
        self.topic_seen_ = self.topic_model_.seen()
        self.division_seen_ = self.division_model_.seen()
        self.topic_counts_ = _label_counts([e.topic for e in examples])
        self.division_counts_ = _label_counts([e.division for e in examples])
        return self

    def _rules(self, profile: Profile) -> np.ndarray:
        rules = np.zeros((len(self.topics_), len(self.divisions_)))
        for i, topic in enumerate(self.topics_):
            leads = profile.rules.get(topic, ())
            for rank, division in enumerate(leads):
                rules[i, self.divisions_.index(division)] = 0.5 ** rank
            if leads:
                rules[i] /= rules[i].sum()
            else:
                rules[i] = 1.0 / len(self.divisions_)
        return rules

    def _folds(self, examples: list[Example]):
        """Where the evidence for the history weights comes from: (kind, train mask, test mask) over
        the doubled rows (texts, then titles). Tests are always titles, as many intakes are.

        Two or more years: every later year, from the years before (the temporal backtest).
        One year: K-fold cross-validation inside it (fixed seed), so that a single year is
        evidence too.
        """
        n = len(examples)
        years = sorted({e.year for e in examples if e.year is not None})
        is_title = np.array([False] * n + [True] * n)
        if len(years) >= 2:
            year_of = np.array([e.year if e.year is not None else years[0] for e in examples] * 2)
            return "temporal", [(year_of < year, (year_of == year) & is_title) for year in years[1:]]
        k = min(CV_FOLDS, n)
        if k < 2:
            return "none", []
        fold = np.random.default_rng(0).permutation(n) % k
        fold = np.concatenate([fold, fold])
        return "cross_validation", [(fold != f, (fold == f) & is_title) for f in range(k)]

    def _choose_weight(self, examples: list[Example], X, weights: np.ndarray, topic_base: np.ndarray) -> dict:
        """Per task, the history weight that routed held-out titles best (see :func:`_best_weight`).

        The features were fitted on every text (no labels seen), the classifiers of each fold
        only on its training rows. The topic weight is chosen first (the division rule reads
        the topic probabilities), then the division weight given it. With thin evidence the
        weight shrinks to the priors: it is at most ``n / (n + prior_strength)``.
        """
        if self.large_:
            # Tens of thousands of rows: the history is the evidence; refitting folds costs more
            # than it tells.
            w = len(examples) / (len(examples) + self.prior_strength)
            return {"topic": w, "division": w}
        kind, folds = self._folds(examples)
        topic_y = np.array([self.topics_.index(e.topic) for e in examples] * 2)
        division_y = np.array([self.divisions_.index(e.division) for e in examples] * 2)
        parts = []
        for train, test in folds:
            if not train.any() or not test.any():
                continue
            topic_model = _LabelModel(self.topics_, C=self.C, large=False).fit(
                X[train], [self.topics_[i] for i in topic_y[train]], weights[train])
            division_model = _LabelModel(self.divisions_, C=self.C, large=False).fit(
                X[train], [self.divisions_[i] for i in division_y[train]], weights[train])
            Xt = X[test]
            parts.append(dict(topic_hist=topic_model.proba(Xt), div_hist=division_model.proba(Xt),
                              topic_prior=topic_base[test], div_remit=self.division_prior_.proba(Xt),
                              topic_seen=topic_model.seen(), division_seen=division_model.seen(),
                              topic_true=topic_y[test], division_true=division_y[test]))
        if not parts:
            return {"topic": 0.0, "division": 0.0}
        count = sum(len(part["topic_true"]) for part in parts)

        def correct(w_topic, w_division, task):
            out = []
            for part in parts:
                topic_p, div_p, _ = self._blend((w_topic, w_division), part["topic_hist"], part["topic_prior"],
                                                part["div_hist"], part["div_remit"],
                                                seen=(part["topic_seen"], part["division_seen"]))
                p, truth = (topic_p, part["topic_true"]) if task == "topic" else (div_p, part["division_true"])
                out.append(p.argmax(axis=1) == truth)
            return np.concatenate(out).astype(float)

        evidence = {"kind": kind, "items": count}
        # Thin evidence shrinks to the priors: a history of n rows weighs at most n / (n + prior_strength).
        cap = len(examples) / (len(examples) + self.prior_strength)
        topic_scores = {w: correct(w, 0.0, "topic") for w in WEIGHT_GRID}
        # Seeded topics: the seed is itself a history model of ``examples_`` rows, so the office's own
        # rows weigh at most n / (n + prior_strength + those rows) against it.
        topic_cap = cap if self.seed_ is None else len(examples) / (len(examples) + self.prior_strength
                                                                  + self.seed_.examples_)
        w_topic, evidence["topic"] = _best_weight(topic_scores, topic_cap)
        division_scores = {w: correct(w_topic, w, "division") for w in WEIGHT_GRID}
        w_division, evidence["division"] = _best_weight(division_scores, cap)
        self.review_confidences_ = self._review_confidences(parts, (w_topic, w_division))
        self.blend_evidence_ = evidence
        return {"topic": w_topic, "division": w_division}

    def _review_confidences(self, parts, weights) -> np.ndarray:
        out = []
        for part in parts:
            topic_p, div_p, _ = self._blend(weights, part["topic_hist"], part["topic_prior"], part["div_hist"],
                                            part["div_remit"], seen=(part["topic_seen"], part["division_seen"]))
            tops = []
            for p in (topic_p, div_p):
                ranked = np.sort(p, axis=1)
                top, second = ranked[:, -1], ranked[:, -2] if p.shape[1] > 1 else np.zeros(len(p))
                tops.append(np.where(top - second < self.margin_, -1.0, top))
            out.append(np.minimum(*tops))
        return np.concatenate(out).astype(np.float32)

    def review_threshold(self, profile: Profile) -> float:
        """The review threshold routing uses: the profile's, or the one its [review] share asks for.

        With ``share``, the threshold is the confidence under which that share of the
        held-out titles of this model's own evidence (cross-validation or temporal backtest)
        went to review; without evidence (cold start, large histories) it is the profile's.
        """
        confidences = getattr(self, "review_confidences_", None)
        if profile.review_share is None or confidences is None or len(confidences) < 10:
            return profile.threshold
        c = np.sort(confidences)
        index = int(round(profile.review_share * len(c)))
        if index >= len(c):
            return 1.0
        # Rows under c[index] go to review: as near the share as the evidence's ties allow.
        return float(max(c[index], 0.0))

    # ----- routing -----

    def tokens_of(self, texts: list[str], *, intern: bool = False) -> list[list[str]]:
        """Content words as this model was trained on them (place names and numbers left out).

        ``intern`` keeps one string object per distinct word: a history of 100,000 texts holds
        some 20 million tokens, and separate copies of each took gigabytes.
        """
        words = self.tokenizer.content_words
        hmm = self.hmm_
        if intern:
            return [list(map(sys.intern, words(text, hmm=hmm))) for text in texts]
        return [words(text, hmm=hmm) for text in texts]

    def warm(self) -> "RouterModel":
        """Load now what routing loads on first use (jieba's dictionary, the encoder's weights),
        so that forked workers share it instead of each loading its own."""
        self.tokenizer.warm()
        for part in (vars(self.features_) if hasattr(self, "features_") else {}).values():
            if callable(getattr(part, "warm", None)):
                part.warm()
        return self

    def _topic_base(self, X, tokens: list[list[str]]) -> np.ndarray:
        """The topics' prior: the profile's own words, with the bundled topic model where it seeds them."""
        prior = self.topic_prior_.proba(X)
        seed = getattr(self, "seed_", None)
        if seed is None:
            return prior
        return seed.base(self.topics_, self.features_, X, tokens, prior)

    def read_all(self) -> "RouterModel":
        """:meth:`warm`, and the dictionaries read in parts as texts need them (jieba's, the encoder's)
        read whole: before workers fork, so that they share them instead of each reading its own."""
        self.warm()
        self.tokenizer.read_all()
        for part in (vars(self.features_) if hasattr(self, "features_") else {}).values():
            if callable(getattr(part, "read_all", None)):
                part.read_all()
        return self

    @property
    def history_weight(self) -> float:
        return self.history_weight_

    def _blend(self, w, topic_hist, topic_prior, div_hist, div_remit, seen=None):
        """Priors and history per task: ``w`` is the (topic, division) history weights.

        History moves probability only among the labels it has examples of: its share of a
        row is the priors' mass on those labels, redistributed as the classifier says; a
        label the history never saw keeps its prior probability whole.
        """
        w_topic, w_division = (w, w) if np.isscalar(w) else w
        topic_seen, division_seen = seen if seen is not None else (self.topic_seen_, self.division_seen_)
        topic_p = (1 - w_topic) * topic_prior + w_topic * _redistribute(topic_hist, topic_prior, topic_seen)
        div_rule = topic_p @ self.rules_
        div_prior = self._division_prior(div_rule, div_remit)
        mass = (div_prior * division_seen).sum(axis=1, keepdims=True)
        # Each label's share of the prior: all of it where history never saw the label.
        prior_share = np.where(division_seen, 1 - w_division, 1.0) * div_prior
        # The prior's credit splits between rule and remit as their logarithms weighed.
        rule_part = np.log(div_rule + RULE_FLOOR) - np.log(RULE_FLOOR)
        remit_part = np.log(div_remit * len(self.divisions_) + 1.0)
        rule_credit = rule_part / np.maximum(rule_part + remit_part, 1e-12)
        parts = {
            "model": w_division * np.where(division_seen, div_hist * mass, 0.0),
            "rule": prior_share * rule_credit,
            "remit": prior_share * (1 - rule_credit),
        }
        return topic_p, parts["model"] + parts["rule"] + parts["remit"], parts

    @staticmethod
    def _division_prior(div_rule, div_remit):
        """The divisions' prior: the remit match, scaled by how usual the topic's rule makes each.

        A product, not a sum: the topic rule says which divisions usually lead that topic,
        so it weighs a division up or down (by ``div_rule + RULE_FLOOR``) but cannot on its
        own outvote a clear remit match, as a share of the sum did (a street-light ask went
        to transport because infrastructure's rule leads with it, although the remit text
        matched housing and construction best).
        """
        prior = div_remit * (div_rule + RULE_FLOOR)
        return prior / prior.sum(axis=1, keepdims=True)

    def features(self, texts: list[str], tokens: list[list[str]] | None = None):
        """The feature rows of ``texts``: what routing, similar search and duplicates share."""
        if tokens is None:
            tokens = self.tokens_of(texts)
        return self.features_.transform(tokens, texts)

    def decide(self, texts: list[str], tokens: list[list[str]] | None = None, *, n_reasons: int = 5,
               X=None) -> list[Decision]:
        """Topic and division probabilities, the dominant source, and the words that weighed most."""
        if not texts:
            return []
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self._decide(texts, tokens, n_reasons, X)

    def _decide(self, texts, tokens, n_reasons, X) -> list[Decision]:
        if tokens is None and getattr(self, "seed_", None) is not None:
            tokens = self.tokens_of(texts)  # the seeded topics read them (pass them with X to cut once)
        if X is None:
            X = self.features(texts, tokens)
        weights = self.weights_
        w = weights["topic"]
        pair = (weights["topic"], weights["division"])
        if self.features_.refines:
            X = self._refined(X, texts, pair, tokens)
        topic_p, div_p, parts = self._blend(pair, self.topic_model_.proba(X), self._topic_base(X, tokens),
                                            self.division_model_.proba(X), self.division_prior_.proba(X))
        scores = self._memory_scores(X)
        topic_p, div_p = self._precedents(X, topic_p, div_p, scores)
        nearest = _nearest(scores) if scores is not None else [None] * len(texts)
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
                nearest=nearest[i],
            )
            for i in range(len(texts))
        ]

    def _refined(self, X, texts, w, tokens):
        """``X`` with the encoder's vectors on the rows the static table left unsure.

        Unsure as review calls it: the topic or the lead division below the profile's
        threshold, or within its margin of the runner-up.
        """
        topic_p, div_p, _ = self._blend(w, self.topic_model_.proba(X), self._topic_base(X, tokens),
                                        self.division_model_.proba(X), self.division_prior_.proba(X))
        threshold, margin = getattr(self, "unsure_", (0.5, 0.08))
        unsure = np.zeros(X.shape[0], dtype=bool)
        for p in (topic_p, div_p):
            ranked = np.sort(p, axis=1)
            unsure |= ranked[:, -1] < threshold
            if ranked.shape[1] > 1:
                unsure |= ranked[:, -1] - ranked[:, -2] < margin
        return self.features_.refine(X, texts, unsure)

    def _memory_scores(self, X):
        """Cosines of each row to each remembered suggestion (dense: rows × memory), or None.

        Computed once per batch: precedents read each row's best, similar search its closest.
        """
        memory = self.memory_
        if memory is None or memory.vectors is None:
            return None
        return (self.features_.sparse_block(X) @ memory.vectors.T).toarray()

    def _precedents(self, X, topic_p, div_p, scores=None):
        """A past suggestion filing the same ask, then the office's conventions for asks like it."""
        if scores is not None:
            topic_p, div_p = self._same_ask(scores, topic_p, div_p)
        return topic_p, self._conventions(X, div_p)

    def _same_ask(self, scores, topic_p, div_p):
        """Move each row towards the confirmed route of a past suggestion that files the same ask
        (the closest remembered one at cosine ``PRECEDENT_MIN`` or more; of equals, the most recent:
        the same text routed twice follows the office's later decision)."""
        memory = self.memory_
        if scores.shape[1] == 0:
            return topic_p, div_p
        best = scores.shape[1] - 1 - scores[:, ::-1].argmax(axis=1)
        topic_p, div_p = topic_p.copy(), div_p.copy()
        for i in np.flatnonzero(scores[np.arange(len(best)), best] >= PRECEDENT_MIN):
            item = memory.items[int(best[i])]
            if item["topic"] in self.topics_ and item["division"] in self.divisions_:
                topic_p[i] *= 1 - PRECEDENT_WEIGHT
                topic_p[i, self.topics_.index(item["topic"])] += PRECEDENT_WEIGHT
                div_p[i] *= 1 - PRECEDENT_WEIGHT
                div_p[i, self.divisions_.index(item["division"])] += PRECEDENT_WEIGHT
        return topic_p, div_p

    def _conventions(self, X, div_p):
        """Follow the divisions the history sent titles like this one to (an office's conventions).

        The confirmed titles closest to the row's title (cosine of their TF-IDF rows at least
        ``CONVENTION_MIN``) vote, the closest by far the most (softmax at
        ``CONVENTION_TEMPERATURE``); the vote moves the row by up to ``PRECEDENT_WEIGHT``,
        in full from ``CONVENTION_FULL`` on. So when an office starts sending one kind of ask
        to another division than its remit suggests, a few confirmed examples are followed,
        where the classifier, outweighed by the priors and the older years, would not.
        """
        index = getattr(self, "conventions_", None)
        if index is None:
            return div_p
        vectors, labels = index
        scores = (self.features_.sparse_block(X) @ vectors.T).tocsr()
        div_p = div_p.copy()
        for i in range(scores.shape[0]):
            lo, hi = scores.indptr[i], scores.indptr[i + 1]
            sims, cols = scores.data[lo:hi], scores.indices[lo:hi]
            keep = sims >= CONVENTION_MIN
            if not keep.any():
                continue
            sims, cols = sims[keep], cols[keep]
            top = float(sims.max())
            vote = np.zeros(len(self.divisions_))
            np.add.at(vote, labels[cols], np.exp((sims - top) / CONVENTION_TEMPERATURE))
            vote /= vote.sum()
            strength = PRECEDENT_WEIGHT * min(1.0, (top - CONVENTION_MIN) / (CONVENTION_FULL - CONVENTION_MIN))
            div_p[i] = (1 - strength) * div_p[i] + strength * vote
        return div_p

    def _reasons_many(self, X, topic_index: np.ndarray, w: float, k: int) -> list[list[str]]:
        """For each row, the whole words of its text that pushed hardest towards its chosen topic.

        Only the word block speaks: character n-grams are fragments and the sentence
        vector's dimensions are not words. Each word's value is weighed by the chosen
        topic's coefficient (history) and prototype (priors).
        """
        words = self.features_.word_block(X)
        indices, values, indptr = words.indices, words.data, words.indptr
        row_of = np.repeat(np.arange(words.shape[0]), np.diff(indptr))
        chosen_topic = topic_index[row_of]
        weight = np.zeros(len(indices))
        topic_model = self.topic_model_
        if topic_model.coef_ is not None and w > 0:
            classes = list(topic_model.classes_)
            coef = topic_model.coef_[:, : words.shape[1]]
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
        prototypes = self.topic_prior_.word_prototypes()
        weight += (1 - w) * values * prototypes[chosen_topic, indices]
        names = self.features_.word_names()
        out = []
        for i in range(words.shape[0]):
            lo, hi = indptr[i], indptr[i + 1]
            chosen: list[str] = []
            segment = weight[lo:hi]
            for j in np.argsort(-segment):
                if segment[j] <= 0 or len(chosen) >= k:
                    break
                name = str(names[indices[lo + j]]).strip()
                if not is_meaningful(name) or any(name in c or c in name for c in chosen):
                    continue
                chosen.append(name)
            out.append(chosen)
        return out


def _nearest(scores: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row, the ``NEAREST`` highest cosines and their columns: the highest first, the earliest
    column of equals first (what a stable sort of the whole row gives, without sorting it)."""
    n = scores.shape[1]
    if n <= NEAREST:
        order = np.argsort(-scores, axis=1, kind="stable")
        return [(order[i], scores[i, order[i]]) for i in range(scores.shape[0])]
    kth = -np.partition(-scores, NEAREST - 1, axis=1)[:, NEAREST - 1]
    out = []
    for i in range(scores.shape[0]):
        cols = np.flatnonzero(scores[i] >= kth[i])
        cols = cols[np.argsort(-scores[i, cols], kind="stable")][:NEAREST]
        out.append((cols, scores[i, cols]))
    return out
