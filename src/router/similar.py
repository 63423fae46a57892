"""Similar past suggestions and near-duplicates within one intake.

A trained model keeps a memory of the labelled suggestions it learned from (their feature
vectors, year, number, title and final route), capped at the profile's ``memory_max`` most
recent ones so that a hotline's history does not bloat the model. Routing then lists, for each
suggestion, the closest earlier ones and how they were finally routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import scipy.sparse as sp

from .profile import Profile

__all__ = ["Memory", "attach_memory", "annotate", "annotate_all", "nearest_earlier"]

SIMILAR_MIN = 0.2
DUPLICATE_MIN = 0.75
SIMILAR_K = 3  # earlier suggestions listed beside each route


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
    suggestion as similar; shared words and n-grams say "the same ask" more sharply. A model
    without the text-model seam (a stand-in) gives its rows as they are.
    """
    features = getattr(model, "features_", None)
    return X if features is None else features.sparse_block(X)


def _route_rows(model, routes) -> sp.csr_matrix:
    """The rows routing already computed (featurize once); computed here only for routes without.

    Similar search is the rows' last reader: each route lets go of its row once it is stacked,
    a block at a time, so the rows are not held twice (as one-row matrices and stacked).
    """
    if any(getattr(r, "features", None) is None for r in routes):
        texts = [r.suggestion.text for r in routes]
        return similarity_rows(model, model.features(texts))
    blocks = []
    for start in range(0, len(routes), CHUNK):
        block = routes[start:start + CHUNK]
        blocks.append(similarity_rows(model, sp.vstack([r.features for r in block], format="csr")))
        for r in block:
            r.features = None
    return sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]


def _is_itself(item: dict, route) -> bool:
    """A memory item that is the routed suggestion itself (routing a year the model learned from)."""
    s = route.suggestion
    same_number = str(item.get("id") or "") == str(s.id or "")
    year = route.identity.year if getattr(route, "identity", None) is not None else None
    if same_number and year is not None and item.get("year") == year:
        return True
    return same_number and item.get("title") == s.title


def annotate(model, routes, *, k: int = SIMILAR_K, threshold: float = DUPLICATE_MIN) -> None:
    """Fill ``route.similar`` (up to ``k`` earlier suggestions, most similar first) and
    ``route.duplicate_of`` (an earlier suggestion of the same intake filing the same ask).

    The rows routing computed are reused: no text is cut or featurized again.
    """
    annotate_all(model, routes, k=k, threshold=threshold)


def annotate_all(model, routes: Iterable, *, k: int = SIMILAR_K, threshold: float = DUPLICATE_MIN) -> list:
    """:func:`annotate` over a stream of routes, consumed as it comes; returns them as a list.

    Similar past suggestions are found a block of ``CHUNK`` routes at a time, as the routes
    arrive, and each route lets go of its row then: what stays for the duplicates over the
    whole intake is one sparse matrix of rows, not a matrix object per route.
    """
    out: list = []
    pending: list = []
    routable: list = []
    blocks: list = []

    def flush():
        vectors = _route_rows(model, pending)
        _similar(model, pending, vectors, k)
        blocks.append(vectors)
        routable.extend(pending)
        pending.clear()

    for r in routes:
        out.append(r)
        if r.suggestion.routable:
            pending.append(r)
            if len(pending) >= CHUNK:
                flush()
    if pending:
        flush()
    if len(routable) < 2:
        return out
    vectors = blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")
    blocks.clear()
    for i, found in enumerate(nearest_earlier(vectors, threshold)):
        if found is not None:
            j, score = found
            other = routable[j]
            routable[i].duplicate_of = f"与序号{other.seq}（{other.suggestion.id}）相似度{score:.0%}，建议合并办理"
    return out


def _similar(model, routes: list, vectors, k: int) -> None:
    """Up to ``k`` remembered suggestions per route, the closest first (the earliest of equals),
    among the ``k + 4`` closest: the route's ``nearest`` where the model kept enough of them."""
    memory = getattr(model, "memory_", None)
    if memory is None:
        return
    wanted = min(k + 4, len(memory.items))
    if not all(getattr(r, "nearest", None) is not None and len(r.nearest[0]) >= wanted for r in routes):
        scores = (vectors @ memory.vectors.T).toarray()
        for r, row in zip(routes, scores):
            order = np.argsort(-row, kind="stable")[:wanted]
            r.nearest = (order, row[order])
    for r in routes:
        order, cosines = r.nearest
        picked = [(int(j), float(c)) for j, c in zip(order[:wanted], cosines[:wanted])
                  if c >= SIMILAR_MIN and not _is_itself(memory.items[j], r)][:k]
        r.similar = [{**memory.items[j], "score": round(c, 3)} for j, c in picked]
        r.nearest = None


