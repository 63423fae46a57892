"""The office profile: taxonomy, divisions, rules and intake aliases, read once from TOML.

Why one module of about 570 lines: a profile is read by one pass that checks every value and
names the line of each mistake (the helpers ``_where``/``_line_of`` are shared by all fields);
the dataclasses, the reader and the writer of that one file format change together.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from .errors import OutputError, ProfileError
from .messages import failure

__all__ = [
    "Topic",
    "Division",
    "Profile",
    "load_profile",
    "keeps_seed_topics",
    "default_profile_path",
    "available_templates",
    "template_path",
    "init_profile",
    "PROFILE_ENV",
    "COLUMN_FIELDS",
    "Grade",
    "Tracking",
]

PROFILE_ENV = "ROUTER_PROFILE"

# Intake fields a column can map to; only `title` is required.
COLUMN_FIELDS = (
    "id",
    "title",
    "deputy",
    "body",
    "session",
    "role",
    "lead_unit",
    "co_units",
    "topic",
    "lead_division",
    "co_divisions",
    "grade",
    "key",
)


def field_name(field: str, unit_word: str = "处室") -> str:
    """An intake field as a reader calls it (`router read` shows these, never the internal names)."""
    names = {"id": "建议号", "title": "标题", "deputy": "领衔代表", "body": "建议内容", "session": "届次（年度）",
             "role": "办理类型", "lead_unit": "主办单位（人大交办的）", "co_units": "会办单位（人大交办的）",
             "topic": "主题", "lead_division": f"主办{unit_word}", "co_divisions": f"会办{unit_word}",
             "grade": "答复类别", "key": "重点建议"}
    return names.get(field, field)


@dataclass(frozen=True)
class Topic:
    key: str
    name: str
    description: str = ""
    terms: tuple[str, ...] = ()
    # Short phrases of what deputies typically ask under this topic ("修建通村公路").
    asks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Division:
    key: str
    name: str
    remit: str = ""
    leader: str = ""
    # Short phrases of what deputies typically ask that this division handles ("危桥改造").
    asks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """An office's configuration; every routing decision reads it, none hard-codes it."""

    office_name: str
    topics: tuple[Topic, ...]
    divisions: tuple[Division, ...]
    rules: dict[str, tuple[str, ...]]
    columns: dict[str, tuple[str, ...]]
    deadline_months: int = 3
    threshold: float = 0.5
    margin: float = 0.08
    # The share of routes the office can afford to review ([review] share): when set, the
    # threshold is the one that sends this share to review on the model's own backtest.
    review_share: float | None = None
    co_threshold: float = 0.2
    max_co: int = 2
    prior_strength: float = 40.0
    C: float = 30.0
    max_features: int = 200000
    min_df: int = 1
    memory_max: int = 20000
    correction_weight: float = 5.0
    tracking: "Tracking" = field(default_factory=lambda: Tracking())
    # The office's word for the units it assigns to: 处室 in a department, 单位 or 部门 in a
    # congress office or a government; table headers and messages use it.
    unit_word: str = "处室"
    # Things worth saying about the profile that do not stop it loading (said once per command).
    warnings: tuple[str, ...] = ()
    source: str = ""
    sha256: str = ""
    # Keys renamed since decisions were recorded: {old: new}, from ``renamed = {old = "new"}``.
    renamed: dict = field(default_factory=dict)
    # The day the year's review should be done by ([review] deadline = 2021-03-31), '' when unset;
    # the coordinator's page measures each division's share decided against it.
    review_deadline: str = ""

    @property
    def topic_keys(self) -> list[str]:
        return [t.key for t in self.topics]

    @property
    def division_keys(self) -> list[str]:
        return [d.key for d in self.divisions]

    def topic(self, key: str) -> Topic:
        return next(t for t in self.topics if t.key == key)

    def division(self, key: str) -> Division:
        return next(d for d in self.divisions if d.key == key)

    def current_key(self, key: str | None) -> str | None:
        """A stored topic or division key as this profile names it (following ``renamed``)."""
        return self.renamed.get(key, key) if key is not None else None

    def topic_key(self, label: str) -> str | None:
        """The key of a topic given by key or by Chinese name; None when unknown."""
        label = label.strip()
        for t in self.topics:
            if label in (t.key, t.name):
                return t.key
        return None

    def division_key(self, label: str) -> str | None:
        """The key of a division given by key or by Chinese name; None when unknown."""
        label = label.strip()
        for d in self.divisions:
            if label in (d.key, d.name):
                return d.key
        return None


