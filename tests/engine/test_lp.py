"""The LP tier: maximal cliques of intervals, and the relaxation's bound and answer against the exact MIP."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from instances import tight_problem
from oracle import coverage, mip_max_coverage, violations

from matcher import SolveOptions, solve
from matcher.engine import regions, relaxation
from matcher.engine.intervals import max_clique_rows


@pytest.mark.parametrize("seed", range(20))
def test_max_cliques_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    v = np.sort(rng.integers(0, 4, size=n))
    s = rng.integers(0, 30, size=n)
    e = s + rng.integers(1, 10, size=n)
    order = np.lexsort((s, v))
    v, s, e = v[order], s[order], e[order]
    rows, pairs, count = max_clique_rows(v, s, e)
    got = {frozenset(pairs[rows == r].tolist()) for r in range(count)}
    assert len(got) == count  # no row twice
    # brute force: the set of intervals containing each point, kept when no other set contains it
    want: set[frozenset[int]] = set()
    for vol in np.unique(v):
        sets = {frozenset(np.flatnonzero((v == vol) & (s <= p) & (e > p)).tolist()) for p in range(0, 40)}
        want |= {c for c in sets if len(c) >= 2 and not any(c < other for other in sets)}
    assert got == want


def test_intervals_touching_do_not_clash() -> None:
    v = np.zeros(3, dtype=np.int64)
    s, e = np.array([0, 5, 10]), np.array([5, 10, 15])
    assert max_clique_rows(v, s, e)[2] == 0
    assert list(pairwise(s)) == [(0, 5), (5, 10)]


@pytest.fixture
def lp_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the LP tier run on small instances (it normally waits for problems too big for CP-SAT whole)."""
    monkeypatch.setattr(regions, "REGION_PAIR_BUDGET", 1000)
    monkeypatch.setattr(relaxation, "LP_SHARE", 1e9)


@pytest.mark.parametrize("seed", range(6))
def test_lp_tier_bound_and_answer_against_mip(lp_always: None, seed: int) -> None:
    p = tight_problem(300 + seed)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert violations(p, s) == []
    assert s.coverage == coverage(p, s)
    best = mip_max_coverage(p)
    assert s.coverage <= best <= s.coverage_bound
    if "lp" in s.stats:
        assert s.stats["lp"]["solved"]
        assert s.coverage_bound <= s.stats["flow_coverage_bound"]
    # with regions of at most 1,000 pairs these deliberately tight instances are not solved exactly
    # (measured: 0-2% short; the default budget solves them whole and exactly, see test_exact.py)
    assert s.coverage >= 0.97 * best
