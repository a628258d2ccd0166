"""One contract for every way matcher makes a plan: ``solve``, ``greedy_dispatch`` and ``repair``.

Like networkx's max-flow tests that run every ``flow_func`` through the same checks (and PyJobShop's
solver-parametrised conftest): each way is held to the same independent referees in ``oracle.py``
(the hard rules re-implemented, the secondary objective recomputed, an exact HiGHS MIP), and to the
public checker :func:`matcher.check_plan`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from instances import tight_problem
from oracle import coverage, mip_max_coverage, secondary, violations

from matcher import (
    DemandWithdrawn,
    Problem,
    Solution,
    SolveOptions,
    Status,
    VolunteerUnavailable,
    apply_changes,
    check_plan,
    greedy_dispatch,
    repair,
    solve,
)

OPTS = SolveOptions(time_limit_s=10, seed=1)
Way = Callable[[Problem], tuple[Problem, Solution]]


def by_solve(p: Problem) -> tuple[Problem, Solution]:
    return p, solve(p, OPTS)


def by_greedy(p: Problem) -> tuple[Problem, Solution]:
    return p, greedy_dispatch(p, OPTS)


def by_repair(p: Problem) -> tuple[Problem, Solution]:
    """Solve, then two volunteers cancel and an order is withdrawn: the plan of the changed problem."""
    first = solve(p, OPTS)
    pinned = {a.volunteer_id for a in p.pinned}  # (a pinned volunteer cannot cancel: that is a PinnedError)
    free = [a.volunteer_id for a in first.assignments if a.volunteer_id not in pinned]
    changes: list[VolunteerUnavailable | DemandWithdrawn] = [VolunteerUnavailable(volunteer_id=v) for v in free[:2]]
    changes.append(DemandWithdrawn(demand_id=p.demands[3].id))
    return apply_changes(p, changes)[0], repair(p, first, changes, OPTS)


WAYS = {"solve": by_solve, "greedy_dispatch": by_greedy, "repair": by_repair}


def problem(seed: int) -> Problem:
    base = tight_problem(seed, n_vol=120, n_dem=80)
    pinned = [{"volunteer_id": a.volunteer_id, "demand_id": a.demand_id} for a in solve(base, OPTS).assignments[::9]]
    return base.replace(pinned=pinned) if seed % 2 else base


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("way", sorted(WAYS))
def test_every_way_to_a_plan_keeps_the_contract(way: str, seed: int) -> None:
    p, s = WAYS[way](problem(500 + seed))
    # every hard rule, by the independent checker and by the public one
    assert violations(p, s) == []
    assert check_plan(p, s.assignments) == []
    # what the solution says of itself is true
    assert s.coverage == coverage(p, s)
    assert s.secondary == pytest.approx(secondary(p, s, OPTS), abs=1e-4)
    best = mip_max_coverage(p)
    assert s.coverage <= best <= s.coverage_bound  # the bound is valid
    assert (s.status is Status.OPTIMAL) == (s.coverage == s.coverage_bound)
    if s.status is Status.OPTIMAL:
        assert s.coverage == best
    assert s.gap == pytest.approx((s.coverage_bound - s.coverage) / max(s.coverage_bound, 1))
    # every missing seat is reported once, with a reason
    filled = {d.id: 0 for d in p.demands}
    for a in s.assignments:
        filled[a.demand_id] += 1
    reported = {d.id: 0 for d in p.demands}
    for u in s.unmet:
        reported[u.demand_id] += u.missing
    assert reported == {d.id: d.headcount - filled[d.id] for d in p.demands}
    assert s.stats["engine"]
    # solve and repair reach the optimum on these instances; the greedy dispatcher is only a baseline
    if way != "greedy_dispatch":
        assert s.coverage == best
