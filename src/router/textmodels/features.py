"""The sparse text model: word TF-IDF over jieba tokens beside character n-gram TF-IDF.

One of the two kinds of text model behind the seam of :mod:`router.textmodels` (the other is
the sentence encoder of :mod:`router.semantic`). It knows only the words it was fitted on.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

from ..tokenizer import normalize

__all__ = ["Featurizer", "first_line"]


def _tokens_as_is(tokens):
    return tokens


class Featurizer:
    """Word TF-IDF over jieba tokens beside character 1-3-gram TF-IDF, fitted once.

    ``text_chars`` adds character n-grams of the whole text (small histories);
    ``title_chars`` adds character n-grams of its first line, the title (large histories).
    ``word_chars`` makes the text n-grams stay inside words (``char_wb``): a small history
    passes the content words joined by spaces, so n-grams never span a place name, a
    stopword or 《关于……的建议》, and 公路 still shares 路 with 道路.
    ``compact`` (the default) keeps, once fitted, only each block's vocabulary and weights
    instead of scikit-learn's vectorizers, so that routing with the model never imports
    scikit-learn (1.7-2.6 s on a cold start); ``compact=False`` keeps the vectorizers (the
    parity test compares the two).
    """

    def __init__(self, *, max_features: int = 200000, min_df: int = 1, text_chars: bool = True,
                 title_chars: bool = False, word_chars: bool = False, compact: bool = True):
        self.max_features = max_features
        self.min_df = min_df
        self.text_chars = text_chars
        self.title_chars = title_chars
        self.word_chars = word_chars
        self.compact = compact

    def _char_vectorizer(self, min_df: int, analyzer: str = "char", vocabulary=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer=analyzer, ngram_range=(1, 3), sublinear_tf=True, min_df=min_df,
                               max_features=None if vocabulary else self.max_features, dtype=np.float32,
                               vocabulary=vocabulary)

    def _word_vectorizer(self, min_df: int, vocabulary=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer=_tokens_as_is, sublinear_tf=True, min_df=min_df,
                               max_features=None if vocabulary else self.max_features, vocabulary=vocabulary)

    def _fit_keeping(self, make, documents, kept: int):
        """Fit ``make(min_df)`` on ``documents``; the last ``kept`` documents' terms all stay.

        The kept documents are the profile's own words (label descriptions, terms, typical
        asks): ``min_df`` prunes the history's rare terms, never a term the office wrote.
        """
        if not kept or self.min_df <= 1:
            return make(self.min_df).fit(documents)
        head = documents[:-kept]
        vocabulary = set()
        if head:
            try:
                vocabulary |= set(make(self.min_df).fit(head).vocabulary_)
            except ValueError:  # no term of the history reaches min_df
                pass
        vocabulary |= set(make(1).fit(documents[-kept:]).vocabulary_)
        return make(1, sorted(vocabulary)).fit(documents)

    def fit(self, tokens: list[list[str]], texts: list[str], kept: int = 0) -> "Featurizer":
        """Fit on ``tokens``/``texts``; the last ``kept`` of them are the profile's own texts."""
        self.words_ = self._fit_keeping(self._word_vectorizer, tokens, kept)
        names = [self.words_.get_feature_names_out()]
        self.chars_ = self.title_chars_ = None
        if self.text_chars:
            analyzer = "char_wb" if self.word_chars else "char"
            self.chars_ = self._fit_keeping(lambda m, v=None: self._char_vectorizer(m, analyzer, v),
                                            [normalize(t) for t in texts], kept)
            names.append(self.chars_.get_feature_names_out())
        if self.title_chars:
            # Titles are short and each n-gram in them is rare: keep every one.
            self.title_chars_ = self._char_vectorizer(1).fit([first_line(t) for t in texts])
            names.append(self.title_chars_.get_feature_names_out())
        self.names_ = np.concatenate(names)
        if self.compact:
            for name in ("words_", "chars_", "title_chars_"):
                if getattr(self, name) is not None:
                    setattr(self, name, _Vocabulary(getattr(self, name)))
        return self

    def transform(self, tokens: list[list[str]], texts: list[str]) -> sp.csr_matrix:
        blocks = [self.words_.transform(tokens)]
        if self.chars_ is not None:
            blocks.append(self.chars_.transform([normalize(t) for t in texts]))
        if self.title_chars_ is not None:
            blocks.append(self.title_chars_.transform([first_line(t) for t in texts]))
        X = sp.hstack(blocks, format="csr", dtype=np.float32)
        if isinstance(self.words_, _Vocabulary):
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
        if not self.tokens and vectorizer.analyzer not in ("char", "char_wb"):
            raise ValueError(f"no compact form for analyzer {vectorizer.analyzer!r}")
        self.within_words = vectorizer.analyzer == "char_wb"
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
        if self.within_words:
            return _word_grams(text, low, high)
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


def _word_grams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams: inside each word padded by one space on either side."""
    grams: list[str] = []
    extend = grams.extend
    for word in text.split():
        word = f" {word} "
        size = len(word)
        for n in range(low, high + 1):
            if n >= size:
                grams.append(word)  # a short word counts once, whole
                break
            extend(word[i:i + n] for i in range(size - n + 1))
    return grams


def first_line(text: str) -> str:
    """The title: a suggestion's text is its title, a line break, then its body."""
    return normalize(text.split("\n", 1)[0])
