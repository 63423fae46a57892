"""`router history import`, `router accept` and `router review`: recording people's decisions."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from .base import _resolve_model, _reviewer, cli, models_option, open_store, pass_state, store_option


@cli.group()
def history():
    """把往年最终的分办结果导入存储。"""


@history.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="文件所属年度（默认：文件名中的四位年份）。")
@click.option("--importer", default=None, help="记为决定人的姓名（默认：$USER）。")
@click.option("--year-ok", is_flag=True, help="确认年度无误：--year 与文件名或届次列不符、或在未来时，仍按此导入。")
@store_option
@pass_state
def history_import(state, file, year, importer, year_ok, store_path):
    """导入往年工作簿，把其中最终的主题和处室记为决定。"""
    from ..services.review import import_history_file

    with open_store(state.store_path(store_path, write=True, what="导入往年结果")) as store:
        done = import_history_file(state.profile, store, Path(file), year=year, importer=_reviewer(importer),
                                   year_ok=year_ok)
        click.echo(f"{file}：{done.items} 条，新增建议 {done.added} 条，新增决定 {done.decided} 条（存储：{store.path}）")


@cli.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--reviewer", default=None, help="“复核人”为空的行记为此复核人（默认：$USER）。")
@click.option("--confirm-unflagged", is_flag=True,
              help="对未标记需复核、且“复核”为空的每一行，以复核人名义记为“同意”。")
@click.option("--force", is_flag=True, help="即使较新的决定与本表不同（冲突），也按本表（较旧的副本）记录。")
@store_option
@pass_state
def accept(state, table, reviewer, confirm_unflagged, force, store_path):
    """记录已复核的交办任务表（XLSX）中的决定。

    路由之后历史库又记录了决定时，旧副本不会覆盖它们：不同的行连同两边的值一并列出，不予记录，除非 --force。"""
    from ..review import describe_route
    from ..services.review import accept_table

    profile = state.profile
    with open_store(state.store_path(store_path, write=True, what="记录复核决定"), create=False) as store:
        done = accept_table(profile, store, Path(table), reviewer=_reviewer(reviewer),
                            confirm_unflagged=confirm_unflagged, force=force)
    for r in done.inferred:
        click.echo(f"第{r.row}行：确认列已填而复核为空，按“{r.action}”记录")
    for c in done.conflicts:
        click.echo(f"冲突：第{c.row.row}行（{c.number}）表中为“{describe_route(profile, c.row.action, c.row.confirmed)}”，"
                   f"历史库中 {c.newer['reviewer']} 于 {c.newer['created'][:10]} 已记录“"
                   f"{describe_route(profile, c.newer['action'], c.newer['after'])}”")
    if done.conflicts_skipped:
        click.echo(f"这份表是旧版本（路由之后历史库又记录了决定）：{len(done.conflicts)} 行冲突，未记录；"
                   "核对后在新表上修改，或确认以本表为准，加 --force")
    click.echo(f"同意 {done.seen['同意']}，修改 {done.seen['修改']}，待定 {done.seen['待定']}，未复核 {done.untouched}")
    click.echo(f"新记录决定 {done.new} 条" + ("" if done.new or done.conflicts else "（与已有决定相同，未重复记录）"))


def _describe_route(profile, r, position: str = "") -> str:
    from ..services.review import alternatives

    s = r.suggestion
    lines = [
        "",
        "=" * 60,
        (f"[{position}] " if position else "") + f"序号 {r.seq}　{s.id}　{s.title}",
        f"领衔代表：{s.deputy}" if s.deputy else "",
        (s.body[:400] + ("……" if len(s.body) > 400 else "")) if s.body else "",
        "-" * 60,
        f"建议主题：{profile.topic(r.topic).name}（{r.topic_confidence:.0%}）" if r.topic else "建议主题：无",
        f"建议主办：{profile.division(r.division).name}（{r.division_confidence:.0%}）" if r.division else "",
        f"建议会办：{'、'.join(profile.division(k).name for k in r.co_divisions) or '无'}",
        f"判断依据：{'、'.join(r.reasons)}",
    ]
    for number, (t, d) in enumerate(alternatives(profile, r), start=1):
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


def _ask_divisions(profile, current) -> list[str]:
    """Co-handling divisions by number or name (several, separated by 、, commas or spaces); empty for none."""
    import re

    names = [d.name for d in profile.divisions]
    listing = "  ".join(f"{i}.{n}" for i, n in enumerate(names, start=1))
    default = " ".join(str(profile.division_keys.index(k) + 1) for k in current)
    while True:
        answer = click.prompt(f"会办处室（编号或名称，可多个，用空格或、分隔；-=无）（{listing}）", default=default,
                              show_default=bool(default)).strip()
        if answer in ("", "-"):
            return []
        keys, bad = [], []
        for part in (p for p in re.split(r"[、,，;；\s]+", answer) if p):
            if part.isdigit() and 1 <= int(part) <= len(names):
                keys.append(profile.divisions[int(part) - 1].key)
            elif profile.division_key(part):
                keys.append(profile.division_key(part))
            else:
                bad.append(part)
        if not bad:
            return list(dict.fromkeys(keys))
        click.echo(f"无法识别：{'、'.join(bad)}；请输入列表中的编号或名称")


def _ask_decision(profile, r):
    """The reviewer's answer as a decision; None to skip, "quit" to stop."""
    from ..services import review as service

    answer = click.prompt("决定（回车=同意，数字=备选，e=修改，d=待定，s=跳过，u=撤销上一条，q=退出）", default="",
                          show_default=False).strip().lower()
    if answer == "q":
        return "quit"
    if answer == "d":
        reason = click.prompt("待定原因（必填）", default="", show_default=False).strip()
        if not reason:
            click.echo("待定请写明原因；本条未记录，请重新决定")
            return "again"
        return service.ReviewDecision("待定", None, service.agree(r).before, reason)
    if answer == "u":
        return "undo"
    if answer == "s":
        return None
    if not answer:
        return service.agree(r)
    if answer.isdigit() and 1 <= int(answer) <= len(service.alternatives(profile, r)):
        return service.pick_alternative(profile, r, int(answer))
    if answer == "e":
        topic = _ask_choice("主题", [t.name for t in profile.topics], profile.topic(r.topic).name)
        division = _ask_choice("主办处室", [d.name for d in profile.divisions], profile.division(r.division).name)
        co = "、".join(profile.division(k).name for k in _ask_divisions(profile, r.co_divisions))
        comment = click.prompt("复核意见（可空）", default="", show_default=False)
        return service.edit(profile, r, topic=topic, division=division, co_divisions=co, comment=comment)
    click.echo("未识别的输入，本条跳过")
    return None


