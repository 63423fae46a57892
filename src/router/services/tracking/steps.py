"""The steps of handling as data: one entry per step, read by records, import, `due`, the report and the CLI.

Each :class:`Step` names the step, the word the terminal takes (`router track ID 答复 …`), its
date column, its fields (each with the assignment table's column that holds it, how a cell is
read and shown, and whether the terminal takes it as an option), which columns mean the row
fills the step, and what is missing when the step is owed and not done (the 督办 wording).
Adding a step is one entry here, plus its checks in :func:`router.services.tracking.records._check`
(keyed by the step's name) and the migration that lets the ``handling`` table hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Field", "Step", "STEP_SPECS", "STEP", "STEPS", "DATE_COLUMN", "MISSING", "TERMINAL_NAMES"]


@dataclass(frozen=True)
class Field:
    """One detail of a step's record.

    ``kind`` says how a table cell is read and shown: "text" (as written; "" when empty),
    "flag" (是/否), "division" (a division's name, stored as its key), "count" (a whole number,
    None when empty), "derived" (not in the table: filled from the route or the handling).
    ``option`` is True when the terminal takes it (`--how`, `--grade` …: the field's name).
    ``default`` is what a record keeps when the field is not given.
    """

    name: str
    column: str | None = None
    kind: str = "text"
    option: bool = True
    default: object = None


@dataclass(frozen=True)
class Step:
    name: str
    word: str
    date_column: str
    fields: tuple[Field, ...]
    filled_by: tuple[str, ...]
    missing: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The assignment table's columns this step reads: its date column (when the table has one), then its fields'."""
        from ...table import TRACKING_HEADERS

        own = [self.date_column] if self.date_column in TRACKING_HEADERS else []
        return tuple(own + [f.column for f in self.fields if f.column])

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


STEP_SPECS: tuple[Step, ...] = (
    Step("已交办", "交办", "交办日期",
         (Field("role", "办理类型"), Field("key", "重点", "flag"), Field("topic", kind="derived", option=False),
          Field("division", kind="derived"), Field("co_divisions", kind="derived", option=False)),
         filled_by=("交办日期",)),
    Step("已转办", "转办", "转办日期",
         (Field("division", "转办处室", "division"), Field("from", kind="derived", option=False, default=""), Field("comment", default="")),
         filled_by=("转办处室",)),
    Step("已联系代表", "联系", "联系日期", (Field("how", "联系方式"), Field("note", default="")),
         filled_by=("联系日期", "联系方式"), missing="未联系代表"),
    Step("已会商", "会商", "会商日期", (Field("note", default=""),), filled_by=("会商日期",), missing="未送会办意见"),
    Step("已答复", "答复", "答复日期",
         (Field("grade", "答复类别"), Field("text", "答复内容或文号", default=""), Field("asks", "建议条数", "count"),
          Field("adopted", "采纳条数", "count")),
         filled_by=("答复日期", "答复类别"), missing="未答复"),
    Step("已回访", "回访", "回访日期", (Field("satisfaction", "满意度"), Field("comment", "回访意见", default="")),
         filled_by=("满意度",), missing="未回访"),
)

STEP = {s.name: s for s in STEP_SPECS}
STEPS = tuple(s.name for s in STEP_SPECS)
DATE_COLUMN = {s.name: s.date_column for s in STEP_SPECS}
MISSING = {s.name: s.missing for s in STEP_SPECS if s.missing}
# The terminal's words for the steps (`router track ID 答复 …`); the full names are accepted too.
TERMINAL_NAMES = {s.word: s.name for s in STEP_SPECS}
