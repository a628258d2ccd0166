"""Dispatcher: a plan kept in memory and repaired again and again, incrementally.

Every repaired plan must be what a fresh report of the same assignments says
(unmet reasons, KPIs, secondary, travel), keep every hard rule, and match the
stateless :func:`matcher.repair`.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from instances import tight_problem
from oracle import violations

from matcher import (
    Dispatcher,
    Problem,
    ProblemError,
    Solution,
    SolveOptions,
    VolunteerUnavailable,
    explain_demand,
    generate_problem,
    recommend,
    repair,
)
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.context import Clock
from matcher.engine.report import build_solution
from matcher.model import AssignmentPinned, Change, DemandAdded, DemandChanged, DemandWithdrawn, PairForbidden

OPTS = SolveOptions(time_limit_s=10)


def fresh_report(problem: Problem, solution: Solution, opts: SolveOptions) -> Solution:
    """The solution's assignments reported from scratch: new arrays, new candidate pairs."""
    arr = build_arrays(problem)
    vidx, didx = arr.volunteer_index, arr.demand_index
    v = np.array([vidx[a.volunteer_id] for a in solution.assignments], dtype=np.int64)
    d = np.array([didx[a.demand_id] for a in solution.assignments], dtype=np.int64)
    return build_solution(arr, candidate_pairs(arr), v, d, opts, solution.status, int(solution.coverage),
                          int(solution.coverage_bound), {}, Clock())


def assert_reported_as_fresh(problem: Problem, got: Solution, opts: SolveOptions) -> None:
    want = fresh_report(problem, got, opts)
    assert got.assignments == want.assignments
    assert got.unmet == want.unmet
    assert got.kpis == want.kpis
    assert got.secondary == want.secondary
    assert violations(problem, got) == []


def day_of_changes(p: Problem, s: Solution, seed: int) -> list[list[Change]]:
    """Five rounds of changes a dispatch desk sees: cancellations, new and changed orders, withdrawals, refusals."""
    rng = np.random.default_rng(seed)
    busy = sorted({a.volunteer_id for a in s.assignments})
    rounds: list[list[Change]] = []
    for r in range(5):
        a = s.assignments[int(rng.integers(len(s.assignments)))]
        d = p.demands[int(rng.integers(len(p.demands)))]
        rounds.append([
            VolunteerUnavailable(volunteer_id=str(busy[int(rng.integers(len(busy)))])),
            [DemandAdded(demand=d.model_copy(update={"id": f"urgent-{r}", "priority": 5, "preferred_volunteers": ()})),
             DemandChanged(demand=d.model_copy(update={"headcount": d.headcount + 1})),
             DemandWithdrawn(demand_id=a.demand_id),
             PairForbidden(volunteer_id=a.volunteer_id, demand_id=a.demand_id)][r % 4],
        ])
        busy = [b for b in busy if b != rounds[-1][0].volunteer_id]  # type: ignore[union-attr]
    return rounds


@pytest.fixture(scope="module")
def street_desk() -> tuple[Problem, Dispatcher]:
    p = generate_problem("street", 2, scale=0.3)  # 3,000 volunteers: repaired region by region
    return p, Dispatcher(p, OPTS)


def test_a_day_of_repairs_on_a_region_sized_problem(street_desk: tuple[Problem, Dispatcher]) -> None:
    p, desk = street_desk
    start = desk.solution
    for changes in day_of_changes(p, start, 7):
        before, plan = desk.snapshot()
        got = desk.repair(changes)
        info = got.stats["repair"]
        assert not info["whole_problem"] and info["region_volunteers"] < len(p.volunteers) / 3
        assert got is desk.solution
        assert_reported_as_fresh(desk.problem, got, OPTS)
        # the same repair from scratch (the stateless function) finds the same plan
        again = repair(before, plan, changes, OPTS)
        assert again.assignments == got.assignments and again.coverage == got.coverage
    assert desk.revision == 5
    assert {"urgent-0", "urgent-4"} <= {d.id for d in desk.problem.demands}


def test_small_problems_are_repaired_whole_and_match_a_fresh_report() -> None:
    p = tight_problem(2, n_vol=90, n_dem=60)
    desk = Dispatcher(p, OPTS)
    for changes in day_of_changes(p, desk.solution, 2):
        got = desk.repair(changes)
        assert got.stats["repair"]["whole_problem"]
        assert_reported_as_fresh(desk.problem, got, OPTS)


def test_a_bad_change_leaves_the_plan_as_it_was() -> None:
    p = tight_problem(3, n_vol=40, n_dem=20)
    desk = Dispatcher(p, OPTS)
    plan = desk.snapshot()
    with pytest.raises(ProblemError, match=r"changes\[1\] \(volunteer_unavailable\).volunteer_id: unknown volunteer"):
        desk.repair([VolunteerUnavailable(volunteer_id=p.volunteers[0].id),
                     VolunteerUnavailable(volunteer_id="nobody")])
    assert desk.snapshot() == plan and desk.revision == 0


