"""Learning from past years: labelled examples, training, evaluation and the promotion policy.

The CLI and the web page both call these; they take a profile, an open store (or None),
paths and values, and return plain results. Errors are the library's (``router.errors``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..domain import Example
from ..errors import InputError, ModelError, RequestError, RouterError
from ..profile import Profile

__all__ = [
    "TrainingData",
    "TrainedModel",
    "Promotion",
    "labelled_examples",
    "store_examples",
    "train_model",
    "evaluate_history",
    "verify_models",
    "promote_model",
    "backtest_steps",
    "bundled_fits",
]


@dataclass
class TrainingData:
    """Labelled examples and where they came from (file names or the store's path)."""

    examples: list[Example]
    sources: list[str] = field(default_factory=list)
    # Per example: decided independently of the model that routed it (a correction, 修改, or a
    # route flagged for review that a person looked at); None: every example is (labelled files).
    independent: list[bool] | None = None
    # Per example: a reviewer's correction (修改) of the model's route.
    corrected: list[bool] | None = None
    # Years decided before any model routed them (imported from past years' results): every
    # decision in them is independent of a model.
    before_model: set[int] = field(default_factory=set)

    @property
    def years(self) -> list[int]:
        return sorted({e.year for e in self.examples if e.year is not None})

    def by_year(self) -> dict:
        counts: dict = {}
        for e in self.examples:
            counts[e.year] = counts.get(e.year, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: kv[0] or 0))


@dataclass
class TrainedModel:
    folder: Path
    name: str
    examples: int
    years: list[int]
    scores: dict
    promoted: bool
    deferred: bool = False  # not made current: the packaged default model still serves


@dataclass
class Promotion:
    name: str
    # What the two models were compared on ("" when they were not), in Chinese, and their scores.
    basis: str = ""
    scores: dict = field(default_factory=dict)


def store_examples(store, profile: Profile, years: Iterable[int] | None = None) -> list[Example]:
    """The store's confirmed decisions as examples; a reviewer's correction (修改) weighs more."""
    return [
        Example(text=f"{r['title']}\n{r['body']}".strip(), topic=r["topic"], division=r["division"],
                co_divisions=tuple(r.get("co_divisions", ())), year=r["year"], id=r["number"] or "",
                weight=profile.correction_weight if r["action"] == "修改" else 1.0)
        for r in store.confirmed(set(years) if years else None)
    ]


def labelled_examples(profile: Profile, *, files: Iterable[Path] = (), store=None,
                      years: Iterable[int] | None = None, year: int | None = None) -> TrainingData:
    """Examples from labelled history workbooks, or from the store's latest decisions (not both).

    ``year`` is the year of files whose name has none (else their 年度/届次 column gives it).
    """
    from ..history import read_history, to_examples

    files = [Path(f) for f in files]
    if (store is None) == (not files):
        raise RequestError("请给出带标注的历史文件（如 data/history_*.xlsx）或 --from-store，二者只选其一")
    years = set(years) if years else None
    if store is not None:
        rows = store.confirmed(years)
        flagged = store.flagged(years)
        imported = store.imported_years()
        data = TrainingData(store_examples(store, profile, years), [str(store.path)],
                            independent=[r["action"] == "修改" or r["id"] in flagged or r["year"] in imported
                                         for r in rows],
                            corrected=[r["action"] == "修改" for r in rows],
                            before_model={y for y in imported if not years or y in years})
        if not years:
            _refuse_without_past_years(store, data)
    else:
        items = [item for path in files for item in read_history(path, profile, year=year)]
        items = [i for i in items if not years or i.year in years]
        data = TrainingData(to_examples(items), sorted({i.source for i in items}))
    if not data.examples:
        raise InputError("没有可供学习的带标注建议；请检查给出的文件、历史库和 --years")
    unknown = {e.topic for e in data.examples} - set(profile.topic_keys)
    unknown |= {e.division for e in data.examples} - set(profile.division_keys)
    if unknown:
        raise InputError(f"有不在配置文件中的标注：{'、'.join(sorted(unknown))}；请用当初标注时的配置文件")
    return data


