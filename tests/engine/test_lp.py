"""The LP tiers: maximal cliques, the sifting LP, the Lagrangian proof and the region MIP, against the exact MIP.

The exact optimum comes from tests/oracle.py (HiGHS, pairwise no-overlap rows,
no engine code). The instances are small, with the LP tiers forced on
(normally they wait for problems too big for CP-SAT whole).
"""

from __future__ import annotations

import dataclasses
import math
from itertools import combinations, pairwise
from typing import Any

import numpy as np
import pytest
from contexts import solve_context
from instances import at, tight_problem, v2_problem
from oracle import coverage, mip_max_coverage, violations

from matcher import Problem, SolveOptions, Status, solve
from matcher.engine import lagrangian, proven, sifting
from matcher.engine.context import SolveContext
from matcher.engine.intervals import max_clique_rows
from matcher.engine.lagrangian import lagrangian_bound
from matcher.engine.schedules import schedule_values
from matcher.engine.sifting import DualPrices, sift_lp
from matcher.engine.solvers.lp import LpInput, model_rows


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


@pytest.mark.parametrize("seed", range(15))
def test_schedule_values_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    v = rng.integers(0, 4, size=n)
    s = rng.integers(0, 20, size=n)
    e = s + rng.integers(1, 8, size=n)
    w = rng.integers(1, 50, size=n)
    cap = rng.integers(0, 4, size=4)
    owners, values = schedule_values(v, s, e, w, cap)
    for o, got in zip(owners.tolist(), values.tolist()):
        mine = np.flatnonzero(v == o).tolist()
        best = 0
        for k in range(min(int(cap[o]), len(mine)) + 1):
            for pick in combinations(mine, k):
                if all(e[a] <= s[b] or e[b] <= s[a] for a, b in combinations(pick, 2)):
                    best = max(best, int(w[list(pick)].sum()))
        assert got == best, (o, got, best)



def _full_lp(ctx: SolveContext) -> float:
    """The exact model's LP on every pair, by HiGHS (coverage only)."""
    import highspy

    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    order = np.lexsort((arr.d_start[rp.d], rp.v))
    v, d = rp.v[order], rp.d[order]
    a, upper = model_rows(LpInput(v, d, arr.d_start[d], arr.d_end[d], ctx.dem_weight[d],
                                  np.zeros(len(v), dtype=np.int64), res.tasks, res.hours, res.seats))
    h = highspy.Highs()
    h.silent()
    n, m = a.shape[1], a.shape[0]
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), ctx.dem_weight[d].astype(float))
    h.addRows(m, np.full(m, -highspy.kHighsInf), upper, a.nnz, a.indptr[:-1].astype(np.int32),
              a.indices.astype(np.int32), a.data)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.run()
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("seed", range(4))
def test_sifting_reaches_the_full_lp(seed: int) -> None:
    ctx = solve_context(tight_problem(400 + seed))
    lp = sift_lp(ctx, 60.0)
    assert lp is not None and lp.converged
    cover = float((ctx.dem_weight[ctx.rp.d] * lp.x).sum())
    assert cover == pytest.approx(_full_lp(ctx), abs=0.51)  # the secondary term moves it by under half a point


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_bound_is_valid_for_any_prices(seed: int) -> None:
    """Weak duality: the bound holds for the LP's duals, for random prices, and for an unfinished LP."""
    p = tight_problem(500 + seed)
    ctx = solve_context(p)
    best = mip_max_coverage(p)
    lp = sift_lp(ctx, 60.0)
    assert lp is not None
    rng = np.random.default_rng(seed)
    random = DualPrices(rng.uniform(0, 16, ctx.arr.nd) * (rng.random(ctx.arr.nd) < 0.5), np.zeros(ctx.arr.nv),
                        np.zeros(ctx.arr.nv), np.zeros(0, dtype=np.int64), np.zeros(0), 1)
    for duals, x in ((lp.duals, lp.x), (random, np.full(len(ctx.rp), 0.5))):
        b = lagrangian_bound(ctx, duals, x, det_budget=5.0, wall_s=20.0)
        assert b.bound >= best
    assert lagrangian_bound(ctx, lp.duals, lp.x, det_budget=5.0, wall_s=20.0).bound <= np.floor(lp.value + 0.5)


def test_lagrangian_bound_without_time_for_the_core_stays_valid() -> None:
    p = tight_problem(510)
    ctx = solve_context(p)
    lp = sift_lp(ctx, 60.0)
    assert lp is not None
    b = lagrangian_bound(ctx, lp.duals, lp.x, det_budget=1e-6, wall_s=1e-6)
    assert b.bound >= mip_max_coverage(p)


