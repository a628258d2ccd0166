"""The LP tiers' way with SPEC v2's rules (7b travel between tasks, 11 crews): travel cuts only with time for
them, a looser stop for sifting, the primal's small region MIPs and its share of the report's reserve, each
against the oracle's MIP; and a problem without v2's rules on the old path exactly."""

from __future__ import annotations

import numpy as np
import pytest
from contexts import solve_context
from instances import tight_problem, v2_problem
from oracle import mip_max_coverage, violations

from matcher import SolveOptions, Status, solve
from matcher.engine import proven, sifting
from matcher.engine.greedy import _by_value, fill_open_seats, greedy_take, refill
from matcher.engine.primal import has_v2_rules
from matcher.engine.sifting import sift_lp


def test_v2_rules_are_told_apart() -> None:
    assert has_v2_rules(solve_context(v2_problem(0)))
    assert not has_v2_rules(solve_context(tight_problem(400)))


def test_travel_cuts_wait_for_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no time for the LP to solve again, no cut is added: the LP stops at its rows' optimum, a valid bound."""
    changed = 0
    for seed in range(4):
        ctx = solve_context(v2_problem(seed))
        cut = sift_lp(ctx, 60.0)
        monkeypatch.setattr(sifting, "CUT_ROUND_SHARE", 1e9)
        plain = sift_lp(ctx, 60.0)
        monkeypatch.undo()
        assert cut is not None and plain is not None and plain.converged
        assert plain.value >= cut.value - 1e-6 and plain.rounds <= cut.rounds
        changed += plain.rounds < cut.rounds
    assert changed  # the instances have travel cuts to leave out


@pytest.mark.parametrize("seed", range(3))
def test_the_clique_ends_beside_the_first_round_change_nothing(seed: int) -> None:
    """With travel, the first round's columns get their clique ends alone and the rest come beside that round: the
    LP, its duals and its rounds are those of the ends computed first, all at once."""
    beside = solve_context(v2_problem(seed))
    first = solve_context(v2_problem(seed))
    assert first.arr.travel is not None and len(first.clique_end_rank) == len(first.rp)
    a, b = sift_lp(beside, 60.0), sift_lp(first, 60.0)
    assert a is not None and b is not None
    assert (a.value, a.rounds, a.columns, a.clique_rows) == (b.value, b.rounds, b.columns, b.clique_rows)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.duals.clique, b.duals.clique)
    np.testing.assert_array_equal(beside.clique_end_rank, first.clique_end_rank)