# What a reply grade says about the ask: met (adopted or solved), being met, or not met now.
OUTCOMES = ("solved", "in_progress", "not_now")


@dataclass(frozen=True)
class Grade:
    """A reply grade (答复类别) such as A1: its code, its group (A/B/C) and what it means."""

    code: str
    group: str
    meaning: str
    outcome: str


DEFAULT_GRADES = (
    Grade("A1", "A", "所提问题已经解决或建议已被采纳", "solved"),
    Grade("A2", "A", "所提问题基本解决或建议部分采纳", "solved"),
    Grade("B", "B", "所提问题正在解决或已列入计划逐步解决", "in_progress"),
    Grade("C1", "C", "因政策或条件限制暂时不能解决，已向代表说明", "not_now"),
    Grade("C2", "C", "留作参考", "not_now"),
)


@dataclass(frozen=True)
class Tracking:
    """Handling after assignment: reply grades, deadlines and the words of each step."""

    grades: tuple[Grade, ...] = DEFAULT_GRADES
    # Days from assignment to contacting the deputy; co-handlers' opinion this many days before the reply is due.
    contact_days: int = 30
    opinion_days_before: int = 15
    # Key suggestions (重点) are replied to within this many months; 0 means the usual deadline.
    key_months: int = 0
    followup_days: int = 30
    contact_methods: tuple[str, ...] = ("见面", "电话", "微信", "走访")
    satisfaction: tuple[str, ...] = ("满意", "基本满意", "不满意")
    satisfied: tuple[str, ...] = ("满意", "基本满意")

    def grade(self, code: str) -> Grade | None:
        code = code.strip().upper()
        return next((g for g in self.grades if g.code.upper() == code), None)


# The one place the settings' defaults are written: the Profile's fields. A profile's TOML
# overrides them; the model takes what the profile gives it (RouterModel.from_profile).
_DEFAULTS = {f.name: f.default for f in fields(Profile)}


def default_profile_path() -> Path:
    return Path(str(resources.files("router") / "resources" / "default_profile.toml"))


def keeps_seed_topics(profile: Profile) -> bool:
    """Whether the profile's topics are the default profile's five seed topics.

    The same set of (key, name) pairs, in any order; descriptions, terms and asks may be the
    office's own (they are its own topic evidence). Such a profile's models take the topic
    distribution of the bundled default model, trained with those topics (see
    :class:`router.seeds.SeedTopics`).
    """
    seed = load_profile()
    return {(t.key, t.name) for t in profile.topics} == {(t.key, t.name) for t in seed.topics}


# Templates an office can start from: the seed office and the departments of a government.
TEMPLATES = {
    "county": "县级：县政府交办给所属部门",
    "city": "市级：市政府交办给所属部门",
    "province": "省级：省政府交办给所属厅局",
    "default": "示例：省扶贫开发办公室交办给内设处室",
}

_INIT_HEADER = """\
# 本文件由 router profile init --template {template} 生成（{about}），请按本单位实际修改：
# 1. [office] name：改为本单位名称。
# 2. [[divisions]]：逐个核对办理单位的名称 name、职责 remit（按“三定”规定）、责任领导 leader、
#    常见诉求 asks；本地没有的单位整段删去，缺少的照同样格式补上；key 是程序用的标识，一般不改。
# 3. [[rules]]：每个主题通常由哪些单位主办，按先后顺序；删去单位后也要从这里删去它的 key。
# 4. [intake.columns]：本单位交办表的表头如与这里不同，把表头名称加到对应的别名里。
# 改完后运行 router --profile 本文件 profile show 检查；还没有往年数据时，
# 用 router --profile 本文件 train --cold 建立模型。

"""


