"""The CLI speaks Chinese to users: click's own words, "Aborted!", help; and the layers stay apart."""

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import ROOT, invoke
from router.cli import cli, zh

SRC = ROOT / "src" / "router"


def _click_source() -> str:
    folder = Path(inspect.getfile(click)).parent
    return "\n".join((folder / f"{name}.py").read_text(encoding="utf-8") for name in zh.CLICK_MODULES)


def test_every_catalog_entry_is_a_message_click_shows():
    source = _click_source()
    missing = [m for m in zh.MESSAGES if f'"{m}"' not in source.replace("\\n", "\n").replace("\\t", "\t")]
    missing += [p for pair in zh.PLURALS for p in pair if f'"{p}"' not in source]
    assert missing == [], "click changed these messages; update router/cli/zh.py"


def test_abort_is_chinese(runner, tmp_path):
    # A prompt that meets the end of its input aborts, as Ctrl+C or Ctrl+D at a prompt does.
    result = invoke(runner, ["users", "add", "张三", "--role", "reviewer", "--store", tmp_path / "s.sqlite"], input="")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "已中止。"


def test_unknown_command_is_chinese(runner):
    result = invoke(runner, ["rout"])
    assert result.exit_code == 2
    assert result.output == ("用法: router [OPTIONS] COMMAND [ARGS]...\n运行 'router --help' 查看帮助。\n\n"
                             "Error: 没有命令 'rout'。 （是否要用：'report', 'route'？）\n")


def test_bad_choice_is_chinese(runner):
    result = invoke(runner, ["read", "x.csv", "--format", "xml"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: '--format' 的取值无效：'xml' 不是可选值 'text', 'jsonl' 之一。"


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


@pytest.mark.parametrize("path", sorted(_commands(cli)), ids=" ".join)
def test_help_is_chinese(runner, path):
    out = invoke(runner, [*path, "--help"]).output
    assert "Show this message" not in out and "Usage:" not in out and "Options:" not in out
    command = cli
    for name in path:
        command = command.commands[name]
    for text in [command.help or ""] + [p.help for p in command.params if isinstance(p, click.Option)]:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text or "x"), (path, text)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


LIBRARY = sorted(p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(SRC)))
def test_library_imports_no_click_and_reads_no_environment(path):
    assert "click" not in _imports(path)
    text = path.read_text(encoding="utf-8")
    assert "os.environ" not in text and "getenv(" not in text


def test_every_command_is_listed_where_it_is_registered():
    # router.cli imports a command's module on first lookup (COMMANDS); a command missing from the
    # list would be unreachable by name, one listed in the wrong module would fail to load.
    code = ("import importlib, pkgutil, router.cli as c\n"
            "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('router.cli.' + m.name)\n"
            "print(sorted((n, k.callback.__module__.rsplit('.', 1)[-1]) for n, k in c.cli.commands._commands.items()))\n"
            "print(sorted(c.COMMANDS.items()))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    registered, listed = out.stdout.splitlines()
    assert registered == listed
