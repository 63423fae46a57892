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
    vectors = similarity_rows(model, model.features(texts)) if picked else None
    items = [
        {"year": e.year, "id": e.id, "title": e.text.split("\n", 1)[0],
         "topic": e.topic, "topic_name": profile.topic(e.topic).name,
         "division": e.division, "division_name": profile.division(e.division).name}
        for e in picked
    ]
    model.memory_ = Memory(vectors, items) if picked else None


def similarity_rows(model, X) -> sp.csr_matrix:
    """The part of a model's feature rows that similarity reads: the unit-length TF-IDF block.

    The sentence vectors are left out: two suggestions of one domain are close in meaning
    (cosines of 0.3 to 0.5) even when they ask different things, which would list every past
    suggestion as similar; shared words and n-grams say "the same ask" more sharply.
    """
    return model.features_.sparse_block(X)


def _route_rows(model, routes) -> sp.csr_matrix:
    """The rows routing already computed (featurize once); computed here only for routes without."""
    rows = [getattr(r, "features", None) for r in routes]
    if all(row is not None for row in rows):
        return similarity_rows(model, sp.vstack(rows, format="csr"))
    texts = [r.suggestion.text for r in routes]
    return similarity_rows(model, model.features(texts))


def annotate(model, routes, *, k: int = 3, threshold: float = DUPLICATE_MIN) -> None:
    """Fill ``route.similar`` (up to ``k`` earlier suggestions, most similar first) and
    ``route.duplicate_of`` (an earlier suggestion of the same intake filing the same ask).

    The rows routing computed are reused: no text is cut or featurized again.
    """
    routable = [r for r in routes if r.suggestion.routable]
    if not routable:
        return
    vectors = _route_rows(model, routable)
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
