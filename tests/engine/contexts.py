"""A problem's solve context as the engine's tiers get it, for tests that call a tier directly."""

from __future__ import annotations

from matcher import Problem, SolveOptions
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.context import Clock, SolveContext


def solve_context(p: Problem) -> SolveContext:
    """The context of ``p`` with a 20 s limit: its arrays, candidate pairs and residual."""
    arr = build_arrays(p)
    return SolveContext.build(arr, candidate_pairs(arr), SolveOptions(time_limit_s=20), Clock())
