"""The `router` command: a thin click layer that parses, calls the library and formats."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import RouterError

PROFILE_OPTION_HELP = "Office profile (TOML). Default: $ROUTER_PROFILE or the bundled seed office."


class RouterGroup(click.Group):
    """Turns library errors into one `Error: ...` line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RouterError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None
        except Exception as exc:
            if os.environ.get("ROUTER_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected failure ({type(exc).__name__}: {exc}); set ROUTER_DEBUG=1 for details and report it"
            ) from None


class State:
    """What the group passes down: the profile path, loaded on first use."""

    def __init__(self, profile_path):
        self.profile_path = profile_path
        self._profile = None

    @property
    def profile(self):
        if self._profile is None:
            from .profile import load_profile

            self._profile = load_profile(self.profile_path)
        return self._profile


pass_state = click.make_pass_decorator(State)


def progress_enabled() -> bool:
    return sys.stderr.isatty()


@click.group(cls=RouterGroup)
@click.version_option(__version__, prog_name="router")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), default=None, help=PROFILE_OPTION_HELP)
@click.pass_context
def cli(ctx, profile_path):
    """Route deputies' suggestions (代表建议) to topics and divisions.

    Train on past years, evaluate honestly, route a whole February intake into the
    assignment table (建议交办任务表), and learn from reviewers' decisions.
    """
    ctx.obj = State(profile_path)


@cli.group()
def profile():
    """Show the office profile: topics, divisions, rules, aliases."""


@profile.command("show")
@pass_state
def profile_show(state):
    """Print the profile in use (the bundled default unless --profile or $ROUTER_PROFILE)."""
    from .profile import profile_as_text

    click.echo(profile_as_text(state.profile))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--sheet", default=None, help="Worksheet of an .xlsx file (default: the first visible one).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text: how the file was understood; jsonl: the normalized records.")
@pass_state
def read(state, file, sheet, fmt):
    """Read an intake file and say how it was understood."""
    from .intake import open_intake
    from .tokenizer import normalize

    reader = open_intake(file, state.profile, sheet=sheet)
    if fmt == "jsonl":
        for s in reader:
            record = {
                "row": s.row, "id": s.id, "title": s.title, "deputy": s.deputy, "body": s.body,
                "session": s.session, "role": s.role, "text": normalize(s.text), **s.labels,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        click.echo(reader.describe(), err=True)
    else:
        for _ in reader:
            pass
        click.echo(reader.describe())



def models_option(f):
    return click.option("--models", "models_root", type=click.Path(file_okay=False), default=None,
                        help="Models folder (default: $ROUTER_MODELS or ./models).")(f)


def _progress(length: int, label: str):
    """A progress bar on a terminal; silent when stderr is not one."""
    if progress_enabled() and length > 1:
        return click.progressbar(length=length, label=label, file=sys.stderr)
    return contextlib.nullcontext(None)


def _labelled_history(state, files, years):
    from .errors import InputError
    from .history import read_history

    if not files:
        raise click.UsageError("give labelled history files (e.g. data/history_*.xlsx) or --from-store")
    items = []
    for path in files:
        items.extend(read_history(Path(path), state.profile))
    if years:
        items = [i for i in items if i.year in years]
    if not items:
        raise InputError("no labelled suggestions to learn from; check the files and --years")
    return items


def parse_years(ctx, param, value):
    if not value:
        return None
    years: set[int] = set()
    try:
        for part in value.split(","):
            if "-" in part:
                low, high = (int(x) for x in part.split("-"))
                years.update(range(low, high + 1))
            elif part.strip():
                years.add(int(part))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a list of years like 2017-2019,2021") from None
    return years


years_option = click.option("--years", callback=parse_years, default=None,
                            help="Only these years, e.g. 2017-2019,2021.")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@years_option
@click.option("--name", default=None, help="Model folder name (default: model-YYYYMMDD-HHMMSS).")
@models_option
@pass_state
def train(state, files, years, name, models_root):
    """Train topic and division models on labelled years and save a model folder."""
    import datetime as dt

    from .evaluate import backtest
    from .history import data_sha256, to_examples
    from .model import RouterModel
    from .registry import models_dir, promote, save_model
    from .tokenizer import Tokenizer

    items = _labelled_history(state, files, years)
    examples = to_examples(items)
    profile = state.profile
    tokenizer = Tokenizer().warm()
    scores = {}
    all_years = sorted({e.year for e in examples})
    if len(all_years) > 1:
        latest = all_years[-1]
        click.echo(f"回测：用 {all_years[0]}–{all_years[-2]} 年训练，测试 {latest} 年 …", err=True)
        result = backtest([e for e in examples if e.year in (latest, *all_years[:-1])], profile, tokenizer)
        year_result = result["temporal"][str(latest)]
        scores = {"latest_year": latest,
                  "topic": {k: year_result["topic"][k] for k in ("accuracy", "macro_f1", "top2_accuracy")},
                  "division": {k: year_result["division"][k] for k in ("accuracy", "macro_f1", "top2_accuracy")}}
    with _progress(1, "训练") as bar:
        model = RouterModel.from_profile(profile).fit(examples, profile, tokenizer)
        if bar is not None:
            bar.update(1)
    root = models_dir(models_root)
    name = name or dt.datetime.now().strftime("model-%Y%m%d-%H%M%S")
    folder = save_model(model, root / name, profile=profile, data_sha256=data_sha256(examples), years=all_years,
                        scores=scores, sources=sorted({i.source for i in items}))
    click.echo(f"已保存模型：{folder}（{len(examples)} 条，年度 {', '.join(map(str, all_years))}）")
    if scores:
        click.echo(f"{scores['latest_year']} 年回测：主题准确率 {scores['topic']['accuracy']:.2f}，"
                   f"主办处室准确率 {scores['division']['accuracy']:.2f}")
    if not (root / "CURRENT").exists():
        promote(root, name)
        click.echo(f"已设为当前模型：{name}")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@years_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Folder for evaluation.md, evaluation.json and confusion.png.")
@pass_state
def evaluate(state, files, years, out_dir):
    """Backtest by year: train on earlier years, test on each later one; and leave-one-year-out."""
    from .evaluate import backtest, write_reports
    from .history import to_examples
    from .tokenizer import Tokenizer

    examples = to_examples(_labelled_history(state, files, years))
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


def _resolve_model(state, model_dir, models_root):
    from .registry import current_model_dir, load_model, models_dir

    folder = Path(model_dir) if model_dir else current_model_dir(models_dir(models_root))
    return load_model(folder, state.profile)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: INPUT's name with _交办任务表 and the format's extension).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model folder (default: the current model of the models folder).")
