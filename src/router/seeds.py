"""The seed topics: the bundled default model's topic part, lent to profiles that keep its topics.

A county's, city's or province's profile keeps the default profile's five seed topics but has
departments of its own; the bundled model learned those very topics from the written history.
:func:`bundled_seed` decides whether a profile takes them and copies the part; the model
(:mod:`router.model`) blends it into its topics' prior and records it in the manifest.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .profile import Profile
from .textmodels import TextFeatures

__all__ = ["SeedTopics", "bundled_seed"]


class SeedTopics:
    """The bundled default model's topic part, copied into a model whose profile keeps the seed topics.

    A profile whose topics are the default profile's five (:func:`router.profile.keeps_seed_topics`)
    but whose divisions are its own (a county's departments) has no history of its own for
    topics at first, while the bundled model learned those very topics from the written
    history. Its topic distribution is then ``(1 - w) * own prior + w * bundled history``: the
    profile's own topic evidence (its descriptions, terms and asks) in place of the default
    profile's, and the bundled model's history classifier at the weight its own temporal
    backtest chose (``w``). With the default texts this is the bundled model's own topic route
    (0.841 topic accuracy on the dev set against 0.779 from the county template's words alone,
    ``benchmarks/real.py``). The office's own history, when it has some, then moves this
    distribution as it moves any prior (``RouterModel._blend``).

    The part is copied (the bundled model's sparse featurizer without its encoder, and its
    topic classifier's arrays), not referred to: a model folder routes with what it holds, and
    a new release of router, whose bundled model is retrained, leaves an office's models
    loadable and unchanged. The manifest records which bundled model it came from
    (``seed_topics``: name, creation time, sha256 of its model file). The sentence-vector
    columns are the routed model's own (the same encoder, checked when fitting), so routing
    runs the encoder once per text.
    """

    def __init__(self, bundled, source: dict):
        features = bundled.features_
        sparse = TextFeatures.__new__(TextFeatures)
        sparse.__dict__.update(features.__dict__)
        sparse.encoder_ = None  # the routed model's own sentence vectors are used
        sparse.fast_ = None
        self.features_ = sparse
        self.meaning_ = {k: v for k, v in features.describe().items() if k != "sparse"}
        self.scale_ = features.scale_
        self.topics_ = list(bundled.topics_)
        self.topic_model_ = bundled.topic_model_
        self.seen_ = np.asarray(bundled.topic_seen_, dtype=bool)
        self.weight_ = float(bundled.weights_["topic"])
        self.examples_ = int(bundled.n_examples_)
        self.source_ = dict(source)

    def fits(self, features: TextFeatures) -> bool:
        """Whether a model with these text models can lend the seed its sentence vectors."""
        own = {k: v for k, v in features.describe().items() if k != "sparse"}
        return bool(self.meaning_) and own == self.meaning_ and not features.large

    def proba(self, topics: list[str], features: TextFeatures, X, tokens: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The bundled history's topic probabilities of the rows (columns in ``topics``' order), and its seen mask."""
        rows = self.features_.transform(tokens, [" ".join(t) for t in tokens])
        meaning = features.semantic_block(X) * self.scale_
        rows = sp.hstack([rows, sp.csr_matrix(meaning)], format="csr", dtype=np.float32)
        order = [self.topics_.index(key) for key in topics]
        return self.topic_model_.proba(rows)[:, order], self.seen_[order]

    def base(self, topics, features, X, tokens, prior: np.ndarray) -> np.ndarray:
        """The topic distribution the office's own history then moves: own prior and bundled history."""
        from .model import _redistribute

        hist, seen = self.proba(topics, features, X, tokens)
        return (1 - self.weight_) * prior + self.weight_ * _redistribute(hist, prior, seen)


# Loaded bundled models by (folder, sha256 of the model file): backtests fit many models.
_BUNDLED: dict = {}


def bundled_seed(profile: Profile) -> SeedTopics | None:
    """The bundled default model's topic part for ``profile``, or None when it is not for it.

    For a profile that keeps the seed topics (:func:`router.profile.keeps_seed_topics`) with
    divisions of its own (the bundled model does not serve it). The bundled model missing or
    changed is an error, never a silent cold start of topics.
    """
    from .errors import ModelError, RouterError
    from .office import bundled_models_dir
    from .profile import keeps_seed_topics, load_profile
    from .registry import current_model_dir, load_model, read_manifest

    if not keeps_seed_topics(profile):
        return None
    default = load_profile()
    if profile.division_keys == default.division_keys:
        return None  # the bundled model's own profile (training the bundled model itself reads none)
    root = bundled_models_dir()
    try:
        folder = current_model_dir(root)
        manifest = read_manifest(folder)
        if manifest.get("labels", {}).get("divisions") == profile.division_keys:
            return None  # the bundled model serves this profile itself
        key = (str(folder), manifest.get("sha256", {}).get("model.joblib"))
        if key not in _BUNDLED:
            _BUNDLED.clear()
            bundled = load_model(folder, default)
            _BUNDLED[key] = SeedTopics(bundled, {"model": folder.name, "created": manifest.get("created"),
                                                 "model_sha256": key[1]})
    except RouterError as exc:
        raise ModelError(
            f"配置沿用了默认配置的五类主题，主题要用随包默认模型 {root} 的主题模型，但它无法加载（{exc}）；"
            "请重新安装 router 以恢复随包模型，或在配置中改写主题（键或名称）后再训练") from None
    return _BUNDLED[key]
