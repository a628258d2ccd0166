"""The exact model's LP relaxation, solved with OR-Tools GLOP (dual simplex).

Variables are the candidate pairs (``0 <= x <= 1``); rows state SPEC.md's
rules 6-8 exactly, so the LP optimum bounds every feasible solution:

- seats: ``sum_v x[v, d] <= seats(d)``;
- tasks and hours: ``sum_d x[v, d] <= tasks(v)``, ``sum_d hours(d) x[v, d] <= hours(v)``;
- no overlap: for each volunteer, one row per *maximal* set of its candidate
  demands whose windows share a point (an interval graph's maximal cliques:
  the set containing a start point, kept when the next start point no longer
  contains all of it).

Unlike the flow, this relaxation keeps the overlap and hour rules, so its bound
is much tighter (on the street preset, seed 1: 15,944 against the flow's 16,007,
with the optimum at 15,938), and its solution is nearly integral.

The objective is coverage minus a small multiple of the secondary cost, so that
the LP's choice among coverage-equivalent solutions is the cheaper one:
``sum (w(d) - eps * cost) x``. A solution's coverage is then at most
``LP + eps * (largest total cost a solution can have)``; ``eps`` keeps that
slack under half a point, and :func:`solve_lp` returns the floor as ``coverage_bound``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb
from scipy.sparse import csr_matrix

from matcher.engine.intervals import max_clique_rows
from matcher.engine.types import F64, I64, US_PER_HOUR

__all__ = ["LpInput", "LpResult", "model_rows", "solve_lp"]

EPS = 1e-6
"""Largest weight of one secondary cost unit (1/1000 point) against one coverage point in the LP objective;
smaller when the costs are large, so that the bound loses at most half a point."""



@dataclass(frozen=True, eq=False)
class LpInput:
    """Pairs sorted by (volunteer, start); caps of the residual problem."""

    pair_v: I64
    pair_d: I64
    pair_start: I64
    pair_end: I64
    pair_weight: I64  # coverage weight of the pair's demand
    pair_cost: I64  # secondary cost units
    vol_tasks: I64
    vol_hours_us: I64
    dem_seats: I64


@dataclass(frozen=True, eq=False)
class LpResult:
    """The LP's solution (``None`` when GLOP stopped without an optimum) and the coverage bound it proves."""

    x: F64 | None
    coverage_bound: int
    rows: int
    seconds: float


def model_rows(inp: LpInput) -> tuple[csr_matrix, F64]:
    """The exact model's rows ``A x <= upper`` (seats, tasks, hours in hours, maximal cliques), as CSR."""
    n = len(inp.pair_v)
    nv, nd = len(inp.vol_tasks), len(inp.dem_seats)
    v, d = inp.pair_v, inp.pair_d
    ri, rj, nc = max_clique_rows(v, inp.pair_start, inp.pair_end)
    rng = np.arange(n)
    rows = np.concatenate([d, nd + v, nd + nv + v, nd + 2 * nv + ri])
    cols = np.concatenate([rng, rng, rng, rj])
    vals = np.concatenate([np.ones(2 * n), (inp.pair_end - inp.pair_start) / US_PER_HOUR, np.ones(len(ri))])
    a = csr_matrix((vals, (rows, cols)), shape=(nd + 2 * nv + nc, n))
    upper = np.concatenate([inp.dem_seats, inp.vol_tasks, inp.vol_hours_us / US_PER_HOUR, np.ones(nc)]).astype(float)
    return a, upper


def solve_lp(inp: LpInput, wall_s: float) -> LpResult:
    """Solve the relaxation; ``wall_s`` caps GLOP's wall time (then ``x`` is ``None``)."""
    import time

    t0 = time.perf_counter()
    n = len(inp.pair_v)
    nv, nd = len(inp.vol_tasks), len(inp.dem_seats)
    v = inp.pair_v
    a, upper = model_rows(inp)
    m = a.shape[0]
    # a tiny tolerance on the hour rows: the division by US_PER_HOUR must not cut off an exactly-fitting task
    upper[nd + nv : nd + 2 * nv] += 1e-9
    # any solution y: cov(y) - eps*cost(y) <= LP, so cov(y) <= LP + eps * (largest cost a solution can have);
    # eps keeps that slack under half a point, so the bound is floor(LP + slack)
    most_cost = _top_per_volunteer(v, np.maximum(inp.pair_cost, 0).astype(float), inp.vol_tasks)
    eps = min(EPS, 0.5 / most_cost) if most_cost > 0 else EPS
    objective = inp.pair_weight.astype(float) - eps * inp.pair_cost.astype(float)
    model = mb.ModelBuilder()  # type: ignore[no-untyped-call]
    # (OR-Tools' stubs spell the array type wrongly; the call takes float64 arrays and a CSR matrix)
    model.helper.fill_model_from_sparse_data(
        np.zeros(n), np.ones(n), objective, np.full(m, -np.inf), upper, a  # type: ignore[arg-type]
    )
    model.helper.set_maximize(True)
    solver = mb.Solver("glop")
    solver.set_time_limit_in_seconds(max(0.1, wall_s))
    status = solver.solve(model)
    if status != mb.SolveStatus.OPTIMAL:
        return LpResult(None, int(inp.pair_weight.sum()), m, time.perf_counter() - t0)
    x = np.clip(solver.values(model.get_variables()).to_numpy(dtype=float), 0.0, 1.0)
    bound = int(np.floor(solver.objective_value + eps * most_cost + 1e-6))
    return LpResult(x, bound, m, time.perf_counter() - t0)


def _top_per_volunteer(v: I64, value: F64, cap: I64) -> float:
    """Largest sum of ``value`` a solution can collect: each volunteer's ``cap`` best pairs."""
    if not (value > 0).any():
        return 0.0
    order = np.lexsort((-value, v))
    vs = v[order]
    rank = np.arange(len(vs)) - np.searchsorted(vs, vs, side="left")
    return float(value[order][rank < cap[vs]].sum())
