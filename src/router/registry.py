"""Model folders: save with a manifest, check before loading, and a pointer to the current one.

A model folder holds ``model.joblib`` (the estimator), ``manifest.json`` (versions, hashes,
labels, counts, scores, years, creation time), and the ``domain_dict.txt`` and
``stopwords.txt`` it was trained with. ``CURRENT`` in the models folder names the current
model; ``HISTORY`` lists every promotion so that ``rollback`` can step back.

A joblib file can run code when it is loaded: the manifest's hashes are checked first and
nothing is unpickled from a folder that fails them. Load only models you trained or received
from someone you trust.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import tempfile
from pathlib import Path

from . import __version__
from .errors import ModelError
from .fileio import sha256_file
from .profile import Profile
from .tokenizer import Tokenizer, jieba_module

__all__ = [
    "MODELS_ENV",
    "FORMAT_VERSION",
    "models_dir",
    "save_model",
    "load_model",
    "read_manifest",
    "verify_model",
    "list_models",
    "current_model_dir",
    "promote",
    "rollback",
    "sha256_file",
]

MODELS_ENV = "ROUTER_MODELS"
# 2: the text-model seam (router.textmodels), the sentence encoder, the learned history weight.
FORMAT_VERSION = 2
MODEL_FILE = "model.joblib"
MANIFEST = "manifest.json"
DICT_FILE = "domain_dict.txt"
STOP_FILE = "stopwords.txt"


def models_dir(path: str | os.PathLike | None = None) -> Path:
    """``path``, else ./models (the CLI passes $ROUTER_MODELS)."""
    return Path(path or "models")


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import numpy

    jieba = jieba_module()
    return {
        "router": __version__,
        "python": platform.python_version(),
        # From the installed metadata: `import sklearn` takes 0.7 s, and a large model routes
        # without scikit-learn (router.model's compact featurizer).
        "scikit-learn": version("scikit-learn"),
        "jieba": jieba.__version__,
        "numpy": numpy.__version__,
    }


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def save_model(model, folder: Path, *, profile: Profile, data_sha256: str, years: list[int],
               scores: dict, sources: list[str]) -> Path:
    """Write a model folder atomically: build it beside the target, then rename."""
    import joblib

    from .fileio import file_mode

    folder = Path(folder)
    if folder.exists():
        raise ModelError(f"{folder}：已有同名的模型文件夹；请用 --name 另起一个名字")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise ModelError(f"{folder}：无法在 {folder.parent} 中写入（{exc.strerror}）；"
                         "请用 --models 另选一个模型文件夹") from None
    try:
        joblib.dump(model, staging / MODEL_FILE, compress=3)
        shutil.copyfile(model.tokenizer.dictionary, staging / DICT_FILE)
        shutil.copyfile(model.tokenizer.stopwords_path, staging / STOP_FILE)
        manifest = {
            "format_version": FORMAT_VERSION,
            "versions": _versions(),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sha256": {
                "training_data": data_sha256,
                "profile": profile.sha256,
                MODEL_FILE: sha256_file(staging / MODEL_FILE),
                DICT_FILE: sha256_file(staging / DICT_FILE),
                STOP_FILE: sha256_file(staging / STOP_FILE),
            },
            "labels": {"topics": model.topics_, "divisions": model.divisions_},
            "counts": {"topics": model.topic_counts_, "divisions": model.division_counts_},
            "examples": model.n_examples_,
            "years": years,
            "sources": sources,
            "scores": scores,
            "settings": {"prior_strength": model.prior_strength, "C": model.C,
                         "max_features": model.max_features, "min_df": model.min_df,
                         "semantic": model.semantic, "large_history": model.large_history,
                         "meaning": getattr(model, "meaning", "encoder"),
                         "large_meaning": getattr(model, "large_meaning", None)},
            "model_kind": "large" if model.large_ else "small",
            "text_models": model.features_.describe(),
            "history_weight": {"weight": model.history_weight_, "evidence": model.blend_evidence_},
        }
        seed = getattr(model, "seed_", None)
        if seed is not None:
            # The bundled model whose topic part the folder holds a copy of (RouterModel.seed_).
            manifest["seed_topics"] = {**seed.source_, "weight": seed.weight_, "examples": seed.examples_}
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
        for name in (MODEL_FILE, DICT_FILE, STOP_FILE, MANIFEST):
            with open(staging / name, "rb") as handle:
                os.fsync(handle.fileno())
        # mkdtemp makes the folder private (0700); a model folder is shared like any other.
        os.chmod(staging, file_mode(folder, folder=True))
        os.replace(staging, folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"{folder}：写出模型失败（{exc.strerror or exc}）；"
                         "模型文件夹未被改动，请检查磁盘空间和权限后重试") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def read_manifest(folder: Path) -> dict:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelError(f"{folder}：不是模型文件夹（没有 {MANIFEST}）；请用 router train 训练一个")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ModelError(f"{path}：模型清单不是有效的 JSON；请用 router train 重新训练该模型") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}：模型清单不是 JSON 对象；请用 router train 重新训练该模型")
    return manifest


def verify_model(folder: Path, profile: Profile | None = None) -> dict:
    """Check a folder's manifest, versions and hashes (and the profile's labels); return the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    made_by = str(manifest.get("versions", {}).get("router", "0"))
    if _version_tuple(made_by) > _version_tuple(__version__):
        raise ModelError(
            f"{folder}：模型由 router {made_by} 生成（模型格式 {manifest.get('format_version')}），"
            f"本机是 router {__version__}；请升级 router，或用本版本重新训练该模型"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{folder}: 模型格式为 {manifest.get('format_version')}，本版 router 只读格式 {FORMAT_VERSION}；"
            "请用 `router train` 重新训练该模型"
        )
    from .textmodels import verify_meaning

    verify_meaning(manifest.get("text_models"), folder)
    have = _versions()
    made_sklearn = str(manifest.get("versions", {}).get("scikit-learn", ""))
    if _version_tuple(made_sklearn)[:2] != _version_tuple(have["scikit-learn"])[:2]:
        raise ModelError(
            f"{folder}：模型用 scikit-learn {made_sklearn} 训练，本机安装的是 {have['scikit-learn']}；"
            f"请安装 scikit-learn=={made_sklearn}，或用 router train 重新训练"
        )
    hashes = manifest.get("sha256", {})
    for name in (MODEL_FILE, DICT_FILE, STOP_FILE):
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{folder}：缺少 {name}；请恢复该文件夹，或用 router train 重新训练")
        if sha256_file(path) != hashes.get(name):
            raise ModelError(
                f"{path}：训练后被改动过（sha256 与模型清单不符），不能加载；"
                "请恢复该文件夹，或用 router train 重新训练"
            )
    if profile is not None:
        labels = manifest.get("labels", {})
        if labels.get("topics") != profile.topic_keys or labels.get("divisions") != profile.division_keys:
            raise ModelError(
                f"{folder}：模型的主题或处室（单位）与配置文件 {profile.source} 不一致（配置改过，或模型是为别的单位训练的）；"
                "请在本办公室文件夹中重新训练：没有往年数据时运行 router train --cold，"
                "有往年分办结果时运行 router train 往年.xlsx；或改用与该模型配套的配置文件"
            )
    return manifest


