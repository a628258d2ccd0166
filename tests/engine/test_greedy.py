"""Making a relaxed choice feasible, and the swap local search, keep every rule and never lose coverage."""

from __future__ import annotations

import numpy as np
import pytest
from instances import tight_problem
from oracle import violations

from matcher import Problem, SolveOptions
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.context import Clock, SolveContext
from matcher.engine.greedy import make_feasible, swap_improve
from matcher.model import AssignmentOut, Solution, Status


def _as_solution(p: Problem, arr, rp, chosen) -> Solution:  # type: ignore[no-untyped-def]
    out = tuple(AssignmentOut(volunteer_id=arr.volunteer_ids[v], demand_id=arr.demand_ids[d], travel_km=km)
                for v, d, km in zip(rp.v[chosen].tolist(), rp.d[chosen].tolist(), rp.km[chosen].tolist(),
                                    strict=True))
    return Solution(status=Status.FEASIBLE, coverage=0, coverage_bound=0, secondary=0, assignments=out)


@pytest.mark.parametrize("seed", range(6))
def test_make_feasible_then_swaps_from_an_infeasible_choice(seed: int) -> None:
    p = tight_problem(400 + seed)
    arr = build_arrays(p)
    ctx = SolveContext.build(arr, candidate_pairs(arr), SolveOptions(), Clock())
    rp, weight = ctx.rp, ctx.dem_weight
    # an infeasible start: a random half of all pairs (overlaps, caps and seats all broken)
    wild = np.random.default_rng(seed).random(len(rp)) < 0.5
    repaired = make_feasible(ctx, wild)
    assert violations(p, _as_solution(p, arr, rp, repaired)) == []
    swapped = swap_improve(ctx, repaired, 10_000)
    assert violations(p, _as_solution(p, arr, rp, swapped)) == []
    before, after = weight[rp.d[repaired]].sum(), weight[rp.d[swapped]].sum()
    assert after >= before
    # and a start with one open seat per demand: the search fills what a swap can fill
    thin = repaired.copy()
    for d in np.unique(rp.d[thin]):
        thin[np.flatnonzero(thin & (rp.d == d))[0]] = False
    refilled = swap_improve(ctx, thin, 10_000)
    assert violations(p, _as_solution(p, arr, rp, refilled)) == []
    assert weight[rp.d[refilled]].sum() > weight[rp.d[thin]].sum()
