"""The rule table: one allowed and one refused pair per rule, both forms agreeing, and every reader naming the
same rule; the plan checker against the independent oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from instances import tight_problem
from oracle import violations

from matcher import PinnedError, Problem, Solution, Status, check_plan, explain_demand, solve
from matcher.dispatch.explain import Surroundings
from matcher.engine.arrays import build_arrays
from matcher.engine.rules import PAIR_RULES, PairFacts, first_broken, travel_km
from matcher.model import AssignmentOut

VOLUNTEER: dict[str, Any] = {
    "id": "v", "lat": 39.90, "lon": 116.40, "skills": ["general", "nurse"], "max_tasks": 2, "max_hours": 4.0,
    "max_travel_km": 2.0, "team_id": "T1", "insured": True,
    "availability": [{"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T12:00:00+08:00"}],
}
DEMAND: dict[str, Any] = {
    "id": "d", "lat": 39.905, "lon": 116.40, "category": "care", "required_skills": ["nurse"], "headcount": 1,
    "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T11:00:00+08:00", "priority": 3,
    "requires_insured": True, "team_id": "T1",
}
FAR = {"lat": 39.93}  # 3.3 km north: too far, but near enough for explain to list
RATED_1 = {"ratings": [{"volunteer_id": "v", "series_id": "S1", "stars": 1, "at": "2026-11-16T11:00:00+08:00"}]}
# one change per rule that breaks that rule alone (volunteer, demand, forbidden, problem-wide fields)
BREAK: dict[str, tuple[dict[str, Any], dict[str, Any], bool, dict[str, Any]]] = {
    "missing_skill": ({"skills": ["general"]}, {}, False, {}),
    "not_available": ({}, {"start": "2026-11-23T11:00:00+08:00", "end": "2026-11-23T13:00:00+08:00"}, False, {}),
    "too_far": ({}, FAR, False, {}),
    "not_insured": ({"insured": False}, {}, False, {}),
    "other_team": ({"team_id": "T2"}, {}, False, {}),
    "forbidden": ({}, {}, True, {}),
    "tasks_used": ({"max_tasks": 0}, {}, False, {}),
    "hours_used": ({"max_hours": 1.5}, {}, False, {}),
    "rated_out": ({}, {"series_id": "S1"}, False, RATED_1),
}
# rule 3 by travel minutes (SPEC v2): 0.556 km at 4.5 km/h x 1.3 is 9.6 minutes
MINUTES = {"travel": {"speed_kmh": 4.5, "detour": 1.3}}


def pair_problem(v: dict[str, Any], d: dict[str, Any], forbidden: bool = False, pinned: bool = False,
                 wide: dict[str, Any] | None = None) -> Problem:
    pair = [{"volunteer_id": "v", "demand_id": "d"}]
    return Problem.from_dict({"volunteers": [{**VOLUNTEER, **v}], "demands": [{**DEMAND, **d}],
                              "forbidden": pair if forbidden else [], "pinned": pair if pinned else [],
                              **(wide or {})})


def spec_order(number: str) -> tuple[int, str]:
    return int(number.rstrip("abcdefghijklmnopqrstuvwxyz")), number


def test_the_table_is_in_spec_order_and_covers_every_pair_rule() -> None:
    assert [r.spec for r in PAIR_RULES] == sorted((r.spec for r in PAIR_RULES), key=spec_order)
    assert set(BREAK) == {r.code for r in PAIR_RULES}


def test_the_base_pair_keeps_every_rule() -> None:
    p = pair_problem({}, {})
    arr = build_arrays(p)
    assert first_broken(arr, 0, 0) is None
    assert solve(p).coverage == 4


@pytest.mark.parametrize("code", sorted(BREAK))
def test_each_rule_refuses_its_pair_in_both_forms_and_every_reader_names_it(code: str) -> None:
    v, d, forbidden, wide = BREAK[code]
    p = pair_problem(v, d, forbidden, wide=wide)
    arr = build_arrays(p)
    one = np.zeros(1, dtype=np.int64)
    facts = Surroundings(p).facts(p.volunteers[0], p.demands[0], float(travel_km(arr, one, one)[0]))
    for rule in PAIR_RULES:
        keeps = rule.code != code
        assert bool(rule.vector(arr, one, one)[0]) is keeps, rule.code
        assert rule.scalar(p.volunteers[0], p.demands[0], facts) is keeps, rule.code
    broken = first_broken(arr, 0, 0)
    assert broken is not None and broken.code == code
    # the pinned check, explain and the engine all name the same rule
    with pytest.raises(PinnedError, match=rf"\(rule {broken.spec}\)") as err:
        solve(pair_problem(v, d, forbidden, pinned=True, wide=wide))
    assert broken.message in str(err.value)
    s = solve(p)
    assert s.coverage == 0
    note = explain_demand(p, s, "d").candidates[0]
    assert note.reason.value == code


@pytest.mark.parametrize(("minutes", "keeps"), [(9.5, False), (9.7, True), (30.0, True)])
def test_rule_3_by_travel_minutes_in_every_form(minutes: float, keeps: bool) -> None:
    """With travel given, ``max_travel_minutes`` decides rule 3 (the km limit no longer does)."""
    p = pair_problem({"max_travel_minutes": minutes, "max_travel_km": 0.1}, {}, wide=MINUTES)
    arr = build_arrays(p)
    one = np.zeros(1, dtype=np.int64)
    too_far = next(r for r in PAIR_RULES if r.code == "too_far")
    facts = Surroundings(p).facts(p.volunteers[0], p.demands[0], float(travel_km(arr, one, one)[0]))
    assert facts.minutes is not None and 9.6 < facts.minutes < 9.7
    assert bool(too_far.vector(arr, one, one)[0]) is keeps
    assert too_far.scalar(p.volunteers[0], p.demands[0], facts) is keeps
    assert solve(p).coverage == (4 if keeps else 0)
    if not keeps:
        note = explain_demand(p, solve(p), "d").candidates[0]
        assert note.reason.value == "too_far" and f"at most {minutes:g} min" in note.detail
    # without travel the same volunteer is judged by km (0.1 km): too far
    plain = pair_problem({"max_travel_minutes": minutes, "max_travel_km": 0.1}, {})
    assert solve(plain).coverage == 0


def test_a_pair_breaking_two_rules_is_named_by_the_first_in_spec_order() -> None:
    """Too far (rule 3) and not free (rule 2): the pinned error and explain both say rule 2."""
    v, d = {}, {**FAR, "start": "2026-11-23T11:00:00+08:00", "end": "2026-11-23T13:00:00+08:00"}
    with pytest.raises(PinnedError, match=r"availability \(rule 2\)"):
        solve(pair_problem(v, d, pinned=True))
    p = pair_problem(v, d)
    assert explain_demand(p, solve(p), "d").candidates[0].reason.value == "not_available"


@pytest.mark.parametrize("seed", range(4))
def test_vector_and_scalar_forms_agree_on_every_pair(seed: int) -> None:
    p = tight_problem(600 + seed, n_vol=60, n_dem=40)
    arr = build_arrays(p)
    v, d = (x.ravel().astype(np.int64) for x in np.meshgrid(np.arange(arr.nv), np.arange(arr.nd)))
    km = travel_km(arr, v, d)
    forbidden = {(a.volunteer_id, a.demand_id) for a in p.forbidden}
    broke = 0
    for rule in PAIR_RULES:
        vec = rule.vector(arr, v, d)
        for i in range(len(v)):
            vol, dem = p.volunteers[v[i]], p.demands[d[i]]
            facts = PairFacts(km=float(km[i]), forbidden=(vol.id, dem.id) in forbidden)
            assert rule.scalar(vol, dem, facts) == bool(vec[i]), (rule.code, vol.id, dem.id)
        broke += int((~vec).sum())
    assert broke > 0  # the instances break every kind of rule somewhere


def plan(p: Problem, pairs: list[tuple[str, str]]) -> Solution:
    return Solution(status=Status.FEASIBLE, coverage=0, coverage_bound=0, secondary=0, assignments=tuple(
        AssignmentOut(volunteer_id=a, demand_id=b, travel_km=0.0) for a, b in pairs))


@pytest.mark.parametrize("seed", range(6))
def test_check_plan_agrees_with_the_oracle_on_broken_plans(seed: int) -> None:
    p = tight_problem(700 + seed, n_vol=60, n_dem=40)
    good = solve(p)
    rng = np.random.default_rng(seed)
    pairs = [(a.volunteer_id, a.demand_id) for a in good.assignments]
    assert check_plan(p, good.assignments) == []
    for _ in range(10):  # add random pairs: some break a pair rule, a cap, an overlap or a headcount
        extra = [(p.volunteers[int(rng.integers(len(p.volunteers)))].id,
                  p.demands[int(rng.integers(len(p.demands)))].id) for _ in range(int(rng.integers(1, 4)))]
        broken = plan(p, pairs + extra)
        oracle = [x for x in violations(p, broken) if not x.startswith("travel_km")]
        assert bool(check_plan(p, broken.assignments)) == bool(oracle), (extra, oracle)
    assert check_plan(p, plan(p, [("nobody", p.demands[0].id)]).assignments) == [
        "assignments[0]: unknown volunteer 'nobody'"]