def _refuse_without_past_years(store, data: TrainingData) -> None:
    """Training on this year's few reviewed rows alone makes a poor model: say so and name the fix."""
    imported = store.imported_years()
    by_year = data.by_year()
    if len(by_year) > 1 or set(by_year) & imported:
        return
    found = "、".join(f"{y} 年 {n} 条" for y, n in by_year.items()) or "没有"
    raise InputError(
        f"{store.path}：历史库中只有本年复核过的决定（{found}），没有导入往年的分办结果，训练出的模型会误导；"
        "先逐年导入往年结果：router history import 往年.xlsx（例如 router history import data/history_2017.xlsx，"
        "2018、2019、2020 年同样），再运行 router train --from-store"
    )


def bundled_fits(profile: Profile) -> bool:
    """Whether the packaged default model serves this profile."""
    from ..office import bundled_models_dir
    from ..registry import current_model_dir, verify_model

    try:
        verify_model(current_model_dir(bundled_models_dir()), profile)
    except RouterError:
        return False
    return True


def _latest_year_scores(data: TrainingData, profile: Profile, tokenizer) -> dict:
    """Train on every year but the latest, test on the latest: the score promotion compares.

    Beside the whole year, the score on its independent decisions (``independent``): a year
    mostly confirmed (同意) from a model's own routes scores any similar model high, so
    promotion compares on what people decided themselves, the corrections (修改) and the
    flagged routes they reviewed; and how many of the corrections the new model gets right.
    The years before the model (``before_model``: imported, decided before any model routed
    them), where years before them exist, are scored too (``earlier_years``: trained on the
    years before each), so that promotion has more independent decisions to compare on.
    """
    from ..evaluate import _train, predict_examples, score

    years = data.years
    if len(years) < 2:
        return {}
    latest = years[-1]
    model = _train([e for e in data.examples if e.year is not None and e.year < latest], profile, tokenizer)
    test = [i for i, e in enumerate(data.examples) if e.year == latest]
    predictions = predict_examples(model, [data.examples[i] for i in test])
    year_result = score(predictions, profile)
    keys = ("accuracy", "macro_f1", "top2_accuracy")
    out = {"latest_year": latest,
           "topic": {k: year_result["topic"][k] for k in keys},
           "division": {k: year_result["division"][k] for k in keys}}
    if data.independent is not None:
        picked = [p for i, p in zip(test, predictions) if data.independent[i]]
        out["independent"] = {"n": len(picked)}
        if picked:
            sub = score(picked, profile)
            out["independent"].update({task: {"accuracy": sub[task]["accuracy"]} for task in ("topic", "division")})
        corrected = [p for i, p in zip(test, predictions) if data.corrected and data.corrected[i]]
        out["corrections"] = {"n": len(corrected), "right": sum(
            p.topics[0][0] == p.example.topic and p.divisions[0][0] == p.example.division for p in corrected)}
    earlier = {}
    for year in sorted(y for y in data.before_model if years[0] < y < latest):
        model = _train([e for e in data.examples if e.year is not None and e.year < year], profile, tokenizer)
        result = score(predict_examples(model, [e for e in data.examples if e.year == year]), profile)
        earlier[str(year)] = {"n": result["topic"]["n"],
                              **{task: {"accuracy": result[task]["accuracy"]} for task in ("topic", "division")}}
    if earlier:
        out["earlier_years"] = earlier
    return out


def train_model(profile: Profile, data: TrainingData | None, *, models_root: Path, name: str | None = None,
                defer_to_bundled: bool = False, cache: Path | None = None, progress: Callable[[int], None] | None = None) -> TrainedModel:
    """Backtest on the latest year, fit on all, save a model folder; the first model becomes current.

    ``data`` None trains a cold model from the profile alone (remits, topic terms and rules).
    With ``defer_to_bundled`` (an office folder's models) the first model is not made current
    while the packaged default model serves the profile: promotion then compares the two.
    ``cache`` is jieba's cache folder (None: the library's default).
    """
    from ..history import data_sha256
    from ..model import RouterModel
    from ..registry import model_folder, promote, save_model
    from ..similar import attach_memory
    from ..tokenizer import Tokenizer

    root = Path(models_root)
    if name:
        model_folder(root, name)  # a bad name is refused before the training, not after
    data = data or TrainingData([])
    tokenizer = Tokenizer(cache=cache).warm()
    scores = _latest_year_scores(data, profile, tokenizer)
    model = RouterModel.from_profile(profile).fit(data.examples, profile, tokenizer)
    attach_memory(model, data.examples, profile)
    if progress:
        progress(1)
    name = name or dt.datetime.now().strftime("model-%Y%m%d-%H%M%S")
    folder = save_model(model, model_folder(root, name), profile=profile, data_sha256=data_sha256(data.examples),
                        years=data.years, scores=scores, sources=data.sources)
    first = not (root / "CURRENT").exists()
    deferred = first and defer_to_bundled and bundled_fits(profile)
    # A cold model (made at router init, from the profile alone) gives way to the first model
    # that learned from history: there is nothing to compare it with.
    replaces_cold = not first and bool(data.examples) and _current_is_cold(root)
    promoted = (first and not deferred) or replaces_cold
    if promoted:
        promote(root, name)
    return TrainedModel(folder, name, len(data.examples), data.years, scores, promoted, deferred)


