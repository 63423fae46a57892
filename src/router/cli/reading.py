"""`router profile` and `router read`: what the office is set up as, and how a file is understood."""

from __future__ import annotations

import json

import click

from ..profile import available_templates
from .base import cli, pass_state


@cli.group()
def profile():
    """查看本单位配置文件，或从模板新建一份。"""


@profile.command("show")
@pass_state
def profile_show(state):
    """显示正在使用的配置文件（未给 --profile 或 $ROUTER_PROFILE 时为内置默认配置）。"""
    from ..profile import profile_as_text

    click.echo(profile_as_text(state.profile))


@profile.command("init")
@click.option("--template", type=click.Choice(list(available_templates())), required=True,
              help="county（县）、city（市）或 province（省）：政府部门作为办理单位；默认：示例单位的处室。")
@click.argument("path", type=click.Path(dir_okay=False), default="profile.toml")
@click.option("--force", is_flag=True, help="PATH 已存在时覆盖。")
def profile_init(template, path, force):
    """按模板写出配置文件到 PATH（默认：当前文件夹的 profile.toml），再按本单位修改。"""
    from ..profile import init_profile

    written = init_profile(template, path, force=force)
    click.echo(f"已写入配置文件：{path}（{available_templates()[template]}；"
               f"{len(written.divisions)}个办理单位，{len(written.topics)}个主题）")
    click.echo("下一步：")
    click.echo(f"  1. 打开 {path}，把 [office] name 改为本单位名称；")
    click.echo("  2. 按本单位“三定”规定核对各单位的名称、职责、责任领导和常见诉求，删去本地没有的单位，并同步修改 [[rules]]；")
    click.echo(f"  3. 运行 router --profile {path} profile show 检查；")
    click.echo(f"  4. 还没有往年数据时，运行 router --profile {path} train --cold 建立模型。")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--sheet", default=None, help=".xlsx 文件的工作表（默认：第一个可见的工作表）。")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="text：说明如何理解该文件；jsonl：输出规范化后的记录。")
@pass_state
def read(state, file, sheet, fmt):
    """读取建议文件，说明各列是如何理解的。"""
    from ..intake import open_intake
    from ..tokenizer import normalize

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
