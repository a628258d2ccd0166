"""The exact model's rows over candidate pairs, shared by the region MIP and the benchmarks' HiGHS model.

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
with the optimum at 15,938), and its solution is nearly integral. The LP
itself is solved by sifting (:mod:`matcher.engine.sifting`); this module only
writes the rows (the module imports no solver, so that a region MIP does not
pay for OR-Tools' ``model_builder`` and the pandas it imports: 0.9 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from matcher.engine.intervals import max_clique_rows
from matcher.engine.types import F64, I64, US_PER_HOUR

__all__ = ["LpInput", "model_rows"]


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

