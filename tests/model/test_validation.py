"""Bad input of every kind listed in the engine issue: a clear error naming record and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import Problem, ProblemError, SolveOptions, load_problem

BROKEN = Path(__file__).parents[1] / "data" / "broken"

EXPECT = {
    "malformed.json": "invalid JSON at line 1",
    "empty.json": "file is empty",
    "not_object.json": "top level must be a JSON object",
    "duplicate_volunteer.json": "volunteers[1] (id 'a').id: duplicate id",
    "unknown_area.json": "demands[0] (id 'd1').area_id: unknown area 'A9'",
    "reversed_window.json": "volunteers[0] (id 'a').availability[0]: start",
    "reversed_demand.json": "demands[1] (id 'd2'): start",
    "latitude.json": "volunteers[2] (id 'c').lat: Input should be less than or equal to 90",
    "negative_max_tasks.json": "volunteers[0] (id 'a').max_tasks: Input should be greater than or equal to 0",
    "priority.json": "demands[2] (id 'd3').priority: Input should be less than or equal to 5",
    "headcount.json": "demands[2] (id 'd3').headcount: Input should be greater than or equal to 1",
    "no_timezone.json": "demands[0] (id 'd1').start: 2026-11-23T09:00:00 has no UTC offset",
    "unknown_field.json": "volunteers[0] (id 'a').skils: Extra inputs are not permitted",
    "unknown_pinned_volunteer.json": "pinned[0].volunteer_id: unknown volunteer 'zz'",
    "taxonomy_code.json": "demands[2] (id 'd3').category: 'repairs' is not in taxonomy 'builtin'",
    "nan.json": "NaN is not a valid number",
}


def test_every_broken_file_is_covered() -> None:
    assert {p.name for p in BROKEN.iterdir()} == set(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_broken_file_names_record_and_field(name: str) -> None:
    with pytest.raises(ProblemError) as info:
        load_problem(BROKEN / name)
    assert EXPECT[name] in str(info.value)
    assert name in str(info.value)  # the file is named too


def test_all_errors_reported_at_once() -> None:
    data = {
        "volunteers": [
            {"id": "v", "lat": 100, "lon": 0, "max_hours": -1},
            {"id": "v", "lat": 0, "lon": 0},
        ],
        "demands": [],
    }
    with pytest.raises(ProblemError) as info:
        Problem.from_dict(data)
    assert len(info.value.errors) == 2  # field errors first; record errors after they are fixed
    data["volunteers"][0].update(lat=0, max_hours=1)  # type: ignore[index]
    with pytest.raises(ProblemError, match="duplicate id"):
        Problem.from_dict(data)


def test_options_check_their_ranges() -> None:
    with pytest.raises(ValueError, match="weight for each priority"):
        SolveOptions(priority_weights={1: 1})
    with pytest.raises(ValueError):
        SolveOptions(time_limit_s=0)


def test_demand_needs_a_location() -> None:
    with pytest.raises(ProblemError, match="needs either area_id or lat/lon"):
        Problem.from_dict({"demands": [{"id": "d", "category": "x", "headcount": 1, "priority": 1,
                                        "start": "2026-01-01T09:00:00+08:00", "end": "2026-01-01T10:00:00+08:00"}]})


def test_problem_is_frozen(tiny: Problem) -> None:
    with pytest.raises(ValueError):
        tiny.volunteers[0].max_tasks = 9  # type: ignore[misc]