def test_unfinished_sifting_gives_a_valid_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(520)
    monkeypatch.setattr(sifting, "MAX_ROUNDS", 1)
    ctx = solve_context(p)
    lp = sift_lp(ctx, 60.0)
    assert lp is not None
    assert lagrangian_bound(ctx, lp.duals, lp.x, det_budget=5.0, wall_s=20.0).bound >= mip_max_coverage(p)


def hours_fractional() -> Problem:
    """One volunteer with 3 hours for two 2-hour urgent visits: the LP takes 1.5 of them, the optimum 1."""
    vol = {"id": "v", "lat": 39.9, "lon": 116.4, "skills": ["general"], "max_hours": 3.0, "max_tasks": 3,
           "availability": [{"start": at(8), "end": at(20)}]}
    dems = [{"id": f"d{k}", "lat": 39.9, "lon": 116.4, "category": "care", "required_skills": ["general"],
             "headcount": 1, "start": at(9 + 3 * k), "end": at(11 + 3 * k), "priority": 5} for k in range(2)]
    return Problem.from_dict({"volunteers": [vol], "demands": dems})


def shared_hours_fractional() -> Problem:
    """Two volunteers with 3 hours each, three 2-hour visits they both may serve: the LP fills all three, the optimum
    two; with a shorter visit of lower priority beside them, so that the LP's duals are not all equal."""
    vols = [{"id": f"v{k}", "lat": 39.9, "lon": 116.4, "skills": ["general"], "max_hours": 3.0, "max_tasks": 3,
             "availability": [{"start": at(8), "end": at(22)}]} for k in range(2)]
    dems = [{"id": f"d{k}", "lat": 39.9, "lon": 116.4, "category": "care", "required_skills": ["general"],
             "headcount": 1, "start": at(9 + 3 * k), "end": at(11 + 3 * k), "priority": 5} for k in range(3)]
    dems.append({"id": "short", "lat": 39.9, "lon": 116.4, "category": "care", "required_skills": ["general"],
                 "headcount": 1, "start": at(19), "end": at(20), "priority": 2})
    return Problem.from_dict({"volunteers": vols, "demands": dems})



@pytest.mark.parametrize("make", [hours_fractional, shared_hours_fractional])
def test_a_fractional_lp_is_proven_by_the_core(lp_always: None, make: object) -> None:
    p = make()  # type: ignore[operator]
    ctx = solve_context(p)
    lp = sift_lp(ctx, 60.0)
    assert lp is not None
    assert ((lp.x > 1e-6) & (lp.x < 1 - 1e-6)).any()  # built so that the LP is fractional
    best = mip_max_coverage(p)
    assert lp.value > best + 0.4  # the LP bound alone cannot prove the optimum
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["engine"] == "sifting+lagrangian+mip"
    assert violations(p, s) == [] and s.coverage == best == s.coverage_bound and s.status is Status.OPTIMAL


@pytest.mark.parametrize("seed", range(6))
def test_lp_tiers_against_the_mip(lp_always: None, seed: int) -> None:
    p = tight_problem(300 + seed)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["engine"] == "sifting+lagrangian+mip"
    assert violations(p, s) == []
    assert s.coverage == coverage(p, s)
    best = mip_max_coverage(p)
    assert s.coverage <= best <= s.coverage_bound
    if s.status is Status.OPTIMAL:
        assert s.coverage == best
    assert s.coverage_bound <= s.stats["sifting"]["lp_value"] + 0.5  # the proof never loses to the LP
    assert s.coverage >= 0.99 * best


def test_no_time_for_the_region_mip_still_answers(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proven, "MIN_MIP_S", 1e9)
    p = tight_problem(310)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert violations(p, s) == [] and s.coverage <= mip_max_coverage(p) <= s.coverage_bound
    assert "lp_regions" not in s.stats or s.stats["lp_regions"] == []


