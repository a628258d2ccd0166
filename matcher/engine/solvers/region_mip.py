"""A region's coverage MIP, solved by HiGHS (``highspy``).

The rows are the exact model's (:func:`matcher.engine.solvers.lp.model_rows`:
seats, tasks, hours, one row per maximal clique of each volunteer's
intervals), over the region's pairs with the capacities left by the fixed
part. The objective is coverage; a second solve, with coverage held at the
value found, minimises the pairs' secondary cost (travel, recent hours,
previous plan) when time is left. HiGHS is an LP-based branch and cut, which
the research note measured at 0.9 s on the district's region against 2.2 s for
the HiGHS that OR-Tools' ``model_builder`` drives (which also crashed here,
2026-11-30, on a MIP with a start), 2.6 s for CP-SAT and 5.3 s for SCIP. The answer is rounded (``x > 0.5``); the caller
makes it feasible in exact integer arithmetic, so solver tolerances cannot
break a rule. Source: HiGHS documentation (``passModel``, ``setSolution`` for a MIP start,
``mip_rel_gap``).

SPEC v2's rules, when the region has them (:class:`V2Rows`): rule 7b as one
row ``x_i + x_j <= 1`` per pair of pairs one volunteer cannot both do, and
rule 11 with one binary ``y`` per crew (``sum x >= need * y``, ``x <= y``), or
``sum x >= need`` for a crew already staffed outside the region.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

from matcher.engine.solvers.lp import LpInput, model_rows
from matcher.engine.solvers.warm_lp import new_highs, run_highs
from matcher.engine.types import F64, I64, B

__all__ = ["RegionMipResult", "V2Rows", "solve_region_mip"]

log = logging.getLogger(__name__)

SECONDARY_NODES = 200
"""The secondary stage's branch-and-bound node limit: a deterministic budget."""

SECONDARY_GAP = 1e-3
"""The secondary stage stops at this relative gap (its cost rarely closes; coverage is proven exactly)."""


@dataclass(frozen=True, eq=False)
class RegionMipResult:
    """The region's chosen pairs (``None`` without a solution), and whether coverage was proven optimal."""

    chosen: B | None
    optimal: bool
    seconds: float
    secondary_done: bool
    wall_capped: bool
    """A stage stopped at its wall-clock limit (not at a proof or its node limit): another run may differ."""


@dataclass(frozen=True, eq=False)
class V2Rows:
    """SPEC v2's rules over a region's pairs (positions in the :class:`LpInput`'s order)."""

    travel: tuple[I64, I64]
    """Rule 7b: pairs ``(i, j)`` of positions one volunteer cannot both do."""
    crew_need: I64
    """Rule 11, by demand row: seats a crew still needs (0 or 1 and not held: no row)."""
    crew_held: B
    """By demand row: the crew is staffed already, so it must get ``crew_need`` more."""


def _v2_rows(inp: LpInput, v2: V2Rows) -> tuple[csr_matrix, F64, int, I64]:
    """Rows ``A [x; y] <= upper`` of rule 7b and 11, the number of crew binaries ``y``, and each ``y``'s demand."""
    n = len(inp.pair_v)
    ti, tj = v2.travel
    rows, cols, vals, upper = [np.repeat(np.arange(len(ti)), 2)], [np.stack([ti, tj], 1).ravel()], \
        [np.ones(2 * len(ti))], [np.ones(len(ti))]
    r = len(ti)
    need = v2.crew_need[inp.pair_d]
    crew_demands = np.unique(inp.pair_d[(need > 1) | ((need > 0) & v2.crew_held[inp.pair_d])])
    y_dem: list[int] = []
    for d in crew_demands.tolist():
        members = np.flatnonzero(inp.pair_d == d)
        k = int(v2.crew_need[d])
        if v2.crew_held[d]:  # -sum x <= -need
            rows.append(np.full(len(members), r))
            cols.append(members)
            vals.append(-np.ones(len(members)))
            upper.append(np.array([-float(k)]))
            r += 1
            continue
        y = n + len(y_dem)
        y_dem.append(d)
        # need * y - sum x <= 0
        rows.append(np.full(len(members) + 1, r))
        cols.append(np.concatenate([members, [y]]))
        vals.append(np.concatenate([-np.ones(len(members)), [float(k)]]))
        upper.append(np.zeros(1))
        # x_i - y <= 0
        rows.append(np.repeat(r + 1 + np.arange(len(members)), 2))
        cols.append(np.stack([members, np.full(len(members), y)], 1).ravel())
        vals.append(np.tile([1.0, -1.0], len(members)))
        upper.append(np.zeros(len(members)))
        r += 1 + len(members)
    k_y = len(y_dem)
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n + k_y)).tocsr()
    return a, np.concatenate(upper), k_y, np.array(y_dem, dtype=np.int64)


