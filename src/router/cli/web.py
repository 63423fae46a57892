"""`router serve` and `router users`: the review web application and its accounts."""

from __future__ import annotations

import click

from .base import cli, pass_state, store_option

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine needs at least one account.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--year", type=click.IntRange(1949, 2200), default=None,
              help="Year under review (default: the newest routed year in the store).")
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="Worker threads.")
@click.option("--behind-proxy", is_flag=True,
              help="Trust X-Forwarded-For/-Proto from one reverse proxy (cookies become Secure over TLS).")
@store_option
@pass_state
def serve(state, host, port, year, threads, behind_proxy, store_path):
    """Serve the review web pages (复核网页) for several reviewers over the store."""
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
    """Accounts of the review web pages."""


def _divisions(ctx, param, value):
    if not value:
        return []
    return [part.strip() for part in value.replace("、", ",").replace("，", ",").split(",") if part.strip()]


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reviewer", "coordinator"]), required=True,
              help="reviewer decides on suggestions; coordinator also sees progress and exports.")
@click.option("--divisions", callback=_divisions, default=None,
              help="Limit a reviewer to these divisions (keys or names, comma-separated).")
@store_option
@pass_state
def users_add(state, name, role, divisions, store_path):
    """Create an account; the password is asked twice and stored as a salted scrypt hash."""
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
    """List the accounts."""
    from ..accounts import ROLE_NAMES, list_users
    from ..store import Store

    with Store.open(state.store_path(store_path, write=True, what="列出用户"), create=False) as store:
        found = list_users(store)
    if not found:
        click.echo("尚无账户")
    for u in found:
        scope = "、".join(state.profile.division(k).name for k in u.divisions) or "全部处室"
        click.echo(f"{u.name}\t{ROLE_NAMES[u.role]}\t{scope}\t{u.created}")
