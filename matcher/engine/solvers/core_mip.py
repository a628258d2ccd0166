"""A max-weight schedule with every rule exact, solved by CP-SAT in integers: the Lagrangian bound's core.

One Boolean per pair; a seat row for each demand that keeps one (the core's
contested demands; the others' seats were priced out by the caller), and for
each volunteer its task cap, its hour cap in microseconds and one
``AtMostOne`` per maximal clique of its intervals and per pair of its tasks
too close for the trip between them (rule 7b, when given). The objective
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

__all__ = ["CoreCrews", "CoreInput", "CoreResult", "solve_core"]


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
    clashes: tuple[I64, I64] | None = None
    """Pairs ``(i, j)`` of the core's pairs (index arrays) that one volunteer cannot both take besides overlapping
    ones (SPEC rule 7b): one row ``x_i + x_j <= 1`` each."""
    crews: CoreCrews | None = None
    """Crews (SPEC rule 11) stated in the core, with their ``y``."""


@dataclass(frozen=True, eq=False)
class CoreCrews:
    """Crews (SPEC rule 11) the core states with a Boolean ``y`` each ("staffed"), arrays of one length (int64).

    Each core pair into ``demand[c]`` needs ``y_c`` (``x <= y``); with ``need[c] > 0``, ``sum x >= need[c] · y_c``
    over the core's pairs into it; ``y_c`` adds ``gain[c]`` (any sign) to the objective.
    """

    demand: I64
    need: I64
    gain: I64


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
    if inp.clashes is not None:
        for i, j in zip(inp.clashes[0].tolist(), inp.clashes[1].tolist()):
            model.add_at_most_one(x[i], x[j])
    model.proto.objective.vars.extend(range(n))
    model.proto.objective.coeffs.extend((-inp.pair_weight).tolist())
    top = int(inp.pair_weight[inp.pair_weight > 0].sum())
    if inp.crews is not None and len(inp.crews.demand):
        top += _add_crews(model, x, inp.pair_d, inp.crews)
    model.proto.objective.scaling_factor = -1.0  # maximise
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = workers
    solver.parameters.interleave_search = workers > 1
    solver.parameters.linearization_level = 2
    solver.parameters.max_deterministic_time = max(0.05, det_budget)
    solver.parameters.max_time_in_seconds = max(0.05, wall_s - (time.perf_counter() - t0))
    status = solver.solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = np.fromiter(solver.response_proto.solution, dtype=np.int64)
        chosen = values[:n] > 0
        staffed = values[n : n + len(inp.crews.demand)] > 0 if inp.crews is not None else np.zeros(0, dtype=bool)
    else:
        chosen, staffed = np.zeros(n, dtype=bool), np.zeros(0, dtype=bool)
    value = int(inp.pair_weight[chosen].sum())
    if inp.crews is not None and len(staffed):
        value += int(inp.crews.gain[staffed].sum())
    # the bound holds whether or not the search finished; with an integer objective it is integral (the floor
    # only guards the float it travels in)
    raw = float(solver.best_objective_bound)
    # (with no solution CP-SAT's bound may not have been computed at all: then only the trivial bound stands)
    known = status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and np.isfinite(raw)
    bound = min(top, int(np.floor(raw))) if known else top
    capped = status != cp_model.OPTIMAL and solver.wall_time >= 0.98 * solver.parameters.max_time_in_seconds
    return CoreResult(chosen, value, max(bound, value), status == cp_model.OPTIMAL, time.perf_counter() - t0,
                      bool(capped))


def _add_crews(model: cp_model.CpModel, x: list[cp_model.IntVar], pair_d: I64, crews: CoreCrews) -> int:
    """The :class:`CoreCrews` rows and objective terms; returns the most the ``y`` can add (their positive gains)."""
    at = {int(d): c for c, d in enumerate(crews.demand.tolist())}
    members: list[list[int]] = [[] for _ in range(len(crews.demand))]
    for i, d in enumerate(pair_d.tolist()):
        c = at.get(d)
        if c is not None:
            members[c].append(i)
    ys = [model.new_bool_var("") for _ in range(len(crews.demand))]
    for c, mine in enumerate(members):
        for i in mine:
            model.add_implication(x[i], ys[c])
        need = int(crews.need[c])
        if need > 0:
            model.add(sum(x[i] for i in mine) >= need * ys[c])
    model.proto.objective.vars.extend(y.index for y in ys)
    model.proto.objective.coeffs.extend((-crews.gain).tolist())
    return int(np.maximum(crews.gain, 0).sum())
