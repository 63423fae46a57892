"""The `router` command: a thin click layer that parses, calls the library and formats."""

from __future__ import annotations

import contextlib
import datetime as dt
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


def store_option(f):
    return click.option("--store", "store_path", type=click.Path(dir_okay=False), default=None,
                        help="History store (SQLite). Default: $ROUTER_STORE or ./router.sqlite.")(f)


def _progress(length: int, label: str):
    """A progress bar on a terminal; silent when stderr is not one."""
    if progress_enabled() and length > 1:
        return click.progressbar(length=length, label=label, file=sys.stderr)
    return contextlib.nullcontext(None)


def _examples(state, files, years, from_store, store_path):
    """Labelled examples and where they came from: history files, or the store's latest decisions."""
    from .errors import InputError
    from .history import read_history, to_examples
    from .model import Example
    from .store import Store

    if from_store == bool(files):
        raise click.UsageError("give labelled history files (e.g. data/history_*.xlsx) or --from-store, not both")
    if from_store:
        with Store.open(store_path, create=False) as store:
            rows = store.confirmed(years)
            sources = [str(store.path)]
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


def _counting(items, label: str, every: int = 1000):
    """A running count on stderr for streams of unknown length (terminal only)."""
    n = 0
    for n, item in enumerate(items, start=1):
        if n % every == 0:
            click.echo(f"\r{label}：{n} 条", nl=False, err=True)
        yield item
    if n >= every:
        click.echo(f"\r{label}：{n} 条", err=True)


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


from_store_option = click.option("--from-store", is_flag=True,
                                 help="Learn from the latest decisions in the store instead of files.")


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
    import datetime as dt

    from .evaluate import backtest
    from .history import data_sha256
    from .model import RouterModel
    from .registry import models_dir, promote, save_model
    from .similar import attach_memory
    from .tokenizer import Tokenizer

    if cold:
        if files or from_store:
            raise click.UsageError("--cold builds a model without history; give no files and no --from-store")
        examples, sources = [], []
    else:
        examples, sources = _examples(state, files, years, from_store, store_path)
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
    root = models_dir(models_root)
    name = name or dt.datetime.now().strftime("model-%Y%m%d-%H%M%S")
    folder = save_model(model, root / name, profile=profile, data_sha256=data_sha256(examples), years=all_years,
                        scores=scores, sources=sources)
    click.echo(f"已保存模型：{folder}（{len(examples)} 条，年度 {', '.join(map(str, all_years)) or '无（仅依据职责与规则）'}）")
    if scores:
        click.echo(f"{scores['latest_year']} 年回测：主题准确率 {scores['topic']['accuracy']:.2f}，"
                   f"主办处室准确率 {scores['division']['accuracy']:.2f}")
    if not (root / "CURRENT").exists():
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
    from .evaluate import backtest, write_reports
    from .tokenizer import Tokenizer

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


