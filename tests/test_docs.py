"""Every command is documented in the README (one row each) and in the generated reference; --help works."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import ROOT, invoke
from router.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = prefix + (name,)
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path


COMMANDS = sorted(_commands(cli))


def _reference_module():
    spec = importlib.util.spec_from_file_location("make_cli_reference", ROOT / "docs" / "make_cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GROUPS = {name for name, command in cli.commands.items() if isinstance(command, click.Group)}


def readme_rows(text: str) -> set[tuple[str, ...]]:
    """The command of each row of the README's command table: | `router WORDS…` | … |

    A row names one command exactly: a group's first word and one subcommand, or one word.
    """
    rows = set()
    for match in re.finditer(r"^\| `router ([^`]*)` \|", text, re.M):
        words = match.group(1).split()
        rows.add(tuple(words[:2]) if words[0] in GROUPS else tuple(words[:1]))
    return rows


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_command_has_a_readme_row_and_help(runner, path):
    rows = readme_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    assert path in rows, f"README.md has no row for `router {' '.join(path)}`"
    result = invoke(runner, [*path, "--help"])
    assert result.exit_code == 0 and result.output.startswith(f"用法: router {' '.join(path)} ")


def test_every_readme_row_is_a_command():
    assert readme_rows((ROOT / "README.md").read_text(encoding="utf-8")) - set(COMMANDS) == set()


def test_cli_reference_is_current():
    module = _reference_module()
    assert module.REFERENCE.read_text(encoding="utf-8") == module.render(), (
        "docs/cli-reference.md is stale; run: .venv/bin/python docs/make_cli_reference.py")


def test_version_in_a_real_process():
    router = Path(sys.executable).with_name("router")
    out = subprocess.run([router, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "router, version 0.1.0"


def test_unexpected_failure_is_one_line(runner, monkeypatch):
    import router.profile

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(router.profile, "load_profile", boom)
    result = invoke(runner, ["profile", "show"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: 意外故障（RuntimeError: disk on fire）；设置 ROUTER_DEBUG=1 查看详情并报告此问题")