def available_templates() -> dict[str, str]:
    """The templates `init_profile` can copy, each with a one-line Chinese description."""
    return dict(TEMPLATES)


def template_path(template: str) -> Path:
    """The bundled TOML file of a template; ProfileError when there is no such template."""
    if template not in TEMPLATES:
        raise failure("P101", template=template, choices="、".join(TEMPLATES))
    if template == "default":
        return default_profile_path()
    return Path(str(resources.files("router") / "resources" / "templates" / f"{template}.toml"))


def init_profile(template: str, path: str | os.PathLike, *, force: bool = False) -> Profile:
    """Write a template, with a header saying what to edit, to ``path``; return it as loaded.

    An existing file is kept unless ``force``; the file is written atomically, so a failed
    write leaves the old one whole.
    """
    from .table import atomic_path  # table imports this module

    source = template_path(template)
    path = Path(path)
    if path.is_dir():
        raise failure("O105", file=path, example=path / "profile.toml")
    if path.exists() and not force:
        raise failure("O106", file=path)
    text = _INIT_HEADER.format(template=template, about=TEMPLATES[template])
    text += source.read_text(encoding="utf-8")
    with atomic_path(path, advice="换一个文件名") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return load_profile(path)


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _q(value) -> str:
    return f'"{value}"'


def _where(path: Path, text: str, needle: str) -> str:
    line = _line_of(text, needle)
    return f"{path}：第 {line} 行" if line else str(path)


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Read and check a profile; ``None`` means the bundled default (the CLI passes $ROUTER_PROFILE)."""
    path = Path(path) if path else default_profile_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise failure("P102", file=path) from None
    except OSError as exc:
        raise failure("P103", file=path, reason=exc.strerror) from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise failure("P104", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        import re

        at = re.search(r"line (\d+), column (\d+)", str(exc))
        raise failure("P105", file=path, at=f"第 {at.group(1)} 行第 {at.group(2)} 列" if at else "") from None
    return _build(path, text, data, hashlib.sha256(raw).hexdigest())


def _require_str(path: Path, text: str, table: dict, key: str, what: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        needle = f'"{table.get("key", "")}"' if table.get("key") else f"[[{what}]]"
        raise failure("P106", file=_where(path, text, needle), key=key,
                      what={"topics": "[[topics]]（主题）", "divisions": "[[divisions]]（单位）",
                            "tracking.grades": "[[tracking.grades]]（答复类别）"}.get(what, what))
    return value.strip()


def _line_after(text: str, start: int | None, needle: str, skip: int = 0) -> int | None:
    """The number of the line, at or after line ``start``, holding the ``skip``+1-th ``needle``."""
    lines = text.splitlines()
    for number in range(start or 1, len(lines) + 1):
        count = lines[number - 1].count(needle)
        if count > skip:
            return number
        skip -= count
    return None


def _phrases(path: Path, text: str, table: dict, what: str) -> tuple[str, ...]:
    """An optional list of non-empty, distinct strings (``asks``), refused naming file and line."""
    if "asks" not in table:
        return ()
    value = table["asks"]
    entry = table.get("key")
    start = (_line_of(text, f"key = {_q(entry)}") or _line_of(text, _q(entry))) if isinstance(entry, str) else None
    what = {"topic": "主题", "division": "单位"}.get(what, what)
    label = f"{what}“{entry}”" if isinstance(entry, str) else f"一个{what}"

    def refuse(line: int | None, problem: str) -> ProfileError:
        return failure("P107", file=f"{path}：第 {line} 行" if line else path, label=label, problem=problem)

    asks_line = _line_after(text, start, "asks")
    if not isinstance(value, list):
        raise refuse(asks_line, f"应是加引号的短语列表，现在是 {value!r}")
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            raise refuse(asks_line, f"中的 {item!r} 不是加引号的短语；请把每条常见诉求写成字符串")
        if not item.strip():
            raise refuse(asks_line, "中有空短语；请删去或写上诉求")
        if item.strip() in seen:
            raise refuse(
                _line_after(text, asks_line, _q(item), skip=1) or asks_line,
                f"中“{item.strip()}”出现两次；请只保留一个",
            )
        seen.add(item.strip())
    return tuple(item.strip() for item in value)


def _entries(path: Path, text: str, data: dict, name: str) -> list[dict]:
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise failure("P108", file=path, name=name)
    return entries


def _unique(path: Path, text: str, items, what: str) -> None:
    """Keys and names are one namespace (a label is looked up as either); an item's key may equal its name."""
    seen: set[str] = set()
    for item in items:
        for value, label in dict.fromkeys([(item.key, "key"), (item.name, "name")], None):
            if value in seen and not (label == "name" and value == item.key):
                raise failure("P109", file=_where(path, text, _q(value)), what={"topic": "主题", "division": "单位"}.get(what, what),
                              label={"key": "键", "name": "名称"}.get(label, label), value=value)
            seen.add(value)


