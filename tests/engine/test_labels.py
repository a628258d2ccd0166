"""Labels that say what decides: the unmet reason names the rung that ran out (skills, insurance, team, range,
time, capacity), and explain prints distances with the digits that decide."""

from __future__ import annotations

import json
from typing import Any

from conftest import DATA

from matcher import Problem, UnmetReason, explain_demand, solve


def problem_with(edit: Any) -> Problem:
    data = json.loads((DATA / "tiny.json").read_text())
    edit(data)
    return Problem.from_dict(data)


def reasons(p: Problem, demand: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for u in solve(p).unmet:
        if u.demand_id == demand:
            out[u.reason.value] = out.get(u.reason.value, 0) + u.missing
    return out


def test_too_few_insured_is_not_called_no_skilled_volunteer() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["volunteers"][1]["insured"] = False  # b and c hold 'general'; only c is insured
        data["volunteers"][0]["insured"] = False
        data["demands"][1].update(requires_insured=True, headcount=3)  # d2: 3 seats, general, insured

    got = reasons(problem_with(edit), "d2")
    # 3 hold the skill, 1 of them is insured (c, too far): one seat none_in_range, two too_few_insured
    assert got == {UnmetReason.TOO_FEW_INSURED.value: 2, UnmetReason.NONE_IN_RANGE.value: 1}


def test_a_team_too_small_is_named() -> None:
    def edit(data: dict[str, Any]) -> None:
        for v in data["volunteers"]:
            v["team_id"] = "T1"
        data["volunteers"][2]["team_id"] = "T2"
        data["demands"][2].update(team_id="T2", headcount=2)  # d3: general, 2 seats, team T2 (only c, far)

    got = reasons(problem_with(edit), "d3")
    assert got == {UnmetReason.TEAM_TOO_SMALL.value: 1, UnmetReason.NONE_IN_RANGE.value: 1}


def test_no_skilled_volunteer_still_means_nobody_holds_the_skills() -> None:
    assert reasons(problem_with(lambda d: None), "d4") == {UnmetReason.NO_SKILLED_VOLUNTEER.value: 1}


def test_explain_prints_the_digits_that_decide() -> None:
    def edit(data: dict[str, Any]) -> None:
        v = data["volunteers"][1]
        v["max_travel_km"] = 2.0
        # 2.001 km due north of b
        data["demands"][2].update(area_id=None, lat=v["lat"] + 2.001 / 111.19508, lon=v["lon"])

    p = problem_with(edit)
    note = next(c for c in explain_demand(p, solve(p), "d3").candidates if c.volunteer_id == "b")
    assert note.reason.value == "too_far"
    assert note.detail == "2.001 km away, travels at most 2 km"


def test_the_ladder_counted_beside_the_solve_gives_the_same_reasons() -> None:
    import numpy as np
    import pytest
    from instances import tight_problem

    from matcher.engine.arrays import build_arrays
    from matcher.engine.candidates import candidate_pairs
    from matcher.engine.ladder import SKILLED, ladder_counts, qualified_counts, unmet_reasons
    from matcher.engine.rules import passing

    for seed in range(3):
        p = tight_problem(800 + seed)
        arr = build_arrays(p)
        pairs = candidate_pairs(arr)
        filled = np.zeros(arr.nd, dtype=np.int64)
        filled[::3] = 1
        fresh = unmet_reasons(arr, pairs, filled)
        assert {u.reason for u in fresh} > {UnmetReason.CAPACITY_TAKEN}
        assert unmet_reasons(arr, pairs, filled, ladder=ladder_counts(arr, pairs)) == fresh
        with pytest.raises(ValueError, match="does not cover"):
            unmet_reasons(arr, pairs, filled, ladder=ladder_counts(arr, pairs, among=np.zeros(0, dtype=np.int64)))
        # counting each volunteer profile once counts what testing every volunteer counts
        dem = np.arange(arr.nd, dtype=np.int64)
        every = np.zeros((arr.nd, len(SKILLED)), dtype=np.int64)
        for d in dem.tolist():
            v, dd = np.arange(arr.nv, dtype=np.int64), np.full(arr.nv, d, dtype=np.int64)
            for j, skilled in enumerate(SKILLED):
                v, dd = passing(arr, v, dd, (skilled,))
                every[d, j] = len(v)
        assert np.array_equal(qualified_counts(arr, dem), every)
