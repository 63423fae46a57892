"""`router init`: an office folder for one office's profile, models and store."""

from __future__ import annotations

import click

from ..profile import available_templates
from .base import cli


@cli.command("init")
@click.argument("folder", type=click.Path(file_okay=False), default=".")
@click.option("--template", type=click.Choice(list(available_templates())), default="default", show_default=True,
              help="起始配置：default（示例单位的处室）、county（县）、city（市）或 province（省）。")
@click.option("--force", is_flag=True, help="重写已有办公文件夹的配置文件（保留模型和存储）。")
def init(folder, template, force):
    """把 FOLDER（默认：当前文件夹）建成办公文件夹：待修改的 profile.toml、models/ 和存储。

    在 FOLDER 及其下级文件夹运行的命令都使用该单位的配置、模型和存储。
    """
    from ..office import init_office

    office = init_office(folder, template=template, force=force)
    click.echo(f"已建立办公室文件夹：{office.root}")
    click.echo(f"  配置：{office.profile_path}（{available_templates()[template]}，请按本单位实际修改）")
    click.echo(f"  模型：{office.models_root}（训练前使用随包默认模型）")
    click.echo(f"  历史库：{office.store_path}（首次使用时建立）")
    click.echo("下一步：导入往年结果 router history import 往年.xlsx；路由 router route 交办清单.xlsx")
