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

How much the history weighs against the priors is learned from the history itself: with two
or more years, every later year is routed (by its titles alone, as many intakes are) by a
model trained on the years before, and the weight that routes those years best is kept
(``history_weight_``, with the evidence in ``blend_evidence_``). With one year there is no
such evidence and the weight is ``n / (n + prior_strength)``; with none, routing is from
remits and rules alone (cold start). The weight comes from the data and the profile, never
from which data set is being routed.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np

from .domain import Decision, Example
from .profile import Profile
from .textmodels import LARGE_HISTORY, LARGE_MEANING, MEANING, SEMANTIC_WEIGHT, Prototypes, TextFeatures
from .textmodels.linear import NBSVM

__all__ = ["RouterModel", "Decision", "Example", "LARGE_HISTORY", "FORMAT"]

# The model's own layout, recorded in the manifest (registry.FORMAT_VERSION says the folder's).
FORMAT = "router-blend-2"
# How the prior splits between the topic rules and the remit text for divisions.
RULE_SHARE = 0.5
# A past suggestion this close (cosine of the TF-IDF rows; the near-duplicate mark's level) is
# the same ask filed again: its confirmed route weighs this much against the blend, so a
# reviewer's correction is followed next time even where the priors outweigh the history.
PRECEDENT_MIN = 0.75
PRECEDENT_WEIGHT = 0.8
# The candidate history weights the temporal backtest chooses from.
WEIGHT_GRID = tuple(round(x, 2) for x in np.linspace(0.0, 1.0, 21))