@pytest.mark.parametrize("seed", range(3))
def test_small_v2_regions_keep_the_rules(lp_always: None, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The primal cut into many small region MIPs (rule 7b's and 11's rows in each) keeps every rule and the bound."""
    monkeypatch.setattr(proven, "V2_REGION_MIP_PAIRS", 40)
    p = v2_problem(seed)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["engine"] == "sifting+lagrangian+mip"
    assert len(s.stats["lp_regions"]) > 1
    best = mip_max_coverage(p)
    assert violations(p, s) == [] and s.coverage <= best <= s.coverage_bound
    if s.status is Status.OPTIMAL:
        assert s.coverage == best


def test_the_whole_region_after_its_parts_wins_what_crosses_them(lp_always: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With every part's region MIP proven and time left, the whole fractional region is solved at once from the
    parts' plan: never worse, better where a crew's or a volunteer's best move crosses parts, and within the rules."""
    monkeypatch.setattr(proven, "V2_REGION_MIP_PAIRS", 40)
    gained = 0
    for seed in (0, 2, 4):  # seeds whose parts leave a gap the whole region closes in part
        p = v2_problem(seed)
        monkeypatch.setattr(proven, "WHOLE_REGION_S", 1e9)
        parts = solve(p, SolveOptions(time_limit_s=20, seed=1))
        monkeypatch.setattr(proven, "WHOLE_REGION_S", 1.5)
        whole = solve(p, SolveOptions(time_limit_s=20, seed=1))
        best = mip_max_coverage(p)
        assert violations(p, whole) == [] and parts.coverage <= whole.coverage <= best <= whole.coverage_bound
        gained += int(whole.coverage - parts.coverage)
    assert gained > 0


def test_the_whole_region_needs_time_by_its_size(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole region's MIP runs only with time for its size (HiGHS cannot stop before its root): without it the
    plan is the parts' own; with it, the whole region runs as in the test above."""
    monkeypatch.setattr(proven, "V2_REGION_MIP_PAIRS", 40)
    p = v2_problem(0)
    monkeypatch.setattr(proven, "WHOLE_REGION_S", 1e9)
    monkeypatch.setattr(proven, "DISAGREE_PAIRS", 0)
    parts = solve(p, SolveOptions(time_limit_s=20, seed=1))  # neither the disagreement nor the whole region
    monkeypatch.setattr(proven, "WHOLE_REGION_S", 1.5)
    monkeypatch.setattr(proven, "DISAGREE_PAIRS", 10**6)
    monkeypatch.setattr(proven, "WHOLE_REGION_S_PER_PAIR", 1e9)
    big = solve(p, SolveOptions(time_limit_s=20, seed=1))  # both would run, but have no time for their size
    monkeypatch.setattr(proven, "WHOLE_REGION_S_PER_PAIR", 1e-9)
    both = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert big.assignments == parts.assignments
    assert [r.pairs for r in big.stats["lp_regions"]] == [r.pairs for r in parts.stats["lp_regions"]]
    assert len(both.stats["lp_regions"]) >= len(parts.stats["lp_regions"]) + 2 and both.coverage > parts.coverage


@pytest.mark.parametrize("seed", range(2))
def test_a_v2_lp_stopped_early_still_bounds(lp_always: None, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Sifting stopped after its first round (v2's looser stop, no cuts): the bound holds, the plan keeps the rules."""
    monkeypatch.setattr(proven, "V2_STOP_GAP", 1e9)
    monkeypatch.setattr(sifting, "CUT_ROUND_SHARE", 1e9)
    p = v2_problem(seed)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.stats["engine"] == "sifting+lagrangian+mip" and s.stats["sifting"].rounds == 1
    best = mip_max_coverage(p)
    assert violations(p, s) == [] and s.coverage <= best <= s.coverage_bound


def test_v2_settings_leave_a_v1_problem_alone(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No travel times and no crews: the LP tiers take the old path whatever the v2 settings say."""
    p = tight_problem(402)
    before = solve(p, SolveOptions(time_limit_s=20, seed=1))
    for name, value in (("V2_REGION_MIP_PAIRS", 1), ("V2_MIN_MIP_S", 1e9), ("V2_MIP_OVERHEAD_S", 1e9),
                        ("V2_BOUND_S_PER_PAIR", 1e9), ("V2_FALLBACK_S_PER_PAIR", 1e9), ("V2_STOP_GAP", 1e9)):
        monkeypatch.setattr(proven, name, value)
    monkeypatch.setattr(sifting, "CUT_ROUND_SHARE", 1e9)
    after = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert before.stats["engine"] == after.stats["engine"] == "sifting+lagrangian+mip"
    assert after.assignments == before.assignments and after.coverage_bound == before.coverage_bound


@pytest.mark.parametrize("seed", range(3))
def test_filling_open_seats_sorts_only_what_it_can_take(seed: int) -> None:
    """The same plan as a refill in the order of every pair by value, from a plan with seats and volunteers free."""
    ctx = solve_context(v2_problem(seed))
    rng = np.random.default_rng(seed)
    start = greedy_take(ctx.arr, ctx.rp, rng.permutation(len(ctx.rp))[: len(ctx.rp) // 3], ctx.res.tasks,
                        ctx.res.hours, ctx.res.seats, ctx.res.crew)
    assert start.any()
    got = fill_open_seats(ctx, start)
    assert (got == refill(ctx, start, _by_value(ctx))).all() and ctx.coverage(got) > ctx.coverage(start)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_crews_region_frees_its_near_volunteers_other_tasks(seed: int) -> None:
    from matcher.engine.greedy import hurried
    from matcher.engine.primal import fractional_region

    ctx = solve_context(v2_problem(seed))
    rp = ctx.rp
    chosen, _ = hurried(ctx)
    crews = np.flatnonzero(ctx.res.crew > 1)
    assert len(crews)  # the instances have crews
    x = chosen.astype(float)
    c = int(crews[0])
    on_c = np.flatnonzero(rp.d == c)
    x[on_c[0]] = 0.5  # the crew's demand has a fractional column
    region = fractional_region(ctx, x)
    near = region & (rp.d == c) & (x == 0)  # the candidates the region offers the crew (not yet on it)
    near_vols = np.unique(rp.v[near])
    # each of them may leave the tasks it holds in the plan for it
    held = chosen & np.isin(rp.v, near_vols)
    assert held.any()
    assert region[held].all()
    # a demand that is no crew frees only its candidates' pairs into it (and the fractional volunteers' pairs)
    x2 = chosen.astype(float)
    plain = np.flatnonzero(ctx.res.crew <= 1)
    p = int(plain[np.isin(plain, rp.d)][0])
    x2[np.flatnonzero(rp.d == p)[0]] = 0.5
    frac_vols = np.unique(rp.v[(x2 > 0) & (x2 < 1)])
    region2 = fractional_region(ctx, x2)
    outside = region2 & (rp.d != p) & ~np.isin(rp.v, frac_vols)
    assert not (outside & chosen).any()


def test_swaps_end_the_primal_within_the_rules(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the region MIPs left out, the primal's last step (local search moves into open seats, when a gap is
    left) raises the LP's rounded plan where it can, keeps rules 7b and 11 and stays under the exact optimum."""
    from matcher.engine import primal

    def no_region(ctx, x, chosen, *args, **kwargs):  # type: ignore[no-untyped-def]
        return primal.PrimalResult(chosen, ctx.coverage(chosen), None, False)

    monkeypatch.setattr(proven, "lp_primal", no_region)
    gained = 0
    for seed in (0, 1, 3, 4):  # seeds whose rounded plans leave open seats the moves fill
        p = v2_problem(seed)
        monkeypatch.setattr(proven, "SWAP_S_PER_PAIR", 1e9)  # never time for it
        rounded = solve(p, SolveOptions(time_limit_s=20, seed=1))
        monkeypatch.setattr(proven, "SWAP_S_PER_PAIR", 0.3e-6)
        swapped = solve(p, SolveOptions(time_limit_s=20, seed=1))
        best = mip_max_coverage(p)
        assert violations(p, swapped) == [] and rounded.coverage <= swapped.coverage <= best
        gained += int(swapped.coverage - rounded.coverage)
    assert gained > 0


@pytest.mark.parametrize("seed", range(3))
def test_swaps_first_when_the_regions_cannot_all_run(lp_always: None, monkeypatch: pytest.MonkeyPatch,
                                                     seed: int, caplog: pytest.LogCaptureFixture) -> None:
    """With no time for the region MIPs, moves into open seats come first: the answer keeps every rule and stays
    between the rounded LP's plan and the exact optimum."""
    import logging

    monkeypatch.setattr(proven, "V2_MIN_MIP_S", 1e9)  # no region MIP ever has the time
    p = v2_problem(seed)
    monkeypatch.setattr(proven, "SWAP_S_PER_PAIR", 1e9)
    rounded = solve(p, SolveOptions(time_limit_s=20, seed=1))
    monkeypatch.setattr(proven, "SWAP_S_PER_PAIR", 0.3e-6)
    with caplog.at_level(logging.INFO, logger="matcher.engine.proven"):
        s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    best = mip_max_coverage(p)
    assert s.stats["engine"] == "sifting+lagrangian+mip" and not s.stats["lp_regions"]
    assert violations(p, s) == [] and rounded.coverage <= s.coverage <= best <= s.coverage_bound
    assert s.coverage == rounded.coverage or "swaps before the regions" in caplog.text


def test_the_region_where_plan_and_lp_disagree(lp_always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once every part is proven, the region around the demands the plan staffs differently from the LP is solved:
    its answer keeps every rule and the exact optimum's bounds, never lowers the plan, and raises it on some seeds."""
    monkeypatch.setattr(proven, "V2_REGION_MIP_PAIRS", 40)
    monkeypatch.setattr(proven, "DISAGREE_PAIRS", 1_000)  # (parts of 40 pairs: the region is many times one)
    calls: list[tuple[int, int]] = []
    real = proven.lp_primal

    def spy(ctx, x, chosen, *args, **kwargs):  # type: ignore[no-untyped-def]
        got = real(ctx, x, chosen, *args, **kwargs)
        if kwargs.get("region", args[3] if len(args) > 3 else None) is not None:  # (wall, widen, secondary, region)
            calls.append((ctx.coverage(chosen), ctx.coverage(got.chosen)))
        return got

    monkeypatch.setattr(proven, "lp_primal", spy)
    for seed in range(6):
        p = v2_problem(seed)
        s = solve(p, SolveOptions(time_limit_s=20, seed=1))
        best = mip_max_coverage(p)
        assert violations(p, s) == [] and s.coverage <= best <= s.coverage_bound
    assert calls and all(after >= before for before, after in calls)
    assert any(after > before for before, after in calls)


@pytest.mark.parametrize("seed", range(3))
def test_the_disagreement_region_is_what_it_says(seed: int) -> None:
    """Every pair into a demand staffed differently (by half a seat or more) and every pair of such a demand's
    candidates into a demand any of them holds; nothing else."""
    from matcher.engine.primal import DISAGREE, disagreement_region

    ctx = solve_context(v2_problem(seed))
    rp, nd = ctx.rp, ctx.arr.nd
    rng = np.random.default_rng(seed)
    x = rng.random(len(rp)) * (rng.random(len(rp)) < 0.05)
    chosen = rng.random(len(rp)) < 0.05
    region = disagreement_region(ctx, x, chosen)
    fill = np.bincount(rp.d[chosen], minlength=nd)
    staffed = np.bincount(rp.d, weights=x, minlength=nd)
    want = np.zeros(len(rp), dtype=bool)
    for i in range(len(rp)):  # pair by pair, from the definition
        d, v = int(rp.d[i]), int(rp.v[i])
        if abs(fill[d] - staffed[d]) >= DISAGREE:
            want[i] = True
            continue
        candidate = any(abs(fill[e] - staffed[e]) >= DISAGREE for e in rp.d[rp.v == v].tolist())
        others = {int(u) for u in rp.v[rp.d == d].tolist()}  # d's candidates: is one of D's holding d?
        held = any(bool(chosen[(rp.v == u) & (rp.d == d)].any()) and any(
            abs(fill[e] - staffed[e]) >= DISAGREE for e in rp.d[rp.v == u].tolist()) for u in others)
        want[i] = candidate and held
    assert 0 < int(region.sum()) < len(rp) and np.array_equal(region, want)


@pytest.mark.parametrize("seed", range(3))
def test_a_presolved_first_round_reaches_the_same_lp_and_goes_on_warm(seed: int) -> None:
    """With travel and crews the first round presolves (proven passes ``presolve_first``): the LP reaches the same
    optimum, and each later round starts from the basis the one before left (else it would solve cold)."""
    import highspy

    from matcher.engine.solvers import warm_lp

    warm: list[bool] = []
    presolved: list[highspy.HighsPresolveStatus] = []
    real = warm_lp.WarmLp.solve

    def seen(self: warm_lp.WarmLp, wall_s: float, primal: bool = False) -> warm_lp.WarmSolution | None:
        warm.append(bool(self.h.getBasis().valid))
        got = real(self, wall_s, primal)
        presolved.append(self.h.getModelPresolveStatus())
        return got

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(warm_lp.WarmLp, "solve", seen)
        a = sift_lp(solve_context(v2_problem(seed)), 60.0, presolve_first=True)
    b = sift_lp(solve_context(v2_problem(seed)), 60.0)
    assert a is not None and b is not None and a.converged and b.converged
    assert a.value == pytest.approx(b.value, abs=sifting.STOP_GAP)
    assert warm[0] is False and len(warm) == a.rounds > 1 and all(warm[1:])
    assert presolved[0] == highspy.HighsPresolveStatus.kReduced  # the first round was presolved, the rest not
    assert all(p == highspy.HighsPresolveStatus.kNotPresolved for p in presolved[1:])


def test_the_lp_tiers_presolve_the_first_round_only_with_v2_rules(lp_always: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """proven asks sifting for a presolved first round with travel or crews, and not without them."""
    asked: list[bool] = []
    real = proven.sift_lp

    def sift(*args: object, **kwargs: object) -> object:
        asked.append(bool(kwargs.get("presolve_first")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(proven, "sift_lp", sift)
    solve(v2_problem(0), SolveOptions(time_limit_s=20, seed=1))
    solve(tight_problem(402), SolveOptions(time_limit_s=20, seed=1))
    assert asked == [True, False]


def test_a_presolved_warm_lp_goes_on_from_its_basis() -> None:
    """After a presolved first solve, a column that cannot enter leaves the optimum where it is: no iteration."""
    import highspy

    from matcher.engine.solvers.warm_lp import WarmLp

    lp = WarmLp(presolve_first=True)  # max x0 + 2 x1 + x2: x0 + x1 <= 1, x1 + x2 <= 1, x0 + x2 <= 1, and a row
    lp.add_rows(np.array([1.0, 1.0, 1.0, 5.0]), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                np.zeros(0))  # x0 + x1 + x2 <= 5 that presolve takes out
    lp.add_cols(np.array([1.0, 2.0, 1.0]), np.array([0, 0, 1, 1, 2, 2, 0, 1, 2]),
                np.array([0, 2, 0, 1, 1, 2, 3, 3, 3]), np.ones(9))
    first = lp.solve(5.0)
    assert first is not None and first.value == pytest.approx(2.0)
    assert lp.h.getModelPresolveStatus() == highspy.HighsPresolveStatus.kReduced
    lp.add_cols(np.array([0.0]), np.array([0]), np.array([0]), np.ones(1))  # a fourth column, worth nothing
    again = lp.solve(5.0, primal=True)
    assert again is not None and again.value == pytest.approx(2.0) and again.iterations == 0
