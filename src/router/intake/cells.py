"""What a cell shows: Excel's number and date formats applied to a stored value, as the user saw it."""

from __future__ import annotations

import datetime as dt
import decimal
import re

from .reader import _cell_text

EXCEL_DIGITS = 15
_FORMAT_SKIP = re.compile(r"\[[^\]]*\]|_.|\*.")
_DATE_TOKEN = re.compile(r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|上午/下午|.', re.I)
_DATE_FIELDS = {"yyyy", "yy", "mmmm", "mmm", "mm", "m", "dddd", "ddd", "dd", "d", "hh", "h", "ss", "s"}
_NUMBER_PART = re.compile(r"[0#?][0#?,]*(?:\.[0#?]+)?%?|\.[0#?]+%?")
# Excel's built-in short date shows as the system's date; on a Chinese system: 2021/1/1.
_LOCAL_DATES = {"mm-dd-yy": "yyyy/m/d", "m/d/yy h:mm": "yyyy/m/d h:mm", "d-mmm-yy": "yyyy/m/d",
                "d-mmm": "m月d日", "mmm-yy": "yyyy年m月"}


def _shown(cell) -> tuple[object, str]:
    """A cell's value as Excel or WPS show it (its number format applied), and a problem, if any.

    An id formatted 000 shows as 007, not 7; a date as 2021/1/1, not 2021-01-01T00:00:00; a
    number is never a float's repr.
    """
    value = getattr(cell, "value", None)
    if value is None or isinstance(value, (str, bool)):
        return value, ""
    fmt = getattr(cell, "number_format", None) or "General"
    try:
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return _format_date(value, fmt), ""
        if isinstance(value, (int, float)):
            return _format_number(value, fmt)
    except (ValueError, OverflowError):
        pass
    return _cell_text(value), ""


def _format_number(value, fmt: str) -> tuple[str, str]:
    problem = ""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 10 ** EXCEL_DIGITS:
        value = int(decimal.Decimal(f"{value:.{EXCEL_DIGITS}g}"))
        problem = (f"是一个超过 {EXCEL_DIGITS} 位的数字，Excel 只保存 {EXCEL_DIGITS} 位有效数字，末尾几位已经丢失"
                   f"（读作 {value}）；请在导出系统中把该列设为文本后重新导出")
    section = fmt.split(";")[0] if not (value < 0 and ";" in fmt) else fmt.split(";")[1]
    section = _FORMAT_SKIP.sub("", section)
    if section.strip().lower() in ("general", "", "@"):
        return _general(value), problem
    match = _NUMBER_PART.search(section.replace('"', "\x00"))
    if not match:
        return _general(value), problem
    part = match.group(0)
    literal = lambda text: re.sub(r'"([^"]*)"|\\(.)', lambda m: m.group(1) or m.group(2) or "", text)  # noqa: E731
    number = abs(value) if ";" in fmt and value < 0 else value
    if part.endswith("%"):
        number, part = number * 100, part[:-1]
    integer, _, decimals = part.partition(".")
    places = len(decimals)
    if isinstance(number, int) and not places:  # exact: an int through a float format loses digits
        text = f"{number:,}" if "," in integer else str(number)
    else:
        text = f"{number:,.{places}f}" if "," in integer else f"{number:.{places}f}"
    width = integer.count("0")
    if width > 1:
        sign = "-" if text.startswith("-") else ""
        whole, dot, fraction = text.lstrip("-").partition(".")
        text = sign + whole.zfill(width) + dot + fraction
    if match.group(0).endswith("%"):
        text += "%"
    return literal(section[: match.start()]) + text + literal(section[match.end():]), problem


def _general(value) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.{EXCEL_DIGITS}g}"


def _format_date(value, fmt: str) -> str:
    section = _FORMAT_SKIP.sub("", fmt.split(";")[0]).strip()
    section = _LOCAL_DATES.get(section.lower(), section)
    if section.lower() in ("general", "", "@"):
        section = "yyyy/m/d" if not isinstance(value, dt.time) else "h:mm:ss"
        if isinstance(value, dt.datetime) and value.time() != dt.time(0):
            section += " h:mm:ss"
    tokens = _DATE_TOKEN.findall(section)
    fields = [i for i, t in enumerate(tokens) if t.lower() in _DATE_FIELDS]

    def is_minute(i: int) -> bool:
        """m or mm right after an hour or right before seconds is minutes, as in Excel."""
        before = [tokens[j].lower() for j in fields if j < i][-1:]
        after = [tokens[j].lower() for j in fields if j > i][:1]
        return before in (["h"], ["hh"]) or after in (["s"], ["ss"])

    out = []
    for i, token in enumerate(tokens):
        low = token.lower()
        if token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        elif low in ("yyyy", "yy") and hasattr(value, "year"):
            out.append(f"{value.year:04d}" if low == "yyyy" else f"{value.year % 100:02d}")
        elif low in ("mm", "m") and is_minute(i) and hasattr(value, "minute"):
            out.append(f"{value.minute:02d}" if low == "mm" else str(value.minute))
        elif low in ("mmmm", "mmm", "mm", "m") and hasattr(value, "month"):
            out.append(f"{value.month:02d}" if low == "mm" else f"{value.month}" if low == "m" else f"{value.month}月")
        elif low in ("dddd", "ddd") and hasattr(value, "weekday"):
            out.append("星期" + "一二三四五六日"[value.weekday()])
        elif low in ("dd", "d") and hasattr(value, "day"):
            out.append(f"{value.day:02d}" if low == "dd" else str(value.day))
        elif low in ("hh", "h") and hasattr(value, "hour"):
            out.append(f"{value.hour:02d}" if low == "hh" else str(value.hour))
        elif low in ("ss", "s") and hasattr(value, "second"):
            out.append(f"{value.second:02d}" if low == "ss" else str(value.second))
        elif low in ("am/pm", "上午/下午") and hasattr(value, "hour"):
            out.append("上午" if value.hour < 12 else "下午")
        elif low not in _DATE_FIELDS:
            out.append(token)
    return "".join(out)

