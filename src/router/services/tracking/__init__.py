"""Handling after assignment: recording each step, what is due, and the year-end figures.

Each suggestion, once assigned (已交办), goes through 已联系代表 (how and when the deputy was
contacted), 已会商 (a co-handler's opinion sent to the lead unit), 已答复 (the reply: date,
grade from the profile's set, text or file reference) and 已回访 (the deputy's satisfaction).
The steps are data (:mod:`.steps`): one :class:`Step` entry each, read by the records, the table
import, `router due`, the report and the CLI. A division may hand a suggestion to another one
during handling (已转办); that correction of the route is also recorded as a decision (修改,
origin 'tracking', by the rules of router.services.review), so the next model learns it.

Records are appended to the store's ``handling`` table and never changed; the latest record of
a step is the one that counts, so a correction is a new record. The CLI (`router track`,
`router due`, `router report`) and the web page call the functions here; nothing here imports
click or reads the environment.
"""

from ...table import TRACKING_HEADERS
from .importing import Conflict, ImportResult, import_table
from .records import (ASSIGNED, CONSULTED, CONTACTED, MISSING, REPLIED, ROLES, STEPS, TRANSFERRED, VISITED,
                      Handling, Record, assigned_years, describe, find_suggestion, handling_of, handlings_of_year,
                      parse_day, record_event, tracking_year)
from .steps import STEP, STEP_SPECS, Field, Step
from .supervision import DueStep, OpenItem, YearEnd, division_summary, due_steps, year_end

__all__ = [
    "STEP_SPECS", "STEP", "Step", "Field",
    "STEPS", "ASSIGNED", "TRANSFERRED", "CONTACTED", "CONSULTED", "REPLIED", "VISITED", "ROLES", "MISSING",
    "TRACKING_HEADERS", "Record", "Handling", "DueStep", "OpenItem", "YearEnd", "ImportResult", "Conflict",
    "parse_day", "describe", "find_suggestion", "assigned_years", "handling_of", "handlings_of_year",
    "tracking_year", "record_event", "import_table", "due_steps", "division_summary", "year_end",
]