@cli.command()
@click.argument("input_path", metavar="[INPUT]", required=False, type=click.Path(dir_okay=False))
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None, help="模型文件夹。")
@models_option
@click.option("--sheet", default=None, help=".xlsx 输入文件的工作表。")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="建议所属年度（默认：今年）；不给 INPUT 时，复核存储中该年度的建议。")
@click.option("--reviewer", default=None, help="复核人姓名（默认：$USER）。")
@store_option
@pass_state
def review(state, input_path, model_dir, models_root, sheet, year, reviewer, store_path):
    """在终端逐条复核建议，把握最小的在前；每个决定立即保存。

    回车=同意，数字=选备选，e=修改，d=待定（须写原因），s=跳过，u=撤销上一条，q=退出。"""
    from ..services import review as service

    profile = state.profile
    if not input_path and not year:
        raise click.UsageError("请给出建议文件，或用 --year 复核存储中已有的年度")
    with open_store(state.store_path(store_path, write=True, what="复核"), create=bool(input_path)) as store:
        suggestions, source = service.review_suggestions(profile, input_path=input_path, sheet=sheet, year=year,
                                                         store=store)
        model = _resolve_model(state, model_dir, models_root)
        reviewer = _reviewer(reviewer)
        session = service.start_review(profile, model, store, suggestions, year=year, source=source)
        click.echo(f"待复核 {len(session.pending)} 条（已有人工决定的 {session.already_decided} 条不再询问）。"
                   "回车=同意，数字=选备选，e=修改，d=待定，s=跳过，u=撤销上一条，q=退出")
        done = 0
        pending = session.pending
        undo: list = []  # (position, what record_decision returned) for u
        i = 0
        while i < len(pending):
            r = pending[i]
            click.echo(_describe_route(profile, r, position=f"{i + 1}/{len(pending)}"))
            decision = _ask_decision(profile, r)
            if decision == "quit":
                break
            if decision == "undo":
                if not undo:
                    click.echo("没有可撤销的决定")
                    continue
                i, recorded = undo.pop()
                try:
                    service.undo_decision(store, recorded, reviewer=reviewer)
                except InputError as exc:  # decided again since (e.g. on the web): that decision stands
                    click.echo(str(exc))
                    continue
                done -= 1
                click.echo(f"已撤销第 {i + 1} 条的决定，请重新决定")
                continue
            if decision == "again":
                continue
            if decision is None:
                i += 1
                continue
            recorded = service.record_decision(store, r, decision, reviewer=reviewer, year=session.year,
                                               source=source)
            undo.append((i, recorded))
            done += 1
            settled = recorded.decision
            where = (f"{profile.topic(settled.after['topic']).name}／{profile.division(settled.after['division']).name}"
                     if settled.after else f"原因：{settled.comment}")
            click.echo(f"已保存：{settled.action} → {where}（已完成 {i + 1}/{len(pending)}）")
            i += 1
        click.echo(f"本次记录 {done} 条决定（存储：{store.path}）")
