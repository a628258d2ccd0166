"""A candidate search the clock ends: what it found is exact, what it did not reach is named, the bound holds.

The clock is made to end the search deterministically: ``AFTER_SEARCH`` asks for more time after the search than
any deadline leaves, so only the first part (and the pinned demands) is searched.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from instances import tight_problem
from oracle import coverage, mip_max_coverage, violations

from matcher import Dispatcher, SolveOptions, VolunteerUnavailable, solve
from matcher.dispatch.workspace import Workspace
from matcher.engine import candidates, pipeline
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import Searched, candidate_pairs, complete_pairs, search_until
from matcher.model import UnmetReason

NEVER = (1e9, 1e9)
"""``AFTER_SEARCH`` that no deadline has room for: the search stops after its first part."""


def cut(monkeypatch: pytest.MonkeyPatch, part: int = 20) -> None:
    """Make every solve's candidate search stop after its first part (``part`` demands, or the pinned ones)."""
    monkeypatch.setattr(pipeline, "AFTER_SEARCH", NEVER)
    monkeypatch.setattr(candidates, "TIMED_PART_DEMANDS", part)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_search_with_time_enough_finds_every_pair_in_order(workers: int) -> None:
    arr = build_arrays(tight_problem(3, n_vol=300, n_dem=150))
    want = candidate_pairs(arr, workers=1)
    order = np.random.default_rng(1).permutation(arr.nd).astype(np.int64)
    got = search_until(arr, order, 0, time.perf_counter() + 600, (0.0, 0.0), time.perf_counter(), part_demands=7,
                       workers=workers)
    assert len(got.unsearched) == 0 and len(want) > 500
    assert np.array_equal(got.pairs.v, want.v) and np.array_equal(got.pairs.d, want.d)
    assert np.array_equal(got.pairs.km, want.km)


@pytest.mark.parametrize("first", [0, 13, 40])
def test_a_search_out_of_time_keeps_its_first_part_and_names_the_rest(first: int) -> None:
    arr = build_arrays(tight_problem(4, n_vol=300, n_dem=150))
    order = np.random.default_rng(2).permutation(arr.nd).astype(np.int64)
    now = time.perf_counter()
    got = search_until(arr, order, first, now - 1, (0.0, 0.0), now, part_demands=10, workers=2)
    searched = order[: max(first, 10)]
    assert np.array_equal(got.unsearched, np.sort(order[max(first, 10):]))  # the rest, every one of them
    want = candidate_pairs(arr, searched)  # exactly the searched demands' pairs
    assert np.array_equal(got.pairs.v, want.v) and np.array_equal(got.pairs.d, want.d)
    whole = complete_pairs(arr, got)  # and the rest found later gives every pair
    every = candidate_pairs(arr)
    assert np.array_equal(whole.v, every.v) and np.array_equal(whole.d, every.d)
    assert np.array_equal(whole.km, every.km)
    assert complete_pairs(arr, Searched(every, np.zeros(0, dtype=np.int64))) is every


@pytest.mark.parametrize("seed", range(3))
def test_a_solve_the_clock_cuts_is_valid_and_its_bound_holds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(200 + seed, n_vol=150, n_dem=90)
    cut(monkeypatch)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert violations(p, s) == []  # every hard rule, checked independently
    assert s.coverage == coverage(p, s)
    assert s.coverage_bound >= mip_max_coverage(p)  # the seats not searched all count in the bound
    unsearched = s.stats.unsearched_demands
    assert unsearched == len(p.demands) - 20
    assert s.stats.reproducible is False and "candidate search" in (s.stats.why_not_reproducible or "")
    # every seat of a demand not searched is not_searched, and those demands have no assignment
    by_demand = {a.demand_id for a in s.assignments}
    lost = {u.demand_id: u for u in s.unmet if u.reason is UnmetReason.NOT_SEARCHED}
    assert len(lost) == unsearched and not lost.keys() & by_demand
    head = {d.id: d.headcount for d in p.demands}
    assert all(u.missing == head[u.demand_id] for u in lost.values())
    # the search went by priority: no demand searched has a lower priority than one left out
    prio = {d.id: d.priority for d in p.demands}
    searched = set(head) - lost.keys()
    assert min(prio[d] for d in searched) >= max(prio[d] for d in lost)


def test_pinned_demands_are_searched_first(monkeypatch: pytest.MonkeyPatch) -> None:
    base = tight_problem(210, n_vol=150, n_dem=90)
    full = solve(base, SolveOptions(time_limit_s=20, seed=1))
    lowest = min(d.priority for d in base.demands)
    prio = {d.id: d.priority for d in base.demands}
    one_each = {a.demand_id: a for a in full.assignments if prio[a.demand_id] == lowest}  # a pin on each of 5
    pins = [{"volunteer_id": a.volunteer_id, "demand_id": a.demand_id} for a in list(one_each.values())[:5]]
    assert len(pins) == 5
    p = base.replace(pinned=pins)
    cut(monkeypatch, part=3)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))  # a pinned pair outside the search would be refused
    assert violations(p, s) == []
    got = {(a.volunteer_id, a.demand_id) for a in s.assignments}
    assert {(q["volunteer_id"], q["demand_id"]) for q in pins} <= got
    assert s.stats.unsearched_demands == len(p.demands) - 5  # the first part: the pinned demands (more than 3)


def test_a_dispatcher_after_a_cut_solve_repairs_with_every_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(220, n_vol=150, n_dem=90)
    cut(monkeypatch)
    desk = Dispatcher(p, SolveOptions(time_limit_s=20, seed=1))
    assert desk.solution.stats.unsearched_demands == len(p.demands) - 20
    monkeypatch.undo()
    lost = {u.demand_id for u in desk.solution.unmet if u.reason is UnmetReason.NOT_SEARCHED}
    who = desk.solution.assignments[0].volunteer_id
    fixed = desk.repair([VolunteerUnavailable(volunteer_id=who)])
    assert violations(desk.problem, fixed) == []
    assert who not in {a.volunteer_id for a in fixed.assignments}
    assert fixed.coverage_bound >= mip_max_coverage(desk.problem)
    # the repair knows every candidate: no seat is left not_searched, and the reasons are a fresh report's
    assert not any(u.reason is UnmetReason.NOT_SEARCHED for u in fixed.unmet)
    ws = Workspace.of(desk.problem, fixed)
    assert {(u.demand_id, u.missing, u.reason) for u in fixed.unmet} == \
        {(u.demand_id, u.missing, u.reason) for u in ws.solution.unmet}
    assert lost  # (the case is not trivial)
