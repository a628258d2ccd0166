"""matcher: volunteer-task matching optimisation (SPEC.md contract, OR-Tools engine).

The public surface is listed in ``__all__``; the layers behind it (``model``,
``io``, ``engine``, ``dispatch``, ``workflows``, ``cli``) are described in the
README's architecture section.
"""

from __future__ import annotations

import logging

import matcher.cli.clock  # first: the command line's time limit counts matcher's own import time  # noqa: F401
from matcher.dispatch import (
    DemandExplanation,
    Dispatcher,
    Exclusion,
    Recommendation,
    VolunteerExplanation,
    apply_changes,
    explain_demand,
    explain_volunteer,
    recommend,
    repair,
)
from matcher.engine import check_plan, greedy_dispatch, solve
from matcher.errors import MatcherError, PinnedError, ProblemError, ResourceLimitError
from matcher.generate import PRESETS, generate_problem, generate_tables
from matcher.io import (
    load_options,
    load_problem,
    problem_from_frames,
    problem_from_tables,
    read_tables,
    write_json_atomic,
    write_tables,
)
from matcher.io.ledger_store import LedgerState, open_ledger
from matcher.model import (
    Area,
    Assignment,
    AssignmentOut,
    AssignmentPinned,
    Change,
    Demand,
    DemandAdded,
    DemandChanged,
    DemandWithdrawn,
    LedgerSettings,
    PairForbidden,
    Problem,
    ServiceRecord,
    Solution,
    SolveOptions,
    SolveStats,
    Status,
    Taxonomy,
    Unmet,
    UnmetReason,
    Volunteer,
    VolunteerUnavailable,
    Window,
    builtin_taxonomy,
)
from matcher.model.ledger import STAR_HOURS
from matcher.workflows import (
    CaseResult,
    RateResult,
    RunResult,
    Scenario,
    comparison_table,
    format_comparison,
    load_scenario,
    problem_with_ledger,
    publish_scenario,
    record_services,
    run_batch,
    run_scenario,
    solution_frames,
    star_level,
)

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "STAR_HOURS",
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
    "LedgerSettings",
    "LedgerState",
    "MatcherError",
    "PairForbidden",
    "PinnedError",
    "Problem",
    "ProblemError",
    "RateResult",
    "Recommendation",
    "ResourceLimitError",
    "RunResult",
    "Scenario",
    "ServiceRecord",
    "Solution",
    "SolveOptions",
    "SolveStats",
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
    "check_plan",
    "comparison_table",
    "explain_demand",
    "explain_volunteer",
    "format_comparison",
    "generate_problem",
    "generate_tables",
    "greedy_dispatch",
    "load_options",
    "load_problem",
    "load_scenario",
    "open_ledger",
    "problem_from_frames",
    "problem_from_tables",
    "problem_with_ledger",
    "publish_scenario",
    "read_tables",
    "recommend",
    "record_services",
    "repair",
    "run_batch",
    "run_scenario",
    "solution_frames",
    "solve",
    "star_level",
    "write_json_atomic",
    "write_tables",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