def _current_is_cold(root: Path) -> bool:
    from ..registry import current_model_dir, read_manifest

    try:
        return not read_manifest(current_model_dir(root)).get("examples")
    except RouterError:
        return False


def evaluate_history(profile: Profile, data: TrainingData, out_dir: Path, *, cache: Path | None = None,
                     progress: Callable[[int], None] | None = None) -> tuple[dict, dict[str, Path]]:
    """Temporal and leave-one-year-out backtests, written as reports; (results, report paths)."""
    from ..evaluate import backtest, write_reports
    from ..tokenizer import Tokenizer

    if len(data.years) < 2:
        raise RequestError("评估需要至少两个年度的带标注建议")
    results = backtest(data.examples, profile, Tokenizer(cache=cache).warm(), progress=progress)
    return results, write_reports(results, profile, Path(out_dir))


def backtest_steps(data: TrainingData) -> int:
    """How many models :func:`evaluate_history` trains (for a progress bar)."""
    return 2 * len(data.years) - 1


def verify_models(profile: Profile, models_root: Path) -> list[tuple[str, str | None]]:
    """Each model folder's name with the reason it failed verification, or None when sound."""
    from ..registry import list_models, verify_model

    out = []
    for name, _ in list_models(Path(models_root)):
        try:
            verify_model(Path(models_root) / name, profile)
            out.append((name, None))
        except RouterError as exc:
            out.append((name, str(exc)))
    return out


def _current_score_on(year: int, current: dict, current_dir: Path, profile: Profile, store, cache) -> dict:
    """The current model's accuracy on ``year``: from its manifest, else by routing the store's decisions."""
    from ..evaluate import predict_examples, score
    from ..registry import load_model

    old = current.get("scores") or {}
    if old.get("latest_year") == year:
        return old
    if year in current.get("years", []) or store is None:
        return {}
    examples = store_examples(store, profile, {year})
    if not examples:
        return {}
    predictions = predict_examples(load_model(current_dir, profile, cache=cache), examples)
    result = score(predictions, profile)
    out = {task: {"accuracy": result[task]["accuracy"]} for task in ("topic", "division")}
    rows = store.confirmed({year})
    flagged = store.flagged({year})
    imported = store.imported_years()
    picked = [p for p, r in zip(predictions, rows) if r["action"] == "修改" or r["id"] in flagged or year in imported]
    out["independent"] = {"n": len(picked)}
    if picked:
        sub = score(picked, profile)
        out["independent"].update({task: {"accuracy": sub[task]["accuracy"]} for task in ("topic", "division")})
    return out


def _current_earlier(years: Iterable[str], current: dict, current_dir: Path, profile: Profile, store, cache) -> dict:
    """The current model's accuracy on the years before the model it never saw, by routing the store's decisions."""
    from ..evaluate import predict_examples, score
    from ..registry import load_model

    out, model = {}, None
    for key in years:
        year = int(key)
        if store is None or year in current.get("years", []):
            continue
        examples = store_examples(store, profile, {year})
        if not examples:
            continue
        model = model or load_model(current_dir, profile, cache=cache)
        result = score(predict_examples(model, examples), profile)
        out[key] = {"n": result["topic"]["n"], **{task: {"accuracy": result[task]["accuracy"]} for task in ("topic", "division")}}
    return out