def test_concurrent_repairs_run_one_at_a_time(street_desk: tuple[Problem, Dispatcher]) -> None:
    _, desk = street_desk
    busy = sorted({a.volunteer_id for a in desk.solution.assignments})[:6]
    start = desk.revision
    errors: list[BaseException] = []

    def work(names: list[str]) -> None:
        try:
            for n in names:
                desk.repair([VolunteerUnavailable(volunteer_id=n)])
                desk.recommend(desk.solution.unmet[0].demand_id if desk.solution.unmet else desk.problem.demands[0])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(busy[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert desk.revision == start + 6
    assert not set(busy) & {a.volunteer_id for a in desk.solution.assignments}  # every cancellation holds
    assert_reported_as_fresh(desk.problem, desk.solution, OPTS)


def test_start_from_a_given_plan_and_ask_questions() -> None:
    p = tight_problem(4, n_vol=60, n_dem=40)
    plan = Solution.model_validate_json(Dispatcher(p, OPTS).solution.model_dump_json())  # e.g. last night's file
    desk = Dispatcher(p, OPTS, solution=plan)
    # the plan is reported afresh, with the engine's own claims (a given bound is not taken on trust)
    assert desk.solution.assignments == plan.assignments and desk.solution.unmet == plan.unmet
    assert desk.solution.coverage == plan.coverage <= desk.solution.coverage_bound
    assert desk.solution.stats["engine"] == "given plan, checked" and desk.solution.warnings == ()
    short = next(u.demand_id for u in plan.unmet)
    assert desk.recommend(short) == recommend(p, plan, short, 5, OPTS)
    assert desk.explain_demand(short) == explain_demand(p, plan, short)
    who = plan.assignments[0].volunteer_id
    assert desk.explain_volunteer(who).volunteer_id == who
    got = desk.repair([{"kind": "volunteer_unavailable", "volunteer_id": who}])
    assert who not in {a.volunteer_id for a in got.assignments}
    assert_reported_as_fresh(desk.problem, got, OPTS)


def test_a_cancelled_repair_still_answers_a_valid_plan() -> None:
    p = tight_problem(5, n_vol=80, n_dem=50)
    desk = Dispatcher(p, OPTS)
    stop = threading.Event()
    stop.set()
    who = desk.solution.assignments[0].volunteer_id
    got = desk.repair([VolunteerUnavailable(volunteer_id=who)], cancel=stop)
    assert violations(desk.problem, got) == []
    assert who not in {a.volunteer_id for a in got.assignments}


def test_a_shrunk_order_and_a_pin_on_a_region_sized_problem(street_desk: tuple[Problem, Dispatcher]) -> None:
    _, desk = street_desk
    problem, plan = desk.snapshot()
    held: dict[str, list[str]] = {}
    for a in plan.assignments:
        held.setdefault(a.demand_id, []).append(a.volunteer_id)
    shrunk = next(d for d in problem.demands if len(held.get(d.id, [])) >= 2)
    pin = next(a for a in plan.assignments if a.demand_id != shrunk.id)
    got = desk.repair([DemandChanged(demand=shrunk.model_copy(update={"headcount": 1})),
                       AssignmentPinned(volunteer_id=pin.volunteer_id, demand_id=pin.demand_id)])
    assert not got.stats["repair"]["whole_problem"]
    assert sum(a.demand_id == shrunk.id for a in got.assignments) == 1
    assert (pin.volunteer_id, pin.demand_id) in {(a.volunteer_id, a.demand_id) for a in got.assignments}
    assert got.stats["repair"]["changed"] == len(held[shrunk.id]) - 1  # only the seats the order no longer has
    assert_reported_as_fresh(desk.problem, got, OPTS)


def test_the_bound_grows_only_with_new_or_changed_orders(street_desk: tuple[Problem, Dispatcher]) -> None:
    _, desk = street_desk
    plan = desk.solution
    a = plan.assignments[len(plan.assignments) // 2]
    refused = desk.repair([PairForbidden(volunteer_id=a.volunteer_id, demand_id=a.demand_id)])
    assert refused.coverage_bound == plan.coverage_bound  # a refusal adds nothing anyone could cover
    base = desk.problem.demands[0]
    new = base.model_copy(update={"id": "bound-check", "headcount": 3, "priority": 4, "preferred_volunteers": ()})
    added = desk.repair([DemandAdded(demand=new)])
    weight = desk.options.priority_weights[4]
    assert added.coverage_bound == refused.coverage_bound + 3 * weight
    assert added.coverage <= added.coverage_bound