def _solve(inp: LpInput, objective: np.ndarray, maximize: bool, held: float | None, wall_s: float,
           hint: B | None, v2: V2Rows | None = None) -> tuple[B | None, bool, bool]:
    """One stage: the rounded answer (or ``None``), whether it is proven, and whether the wall clock stopped it."""
    a, upper = model_rows(inp)
    n = len(inp.pair_v)
    k_y = 0
    if v2 is not None:
        a2, upper2, k_y, y_dem = _v2_rows(inp, v2)
        a = vstack([hstack([a, csr_matrix((a.shape[0], k_y))]), a2]).tocsr()
        upper = np.concatenate([upper, upper2])
        objective = np.concatenate([objective, np.zeros(k_y)])
        if hint is not None:
            hint = np.concatenate([hint, np.isin(y_dem, inp.pair_d[hint])])
    if held is not None:  # coverage at least `held`: one more row, -w x <= -held (+0.5: the weights are integers)
        w = np.concatenate([-inp.pair_weight.astype(float), np.zeros(k_y)])
        a = vstack([a, csr_matrix(w[None, :])]).tocsr()
        upper = np.concatenate([upper, [-held + 0.5]])
    m = a.shape[0]
    n += k_y
    h = new_highs()
    h.setOptionValue("time_limit", max(0.05, float(wall_s)))
    h.setOptionValue("mip_rel_gap", 0.0 if held is None else SECONDARY_GAP)
    if held is not None:  # the secondary stage stops at a node count (reproducible) before the wall clock
        h.setOptionValue("mip_max_nodes", SECONDARY_NODES)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = objective.astype(float)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.full(m, -highspy.kHighsInf), upper.astype(float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    if hint is not None:  # a feasible start
        sol = highspy.HighsSolution()
        sol.col_value = hint.astype(float).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    run_highs(h)
    status = h.getModelStatus()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # no feasible solution
        return None, False, status == highspy.HighsModelStatus.kTimeLimit
    values = np.asarray(h.getSolution().col_value, dtype=float)[:n - k_y]
    return values > 0.5, status == highspy.HighsModelStatus.kOptimal, status == highspy.HighsModelStatus.kTimeLimit


def solve_region_mip(inp: LpInput, wall_s: float, hint: B | None = None, secondary_s: float = 0.0,
                     v2: V2Rows | None = None) -> RegionMipResult:
    """Coverage first within ``wall_s`` wall seconds, then the pairs' cost with coverage held within ``secondary_s``.

    ``inp`` lists the region's pairs sorted by (volunteer, start), with the
    capacities left to them; ``hint`` (bool per pair) is a feasible start;
    ``v2`` adds SPEC v2's rows (module docstring).
    """
    t0 = time.perf_counter()
    chosen, optimal, capped = _solve(inp, inp.pair_weight.astype(float), True, None, wall_s, hint, v2)
    if chosen is None:
        return RegionMipResult(None, False, time.perf_counter() - t0, False, capped)
    found = float(inp.pair_weight[chosen].sum())
    t1 = time.perf_counter()
    log.debug("region MIP, coverage stage: %d pairs, %.0f found (%s) in %.2f s", len(inp.pair_v), found,
              "optimal" if optimal else "not proven", t1 - t0)
    left = secondary_s
    done = False
    if left > 0.2:
        second, _, capped2 = _solve(inp, inp.pair_cost.astype(float), False, found, left, chosen, v2)
        capped |= capped2
        if second is not None and float(inp.pair_weight[second].sum()) >= found:
            chosen, done = second, True
    log.debug("region MIP, secondary stage: %s in %.2f s", "done" if done else "not run or no better",
              time.perf_counter() - t1)
    return RegionMipResult(chosen, optimal, time.perf_counter() - t0, done, capped)
