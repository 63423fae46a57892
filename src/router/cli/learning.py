"""`router train`, `router evaluate` and `router models`: learning from past years and managing model folders."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import RouterError
from .base import (_progress, cli, from_store_option, models_option, open_store, pass_state, store_option,
                   years_option)


def _training_data(state, files, years, from_store, store_path, year=None):
    """Labelled examples from FILES or from the store (opened for this alone)."""
    from ..services.training import labelled_examples

    if from_store and files:
        raise click.UsageError("请给出带标注的历史文件（如 data/history_*.xlsx）或 --from-store，二者只选其一")
    if not from_store:
        return labelled_examples(state.profile, files=[Path(f) for f in files], years=years, year=year)
    with open_store(state.store_path(store_path, write=True, what="从历史库训练"), create=False) as store:
        return labelled_examples(state.profile, store=store, years=years)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@from_store_option
@store_option
@years_option
@click.option("--cold", is_flag=True,
              help="还没有历史数据：只依据配置文件（处室职责、主题词和规则）建立模型。")
@click.option("--name", default=None, help="模型文件夹名（默认：model-年月日-时分秒）。")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="文件名中没有年份的历史文件所属的年度（默认：文件名中的年份，否则表中“年度”或“届次”列）。")
@models_option
@pass_state
def train(state, files, from_store, store_path, years, cold, name, year, models_root):
    """用带标注的往年数据训练主题和处室模型，保存为模型文件夹。

    没有历史数据的新单位用 --cold：模型依据配置文件中的处室职责和主题规则分办，并在“路由来源”中注明（职责文本或主题规则）。"""
    from ..registry import model_folder
    from ..services.training import train_model

    root = state.models_root(models_root, write=True, what="保存模型")  # refused before training, not after
    if name:
        model_folder(root, name)
    if cold and (files or from_store):
        raise click.UsageError("--cold 不用历史数据建立模型；请不要同时给出文件或 --from-store")
    if year is not None and len(files) > 1:
        raise click.UsageError("--year 只能用于一个历史文件；多个年度的文件请在文件名中写上年份，如 history_2019.xlsx")
    data = None if cold else _training_data(state, files, years, from_store, store_path, year)
    if data is not None:
        click.echo(f"训练数据：{'，'.join(f'{y} 年 {n} 条' for y, n in data.by_year().items())}"
                   f"（共 {len(data.examples)} 条，来自 {'、'.join(data.sources)}）")
    if data is not None and len(data.years) > 1:
        click.echo(f"回测：用 {data.years[0]}–{data.years[-2]} 年训练，测试 {data.years[-1]} 年 …", err=True)
    with _progress(1, "训练") as bar:
        trained = train_model(state.profile, data, models_root=root, name=name, cache=state.cache,
                              defer_to_bundled=state.office is not None and root == state.office.models_root,
                              progress=bar.update if bar is not None else None)
    click.echo(f"已保存模型：{trained.folder}（{trained.examples} 条，年度 "
               f"{', '.join(map(str, trained.years)) or '无（仅依据职责与规则）'}）")
    if trained.scores:
        scores = trained.scores
        click.echo(f"{scores['latest_year']} 年回测：主题准确率 {scores['topic']['accuracy']:.2f}，"
                   f"主办处室准确率 {scores['division']['accuracy']:.2f}")
        independent = scores.get("independent") or {}
        if independent.get("topic"):
            click.echo(f"  其中人工独立决定的 {independent['n']} 条（修改的和复核过的）：主题准确率 "
                       f"{independent['topic']['accuracy']:.2f}，主办处室准确率 {independent['division']['accuracy']:.2f}")
        corrections = scores.get("corrections")
        if corrections is not None:
            click.echo(f"  {scores['latest_year']} 年的 {corrections['n']} 条修改（纠正），新模型答对 {corrections['right']} 条")
        for year, v in (scores.get("earlier_years") or {}).items():
            click.echo(f"  模型之前的 {year} 年（用之前的年度训练）{v['n']} 条：主题准确率 {v['topic']['accuracy']:.2f}，"
                       f"主办处室准确率 {v['division']['accuracy']:.2f}")
    if trained.deferred:
        click.echo(f"尚未设为当前模型（现用随包默认模型）；比较后换用：router models promote {trained.name}")
    elif trained.promoted:
        click.echo(f"已设为当前模型：{trained.name}")
    else:
        click.echo(f"尚未设为当前模型（当前模型不变）；比较后换用：router models promote {trained.name}")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@from_store_option
@store_option
@years_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="evaluation.md、evaluation.json 和 confusion.png 的输出文件夹。")
@pass_state
def evaluate(state, files, from_store, store_path, years, out_dir):
    """按年度回测：用较早年度训练、逐年测试较晚年度；另做留一年交叉验证。"""
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
    f = pooled["flags"]
    click.echo(f"  按阈值 {f['threshold']} 需复核：主题 {f['topic']:.0%}，处室 {f['division']:.0%}，"
               f"合计 {f['either']:.0%}（仅因处室 {f['division_only']:.0%}）")
    click.echo("  按复核比例，其余的准确率（主题/处室）：" + "；".join(
        f"{s['share']:.0%} {s['topic']:.3f}/{s['division']:.3f}" for s in pooled["shares"]))
    for kind, path in paths.items():
        click.echo(f"报告（{kind}）：{path}")


@cli.group()
def models():
    """列出、查看、校验、启用和回退模型文件夹。"""


def _models_to_read(state, models_root) -> Path:
    from ..office import bundled_models_dir

    return state.models_root(models_root, write=False) or bundled_models_dir()


@models.command("list")
@models_option
@pass_state
def models_list(state, models_root):
    """列出模型文件夹；* 标出当前模型。"""
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
    """显示模型的清单 manifest.json（默认：当前模型）。"""
    from ..registry import current_model_dir, model_folder, read_manifest

    root = _models_to_read(state, models_root)
    folder = model_folder(root, name) if name else current_model_dir(root)
    click.echo(json.dumps(read_manifest(folder), ensure_ascii=False, indent=2))


@models.command("verify")
@models_option
@pass_state
def models_verify(state, models_root):
    """校验每个模型文件夹的清单和哈希值；有不通过的则以状态 1 退出。"""
    from ..services.training import verify_models

    results = verify_models(state.profile, _models_to_read(state, models_root))
    for name, problem in results:
        click.echo(f"正常  {name}" if problem is None else f"失败  {name}: {problem}")
    failed = sum(problem is not None for _, problem in results)
    if failed:
        raise click.ClickException(f"{failed} 个模型文件夹未通过校验")


@models.command("promote")
@click.argument("name")
@click.option("--force", is_flag=True, help="即使得分低于当前模型也启用。")
@models_option
@store_option
@pass_state
def models_promote(state, name, force, models_root, store_path):
    """把 NAME 设为当前模型（得分低于当前模型时拒绝，除非 --force）。

    两个模型在 NAME 回测的最近一个已决定年度上比较：NAME 的得分取自其清单（用之前年度训练）；当前模型的得分取自其清单中同一年度，若它从未见过该年度，则用存储中该年度已决定的建议重新分办来计算。"""
    from ..services.training import promote_model

    root = state.models_root(models_root, write=True, what="设定当前模型")
    with open_store(state.store_path(store_path, write=False), only_if_exists=True) as store:
        promoted = promote_model(state.profile, root, name, force=force, store=store, cache=state.cache,
                                 defer_to_bundled=state.office is not None and root == state.office.models_root)
    if promoted.basis:
        new, old = promoted.scores["new"], promoted.scores["current"]
        click.echo(f"比较依据：{promoted.basis}；主题 {new['topic']['accuracy']:.3f}（当前 {old['topic']['accuracy']:.3f}），"
                   f"主办{state.profile.unit_word} {new['division']['accuracy']:.3f}（当前 {old['division']['accuracy']:.3f}）")
    click.echo(f"当前模型：{promoted.name}")


@models.command("rollback")
@models_option
@pass_state
def models_rollback(state, models_root):
    """把上一个启用的模型重新设为当前模型。"""
    from ..registry import rollback

    click.echo(f"当前模型：{rollback(state.models_root(models_root, write=True, what='回退当前模型'))}")


@models.command("build-meaning")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写到哪里（默认：包内的静态语义表 static_meaning.npz）。")
@click.option("--min-freq", type=int, default=None, help="收入 jieba 词典中词频不低于此值的词。")
@click.option("--char-min-freq", type=int, default=None, help="收入词频不低于此值的单字。")
@click.option("--dimensions", type=int, default=None, help="PCA 保留的维数。")
@click.option("--generated", type=int, default=None, help="随机组合的词串条数（用于拟合映射）。")
@click.option("--seed", type=int, default=None, help="随机种子。")
@click.option("--no-history", is_flag=True, help="不读自带的书面历史。")
@click.option("--no-profiles", is_flag=True, help="不读画像和模板中的短语。")
def models_build_meaning(out, min_freq, char_min_freq, dimensions, generated, seed, no_history, no_profiles):
    """用句向量编码器重建静态语义表（每个词编码一次；两核上需几分钟，结果逐字节可复现）。"""
    from ..textmodels import static

    settings = {"min_freq": min_freq, "char_min_freq": char_min_freq, "dimensions": dimensions,
                "generated": generated, "seed": seed}
    meta = static.build_table(out or static.table_path(), history=not no_history, profiles=not no_profiles,
                              log=lambda message: click.echo(message, err=True),
                              **{key: value for key, value in settings.items() if value is not None})
    click.echo(json.dumps(meta, ensure_ascii=False, indent=2))
