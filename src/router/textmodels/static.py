"""The static meaning table: the sentence encoder's knowledge at jieba's speed.

A text model behind the seam of :mod:`router.textmodels`, in place of the sentence encoder of
:mod:`router.semantic`. Every word of a vocabulary was encoded once by the encoder; a text's
vector is the SIF-weighted mean of its jieba tokens' word vectors (Arora et al. 2017: a word
weighs ``a / (a + p(word))``, so frequent words count less), mapped by a linear map learned by
least squares back toward the encoder's sentence vectors, then unit-normalized. A word the
table lacks is the mean of its characters' vectors. Routing with it reads no encoder: no
weights to load, no forward pass, only one sparse product per batch.

The table ships as ``router/resources/static_meaning.npz`` (word vectors reduced by PCA and
stored as int8 with one scale per dimension; the file stays under 5 MB). A model that uses it
records the table's sha256 in its manifest; a missing or changed table is refused at model
load with the command that rebuilds it, never replaced silently.

Rebuild (deterministic: fixed seeds, a zip written with fixed timestamps; a few minutes on
two cores, most of it the encoder reading the vocabulary once)::

    router models build-meaning

What goes in:

- vocabulary: jieba's dictionary words with frequency >= ``MIN_FREQ``, every single character
  of it (the fall-back for words it lacks), the domain dictionary
  ``router/resources/domain_dict.txt``, and the words of the bundled profile and templates
  and of the bundled written history ``data/history_*.xlsx`` (when built from a checkout);
- texts for the map: the bundled written history (titles, and titles with bodies), the
  profile and template phrases, and ``GENERATED`` random combinations of vocabulary words.
  Never the real dev set (``../shared/datasets/suggestions_real``) or teddy2020: both are
  kept for measuring (``benchmarks/textmodels.py``).

What it is worth (``benchmarks/textmodels.py``; figures in ``benchmarks/results/textmodels.json``):
on held-out map texts its vectors have cosine 0.76 to the encoder's (0.45 without the map); it
costs about 1 % of jieba's time on the same texts. On the 113 real titles the default model
routes topics at 0.770 with it against 0.823 with the encoder, so the small form keeps the
encoder; beside NB-SVM in the large form it added +0.001 macro-F1 on teddy2020.
It is ready where speed matters more than those points (``RouterModel(meaning="static")``).

``router models build-meaning --min-freq 50000 --char-min-freq 50000 --generated 100
--no-history --no-profiles --out X.npz``
builds a tiny table (the tests use one to check that a build is deterministic).

Why one module of about 410 lines: the table's reader and its builder share the vocabulary
rules, the SIF weights and the file format; a build that did not read like the reader would
ship a table the reader misreads.
"""

from __future__ import annotations

import io
import json
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import ModelError
from ..fileio import sha256_file

__all__ = ["StaticMeaning", "table_path", "table_sha256", "build_table", "BUILD_COMMAND", "DIMENSIONS"]

BUILD_COMMAND = "router models build-meaning"
TABLE_NAME = "static_meaning.npz"
DIMENSIONS = 512  # the encoder's sentence space, which the map returns to
# Build settings (recorded in the table's own metadata).
MIN_FREQ = 100  # jieba dictionary words at least this frequent (36,000 of 349,000)
CHAR_MIN_FREQ = 50  # single characters at least this frequent (6,200 of 11,600)
PCA_DIMENSIONS = 96
SIF_A = 1e-3
GENERATED = 12000  # random combinations of vocabulary words for the map
RIDGE = 1e-3
SEED = 0
# A text's vector reads its first tokens only: the encoder reads the title and the opening
# of the body, and a 600-character body would otherwise drown its title.
MAX_TOKENS = 48
# Characters standing for a word the table lacks weigh this much of a word.
CHAR_FALLBACK = 0.5

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)
_LOADED: dict[str, "_Table"] = {}


def table_path() -> Path:
    return Path(str(resources.files("router") / "resources" / TABLE_NAME))


def _missing(path: Path) -> ModelError:
    return ModelError(f"{path}：静态词向量表不存在；请在源码目录运行 `{BUILD_COMMAND}` 重新生成，"
                      "或重新安装 router")


def table_sha256(path: Path | None = None) -> str:
    """The sha256 of the installed table; a clear Chinese error when it is missing."""
    path = Path(path or table_path())
    if not path.is_file():
        raise _missing(path)
    return sha256_file(path)