def _unpickle(path: Path):
    """The model in a joblib file, read without importing joblib where it can be (0.2-0.8 s of a cold start).

    A RouterModel pickles its state as one blob (see RouterModel.__getstate__), so the file
    that ``joblib.dump(compress=3)`` writes is a plain pickle stream inside zlib, which the
    standard library reads. Anything else (another compressor, numpy arrays that joblib
    writes beside the pickle) goes to joblib itself.
    """
    import pickle
    import zlib

    try:
        stream = zlib.decompress(path.read_bytes())
    except zlib.error:
        stream = b""
    # joblib's wrappers name their module in the stream (a rare false alarm only costs the import).
    if stream and b"joblib" not in stream:
        return pickle.loads(stream)
    import joblib

    return joblib.load(path)


def load_model(folder: Path, profile: Profile | None = None, *, cache: str | os.PathLike | None = None):
    """Verify, then unpickle, then attach a tokenizer built from the folder's own dictionary.

    ``cache`` is the folder for jieba's prefix-dictionary cache (see :func:`router.tokenizer.cache_dir`).
    """
    folder = Path(folder)
    manifest = verify_model(folder, profile)
    try:
        model = _unpickle(folder / MODEL_FILE)
    except Exception as exc:
        raise ModelError(f"{folder}：模型文件无法加载（{exc}）；请用 router train 重新训练") from None
    model.tokenizer = Tokenizer(dictionary=folder / DICT_FILE, stopwords=folder / STOP_FILE, cache=cache)
    # Text models that keep something parsed in the cache folder (the encoder's vocabulary)
    # use the tokenizer's; a loaded model's rows depend on nothing computed before (see
    # SentenceEncoder.remember).
    for part in (vars(model.features_) if hasattr(model, "features_") else {}).values():
        if hasattr(type(part), "cache"):
            part.cache = model.tokenizer.cache
        if hasattr(type(part), "remember"):
            part.remember = False
    model.manifest = manifest
    model.folder = folder
    return model


