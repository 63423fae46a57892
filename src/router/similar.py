"""Similar past suggestions and near-duplicates within one intake.

A trained model keeps a memory of the labelled suggestions it learned from (their feature
vectors, year, number, title and final route), capped at the profile's ``memory_max`` most
recent ones so that a hotline's history does not bloat the model. Routing then lists, for each
suggestion, the closest earlier ones and how they were finally routed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .profile import Profile

__all__ = ["Memory", "attach_memory", "annotate"]

SIMILAR_MIN = 0.2
DUPLICATE_MIN = 0.75


@dataclass
class Memory:
    vectors: sp.csr_matrix
    items: list[dict]


def attach_memory(model, examples, profile: Profile) -> None:
    """Keep the most recent ``profile.memory_max`` examples as the model's memory."""
    chosen = sorted(range(len(examples)), key=lambda i: (examples[i].year or 0, i))[-profile.memory_max:] \
        if profile.memory_max else []
    picked = [examples[i] for i in sorted(chosen)]
    texts = [e.text for e in picked]
    vectors = model.featurizer_.transform(model.tokens_of(texts), texts) if picked else None
    items = [
        {"year": e.year, "id": e.id, "title": e.text.split("\n", 1)[0],
         "topic": e.topic, "topic_name": profile.topic(e.topic).name,
         "division": e.division, "division_name": profile.division(e.division).name}
        for e in picked
    ]
    model.memory_ = Memory(vectors, items) if picked else None


def annotate(model, routes, *, k: int = 3, threshold: float = DUPLICATE_MIN) -> None:
    """Fill ``route.similar`` (up to ``k`` earlier suggestions, most similar first) and
    ``route.duplicate_of`` (an earlier suggestion of the same intake filing the same ask).

    The texts are cut and featurized once for both.
    """
    routable = [r for r in routes if r.suggestion.routable]
    if not routable:
        return
    texts = [r.suggestion.text for r in routable]
    vectors = model.featurizer_.transform(model.tokens_of(texts), texts)
    memory = getattr(model, "memory_", None)
    if memory is not None:
        scores = np.asarray((vectors @ memory.vectors.T).todense())
        for r, row in zip(routable, scores):
            order = np.argsort(-row)[:k]
            r.similar = [{**memory.items[j], "score": round(float(row[j]), 3)} for j in order if row[j] >= SIMILAR_MIN]
    if len(routable) < 2:
        return
    scores = (vectors @ vectors.T).tocsr()
    for i, r in enumerate(routable):
        row = scores.getrow(i).toarray().ravel()[:i]
        if row.size and row.max() >= threshold:
            j = int(row.argmax())
            other = routable[j]
            r.duplicate_of = f"与序号{other.seq}（{other.suggestion.id}）相似度{row[j]:.0%}，建议合并办理"
