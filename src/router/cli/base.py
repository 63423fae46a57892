"""The click group, the options several commands share, and the edge where errors become one line."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import RouterError

PROFILE_OPTION_HELP = "Office profile (TOML). Default: $ROUTER_PROFILE or the bundled seed office."


class RouterGroup(click.Group):
    """Turns library errors into one `Error: ...` line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RouterError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None
        except Exception as exc:
            if os.environ.get("ROUTER_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected failure ({type(exc).__name__}: {exc}); set ROUTER_DEBUG=1 for details and report it"
            ) from None


class State:
    """What the group passes down: the profile path (loaded on first use) and the office folder.

    The office folder is --office, else $ROUTER_OFFICE, else found from the working folder
    upwards (:func:`router.office.find_office`); without one the profile and the model are the
    ones that ship inside the package.
    """

    def __init__(self, profile_path, office_path=None):
        self.office_path = office_path
        self._office = False
        self.profile_path = profile_path
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
        from ..office import no_office_error

        given = given or os.environ.get("ROUTER_MODELS")
        if given:
            return Path(given)
        if self.office is not None:
            return self.office.models_root
        if write:
            raise no_office_error(what)
        return None

    def store_path(self, given, *, write: bool, what: str = "这个命令"):
        """--store or $ROUTER_STORE, else the office's store; None when reading without an office."""
        from ..office import no_office_error

        given = given or os.environ.get("ROUTER_STORE")
        if given:
            return Path(given)
        if self.office is not None:
            return self.office.store_path
        if write:
            raise no_office_error(what)
        return None


pass_state = click.make_pass_decorator(State)


def progress_enabled() -> bool:
    return sys.stderr.isatty()


@click.group(cls=RouterGroup)
@click.version_option(__version__, prog_name="router")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False), default=None, help=PROFILE_OPTION_HELP)
@click.option("--office", "office_path", type=click.Path(file_okay=False), default=None, envvar="ROUTER_OFFICE",
              help="Office folder made by `router init` (default: $ROUTER_OFFICE, else found from here upwards).")
@click.pass_context
def cli(ctx, profile_path, office_path):
    """Route deputies' suggestions (代表建议) to topics and divisions.

    Train on past years, evaluate honestly, route a whole February intake into the
    assignment table (建议交办任务表), and learn from reviewers' decisions.
    """
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
                        help="Models folder (default: $ROUTER_MODELS or ./models).")(f)


def store_option(f):
    return click.option("--store", "store_path", type=click.Path(dir_okay=False), default=None,
                        help="History store (SQLite). Default: $ROUTER_STORE or ./router.sqlite.")(f)


def _progress(length: int, label: str):
    """A progress bar on a terminal; silent when stderr is not one."""
    if progress_enabled() and length > 1:
        return click.progressbar(length=length, label=label, file=sys.stderr)
    return contextlib.nullcontext(None)



def _counting(items, label: str, every: int = 1000):
    """A running count on stderr for streams of unknown length (terminal only)."""
    n = 0
    for n, item in enumerate(items, start=1):
        if n % every == 0:
            click.echo(f"\r{label}：{n} 条", nl=False, err=True)
        yield item
    if n >= every:
        click.echo(f"\r{label}：{n} 条", err=True)


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
        raise click.BadParameter(f"'{value}' is not a list of years like 2017-2019,2021") from None
    return years


years_option = click.option("--years", callback=parse_years, default=None,
                            help="Only these years, e.g. 2017-2019,2021.")


from_store_option = click.option("--from-store", is_flag=True,
                                 help="Learn from the latest decisions in the store instead of files.")


def _human_decisions(store_file: Path | None) -> dict:
    """Reviewers' decisions by content hash, from the store if there is one."""
    from ..review import human_decisions
    from ..store import Store

    if store_file is None or not store_file.exists():
        return {}
    with Store.open(store_file) as store:
        return human_decisions(store)


def _resolve_model(state, model_dir, models_root):
    """--model, else the current model of the models folder; the packaged default when there is none.

    The loaded model's ``bundled`` says whether it is the one that ships inside the package.
    """
    from ..office import bundled_models_dir
    from ..registry import current_model_dir, load_model

    root = state.models_root(models_root, write=False)
    if model_dir:
        folder = Path(model_dir)
    elif root is not None and ((root / "CURRENT").is_file() or state.office is None):
        folder = current_model_dir(root)
    else:
        # No models folder, or an office that has not trained or promoted one yet.
        folder = current_model_dir(bundled_models_dir())
    model = load_model(folder, state.profile)
    model.bundled = folder.resolve().is_relative_to(bundled_models_dir().resolve())
    return model


def model_label(model) -> str:
    """How a command names the model it used."""
    return f"随包默认模型（{model.folder.name}）" if getattr(model, "bundled", False) else str(model.folder)


def _reviewer(name: str | None) -> str:
    return name or os.environ.get("USER") or os.environ.get("USERNAME") or "reviewer"

