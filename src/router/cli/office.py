"""`router init`: an office folder for one office's profile, models and store."""

from __future__ import annotations

import click

from ..profile import available_templates
from .base import cli, pass_state


@cli.command("init")
@click.argument("folder", type=click.Path(file_okay=False), default=".")
@click.option("--template", type=click.Choice(list(available_templates())), default="default", show_default=True,
              help="起始配置：default（示例单位的处室）、county（县）、city（市）或 province（省）。")
@click.option("--force", is_flag=True, help="重写已有办公文件夹的配置文件（保留模型和存储）。")
@pass_state
def init(state, folder, template, force):
    """把 FOLDER（默认：当前文件夹）建成办公文件夹：待修改的 profile.toml、models/ 和存储。

    在 FOLDER 及其下级文件夹运行的命令都使用该单位的配置、模型和存储。随包默认模型只适用于
    示例单位的配置；用 county、city 或 province 模板时，当场依据配置中的部门职责和主题规则建立
    冷启动模型（几秒钟），第一次 router route 即可使用。
    """
    from ..office import init_office

    office = init_office(folder, template=template, force=force)
    click.echo(f"已建立办公室文件夹：{office.root}")
    click.echo(f"  配置：{office.profile_path}（{available_templates()[template]}，请按本单位实际修改）")
    cold = ensure_office_model(office, cache=state.cache)
    if cold is None:
        click.echo(f"  模型：{office.models_root}（训练前使用随包默认模型）")
    else:
        click.echo(f"  模型：{cold.folder}（冷启动模型：依据配置中的{_unit_word(office)}职责和主题规则建立，已设为当前模型）")
    click.echo(f"  历史库：{office.store_path}（首次使用时建立）")
    click.echo("下一步：导入往年结果 router history import 往年.xlsx；路由 router route 交办清单.xlsx")
    if cold is not None:
        click.echo("有往年分办结果后，用 router train 往年.xlsx 训练，分办会更准")


def _unit_word(office) -> str:
    from ..profile import load_profile

    return load_profile(office.profile_path).unit_word


def ensure_office_model(office, *, cache=None):
    """A cold model for an office whose profile the packaged model does not serve and that has none yet,
    or whose current model is a cold one made before its profile was edited (it learned nothing
    but the profile, so nothing is lost by making it again).

    Returns the trained model (made current), or None when nothing was needed.
    """
    from ..profile import load_profile
    from ..registry import promote
    from ..services.training import bundled_fits, train_model

    if not office.profile_path.is_file():
        return None
    profile = load_profile(office.profile_path)
    if office.has_current_model():
        if not _stale_cold_model(office, profile):
            return None
    elif bundled_fits(profile):
        return None
    trained = train_model(profile, None, models_root=office.models_root, cache=cache, defer_to_bundled=True)
    if not trained.promoted:
        promote(office.models_root, trained.name)
        trained.promoted = True
    return trained


def _stale_cold_model(office, profile) -> bool:
    from ..errors import RouterError
    from ..registry import current_model_dir, read_manifest, verify_model

    try:
        folder = current_model_dir(office.models_root)
        if read_manifest(folder).get("examples"):
            return False
    except RouterError:
        return False
    try:
        verify_model(folder, profile)
    except RouterError:
        return True
    return False
