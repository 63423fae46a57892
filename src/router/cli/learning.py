"""`router train`, `router evaluate` and `router models`: learning from past years and managing model folders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..errors import RouterError
from .base import (_progress, cli, from_store_option,
                   models_option, pass_state, store_option, years_option)


def _examples(state, files, years, from_store, store_path):
    """Labelled examples and where they came from: history files, or the store's latest decisions."""
    from ..errors import InputError
    from ..history import read_history, to_examples
    from ..domain import Example
    from ..store import Store

    if from_store == bool(files):
        raise click.UsageError("give labelled history files (e.g. data/history_*.xlsx) or --from-store, not both")
    if from_store:
        with Store.open(state.store_path(store_path, write=True, what="从历史库训练"), create=False) as store:
            rows = store.confirmed(years)
            sources = [str(store.path)]
            _refuse_without_past_years(store, rows, years)
        examples = [Example(text=f"{r['title']}\n{r['body']}".strip(), topic=r["topic"], division=r["division"],
                            co_divisions=tuple(r.get("co_divisions", ())), year=r["year"], id=r["number"] or "",
                            weight=state.profile.correction_weight if r["action"] == "修改" else 1.0)
                    for r in rows]
    else:
        items = []
        for path in files:
            items.extend(read_history(Path(path), state.profile))
        items = [i for i in items if not years or i.year in years]
        examples = to_examples(items)
        sources = sorted({i.source for i in items})
    if not examples:
        raise InputError("no labelled suggestions to learn from; check the files, the store and --years")
    unknown = {e.topic for e in examples} - set(state.profile.topic_keys)
    unknown |= {e.division for e in examples} - set(state.profile.division_keys)
    if unknown:
        raise InputError(f"labels not in the profile: {', '.join(sorted(unknown))}; use the profile they were made with")
    return examples, sources


def _refuse_without_past_years(store, rows, years) -> None:
    """Training on this year's few reviewed rows alone makes a poor model: say so and name the fix."""
    from ..errors import InputError

    imported = {y for (y,) in store.db.execute(
        "SELECT DISTINCT year FROM suggestions s WHERE NOT EXISTS (SELECT 1 FROM routes r WHERE r.suggestion_id = s.id)")}
    by_year = {}
    for r in rows:
        by_year[r["year"]] = by_year.get(r["year"], 0) + 1
    if years or len(by_year) > 1 or set(by_year) & imported:
        return
    found = "、".join(f"{y} 年 {n} 条" for y, n in sorted(by_year.items(), key=lambda kv: kv[0] or 0)) or "没有"
    raise InputError(
        f"{store.path}：历史库中只有本年复核过的决定（{found}），没有导入往年的分办结果，训练出的模型会误导；"
        "先逐年导入往年结果：router history import 往年.xlsx（例如 router history import data/history_2017.xlsx，"
        "2018、2019、2020 年同样），再运行 router train --from-store"
    )


def _bundled_fits(profile) -> bool:
    """Whether the packaged default model serves this profile (then a cold model is not made current by itself)."""
    from ..office import bundled_models_dir
    from ..registry import current_model_dir, verify_model

    try:
        verify_model(current_model_dir(bundled_models_dir()), profile)
    except RouterError:
        return False
    return True


def _describe(examples) -> str:
    by_year: dict = {}
    for e in examples:
        by_year[e.year] = by_year.get(e.year, 0) + 1
    return "，".join(f"{y} 年 {n} 条" for y, n in sorted(by_year.items(), key=lambda kv: kv[0] or 0))


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@from_store_option
@store_option
@years_option
@click.option("--cold", is_flag=True,
              help="No history yet: build a model from the profile alone (remits, topic terms and rules).")
