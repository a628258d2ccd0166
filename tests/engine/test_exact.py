"""Cross-check: matcher's coverage equals an independent exact MIP (HiGHS) on seeded random instances.

The instances (tests/instances.py) make overlap, hour caps, teams, insurance,
forbidden and pinned pairs all bind; every hard rule is re-checked by
tests/oracle.py, which shares no code with the engine.
"""

from __future__ import annotations

import numpy as np
import pytest
from instances import tight_problem
from oracle import coverage, mip_max_coverage, violations

from matcher import Problem, SolveOptions, Status, solve

OPTS = SolveOptions(time_limit_s=20, seed=1)


@pytest.mark.parametrize("seed", range(8))
def test_coverage_equals_mip_optimum(seed: int) -> None:
    p = tight_problem(seed)
    s = solve(p, OPTS)
    assert violations(p, s) == []
    assert s.coverage == coverage(p, s)
    best = mip_max_coverage(p)
    assert s.coverage <= best
    assert s.coverage_bound >= best  # the reported bound is valid
    assert s.stats["flow_coverage_bound"] >= best  # so is the least bound over the flow rounds
    if s.status is Status.OPTIMAL:
        assert s.coverage == best
    assert s.coverage == best, f"engine {s.coverage} < MIP {best} (status {s.status})"


@pytest.mark.parametrize("seed", range(3))
def test_with_pinned_pairs(seed: int) -> None:
    base = tight_problem(100 + seed)
    first = solve(base, OPTS)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(first.assignments), size=min(15, len(first.assignments)), replace=False)
    # pin a subset, but move each to a different volunteer-demand pair where we can: pins need not be optimal
    pinned = [{"volunteer_id": first.assignments[i].volunteer_id, "demand_id": first.assignments[i].demand_id}
              for i in sorted(chosen)]
    p = base.replace(pinned=pinned)
    s = solve(p, OPTS)
    assert violations(p, s) == []
    assert s.coverage == mip_max_coverage(p)


def test_sparse_many_components() -> None:
    # volunteers spread out: many small components, solved independently
    p = tight_problem(7, n_vol=150, n_dem=150)
    spread = [v.model_copy(update={"lat": v.lat + (i % 10) * 0.2}) for i, v in enumerate(p.volunteers)]
    dems = [d.model_copy(update={"lat": (d.lat or 0) + (i % 10) * 0.2}) for i, d in enumerate(p.demands)]
    q = p.replace(volunteers=spread, demands=dems)
    s = solve(q, OPTS)
    assert violations(q, s) == []
    assert s.coverage == mip_max_coverage(q)


def test_bound_is_honest_when_time_is_short() -> None:
    p: Problem = tight_problem(3, n_vol=250, n_dem=160)
    s = solve(p, SolveOptions(time_limit_s=0.01))
    best = mip_max_coverage(p)
    assert violations(p, s) == []
    assert s.coverage <= best <= s.coverage_bound
    assert (s.status is Status.OPTIMAL) == (s.coverage == s.coverage_bound)
