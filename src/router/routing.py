"""Routing a batch: from suggestions to routes, in input order, nothing dropped."""

from __future__ import annotations

import calendar
import collections
import dataclasses
import datetime as dt
import multiprocessing
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from .intake import Identity, Suggestion
from .profile import Profile

__all__ = ["Route", "route_batch", "route_stream", "add_months", "HumanDecision", "CHUNK"]

# Suggestions routed together: one process's batch and one worker's task alike, so that both
# compute every row in the same batch and their tables agree to the byte. Small enough that the
# last tasks of an input spread over every worker; large enough that a batch's fixed costs vanish.
# 250 rather than 500: a batch's rows × memory product (large form) stays small enough for the
# cache, and the last tasks of 5,000 rows spread more evenly over two workers
# (benchmarks/run.py --only speed, README).
CHUNK = 250


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class HumanDecision:
    """The latest reviewer decision for a suggestion, which always wins over the model."""

    topic: str
    division: str
    co_divisions: tuple[str, ...] = ()
    # Who decided, how and why, shown back in a re-routed table (复核, 复核人, 复核意见).
    action: str = "同意"
    reviewer: str = ""
    comment: str = ""


@dataclass
class Route:
    seq: int
    suggestion: Suggestion
    topic: str | None
    topic_confidence: float
    topics: list[tuple[str, float]]
    division: str | None
    division_confidence: float
    divisions: list[tuple[str, float]]
    co_divisions: list[str]
    needs_review: bool
    reasons: list[str]
    source: str
    leader: str
    deadline: str
    similar: list[dict] = field(default_factory=list)
    duplicate_of: str = ""
    # The row of the model's features that similar search and duplicates read (its TF-IDF
    # block, see router.similar.similarity_rows), kept so that they featurize nothing again;
    # workers send it back with the route.
    features: object = field(default=None, repr=False, compare=False)
    # The model's closest remembered suggestions (router.domain.Decision.nearest), which similar
    # search reads instead of comparing the row with the memory again: a worker computes them
    # with its decisions, so the parent's search only picks among them.
    nearest: object = field(default=None, repr=False, compare=False)
    identity: Identity | None = None
    # The reviewer's decision this route follows (source "human"), shown instead of the model's.
    human: HumanDecision | None = None

    def as_record(self, profile: Profile) -> dict:
        """The JSONL object other systems read."""
        s = self.suggestion
        return {
            "id": s.id,
            "title": s.title,
            "topic": self.topic,
            "topic_name": profile.topic(self.topic).name if self.topic else None,
            "topic_confidence": round(self.topic_confidence, 4),
            "topics": [[k, round(p, 4)] for k, p in self.topics],
            "division": self.division,
            "division_name": profile.division(self.division).name if self.division else None,
            "division_confidence": round(self.division_confidence, 4),
            "divisions": [[k, round(p, 4)] for k, p in self.divisions],
            "co_divisions": self.co_divisions,
            "needs_review": self.needs_review,
            "reasons": self.reasons,
            "route_source": self.source,
            "leader": self.leader,
            "deadline": self.deadline,
            "similar": self.similar,
            "duplicate_of": self.duplicate_of,
        }


