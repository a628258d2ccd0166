"""A candidate search the clock ends: what it found is exact, what it did not reach is named, the bound holds.

The clock is made to end the search deterministically: ``AFTER_SEARCH`` asks for more time after the search than
any deadline leaves, so only the first part (and the pinned demands) is searched. The rule for starting a part is
held to its arithmetic with a fake clock that moves only as the jobs search (:func:`fake_clock`).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from instances import tight_problem, v2_problem
from oracle import coverage, mip_max_coverage, violations

from matcher import DemandChanged, Dispatcher, SolveOptions, Status, VolunteerUnavailable, solve
from matcher.dispatch import explain_demand
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
    assert len(got.not_searched) == 0 and len(want) > 500
    assert np.array_equal(got.pairs.v, want.v) and np.array_equal(got.pairs.d, want.d)
    assert np.array_equal(got.pairs.km, want.km)


@pytest.mark.parametrize("first", [0, 13, 40])
def test_a_search_out_of_time_keeps_its_first_part_and_names_the_rest(first: int) -> None:
    arr = build_arrays(tight_problem(4, n_vol=300, n_dem=150))
    order = np.random.default_rng(2).permutation(arr.nd).astype(np.int64)
    now = time.perf_counter()
    got = search_until(arr, order, first, now - 1, (0.0, 0.0), now, part_demands=10, workers=2)
    searched = order[: max(first, 10)]
    assert np.array_equal(got.not_searched, np.sort(order[max(first, 10):]))  # the rest, every one of them
    want = candidate_pairs(arr, searched)  # exactly the searched demands' pairs
    assert np.array_equal(got.pairs.v, want.v) and np.array_equal(got.pairs.d, want.d)
    whole = complete_pairs(arr, got)  # and the rest found later gives every pair
    every = candidate_pairs(arr)
    assert np.array_equal(whole.v, every.v) and np.array_equal(whole.d, every.d)
    assert np.array_equal(whole.km, every.km)
    assert complete_pairs(arr, Searched(every, np.zeros(0, dtype=np.int64))) is every


class FakeTime:
    """A clock for the candidate search that moves only as its jobs search: ``rate`` seconds per demand."""

    def __init__(self, rate: float) -> None:
        self.now, self.rate = 0.0, rate

    def perf_counter(self) -> float:
        return self.now


def fake_clock(monkeypatch: pytest.MonkeyPatch, rate: float) -> FakeTime:
    """Give the candidate search a :class:`FakeTime` that each job moves on by ``rate`` seconds per demand."""
    clock = FakeTime(rate)
    real_query = candidates.query

    def query(*args: object, **kwargs: object) -> object:
        clock.now += clock.rate * len(args[2])  # type: ignore[arg-type]
        return real_query(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(candidates, "time", clock)
    monkeypatch.setattr(candidates, "query", query)
    return clock


@pytest.mark.parametrize(("after", "parts"), [((0.5, 1.0), 7), ((0.0, 1.0), 10), ((0.5, 0.0), 15), ((1.0, 2.0), 3)])
def test_a_part_starts_only_with_room_for_it_and_what_comes_after(after: tuple[float, float], parts: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # one radius bucket, 15 parts of 10 demands, each 0.1 s; 1 s before the search, the deadline 2 s after its start:
    # part p (p parts done) starts when 0.1 (p + 1) + after[0] * 1 + after[1] * 0.1 (p + 1) <= 2
    p = tight_problem(6, n_vol=200, n_dem=150)
    p = p.replace(volunteers=[v.model_copy(update={"max_travel_km": 3.0}) for v in p.volunteers])
    arr = build_arrays(p)
    fake_clock(monkeypatch, 0.01)
    order = np.arange(arr.nd, dtype=np.int64)
    got = search_until(arr, order, 0, 2.0 + 1e-9, after, -1.0, part_demands=10, workers=1)
    assert len(got.not_searched) == arr.nd - 10 * parts
    assert np.array_equal(got.not_searched, order[10 * parts:])


@pytest.mark.parametrize("deadline", [0.05, 0.2, 0.45, 0.8, 1.3])
def test_a_cut_anywhere_with_threads_keeps_whole_parts_only(deadline: float, monkeypatch: pytest.MonkeyPatch) -> None:
    # several radius buckets, two threads: the clock may refuse a job in the middle of a part
    p = tight_problem(7, n_vol=300, n_dem=160)
    rng = np.random.default_rng(7)
    p = p.replace(volunteers=[v.model_copy(update={"max_travel_km": float(rng.choice([0.3, 1.0, 2.0, 4.5]))})
                              for v in p.volunteers])
    arr = build_arrays(p)
    fake_clock(monkeypatch, 0.001)
    order = np.random.default_rng(8).permutation(arr.nd).astype(np.int64)
    got = search_until(arr, order, 0, deadline, (0.0, 1.0), 0.0, part_demands=9, workers=2)
    lost = len(got.not_searched)
    assert 0 < lost < arr.nd or deadline >= 0.8
    searched = order[: arr.nd - lost]  # a prefix of the order, in whole parts (the first of 9, the rest balanced)
    ends = 9 + np.cumsum([len(q) for q in np.array_split(np.arange(arr.nd - 9), -(-(arr.nd - 9) // 9))])
    assert arr.nd - lost in {9, *ends.tolist()}
    assert np.array_equal(np.sort(got.not_searched), np.sort(order[arr.nd - lost:]))
    want = candidate_pairs(arr, searched)
    assert np.array_equal(got.pairs.v, want.v) and np.array_equal(got.pairs.d, want.d)


@pytest.mark.parametrize("seed", range(3))
def test_a_solve_the_clock_cuts_is_valid_and_its_bound_holds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(200 + seed, n_vol=150, n_dem=90)
    cut(monkeypatch)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert s.status is Status.FEASIBLE and s.stats.engine == "greedy (the clock ended the candidate search)"
    assert any("ended the candidate search" in w for w in s.warnings)  # (the manifest's warnings too)
    assert violations(p, s) == []  # every hard rule, checked independently
    assert s.coverage == coverage(p, s)
    assert s.coverage_bound >= mip_max_coverage(p)  # the seats not searched all count in the bound
    not_searched = s.stats.not_searched_demands
    assert not_searched == len(p.demands) - 20
    assert s.stats.reproducible is False and "candidate search" in (s.stats.why_not_reproducible or "")
    # every seat of a demand not searched is not_searched, and those demands have no assignment
    by_demand = {a.demand_id for a in s.assignments}
    lost = {u.demand_id: u for u in s.unmet if u.reason is UnmetReason.NOT_SEARCHED}
    assert len(lost) == not_searched and not lost.keys() & by_demand
    head = {d.id: d.headcount for d in p.demands}
    assert all(u.missing == head[u.demand_id] for u in lost.values())
    one = explain_demand(p, s, sorted(lost)[0]).text()  # a dispatcher asking about one is told the plan never tried
    assert "not_searched" in one and "never tried" in one
    # the search went by priority: no demand searched has a lower priority than one left out
    prio = {d.id: d.priority for d in p.demands}
    searched = set(head) - lost.keys()
    assert min(prio[d] for d in searched) >= max(prio[d] for d in lost)


def test_the_search_goes_by_the_weights_given(monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(205, n_vol=150, n_dem=90)
    cut(monkeypatch)
    upside_down = {1: 16, 2: 8, 3: 4, 4: 2, 5: 1}  # the least urgent seats are worth the most here
    s = solve(p, SolveOptions(time_limit_s=20, seed=1, priority_weights=upside_down))
    lost = {u.demand_id for u in s.unmet if u.reason is UnmetReason.NOT_SEARCHED}
    prio = {d.id: d.priority for d in p.demands}
    assert max(prio[d] for d in set(prio) - lost) <= min(prio[d] for d in lost)
    assert s.coverage_bound >= mip_max_coverage(p, upside_down)


@pytest.mark.parametrize("seed", range(2))
def test_a_cut_solve_of_the_v2_world_is_valid_and_its_bound_holds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    p = v2_problem(300 + seed)  # travel times, crews, series, ratings
    cut(monkeypatch)
    s = solve(p, SolveOptions(time_limit_s=20, seed=1))
    assert violations(p, s) == []
    assert s.coverage == coverage(p, s) and s.coverage_bound >= mip_max_coverage(p)
    assert s.stats.not_searched_demands == len(p.demands) - 20


def test_a_cancelled_solve_still_names_the_demands_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(230, n_vol=150, n_dem=90)
    cut(monkeypatch)
    stop = threading.Event()
    stop.set()
    s = solve(p, SolveOptions(time_limit_s=20, seed=1), cancel=stop)
    assert s.stats.cancelled and s.stats.not_searched_demands == len(p.demands) - 20
    assert "candidate search" in (s.stats.why_not_reproducible or "")
    assert sum(u.missing for u in s.unmet if u.reason is UnmetReason.NOT_SEARCHED) > 0


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
    assert s.stats.not_searched_demands == len(p.demands) - 5  # the first part: the pinned demands (more than 3)


def test_a_dispatcher_after_a_cut_solve_repairs_with_every_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    p = tight_problem(220, n_vol=150, n_dem=90)
    cut(monkeypatch)
    desk = Dispatcher(p, SolveOptions(time_limit_s=20, seed=1))
    assert desk.solution.stats.not_searched_demands == len(p.demands) - 20
    monkeypatch.undo()
    lost = {u.demand_id for u in desk.solution.unmet if u.reason is UnmetReason.NOT_SEARCHED}
    who = desk.solution.assignments[0].volunteer_id
    fixed = desk.repair([VolunteerUnavailable(volunteer_id=who)])
    assert violations(desk.problem, fixed) == []
    assert who not in {a.volunteer_id for a in fixed.assignments}
    assert fixed.coverage_bound >= mip_max_coverage(desk.problem)
    # the plan never looked at the demands its solve did not search: a repair away from them leaves them so
    still = {u.demand_id for u in fixed.unmet if u.reason is UnmetReason.NOT_SEARCHED}
    assert still and still <= lost and fixed.stats.not_searched_demands == len(still)
    # a change to one of them puts it in the repair's region: it gets its candidates' reasons, or a volunteer
    target = sorted(lost)[0]
    dem = next(d for d in desk.problem.demands if d.id == target)
    again = desk.repair([DemandChanged(demand=dem.model_copy(update={"headcount": dem.headcount + 1}))])
    assert violations(desk.problem, again) == []
    assert not any(u.demand_id == target and u.reason is UnmetReason.NOT_SEARCHED for u in again.unmet)
    fresh = Workspace.of(desk.problem, again)  # its reasons are those a fresh report gives the changed demand
    assert {(u.missing, u.reason) for u in again.unmet if u.demand_id == target} == \
        {(u.missing, u.reason) for u in fresh.solution.unmet if u.demand_id == target}