class _Table:
    """The arrays of one table file, ready for use."""

    def __init__(self, path: Path):
        with np.load(path, allow_pickle=False) as data:
            words = bytes(data["words"]).decode("utf-8").split("\n")
            self.vectors = data["vectors"].astype(np.float32) * data["scales"].astype(np.float32)
            self.weights = data["weights"].astype(np.float32)
            self.map = data["map"].astype(np.float32)
            self.bias = data["bias"].astype(np.float32)
            self.meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        self.index = {w: i for i, w in enumerate(words)}
        self.words = words


def _load(path: Path, sha256: str | None) -> _Table:
    key = f"{path}:{sha256}"
    if key not in _LOADED:
        if not path.is_file():
            raise _missing(path)
        actual = sha256_file(path)
        if sha256 is not None and actual != sha256:
            raise ModelError(
                f"{path}：静态词向量表与模型训练时所用的不一致（sha256 {actual[:12]}…，模型记录的是 {sha256[:12]}…）；"
                f"请运行 `{BUILD_COMMAND}` 重新生成后用 `router train` 重新训练模型，或恢复原来的词向量表")
        _LOADED[key] = _Table(path)
    return _LOADED[key]


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (rows / norms).astype(np.float32)


def _weights_matrix(table: _Table, token_lists: list[list[str]]) -> sp.csr_matrix:
    """Rows of SIF weights over the table's words, each text's first ``MAX_TOKENS`` tokens."""
    index = table.index.get
    weights = table.weights
    columns: list[int] = []
    values: list[float] = []
    indptr = [0]
    for tokens in token_lists:
        for token in tokens[:MAX_TOKENS]:
            j = index(token)
            if j is not None:
                columns.append(j)
                values.append(weights[j])
                continue
            chars = [k for ch in token if (k := index(ch)) is not None]
            for k in chars:
                columns.append(k)
                values.append(CHAR_FALLBACK * weights[k] / len(chars))
        indptr.append(len(columns))
    A = sp.csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(columns, dtype=np.int64),
                       np.asarray(indptr)), shape=(len(token_lists), len(table.words)))
    A.sum_duplicates()
    return A


def _reduced(table_vectors: np.ndarray, A: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Each row's weighted mean of word vectors, and whether the row had any word."""
    totals = np.asarray(A.sum(axis=1)).ravel()
    has = totals > 0
    totals[~has] = 1.0
    return np.asarray(A @ table_vectors) / totals[:, None], has


class StaticMeaning:
    """Unit vectors in the encoder's space from a table of word vectors. Pickles as its checksum."""

    kind = "static"

    def __init__(self, path: Path | None = None):
        self.path = str(path) if path else None
        self.sha256 = table_sha256(self._path())
        self._table()  # refuse a damaged table now, not at the first text

    def _path(self) -> Path:
        return Path(self.path) if self.path else table_path()

    def __getstate__(self):
        return {"path": self.path, "sha256": self.sha256}

    def __setstate__(self, state):
        self.path = state.get("path")
        self.sha256 = state["sha256"]

    def _table(self) -> _Table:
        return _load(self._path(), self.sha256)

    def fingerprint(self) -> dict:
        """What the manifest records: the table's name, sha256 and how it was built."""
        meta = self._table().meta
        return {"kind": "static", "table": TABLE_NAME, "sha256": self.sha256, "words": meta.get("words"),
                "dimensions": meta.get("pca_dimensions"), "built_from": meta.get("encoder"),
                "rebuild": BUILD_COMMAND}

    def encode_tokens(self, token_lists: list[list[str]]) -> np.ndarray:
        """One unit row per token list (float32); a list with no known word gives a zero row."""
        table = self._table()
        if not token_lists:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        mean, has = _reduced(table.vectors, _weights_matrix(table, token_lists))
        out = _unit(mean @ table.map + table.bias)
        out[~has] = 0.0
        return out

    def encode(self, texts: list[str], tokens: list[list[str]]) -> np.ndarray:
        return self.encode_tokens(tokens)

    def encode_phrases(self, phrases: list[str], tokens: list[list[str]]) -> np.ndarray:
        return self.encode_tokens(tokens)


def verify_static(recorded: dict, folder) -> None:
    """Refuse a model whose recorded table is missing or differs from the installed one."""
    path = table_path()
    if not path.is_file():
        raise ModelError(f"{folder}：模型使用静态词向量表，但 {path} 不存在；请在源码目录运行 `{BUILD_COMMAND}` 重新生成，"
                         "或重新安装 router")
    actual = sha256_file(path)
    if actual != recorded.get("sha256"):
        raise ModelError(
            f"{folder}：模型训练时使用的静态词向量表 sha256 为 {str(recorded.get('sha256'))[:12]}…，"
            f"已安装的 {path} 为 {actual[:12]}…；请运行 `{BUILD_COMMAND}` 重新生成后用 `router train` 重新训练，"
            "或恢复原来的词向量表")


# --------------------------------------------------------------------------- building


def _repo_root() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "data").is_dir():
            return parent
    return None


