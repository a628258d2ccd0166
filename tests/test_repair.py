"""The greedy repair and the swap local search keep every rule and never lose coverage."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from instances import tight_problem
from oracle import violations

from matcher import Problem, SolveOptions
from matcher.arrays import build_arrays
from matcher.candidates import candidate_pairs
from matcher.costs import pair_costs, priority_weights
from matcher.model import AssignmentOut, Solution, Status

solve_mod = sys.modules["matcher.solve"]


def _as_solution(p: Problem, arr, rp, chosen) -> Solution:  # type: ignore[no-untyped-def]
    out = tuple(AssignmentOut(volunteer_id=arr.volunteer_ids[v], demand_id=arr.demand_ids[d], travel_km=km)
                for v, d, km in zip(rp.v[chosen].tolist(), rp.d[chosen].tolist(), rp.km[chosen].tolist(),
                                    strict=True))
    return Solution(status=Status.FEASIBLE, coverage=0, coverage_bound=0, secondary=0, assignments=out)


@pytest.mark.parametrize("seed", range(6))
def test_repair_then_swaps_from_an_infeasible_choice(seed: int) -> None:
    p = tight_problem(400 + seed)
    opts = SolveOptions()
    arr = build_arrays(p)
    res = solve_mod._residual(arr, candidate_pairs(arr), opts)
    rp = res.pairs
    weight = priority_weights(opts)[arr.d_priority]
    cost = pair_costs(opts, rp.km, arr.v_recent_hours[rp.v], np.zeros(len(rp), dtype=bool))
    # an infeasible start: a random half of all pairs (overlaps, caps and seats all broken)
    wild = np.random.default_rng(seed).random(len(rp)) < 0.5
    repaired = solve_mod._repair_and_refill(arr, rp, res, wild, weight, cost)
    assert violations(p, _as_solution(p, arr, rp, repaired)) == []
    swapped = solve_mod._swap_improve(arr, rp, res, repaired, weight, cost, 10_000)
    assert violations(p, _as_solution(p, arr, rp, swapped)) == []
    before, after = weight[rp.d[repaired]].sum(), weight[rp.d[swapped]].sum()
    assert after >= before
    # and a start with one open seat per demand: the search fills what a swap can fill
    thin = repaired.copy()
    for d in np.unique(rp.d[thin]):
        thin[np.flatnonzero(thin & (rp.d == d))[0]] = False
    refilled = solve_mod._swap_improve(arr, rp, res, thin, weight, cost, 10_000)
    assert violations(p, _as_solution(p, arr, rp, refilled)) == []
    assert weight[rp.d[refilled]].sum() > weight[rp.d[thin]].sum()
