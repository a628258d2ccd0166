"""The examples of issue 15, as a new user tried them: each behaves right now.

- two back-to-back orders 3.8 km apart do not go to one volunteer (rule 7b), and explain says why;
- three weekly visits to one household go to one volunteer when one can do them all (series term);
- a crew is full or empty (rule 11), and an empty one says why;
- a 1-star rating on a series keeps that volunteer away from it (rule 12);
- the "15-minute circle" is given in minutes (rule 3 by minutes).
"""

from __future__ import annotations

from typing import Any

from oracle import violations

from matcher import Problem, SolveOptions, explain_demand, recommend, solve

DAY = "2026-11-23"
HOME = (39.90, 116.40)


def vol(i: int, **kw: Any) -> dict[str, Any]:
    return {"id": f"V{i}", "lat": HOME[0], "lon": HOME[1] + 0.0005 * i, "skills": ["general"], "max_tasks": 5,
            "max_hours": 10.0, "max_travel_km": 5.0,
            "availability": [{"start": f"{DAY}T07:00:00+08:00", "end": f"{DAY}T21:00:00+08:00"},
                             {"start": "2026-11-30T07:00:00+08:00", "end": "2026-11-30T21:00:00+08:00"},
                             {"start": "2026-12-07T07:00:00+08:00", "end": "2026-12-07T21:00:00+08:00"}], **kw}


def dem(i: str, start: str, end: str, lat: float = HOME[0], lon: float = HOME[1], **kw: Any) -> dict[str, Any]:
    return {"id": i, "lat": lat, "lon": lon, "category": "care", "required_skills": ["general"], "headcount": 1,
            "start": f"{DAY}T{start}:00+08:00", "end": f"{DAY}T{end}:00+08:00", "priority": 3, **kw}


TRAVEL = {"speed_kmh": 4.5, "detour": 1.3}
# 3.8 km apart east-west, the volunteers' homes in between
WEST, EAST = (39.90, 116.40 - 0.0223), (39.90, 116.40 + 0.0223)


def back_to_back(n_vol: int, travel: dict[str, Any] | None = TRAVEL) -> Problem:
    return Problem.from_dict({
        "volunteers": [vol(i) for i in range(n_vol)],
        "demands": [dem("D12", "09:00", "10:00", *WEST), dem("D40", "10:00", "11:00", *EAST)],
        **({"travel": travel} if travel else {})})


def test_back_to_back_orders_far_apart_never_go_to_one_volunteer() -> None:
    v1 = back_to_back(1, travel=None)  # SPEC v1: touching ends are allowed, places do not matter
    assert solve(v1).coverage == 8
    one = back_to_back(1)
    s = solve(one)
    assert s.coverage == 4 and violations(one, s) == []
    note = explain_demand(one, s, next(u.demand_id for u in s.unmet)).candidates[0]
    assert note.reason.value == "no_time_to_travel"
    assert "needs 66 min to get from D12 to D40; has 0" in note.detail  # 3.8 km x 1.3 / 4.5 km/h
    two = back_to_back(2)
    s2 = solve(two)
    assert s2.coverage == 8 and len({a.volunteer_id for a in s2.assignments}) == 2


def test_a_cyclist_makes_it_in_time() -> None:
    p = Problem.from_dict({**back_to_back(1).model_dump(mode="json", exclude_none=True),
                           "volunteers": [vol(0, speed_kmh=15.0)],
                           "demands": [dem("D12", "09:00", "10:00", *WEST), dem("D40", "10:30", "11:30", *EAST)]})
    assert solve(p).coverage == 8  # 3.8 km x 1.3 at 15 km/h: 20 min < 30


def test_recommend_does_not_send_a_volunteer_without_time_to_travel() -> None:
    one = back_to_back(1)
    s = solve(one)
    open_demand = next(u.demand_id for u in s.unmet)
    recs = recommend(one, s, open_demand)
    assert all(r.leaves for r in recs)  # V0 can go only by leaving the other order


def weekly(series: bool, n_vol: int = 3) -> Problem:
    visits = [{**dem(f"W{k}", "09:00", "10:00"), "start": f"{day}T09:00:00+08:00", "end": f"{day}T10:00:00+08:00",
               **({"series_id": "household-7"} if series else {})}
              for k, day in enumerate([DAY, "2026-11-30", "2026-12-07"])]
    return Problem.from_dict({"volunteers": [vol(i) for i in range(n_vol)], "demands": visits, "travel": TRAVEL})


def test_weekly_visits_go_to_one_volunteer_when_one_can_do_them_all() -> None:
    spread = solve(weekly(series=False))
    assert len({a.volunteer_id for a in spread.assignments}) == 3  # load spreading pushes them apart
    s = solve(weekly(series=True))
    assert s.coverage == 12 and len({a.volunteer_id for a in s.assignments}) == 1
    assert s.kpis["series"]["served_by_one"] == 1.0


def crew(n_vol: int, minimum: int) -> Problem:
    return Problem.from_dict({
        "volunteers": [vol(i) for i in range(n_vol)],
        "demands": [dem("E1", "09:00", "12:00", headcount=10, min_headcount=minimum, priority=4),
                    dem("C1", "14:00", "15:00")]})


def test_a_crew_is_full_or_empty() -> None:
    s = solve(crew(3, 10))
    assert {a.demand_id for a in s.assignments} == {"C1"}
    reasons = {u.reason.value: u.missing for u in s.unmet if u.demand_id == "E1"}
    assert reasons["crew_not_formed"] == 3  # three could go, ten are needed
    ok = solve(crew(3, 3))
    assert sum(a.demand_id == "E1" for a in ok.assignments) == 3


def test_a_one_star_rating_keeps_that_volunteer_away_from_that_series() -> None:
    base = weekly(series=True, n_vol=2).model_dump(mode="json", exclude_none=True)
    first = solve(Problem.from_dict(base))
    who = first.assignments[0].volunteer_id
    rated = Problem.from_dict({**base, "ratings": [
        {"volunteer_id": who, "series_id": "household-7", "stars": 1, "at": "2026-11-20T10:00:00+08:00"}]})
    s = solve(rated, SolveOptions(seed=0))
    assert s.coverage == 12 and who not in {a.volunteer_id for a in s.assignments}
    note = next(c for c in explain_demand(rated, s, "W0").candidates if c.volunteer_id == who)
    assert note.reason.value == "rated_out"


def test_the_15_minute_circle_in_minutes() -> None:
    """1.0 km at 4.5 km/h x 1.3 is 17.3 minutes: outside a 15-minute circle on foot, inside by bicycle."""
    far = (HOME[0] + 0.009, HOME[1])
    walk = Problem.from_dict({"volunteers": [vol(0, max_travel_minutes=15.0)],
                              "demands": [dem("D1", "09:00", "10:00", *far)], "travel": TRAVEL})
    assert solve(walk).coverage == 0
    bike = walk.replace(volunteers=[walk.volunteers[0].model_copy(update={"speed_kmh": 12.0})])
    assert solve(bike).coverage == 4