def _jieba_dictionary() -> list[tuple[str, int]]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    out = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2:
                out.append((parts[0], int(parts[1])))
    return out


def _profile_phrases() -> list[str]:
    from ..profile import load_profile

    folder = Path(str(resources.files("router") / "resources"))
    paths = [folder / "default_profile.toml", *sorted((folder / "templates").glob("*.toml"))]
    phrases: list[str] = []
    for path in paths:
        profile = load_profile(path)
        for t in profile.topics:
            phrases += [f"{t.name}：{t.description}", t.name, *t.terms, *getattr(t, "asks", ())]
        for d in profile.divisions:
            phrases += [f"{d.name}：{d.remit}", d.name, *getattr(d, "asks", ())]
    return list(dict.fromkeys(p for p in phrases if p.strip()))


def _history_texts(root: Path | None) -> list[str]:
    if root is None:
        return []
    from ..history import read_history
    from ..profile import load_profile

    profile = load_profile()
    texts: list[str] = []
    for path in sorted((root / "data").glob("history_*.xlsx")):
        for item in read_history(path, profile):
            s = item.suggestion
            title = s.title.strip()
            body = (getattr(s, "body", "") or "").strip()
            texts.append(title)
            if body:
                texts.append(f"{title}\n{body}")
    return list(dict.fromkeys(t for t in texts if t))


def _normal(word: str) -> str:
    from ..tokenizer import normalize

    return normalize(word).strip().lower()