def _default_columns() -> dict[str, tuple[str, ...]]:
    """The bundled profile's column aliases, for fields a profile leaves out."""
    data = tomllib.loads(default_profile_path().read_text(encoding="utf-8"))
    return {name: tuple(str(a) for a in ([aliases] if isinstance(aliases, str) else aliases))
            for name, aliases in data.get("intake", {}).get("columns", {}).items()}


def _number(path: Path, text: str, table: dict, key: str, default, low, high, kind=float):
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        raise failure("P110", file=_where(path, text, key + " "), key=key, low=low, high=high, value=repr(value))
    return kind(value)


def _build(path: Path, text: str, data: dict, digest: str) -> Profile:
    topics = tuple(
        Topic(
            key=_require_str(path, text, t, "key", "topics"),
            name=_require_str(path, text, t, "name", "topics"),
            description=str(t.get("description", "")),
            terms=tuple(str(x) for x in t.get("terms", [])),
            asks=_phrases(path, text, t, "topic"),
        )
        for t in _entries(path, text, data, "topics")
    )
    divisions = tuple(
        Division(
            key=_require_str(path, text, d, "key", "divisions"),
            name=_require_str(path, text, d, "name", "divisions"),
            remit=str(d.get("remit", "")),
            leader=str(d.get("leader", "")),
            asks=_phrases(path, text, d, "division"),
        )
        for d in _entries(path, text, data, "divisions")
    )
    if not topics:
        raise failure("P111", file=path)
    if not divisions:
        raise failure("P112", file=path)
    _unique(path, text, topics, "topic")
    _unique(path, text, divisions, "division")

    topic_keys = {t.key for t in topics}
    division_keys = {d.key for d in divisions}
    rules: dict[str, tuple[str, ...]] = {}
    for rule in _entries(path, text, data, "rules"):
        topic = rule.get("topic")
        lead = rule.get("lead", [])
        if isinstance(lead, str):
            lead = [lead]
        if topic not in topic_keys:
            raise failure("P113", file=_where(path, text, _q(topic)), topic=topic, choices="、".join(sorted(topic_keys)))
        for key in lead:
            if key not in division_keys:
                raise failure("P114", file=_where(path, text, _q(key)), topic=topic, key=key,
                              choices="、".join(sorted(division_keys)))
        if topic in rules:
            raise failure("P115", file=_where(path, text, _q(topic)), topic=topic)
        rules[topic] = tuple(lead)

    columns = {name: () for name in COLUMN_FIELDS}
    intake = data.get("intake", {}).get("columns", {})
    for name, aliases in intake.items():
        if name not in columns:
            raise failure("P116", file=_where(path, text, name + " ="), name=name, choices="、".join(COLUMN_FIELDS))
        if isinstance(aliases, str):
            aliases = [aliases]
        columns[name] = tuple(str(a) for a in aliases)
    missing = [name for name in columns if name not in intake]
    if missing:
        # A profile without [intake.columns], or without some fields, reads the usual headers;
        # a field the profile lists (even as []) keeps its own list, and a header the profile
        # gives to one field is not claimed for another by a default alias.
        from .intake.reader import header_key  # the intake imports this module

        defaults = _default_columns()
        own = {header_key(a) for name, aliases in intake.items() for a in ([aliases] if isinstance(aliases, str) else aliases)}
        for name in missing:
            columns[name] = tuple(a for a in defaults.get(name, ()) if header_key(a) not in own)
    if not columns["title"]:
        raise failure("P117", file=path)
    warnings = []
    leaderless = [d for d in divisions if not d.leader.strip()]
    if leaderless:
        names = "、".join(d.name for d in leaderless)
        warnings.append(f"{path}：{names} 没有责任领导（leader），交办表中这些{str(data.get('office', {}).get('unit_word', '处室'))}"
                        "的责任领导一栏将空着；在配置文件中补上 leader")

    renamed = data.get("renamed", {})
    if not isinstance(renamed, dict):
        raise failure("P118", file=_where(path, text, "renamed"))
    for old, new in renamed.items():
        if new not in topic_keys and new not in division_keys:
            raise failure("P119", file=_where(path, text, old), old=old, new=new)

    review = data.get("review", {})
    training = data.get("training", {})
    deadline = data.get("deadline", {})
    return Profile(
        office_name=str(data.get("office", {}).get("name", "")),
        topics=topics,
        divisions=divisions,
        rules=rules,
        columns=columns,
        deadline_months=_number(path, text, deadline, "months", _DEFAULTS["deadline_months"], 1, 24, int),
        threshold=_number(path, text, review, "threshold", _DEFAULTS["threshold"], 0.0, 1.0),
        margin=_number(path, text, review, "margin", _DEFAULTS["margin"], 0.0, 1.0),
        review_share=(_number(path, text, review, "share", 0.3, 0.0, 1.0) if "share" in review else None),
        co_threshold=_number(path, text, review, "co_threshold", _DEFAULTS["co_threshold"], 0.0, 1.0),
        max_co=_number(path, text, review, "max_co", _DEFAULTS["max_co"], 0, 10, int),
        prior_strength=_number(path, text, training, "prior_strength", _DEFAULTS["prior_strength"], 0, 1e9),
        C=_number(path, text, training, "C", _DEFAULTS["C"], 1e-6, 1e6),
        max_features=_number(path, text, training, "max_features", _DEFAULTS["max_features"], 100, 1e8, int),
        min_df=_number(path, text, training, "min_df", _DEFAULTS["min_df"], 1, 1e6, int),
        memory_max=_number(path, text, training, "memory_max", _DEFAULTS["memory_max"], 0, 1e7, int),
        correction_weight=_number(path, text, training, "correction_weight", _DEFAULTS["correction_weight"], 1.0, 1000.0),
        tracking=_tracking(path, text, data.get("tracking", {})),
        unit_word=_unit_word(path, text, data.get("office", {})),
        review_deadline=_review_deadline(path, text, review),
        warnings=tuple(warnings),
        source=str(path),
        sha256=digest,
        renamed={str(k): str(v) for k, v in renamed.items()},
    )


