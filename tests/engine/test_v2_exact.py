"""SPEC v2's hard rules against the independent referees: travel time between tasks (7b), crews (11) and no
return after a poor rating (12), and rule 3 by minutes, on seeded instances where they bind.

The oracle (tests/oracle.py) re-implements the rules over the records, with its own haversine and its own
Dijkstra; its MIP (HiGHS) states rule 7b pairwise and crews with one binary each. ``optimal`` must mean
the MIP's optimum.
"""

from __future__ import annotations

import pytest
from instances import v2_problem
from oracle import coverage, mip_max_coverage, violations

from matcher import SolveOptions, Status, check_plan, greedy_dispatch, solve

OPTS = SolveOptions(time_limit_s=20, seed=1)


@pytest.mark.parametrize("seed", range(6))
def test_coverage_equals_the_mip_with_travel_crews_and_ratings(seed: int) -> None:
    p = v2_problem(seed)
    s = solve(p, OPTS)
    assert violations(p, s) == []
    assert check_plan(p, s.assignments) == []
    assert s.coverage == coverage(p, s)
    best = mip_max_coverage(p)
    assert s.coverage_bound >= best
    if s.status is Status.OPTIMAL:
        assert s.coverage == best
    assert s.coverage == best, f"engine {s.coverage} < MIP {best} (status {s.status})"


@pytest.mark.parametrize("seed", range(2))
def test_on_a_road_network(seed: int) -> None:
    p = v2_problem(50 + seed, n_vol=80, n_dem=50, network=True)
    s = solve(p, OPTS)
    assert violations(p, s) == []
    assert s.coverage == mip_max_coverage(p)


@pytest.mark.parametrize("seed", range(4))
def test_the_rules_bind_on_these_instances(seed: int) -> None:
    """Without rules 7b, 11 and 12 the MIP would fill more: the instances test something."""
    p = v2_problem(seed)
    loose = p.replace(travel=None, ratings=[], demands=[d.model_copy(update={"min_headcount": None})
                                                       for d in p.demands])
    assert mip_max_coverage(loose) > mip_max_coverage(p)


@pytest.mark.parametrize("seed", range(4))
def test_the_greedy_keeps_the_v2_rules(seed: int) -> None:
    p = v2_problem(seed)
    g = greedy_dispatch(p)
    assert violations(p, g) == []
