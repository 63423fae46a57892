"""`router train`, `router evaluate` and `router models`: learning from past years and managing model folders."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import RouterError
from .base import (_progress, cli, from_store_option, models_option, open_store, pass_state, store_option,
                   years_option)


def _training_data(state, files, years, from_store, store_path):
    """Labelled examples from FILES or from the store (opened for this alone)."""
    from ..services.training import labelled_examples

    if from_store and files:
        raise click.UsageError("give labelled history files (e.g. data/history_*.xlsx) or --from-store, not both")
    if not from_store:
        return labelled_examples(state.profile, files=[Path(f) for f in files], years=years)
    with open_store(store_path, create=False) as store:
        return labelled_examples(state.profile, store=store, years=years)


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
    from ..registry import models_dir
    from ..services.training import train_model

    if cold and (files or from_store):
        raise click.UsageError("--cold builds a model without history; give no files and no --from-store")
    data = None if cold else _training_data(state, files, years, from_store, store_path)
    if data is not None and len(data.years) > 1:
        click.echo(f"回测：用 {data.years[0]}–{data.years[-2]} 年训练，测试 {data.years[-1]} 年 …", err=True)
    with _progress(1, "训练") as bar:
        trained = train_model(state.profile, data, models_root=models_dir(models_root), name=name, cache=state.cache,
                              progress=bar.update if bar is not None else None)
    click.echo(f"已保存模型：{trained.folder}（{trained.examples} 条，年度 "
               f"{', '.join(map(str, trained.years)) or '无（仅依据职责与规则）'}）")
    if trained.scores:
        scores = trained.scores
        click.echo(f"{scores['latest_year']} 年回测：主题准确率 {scores['topic']['accuracy']:.2f}，"
                   f"主办处室准确率 {scores['division']['accuracy']:.2f}")
    if trained.promoted:
        click.echo(f"已设为当前模型：{trained.name}")


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
    from ..services.training import backtest_steps, evaluate_history

    data = _training_data(state, files, years, from_store, store_path)
    with _progress(backtest_steps(data), "回测") as bar:
        results, paths = evaluate_history(state.profile, data, Path(out_dir), cache=state.cache,
                                          progress=bar.update if bar is not None else None)
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


@models.command("list")
@models_option
def models_list(models_root):
    """List model folders; * marks the current one."""
    from ..registry import current_model_dir, list_models, models_dir

    root = models_dir(models_root)
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
def models_show(name, models_root):
    """Print a model's manifest (default: the current model)."""
    from ..registry import current_model_dir, model_folder, models_dir, read_manifest

    root = models_dir(models_root)
    folder = model_folder(root, name) if name else current_model_dir(root)
    click.echo(json.dumps(read_manifest(folder), ensure_ascii=False, indent=2))


@models.command("verify")
@models_option
@pass_state
def models_verify(state, models_root):
    """Check every model folder's manifest and hashes; exit 1 if any fails."""
    from ..registry import models_dir
    from ..services.training import verify_models

    results = verify_models(state.profile, models_dir(models_root))
    for name, problem in results:
        click.echo(f"正常  {name}" if problem is None else f"失败  {name}: {problem}")
    failed = sum(problem is not None for _, problem in results)
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
    from ..registry import models_dir
    from ..services.training import promote_model

    with open_store(store_path, only_if_exists=True) as store:
        promoted = promote_model(state.profile, models_dir(models_root), name, force=force, store=store,
                                 cache=state.cache)
    click.echo(f"当前模型：{promoted.name}")


@models.command("rollback")
@models_option
def models_rollback(models_root):
    """Make the previously promoted model current again."""
    from ..registry import models_dir, rollback

    click.echo(f"当前模型：{rollback(models_dir(models_root))}")