def _human_decisions(store_file: Path) -> dict:
    """Reviewers' decisions by content hash, from the store if there is one."""
    from .review import human_decisions
    from .store import Store

    if not store_file.exists():
        return {}
    with Store.open(store_file) as store:
        return human_decisions(store)


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
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="Year of the intake, as recorded in the store (default: the assignment date's year).")
@store_option
@pass_state
def route(state, input_path, output, model_dir, models_root, fmt, threshold, sheet, assignment_date, jobs, year,
          store_path):
    """Route an intake into the assignment table (建议交办任务表)."""
    from .errors import InputError
    from .intake import open_intake
    from .routing import route_stream
    from .similar import annotate
    from .store import Store, default_store_path
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
    day = assignment_date.date() if assignment_date else dt.date.today()
    store_file = Path(store_path) if store_path else default_store_path()
    decisions = _human_decisions(store_file)
    counts = {"routed": 0, "review": 0, "empty": 0, "human": 0}

    def routes():
        stream = route_stream(model, profile, reader, threshold=threshold, assignment_date=day, jobs=jobs,
                              decisions=decisions)
        if progress_enabled():
            stream = _counting(stream, "路由")
        for r in stream:
            counts["routed"] += 1
            counts["review"] += r.needs_review
            counts["empty"] += r.source == "empty"
            counts["human"] += r.source == "human"
            yield r
        if counts["routed"] == counts["empty"]:
            raise InputError(f"{input_path}: no suggestion has a title or body; nothing to route")

    if fmt == "xlsx":
        # The review surface: kept whole, enriched with similar past suggestions, and recorded
        # in the store so that `router accept` can match the reviewed rows.
        routed = list(routes())
        annotate(model, routed)
        write_routes(routed, profile, output, fmt)
        with Store.open(store_file) as store:
            store.record_routes(routed, year=year or day.year, source=Path(input_path).name,
                                model=str(model.folder))
    else:
        write_routes(routes(), profile, output, fmt)
    click.echo(f"已写出交办任务表：{output}")
    click.echo(f"共 {counts['routed']} 条，需人工复核 {counts['review']} 条"
               + (f"，无法路由（空白）{counts['empty']} 条" if counts["empty"] else "")
               + (f"，沿用人工确认 {counts['human']} 条" if counts["human"] else "")
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
@store_option
@pass_state
def models_promote(state, name, force, models_root, store_path):
    """Make NAME the current model (refused if it scores worse, unless --force).

    Both models are compared on the latest decided year of NAME's backtest: NAME's score
    there comes from its manifest (trained on the years before); the current model's from its
    manifest for the same year, or, if it never saw that year, by routing that year's decided
    suggestions from the store.
    """
    from .evaluate import predict_examples, score
    from .model import Example
    from .registry import current_model_dir, load_model, models_dir, promote, read_manifest, verify_model
    from .store import Store, default_store_path

    root = models_dir(models_root)
    candidate = verify_model(root / name, state.profile)
    try:
        current_dir = current_model_dir(root)
        current = read_manifest(current_dir)
    except RouterError:
        current = None
    new = candidate.get("scores") or {}
    if current and current_dir.name != name and not force and new:
        year = new["latest_year"]
        old = current.get("scores") or {}
        if old.get("latest_year") != year:
            old = {}
            store_file = Path(store_path) if store_path else default_store_path()
            if year not in current.get("years", []) and store_file.exists():
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
def models_rollback(models_root):
    """Make the previously promoted model current again."""
    from .registry import models_dir, rollback

    click.echo(f"当前模型：{rollback(models_dir(models_root))}")


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="The year to report on (default: the latest year among the inputs).")
@from_store_option
@store_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model for routing an unlabelled intake (default: the current model).")
@models_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="reports/report", show_default=True,
              help="Folder for report.md, report.xlsx and trend.png.")
@pass_state
def report(state, files, year, from_store, store_path, model_dir, models_root, out_dir):
    """Report on an intake or a year: counts, comparison with earlier years, the report sentence.

    FILES are labelled workbooks of past years and/or an unlabelled intake (routed with the
    current model, with decisions in the store winning); --from-store adds the store's
    confirmed decisions. The report covers --year (default: the latest); earlier years are
    the comparison.
    """
    from .history import read_history, year_of
    from .intake import open_intake
    from .report import ReportItem, build_report, write_report
    from .routing import route_batch
    from .store import Store, default_store_path
    from .tokenizer import Tokenizer

    profile = state.profile
    if not files and not from_store:
        raise click.UsageError("give history workbooks and/or an intake file, or --from-store")
    items: list[ReportItem] = []
    if from_store:
        with Store.open(store_path, create=False) as store:
            for r in store.confirmed():
                items.append(ReportItem(r["year"], r["number"] or "", r["title"], f"{r['title']}\n{r['body']}",
                                        r["topic"], r["division"]))
    model = None
    for path in files:
        reader = open_intake(path, profile)  # the header tells a labelled year from an intake
        if "topic" in reader.mapping and "lead_division" in reader.mapping:
            for i in read_history(Path(path), profile):
                items.append(ReportItem(i.year, i.suggestion.id, i.suggestion.title, i.suggestion.text, i.topic,
                                        i.division, i.suggestion.role))
            continue
        file_year = year if len(files) == 1 and year else year_of(Path(path))
        if model is None:
            model = _resolve_model(state, model_dir, models_root)
            decisions = _human_decisions(Path(store_path) if store_path else default_store_path())
        for r in route_batch(model, profile, list(reader), decisions=decisions):
            if r.topic is None:
                continue
            items.append(ReportItem(file_year, r.suggestion.id, r.suggestion.title, r.suggestion.text, r.topic,
                                    r.division, r.suggestion.role, r.needs_review,
                                    min(r.topic_confidence, r.division_confidence)))
    years = sorted({i.year for i in items if i.year})
    if not years:
        raise click.UsageError("no suggestions with a year to report on")
    year = year or years[-1]
    if year not in years:
        raise click.UsageError(f"no suggestions of {year}; the inputs cover {', '.join(map(str, years))}")
    earlier = {y: [i for i in items if i.year == y] for y in years if y < year}
    result = build_report(year, [i for i in items if i.year == year], earlier, profile, Tokenizer())
    paths = write_report(result, profile, Path(out_dir))
    click.echo(result.sentence)
    for kind, path in paths.items():
        click.echo(f"报告（{kind}）：{path}")


