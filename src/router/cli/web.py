"""`router serve` and `router users`: the review web application and its accounts."""

from __future__ import annotations

import click

from .base import cli, pass_state, store_option

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址；本机以外的地址需要至少一个账户。")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="监听端口。")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="复核的年度（默认：存储中最近分办的年度）。")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="工作线程数。")
@click.option("--behind-proxy", is_flag=True,
              help="信任前面一个反向代理的 X-Forwarded-For/-Proto（经 TLS 时 Cookie 为 Secure）。")
@store_option
@pass_state
def serve(state, host, port, year, threads, behind_proxy, store_path):
    """为多名复核人提供基于存储的复核网页。"""
    import waitress

    from ..accounts import count_users
    from ..store import Store
    from ..web import create_app

    with Store.open(state.store_path(store_path, write=True, what="网页复核"), create=False) as store:
        users = count_users(store)
        path = store.path
    if host not in LOOPBACK and not users:
        raise click.ClickException(f"监听 {host} 会让其他电脑访问，但存储中还没有账户；"
                                   "请先用 `router users add 姓名 --role reviewer` 创建账户")
    app = create_app(path, state.profile, year=year, behind_proxy=behind_proxy,
                     allowed_hosts=LOOPBACK if host in LOOPBACK else None)
    if not users:
        click.echo("提示：存储中还没有账户，请先运行 `router users add 姓名 --role reviewer`", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"复核网页：http://{shown}:{port}/ （存储：{path}；按 Ctrl+C 停止）")
    # Without --behind-proxy, X-Forwarded-* headers from clients are dropped; with it, the app's
    # ProxyFix reads the values the one proxy in front appended.
    waitress.serve(app, host=host, port=port, threads=threads, ident="router",
                   clear_untrusted_proxy_headers=not behind_proxy, _quiet=True)


@cli.group()
def users():
    """复核网页的账户。"""


def _divisions(ctx, param, value):
    if not value:
        return []
    return [part.strip() for part in value.replace("、", ",").replace("，", ",").split(",") if part.strip()]


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reviewer", "coordinator"]), required=True,
              help="reviewer（复核人）对建议作决定；coordinator（统筹人）还可查看进度和导出。")
@click.option("--divisions", callback=_divisions, default=None,
              help="限定复核人只处理这些处室（键或名称，用逗号分隔）。")
@store_option
@pass_state
def users_add(state, name, role, divisions, store_path):
    """创建账户；密码输入两次，以加盐 scrypt 哈希保存。"""
    from ..accounts import ROLE_NAMES, add_user
    from ..store import Store

    password = click.prompt("密码", hide_input=True, err=True)
    if click.prompt("再次输入密码", hide_input=True, err=True) != password:
        raise click.ClickException("两次输入的密码不一致，账户未创建")
    with Store.open(state.store_path(store_path, write=True, what="管理用户")) as store:
        user = add_user(store, state.profile, name, role=role, password=password, divisions=divisions)
    scope = "、".join(state.profile.division(k).name for k in user.divisions) or "全部处室"
    click.echo(f"已创建账户：{user.name}（{ROLE_NAMES[user.role]}，{scope}）")


@users.command("list")
@store_option
@pass_state
def users_list(state, store_path):
    """列出账户。"""
    from ..accounts import ROLE_NAMES, list_users
    from ..store import Store

    with Store.open(state.store_path(store_path, write=True, what="列出用户"), create=False) as store:
        found = list_users(store)
    if not found:
        click.echo("尚无账户")
    for u in found:
        scope = "、".join(state.profile.division(k).name for k in u.divisions) or "全部处室"
        state_ = f"\t已停用（{u.disabled}）" if u.disabled else ""
        click.echo(f"{u.name}\t{ROLE_NAMES[u.role]}\t{scope}\t{u.created}{state_}")