def _top(proba: dict[str, float], k: int = 3) -> list[tuple[str, float]]:
    return sorted(proba.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def _needs_review(top: list[tuple[str, float]], threshold: float, margin: float) -> bool:
    if not top or top[0][1] < threshold:
        return True
    return len(top) > 1 and top[0][1] - top[1][1] < margin


def _in_profile(human: HumanDecision, identity: Identity, profile: Profile, decisions: dict) -> HumanDecision:
    """A stored decision in this profile's keys (after ``renamed``); refuses keys the profile lost."""
    from .errors import ProfileError

    current = dataclasses.replace(human, topic=profile.current_key(human.topic),
                                  division=profile.current_key(human.division),
                                  co_divisions=tuple(profile.current_key(k) for k in human.co_divisions))
    topics, divisions = set(profile.topic_keys), set(profile.division_keys)
    if current.topic in topics and current.division in divisions and set(current.co_divisions) <= divisions:
        return current
    lost: dict[str, list[Identity]] = {}
    for key, h in decisions.items():
        for k in (h.topic,):
            if profile.current_key(k) not in topics:
                lost.setdefault(k, []).append(key)
        for k in (h.division, *h.co_divisions):
            if profile.current_key(k) not in divisions:
                lost.setdefault(k, []).append(key)
    described = "；".join(
        f"“{k}”{len(ids)} 条（如 {ids[0].year}年第{ids[0].number}号）" for k, ids in sorted(lost.items()))
    example = next(iter(lost))
    raise ProfileError(
        f"{profile.source or '配置文件'}：存储里已记录的复核决定使用了本配置中没有的键：{described}；"
        f"如果这些主题或处室已改名，请在配置文件顶部加上 renamed = {{{example} = \"新的键\"}}，"
        "把旧键对应到现在的键，然后重试"
    )


def route_batch(model, profile: Profile, suggestions: list[Suggestion], *, threshold: float | None = None,
                assignment_date: dt.date | None = None, start: int = 1,
                decisions: dict[Identity, HumanDecision] | None = None, year: int | None = None) -> list[Route]:
    """Route suggestions; ``decisions`` maps an :class:`Identity` to a reviewer's decision, which wins.

    A suggestion's identity is the profile's office, ``year`` (default: the assignment date's)
    and its number: a decision applies to that suggestion only, never to another with the same
    text, nor to the same text filed again in another year.
    """
    if threshold is None:  # the profile's, or the one its [review] share asks of this model
        threshold = model.review_threshold(profile) if hasattr(model, "review_threshold") else profile.threshold
    day = assignment_date or dt.date.today()
    year = day.year if year is None else year
    deadline = add_months(day, profile.deadline_months).isoformat()
    routable = [s for s in suggestions if s.routable]
    texts = [s.text for s in routable]
    # The words are cut once: the features and the decision (a seeded topic model reads them too).
    tokens = model.tokens_of(texts) if routable and hasattr(model, "tokens_of") else None
    X = (model.features(texts) if tokens is None else model.features(texts, tokens)) if routable else None
    outcome = iter(model.decide(texts, tokens=tokens, X=X) if routable else [])
    if routable:
        from .similar import similarity_rows

        X = similarity_rows(model, X)
    rows = iter(range(len(routable)))
    routes = []
    for offset, s in enumerate(suggestions):
        seq = start + offset
        identity = s.identity(profile.office_name, year)
        if not s.routable:
            routes.append(Route(seq, s, None, 0.0, [], None, 0.0, [], [], True, ["标题和正文均为空，无法路由"],
                                "empty", "", deadline, identity=identity))
            continue
        d = next(outcome)
        row = X[next(rows)]
        topics = _top(d.topic_proba)
        divisions = _top(d.division_proba)
        topic, division = topics[0][0], divisions[0][0]
        co = [k for k, p in _top(d.division_proba, len(d.division_proba))[1:] if p >= profile.co_threshold][: profile.max_co]
        review = _needs_review(topics, threshold, profile.margin) or _needs_review(divisions, threshold, profile.margin)
        source = d.source
        # A store's rows from before offices were recorded carry office ''.
        human = (decisions.get(identity) or decisions.get(identity._replace(office=""))) if decisions else None
        if human is not None:
            human = _in_profile(human, identity, profile, decisions)
            topic, division, co = human.topic, human.division, list(human.co_divisions)
            review, source = False, "human"
        routes.append(Route(
            seq=seq, suggestion=s, topic=topic, topic_confidence=d.topic_proba[topic], topics=topics,
            division=division, division_confidence=d.division_proba[division], divisions=divisions,
            co_divisions=co, needs_review=review, reasons=d.reasons, source=source,
            leader=profile.division(division).leader, deadline=deadline, features=row, identity=identity,
            human=human, nearest=getattr(d, "nearest", None),
        ))
    return routes


_WORKER: dict = {}


def _route_chunk(args):
    suggestions, start = args
    w = _WORKER
    routes = route_batch(w["model"], w["profile"], suggestions, threshold=w["threshold"],
                         assignment_date=w["day"], start=start, decisions=w["decisions"], year=w["year"])
    for r in routes:
        r.suggestion = None  # the parent still holds it: do not send every text back
    return routes


def _with_suggestions(batch: list[Suggestion], routes: list[Route]) -> list[Route]:
    for s, r in zip(batch, routes):
        r.suggestion = s
    return routes


def _chunks(suggestions: Iterable[Suggestion], size: int) -> Iterator[tuple[list[Suggestion], int]]:
    batch: list[Suggestion] = []
    start = 1
    for s in suggestions:
        batch.append(s)
        if len(batch) >= size:
            yield batch, start
            start += len(batch)
            batch = []
    if batch:
        yield batch, start


def route_stream(model, profile: Profile, suggestions: Iterable[Suggestion], *, threshold: float | None = None,
                 assignment_date: dt.date | None = None, decisions: dict[Identity, HumanDecision] | None = None,
                 jobs: int = 1, chunk_size: int | None = None, year: int | None = None) -> Iterator[Route]:
    """Route an iterable of any length in chunks; with ``jobs`` > 1, chunks go to forked workers.

    The workers fork once, after the model and what it loads on first use (jieba's dictionary,
    the encoder's weights) are in memory, so they share it; each sends back its routes with
    their feature rows, so the parent featurizes nothing again. Memory stays bounded either
    way: one process holds one chunk; with workers at most ``2 * jobs`` chunks are in flight
    (``Pool.imap`` would read the whole input ahead).
    """
    (getattr(model, "warm", None) or model.tokenizer.warm)()  # before any fork (a stand-in has no warm)
    chunk_size = chunk_size or CHUNK
    if jobs <= 1:
        for batch, start in _chunks(suggestions, chunk_size):
            yield from route_batch(model, profile, batch, threshold=threshold, assignment_date=assignment_date,
                                   start=start, decisions=decisions, year=year)
        return
    read_all = getattr(model, "read_all", None) or getattr(getattr(model, "tokenizer", None), "read_all", None)
    if read_all is not None:  # the dictionaries read whole once here and shared, not in parts by each worker
        read_all()
    _WORKER.update(model=model, profile=profile, threshold=threshold, day=assignment_date, decisions=decisions,
                   year=year)
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(jobs) as pool:
            pending: collections.deque = collections.deque()
            for batch, start in _chunks(suggestions, chunk_size):
                pending.append((batch, pool.apply_async(_route_chunk, ((batch, start),))))
                if len(pending) >= 2 * jobs:
                    batch, result = pending.popleft()
                    yield from _with_suggestions(batch, result.get())
            while pending:
                batch, result = pending.popleft()
                yield from _with_suggestions(batch, result.get())
    finally:
        _WORKER.clear()