def _reviewer(name: str | None) -> str:
    return name or os.environ.get("USER") or os.environ.get("USERNAME") or "reviewer"


@cli.group()
def history():
    """Load past years' final routes into the store."""


@history.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="The year of the file (default: the 4-digit year in its name).")
@click.option("--importer", default=None, help="Name recorded as the decision maker (default: $USER).")
@store_option
@pass_state
def history_import(state, file, year, importer, store_path):
    """Import a past year's workbook with its final topic and divisions as decisions."""
    from .history import read_history
    from .review import import_history
    from .store import Store

    items = read_history(Path(file), state.profile, year=year)
    with Store.open(store_path) as store:
        added, decided = import_history(store, items, importer=_reviewer(importer), origin=Path(file).name)
        click.echo(f"{file}：{len(items)} 条，新增建议 {added} 条，新增决定 {decided} 条（存储：{store.path}）")


@cli.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--reviewer", default=None, help="Reviewer for rows whose 复核人 is empty (default: $USER).")
@store_option
@pass_state
def accept(state, table, reviewer, store_path):
    """Record the decisions of a reviewed assignment table (XLSX)."""
    from .review import accept_rows, read_reviewed_table
    from .store import Store

    rows, untouched = read_reviewed_table(Path(table), state.profile)
    with Store.open(store_path, create=False) as store:
        recorded = accept_rows(store, rows, reviewer=_reviewer(reviewer), origin=Path(table).name)
    seen = {a: sum(r.action == a for r in rows) for a in ("同意", "修改", "待定")}
    click.echo(f"同意 {seen['同意']}，修改 {seen['修改']}，待定 {seen['待定']}，未复核 {untouched}")
    new = sum(recorded.values())
    click.echo(f"新记录决定 {new} 条" + ("" if new else "（与已有决定相同，未重复记录）"))


def _alternatives(profile, r) -> list[tuple[str, str]]:
    """[1] the same topic with the runner-up division; [2] the runner-up topic with its usual lead."""
    out = []
    if len(r.divisions) > 1:
        out.append((r.topic, r.divisions[1][0]))
    if len(r.topics) > 1:
        topic = r.topics[1][0]
        out.append((topic, (profile.rules.get(topic) or (r.division,))[0]))
    return out


def _describe_route(profile, r) -> str:
    s = r.suggestion
    lines = [
        "",
        "=" * 60,
        f"序号 {r.seq}　{s.id}　{s.title}",
        f"领衔代表：{s.deputy}" if s.deputy else "",
        (s.body[:400] + ("……" if len(s.body) > 400 else "")) if s.body else "",
        "-" * 60,
        f"建议主题：{profile.topic(r.topic).name}（{r.topic_confidence:.0%}）" if r.topic else "建议主题：无",
        f"建议主办：{profile.division(r.division).name}（{r.division_confidence:.0%}）" if r.division else "",
        f"建议会办：{'、'.join(profile.division(k).name for k in r.co_divisions) or '无'}",
        f"判断依据：{'、'.join(r.reasons)}",
    ]
    for number, (t, d) in enumerate(_alternatives(profile, r), start=1):
        lines.append(f"  [{number}] {profile.topic(t).name} ／ {profile.division(d).name}")
    for item in r.similar:
        lines.append(f"  往年相似：{item['year']}年 {item['id']} {item['title']} → {item['topic_name']}／{item['division_name']}")
    if r.duplicate_of:
        lines.append(f"  疑似重复：{r.duplicate_of}")
    return "\n".join(line for line in lines if line)


def _ask_choice(prompt: str, names: list[str], default: str | None) -> str:
    listing = "  ".join(f"{i}.{n}" for i, n in enumerate(names, start=1))
    while True:
        answer = click.prompt(f"{prompt}（{listing}）", default=default or "", show_default=bool(default)).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        if answer in names:
            return answer
        click.echo("请输入列表中的编号或名称")


