"""Hours and times compare exactly: a cap means the decimal it was written as, and `optimal` is never false."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import mip_max_coverage, violations

from matcher import Problem, SolveOptions, Status, explain_demand, recommend, solve

T0 = datetime(2026, 11, 23, 8, tzinfo=timezone(timedelta(hours=8)))


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def four_point_one() -> dict[str, Any]:
    """A cap of 4.1 h and two orders of 2 h and 2 h 06 min: 4.1 h in all, which fits exactly."""
    return {
        "volunteers": [{"id": "v", "lat": 39.9, "lon": 116.4, "max_hours": 4.1,
                        "availability": [{"start": at(0), "end": at(600)}]}],
        "demands": [
            {"id": "d1", "lat": 39.9, "lon": 116.4, "category": "c", "headcount": 1, "priority": 3,
             "start": at(0), "end": at(120)},
            {"id": "d2", "lat": 39.9, "lon": 116.4, "category": "c", "headcount": 1, "priority": 3,
             "start": at(120), "end": at(246)},
        ],
    }


def test_a_cap_of_4_1_hours_takes_2_h_and_2_h_06_min() -> None:
    p = Problem.from_dict(four_point_one())
    s = solve(p)
    assert s.status is Status.OPTIMAL and s.coverage == 8 and len(s.assignments) == 2
    assert violations(p, s) == []
    # explain and recommend use the same arithmetic: with both orders held, v has no hours left
    assert explain_demand(p, s, "d2").assigned == ("v",)
    # pinning both is allowed (it was refused with "rule 8")
    pinned = p.replace(pinned=[{"volunteer_id": "v", "demand_id": "d1"}, {"volunteer_id": "v", "demand_id": "d2"}])
    assert solve(pinned).coverage == 8


def test_explain_and_recommend_count_hours_exactly() -> None:
    data = four_point_one()
    data["demands"][1]["end"] = at(247)  # one minute too long: 4.1167 h
    p = Problem.from_dict(data)
    s = solve(p)
    assert s.coverage == 4 and s.status is Status.OPTIMAL
    unmet = next(u.demand_id for u in s.unmet)
    note = explain_demand(p, s, unmet).candidates[0]
    assert note.reason.value == "hours_used"
    rec = recommend(p, s, unmet, k=1)[0]
    assert rec.leaves  # taking it means leaving the other order: the hours do not fit both


LENGTHS = [6, 30, 42, 60, 66, 120, 126, 138]  # minutes: sums are whole tenths of an hour (2 h + 2 h 06 = 4.1 h)


@st.composite
def minute_grid_problems(draw: st.DrawFn) -> Problem:
    """Orders of a few lengths; caps are sums of those lengths, written as decimal hours (246 min is 4.1)."""
    nv, nd = draw(st.integers(1, 5)), draw(st.integers(1, 7))
    dems, lengths, s = [], [], 0
    for j in range(nd):  # mostly back to back, so that a volunteer can take a run of them
        s = draw(st.sampled_from([s, s, s + 6, 0]))
        lengths.append(draw(st.sampled_from(LENGTHS)))
        dems.append({"id": f"d{j}", "lat": 39.9, "lon": 116.4, "category": "c", "priority": draw(st.integers(1, 5)),
                     "headcount": draw(st.integers(1, 2)), "start": at(s), "end": at(s + lengths[-1])})
        s += lengths[-1]
    vols = []
    for i in range(nv):
        first = draw(st.integers(0, nd - 1))
        cap_minutes = sum(lengths[first:first + draw(st.integers(1, 3))])  # a run of orders fits exactly
        vols.append({"id": f"v{i}", "lat": 39.9, "lon": 116.4, "max_tasks": draw(st.integers(1, 4)),
                     "max_hours": round(cap_minutes / 60, 1),
                     "availability": [{"start": at(0), "end": at(2000)}]})
    return Problem.from_dict({"volunteers": vols, "demands": dems})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(minute_grid_problems())
def test_optimal_means_the_exact_mip_optimum_on_minute_grids(problem: Problem) -> None:
    s = solve(problem, SolveOptions(time_limit_s=5))
    assert violations(problem, s) == []
    best = mip_max_coverage(problem)
    assert s.coverage <= best <= s.coverage_bound
    if s.status is Status.OPTIMAL:
        assert s.coverage == best