def _review_deadline(path: Path, text: str, review: dict) -> str:
    import datetime as _dt

    value = review.get("deadline", "") if isinstance(review, dict) else ""
    if value in ("", None):
        return ""
    try:
        return (value if isinstance(value, _dt.date) else _dt.date.fromisoformat(str(value).strip())).isoformat()[:10]
    except ValueError:
        raise ProfileError(f"{_where(path, text, 'deadline')}：[review] deadline 应为日期，如 2021-03-31，"
                           f"现为 {value!r}") from None


def _unit_word(path: Path, text: str, office) -> str:
    value = office.get("unit_word", "处室") if isinstance(office, dict) else "处室"
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 6:
        raise ProfileError(f"{_where(path, text, 'unit_word')}：[office] unit_word 应为一个短词，如 处室、单位、部门")
    return value.strip()


def profile_as_text(profile: Profile) -> str:
    """A readable summary in Chinese for `router profile show`."""
    lines = [f"机构：{profile.office_name}", f"配置文件：{profile.source}", "", "主题："]
    for t in profile.topics:
        lines.append(f"  {t.key}\t{t.name}\t{t.description}")
        if t.asks:
            lines.append(f"    常见诉求：{'、'.join(t.asks)}")
    lines += ["", "处室："]
    for d in profile.divisions:
        lines.append(f"  {d.key}\t{d.name}\t责任领导：{d.leader}\t职责：{d.remit}")
        if d.asks:
            lines.append(f"    常见诉求：{'、'.join(d.asks)}")
    lines += ["", "主题→主办处室规则："]
    for topic, leads in profile.rules.items():
        names = "、".join(profile.division(k).name for k in leads)
        lines.append(f"  {profile.topic(topic).name} → {names}")
    lines += [
        "",
        f"办理时限：交办之日起{profile.deadline_months}个月",
        f"复核阈值：{profile.threshold}（次选差距小于{profile.margin}也需复核）"
        + (f"；按复核比例 {profile.review_share:.0%} 由模型回测选定阈值" if profile.review_share is not None else ""),
        f"会办处室：概率不低于{profile.co_threshold}，最多{profile.max_co}个",
        "",
        "表头别名：",
    ]
    for name, aliases in profile.columns.items():
        if aliases:
            lines.append(f"  {name}: {'、'.join(aliases)}")
    tracking = profile.tracking
    key = f"{tracking.key_months}个月" if tracking.key_months else "与一般建议相同"
    lines += ["", "办理跟踪：",
              f"  联系代表：交办后{tracking.contact_days}天内（方式：{'、'.join(tracking.contact_methods)}）",
              f"  会办意见：答复期限前{tracking.opinion_days_before}天送主办单位",
              f"  重点建议答复时限：{key}",
              f"  回访：答复后{tracking.followup_days}天内（{'、'.join(tracking.satisfaction)}；"
              f"计入满意率：{'、'.join(tracking.satisfied)}）",
              "  答复类别："]
    for g in tracking.grades:
        lines.append(f"    {g.code}（{g.group}类）{g.meaning}")
    return "\n".join(lines)


