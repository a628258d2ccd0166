"""The fast path of validation gives exactly the exact path's problem, or leaves the input to it.

Whenever :func:`matcher.model.bulk.fast_problem` answers, its problem equals what pydantic's validation makes
of the same data (values, their types, the fields each record was given); whenever the exact path refuses an
input, the fast path must not answer. The same holds for tables read by column.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from strategies import near_valid_data, to_csv, valid_data

from matcher import Problem, ProblemError, generate_tables
from matcher.io import COLUMNS, read_tables, table_rows, write_tables
from matcher.model import Area, Assignment, Demand, Volunteer
from matcher.model.bulk import FIELDS, fast_problem


def exact(data: dict[str, Any]) -> Problem | None:
    try:
        return Problem.from_dict(data)
    except ProblemError:
        return None


def same(a: Problem, b: Problem) -> None:
    """Equal, dumped alike, and each record given the same fields."""
    assert a == b
    assert a.model_dump_json() == b.model_dump_json()
    assert a.model_fields_set == b.model_fields_set
    for name in ("areas", "volunteers", "demands", "pinned", "forbidden", "previous"):
        for x, y in zip(getattr(a, name), getattr(b, name), strict=True):
            assert x.model_fields_set == y.model_fields_set, (name, x)
            assert [type(v) for v in x.__dict__.values()] == [type(v) for v in y.__dict__.values()], (name, x)


def test_the_fast_path_knows_every_field_of_the_records() -> None:
    for model in (Area, Volunteer, Demand, Assignment):
        assert list(FIELDS[model]) == list(model.model_fields), model


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_data())
def test_fast_and_exact_paths_agree_on_near_valid_data(data: dict[str, Any]) -> None:
    fast = fast_problem(copy.deepcopy(data))
    slow = exact(copy.deepcopy(data))
    if slow is None:
        assert fast is None  # never accept what the exact path refuses
    elif fast is not None:
        same(fast, slow)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_data())
def test_the_fast_path_answers_for_valid_data(data: dict[str, Any]) -> None:
    fast = fast_problem(copy.deepcopy(data))
    assert fast is not None
    same(fast, Problem.from_dict(data))


def test_the_fast_path_answers_for_clean_input_and_agrees(tmp_path: Path) -> None:
    tables = generate_tables("community", 1, scale=0.5)
    data: dict[str, Any] = {name: table_rows(name, cols) for name, cols in tables.items()}
    data["taxonomy"] = "builtin"
    fast = fast_problem(data)
    assert fast is not None
    same(fast, Problem.from_dict(data))
    for fmt in ("csv", "parquet"):  # (an empty list and an empty cell are the same field to a table)
        write_tables(tables, tmp_path / fmt, fmt=fmt, settings={"taxonomy": "builtin"})
        got = read_tables(tmp_path / fmt)
        assert got == fast and got.model_dump_json() == fast.model_dump_json()
    tiny = json.loads((DATA / "tiny.json").read_text())
    tiny["timezone"] = "Asia/Shanghai"
    tiny["demands"][0]["start"] = "2026-11-23T09:00:00"  # read in the zone
    fast = fast_problem(tiny)
    assert fast is not None
    same(fast, Problem.from_dict(tiny))


@pytest.mark.parametrize("broken", [
    lambda d: d["volunteers"][0].update(max_tasks=True),
    lambda d: d["volunteers"][0].update(lat=91.0),
    lambda d: d["volunteers"][0].update(skills=["x" * 501]),
    lambda d: d["demands"][0].update(preferred_volunteers=["departed"]),  # a warning: worded by the exact path
    lambda d: d["demands"][0].update(start="2026-11-23T09:00:00"),  # no zone
    lambda d: d["volunteers"][0]["availability"][0].update(end="2026-11-23T07:00:00+08:00"),
    lambda d: d.update(forbidden=[{"volunteer_id": "a", "demand_id": "gone"}]),
    lambda d: d.update(pinned=[{"volunteer_id": "a", "demand_id": "d1"}, {"volunteer_id": "a", "demand_id": "d1"}]),
    lambda d: d["demands"][0].update(area_id="A9"),
    lambda d: (d.update(taxonomy="builtin"), d["demands"][0].update(category="repairs")),  # not a taxonomy code
])
def test_the_fast_path_leaves_anything_doubtful_to_the_exact_path(broken: Any) -> None:
    data = json.loads((DATA / "tiny.json").read_text())
    broken(data)
    assert fast_problem(data) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(near_valid_data())
def test_tables_read_by_column_agree_with_records_read_one_by_one(tmp_path_factory: Any,
                                                                 data: dict[str, Any]) -> None:
    folder: Path = tmp_path_factory.mktemp("t")
    for name, rows in data.items():
        if name in COLUMNS and (rows or name in ("volunteers", "demands")):
            (folder / f"{name}.csv").write_text(to_csv(rows, COLUMNS[name]), encoding="utf-8")
    try:
        fast = read_tables(folder)
    except ProblemError:
        return
    # the exact path on the same cells: the records as table_rows reads them, validated by pydantic
    rows_data: dict[str, Any] = {}
    from matcher.io import read_columns

    for path in folder.iterdir():
        raw = read_columns(path)
        rows_data[path.stem] = table_rows(path.stem, raw.columns)
    slow = Problem.from_dict(rows_data)
    assert len(fast.warnings) == len(slow.warnings)  # (worded by file and line in one, by record in the other)
    same(fast.model_copy(update={"warnings": ()}), slow.model_copy(update={"warnings": ()}))