@models_option
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "jsonl"]), default=None,
              help="Output format (default: from -o's extension, else xlsx).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Review threshold from 0 to 1 (default: the profile's).")
@click.option("--sheet", default=None, help="Worksheet of an .xlsx input.")
@click.option("--date", "assignment_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Assignment date (交办日期) for the deadline; default today.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@pass_state
def route(state, input_path, output, model_dir, models_root, fmt, threshold, sheet, assignment_date, jobs):
    """Route an intake into the assignment table (建议交办任务表)."""
    from .errors import InputError
    from .intake import open_intake
    from .routing import route_stream
    from .table import default_output_path, write_routes

    profile = state.profile
    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        fmt = suffix if suffix in ("xlsx", "csv", "jsonl") else "xlsx"
    output = Path(output) if output else default_output_path(Path(input_path), fmt)
    if output.resolve() == Path(input_path).resolve():
        raise click.UsageError("the output would overwrite the input; choose another -o")
    reader = open_intake(input_path, profile, sheet=sheet)
    model = _resolve_model(state, model_dir, models_root)
    day = assignment_date.date() if assignment_date else None
    counts = {"routed": 0, "review": 0, "empty": 0}

    def routes():
        for r in route_stream(model, profile, reader, threshold=threshold, assignment_date=day, jobs=jobs):
            counts["routed"] += 1
            counts["review"] += r.needs_review
            counts["empty"] += r.source == "empty"
            yield r
        if counts["routed"] == counts["empty"]:
            raise InputError(f"{input_path}: no suggestion has a title or body; nothing to route")

    write_routes(routes(), profile, output, fmt)
    click.echo(f"已写出交办任务表：{output}")
    click.echo(f"共 {counts['routed']} 条，需人工复核 {counts['review']} 条"
               + (f"，无法路由（空白）{counts['empty']} 条" if counts["empty"] else "")
               + f"；模型：{model.folder}")


@cli.group()
def models():
    """List, inspect, verify, promote and roll back model folders."""


@models.command("list")
@models_option
def models_list(models_root):
    """List model folders; * marks the current one."""
    from .registry import current_model_dir, list_models, models_dir

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
    from .registry import current_model_dir, models_dir, read_manifest

    root = models_dir(models_root)
    folder = root / name if name else current_model_dir(root)
    click.echo(json.dumps(read_manifest(folder), ensure_ascii=False, indent=2))


@models.command("verify")
@models_option
@pass_state
def models_verify(state, models_root):
    """Check every model folder's manifest and hashes; exit 1 if any fails."""
    from .registry import list_models, models_dir, verify_model

    root = models_dir(models_root)
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
@pass_state
def models_promote(state, name, force, models_root):
    """Make NAME the current model (refused if it scores worse, unless --force)."""
    from .registry import current_model_dir, models_dir, promote, read_manifest, verify_model

    root = models_dir(models_root)
    candidate = verify_model(root / name, state.profile)
    try:
        current = read_manifest(current_model_dir(root))
    except RouterError:
        current = None
    if current and not force:
        new, old = candidate.get("scores") or {}, current.get("scores") or {}
        if old and (not new or new.get("latest_year") != old.get("latest_year")):
            pass  # different test years are not comparable; the manifest records both
        elif old and new:
            worse = [task for task in ("topic", "division") if new[task]["accuracy"] < old[task]["accuracy"]]
            if worse:
                comparison = ", ".join(f"{t}: {new[t]['accuracy']:.3f} < {old[t]['accuracy']:.3f}" for t in worse)
                raise click.ClickException(
                    f"{name} scores worse than the current model on {new['latest_year']} "
                    f"({comparison}); "
                    "use --force to promote anyway"
                )
    promote(root, name)
    click.echo(f"当前模型：{name}")


@models.command("rollback")
@models_option
def models_rollback(models_root):
    """Make the previously promoted model current again."""
    from .registry import models_dir, rollback

    click.echo(f"当前模型：{rollback(models_dir(models_root))}")


def main():
    try:
        cli(prog_name="router")
    except KeyboardInterrupt:
        click.echo("Error: interrupted", err=True)
        sys.exit(130)