@click.option("--name", default=None, help="Model folder name (default: model-YYYYMMDD-HHMMSS).")
@models_option
@pass_state
def train(state, files, from_store, store_path, years, cold, name, models_root):
    """Train topic and division models on labelled years and save a model folder.

    A new office with no history uses --cold: its model routes from the profile's remits and
    topic rules, and says so in 路由来源 (route_source remit or rule).
    """

    from ..evaluate import backtest
    from ..history import data_sha256
    from ..model import RouterModel
    from ..registry import model_folder, promote, save_model
    from ..similar import attach_memory
    from ..tokenizer import Tokenizer

    root = state.models_root(models_root, write=True, what="保存模型")  # refused before training, not after
    if name:
        model_folder(root, name)  # a bad name is refused before the training, not after
    if cold:
        if files or from_store:
            raise click.UsageError("--cold builds a model without history; give no files and no --from-store")
        examples, sources = [], []
    else:
        examples, sources = _examples(state, files, years, from_store, store_path)
    if examples:
        click.echo(f"训练数据：{_describe(examples)}（共 {len(examples)} 条，来自 {'、'.join(sources)}）")
    profile = state.profile
    tokenizer = Tokenizer().warm()
    scores = {}
    all_years = sorted({e.year for e in examples})
    if len(all_years) > 1:
        latest = all_years[-1]
        click.echo(f"回测：用 {all_years[0]}–{all_years[-2]} 年训练，测试 {latest} 年 …", err=True)
        result = backtest(examples, profile, tokenizer, test_years={latest}, leave_one_out=False)
        year_result = result["temporal"][str(latest)]
        scores = {"latest_year": latest,
                  "topic": {k: year_result["topic"][k] for k in ("accuracy", "macro_f1", "top2_accuracy")},
                  "division": {k: year_result["division"][k] for k in ("accuracy", "macro_f1", "top2_accuracy")}}
    with _progress(1, "训练") as bar:
        model = RouterModel.from_profile(profile).fit(examples, profile, tokenizer)
        attach_memory(model, examples, profile)
        if bar is not None:
            bar.update(1)
    name = name or dt.datetime.now().strftime("model-%Y%m%d-%H%M%S")
    folder = save_model(model, model_folder(root, name), profile=profile, data_sha256=data_sha256(examples), years=all_years,
                        scores=scores, sources=sources)
    click.echo(f"已保存模型：{folder}（{len(examples)} 条，年度 {', '.join(map(str, all_years)) or '无（仅依据职责与规则）'}）")
    if scores:
        click.echo(f"{scores['latest_year']} 年回测：主题准确率 {scores['topic']['accuracy']:.2f}，"
                   f"主办处室准确率 {scores['division']['accuracy']:.2f}")
    in_office = state.office is not None and root == state.office.models_root
    if not (root / "CURRENT").exists() and in_office and _bundled_fits(profile):
        click.echo(f"尚未设为当前模型（现用随包默认模型）；比较后换用：router models promote {name}")
    elif not (root / "CURRENT").exists():
        promote(root, name)
        click.echo(f"已设为当前模型：{name}")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@from_store_option
@store_option
@years_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Folder for evaluation.md, evaluation.json and confusion.png.")
@pass_state
def evaluate(state, files, from_store, store_path, years, out_dir):
    """Backtest by year: train on earlier years, test on each later one; and leave-one-year-out."""
    from ..evaluate import backtest, write_reports
    from ..tokenizer import Tokenizer

    examples, _ = _examples(state, files, years, from_store, store_path)
    n_years = len({e.year for e in examples})
    if n_years < 2:
        raise click.UsageError("evaluation needs labelled suggestions from at least two years")
    tokenizer = Tokenizer().warm()
    with _progress(2 * n_years - 1, "回测") as bar:
        results = backtest(examples, state.profile, tokenizer, progress=bar.update if bar is not None else None)
    paths = write_reports(results, state.profile, Path(out_dir))
    pooled = results["temporal"]["pooled"]
    click.echo("时间回测（合计）：")
    click.echo(f"  主题：准确率 {pooled['topic']['accuracy']:.3f}，宏F1 {pooled['topic']['macro_f1']:.3f}，"
               f"前二命中 {pooled['topic']['top2_accuracy']:.3f}（{pooled['topic']['n']} 条）")
    click.echo(f"  主办处室：准确率 {pooled['division']['accuracy']:.3f}，宏F1 {pooled['division']['macro_f1']:.3f}，"
               f"前二命中 {pooled['division']['top2_accuracy']:.3f}")
    for year, r in results["temporal"].items():
        if year != "pooled":
            click.echo(f"  {year}：主题 {r['topic']['accuracy']:.3f}，处室 {r['division']['accuracy']:.3f}（训练 {r['train_n']} 条）")
    for kind, path in paths.items():
        click.echo(f"报告（{kind}）：{path}")


@cli.group()
def models():
    """List, inspect, verify, promote and roll back model folders."""


def _models_to_read(state, models_root) -> Path:
    from ..office import bundled_models_dir

    return state.models_root(models_root, write=False) or bundled_models_dir()


@models.command("list")
@models_option
@pass_state
def models_list(state, models_root):
    """List model folders; * marks the current one."""
    from ..registry import current_model_dir, list_models

    root = _models_to_read(state, models_root)
    try:
        current = current_model_dir(root).name
    except RouterError:
        current = None
    entries = list_models(root)
    if not entries:
        click.echo(f"{root}: 没有模型；用 `router train` 训练一个")
    for name, manifest in entries:
        mark = "*" if name == current else " "
        if manifest is None:
            click.echo(f"{mark} {name}\t(无效：缺少或损坏的 manifest.json)")
            continue
        scores = manifest.get("scores") or {}
        score_text = (f"{scores.get('latest_year')}年回测 主题 {scores['topic']['accuracy']:.2f} 处室 {scores['division']['accuracy']:.2f}"
                      if scores else "无回测")
        click.echo(f"{mark} {name}\t{manifest.get('created', '')}\t{manifest.get('examples', 0)} 条\t"
                   f"年度 {','.join(map(str, manifest.get('years', [])))}\t{score_text}")


