"""The one module that owns jieba.

Every other module asks a :class:`Tokenizer` for tokens. It builds a private
``jieba.Tokenizer`` from absolute paths, keeps its cache in a folder router owns (never the
shared ``/tmp/jieba.cache``), loads the domain dictionary, and silences jieba's logger. Nothing
happens at import time; a tokenizer initializes on first use or on :meth:`Tokenizer.warm`,
which callers run before forking workers.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from importlib import resources
from pathlib import Path

__all__ = [
    "Tokenizer",
    "normalize",
    "default_dictionary_path",
    "default_stopwords_path",
    "cache_dir",
    "CACHE_ENV",
    "content_words",
]

CACHE_ENV = "ROUTER_CACHE_DIR"


def default_dictionary_path() -> Path:
    return Path(str(resources.files("router") / "resources" / "domain_dict.txt"))


def default_stopwords_path() -> Path:
    return Path(str(resources.files("router") / "resources" / "stopwords.txt"))


def cache_dir(configured: str | os.PathLike | None = None) -> Path:
    """Where jieba's prefix-dictionary cache lives: ``configured``, else ~/.cache/router.

    The CLI passes $ROUTER_CACHE_DIR (or $XDG_CACHE_HOME/router); the library reads no
    environment variable.
    """
    if configured:
        return Path(configured)
    return Path(os.path.expanduser("~")) / ".cache" / "router"


def normalize(text: str) -> str:
    """NFKC form used for features: full-width letters and digits become ASCII."""
    return unicodedata.normalize("NFKC", text or "")


# A token is a word when it has a letter or a digit (str.isalnum of some character): the
# regular expression asks the same question as any(ch.isalnum() ...) about four times faster.
_WORD_CHAR = re.compile(r"[^\W_]")


def _is_word(token: str) -> bool:
    return _WORD_CHAR.search(token) is not None


# Place names say where, not what: they are masked from features and reasons (kept in the
# text for display and for matching the same place across years). jieba cuts an unknown
# place into a name and a one-character administrative suffix (石岭 县, 白杨 村至, 青石 镇), so
# a token before or fused with such a suffix is taken as a name, unless it is a generic word.
_PLACE_SUFFIX = frozenset("省市州县区旗镇乡村组屯寨社")
_GENERIC_BEFORE_SUFFIX = frozenset(
    "贫困 重点 示范 行政 自然 中心 边远 偏远 全 各 本 该 每 多 少数民族 民族 试点 美丽 农业 产业 工业 开发 "
    "搬迁 安置 移民 易地 深度 欠发达 老区 革命 边境 城 县城 省级 市级 县级 乡级 村级".split()
)
_DIGITS = re.compile(r"[0-9]")
# Words ending in 县 or 镇 that are not names; any other short token so ending is a name (峡县).
_COUNTY_WORDS = frozenset("全县 各县 本县 该县 贫困县 郡县 州县 城镇 乡镇 集镇 小镇 村镇 重镇 全镇 各镇 本镇 该镇".split())


# Landform words that end many village and group names (黄泥坳, 柳树坪, 干沟): taken as a
# suffix only when jieba cuts them off alone after a name.
_NAME_ENDING = frozenset("坳坪沟湾岭坝垭")


def content_words(tokens: list[str], known=None) -> list[str]:
    """Tokens that carry what a text asks: without place names, numbers and lone suffixes.

    ``known`` (a word -> frequency mapping, jieba's dictionary) lets a fused name such as
    峡县 or 岩门镇, which no dictionary holds, be recognised by its suffix alone.
    """
    out = []
    n = len(tokens)
    for i, token in enumerate(tokens):
        if _DIGITS.search(token):
            continue
        if len(token) == 1 and token in _PLACE_SUFFIX:
            continue
        if len(token) <= 3 and token[0] in _PLACE_SUFFIX and len(token) > 1 and token[1] in "至到和与通":
            continue  # 村至, 组通组: a suffix fused with the next word
        following = tokens[i + 1] if i + 1 < n else ""
        if (following and (following[0] in _PLACE_SUFFIX or (len(following) == 1 and following in _NAME_ENDING))
                and (len(following) == 1 or following[1] in "至到和与通")
                and token not in _GENERIC_BEFORE_SUFFIX and len(token) <= 4):
            continue
        if len(token) == 1 and token in _NAME_ENDING and i > 0:
            continue
        if 2 <= len(token) <= 3 and token[-1] in "县镇" and token not in _COUNTY_WORDS:
            continue
        if (known is not None and 2 <= len(token) <= 4 and token[-1] in _PLACE_SUFFIX
                and not known.get(token) and token not in _GENERIC_BEFORE_SUFFIX):
            continue
        out.append(token)
    return out


def jieba_module():
    """The jieba package, imported without ``pkg_resources`` (0.08 s of a cold start).

    jieba reads its own data files through ``pkg_resources`` when that imports, else by their
    path beside its code, which gives the same bytes. Hiding ``pkg_resources`` (when nothing
    imported it yet) for the moment jieba is imported lets it take the second way.
    """
    import sys

    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    hide = "pkg_resources" not in sys.modules
    if hide:
        sys.modules["pkg_resources"] = None  # `import pkg_resources` raises ImportError
    try:
        import jieba
    finally:
        if hide and sys.modules.get("pkg_resources", 0) is None:
            del sys.modules["pkg_resources"]
    return jieba


def _prefix_dictionary(tokenizer, folder: Path) -> tuple[dict[str, bytes], int]:
    """jieba's prefix dictionary (word or prefix -> frequency) in parts by first character, and its total.

    jieba's own cache is read with ``marshal.load`` from the open file, one object at a time:
    0.7 s, most of a cold start. router's cache keeps the same dictionary cut by the first
    character of each entry, each part marshalled on its own: a text only ever looks up strings
    that start with one of its own characters, so a start reads the parts its texts need
    (:meth:`Tokenizer._read_parts`), a few hundredths of a second for one suggestion, and all of
    them (a quarter of a second) only over thousands. The cache file is named by the sha256 of
    jieba's dictionary, its version and the marshal format, and starts with the sha256 of its
    own payload: a file that fails it (damaged, truncated, foreign) is rebuilt from jieba's
    dictionary, never read. A cache folder that cannot be written only costs the build (about
    two seconds) at each start; nothing is left behind.
    """
    import contextlib
    import hashlib
    import marshal

    from .fileio import read_checked, write_checked

    jieba = jieba_module()
    source = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME  # jieba.Tokenizer()'s dictionary
    key = hashlib.sha256(f"{jieba.__version__} marshal {marshal.version} parts\n".encode())
    key.update(source.read_bytes())
    path = Path(folder) / f"jieba-prefix-{key.hexdigest()[:24]}.marshal"
    payload = read_checked(path)
    if payload is not None:
        try:
            parts, total = marshal.loads(payload)
            if isinstance(parts, dict) and isinstance(total, int):
                return parts, total
        except (ValueError, EOFError, TypeError):
            pass
    with open(source, "rb") as handle:
        freq, total = tokenizer.gen_pfdict(handle)
    by_first: dict[str, dict[str, int]] = {}
    for word, count in freq.items():
        by_first.setdefault(word[0], {})[word] = count
    parts = {first: marshal.dumps(entries) for first, entries in by_first.items()}
    if write_checked(path, marshal.dumps((parts, total)), folder_mode=0o700):
        with contextlib.suppress(OSError):  # jieba's own cache, which an earlier version kept
            (path.parent / "jieba-default.cache").unlink(missing_ok=True)
    return parts, total


_PARTS_LOCK = threading.Lock()


def read_parts_into(table: dict, parts: dict[str, bytes], firsts) -> None:
    """Unmarshal ``parts[first]`` into ``table`` for each of ``firsts``, then drop it from ``parts``.

    A part leaves ``parts`` only once it is in ``table``, under one lock: another thread (the web
    server's) that still sees a character in ``parts`` waits here, one that does not finds its
    entries in ``table`` already. Shared by the encoder's vocabulary (router.semantic).
    """
    import marshal

    with _PARTS_LOCK:
        for first in firsts:
            blob = parts.get(first)
            if blob is not None:
                table.update(marshal.loads(blob))
                del parts[first]


class Tokenizer:
    """Cuts Chinese text into words with a fixed domain dictionary and stopword list.

    The dictionary and stopwords are part of a model: a model folder keeps its own copies
    and builds its tokenizer from them, so the same model always cuts text the same way.
    """

    def __init__(self, *, dictionary: str | os.PathLike | None = None, stopwords: str | os.PathLike | None = None,
                 cache: str | os.PathLike | None = None):
        self.dictionary = Path(dictionary or default_dictionary_path()).resolve()
        self.stopwords_path = Path(stopwords or default_stopwords_path()).resolve()
        self.cache = cache_dir(cache)
        self._jieba = None
        self._parts: dict[str, bytes] | None = None  # of jieba's prefix dictionary, not read yet
        self._stopwords: frozenset[str] | None = None

    def __getstate__(self):
        # jieba's tokenizer holds a lock and cannot be pickled; rebuild it in the new process.
        state = self.__dict__.copy()
        state["_jieba"] = state["_parts"] = None
        return state

    def warm(self) -> "Tokenizer":
        """Load jieba's prefix dictionary now (a quarter of a second from the cache) rather than on the first cut."""
        if self._jieba is not None:
            return self
        jieba = jieba_module()
        logging.getLogger("jieba").setLevel(logging.ERROR)
        tokenizer = jieba.Tokenizer()
        self._parts, tokenizer.total = _prefix_dictionary(tokenizer, getattr(self, "cache", None) or cache_dir())
        tokenizer.FREQ, tokenizer.initialized = {}, True
        self._jieba = tokenizer
        # The domain words' own entries are set over jieba's (and their frequencies suggested
        # from them): every part they touch is read first, as jieba reads all before them.
        self._read_parts(self.dictionary.read_text(encoding="utf-8"))
        tokenizer.load_userdict(str(self.dictionary))
        self._stopwords = frozenset(
            line.strip() for line in self.stopwords_path.read_text(encoding="utf-8").splitlines() if line.strip()
        )
        return self

    def _read_parts(self, text: str) -> None:
        """Read the parts of the prefix dictionary for the characters of ``text`` not read yet.

        jieba looks up only substrings of what it cuts, and each starts with one of its
        characters: with those parts read, it cuts ``text`` exactly as with the whole dictionary.
        """
        parts = self._parts
        if parts:
            new = parts.keys() & set(text)
            if new:
                read_parts_into(self._jieba.FREQ, parts, new)

    def read_all(self) -> "Tokenizer":
        """Read the whole prefix dictionary now (before workers fork, so that they share it)."""
        self.warm()
        self._read_parts("".join(self._parts))
        return self

    @property
    def stopwords(self) -> frozenset[str]:
        self.warm()
        return self._stopwords

    def cut(self, text: str, *, hmm: bool = True) -> list[str]:
        """Words of ``text`` after NFKC normalization, lower-cased, without stopwords or punctuation.

        ``hmm=False`` skips jieba's HMM guessing of words missing from the dictionary: about a
        quarter faster; a model trained on many examples uses it (see router.model).
        """
        if self._jieba is None:
            self.warm()
        stop = self._stopwords
        has_word_char = _WORD_CHAR.search
        words = []
        text = normalize(text)
        self._read_parts(text)
        for piece in self._jieba.cut(text, HMM=hmm):
            token = piece.strip().lower()
            if token and token not in stop and has_word_char(token) is not None:
                words.append(token)
        return words

    def content_words(self, text: str, *, hmm: bool = True) -> list[str]:
        """:func:`content_words` of :meth:`cut`, with the dictionary telling names from words."""
        return content_words(self.cut(text, hmm=hmm), self._jieba.FREQ)

    def cut_raw(self, text: str) -> list[str]:
        """jieba's segmentation of the normalized text, nothing dropped (for golden tests)."""
        self.warm()
        text = normalize(text)
        self._read_parts(text)
        return [t for t in self._jieba.cut(text) if t.strip()]

    def cut_many(self, texts, *, hmm: bool = True) -> list[list[str]]:
        return [self.cut(text, hmm=hmm) for text in texts]
