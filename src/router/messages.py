"""The catalogue of messages router shows a user when it refuses an input: one entry a message.

Each entry has a code (kept on the raised error as ``.code``, so tests and support can name a
message without matching its words), the error class it raises, what is wrong and what to do,
all in Chinese. Where a file, a row or a column applies, :func:`failure` puts them first, in one
form everywhere: ``文件：第 11 行，“复核”列：…；…``.

Modules raise ``failure("I101", file=path)``; the message's text is written once, here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError, OutputError, ProfileError, RouterError

__all__ = ["Message", "CATALOGUE", "failure", "where"]


@dataclass(frozen=True)
class Message:
    code: str
    kind: type
    text: str  # what is wrong ({fields} filled by failure)
    advice: str = ""  # what to do


_ENTRIES = [
    # Intake files (I1xx)
    Message("I101", InputError, "找不到文件", "请检查路径和文件名"),
    Message("I102", InputError, "这是一个文件夹，不是文件", "请给出 .xlsx、.csv 或 .jsonl 文件"),
    Message("I103", InputError, "这是旧版 .xls 格式的工作簿，无法读取",
            "请在 Excel 或 WPS 中打开，“另存为”Excel 工作簿（.xlsx）后再试"),
    Message("I104", InputError, "不认识的文件类型“{suffix}”", "请给出 .xlsx、.csv 或 .jsonl 文件"),
    Message("I105", InputError, "文件是空的", "请从系统中重新导出建议，第一行为表头（至少有“标题”列）"),
    Message("I106", InputError, "无法读取文件（{reason}）", "请检查文件是否被其他程序占用或已损坏"),
    Message("I107", InputError, "没有读取权限", "请确认您有权读取该文件，或把它复制到自己的文件夹再试"),
    Message("I108", InputError, "找不到标题列；表中的列：{found}",
            "请把标题列的表头改为以下之一：{accepted}（或在配置文件的 [intake.columns] 中为 title 加上这个表头）"),
    Message("I109", InputError, "找不到标题字段；文件中的字段：{found}",
            "请把标题字段命名为 title 或以下之一：{accepted}"),
    Message("I110", InputError, "这不是文本格式的 CSV（含有二进制内容）", "请把表格导出为 CSV 或 XLSX"),
    Message("I111", InputError, "不是 UTF-8、GBK 或 GB18030 编码的文本", "请把文件另存为 UTF-8 编码的 CSV"),
    Message("I112", InputError, "{where}不是有效的 {label} 文本（文件混用了多种编码）",
            "请把整个文件用同一种编码另存，最好是 UTF-8"),
    Message("I113", InputError, "不是有效的 CSV（引号或分隔符有误）", "请检查该行的引号"),
    Message("I114", InputError, "不是有效的 JSON（第 {col} 个字符附近有误）", "请修正或删去这一行"),
    Message("I115", InputError, "不是 JSON 对象", "每行写一个对象，如 {{\"标题\": \"……\"}}"),
    Message("I116", InputError, "不是可读取的 .xlsx 工作簿（{reason}）", "请在 Excel 或 WPS 中打开并另存为 .xlsx 再试"),
    Message("I117", InputError, "工作簿已损坏（{reason}）", "请在 Excel 或 WPS 中打开并另存为 .xlsx 再试"),
    Message("I118", InputError, "没有名为“{sheet}”的工作表；工作表有：{sheets}", "请用 --sheet 给出其中之一"),
    Message("I119", InputError, "工作簿中没有可见的工作表", "请用 --sheet 指定工作表"),
    Message("I120", InputError, "工作表“{sheet}”{after}不完整或已损坏（{reason}）",
            "请在 Excel 或 WPS 中打开并另存为 .xlsx 再试"),
    # Output files (O1xx)
    Message("O101", OutputError, "文件夹 {folder} 不存在", "请先建立该文件夹，或{advice}"),
    Message("O102", OutputError, "没有在 {folder} 中写文件的权限", "{advice}"),
    Message("O103", OutputError, "无法在 {folder} 中写文件（{reason}）", "{advice}"),
    Message("O104", OutputError, "写出失败（{reason}）；原有文件（如有）未被改动", "请检查磁盘空间和权限后重试"),
    Message("O105", OutputError, "这是一个文件夹", "请给出文件名，如 {example}"),
    Message("O106", OutputError, "文件已存在", "换一个文件名，或加 --force 覆盖它"),
    # Profiles (P1xx)
    Message("P101", ProfileError, "没有名为“{template}”的配置模板", "请从以下选择：{choices}"),
    Message("P102", ProfileError, "找不到配置文件", "请用 --profile 给出已有的 TOML 配置文件，或在办公室文件夹中运行"),
    Message("P103", ProfileError, "无法读取配置文件（{reason}）", "请检查文件权限"),
    Message("P104", ProfileError, "配置文件不是 UTF-8 编码的文本", "请用 UTF-8 编码另存"),
    Message("P105", ProfileError, "配置文件{at}不是有效的 TOML 语法", "请检查该处的引号、方括号、逗号和等号"),
    Message("P106", ProfileError, "{what} 的一项缺少“{key}”或为空", "请填写非空的文字"),
    Message("P107", ProfileError, "{label}的常见诉求（asks）{problem}", ""),
    Message("P108", ProfileError, "“{name}”应是表的数组（[[{name}]]）", "请按 [[{name}]] 的格式逐项书写"),
    Message("P109", ProfileError, "{what}“{value}”重复", "每个{what}应有自己的{label}"),
    Message("P110", ProfileError, "“{key}”应是 {low} 到 {high} 之间的数，现在是 {value}", "请改为该范围内的数"),
    Message("P111", ProfileError, "配置文件没有定义主题", "请至少加一个 [[topics]] 表"),
    Message("P112", ProfileError, "配置文件没有定义处室（单位）", "请至少加一个 [[divisions]] 表"),
    Message("P113", ProfileError, "规则中的主题“{topic}”不在配置文件中", "请用以下主题键之一：{choices}"),
    Message("P114", ProfileError, "主题“{topic}”的规则中的单位“{key}”不在配置文件中", "请用以下单位键之一：{choices}"),
    Message("P115", ProfileError, "主题“{topic}”的规则重复", "每个主题只写一条规则"),
    Message("P116", ProfileError, "[intake.columns] 中的“{name}”不是可识别的字段", "请用以下字段之一：{choices}"),
    Message("P117", ProfileError, "[intake.columns] 至少要为 title（标题）给一个表头别名", "如 title = [\"标题\", \"建议标题\"]"),
    Message("P118", ProfileError, "renamed 应把旧键对应到新键", "写成 renamed = {{旧键 = \"新键\"}}"),
    Message("P119", ProfileError, "renamed 把“{old}”对应到“{new}”，但“{new}”既不是本配置的主题键，也不是单位键",
            "请改为现有的主题键或单位键"),
]

CATALOGUE: dict[str, Message] = {m.code: m for m in _ENTRIES}


def where(file=None, row=None, column=None) -> str:
    """``文件：第 11 行，“复核”列：`` for what applies; empty when nothing does."""
    parts = []
    if row is not None:
        parts.append(f"第 {row} 行")
    if column is not None:
        parts.append(f"“{column}”列")
    place = "，".join(parts)
    if file is not None:
        return f"{file}：{place}：" if place else f"{file}："
    return f"{place}：" if place else ""


def failure(code: str, /, *, file=None, row=None, column=None, kind: type | None = None, **fields) -> RouterError:
    """The error of catalogue entry ``code``, its text filled with ``fields``; raise what it returns."""
    entry = CATALOGUE[code]
    text = entry.text.format(**fields)
    advice = entry.advice.format(**fields)
    error = (kind or entry.kind)(where(file, row, column) + (f"{text}；{advice}" if advice else text))
    error.code = code
    return error
