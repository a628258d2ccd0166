"""matcher: volunteer-task matching optimisation (SPEC.md contract, OR-Tools engine).

The public surface is listed in ``__all__``; everything else is private.
"""

from __future__ import annotations

import logging

from matcher.baseline import greedy_dispatch
from matcher.errors import MatcherError, PinnedError, ProblemError
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
from matcher.solve import solve
from matcher.tables import problem_from_tables, read_tables, write_tables
from matcher.taxonomy import builtin_taxonomy

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Area",
    "Assignment",
    "AssignmentOut",
    "Demand",
    "MatcherError",
    "PinnedError",
    "Problem",
    "ProblemError",
    "Solution",
    "SolveOptions",
    "Status",
    "Taxonomy",
    "Unmet",
    "UnmetReason",
    "Volunteer",
    "Window",
    "builtin_taxonomy",
    "generate_problem",
    "generate_tables",
    "greedy_dispatch",
    "load_problem",
    "problem_from_tables",
    "read_tables",
    "solve",
    "write_json_atomic",
    "write_tables",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
