"""The bad-input corpus: every kind of broken input, as JSON, CSV and Parquet.

Each case is built from the tiny problem (tests/data/tiny.json, tiny_tables/)
with one thing broken. For each, the library raises :class:`ProblemError`
naming the file, the record and the field, and ``matcher run`` exits 2 with
that message, no traceback, and nothing written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from matcher import ProblemError, SolveOptions, solve
from matcher.cli import main
from matcher.io import load_input, read_columns

DATA = Path(__file__).parents[1] / "data"


def tiny_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "tiny.json").read_text())
    return data


def json_case(edit: Callable[[dict[str, Any]], object], *, raw: bytes | None = None) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        path = tmp / "problem.json"
        if raw is not None:
            path.write_bytes(raw)
        else:
            data = tiny_json()
            edit(data)
            path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return build


def csv_case(table: str, edit: Callable[[str], str] | None = None, *, raw: bytes | None = None
             ) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        folder = tmp / "tables"
        shutil.copytree(DATA / "tiny_tables", folder)
        path = folder / f"{table}.csv"
        if raw is not None:
            path.write_bytes(raw)
        elif edit is not None:
            path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        return folder

    return build


def parquet_case(table: str, edit: Callable[[dict[str, list[Any]]], object] | None = None, *,
                 raw: bytes | None = None) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        folder = tmp / "tables"
        shutil.copytree(DATA / "tiny_tables", folder)
        src = folder / f"{table}.csv"
        cols = read_columns(src).columns
        src.unlink()
        path = folder / f"{table}.parquet"
        if raw is not None:
            path.write_bytes(raw)
            return folder
        typed: dict[str, list[Any]] = {
            k: [float(x) if k in ("lat", "lon") and x else (x or None) for x in v] for k, v in cols.items()}
        if edit is not None:
            edit(typed)
        pq.write_table(pa.table(typed), path)
        return folder

    return build


def set_in(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    return edit


def drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]

    return edit


def replace_line(n: int, old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        lines = text.splitlines()
        assert old in lines[n - 1], (old, lines[n - 1])
        lines[n - 1] = lines[n - 1].replace(old, new, 1)
        return "\n".join(lines) + "\n"

    return edit


@dataclass(frozen=True)
class Case:
    kind: str
    build: Callable[[Path], Path]
    expect: str


WINDOW = ("volunteers", 0, "availability", 0)
CASES = [
    # malformed and empty
    Case("JSON malformed", json_case(lambda d: None, raw=b'{"volunteers": [}'), "invalid JSON at line 1"),
    Case("JSON empty", json_case(lambda d: None, raw=b""), "file is empty"),
    Case("JSON not an object", json_case(lambda d: None, raw=b"[1, 2]"), "top level must be a JSON object"),
    Case("CSV malformed quote", csv_case("volunteers", replace_line(2, "general;nurse", '"general;nurse')),
         "volunteers.csv line 4: malformed CSV: unexpected end of data"),
    Case("CSV empty", csv_case("demands", raw=b""), "demands.csv: file is empty"),
    Case("CSV malformed header", csv_case("areas", raw=b'id,"lat\n'),  # found by the fuzzer
         "areas.csv line 1: malformed CSV: unexpected end of data"),
    Case("CSV ragged lines", csv_case("volunteers", lambda t: t + "x,1\ny\n"),
         "volunteers.csv line 5: 2 cells, the header has 7"),
    Case("Parquet not Parquet", parquet_case("volunteers", raw=b"PAR1 this is not parquet"),
         "volunteers.parquet: not a readable Parquet file"),
    Case("Parquet empty", parquet_case("volunteers", raw=b""), "volunteers.parquet: not a readable Parquet file"),
    # missing columns and fields
    Case("CSV missing column", csv_case("volunteers", lambda t: "".join(
        ",".join(cells[:1] + cells[2:]) + "\n" for cells in (line.split(",") for line in t.splitlines()))),
        "volunteers: missing column 'lat'"),
    Case("Parquet missing column", parquet_case("demands", lambda c: c.pop("headcount")),
         "demands: missing column 'headcount'"),
    Case("JSON missing field", json_case(drop(("demands", 0, "start"))), "demands[0] (id 'd1').start: Field required"),
    # wrong types
    Case("JSON wrong type", json_case(set_in(("volunteers", 1, "lat"), "north")),
         "volunteers[1] (id 'b').lat: must be a number, not text ('north')"),
    Case("CSV wrong type", csv_case("demands", replace_line(2, ",1,2026", ",one,2026")),
         "demands.csv line 2 (id 'd1'), column headcount: must be a whole number like 3, not 'one'"),
    Case("Parquet wrong type", parquet_case("volunteers", lambda c: c.__setitem__("lat", ["x", "y", "z"])),
         "volunteers.parquet row 1 (id 'a'), column lat: must be a number like 4.1, not 'x'"),
    Case("JSON list for a text", json_case(set_in(("demands", 0, "category"), ["health"])),
         "demands[0] (id 'd1').category: Input should be a valid string"),
    # NaN and infinity
    Case("JSON NaN", json_case(lambda d: None, raw=b'{"volunteers": [{"id": "a", "lat": NaN}]}'),
         "NaN is not a valid number"),
    Case("JSON Infinity", json_case(set_in(("volunteers", 0, "max_hours"), 1e999)), "Infinity is not a valid number"),
    Case("JSON number overflow", json_case(lambda d: None, raw=(DATA / "tiny.json").read_bytes().replace(
        b'"max_hours": 3', b'"max_hours": 1e999', 1)),
        "volunteers[0] (id 'a').max_hours: Input should be a finite number"),
    Case("CSV NaN", csv_case("volunteers", replace_line(3, "39.9,116.41", "nan,116.41")),
         "volunteers.csv line 3 (id 'b'), column lat: must be a finite number, not 'nan'"),
    Case("CSV infinity", csv_case("volunteers", replace_line(2, ",2,3", ",2,inf")),
         "volunteers.csv line 2 (id 'a'), column max_hours: must be a finite number, not 'inf'"),
    Case("Parquet NaN", parquet_case("areas", lambda c: c.__setitem__("lon", [float("nan")])),
         "areas.parquet row 1 (id 'A1'), column lon: must be a finite number, not nan"),
    # ids and references
    Case("duplicate id", json_case(set_in(("volunteers", 1, "id"), "a")), "volunteers[1] (id 'a').id: duplicate id"),
    Case("CSV duplicate id", csv_case("demands", replace_line(3, "d2,", "d1,")),
         "demands.csv line 3 (id 'd1'), column id: duplicate id 'd1'"),
    Case("dangling area", json_case(set_in(("demands", 0, "area_id"), "A9")), "unknown area 'A9'"),
    Case("dangling pinned", json_case(set_in(("pinned",), [{"volunteer_id": "zz", "demand_id": "d1"}])),
         "pinned[0].volunteer_id: unknown volunteer 'zz'"),
    # windows and time zones
    Case("reversed window", json_case(set_in((*WINDOW, "end"), "2026-11-23T07:00:00+08:00")),
         "volunteers[0] (id 'a').availability[0]: start (2026-11-23T08:00:00+08:00) must be before end"),
    Case("zero-length window", json_case(set_in((*WINDOW, "end"), "2026-11-23T08:00:00+08:00")),
         "must be before end"),
    Case("zero-length demand", json_case(set_in(("demands", 0, "end"), "2026-11-23T09:00:00+08:00")),
         "demands[0] (id 'd1'): start (2026-11-23T09:00:00+08:00) must be before end"),
    Case("time zone missing", json_case(set_in(("demands", 0, "start"), "2026-11-23T09:00:00")),
         "demands[0] (id 'd1').start: 2026-11-23T09:00:00 has no UTC offset"),
    Case("CSV time zone missing", csv_case("volunteers", replace_line(2, "12:00:00+08:00", "12:00:00")),
         "volunteers.csv line 2 (id 'a'), column availability: window 1: 2026-11-23T12:00:00 has no UTC offset"),
    Case("not a date", json_case(set_in(("demands", 0, "start"), "next Tuesday")),
         "demands[0] (id 'd1').start: 'next Tuesday' is not an ISO 8601 date-time"),
    # absurd sizes and long strings
    Case("headcount 10^9", json_case(set_in(("demands", 0, "headcount"), 10**9)),
         "demands[0] (id 'd1').headcount: Input should be less than or equal to 100000"),
    Case("10^6 skills", json_case(set_in(("volunteers", 0, "skills"), [f"s{i}" for i in range(10**6)])),
         "volunteers[0] (id 'a').skills: Tuple should have at most 200 items"),
    Case("very long id", json_case(set_in(("volunteers", 0, "id"), "v" * 1_000_000)),
         "volunteers[0] (id 'vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv'... (1000000 characters)).id: "
         "String should have at most 500 characters"),
    Case("huge integer", json_case(set_in(("volunteers", 0, "max_tasks"), 10**40)),
         "max_tasks: Input should be less than or equal to 1000"),
    # encodings
    Case("JSON not UTF-8", json_case(lambda d: None, raw=json.dumps(
        {"volunteers": [], "demands": [], "areas": [{"id": "网格", "lat": 0, "lon": 0}]},
        ensure_ascii=False).encode("gbk")), "not UTF-8 text"),
    Case("CSV not UTF-8", csv_case("areas", raw="id,lat,lon,community,street\nA1,39.9,116.4,社区,街道\n".encode("gbk")),
         "areas.csv: not UTF-8 text"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_library_raises_a_problem_error_naming_the_place(case: Case, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    with pytest.raises(ProblemError) as info:
        load_input(path)
    assert case.expect in str(info.value), str(info.value)[:500]


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_command_line_exits_2_and_writes_nothing(case: Case, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = case.build(tmp_path)
    out = tmp_path / "runs"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert case.expect in err and "Traceback" not in err, err[:500]
    assert len(err) < 20_000  # a long bad value is not echoed back whole
    assert not out.exists()


def test_every_problem_of_a_file_is_reported_up_to_a_limit(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    rows = "\n".join(f"v{i},{91 + i},116.4" for i in range(120))
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "volunteers.csv").write_text(f"id,lat,lon\n{rows}\n")
    shutil.copy(DATA / "tiny_tables" / "demands.csv", folder)
    shutil.copy(DATA / "tiny_tables" / "areas.csv", folder)
    with pytest.raises(ProblemError) as info:
        load_input(folder)
    assert len(info.value.errors) == 120
    assert main(["run", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "matcher: bad input: 120 problems, the first 50 shown:"
    assert len(err) == 51 and err[1].startswith("  ") and "line 2 (id 'v0'), column lat" in err[1]


def test_mixed_time_zones_are_compared_as_instants() -> None:
    """Offsets may differ between records: 01:00Z is 09:00+08:00, so the volunteer is free for the demand."""
    from matcher import Problem

    p = Problem.from_dict({
        "volunteers": [{"id": "v", "lat": 0, "lon": 0, "skills": ["g"],
                        "availability": [{"start": "2026-11-23T00:30:00Z", "end": "2026-11-23T02:00:00+00:00"}]}],
        "demands": [{"id": "d", "lat": 0, "lon": 0, "category": "c", "required_skills": ["g"], "headcount": 1,
                     "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T09:30:00+08:00", "priority": 3},
                    {"id": "e", "lat": 0, "lon": 0, "category": "c", "required_skills": ["g"], "headcount": 1,
                     "start": "2026-11-23T03:00:00+02:00", "end": "2026-11-23T03:45:00+02:00", "priority": 1}],
    })
    s = solve(p, SolveOptions(time_limit_s=5))
    assert [(a.volunteer_id, a.demand_id) for a in s.assignments] == [("v", "d")]  # e overlaps d (01:00-01:45Z)


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in (
    "JSON malformed", "CSV ragged lines", "Parquet not Parquet", "10^6 skills", "JSON not UTF-8")],
    ids=lambda c: c.kind)
def test_a_separate_process_never_shows_a_traceback(case: Case, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    r = subprocess.run([sys.executable, "-m", "matcher.cli", "run", str(path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and case.expect in r.stderr and "Traceback" not in r.stderr
