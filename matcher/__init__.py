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
    PairForbidden,
    Problem,
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
from matcher.workflows import (
    CaseResult,
    RunResult,
    Scenario,
    comparison_table,
    format_comparison,
    load_scenario,
    publish_scenario,
    run_batch,
    run_scenario,
    solution_frames,
)

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
    "problem_from_frames",
    "problem_from_tables",
    "publish_scenario",
    "read_tables",
    "recommend",
    "repair",
    "run_batch",
    "run_scenario",
    "solution_frames",
    "solve",
    "write_json_atomic",
    "write_tables",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
