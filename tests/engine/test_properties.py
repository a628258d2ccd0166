"""Property tests: any valid Problem yields a solution that breaks no hard rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import coverage, violations

from matcher import Problem, SolveOptions, Status, solve

T0 = datetime(2026, 11, 23, 8, tzinfo=timezone(timedelta(hours=8)))
SKILLS = ["a", "b", "c"]


def _time(q: int) -> str:
    return (T0 + timedelta(minutes=15 * q)).isoformat()


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    nv = draw(st.integers(0, 8))
    nd = draw(st.integers(0, 8))
    vols: list[dict[str, Any]] = []
    for i in range(nv):
        windows = []
        for _ in range(draw(st.integers(0, 3))):
            s = draw(st.integers(0, 40))
            windows.append({"start": _time(s), "end": _time(s + draw(st.integers(1, 24)))})
        vols.append({
            "id": f"v{i}",
            "lat": draw(st.floats(39.9, 39.93)),
            "lon": draw(st.floats(116.4, 116.43)),
            "skills": draw(st.lists(st.sampled_from(SKILLS), unique=True)),
            "availability": windows,
            "max_tasks": draw(st.integers(0, 4)),
            "max_hours": draw(st.sampled_from([0.0, 0.5, 1.0, 2.25, 8.0])),
            "max_travel_km": draw(st.sampled_from([0.5, 2.0, 5.0])),
            "team_id": draw(st.sampled_from([None, "t1", "t2"])),
            "insured": draw(st.booleans()),
            "recent_hours": draw(st.floats(0, 50)),
        })
    dems: list[dict[str, Any]] = []
    for j in range(nd):
        s = draw(st.integers(0, 48))
        dems.append({
            "id": f"d{j}",
            "lat": draw(st.floats(39.9, 39.93)),
            "lon": draw(st.floats(116.4, 116.43)),
            "category": "x",
            "required_skills": draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=2)),
            "headcount": draw(st.integers(1, 4)),
            "start": _time(s),
            "end": _time(s + draw(st.integers(1, 12))),
            "priority": draw(st.integers(1, 5)),
            "requires_insured": draw(st.booleans()),
            "team_id": draw(st.sampled_from([None, None, "t1"])),
            "preferred_volunteers": [f"v{k}" for k in draw(st.lists(st.integers(0, max(nv - 1, 0)), max_size=2,
                                                                    unique=True)) if k < nv],
        })
    pairs = [{"volunteer_id": f"v{a}", "demand_id": f"d{b}"} for a in range(nv) for b in range(nd)]
    forbidden = draw(st.lists(st.sampled_from(pairs), unique_by=lambda p: (p["volunteer_id"], p["demand_id"]),
                              max_size=4)) if pairs else []
    return Problem.from_dict({"volunteers": vols, "demands": dems, "forbidden": forbidden})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 3))
def test_any_valid_problem_gets_a_rule_abiding_solution(problem: Problem, seed: int) -> None:
    s = solve(problem, SolveOptions(time_limit_s=5, seed=seed))
    assert violations(problem, s) == []
    assert s.coverage == coverage(problem, s) <= s.coverage_bound
    assert (s.status is Status.OPTIMAL) == (s.coverage == s.coverage_bound)
    # every missing seat is reported exactly once
    filled = {d.id: 0 for d in problem.demands}
    for a in s.assignments:
        filled[a.demand_id] += 1
    missing = {d.id: d.headcount - filled[d.id] for d in problem.demands}
    reported = {d.id: 0 for d in problem.demands}
    for u in s.unmet:
        reported[u.demand_id] += u.missing
    assert reported == missing


@settings(max_examples=60, deadline=None)
@given(problems())
def test_pinning_a_solution_reproduces_its_coverage(problem: Problem) -> None:
    first = solve(problem, SolveOptions(time_limit_s=5))
    pinned = [{"volunteer_id": a.volunteer_id, "demand_id": a.demand_id} for a in first.assignments]
    p = problem.replace(pinned=pinned)
    again = solve(p, SolveOptions(time_limit_s=5))
    assert violations(p, again) == []
    assert again.coverage == first.coverage