def _tracking(path: Path, text: str, table) -> Tracking:
    """The [tracking] section; every key is optional, so older profiles load unchanged."""
    if not isinstance(table, dict):
        raise ProfileError(f"{path}: [tracking] 应为一个表（[tracking]）")
    base = Tracking()

    def words(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = table.get(key, list(default))
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ProfileError(f"{_where(path, text, key + ' ')}：[tracking] 的 '{key}' 应为非空的字符串列表")
        return tuple(v.strip() for v in value)

    grades = base.grades
    if "grades" in table:
        entries = table["grades"]
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise ProfileError(f"{path}：[[tracking.grades]] 应至少有一项，每项含 code、group、meaning、outcome")
        grades = []
        for entry in entries:
            code = _require_str(path, text, entry, "code", "tracking.grades")
            outcome = entry.get("outcome", "")
            if outcome not in OUTCOMES:
                raise ProfileError(
                    f"{_where(path, text, _q(code))}：答复类别 '{code}' 的 outcome 应为 {'、'.join(OUTCOMES)} 之一"
                    "（solved 已解决或采纳，in_progress 正在解决，not_now 暂不能解决）")
            if any(g.code.upper() == code.upper() for g in grades):
                raise ProfileError(f"{_where(path, text, _q(code))}：答复类别 '{code}' 重复")
            grades.append(Grade(code, str(entry.get("group") or code[0]), str(entry.get("meaning", "")), outcome))
        grades = tuple(grades)
    satisfaction = words("satisfaction", base.satisfaction)
    satisfied = words("satisfied", base.satisfied)
    unknown = [s for s in satisfied if s not in satisfaction]
    if unknown:
        raise ProfileError(f"{_where(path, text, 'satisfied ')}：satisfied 中的 '{unknown[0]}' 不在 satisfaction 中")
    return Tracking(
        grades=grades,
        contact_days=_number(path, text, table, "contact_days", base.contact_days, 1, 366, int),
        opinion_days_before=_number(path, text, table, "opinion_days_before", base.opinion_days_before, 0, 180, int),
        key_months=_number(path, text, table, "key_months", base.key_months, 0, 24, int),
        followup_days=_number(path, text, table, "followup_days", base.followup_days, 1, 366, int),
        contact_methods=words("contact_methods", base.contact_methods),
        satisfaction=satisfaction,
        satisfied=satisfied,
    )