# Up to this many rows, every pair is compared; beyond, a blocked search finds the candidates.
EXACT_BELOW = 3000
TOP_FEATURES = 8      # a row's heaviest features, which a near-duplicate shares
POSTING_MAX = 200     # a feature that heavy in more rows than this does not make candidates
CHUNK = 1000
# Candidate pairs scored at once: each pair copies both rows (a few thousand numbers for a text
# with a body), and an intake filed many times over has a hundred candidates a row.
PAIRS = 4000


def nearest_earlier(vectors, threshold: float = DUPLICATE_MIN, *, exact_below: int = EXACT_BELOW) -> list:
    """For each row, (j, score) of the most similar earlier row with score >= ``threshold``, else None.

    Rows are unit vectors, so the score is their cosine. Ties go to the earliest row. Up to
    ``exact_below`` rows all pairs are compared; beyond, time and memory grow about linearly:
    identical rows are found by hashing, and other candidates are the earlier rows sharing one
    of a row's ``TOP_FEATURES`` heaviest features (features that heavy in more than
    ``POSTING_MAX`` rows are left out of the blocking), scored exactly. A pair that shares none
    of its heaviest features is not a near-duplicate in practice.
    """
    n = vectors.shape[0]
    best: list = [None] * n
    if n < 2:
        return best
    if not sp.issparse(vectors):
        return _nearest_dense(np.asarray(vectors), threshold)
    vectors = sp.csr_matrix(vectors)
    if n <= exact_below:
        for start in range(0, n, CHUNK):
            block = (vectors[start:start + CHUNK] @ vectors[: start + CHUNK].T).toarray()
            for offset, row in enumerate(block):
                i = start + offset
                _keep_best(best, i, row[:i], threshold)
        return best
    first_with: dict[bytes, int] = {}
    for i in range(n):
        lo, hi = vectors.indptr[i], vectors.indptr[i + 1]
        if lo == hi:
            continue
        key = vectors.indices[lo:hi].tobytes() + vectors.data[lo:hi].tobytes()
        if key in first_with:
            best[i] = (first_with[key], 1.0)
        else:
            first_with[key] = i
    blocking = _heaviest(vectors)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        shared = (blocking[start:stop] @ blocking[:stop].T).tocoo()
        rows, cols = shared.row + start, shared.col
        earlier = cols < rows
        rows, cols = rows[earlier], cols[earlier]
        if not rows.size:
            continue
        scores = np.concatenate([np.asarray(vectors[rows[p:p + PAIRS]].multiply(vectors[cols[p:p + PAIRS]])
                                            .sum(axis=1)).ravel() for p in range(0, len(rows), PAIRS)])
        order = np.lexsort((cols, -scores, rows))  # by row, best score first, earliest first
        seen = set()
        for k in order:
            i = int(rows[k])
            if i in seen:
                continue
            seen.add(i)
            score = float(scores[k])
            if score >= threshold and (best[i] is None or score > best[i][1] + 1e-9):
                best[i] = (int(cols[k]), score)
    return best


def _keep_best(best: list, i: int, row, threshold: float) -> None:
    if row.size and row.max() >= threshold:
        j = int(row.argmax())
        best[i] = (j, float(row[j]))


def _heaviest(vectors: sp.csr_matrix) -> sp.csr_matrix:
    """A 0/1 matrix of each row's heaviest features, without the features too common to block on."""
    rows, cols = [], []
    for i in range(vectors.shape[0]):
        lo, hi = vectors.indptr[i], vectors.indptr[i + 1]
        if hi - lo > TOP_FEATURES:
            top = np.argpartition(-vectors.data[lo:hi], TOP_FEATURES)[:TOP_FEATURES] + lo
        else:
            top = np.arange(lo, hi)
        rows.extend([i] * len(top))
        cols.extend(vectors.indices[top].tolist())
    marks = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=vectors.shape)
    counts = np.bincount(marks.indices, minlength=vectors.shape[1])
    keep = sp.diags((counts <= POSTING_MAX).astype(np.float32))
    return (marks @ keep).tocsr()


def _nearest_dense(vectors: np.ndarray, threshold: float) -> list:
    """Dense rows (an encoder's): all pairs, in blocks, so memory stays bounded."""
    n = vectors.shape[0]
    best: list = [None] * n
    for start in range(0, n, CHUNK):
        block = vectors[start:start + CHUNK] @ vectors[: start + CHUNK].T
        for offset, row in enumerate(block):
            i = start + offset
            _keep_best(best, i, row[:i], threshold)
    return best