def list_models(root: Path) -> list[tuple[str, dict | None]]:
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            try:
                out.append((child.name, read_manifest(child)))
            except ModelError:
                out.append((child.name, None))
    return out


def _write_text_atomic(path: Path, text: str) -> None:
    from .fileio import atomic_path

    with atomic_path(path, advice="请检查模型文件夹，或用 --models 另选一个") as tmp:
        tmp.write_text(text, encoding="utf-8")


_PLAIN_NAME = re.compile(r"[^\\/\x00-\x1f:*?\"<>|]+")


def check_model_name(name: str, *, where: str = "--name") -> str:
    """A model's name is a plain folder name inside the models folder: no /, no .., not absolute."""
    if not name or name in (".", "..") or name.startswith(".") or not _PLAIN_NAME.fullmatch(name) \
            or name.upper() in ("CURRENT", "HISTORY") or name != name.strip():
        raise ModelError(f"模型名“{name}”不是一个普通的名字（{where}）：模型只能放在模型文件夹里，"
                         "名字里不能有 /、\\、..、开头的点或控制字符，也不能是绝对路径；请换一个名字，如 model-2021")
    return name


def model_folder(root: Path, name: str) -> Path:
    """``root / name`` for a plain ``name``; refuses a name that would lead outside ``root``."""
    return Path(root) / check_model_name(name)


def current_model_dir(root: Path) -> Path:
    root = Path(root)
    pointer = root / "CURRENT"
    if not pointer.is_file():
        raise ModelError(
            f"{root}：没有当前模型（缺少 {pointer}）；请训练一个（router train 往年.xlsx；没有往年数据时 "
            "router train --cold），或用 router models promote 模型名 启用已有模型"
        )
    name = pointer.read_text(encoding="utf-8").strip()
    if name:
        check_model_name(name, where=str(pointer))
    if not name or not (root / name).is_dir():
        raise ModelError(f"{pointer} 指向的“{name}”不是模型文件夹；请用 router models promote 模型名 重新启用")
    return root / name


def promote(root: Path, name: str) -> None:
    root = Path(root)
    check_model_name(name, where="models promote")
    if not (root / name).is_dir():
        raise ModelError(f"{root / name}：没有这个模型文件夹；可用的模型见 router models list")
    history = root / "HISTORY"
    lines = [l for l in (history.read_text(encoding="utf-8").splitlines() if history.exists() else []) if l.strip()]
    if not lines or lines[-1] != name:
        lines.append(name)
    _write_text_atomic(history, "\n".join(lines) + "\n")
    _write_text_atomic(root / "CURRENT", name + "\n")


def rollback(root: Path) -> str:
    root = Path(root)
    history = root / "HISTORY"
    lines = [l for l in (history.read_text(encoding="utf-8").splitlines() if history.exists() else []) if l.strip()]
    if len(lines) < 2:
        raise ModelError(f"{root}：没有更早的模型可以回退；可用的模型见 router models list")
    lines.pop()
    _write_text_atomic(history, "\n".join(lines) + "\n")
    _write_text_atomic(root / "CURRENT", lines[-1] + "\n")
    return lines[-1]
