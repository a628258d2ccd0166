"""The data contract of SPEC.md as frozen pydantic models: pure data, no file reading, no solver.

- :mod:`~matcher.model.records`: windows, areas, volunteers, demands, assignments;
- :mod:`~matcher.model.taxonomy`: categories, subcategories and skill codes;
- :mod:`~matcher.model.options`: :class:`SolveOptions`;
- :mod:`~matcher.model.problem`: :class:`Problem` and its cross-record checks;
- :mod:`~matcher.model.solution`: :class:`Solution` with typed statistics;
- :mod:`~matcher.model.changes`: the changes a dispatch service applies during the day;
- :mod:`~matcher.model.ledger`: the time-bank ledger's records, settings and star levels (评单);
- :mod:`~matcher.model.validation`: error lines naming record and field;
- :mod:`~matcher.model.values`: strict value types (a number is never a time, ``true`` never 1).
"""

from matcher.model.changes import (
    AssignmentPinned,
    Change,
    DemandAdded,
    DemandChanged,
    DemandWithdrawn,
    PairForbidden,
    VolunteerUnavailable,
    parse_changes,
)
from matcher.model.ledger import STAR_HOURS, LedgerSettings, ServiceRecord, ServiceUpdate, merged
from matcher.model.options import DEFAULT_PRIORITY_WEIGHTS, SolveOptions
from matcher.model.problem import Problem
from matcher.model.records import (
    MAX_TEXT,
    Area,
    Assignment,
    Demand,
    Edge,
    Node,
    Rating,
    RoadNetwork,
    Travel,
    Volunteer,
    Window,
)
from matcher.model.solution import (
    AssignmentOut,
    LagrangianStats,
    LpStats,
    RegionStats,
    RepairStats,
    SiftingStats,
    Solution,
    SolveStats,
    Status,
    SubSolveStats,
    Unmet,
    UnmetReason,
)
from matcher.model.taxonomy import Taxonomy, builtin_taxonomy, resolve_taxonomy
from matcher.model.validation import Locator, format_validation_error, json_locator, shown_id
from matcher.model.values import Count, Flag, Real, Time, localize_naive, parse_time, zone

__all__ = [
    "DEFAULT_PRIORITY_WEIGHTS",
    "MAX_TEXT",
    "STAR_HOURS",
    "Area",
    "Assignment",
    "AssignmentOut",
    "AssignmentPinned",
    "Change",
    "Count",
    "Demand",
    "DemandAdded",
    "DemandChanged",
    "DemandWithdrawn",
    "Edge",
    "Flag",
    "LagrangianStats",
    "LedgerSettings",
    "Locator",
    "LpStats",
    "Node",
    "PairForbidden",
    "Problem",
    "Rating",
    "Real",
    "RegionStats",
    "RepairStats",
    "RoadNetwork",
    "ServiceRecord",
    "ServiceUpdate",
    "SiftingStats",
    "Solution",
    "SolveOptions",
    "SolveStats",
    "Status",
    "SubSolveStats",
    "Taxonomy",
    "Time",
    "Travel",
    "Unmet",
    "UnmetReason",
    "Volunteer",
    "VolunteerUnavailable",
    "Window",
    "builtin_taxonomy",
    "format_validation_error",
    "json_locator",
    "localize_naive",
    "merged",
    "parse_changes",
    "parse_time",
    "resolve_taxonomy",
    "shown_id",
    "zone",
]