def _pooled(parts: list[dict]) -> dict:
    """Accuracy per task over several scored sets (each {"n", task: {"accuracy"}}), weighed by their rows."""
    n = sum(part["n"] for part in parts)
    return {"n": n, **{task: {"accuracy": sum(part["n"] * part[task]["accuracy"] for part in parts) / n}
                       for task in ("topic", "division")}}


def promote_model(profile: Profile, models_root: Path, name: str, *, force: bool = False, store=None,
                  cache: Path | None = None, defer_to_bundled: bool = False) -> Promotion:
    """Make ``name`` current unless it scores worse than the current model on its latest decided year.

    ``name``'s score there comes from its manifest (trained on the years before); the current
    model's from its manifest for the same year, or, if it never saw that year, by routing that
    year's decided suggestions from ``store``. Without a comparison the promotion is refused.
    ``defer_to_bundled``: the folder is an office's that has promoted nothing yet, which routes
    with the packaged model; that model is the one to compare with.
    """
    from ..registry import current_model_dir, model_folder, promote, read_manifest, verify_model

    root = Path(models_root)
    candidate = verify_model(model_folder(root, name), profile)
    try:
        current_dir = current_model_dir(root)
        current = read_manifest(current_dir)
    except RouterError:
        current_dir, current = None, None
        if defer_to_bundled and bundled_fits(profile):
            # An office that has not promoted a model routes with the packaged one: compare with that.
            from ..office import bundled_models_dir

            current_dir = current_model_dir(bundled_models_dir())
            current = read_manifest(current_dir)
    new = candidate.get("scores") or {}
    year = new.get("latest_year")
    if current and current_dir.name != name and not force:
        if not candidate.get("examples") and current.get("examples"):
            raise ModelError(
                f"{name} 是冷启动模型（没有历史数据，只依据职责与规则），当前模型 {current_dir.name} 用 "
                f"{current['examples']} 条历史训练；冷启动模型不能与它比较，确认要换用，加 --force")
        if not new and current.get("examples"):
            raise ModelError(
                f"{name} 没有回测成绩（训练数据不足两个年度），无法与当前模型 {current_dir.name} 比较；"
                "用多个年度训练（router train --from-store），或确认要换用，加 --force")
    basis, both_scores = "", {}
    if current and current_dir.name != name and not force and new:
        old = _current_score_on(year, current, current_dir, profile, store, cache)
        if not old:
            raise ModelError(
                f"无法在 {year} 年上比较 {name} 与当前模型 {current_dir.name}"
                "（没有该年度的得分，存储中也没有该年度已决定的建议）；确要启用请加 --force"
            )
        # On the year's independent decisions where both models have a score there: a year
        # mostly confirmed from the current model's own routes would otherwise favour it.
        basis_new, basis_old, basis = new, old, ""
        if (new.get("independent") or {}).get("topic") and (old.get("independent") or {}).get("topic"):
            basis_new, basis_old, basis = new["independent"], old["independent"], "（人工独立决定的建议：修改的和复核过的）"
            # And the years before the model that both can be scored on (the current model never saw them).
            earlier_new = new.get("earlier_years") or {}
            earlier_old = _current_earlier(earlier_new, current, current_dir, profile, store, cache) if earlier_new else {}
            both = sorted(set(earlier_new) & set(earlier_old))
            if both:
                basis_new = _pooled([basis_new, *(earlier_new[y] for y in both)])
                basis_old = _pooled([basis_old, *(earlier_old[y] for y in both)])
                basis = f"（人工独立决定的建议：修改的和复核过的，及模型之前的 {'、'.join(both)} 年，共 {basis_new['n']} 条）"
        worse = [task for task in ("topic", "division") if basis_new[task]["accuracy"] < basis_old[task]["accuracy"]]
        if worse:
            names = {"topic": "主题", "division": "主办处室"}
            comparison = "，".join(f"{names[t]} {basis_new[t]['accuracy']:.3f} < {basis_old[t]['accuracy']:.3f}" for t in worse)
            raise ModelError(f"{name} 在 {year} 年{basis}的得分低于当前模型（{comparison}）；确要启用请加 --force")
        both_scores = {"new": basis_new, "current": basis_old}
        basis = f"{year} 年{basis}" if basis else f"{year} 年"
    promote(root, name)
    return Promotion(name, basis, both_scores)
