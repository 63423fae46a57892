"""Routing an intake file: read, pick the model, route, annotate, write the table, record the routes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError, RequestError
from ..profile import Profile
from ..table import output_format  # noqa: F401  (part of this service: -o and --format agree)

__all__ = ["RouteSummary", "load_route_model", "output_format", "output_path", "route_file"]

@dataclass
class RouteSummary:
    output: Path
    routed: int
    review: int
    empty: int
    human: int
    model: str


def load_route_model(profile: Profile, *, model_dir: Path | None = None, models_root: Path,
                     cache: Path | None = None):
    """The model in ``model_dir``, else the current model of ``models_root``, checked before loading.

    ``cache`` is jieba's cache folder (None: the library's default).
    """
    from ..registry import current_model_dir, load_model

    folder = Path(model_dir) if model_dir else current_model_dir(Path(models_root))
    return load_model(folder, profile, cache=cache)


def output_path(input_path: Path, output: Path | None, fmt: str) -> Path:
    """``output``, or the input's name with _交办任务表; never the input itself."""
    from ..table import default_output_path

    output = Path(output) if output else default_output_path(Path(input_path), fmt)
    if output.resolve() == Path(input_path).resolve():
        raise RequestError("输出会覆盖输入文件；请用 -o 另选一个文件")
    return output


def route_file(profile: Profile, input_path: Path, output: Path, fmt: str, *, model=None,
               model_dir: Path | None = None, models_root: Path | None = None, cache: Path | None = None,
               store=None, new_store: Path | None = None, threshold: float | None = None, sheet: str | None = None, assignment_date: dt.date | None = None,
               jobs: int = 1, year: int | None = None,
               progress: Callable[[int], None] | None = None) -> RouteSummary:
    """Route an intake into the assignment table; reviewers' decisions in ``store`` win over the model.

    XLSX is the review surface: it is kept whole, enriched with similar past suggestions, and its
    routes are recorded in ``store`` so that a reviewed copy can be accepted. CSV and JSONL stream.
    ``model`` is a loaded model; without one, :func:`load_route_model` loads it from the folders.
    Without ``store`` (there is none yet), an XLSX table's routes go to a store created at
    ``new_store`` only once the table is whole, so a failed route leaves no empty store behind.
    """
    from ..intake import open_intake
    from ..review import human_decisions
    from ..routing import route_stream
    from ..similar import annotate
    from ..table import write_routes

    if fmt == "xlsx" and store is None and new_store is None:
        raise RequestError("XLSX 交办任务表需要一个存储来记录分办结果")
    reader = open_intake(input_path, profile, sheet=sheet)
    if model is None:
        model = load_route_model(profile, model_dir=model_dir, models_root=models_root, cache=cache)
    day = assignment_date or dt.date.today()
    decisions = human_decisions(store) if store is not None else {}
    counts = {"routed": 0, "review": 0, "empty": 0, "human": 0}

    def routes():
        for r in route_stream(model, profile, reader, threshold=threshold, assignment_date=day, jobs=jobs,
                              decisions=decisions, year=year or day.year):
            counts["routed"] += 1
            counts["review"] += r.needs_review
            counts["empty"] += r.source == "empty"
            counts["human"] += r.source == "human"
            if progress:
                progress(counts["routed"])
            yield r
        if counts["routed"] == counts["empty"]:
            raise InputError(f"{input_path}: no suggestion has a title or body; nothing to route")

    if fmt == "xlsx":
        routed = list(routes())
        annotate(model, routed)

        def record():  # before the new table replaces the old: a table is never left unrecorded
            from ..store import Store

            source = Path(input_path).name
            if store is not None:
                store.record_routes(routed, year=year or day.year, source=source, model=str(model.folder))
                return
            with Store.open(new_store) as created:
                created.record_routes(routed, year=year or day.year, source=source, model=str(model.folder))

        write_routes(routed, profile, output, fmt, before_replace=record)
    else:
        write_routes(routes(), profile, output, fmt)
    return RouteSummary(Path(output), counts["routed"], counts["review"], counts["empty"], counts["human"],
                        str(model.folder))