def build_table(out: Path, *, min_freq: int = MIN_FREQ, char_min_freq: int = CHAR_MIN_FREQ, dimensions: int = PCA_DIMENSIONS,
                generated: int = GENERATED, seed: int = SEED, history: bool = True, profiles: bool = True,
                log=None) -> dict:
    """Encode the vocabulary and the map's texts with the encoder; write the table to ``out``."""
    from ..semantic import SentenceEncoder, encoder_fingerprint
    from ..tokenizer import Tokenizer

    log = log or (lambda message: None)
    rng = np.random.default_rng(seed)
    root = _repo_root() if history else None
    tokenizer = Tokenizer().warm()
    entries = _jieba_dictionary()
    freq: dict[str, int] = {}
    for word, count in entries:
        key = _normal(word)
        if key:
            freq[key] = freq.get(key, 0) + count
    total = float(sum(freq.values()))
    from ..tokenizer import _is_word

    vocabulary = {w for w, c in freq.items() if c >= min_freq and _is_word(w)}
    vocabulary |= {w for w, c in freq.items() if len(w) == 1 and c >= char_min_freq and _is_word(w)}
    domain = [line.split()[0] for line in tokenizer.dictionary.read_text(encoding="utf-8").splitlines() if line.split()]
    vocabulary |= {_normal(w) for w in domain}
    phrases = _profile_phrases() if profiles else []
    history_texts = _history_texts(root)
    for text in phrases + history_texts:
        vocabulary |= set(tokenizer.content_words(text))
    vocabulary = sorted(w for w in vocabulary if w and "\n" not in w and _is_word(w))
    log(f"词表：{len(vocabulary)} 个词（jieba 词频 ≥ {min_freq}，单字词频 ≥ {char_min_freq}，领域词典、画像与历史的词）")

    encoder = SentenceEncoder()
    word_vectors = encoder._forward(vocabulary)
    log("词表已编码")

    # Texts for the map: the bundled history and phrases, and random word combinations.
    common = [w for w in vocabulary if len(w) >= 2]
    combos = []
    for _ in range(generated):
        n = int(rng.integers(2, 9))
        combos.append("".join(common[i] for i in rng.integers(0, len(common), n)))
    texts = list(dict.fromkeys(history_texts + phrases + combos))
    targets = encoder.encode(texts)
    log(f"映射用文本已编码：{len(texts)} 条（历史 {len(history_texts)} 条，短语 {len(phrases)} 条）")

    # PCA of the word vectors; int8 with one scale per dimension.
    mean = word_vectors.mean(axis=0)
    centered = (word_vectors - mean).astype(np.float64)
    _, _, vt = np.linalg.svd(centered[rng.permutation(len(centered))[:20000]], full_matrices=False)
    components = vt[:dimensions]
    # A fixed sign per component, so that the build does not depend on the SVD's choice.
    components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
    reduced = centered @ components.T
    scales = (np.abs(reduced).max(axis=0) / 127.0).astype(np.float32)
    scales[scales == 0] = 1.0
    quantized = np.clip(np.rint(reduced / scales), -127, 127).astype(np.int8)
    weights = np.array([SIF_A / (SIF_A + freq.get(w, 0) / total) for w in vocabulary], dtype=np.float16)

    words_blob = np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8)
    partial = {"words": words_blob, "vectors": quantized, "scales": scales, "weights": weights,
               "map": np.zeros((dimensions, DIMENSIONS), np.float32), "bias": np.zeros(DIMENSIONS, np.float32),
               "meta": np.frombuffer(b"{}", dtype=np.uint8)}
    scratch = out.with_suffix(".partial.npz")
    _write_npz(scratch, partial)
    table = _Table(scratch)
    scratch.unlink()

    token_lists = [tokenizer.content_words(t) for t in texts]
    U, has = _reduced(table.vectors, _weights_matrix(table, token_lists))
    held = rng.random(len(texts)) < 0.1
    fit = has & ~held
    M, b = _ridge(U[fit], targets[fit])
    evaluation = {}
    for name, rows in (("held-out texts", has & held),
                       ("held-out history", has & held & np.isin(np.arange(len(texts)), np.arange(len(history_texts))))):
        if rows.any():
            predicted = _unit(U[rows] @ M + b)
            plain = _unit(U[rows] @ components.astype(np.float32) + mean)
            evaluation[name] = {"n": int(rows.sum()),
                                "cosine_to_encoder": round(float((predicted * targets[rows]).sum(axis=1).mean()), 4),
                                "cosine_without_map": round(float((plain * targets[rows]).sum(axis=1).mean()), 4)}
    log(f"映射已拟合：{json.dumps(evaluation, ensure_ascii=False)}")
    M, b = _ridge(U[has], targets[has])  # the shipped map uses every text
    meta = {"encoder": encoder_fingerprint(), "words": len(vocabulary), "min_freq": min_freq,
            "char_min_freq": char_min_freq,
            "pca_dimensions": dimensions, "sif_a": SIF_A, "generated": generated, "seed": seed,
            "map_texts": int(has.sum()), "history_texts": len(history_texts), "phrases": len(phrases),
            "max_tokens": MAX_TOKENS, "char_fallback": CHAR_FALLBACK, "evaluation": evaluation}
    partial.update(map=M.astype(np.float32), bias=b.astype(np.float32),
                   meta=np.frombuffer(json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8"), np.uint8))
    _write_npz(out, partial)
    meta["sha256"] = sha256_file(out)
    meta["bytes"] = out.stat().st_size
    log(f"已写入 {out}：{meta['bytes'] / 2**20:.2f} MB，sha256 {meta['sha256']}")
    return meta


def _ridge(U: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares ``U @ M + b ≈ Y`` with a small ridge (on the centered inputs)."""
    U = U.astype(np.float64)
    Y = Y.astype(np.float64)
    u_mean, y_mean = U.mean(axis=0), Y.mean(axis=0)
    Uc = U - u_mean
    gram = Uc.T @ Uc
    gram += RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
    M = np.linalg.solve(gram, Uc.T @ (Y - y_mean))
    return M, y_mean - u_mean @ M


def _write_npz(path: Path, arrays: dict) -> None:
    """An .npz whose bytes depend only on the arrays (fixed entry times), written atomically."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)
    staging.replace(path)
