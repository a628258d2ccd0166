"""matcher: volunteer-task matching optimisation (SPEC.md contract, OR-Tools engine).

The public surface is listed in ``__all__``; everything else is private.
"""

from __future__ import annotations

import time as _time

_IMPORT_STARTED = _time.perf_counter()  # the command line's time limit counts from here at the latest

import logging

from matcher.baseline import greedy_dispatch
from matcher.batch import RunResult, run_batch
from matcher.compare import CaseResult, comparison_table, format_comparison, publish_scenario, run_scenario
from matcher.dispatch import Dispatcher
from matcher.errors import MatcherError, PinnedError, ProblemError, ResourceLimitError
from matcher.explain import DemandExplanation, Exclusion, VolunteerExplanation, explain_demand, explain_volunteer
from matcher.generate import PRESETS, generate_problem, generate_tables
from matcher.io import load_problem, write_json_atomic
from matcher.model import (
    Area,
    Assignment,
    AssignmentOut,
    Demand,
    Problem,
    Solution,
    SolveOptions,
    Status,
    Taxonomy,
    Unmet,
    UnmetReason,
    Volunteer,
    Window,
)
from matcher.recommend import Recommendation, recommend
from matcher.repair import (
    AssignmentPinned,
    Change,
    DemandAdded,
    DemandChanged,
    DemandWithdrawn,
    PairForbidden,
    VolunteerUnavailable,
    apply_changes,
    repair,
)
from matcher.scenario import Scenario, load_scenario
from matcher.solve import solve
from matcher.tables import problem_from_tables, read_tables, write_tables
from matcher.taxonomy import builtin_taxonomy

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Area",
    "Assignment",
    "AssignmentOut",
    "AssignmentPinned",
    "CaseResult",
    "Change",
    "Demand",
    "DemandAdded",
    "DemandChanged",
    "DemandExplanation",
    "DemandWithdrawn",
    "Dispatcher",
    "Exclusion",
    "MatcherError",
    "PairForbidden",
    "PinnedError",
    "Problem",
    "ProblemError",
    "Recommendation",
    "ResourceLimitError",
    "RunResult",
    "Scenario",
    "Solution",
    "SolveOptions",
    "Status",
    "Taxonomy",
    "Unmet",
    "UnmetReason",
    "Volunteer",
    "VolunteerExplanation",
    "VolunteerUnavailable",
    "Window",
    "apply_changes",
    "builtin_taxonomy",
    "comparison_table",
    "explain_demand",
    "explain_volunteer",
    "format_comparison",
    "generate_problem",
    "generate_tables",
    "greedy_dispatch",
    "load_problem",
    "load_scenario",
    "problem_from_tables",
    "publish_scenario",
    "read_tables",
    "recommend",
    "repair",
    "run_batch",
    "run_scenario",
    "solve",
    "write_json_atomic",
    "write_tables",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
