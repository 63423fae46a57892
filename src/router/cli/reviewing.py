"""`router history import`, `router accept` and `router review`: recording people's decisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .base import _resolve_model, _reviewer, cli, models_option, pass_state, store_option


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
    from ..history import read_history
    from ..review import import_history
    from ..store import Store

    items = read_history(Path(file), state.profile, year=year)
    with Store.open(state.store_path(store_path, write=True, what="导入往年结果")) as store:
        added, decided = import_history(store, items, importer=_reviewer(importer), origin=Path(file).name,
                                        office=state.profile.office_name)
        click.echo(f"{file}：{len(items)} 条，新增建议 {added} 条，新增决定 {decided} 条（存储：{store.path}）")


@cli.command()
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--reviewer", default=None, help="Reviewer for rows whose 复核人 is empty (default: $USER).")
@click.option("--confirm-unflagged", is_flag=True,
              help="Record 同意 by the reviewer for every row not flagged for review whose 复核 is empty.")
@click.option("--force", is_flag=True,
              help="Record rows of an older copy even where a newer decision differs (conflicts).")
@store_option
@pass_state
def accept(state, table, reviewer, confirm_unflagged, force, store_path):
    """Record the decisions of a reviewed assignment table (XLSX).

    A copy routed before decisions that were recorded since does not override them: the rows
    that differ are listed with both values and left unrecorded unless --force.
    """
    from ..review import accept_rows, describe_route, find_conflicts, read_reviewed_table, read_table_state
    from ..store import Store

    profile = state.profile
    rows, untouched = read_reviewed_table(Path(table), profile, confirm_unflagged=confirm_unflagged)
    for r in rows:
        if r.inferred:
            click.echo(f"第{r.row}行：确认列已填而复核为空，按“{r.action}”记录")
    since = read_table_state(Path(table)).get("决定序号")
    with Store.open(state.store_path(store_path, write=True, what="记录复核决定"), create=False) as store:
        conflicts = find_conflicts(store, rows, since=int(since), origin=Path(table).name) if since else []
        for c in conflicts:
            click.echo(f"冲突：第{c.row.row}行（{c.number}）表中为“{describe_route(profile, c.row.action, c.row.confirmed)}”，"
                       f"历史库中 {c.newer['reviewer']} 于 {c.newer['created'][:10]} 已记录“"
                       f"{describe_route(profile, c.newer['action'], c.newer['after'])}”")
        if conflicts and not force:
            skipped = {id(c.row) for c in conflicts}
            rows_to_record = [r for r in rows if id(r) not in skipped]
            click.echo(f"这份表是旧版本（路由之后历史库又记录了决定）：{len(conflicts)} 行冲突，未记录；"
                       "核对后在新表上修改，或确认以本表为准，加 --force")
        else:
            rows_to_record = rows
        recorded = accept_rows(store, rows_to_record, reviewer=_reviewer(reviewer), origin=Path(table).name)
    seen = {a: sum(r.action == a for r in rows) for a in ("同意", "修改", "待定")}
    click.echo(f"同意 {seen['同意']}，修改 {seen['修改']}，待定 {seen['待定']}，未复核 {untouched}")
    new = sum(recorded.values())
    click.echo(f"新记录决定 {new} 条" + ("" if new or conflicts else "（与已有决定相同，未重复记录）"))


def _alternatives(profile, r) -> list[tuple[str, str]]:
    """[1] the same topic with the runner-up division; [2] the runner-up topic with its usual lead."""
    out = []
    if len(r.divisions) > 1:
        out.append((r.topic, r.divisions[1][0]))
    if len(r.topics) > 1:
        topic = r.topics[1][0]
        out.append((topic, (profile.rules.get(topic) or (r.division,))[0]))
    return out


def _describe_route(profile, r, position: str = "") -> str:
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

    Enter accepts, a number picks an alternative, e edits (co-divisions by number), s skips,
    u undoes the last decision (by recording the one before it again), q quits; a counter shows
    how far the review has come.
    """
    from ..intake import read_intake
    from ..review import human_decisions
    from ..routing import route_batch
    from ..similar import annotate
    from ..store import Store

    profile = state.profile
    if input_path:
        _, suggestions = read_intake(input_path, profile, sheet=sheet)
    elif year:
        with Store.open(state.store_path(store_path, write=True, what="复核"), create=False) as store:
            suggestions = store.suggestions_of_year(year)
        if not suggestions:
            raise click.UsageError(f"the store has no suggestions of {year}; route or import that year first")
    else:
        raise click.UsageError("give an intake file, or --year to review a year already in the store")
    source = Path(input_path).name if input_path else f"store:{year}"
    model = _resolve_model(state, model_dir, models_root)
    reviewer = _reviewer(reviewer)
    with Store.open(state.store_path(store_path, write=True, what="复核")) as store:
        decided = human_decisions(store)
        routes = route_batch(model, profile, suggestions, year=year or dt.date.today().year)
        annotate(model, routes)
        store.record_routes(routes, year=year or dt.date.today().year, source=source, model=str(model.folder))
        pending = sorted((r for r in routes if r.topic and r.identity not in decided
                          and r.identity._replace(office="") not in decided),
                         key=lambda r: min(r.topic_confidence, r.division_confidence))
        click.echo(f"待复核 {len(pending)} 条（已有人工决定的 {len(routes) - len(pending)} 条不再询问）。"
                   "回车=同意，数字=选备选，e=修改，s=跳过，q=退出")
        done = 0
        topic_names = [t.name for t in profile.topics]
        division_names = [d.name for d in profile.divisions]
        history: list[tuple[int, int, object]] = []  # (position, suggestion id, the decision before) for undo
        i = 0
        while i < len(pending):
            r = pending[i]
            click.echo(_describe_route(profile, r, position=f"{i + 1}/{len(pending)}"))
            answer = click.prompt("决定（回车=同意，数字=备选，e=修改，s=跳过，u=撤销上一条，q=退出）", default="",
                                  show_default=False).strip().lower()
            if answer == "q":
                break
            if answer == "s":
                i += 1
                continue
            if answer == "u":
                if not history:
                    click.echo("没有可撤销的决定")
                    continue
                i, sid, previous = history.pop()
                with store.transaction() as db:
                    # Decisions are append-only: the undo is a new decision restoring the one before.
                    if previous is None:
                        store.add_decision(db, sid, action="待定", reviewer=reviewer, after=None,
                                           comment="撤销上一条决定", origin="review")
                    else:
                        store.add_decision(db, sid, action=previous.action, reviewer=reviewer, after=previous.after,
                                           comment=previous.comment or "撤销上一条决定", origin="review")
                done -= 1
                click.echo(f"已撤销第 {i + 1} 条的决定，请重新决定")
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
                co_keys = _ask_divisions(profile, r.co_divisions)
                comment = click.prompt("复核意见（可空）", default="", show_default=False)
                after = {"topic": profile.topic_key(topic), "division": profile.division_key(division),
                         "co_divisions": [k for k in co_keys if k != profile.division_key(division)]}
                action = "同意" if after == suggested and not comment else "修改"
            elif answer:
                click.echo("未识别的输入，请重新输入")
                continue
            with store.transaction() as db:
                sid = store.upsert_suggestion(db, r.suggestion, year=year or dt.date.today().year, source=source,
                                              identity=r.identity)
                previous = store.latest_decision(db, sid)
                store.add_decision(db, sid, action=action, reviewer=reviewer, after=after, before=suggested,
                                   comment=comment, origin="review")
            history.append((i, sid, previous))
            done += 1
            click.echo(f"已保存：{action} → {profile.topic(after['topic']).name}／{profile.division(after['division']).name}"
                       f"（已完成 {i + 1}/{len(pending)}）")
            i += 1
        click.echo(f"本次记录 {done} 条决定（存储：{store.path}）")