@models.command("show")
@click.argument("name", required=False)
@models_option
@pass_state
def models_show(state, name, models_root):
    """Print a model's manifest (default: the current model)."""
    from ..registry import current_model_dir, model_folder, read_manifest

    root = _models_to_read(state, models_root)
    folder = model_folder(root, name) if name else current_model_dir(root)
    click.echo(json.dumps(read_manifest(folder), ensure_ascii=False, indent=2))


@models.command("verify")
@models_option
@pass_state
def models_verify(state, models_root):
    """Check every model folder's manifest and hashes; exit 1 if any fails."""
    from ..registry import list_models, verify_model

    root = _models_to_read(state, models_root)
    failed = 0
    for name, _ in list_models(root):
        try:
            verify_model(root / name, state.profile)
            click.echo(f"正常  {name}")
        except RouterError as exc:
            failed += 1
            click.echo(f"失败  {name}: {exc}")
    if failed:
        raise click.ClickException(f"{failed} model folder(s) failed verification")


@models.command("promote")
@click.argument("name")
@click.option("--force", is_flag=True, help="Promote even if it scores worse than the current model.")
@models_option
@store_option
@pass_state
def models_promote(state, name, force, models_root, store_path):
    """Make NAME the current model (refused if it scores worse, unless --force).

    Both models are compared on the latest decided year of NAME's backtest: NAME's score
    there comes from its manifest (trained on the years before); the current model's from its
    manifest for the same year, or, if it never saw that year, by routing that year's decided
    suggestions from the store.
    """
    from ..evaluate import predict_examples, score
    from ..domain import Example
    from ..registry import current_model_dir, load_model, model_folder, promote, read_manifest, verify_model
    from ..store import Store

    root = state.models_root(models_root, write=True, what="设定当前模型")
    candidate = verify_model(model_folder(root, name), state.profile)
    try:
        current_dir = current_model_dir(root)
        current = read_manifest(current_dir)
    except RouterError:
        current = None
        if _bundled_fits(state.profile):
            # An office that has not promoted a model routes with the packaged one: compare with that.
            from ..office import bundled_models_dir

            current_dir = current_model_dir(bundled_models_dir())
            current = read_manifest(current_dir)
    new = candidate.get("scores") or {}
    if current and current_dir.name != name and not force:
        if not candidate.get("examples") and current.get("examples"):
            raise click.ClickException(
                f"{name} 是冷启动模型（没有历史数据，只依据职责与规则），当前模型 {current_dir.name} 用 "
                f"{current['examples']} 条历史训练；冷启动模型不能与它比较，确认要换用，加 --force")
        if not new:
            raise click.ClickException(
                f"{name} 没有回测成绩（训练数据不足两个年度），无法与当前模型 {current_dir.name} 比较；"
                "用多个年度训练（router train --from-store），或确认要换用，加 --force")
    if current and current_dir.name != name and not force and new:
        year = new["latest_year"]
        old = current.get("scores") or {}
        if old.get("latest_year") != year:
            old = {}
            store_file = state.store_path(store_path, write=False)
            if year not in current.get("years", []) and store_file is not None and store_file.exists():
                with Store.open(store_file) as store:
                    rows = store.confirmed({year})
                examples = [Example(text=f"{r['title']}\n{r['body']}".strip(), topic=r["topic"], division=r["division"],
                                    year=year) for r in rows]
                if examples:
                    result = score(predict_examples(load_model(current_dir, state.profile), examples), state.profile)
                    old = {task: {"accuracy": result[task]["accuracy"]} for task in ("topic", "division")}
            if not old:
                raise click.ClickException(
                    f"cannot compare {name} with the current model {current_dir.name} on {year} "
                    "(no score for that year and no decided suggestions of it in the store); use --force to promote anyway"
                )
        worse = [task for task in ("topic", "division") if new[task]["accuracy"] < old[task]["accuracy"]]
        if worse:
            comparison = ", ".join(f"{t}: {new[t]['accuracy']:.3f} < {old[t]['accuracy']:.3f}" for t in worse)
            raise click.ClickException(
                f"{name} scores worse than the current model on {year} ({comparison}); use --force to promote anyway"
            )
    promote(root, name)
    click.echo(f"当前模型：{name}")


@models.command("rollback")
@models_option
@pass_state
def models_rollback(state, models_root):
    """Make the previously promoted model current again."""
    from ..registry import rollback

    click.echo(f"当前模型：{rollback(state.models_root(models_root, write=True, what='回退当前模型'))}")
