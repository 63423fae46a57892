"""The click group, the options several commands share, and the edge where errors become one line."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

import click

from .. import __version__
from ..errors import RequestError, RouterError
from . import zh

zh.install()  # before any option below is built: click names its types (file, path) at construction

PROFILE_OPTION_HELP = "本单位配置文件（TOML）。默认：$ROUTER_PROFILE，否则用内置的示例单位配置。"


class RouterCommand(click.Command):
    """A request the services refuse as asked is a usage error (exit 2), shown with the command's usage."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RequestError as exc:
            raise click.UsageError(str(exc), ctx=ctx) from None


class RouterGroup(click.Group):
    """Turns library errors into one `Error: ...` line and exit status 1."""

    command_class = RouterCommand
    group_class = type  # subgroups are RouterGroups too

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RouterError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            sys.stderr.close()  # the reader of a pipe (| head) stopped reading: nothing to say
            raise click.exceptions.Exit(1) from None
        except OSError as exc:
            where = f"{exc.filename}：" if exc.filename else ""
            raise click.ClickException(f"{where}操作系统报告错误（{exc.strerror or exc}）；请检查文件、权限和磁盘空间后重试") from None
        except Exception as exc:
            if os.environ.get("ROUTER_DEBUG"):
                raise
            raise click.ClickException(
                f"意外故障（{type(exc).__name__}: {exc}）；设置 ROUTER_DEBUG=1 查看详情并报告此问题"
            ) from None


class LazyCommands(MutableMapping):
    """A group's commands, each module imported when one of its commands is first looked up.

    ``modules`` maps a command's name to the module (inside ``package``) that registers it. A
    lookup of one name imports that name's module only; iterating (help, near misses) imports
    them all. Registration (``add_command``) writes into the mapping as into a dict.
    """

    def __init__(self, package: str, modules: dict[str, str], registered=None):
        self._package, self._modules = package, dict(modules)
        self._commands = dict(registered or {})
        self._imported: set[str] = set()

    def _load(self, module: str) -> None:
        if module not in self._imported:
            self._imported.add(module)
            # __import__ rather than importlib.import_module: `python -X importtime` sees it.
            __import__(f"{self._package}.{module}")

    def _load_all(self) -> None:
        for module in dict.fromkeys(self._modules.values()):
            self._load(module)

    def __getitem__(self, name):
        if name not in self._commands and name in self._modules:
            self._load(self._modules[name])
        return self._commands[name]

    def __contains__(self, name):
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __setitem__(self, name, command):
        self._commands[name] = command

    def __delitem__(self, name):
        del self._commands[name]

    def __iter__(self):
        self._load_all()
        return iter(self._commands)

    def __len__(self):
        self._load_all()
        return len(self._commands)


def jieba_cache_dir() -> Path | None:
    """$ROUTER_CACHE_DIR, else $XDG_CACHE_HOME/router; None leaves the library's ~/.cache/router."""
    if os.environ.get("ROUTER_CACHE_DIR"):
        return Path(os.environ["ROUTER_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "router"
    return None


class State:
    """What the group passes down: the profile path (loaded on first use), the office folder and the jieba cache.

    The office folder is --office, else $ROUTER_OFFICE, else found from the working folder
    upwards (:func:`router.office.find_office`); without one the profile and the model are the
    ones that ship inside the package.
    """

    def __init__(self, profile_path, office_path=None):
        self.office_path = office_path
        self._office = False
        self.profile_path = profile_path
        self.cache = jieba_cache_dir()
        self._profile = None

    @property
    def office(self):
        if self._office is False:
            from ..office import find_office, open_office

            self._office = open_office(self.office_path) if self.office_path else find_office(Path.cwd())
        return self._office

    @property
    def profile(self):
        if self._profile is None:
            from ..profile import load_profile

            path = self.profile_path or os.environ.get("ROUTER_PROFILE")
            if not path and self.office is not None and self.office.profile_path.is_file():
                path = self.office.profile_path
            self._profile = load_profile(path)
            for warning in self._profile.warnings:
                click.echo(f"警告：{warning}", err=True)
        return self._profile

    def models_root(self, given, *, write: bool, what: str = "这个命令"):
        """--models or $ROUTER_MODELS, else the office's models/; None (the bundled models) when reading."""
        return self._office_part(given or os.environ.get("ROUTER_MODELS"), "models_root", write=write, what=what)

    def store_path(self, given, *, write: bool, what: str = "这个命令"):
        """--store or $ROUTER_STORE, else the office's store; None when reading without an office."""
        return self._office_part(given or os.environ.get("ROUTER_STORE"), "store_path", write=write, what=what)

    def _office_part(self, given, part: str, *, write: bool, what: str):
        from ..office import no_office_error

        if given:
            return Path(given)
        if self.office is not None:
            return getattr(self.office, part)
        if write:
            raise no_office_error(what)
        return None


pass_state = click.make_pass_decorator(State)


def progress_enabled() -> bool:
    return sys.stderr.isatty()


@click.group(name="router", cls=RouterGroup)
@click.version_option(__version__, prog_name="router", help="显示版本并退出。")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), default=None, envvar="ROUTER_PROFILE",
              help=PROFILE_OPTION_HELP)
