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
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from pathlib import Path

from . import __version__
from .errors import ModelError
from .profile import Profile
from .tokenizer import Tokenizer

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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import jieba
    import numpy

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
        raise ModelError(f"{folder}: a model folder of that name exists; choose another --name")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as exc:
        raise ModelError(f"{folder}: cannot write in {folder.parent} ({exc.strerror}); "
                         "choose another --models folder") from None
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
        raise ModelError(f"{folder}: writing the model failed ({exc.strerror or exc}); "
                         "the models folder is unchanged") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def read_manifest(folder: Path) -> dict:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelError(f"{folder}: not a model folder (no {MANIFEST}); train one with `router train`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ModelError(f"{path}: the manifest is not valid JSON; retrain the model with `router train`") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}: the manifest is not a JSON object; retrain the model with `router train`")
    return manifest


def verify_model(folder: Path, profile: Profile | None = None) -> dict:
    """Check a folder's manifest, versions and hashes (and the profile's labels); return the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    made_by = str(manifest.get("versions", {}).get("router", "0"))
    if _version_tuple(made_by) > _version_tuple(__version__):
        raise ModelError(
            f"{folder}: made by router {made_by} (model format {manifest.get('format_version')}), "
            f"this is router {__version__}; upgrade router or retrain the model with this version"
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
            f"{folder}: trained with scikit-learn {made_sklearn}, installed is {have['scikit-learn']}; "
            f"install scikit-learn=={made_sklearn} or retrain with `router train`"
        )
    hashes = manifest.get("sha256", {})
    for name in (MODEL_FILE, DICT_FILE, STOP_FILE):
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{folder}: {name} is missing; restore the folder or retrain with `router train`")
        if sha256_file(path) != hashes.get(name):
            raise ModelError(
                f"{path}: changed since training (sha256 does not match the manifest); "
                "do not load it; restore the folder or retrain with `router train`"
            )
    if profile is not None:
        labels = manifest.get("labels", {})
        if labels.get("topics") != profile.topic_keys or labels.get("divisions") != profile.division_keys:
            raise ModelError(
                f"{folder}: the model's topics/divisions differ from the profile's "
                f"({profile.source}); retrain with `router train` under this profile or use the matching profile"
            )
    return manifest


def load_model(folder: Path, profile: Profile | None = None, *, cache: str | os.PathLike | None = None):
    """Verify, then unpickle, then attach a tokenizer built from the folder's own dictionary.

    ``cache`` is the folder for jieba's prefix-dictionary cache (see :func:`router.tokenizer.cache_dir`).
    """
    import joblib

    folder = Path(folder)
    manifest = verify_model(folder, profile)
    try:
        model = joblib.load(folder / MODEL_FILE)
    except Exception as exc:
        raise ModelError(f"{folder}: the model file cannot be loaded ({exc}); retrain with `router train`") from None
    model.tokenizer = Tokenizer(dictionary=folder / DICT_FILE, stopwords=folder / STOP_FILE, cache=cache)
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

    with atomic_path(path, advice="check the models folder or choose another with --models") as tmp:
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
            f"{root}: no current model ({pointer} missing); train one (`router train FILES`, or "
            "`router train --cold` for an office without history) or `router models promote NAME`"
        )
    name = pointer.read_text(encoding="utf-8").strip()
    if name:
        check_model_name(name, where=str(pointer))
    if not name or not (root / name).is_dir():
        raise ModelError(f"{pointer} names '{name}', which is not a model folder; `router models promote NAME`")
    return root / name


def promote(root: Path, name: str) -> None:
    root = Path(root)
    check_model_name(name, where="models promote")
    if not (root / name).is_dir():
        raise ModelError(f"{root / name}: no such model folder; see `router models list`")
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
        raise ModelError(f"{root}: no earlier model to roll back to; see `router models list`")
    lines.pop()
    _write_text_atomic(history, "\n".join(lines) + "\n")
    _write_text_atomic(root / "CURRENT", lines[-1] + "\n")
    return lines[-1]
