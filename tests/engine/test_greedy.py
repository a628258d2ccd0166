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


@pytest.mark.parametrize("seed", range(4))
def test_the_greedy_screens_in_blocks_without_changing_what_it_takes(seed: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the numpy screen before each block drops only pairs that cannot fit: the answer is that of one pair at a time
    from instances import v2_problem

    import matcher.engine.greedy as greedy

    for p in (tight_problem(700 + seed), v2_problem(seed)):  # v2: travel (rule 7b) and crews (rule 11)
        arr = build_arrays(p)
        ctx = SolveContext.build(arr, candidate_pairs(arr), SolveOptions(), Clock())
        res, order = ctx.res, np.random.default_rng(seed).permutation(len(ctx.rp))
        taken = []
        for block in (1, 5, 64, 1 << 20):
            monkeypatch.setattr(greedy, "GREEDY_BLOCK", block)
            taken.append(greedy.greedy_take(arr, ctx.rp, order, res.tasks, res.hours, res.seats, res.crew))
        assert taken[0].any()
        for other in taken[1:]:
            assert np.array_equal(other, taken[0])
        assert violations(p, _as_solution(p, arr, ctx.rp, taken[0])) == []


def test_value_order_is_lexsort_by_weight_down_then_cost_up() -> None:
    from matcher.engine.greedy import value_order

    rng = np.random.default_rng(0)
    w, c = rng.integers(1, 17, 5000), rng.integers(0, 300, 5000)
    assert np.array_equal(value_order(w, c), np.lexsort((c, -w)))
    huge = c * (1 << 58)  # a combined key would overflow: the lexsort is used
    assert np.array_equal(value_order(w, huge), np.lexsort((huge, -w)))
    assert len(value_order(w[:0], c[:0])) == 0
    fw, fc = np.array([2, 1]), np.array([0.5, -0.9])  # not integers: the lexsort itself
    assert np.array_equal(value_order(fw, fc), np.lexsort((fc, -fw)))
