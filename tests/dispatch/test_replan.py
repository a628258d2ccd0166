"""repair: after changes, the best coverage with as few changed assignments as possible."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from instances import tight_problem
from oracle import violations

from matcher import (
    AssignmentPinned,
    Change,
    DemandAdded,
    DemandWithdrawn,
    PairForbidden,
    Problem,
    ProblemError,
    Solution,
    SolveOptions,
    VolunteerUnavailable,
    apply_changes,
    generate_problem,
    repair,
    solve,
)

OPTS = SolveOptions(time_limit_s=10)


def changes_for(p: Problem, s: Solution, seed: int) -> list[Change]:
    """One to three changes of different kinds, drawn with the seed, touching the current plan."""
    rng = np.random.default_rng(seed)
    busy = sorted({a.volunteer_id for a in s.assignments})
    served = sorted({a.demand_id for a in s.assignments})
    out: list[Change] = []
    kinds = rng.choice(["cancel", "add", "withdraw", "forbid", "window"], size=int(rng.integers(1, 4)), replace=False)
    for kind in kinds:
        if kind == "cancel":
            out.append(VolunteerUnavailable(volunteer_id=str(rng.choice(busy))))
        elif kind == "add":
            base = p.demands[int(rng.integers(len(p.demands)))]
            out.append(DemandAdded(demand=base.model_copy(update={"id": "NEW", "headcount": 2,
                                                                  "preferred_volunteers": ()})))
        elif kind == "withdraw":
            out.append(DemandWithdrawn(demand_id=str(rng.choice(served))))
        elif kind == "forbid":
            a = s.assignments[int(rng.integers(len(s.assignments)))]
            out.append(PairForbidden(volunteer_id=a.volunteer_id, demand_id=a.demand_id))
        else:
            a = s.assignments[int(rng.integers(len(s.assignments)))]
            d = next(x for x in p.demands if x.id == a.demand_id)
            out.append(VolunteerUnavailable(volunteer_id=a.volunteer_id, start=d.start, end=d.end))
    return out


def changed_count(before: Solution, after: Solution, new: Problem) -> int:
    """Current assignments (still possible to name) that the new plan does not keep."""
    vids, dids = {v.id for v in new.volunteers}, {d.id for d in new.demands}
    old = {(a.volunteer_id, a.demand_id) for a in before.assignments if a.volunteer_id in vids and a.demand_id in dids}
    return len(old - {(a.volunteer_id, a.demand_id) for a in after.assignments})


@pytest.mark.parametrize("seed", range(10))
def test_repair_matches_a_full_re_solve_with_fewer_changes(seed: int) -> None:
    p = tight_problem(seed, n_vol=80, n_dem=50)
    s = solve(p, OPTS)
    changes = changes_for(p, s, seed)
    r = repair(p, s, changes, OPTS)
    new, _, _ = apply_changes(p, changes)
    full = solve(new, OPTS)
    assert violations(new, r) == []
    assert r.stats["repair"]["whole_problem"] is True
    if r.status.value == "optimal" and full.status.value == "optimal":
        assert r.coverage == full.coverage, [c.kind for c in changes]
    assert r.coverage >= full.coverage or r.status.value != "optimal"
    assert r.stats["repair"]["changed"] == changed_count(s, r, new) <= changed_count(s, full, new)


def test_nothing_changes_without_need() -> None:
    p = tight_problem(3, n_vol=80, n_dem=50)
    s = solve(p, OPTS)
    a = s.assignments[0]
    r = repair(p, s, [PairForbidden(volunteer_id=a.volunteer_id, demand_id=a.demand_id)], OPTS)
    assert (a.volunteer_id, a.demand_id) not in {(x.volunteer_id, x.demand_id) for x in r.assignments}
    new, _, _ = apply_changes(p, [PairForbidden(volunteer_id=a.volunteer_id, demand_id=a.demand_id)])
    full = solve(new, OPTS)
    # the forbidden pair goes; refilling its seat may move one or two more, never more than a fresh plan does
    assert 1 <= r.stats["repair"]["changed"] <= min(3, changed_count(s, full, new))
    assert r.coverage >= full.coverage


def test_pinned_assignment_stays() -> None:
    p = tight_problem(4, n_vol=80, n_dem=50)
    s = solve(p, OPTS)
    r0 = repair(p, s, [], OPTS)
    assert r0.stats["repair"]["changed"] == 0 and r0.coverage == s.coverage
    a = s.assignments[-1]
    r = repair(p, s, [AssignmentPinned(volunteer_id=a.volunteer_id, demand_id=a.demand_id),
                      {"kind": "volunteer_unavailable", "volunteer_id": s.assignments[0].volunteer_id}], OPTS)
    assert (a.volunteer_id, a.demand_id) in {(x.volunteer_id, x.demand_id) for x in r.assignments}


def test_bad_changes_are_named() -> None:
    p = tight_problem(5, n_vol=40, n_dem=20)
    s = solve(p, OPTS)
    with pytest.raises(ProblemError, match=r"changes\[1\] \(demand_withdrawn\).demand_id: unknown demand 'zz'"):
        repair(p, s, [VolunteerUnavailable(volunteer_id="v1"), DemandWithdrawn(demand_id="zz")])
    with pytest.raises(ProblemError, match="changes"):
        repair(p, s, [{"kind": "volunteer_exploded", "volunteer_id": "v1"}])
    bad: dict[str, Any] = {"kind": "demand_added", "demand": {"id": "x", "category": "c", "headcount": 0}}
    with pytest.raises(ProblemError, match="headcount"):
        repair(p, s, [bad])


def test_what_a_new_demand_refers_to_is_checked_and_named() -> None:
    p = generate_problem("community", 1)  # with the built-in taxonomy
    s = solve(p, OPTS)
    base = p.demands[0].model_dump()
    wrong = {**base, "id": "N1", "area_id": "nowhere", "required_skills": ["juggling"],
             "category": "astrology", "preferred_volunteers": ["ghost"]}
    with pytest.raises(ProblemError) as caught:
        repair(p, s, [{"kind": "volunteer_unavailable", "volunteer_id": p.volunteers[0].id},
                      {"kind": "demand_added", "demand": wrong}])
    assert caught.value.errors == [
        "changes[1] (demand_added).demand.area_id: unknown area 'nowhere'",
        "changes[1] (demand_added).demand.preferred_volunteers: unknown volunteer 'ghost'",
        "changes[1] (demand_added).demand.category: 'astrology' is not in taxonomy 'builtin'",
        "changes[1] (demand_added).demand.required_skills: 'juggling' is not a skill of taxonomy 'builtin'",
    ]
    with pytest.raises(ProblemError, match=r"changes\[0\] \(demand_changed\).demand.area_id: unknown area"):
        apply_changes(p, [{"kind": "demand_changed", "demand": {**base, "area_id": "nowhere"}}])


def test_a_local_change_on_a_bigger_problem_stays_local() -> None:
    p = generate_problem("street", 2, scale=0.3)  # 3,000 volunteers: repaired in a region
    s = solve(p, OPTS)
    busiest = max({a.volunteer_id for a in s.assignments},
                  key=lambda v: sum(a.volunteer_id == v for a in s.assignments))
    mine = [a for a in s.assignments if a.volunteer_id == busiest]
    r = repair(p, s, [VolunteerUnavailable(volunteer_id=busiest)], OPTS)
    new, _, _ = apply_changes(p, [VolunteerUnavailable(volunteer_id=busiest)])
    info = r.stats["repair"]
    assert violations(new, r) == []
    assert not info["whole_problem"] and info["region_volunteers"] < len(p.volunteers) / 2
    assert busiest not in {a.volunteer_id for a in r.assignments}
    full = solve(new, OPTS)
    print(f"repair: coverage {r.coverage} changed {info['changed']} region {info['region_volunteers']} "
          f"{info['seconds']} s; full: coverage {full.coverage} changed {changed_count(s, full, new)}")
    assert info["changed"] <= changed_count(s, full, new)  # a fresh plan moves far more people
    assert r.coverage >= s.coverage - sum(16 for _ in mine)  # never worse than dropping the cancelled tasks
    assert r.coverage <= r.coverage_bound
