"""Routing an intake file: read, pick the model, route, annotate, write the table, record the routes."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError, RequestError
from ..profile import Profile
from ..table import output_format  # noqa: F401  (part of this service: -o and --format agree)

__all__ = ["RouteSummary", "resolve_model", "output_format", "output_path", "route_file"]


@dataclass
class RouteSummary:
    output: Path
    routed: int
    review: int
    empty: int
    human: int
    model: object  # the loaded model (its folder, and ``bundled`` when it ships with the package)
    recorded: bool  # the routes went into a store


def resolve_model(profile: Profile, *, model_dir: Path | None = None, models_root: Path | None = None,
                  office: bool = False, cache: Path | None = None):
    """``model_dir``, else the current model of ``models_root``; the packaged default when there is none.

    In an office (``office``) that has not trained or promoted a model yet, the packaged model
    serves too. The loaded model's ``bundled`` says whether it is the one that ships inside the
    package. ``cache`` is jieba's cache folder (None: the library's default).
    """
    from ..office import bundled_models_dir
    from ..registry import current_model_dir, load_model

    if model_dir:
        folder = Path(model_dir)
    elif models_root is not None and ((Path(models_root) / "CURRENT").is_file() or not office):
        folder = current_model_dir(Path(models_root))
    else:
        folder = current_model_dir(bundled_models_dir())
    model = load_model(folder, profile, cache=cache)
    model.bundled = folder.resolve().is_relative_to(bundled_models_dir().resolve())
    return model


def output_path(input_path: Path, output: Path | None, fmt: str) -> Path:
    """``output``, or the input's name with _交办任务表; never the input itself."""
    from ..table import default_output_path

    output = Path(output) if output else default_output_path(Path(input_path), fmt)
    if output.resolve() == Path(input_path).resolve():
        raise RequestError("输出会覆盖输入文件；请用 -o 另选一个文件")
    return output


def _annotated(model, routes, chunk: int = 2000):
    """Similar past suggestions and duplicates for a stream, a chunk at a time (duplicates within a chunk).

    The chunk is the routing stream's own, so the table starts to be written as soon as the first
    chunk is routed and memory stays bounded.
    """
    from ..similar import annotate

    batch = []
    for r in routes:
        batch.append(r)
        if len(batch) >= chunk:
            annotate(model, batch)
            yield from batch
            batch = []
    if batch:
        annotate(model, batch)
        yield from batch


def _refuse_unaccepted_review(output: Path, profile: Profile, decisions: dict) -> None:
    from ..errors import OutputError
    from ..review import unrecorded_review_rows

    pending = unrecorded_review_rows(output, profile, decisions)
    if pending:
        shown = "、".join(map(str, pending[:10])) + ("等" if len(pending) > 10 else "")
        raise OutputError(
            f"{output}：表中第 {shown} 行（共 {len(pending)} 行）有复核记录尚未记入历史库，重新路由会覆盖它们；"
            f"先运行 router accept {output} 记录，或换一个输出文件（-o {output.with_name(output.stem + '_新' + output.suffix)}），"
            "或加 --force 覆盖")


def route_file(profile: Profile, input_path: Path, output: Path, fmt: str, *, load_model: Callable[[], object],
               store=None, store_file: Path | None = None, threshold: float | None = None, sheet: str | None = None,
               assignment_date: dt.date | None = None, jobs: int = 1, year: int | None = None, force: bool = False,
               progress: Callable[[int], None] | None = None, year_ok: bool = False) -> RouteSummary:
    """Route an intake into the assignment table; reviewers' decisions in ``store`` win over the model.

    XLSX is the review surface: it is kept whole, enriched with similar past suggestions, refuses
    to replace a table holding review entries not yet accepted (unless ``force``), and its routes
    are recorded in the store at ``store_file`` (``store`` when it is open; created when there is
    none yet) after the new table is whole and before it replaces the old one. Without
    ``store_file`` nothing is recorded. CSV and JSONL stream. ``load_model`` is called once,
    after the intake is opened. A year the user stated (``year`` or ``assignment_date``) that
    disagrees with the intake, lies in the future or more than a year before the store's first
    year is refused (:mod:`router.services.years`) unless ``year_ok``.
    """
    from ..intake import open_intake
    from ..routing import route_stream
    from ..similar import annotate_all
    from ..table import write_routes

    reader = open_intake(input_path, profile, sheet=sheet)
    stated = year is not None or assignment_date is not None
    day = assignment_date or dt.date.today()
    year = year or day.year
    first_year = store.first_year() if store is not None else None

    def check_year(sessions=()):
        from .years import intake_evidence, year_problem

        if not stated or year_ok:
            return
        titles = [text for _, kind, text in reader.skipped if kind == "标题行"]
        problem = year_problem(year, intake_evidence(input_path, title_lines=titles, sessions=sessions),
                               today=dt.date.today(), first_year=first_year)
        if problem:
            raise RequestError(f"{input_path}：{problem}")

    check_year()
    model = load_model()
    decisions = {}
    if store is not None:  # (router.review and the store's module load only when there is a store)
        from ..review import human_decisions

        decisions = human_decisions(store)
    output = Path(output)
    if fmt == "xlsx" and output.exists() and not force:
        _refuse_unaccepted_review(output, profile, decisions)
    counts = {"routed": 0, "review": 0, "empty": 0, "human": 0}

    def routes():
        for r in route_stream(model, profile, reader, threshold=threshold, assignment_date=day, jobs=jobs,
                              decisions=decisions, year=year):
            counts["routed"] += 1
            counts["review"] += r.needs_review
            counts["empty"] += r.source == "empty"
            counts["human"] += r.source == "human"
            if progress:
                progress(counts["routed"])
            yield r
        if counts["routed"] == counts["empty"]:
            raise InputError(f"{input_path}：没有一条建议有标题或内容，无法分办；请检查文件的标题列和内容列")

    if fmt == "xlsx":
        # Similar search as the routes come, a block at a time; it lets go of each feature row.
        routed = annotate_all(model, routes())
        check_year([r.suggestion.session for r in routed])
        meta = {}
        # A store made by this route takes the id its table already carries (it is made only once the table is whole).
        new_id = secrets.token_hex(8)
        if store_file is not None:
            meta = {"历史库": str(Path(store_file).resolve()),
                    "决定序号": store.last_decision_id() if store is not None else 0,
                    "存储标识": store.store_id if store is not None else new_id}
        meta.update({"年度": year, "交办日期": day.isoformat(), "来文": Path(input_path).name,
                     "模型": model.folder.name, "路由时间": dt.datetime.now().isoformat(timespec="seconds")})

        def record():  # before the new table replaces the old: a table is never left unrecorded
            source = Path(input_path).name
            if store is not None:
                store.record_routes(routed, year=year, source=source, model=str(model.folder))
            elif store_file is not None:
                from ..store import Store

                with Store.open(store_file, identity=new_id) as created:
                    created.record_routes(routed, year=year, source=source, model=str(model.folder))

        write_routes(routed, profile, output, fmt, before_replace=record, assigned=day, meta=meta)
    else:
        write_routes(_annotated(model, routes()), profile, output, fmt)
    return RouteSummary(output, counts["routed"], counts["review"], counts["empty"], counts["human"], model,
                        fmt == "xlsx" and store_file is not None)