@cli.command()
@click.argument("input_path", metavar="[INPUT]", required=False, type=click.Path(dir_okay=False))
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None, help="Model folder.")
@models_option
@click.option("--sheet", default=None, help="Worksheet of an .xlsx input.")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="Year of the intake (default: this year); without INPUT, review that year's suggestions in the store.")
@click.option("--reviewer", default=None, help="Reviewer name (default: $USER).")
@store_option
@pass_state
def review(state, input_path, model_dir, models_root, sheet, year, reviewer, store_path):
    """Review an intake at the terminal, least confident first; each decision is saved at once.

    Enter accepts, a number picks an alternative, e edits, s skips, q quits.
    """
    from .intake import read_intake
    from .review import human_decisions
    from .routing import route_batch
    from .similar import annotate
    from .store import Store

    profile = state.profile
    if input_path:
        _, suggestions = read_intake(input_path, profile, sheet=sheet)
    elif year:
        with Store.open(store_path, create=False) as store:
            suggestions = store.suggestions_of_year(year)
        if not suggestions:
            raise click.UsageError(f"the store has no suggestions of {year}; route or import that year first")
    else:
        raise click.UsageError("give an intake file, or --year to review a year already in the store")
    source = Path(input_path).name if input_path else f"store:{year}"
    model = _resolve_model(state, model_dir, models_root)
    reviewer = _reviewer(reviewer)
    with Store.open(store_path) as store:
        decided = human_decisions(store)
        routes = route_batch(model, profile, suggestions)
        annotate(model, routes)
        store.record_routes(routes, year=year or dt.date.today().year, source=source, model=str(model.folder))
        pending = sorted((r for r in routes if r.suggestion.content_hash not in decided and r.topic),
                         key=lambda r: min(r.topic_confidence, r.division_confidence))
        click.echo(f"待复核 {len(pending)} 条（已有人工决定的 {len(routes) - len(pending)} 条不再询问）。"
                   "回车=同意，数字=选备选，e=修改，s=跳过，q=退出")
        done = 0
        topic_names = [t.name for t in profile.topics]
        division_names = [d.name for d in profile.divisions]
        for r in pending:
            click.echo(_describe_route(profile, r))
            answer = click.prompt("决定", default="", show_default=False).strip().lower()
            if answer == "q":
                break
            if answer == "s":
                continue
            suggested = {"topic": r.topic, "division": r.division, "co_divisions": list(r.co_divisions)}
            action, after, comment = "同意", dict(suggested), ""
            alternatives = _alternatives(profile, r)
            if answer.isdigit() and 1 <= int(answer) <= len(alternatives):
                topic, division = alternatives[int(answer) - 1]
                after = {"topic": topic, "division": division,
                         "co_divisions": [k for k in r.co_divisions if k != division]}
                action = "修改"
            elif answer == "e":
                topic = _ask_choice("主题", topic_names, profile.topic(r.topic).name)
                division = _ask_choice("主办处室", division_names, profile.division(r.division).name)
                co = click.prompt("会办处室（用、分隔，可空）", default="", show_default=False)
                from .history import split_divisions

                co_keys = [profile.division_key(n) for n in split_divisions(co)]
                if None in co_keys:
                    click.echo("会办处室名称有误，本条跳过")
                    continue
                comment = click.prompt("复核意见（可空）", default="", show_default=False)
                after = {"topic": profile.topic_key(topic), "division": profile.division_key(division),
                         "co_divisions": [k for k in co_keys if k != profile.division_key(division)]}
                action = "同意" if after == suggested and not comment else "修改"
            elif answer:
                click.echo("未识别的输入，本条跳过")
                continue
            with store.transaction() as db:
                sid = store.upsert_suggestion(db, r.suggestion, year=year or dt.date.today().year, source=source)
                store.add_decision(db, sid, action=action, reviewer=reviewer, after=after, before=suggested,
                                   comment=comment, origin="review")
            done += 1
            click.echo(f"已保存：{action} → {profile.topic(after['topic']).name}／{profile.division(after['division']).name}")
        click.echo(f"本次记录 {done} 条决定（存储：{store.path}）")


@cli.group("store")
def store_group():
    """Check and back up the history store."""


@store_group.command("check")
@store_option
def store_check(store_path):
    """Run SQLite's integrity check without writing to the store."""
    from .store import check_store, default_store_path

    path = Path(store_path) if store_path else default_store_path()
    problems = check_store(path)
    if problems:
        raise click.ClickException(f"{path}: the store is damaged ({'; '.join(problems[:3])}); "
                                   "restore it from a backup made with `router store backup`")
    click.echo(f"{path}：完好")


@store_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@store_option
def store_backup(target, store_path):
    """Copy the store with SQLite's online backup (safe while others write)."""
    from .store import Store

    with Store.open(store_path, create=False) as store:
        store.backup(Path(target))
        counts = store.counts()
    click.echo(f"已备份到 {target}：建议 {counts['suggestions']} 条，决定 {counts['decisions']} 条")


def main():
    try:
        cli(prog_name="router")
    except KeyboardInterrupt:
        click.echo("Error: interrupted", err=True)
        sys.exit(130)