@click.option("--office", "office_path", type=click.Path(file_okay=False), default=None, envvar="ROUTER_OFFICE",
              help="用 `router init` 建立的办公文件夹（默认：$ROUTER_OFFICE，否则从当前文件夹向上查找）。")
@click.pass_context
def cli(ctx, profile_path, office_path):
    """把代表建议分到主题和承办处室。

    用往年数据训练并如实回测，把二月收到的一批建议整理成建议交办任务表，再从复核人员的决定中学习。"""
    ctx.obj = State(profile_path, office_path)
    _say_library_notices()


class _EchoHandler(logging.Handler):
    """The library's notices (e.g. waiting for another writer's lock) as lines on stderr."""

    def emit(self, record):
        click.echo(self.format(record), err=True)


def _say_library_notices() -> None:
    logger = logging.getLogger("router")
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        logger.addHandler(_EchoHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False



def models_option(f):
    return click.option("--models", "models_root", type=click.Path(file_okay=False), default=None,
                        envvar="ROUTER_MODELS", help="模型文件夹（默认：$ROUTER_MODELS，否则办公室文件夹中的 models/；"
                        "不在办公室文件夹中时用随包默认模型）。")(f)


def store_option(f):
    return click.option("--store", "store_path", type=click.Path(dir_okay=False), default=None,
                        envvar="ROUTER_STORE", help="历史库（SQLite）。默认：$ROUTER_STORE，否则办公室文件夹中的 "
                        "router.sqlite（由办公室文件夹决定，不是当前文件夹）。")(f)


def _progress(length: int, label: str):
    """A progress bar on a terminal; silent when stderr is not one."""
    if progress_enabled() and length > 1:
        return click.progressbar(length=length, label=label, file=sys.stderr)
    return contextlib.nullcontext(None)



class DateParam(click.ParamType):
    """A day as offices write it: 2021-02-20, 2021/2/20, 2021.2.20, 2021年2月20日 or 20210220."""

    name = "日期"

    def convert(self, value, param, ctx):
        import datetime as dt
        import re

        if isinstance(value, (dt.date, dt.datetime)):
            return value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
        text = str(value).strip()
        match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text) \
            or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
        try:
            if match:
                return dt.datetime(*(int(g) for g in match.groups()))
        except ValueError:
            pass
        self.fail(f"“{text}”不是有效的日期；请写成 2021-02-20（也可写 2021/2/20、2021年2月20日）", param, ctx)


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
        raise click.BadParameter(f"“{value}”不是年度列表，应写成 2017-2019,2021 这样") from None
    return years


years_option = click.option("--years", callback=parse_years, default=None,
                            help="只用这些年度，如 2017-2019,2021。")


from_store_option = click.option("--from-store", is_flag=True,
                                 help="从存储中的最新决定学习，而不是从文件。")


@contextlib.contextmanager
def open_store(path, *, create: bool = True, only_if_exists: bool = False):
    """The command's one store connection; None when there is no store path, or (``only_if_exists``) no store yet."""
    if path is None or (only_if_exists and not Path(path).exists()):
        yield None
        return
    from ..store import Store

    with Store.open(Path(path), create=create) as store:
        yield store


def _resolve_model(state, model_dir, models_root):
    """--model, else the current model of the models folder; the packaged default when there is none."""
    from ..services.routing import resolve_model

    if model_dir is None and models_root is None and not os.environ.get("ROUTER_MODELS") and state.office is not None \
            and not state.profile_path and not os.environ.get("ROUTER_PROFILE"):
        # An office whose profile the packaged model does not serve, with no model of its own yet:
        # its cold model is made now (seconds), instead of a refusal on the first route.
        from .office import ensure_office_model

        cold = ensure_office_model(state.office, cache=state.cache)
        if cold is not None:
            click.echo(f"本单位还没有适用于当前配置的模型（配置改过，或随包默认模型不适用）："
                       f"已依据配置中的职责和主题规则建立冷启动模型 {cold.name}", err=True)
    return resolve_model(state.profile, model_dir=model_dir, models_root=state.models_root(models_root, write=False),
                         office=state.office is not None, cache=state.cache)


def model_label(model) -> str:
    """How a command names the model it used."""
    if getattr(model, "bundled", False):
        return f"随包默认模型（{model.folder.name}，示例单位的配置）"
    manifest = getattr(model, "manifest", None) or {}
    if not manifest.get("examples"):
        return f"冷启动模型 {model.folder}（没有往年数据，只依据配置中的职责和主题规则）"
    years = manifest.get("years") or []
    span = f"{years[0]}–{years[-1]} 年" if len(years) > 1 else (f"{years[0]} 年" if years else "")
    return f"{model.folder}（用{span}的 {manifest['examples']} 条往年结果训练）"


def model_advice(model) -> str:
    """How to make routing better than the model that routed, or empty when it learned from history."""
    if getattr(model, "bundled", False):
        return "这是随包的示例模型；导入本单位往年结果后用 router train 往年.xlsx 训练本单位的模型，分办会更准"
    if not (getattr(model, "manifest", None) or {}).get("examples"):
        return ("冷启动模型只看职责和规则，需人工复核的会较多；用 router train 往年.xlsx 学习往年分办结果，"
                "或复核本表后 router accept 本表，再 router train --from-store，分办会更准")
    return ""


def _reviewer(name: str | None) -> str:
    return name or os.environ.get("USER") or os.environ.get("USERNAME") or "未署名"

