"""DataFrames and Arrow: a problem from pandas, Polars or Arrow tables, and a solution's tables back as frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import matcher
from matcher import ProblemError, SolveOptions, generate_tables, problem_from_frames, solution_frames, solve
from matcher.io import read_frames, read_tables, write_tables


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, list[Any]]]:
    return generate_tables("community", 2)


def test_pandas_round_trip(tmp_path: Any, tables: dict[str, dict[str, list[Any]]]) -> None:
    frames = {name: pd.DataFrame(cols, index=[f"r{i}" for i in range(len(next(iter(cols.values()))))])
              for name, cols in tables.items()}  # (a non-default index, which is dropped)
    problem = problem_from_frames(frames, settings={"taxonomy": "builtin"})
    write_tables(tables, tmp_path / "csv", settings={"taxonomy": "builtin"})
    assert problem.fingerprint() == read_tables(tmp_path / "csv").fingerprint()
    solution = solve(problem, SolveOptions(time_limit_s=10, seed=0))
    out = solution_frames(problem, solution)
    assert set(out) == {"assignments", "roster", "unmet", "kpi_by_area", "kpi_by_category", "kpi_by_priority"}
    a = out["assignments"]
    assert isinstance(a, pd.DataFrame) and len(a) == len(solution.assignments)
    assert set(zip(a["volunteer_id"], a["demand_id"], strict=True)) == {
        (x.volunteer_id, x.demand_id) for x in solution.assignments}
    assert pd.api.types.is_float_dtype(a["travel_km"]) and pd.api.types.is_integer_dtype(a["priority"])
    kpi = out["kpi_by_priority"]
    assert kpi["filled"].sum() == len(solution.assignments)
    assert kpi["fill_rate"].between(0, 1).all()


def test_polars_and_arrow_round_trip(tables: dict[str, dict[str, list[Any]]]) -> None:
    frames = {name: pl.DataFrame(cols, strict=False) for name, cols in tables.items()}
    problem = problem_from_frames(frames, settings={"taxonomy": "builtin"})
    arrow = {name: pa.table(cols) for name, cols in tables.items()}
    assert problem_from_frames(arrow, settings={"taxonomy": "builtin"}) == problem
    solution = solve(problem, SolveOptions(time_limit_s=10, seed=0))
    pl_out = solution_frames(problem, solution, kind="polars")
    assert isinstance(pl_out["unmet"], pl.DataFrame)
    assert pl_out["unmet"]["missing"].sum() == sum(u.missing for u in solution.unmet)
    pa_out = solution_frames(problem, solution, kind="arrow")
    assert isinstance(pa_out["assignments"], pa.Table) and pa_out["assignments"].num_rows == len(solution.assignments)
    assert pa_out["assignments"].schema.field("travel_km").type == pa.float64()


class CStream:
    """Any library's table that speaks the Arrow C stream interface (and nothing else)."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.table.__arrow_c_stream__(requested_schema)


def test_timestamps_extra_columns_and_any_arrow_stream() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    volunteers = pd.DataFrame({
        "id": ["V1", "V2"], "lat": [39.9, 39.9], "lon": [116.4, 116.401], "skills": [["general"], ["general"]],
        "availability": ["2026-11-23T08:00:00+08:00/2026-11-23T12:00:00+08:00"] * 2,
        "name": ["张三", "李四"], "phone": ["13800000001", "13800000002"]})
    demands = pd.DataFrame({
        "id": ["D1"], "lat": [39.9], "lon": [116.4], "category": ["errands"], "headcount": [1],
        "start": pd.to_datetime(["2026-11-23 09:00"]).tz_localize(shanghai),  # nanosecond timestamps, zoned
        "end": [datetime(2026, 11, 23, 10, 0)],  # naive: read in the settings' timezone
        "priority": [3]})
    loaded = read_frames({"volunteers": CStream(pa.Table.from_pandas(volunteers)), "demands": demands},
                         settings={"timezone": "Asia/Shanghai", "extra_columns": ["name", "phone"]})
    d = loaded.problem.demands[0]
    assert d.start == datetime(2026, 11, 23, 9, tzinfo=shanghai) and d.end - d.start == pd.Timedelta(hours=1)
    assert loaded.personal.of("volunteers", "V2") == ("李四", "13800000002")
    assert len(solve(loaded.problem).assignments) == 1


def test_frame_errors_name_table_row_id_and_column() -> None:
    volunteers = pl.DataFrame({"id": ["V1", "V2"], "lat": [39.9, None], "lon": [116.4, 116.4],
                               "max_tasks": [2.0, 2.5]})
    demands = pl.DataFrame({"id": ["D1"], "category": ["x"], "headcount": [1], "lat": [1.0], "lon": [1.0],
                            "start": ["2026-11-23T09:00:00+08:00"], "end": ["2026-11-23T10:00:00+08:00"],
                            "priority": [3]})
    with pytest.raises(ProblemError) as err:
        problem_from_frames({"volunteers": volunteers, "demands": demands})
    assert "volunteers frame row 2 (id 'V2'), column max_tasks: must be a whole number" in str(err.value)
    with pytest.raises(ProblemError, match=r"unknown table 'volunteer' \(did you mean 'volunteers'\?\)"):
        problem_from_frames({"volunteer": volunteers, "demands": demands})
    with pytest.raises(ProblemError, match=r"volunteers frame: not a DataFrame or Arrow table \(list\)"):
        problem_from_frames({"volunteers": [1, 2], "demands": demands})
    with pytest.raises(ProblemError, match=r"unknown column 'max_task' \(did you mean 'max_tasks'\?\)"):
        problem_from_frames({"volunteers": volunteers.rename({"max_tasks": "max_task"}), "demands": demands})


def test_frames_are_an_optional_extra() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(matcher.__file__).parents[1] / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "pandas" not in core and "polars" not in core
    assert any(d.startswith("pandas") for d in project["optional-dependencies"]["frames"])
