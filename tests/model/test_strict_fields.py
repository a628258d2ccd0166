"""Every field of the contract refuses a value of another type with a named error: no value silently takes
another meaning (a number is not a time, true is not 1, 2.5 is not a count, "yes" is not true)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from conftest import DATA

from matcher import Problem, ProblemError, SolveOptions, Taxonomy

TEXT = [5, True, ["x"]]
REAL = ["4.1", True]
COUNT = [True, 2.5, "3"]
FLAG = [1, "yes", "true"]
TIME = [1_700_000_000, 46363.375, "46363.375", "next Tuesday", "2026-11-23"]
CODES = ["nurse", [1]]
# (table, field) -> wrong values; every field of every record of SPEC's Problem
FIELDS: dict[tuple[str, str], list[Any]] = {
    ("areas", "id"): TEXT, ("areas", "lat"): REAL, ("areas", "lon"): REAL, ("areas", "community"): TEXT,
    ("areas", "street"): TEXT,
    ("volunteers", "id"): TEXT, ("volunteers", "lat"): REAL, ("volunteers", "lon"): REAL,
    ("volunteers", "skills"): CODES, ("volunteers", "max_tasks"): COUNT, ("volunteers", "max_hours"): REAL,
    ("volunteers", "max_travel_km"): REAL, ("volunteers", "team_id"): TEXT, ("volunteers", "insured"): FLAG,
    ("volunteers", "recent_hours"): REAL, ("volunteers", "max_travel_minutes"): REAL,
    ("volunteers", "speed_kmh"): REAL, ("volunteers", "preferred_categories"): CODES,
    ("demands", "id"): TEXT, ("demands", "area_id"): TEXT, ("demands", "lat"): REAL, ("demands", "lon"): REAL,
    ("demands", "category"): TEXT, ("demands", "required_skills"): CODES, ("demands", "headcount"): COUNT,
    ("demands", "start"): TIME, ("demands", "end"): TIME, ("demands", "priority"): COUNT,
    ("demands", "requires_insured"): FLAG, ("demands", "team_id"): TEXT, ("demands", "preferred_volunteers"): CODES,
    ("demands", "series_id"): TEXT, ("demands", "min_headcount"): COUNT,
    ("ratings", "volunteer_id"): TEXT, ("ratings", "demand_id"): TEXT, ("ratings", "series_id"): TEXT,
    ("ratings", "stars"): COUNT, ("ratings", "at"): TIME,
}
OPTIONS: dict[str, list[Any]] = {
    "time_limit_s": REAL, "seed": COUNT, "threads": COUNT, "travel_weight": REAL, "recent_hours_weight": REAL,
    "load_weight": REAL, "continuity_weight": REAL, "max_memory_mb": REAL, "change_weight": REAL,
    "series_weight": REAL, "quality_weight": REAL, "preference_weight": REAL,
}


def tiny() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "tiny.json").read_text())
    data["areas"][0].update(community="C", street="S")
    data["ratings"] = [{"volunteer_id": "a", "stars": 4, "at": "2026-11-20T10:00:00+08:00"}]
    return data


def test_every_field_of_the_contract_is_listed() -> None:
    from matcher.model import Area, Demand, Rating, Volunteer

    assert {f for (t, f) in FIELDS if t == "ratings"} == set(Rating.model_fields)
    listed = {f for (t, f) in FIELDS if t == "volunteers"}
    assert listed == set(Volunteer.model_fields) - {"availability"}
    assert {f for (t, f) in FIELDS if t == "demands"} == set(Demand.model_fields)
    assert {f for (t, f) in FIELDS if t == "areas"} == set(Area.model_fields)
    assert set(OPTIONS) == set(SolveOptions.model_fields) - {"priority_weights"}


@pytest.mark.parametrize(("table", "field"), sorted(FIELDS))
def test_a_wrong_type_is_a_named_error(table: str, field: str) -> None:
    for value in FIELDS[table, field]:
        data = tiny()
        data[table][0][field] = value
        with pytest.raises(ProblemError) as err:
            Problem.from_dict(data, source="p.json")
        rid = data[table][0].get("id") if field != "id" else None
        where = f"p.json.{table}[0]" + (f" (id {rid!r})" if isinstance(rid, str) else "") + f".{field}"
        assert any(line.startswith(where) for line in err.value.errors), (value, err.value.errors)


@pytest.mark.parametrize("value", TIME)
def test_a_window_refuses_a_number_or_a_date_for_a_time(value: Any) -> None:
    data = tiny()
    data["volunteers"][0]["availability"][0]["start"] = value
    with pytest.raises(ProblemError, match=r"volunteers\[0\] \(id 'a'\)\.availability\[0\]\.start"):
        Problem.from_dict(data)


@pytest.mark.parametrize("field", sorted(OPTIONS))
def test_options_refuse_other_types(field: str) -> None:
    for value in OPTIONS[field]:
        data = tiny()
        data["options"] = {field: value}
        with pytest.raises(ProblemError, match=rf"options\.{field}"):
            Problem.from_dict(data)


def test_travel_refuses_other_types() -> None:
    node = {"id": "n", "lat": 39.9, "lon": 116.4}
    for travel in ({"speed_kmh": "4.5"}, {"detour": True}, {"network": {"nodes": [{**node, "lat": "39.9"}]}},
                   {"network": {"nodes": [node],
                                "edges": [{"source": "n", "target": "n", "minutes": "5"}]}}):
        with pytest.raises(ProblemError, match=r"travel\."):
            Problem.from_dict({**tiny(), "travel": travel})


def test_taxonomy_weights_and_pairs_refuse_other_types() -> None:
    with pytest.raises(ProblemError, match=r"options\.priority_weights\[3\]: must be a whole number, not true"):
        Problem.from_dict({**tiny(), "options": {"priority_weights": {1: 1, 2: 2, 3: True, 4: 8, 5: 16}}})
    with pytest.raises(ValueError, match="certificate"):
        Taxonomy.model_validate({"skills": [{"code": "x", "certificate": "yes"}]})
    data = tiny()
    data["pinned"] = [{"volunteer_id": 7, "demand_id": "d1"}]
    with pytest.raises(ProblemError, match=r"pinned\[0\]\.volunteer_id"):
        Problem.from_dict(data)


def test_what_the_contract_does_accept() -> None:
    data = tiny()
    v, d = data["volunteers"][0], data["demands"][0]
    v.update(max_tasks=2.0, max_hours=3, insured=False)  # a whole float for a count; an int for a number
    d["start"] = "2026-11-23T01:00:00Z"  # Z is +00:00
    d["end"] = "2026-11-23T02:00Z"  # seconds may be left out
    p = Problem.from_dict(copy.deepcopy(data))
    assert p.volunteers[0].max_tasks == 2 and p.volunteers[0].max_hours == 3.0 and p.demands[0].start.hour == 1
