"""`router track` and `router due`: handling after assignment, and what is due."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import click

from .base import _reviewer, cli, pass_state, store_option

from ..services.tracking.steps import TERMINAL_NAMES as STEP_NAMES  # the terminal's words (either form is accepted)


class _TrackGroup(click.Group):
    """`router track ID STEP …` records one step; `router track import|show …` are subcommands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


def _day(ctx, param, value):
    from ..services.tracking import parse_day

    try:
        return parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _within(ctx, param, value: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([dw天周]?)\s*", value or "")
    if not match:
        raise click.BadParameter(f"'{value}' 不是天数；请写成 14d、14 或 2w")
    return int(match.group(1)) * (7 if match.group(2) in ("w", "周") else 1)


year_option = click.option("--year", type=click.IntRange(1949, 2200), default=None,
                           help="建议所属年度（默认：最近一个有交办建议的年度）。")
# For one suggestion by its number: the number may recur in several years.
id_year_option = click.option("--year", type=click.IntRange(1949, 2200), default=None,
                              help="建议所属年度（默认：该编号最近一次交办的年度；从未交办且多个年度都有该编号时必须给出）。")
by_option = click.option("--by", "recorder", default=None, help="记入记录的经办人姓名（默认：$USER）。")


@cli.group(cls=_TrackGroup)
def track():
    """记录交办之后的办理：联系代表、会办意见、答复、回访。

    `router track ID STEP …` 记录建议 ID（第318号 或 318）的一个步骤；STEP 为交办、联系、会商、答复、回访或转办。`router track import TABLE.xlsx` 记录各处室在交办任务表中填写的内容。
    """


@track.command("record")
@click.argument("ident", metavar="ID")
@click.argument("step", type=click.Choice([*STEP_NAMES, *STEP_NAMES.values()]))
@click.option("--date", "day", callback=_day, default=None,
              help="该步骤的日期，如 2021-03-05（默认：今天；回访可不填）。")
@click.option("--role", type=click.Choice(["主办", "会办"]), default=None, help="交办：本单位主办还是会办。")
@click.option("--key", "key", is_flag=True, help="交办：重点建议，有单独的时限。")
@click.option("--division", default=None, help="交办/转办：处室（名称或键）。")
@click.option("--how", default=None, help="联系：见面、电话、微信或走访（按配置文件的列表）。")
@click.option("--grade", default=None, help="答复：答复类别，如 A1（按配置文件的设定）。")
@click.option("--text", default="", help="答复：答复摘要或文号。")
@click.option("--asks", type=click.IntRange(0, 1000), default=None, help="答复：具体诉求的件数。")
@click.option("--adopted", type=click.IntRange(0, 1000), default=None, help="答复：采纳的诉求件数。")
@click.option("--satisfaction", default=None, help="回访：满意、基本满意或不满意（按配置文件的列表）。")
@click.option("--comment", default="", help="回访/转办：意见。")
@click.option("--note", default="", help="联系/会商：备注。")
@id_year_option
@by_option
@store_option
@pass_state
def track_record(state, ident, step, day, role, key, division, how, grade, text, asks, adopted, satisfaction, comment,
                 note, year, recorder, store_path):
    """记录一条建议的一个办理步骤（先校验；被拒绝时不记录任何内容）。"""
    from ..errors import InputError
    from ..services.tracking import VISITED, find_suggestion, record_event
    from ..services.tracking.steps import STEP
    from ..store import Store

    profile = state.profile
    step = STEP_NAMES.get(step, step)
    if day is None and step != VISITED:
        day = dt.date.today()
    # The step's fields that the terminal takes (its specification), each from the option of its name.
    given = {"role": role or "", "key": key, "how": how or "", "note": note, "grade": grade or "", "text": text,
             "asks": asks, "adopted": adopted, "satisfaction": satisfaction or "", "comment": comment}
    fields: dict = {f.name: given[f.name] for f in STEP[step].fields if f.option and f.name in given}
    if STEP[step].field("division") and division:
        key_of = profile.division_key(division)
        if key_of is None:
            raise InputError(f"--division：'{division}' 不是本机构的处室（可选：{'、'.join(d.name for d in profile.divisions)}）")
        fields["division"] = key_of
    with Store.open(state.store_path(store_path, write=True, what="记录办理情况"), create=False) as store:
        sid = find_suggestion(store, ident, year)
        new = record_event(store, profile, sid, step, day=day, recorder=_reviewer(recorder), origin="terminal", **fields)
    when = f" {day.isoformat()}" if day else ""
    click.echo(f"已记录：{ident} {step}{when}" if new else f"{ident} {step}{when}：与已有记录相同，未重复记录")


@track.command("import")
@click.argument("table", type=click.Path(dir_okay=False))
@year_option
@by_option
@store_option
@pass_state
def track_import(state, table, year, recorder, store_path):
    """记录各处室在交办任务表（XLSX）中填写的办理列。

    先检查所有行；有一行有误则整表不记录。与已有记录不同的值列为冲突，不予记录（原记录有效）。
    """
    from ..services.tracking import STEPS, import_table
    from ..store import Store

    with Store.open(state.store_path(store_path, write=True, what="导入交办任务表"), create=False) as store:
        result = import_table(store, state.profile, Path(table), year=year, recorder=_reviewer(recorder))
    recorded = "，".join(f"{step} {result.recorded[step]}" for step in STEPS if result.recorded[step]) or "无"
    click.echo(f"{table}（{result.year}年）：已填写 {result.rows} 行；新记录：{recorded}；与已有记录相同 {result.unchanged} 项")
    if result.conflicts:
        click.echo(f"冲突 {len(result.conflicts)} 处，以已有记录为准，未覆盖（如需更正请用 router track ID 步骤 …）：")
        for conflict in result.conflicts:
            click.echo(f"  {conflict}")


@track.command("show")
@click.argument("ident", metavar="ID")
@id_year_option
@store_option
@pass_state
def track_show(state, ident, year, store_path):
    """显示一条建议的办理记录和尚待完成的步骤。"""
    from ..services.tracking import MISSING, describe, find_suggestion, handling_of
    from ..store import Store

    profile = state.profile
    with Store.open(state.store_path(store_path, write=True, what="查看办理情况"), create=False) as store:
        h = handling_of(store, store.db, find_suggestion(store, ident, year))
    click.echo(f"{h.label} {h.title}")
    if not h.records:
        click.echo("尚未交办")
        return
    for r in h.records:
        click.echo(f"  {r.day or '—'}　{r.step}　{describe(r, profile)}　（{r.recorder}，{r.origin}）")
    for step, word in MISSING.items():
        due = h.due_of(step, profile)
        if due and not h.done(step):
            click.echo(f"  {word}：应于 {due.isoformat()} 前完成")


@cli.command()
@click.option("--within", "within_days", callback=_within, default="14d", show_default=True,
              help="同时列出在这段时间内到期的步骤（如 14d、2w）。")
@click.option("--date", "on", callback=_day, default=None, help="检查的日期（默认：今天）。")
@year_option
@click.option("--format", "fmt", type=click.Choice(["md", "xlsx"]), default="md", show_default=True,
              help="Markdown（显示，或写到 -o）或 XLSX 工作簿。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="输出文件（xlsx 默认：督办单_日期.xlsx）。")
@store_option
@pass_state
def due(state, within_days, on, year, fmt, output, store_path):
    """按处室和责任领导列出已逾期或即将到期的事项及缺少的步骤。

    用于半月一督导的督办单，以及一月一调度的分处室汇总。
    """
    from ..report import due_markdown, write_due_xlsx
    from ..services.tracking import division_summary, due_steps, handlings_of_year, tracking_year
    from ..store import Store

    profile = state.profile
    on = on or dt.date.today()
    with Store.open(state.store_path(store_path, write=True, what="督办"), create=False) as store:
        year = year or tracking_year(store)
        handlings = handlings_of_year(store, year) if year else []
    if not handlings:
        raise click.UsageError(f"{year or ''}年没有已交办的建议；先用 router track import 导入交办任务表")
    steps = due_steps(handlings, profile, on, within_days)
    summary = division_summary(handlings, profile, on)
    if fmt == "xlsx":
        path = Path(output) if output else Path(f"督办单_{on.isoformat()}.xlsx")
        write_due_xlsx(steps, summary, path, year=year, on=on, within_days=within_days)
        click.echo(f"已写出督办单：{path}（已逾期 {sum(d.overdue for d in steps)} 项，即将到期 "
                   f"{sum(not d.overdue for d in steps)} 项）")
        return
    text = due_markdown(steps, summary, year=year, on=on, within_days=within_days)
    if output:
        from ..table import atomic_path

        with atomic_path(Path(output)) as tmp:
            tmp.write_text(text, encoding="utf-8")
        click.echo(f"已写出督办单：{output}")
    else:
        click.echo(text, nl=False)
