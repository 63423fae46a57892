"""Every command is documented in the README and answers --help."""

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


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_command_documented_and_has_help(runner, path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = " ".join(path[:-1] + (path[-1],))
    group_form = f"router {' '.join(path[:-1])} " if len(path) > 1 else None
    assert f"router {head}" in readme or (group_form and group_form in readme and path[-1] in readme), head
    result = invoke(runner, [*path, "--help"])
    assert result.exit_code == 0 and result.output.startswith(f"用法: router {' '.join(path)} ")


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