class _LabelModel:
    """The history classifier over one label set (topics, or lead divisions)."""

    def __init__(self, labels: list[str], *, C: float, large: bool):
        self.labels = labels
        self.C = C
        self.large = large

    def fit(self, X, y: list[str], sample_weight=None) -> "_LabelModel":
        self.n_ = len(y)
        self.classifier_ = None
        self.single_ = None
        if len(set(y)) >= 2:
            if self.large:
                # The profile's C is tuned for the logistic regression; the SVMs' own default
                # of 1 suits their scaled features (0.3 and 3 were no better).
                self.classifier_ = NBSVM()
            else:
                from sklearn.linear_model import LogisticRegression

                self.classifier_ = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced", tol=1e-3)
            self.classifier_.fit(X, y, sample_weight=sample_weight)
        elif len(set(y)) == 1:
            self.single_ = y[0]
        return self

    def proba(self, X) -> np.ndarray:
        out = np.zeros((X.shape[0], len(self.labels)), dtype=np.float64)
        if self.classifier_ is not None:
            proba = self.classifier_.predict_proba(X)
            for j, label in enumerate(self.classifier_.classes_):
                out[:, self.labels.index(label)] = proba[:, j]
        elif self.single_ is not None:
            out[:, self.labels.index(self.single_)] = 1.0
        return out


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

    @classmethod
    def from_profile(cls, profile: Profile, **overrides) -> "RouterModel":
        settings = dict(prior_strength=profile.prior_strength, C=profile.C, max_features=profile.max_features,
                        min_df=profile.min_df)
        settings.update(overrides)
        return cls(**settings)

    # ----- fitting -----

    def fit(self, examples: list[Example], profile: Profile, tokenizer) -> "RouterModel":
        # One BLAS thread: on problems of this size OpenBLAS threads fight over the cores
        # (the logistic regressions took ten times longer with two threads than with one).
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self._fit(examples, profile, tokenizer)

    def _fit(self, examples: list[Example], profile: Profile, tokenizer) -> "RouterModel":
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
        self.features_.fit(tokens + proto_tokens, texts + title_texts + proto_texts)
        self.topic_prior_ = Prototypes(self.features_, topic_phrases, self.tokens_of)
        self.division_prior_ = Prototypes(self.features_, division_phrases, self.tokens_of)
        self.rules_ = self._rules(profile)
        # Where a static table routes first ("static-then-encoder"), the encoder reads the
        # texts whose topic or lead division is unsure as review would call it.
        self.unsure_ = (profile.threshold, profile.margin)
        self.topic_model_ = _LabelModel(self.topics_, C=self.C, large=large)
        self.division_model_ = _LabelModel(self.divisions_, C=self.C, large=large)
        self.n_examples_ = len(examples)
        self.memory_ = None  # set by router.similar.attach_memory
        self.blend_evidence_ = {}
        self.history_weight_ = 0.0
        if examples:
            X = self.features_.transform(tokens, texts + title_texts, exact=True)
            weights = np.array([e.weight for e in examples] * (2 if title_texts else 1), dtype=float)
            topics = [e.topic for e in examples] * (2 if title_texts else 1)
            divisions = [e.division for e in examples] * (2 if title_texts else 1)
            self.topic_model_.fit(X, topics, weights)
            self.division_model_.fit(X, divisions, weights)
            self.history_weight_ = self._choose_weight(examples, X, weights)
        else:
            # Cold start: nothing learned; the priors route alone.
            self.topic_model_.fit(None, [])
            self.division_model_.fit(None, [])
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

    def _choose_weight(self, examples: list[Example], X, weights: np.ndarray) -> float:
        """The history weight that best routed each later year's titles from the years before.

        The features were fitted on every text (no labels seen), the classifiers only on the
        earlier years. Scored by the mean log-probability of the decided topic and lead
        division, pooled over the later years; ties go to the smaller weight (the priors).
        """
        n = len(examples)
        years = sorted({e.year for e in examples if e.year is not None})
        if len(years) < 2 or self.large_:
            return n / (n + self.prior_strength)
        year_of = np.array([e.year if e.year is not None else years[0] for e in examples] * 2)
        is_title = np.array([False] * n + [True] * n)
        topic_y = np.array([e.topic for e in examples] * 2)
        division_y = np.array([e.division for e in examples] * 2)
        parts = []
        for year in years[1:]:
            train = year_of < year
            test = (year_of == year) & is_title
            if len(set(topic_y[train])) < 2 or not test.any():
                continue
            topic_model = _LabelModel(self.topics_, C=self.C, large=False).fit(X[train], list(topic_y[train]),
                                                                              weights[train])
            division_model = _LabelModel(self.divisions_, C=self.C, large=False).fit(
                X[train], list(division_y[train]), weights[train])
            Xt = X[test]
            parts.append((topic_model.proba(Xt), division_model.proba(Xt), self.topic_prior_.proba(Xt),
                          self.division_prior_.proba(Xt),
                          np.array([self.topics_.index(t) for t in topic_y[test]]),
                          np.array([self.divisions_.index(d) for d in division_y[test]])))
        if not parts:
            return n / (n + self.prior_strength)
        count = sum(len(part[4]) for part in parts)
        scores = {}
        for w in WEIGHT_GRID:
            right = 0
            for topic_hist, div_hist, topic_prior, div_remit, t_true, d_true in parts:
                topic_p, div_p, _ = self._blend(w, topic_hist, topic_prior, div_hist, div_remit)
                right += int((topic_p.argmax(axis=1) == t_true).sum() + (div_p.argmax(axis=1) == d_true).sum())
            scores[w] = right / (2 * count)
        # The one-standard-error rule: the smallest weight whose accuracy is within one
        # standard error of the best. An office's own later years resemble its earlier ones
        # more than next year's asks will (same deputies, places and wording), so history
        # only takes over from the priors where it is clearly better, not where it ties.
        best = max(scores.values())
        standard_error = float(np.sqrt(best * (1 - best) / (2 * count)))
        chosen = min(w for w, score in scores.items() if score >= best - standard_error)
        self.blend_evidence_ = {"accuracy_by_weight": {str(w): round(v, 4) for w, v in scores.items()},
                                "standard_error": round(standard_error, 4), "items": count}
        return float(chosen)

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

    @property
    def history_weight(self) -> float:
        return self.history_weight_

    def _blend(self, w, topic_hist, topic_prior, div_hist, div_remit):
        topic_p = w * topic_hist + (1 - w) * topic_prior
        div_rule = topic_p @ self.rules_
        parts = {
            "model": w * div_hist,
            "rule": (1 - w) * RULE_SHARE * div_rule,
            "remit": (1 - w) * (1 - RULE_SHARE) * div_remit,
        }
        return topic_p, parts["model"] + parts["rule"] + parts["remit"], parts

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
        if X is None:
            X = self.features(texts, tokens)
        w = self.history_weight_
        if self.features_.refines:
            X = self._refined(X, texts, w)
        topic_p, div_p, parts = self._blend(w, self.topic_model_.proba(X), self.topic_prior_.proba(X),
                                            self.division_model_.proba(X), self.division_prior_.proba(X))
        topic_p, div_p = self._precedents(X, topic_p, div_p)
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

    def _refined(self, X, texts, w):
        """``X`` with the encoder's vectors on the rows the static table left unsure.

        Unsure as review calls it: the topic or the lead division below the profile's
        threshold, or within its margin of the runner-up.
        """
        topic_p, div_p, _ = self._blend(w, self.topic_model_.proba(X), self.topic_prior_.proba(X),
                                        self.division_model_.proba(X), self.division_prior_.proba(X))
        threshold, margin = getattr(self, "unsure_", (0.5, 0.08))
        unsure = np.zeros(X.shape[0], dtype=bool)
        for p in (topic_p, div_p):
            ranked = np.sort(p, axis=1)
            unsure |= ranked[:, -1] < threshold
            if ranked.shape[1] > 1:
                unsure |= ranked[:, -1] - ranked[:, -2] < margin
        return self.features_.refine(X, texts, unsure)

    def _precedents(self, X, topic_p, div_p):
        """Move each row towards the confirmed route of a past suggestion that files the same ask."""
        memory = self.memory_
        if memory is None or memory.vectors is None:
            return topic_p, div_p
        scores = (self.features_.sparse_block(X) @ memory.vectors.T).tocsr()
        topic_p, div_p = topic_p.copy(), div_p.copy()
        for i in range(scores.shape[0]):
            row = scores.getrow(i)
            if row.nnz == 0 or row.data.max() < PRECEDENT_MIN:
                continue
            item = memory.items[int(row.indices[row.data.argmax()])]
            if item["topic"] in self.topics_ and item["division"] in self.divisions_:
                topic_p[i] *= 1 - PRECEDENT_WEIGHT
                topic_p[i, self.topics_.index(item["topic"])] += PRECEDENT_WEIGHT
                div_p[i] *= 1 - PRECEDENT_WEIGHT
                div_p[i, self.divisions_.index(item["division"])] += PRECEDENT_WEIGHT
        return topic_p, div_p

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
        classifier = self.topic_model_.classifier_
        if classifier is not None and w > 0:
            classes = list(classifier.classes_)
            coef = np.asarray(classifier.coef_)[:, : words.shape[1]]
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
                if len(name) < 2 or any(name in c or c in name for c in chosen):
                    continue
                chosen.append(name)
            out.append(chosen)
        return out
