"""Repairs in SPEC v2's world: after changes, the plan still keeps rules 7b, 11 and 12 (checked by the
oracle), reaches the MIP's coverage, and keeps a household's series with one volunteer where it can."""

from __future__ import annotations

import pytest
from instances import v2_problem
from oracle import mip_max_coverage, violations
from test_replan import changes_for

from matcher import Dispatcher, Problem, SolveOptions, VolunteerUnavailable, apply_changes, solve

OPTS = SolveOptions(time_limit_s=10, seed=0)


@pytest.mark.parametrize("seed", range(4))
def test_repairs_keep_the_v2_rules_and_reach_the_optimum(seed: int) -> None:
    p = v2_problem(seed)
    d = Dispatcher(p, OPTS)
    changes = changes_for(p, d.solution, seed)
    after = d.repair(changes)
    new = apply_changes(p, changes)[0]
    assert violations(new, after) == []
    assert after.coverage == mip_max_coverage(new)


def test_a_repair_keeps_a_weekly_series_with_one_volunteer() -> None:
    """Three weekly visits by one volunteer, who drops out: the repair gives all three to one other, not to three
    (load spreading alone would); when they cancel one week only, they keep the other two (fewer changes)."""
    vols = [{"id": f"V{i}", "lat": 39.90, "lon": 116.40 + 0.0005 * i, "skills": ["general"], "max_tasks": 5,
             "max_hours": 10.0, "max_travel_km": 5.0,
             "availability": [{"start": f"{day}T07:00:00+08:00", "end": f"{day}T21:00:00+08:00"}
                              for day in ("2026-11-23", "2026-11-30", "2026-12-07")]} for i in range(3)]
    visits = [{"id": f"W{k}", "lat": 39.90, "lon": 116.40, "category": "care", "required_skills": ["general"],
               "headcount": 1, "priority": 4, "series_id": "household-7",
               "start": f"{day}T09:00:00+08:00", "end": f"{day}T10:00:00+08:00"}
              for k, day in enumerate(("2026-11-23", "2026-11-30", "2026-12-07"))]
    p = Problem.from_dict({"volunteers": vols, "demands": visits, "travel": {"speed_kmh": 4.5}})
    first = solve(p, OPTS)
    who = {a.volunteer_id for a in first.assignments}
    assert len(who) == 1
    d = Dispatcher(p, OPTS, solution=first)
    gone = who.pop()
    one_week = d.repair([VolunteerUnavailable(volunteer_id=gone, start=visits[1]["start"], end=visits[1]["end"])])
    assert one_week.coverage == first.coverage
    assert sorted(a.volunteer_id == gone for a in one_week.assignments) == [False, True, True]
    d = Dispatcher(p, OPTS, solution=first)
    after = d.repair([VolunteerUnavailable(volunteer_id=gone)])
    served = {a.volunteer_id for a in after.assignments}
    assert after.coverage == first.coverage and gone not in served and len(served) == 1