def test_core_fallback_when_cpsat_finds_nothing(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.engine.solvers import core_mip

    real = core_mip.solve_core

    def starved(inp: core_mip.CoreInput, det_budget: float, wall_s: float, seed: int = 0,
                workers: int = 1) -> core_mip.CoreResult:
        return real(inp, 1e-9, 1e-9, seed, workers)

    monkeypatch.setattr(core_mip, "solve_core", starved)
    monkeypatch.setattr(lagrangian, "SCALE", 7)  # a coarse grid loosens the bound, never breaks it
    p = tight_problem(320)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert violations(p, s) == [] and s.coverage <= mip_max_coverage(p) <= s.coverage_bound


def test_an_lp_stopped_above_the_seats_skips_the_proof_and_still_answers(lp_always: None,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock stopped sifting while its prices could not beat the seats' bound: no Lagrangian round runs (its
    time goes to the primal), and the answer, its bound and the rules stand (a bug once left no bound at all)."""
    real = proven.sift_lp

    def stopped(*args: Any, **kwargs: Any) -> sifting.SiftResult | None:
        got = real(*args, **kwargs)
        return None if got is None else dataclasses.replace(got, converged=False, dual_bound=math.inf)

    monkeypatch.setattr(proven, "sift_lp", stopped)
    p = tight_problem(340)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["engine"] == "sifting+lagrangian+mip" and s.stats["lagrangian"] == []
    assert violations(p, s) == [] and s.coverage <= mip_max_coverage(p) <= s.coverage_bound


def test_lp_tiers_give_the_same_answer_twice(lp_always: None) -> None:
    p = tight_problem(330)
    a, b = (solve(p, SolveOptions(time_limit_s=20, seed=1)) for _ in range(2))
    assert a.stats["reproducible"] and b.stats["reproducible"]
    assert a.assignments == b.assignments and a.coverage_bound == b.coverage_bound


@pytest.mark.parametrize("seed", range(4))
def test_lp_tiers_keep_the_v2_rules(lp_always: None, seed: int) -> None:
    """Travel time between tasks (7b) and crews (11) are not in the LP's rows: the relaxation stays an upper bound,
    and the primal (rounding, region MIP with their rows, refill) keeps them; the oracle checks, the MIP bounds."""
    p = v2_problem(seed)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["engine"] == "sifting+lagrangian+mip"
    best = mip_max_coverage(p)
    assert violations(p, s) == [] and s.coverage <= best <= s.coverage_bound
    if s.status is Status.OPTIMAL:
        assert s.coverage == best


def test_a_crew_with_too_few_candidates_is_left_out_up_front() -> None:
    """Rule 11 as a reduction: a crew that cannot be formed loses its pairs before any tier, so the bound knows."""
    p = v2_problem(0)
    ctx = solve_context(p)
    need = ctx.res.crew
    have = np.bincount(ctx.rp.d, minlength=ctx.arr.nd)
    assert not ((need > 1) & (have > 0) & (have < need)).any()


def test_the_proof_beside_the_primal_reports_its_failure(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof runs in a thread beside the primal's regions; what it raises reaches the solve, which falls
    back to the flow's tiers as for any failure of the LP tiers (never a bound nobody proved)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the proof broke")

    monkeypatch.setattr(proven, "lagrangian_bound", broken)
    p = tight_problem(330)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["lp"]["error"] == "RuntimeError: the proof broke"
    assert s.stats["engine"] != "sifting+lagrangian+mip"
    assert violations(p, s) == [] and s.coverage <= mip_max_coverage(p) <= s.coverage_bound


def test_the_regions_do_not_wait_for_the_proof(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow proof (held back here until two region MIPs of the LP rounding's parts have run) changes neither the
    bound nor the plan: the parts run whenever the proof ends."""
    import threading

    p = tight_problem(331)
    monkeypatch.setattr(proven, "REGION_MIP_PAIRS", 100)  # the LP rounding's region in parts
    alone = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert len(alone.stats["lp_regions"]) >= 2
    two_regions = threading.Event()
    ran = []
    real_bound, real_primal = proven.lagrangian_bound, proven.lp_primal

    def late_bound(*args: object, **kwargs: object) -> object:
        assert two_regions.wait(30), "the primal waited for the proof before its second part"
        return real_bound(*args, **kwargs)  # type: ignore[arg-type]

    def primal(*args: object, **kwargs: object) -> object:
        got = real_primal(*args, **kwargs)  # type: ignore[arg-type]
        ran.append(got)
        if len(ran) == 2:
            two_regions.set()
        return got

    monkeypatch.setattr(proven, "lagrangian_bound", late_bound)
    monkeypatch.setattr(proven, "lp_primal", primal)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert two_regions.is_set()
    assert (s.coverage, s.coverage_bound) == (alone.coverage, alone.coverage_bound)
    assert sorted((a.volunteer_id, a.demand_id) for a in s.assignments) == sorted(
        (a.volunteer_id, a.demand_id) for a in alone.assignments)
