"""`router init`: an office folder for one office's profile, models and store."""

from __future__ import annotations

import click

from ..profile import available_templates
from .base import cli


@cli.command("init")
@click.argument("folder", type=click.Path(file_okay=False), default=".")
@click.option("--template", type=click.Choice(list(available_templates())), default="default", show_default=True,
              help="Profile to start from: default (the seed office's divisions), county, city or province.")
@click.option("--force", is_flag=True, help="Rewrite the profile of an existing office folder (models and store are kept).")
def init(folder, template, force):
    """Make FOLDER (default: here) an office folder: profile.toml to edit, models/, the store.

    Every command run in FOLDER or below it uses this office's profile, models and store.
    """
    from ..office import init_office

    office = init_office(folder, template=template, force=force)
    click.echo(f"已建立办公室文件夹：{office.root}")
    click.echo(f"  配置：{office.profile_path}（{available_templates()[template]}，请按本单位实际修改）")
    click.echo(f"  模型：{office.models_root}（训练前使用随包默认模型）")
    click.echo(f"  历史库：{office.store_path}（首次使用时建立）")
    click.echo("下一步：导入往年结果 router history import 往年.xlsx；路由 router route 交办清单.xlsx")
