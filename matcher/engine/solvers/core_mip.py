"""A max-weight schedule with every rule exact, solved by CP-SAT in integers: the Lagrangian bound's core.

One Boolean per pair; a seat row for each demand that keeps one (the core's
contested demands; the others' seats were priced out by the caller), and for
each volunteer its task cap, its hour cap in microseconds and one
``AtMostOne`` per maximal clique of its intervals. The objective
``max sum(weight · x)`` has integer weights, so the model is a pure integer
program and CP-SAT's ``best_objective_bound`` is an integer-valued proof: no
feasible schedule is worth more. Source: OR-Tools CP-SAT documentation
(``CpSolver.best_objective_bound``; ``linearization_level = 2`` adds the LP
relaxation's cuts, which this max-weight model needs to close quickly).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.engine.intervals import max_clique_rows
from matcher.engine.types import I64, B

__all__ = ["CoreInput", "CoreResult", "solve_core"]


@dataclass(frozen=True, eq=False)
class CoreInput:
    """Pairs (sorted by volunteer, then start) with integer weights; capacities indexed by global row."""

    pair_v: I64
    pair_d: I64
    pair_weight: I64
    pair_start: I64
    """Microseconds (or any order-keeping integer time)."""
    pair_end: I64
    vol_tasks: I64
    vol_hours: I64
    """Hours left, microseconds."""
    dem_seats: I64
    seat_row: B
    """Demands (global rows) whose seat row the core keeps."""


@dataclass(frozen=True, eq=False)
class CoreResult:
    """The best schedule found (bool per pair), its value and CP-SAT's proven upper bound."""

    chosen: B
    value: int
    bound: int
    optimal: bool
    seconds: float
    wall_capped: bool


def solve_core(inp: CoreInput, det_budget: float, wall_s: float, seed: int = 0, workers: int = 1) -> CoreResult:
    """Solve the core within a deterministic budget (``det_budget`` CP-SAT units) and a wall cap (``wall_s``).

    The bound holds whether or not the search finished. With no pairs the value and bound are 0.
    """
    t0 = time.perf_counter()
    n = len(inp.pair_v)
    if n == 0:
        return CoreResult(np.zeros(0, dtype=bool), 0, 0, True, 0.0, False)
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(n)]
    d_order = np.argsort(inp.pair_d, kind="stable")
    d_sorted = inp.pair_d[d_order]
    cuts = np.flatnonzero(np.diff(d_sorted)) + 1
    for grp in np.split(d_order, cuts):
        dem = int(inp.pair_d[grp[0]])
        if inp.seat_row[dem] and len(grp) > inp.dem_seats[dem]:
            model.add(sum(x[i] for i in grp.tolist()) <= int(inp.dem_seats[dem]))
    v_cuts = np.flatnonzero(np.diff(inp.pair_v)) + 1
    for grp in np.split(np.arange(n), v_cuts):
        vol = int(inp.pair_v[grp[0]])
        if len(grp) > inp.vol_tasks[vol]:
            model.add(sum(x[i] for i in grp.tolist()) <= int(inp.vol_tasks[vol]))
        dur = inp.pair_end[grp] - inp.pair_start[grp]
        if int(dur.sum()) > int(inp.vol_hours[vol]):
            model.add(cp_model.LinearExpr.weighted_sum([x[i] for i in grp.tolist()], dur.tolist())
                      <= int(inp.vol_hours[vol]))
    rows, members, _ = max_clique_rows(inp.pair_v, inp.pair_start, inp.pair_end)
    if len(rows):
        by_row = np.lexsort((members, rows))
        for clique in np.split(members[by_row], np.flatnonzero(np.diff(rows[by_row])) + 1):
            model.add_at_most_one(x[i] for i in clique.tolist())
    model.proto.objective.vars.extend(range(n))
    model.proto.objective.coeffs.extend((-inp.pair_weight).tolist())
    model.proto.objective.scaling_factor = -1.0  # maximise
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = workers
    solver.parameters.interleave_search = workers > 1
    solver.parameters.linearization_level = 2
    solver.parameters.max_deterministic_time = max(0.05, det_budget)
    solver.parameters.max_time_in_seconds = max(0.05, wall_s - (time.perf_counter() - t0))
    status = solver.solve(model)
    top = int(inp.pair_weight[inp.pair_weight > 0].sum())
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = np.fromiter(solver.response_proto.solution, dtype=np.int64)[:n] > 0
    else:
        chosen = np.zeros(n, dtype=bool)
    value = int(inp.pair_weight[chosen].sum())
    # the bound holds whether or not the search finished; with an integer objective it is integral (the floor
    # only guards the float it travels in)
    raw = float(solver.best_objective_bound)
    # (with no solution CP-SAT's bound may not have been computed at all: then only the trivial bound stands)
    known = status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and np.isfinite(raw)
    bound = min(top, int(np.floor(raw))) if known else top
    capped = status != cp_model.OPTIMAL and solver.wall_time >= 0.98 * solver.parameters.max_time_in_seconds
    return CoreResult(chosen, value, max(bound, value), status == cp_model.OPTIMAL, time.perf_counter() - t0,
                      bool(capped))
