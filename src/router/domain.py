"""The things of the domain that several rooms share: a labelled example and a model's decision."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Example", "Decision"]


@dataclass
class Example:
    """A labelled suggestion used for training."""

    text: str
    topic: str
    division: str
    co_divisions: tuple[str, ...] = ()
    year: int | None = None
    id: str = ""
    weight: float = 1.0


@dataclass
class Decision:
    """Probabilities and their explanation for one suggestion."""

    topic_proba: dict[str, float]
    division_proba: dict[str, float]
    source: str
    reasons: list[str]
    # The memory's closest items (indices into the model's memory, most similar first, and their
    # cosines), from the product precedents already computed: similar search reads them instead
    # of multiplying the rows by the memory again. None for a model without memory.
    nearest: tuple | None = None
