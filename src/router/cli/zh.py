"""click's own words in Chinese: usage lines, section headings, "Aborted!" and its usage errors.

click marks every string it shows with gettext's ``_`` (and ``ngettext``), bound in each of
its modules at import. Rather than ship compiled .mo files and depend on the user's locale
variables, :func:`install` points those names at the small catalog below, so a user sees
Chinese whatever LANG says. Strings not in the catalog stay as click wrote them. The catalog's
keys are click's exact messages: tests/test_cli_zh.py fails when a click upgrade changes one.
"""

from __future__ import annotations

import importlib

__all__ = ["MESSAGES", "PLURALS", "install"]

# "Error: {message}" stays: every error is one greppable `Error: ...` line (see the project brief).
# The metavars FILE, DIRECTORY, PATH stay too: click aligns help columns by characters, and
# double-width Chinese metavars would push the option texts out of line.
MESSAGES = {
    "Usage:": "用法:",  # click follows it with a space and headings with ":", as ASCII
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "Aborted!": "已中止。",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不接受取值。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值无效：{message}",
    "Invalid value: {message}": "取值无效：{message}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数值。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{name} {filename!r} does not exist.": "{filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{filename!r} 是文件夹，不是文件。",
    "{name} {filename!r} is a file.": "{filename!r} 是文件，不是文件夹。",
    "{name} {filename!r} is not readable.": "{filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{filename!r} 不可写。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "Error: invalid input": "Error: 输入无效",
    "Repeat for confirmation": "再输入一次以确认",
    "Error: The two entered values do not match.": "Error: 两次输入不一致。",
    "Do you want to continue?": "是否继续？",
    "Choose from:\n\t{choices}": "可选值：{choices}",
}

# (singular, plural) -> Chinese, which has one form. click passes every field to both forms.
PLURALS = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): "多余的参数（{args}）",
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): "（是否要用：{possibilities}？）",
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): "{value!r} 不是可选值 {choices} 之一。",
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        "{value!r} 不符合格式 {formats}。",
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        "选项 {name!r} 需要取值。",
}

CLICK_MODULES = ("core", "exceptions", "types", "parser", "formatting", "decorators", "termui", "utils")


def gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    found = PLURALS.get((singular, plural))
    if found is None:
        return singular if n == 1 else plural
    return found


def install() -> None:
    """Point click's ``_`` and ``ngettext`` at the catalog (idempotent)."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext
