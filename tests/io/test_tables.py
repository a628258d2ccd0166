"""Table input (CSV and Parquet folders): same problem as the JSON, and errors naming file, row and column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import DATA

from matcher import ProblemError, load_problem, solve
from matcher.cli import main
from matcher.generate import generate_tables
from matcher.io import read_tables, table_rows, write_tables


@pytest.fixture
def tiny_tables(tmp_path: Path) -> Path:
    """A writable copy of tests/data/tiny_tables: tiny.json as CSV tables."""
    return Path(shutil.copytree(DATA / "tiny_tables", tmp_path / "tiny"))


def test_tiny_tables_equal_the_json() -> None:
    assert read_tables(DATA / "tiny_tables") == load_problem(DATA / "tiny.json")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_tables_round_trip(tmp_path: Path, fmt: str) -> None:
    tables = generate_tables("community", seed=3)
    write_tables(tables, tmp_path, fmt=fmt, settings={"taxonomy": "builtin"})
    from_files = read_tables(tmp_path)
    from matcher.io import problem_from_tables

    assert from_files == problem_from_tables(tables, taxonomy="builtin")
    assert from_files.taxonomy == "builtin"
    assert len(from_files.volunteers) == 1000
    assert solve(from_files).coverage > 0


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        # a bad number: file, line, id and column
        ("volunteers.csv", "39.95,116.4,general", "39.95,116.4x,general",
         ["volunteers.csv line 4 (id 'c'), column lon:", "must be a number like 4.1, not '116.4x'"]),
        ("demands.csv", ",3\n", ",9\n", ["demands.csv line 3 (id 'd2'), column priority:", "less than or equal to 5"]),
        ("demands.csv", "d3,A1,,,errands,general,1", "d3,A1,,,errands,general,0",
         ["demands.csv line 4 (id 'd3'), column headcount:"]),
        # cross-record problems are located the same way
        ("demands.csv", "d4,A1", "d4,A9", ["demands.csv line 5 (id 'd4'), column area_id: unknown area 'A9'"]),
        ("volunteers.csv", "\nc,", "\nb,", ["volunteers.csv line 4 (id 'b'), column id: duplicate id 'b'"]),
        # encodings
        ("volunteers.csv", "2026-11-23T08:00:00+08:00/2026-11-23T12:00:00+08:00,2",
         "2026-11-23T08:00:00+08:00 2026-11-23T12:00:00+08:00,2",
         ["volunteers.csv line 2 (id 'a'), column availability: window 1", "is not 'start/end'"]),
        ("volunteers.csv", "2026-11-23T08:00:00+08:00/2026-11-23T12:00:00+08:00,2",
         "2026-11-23T08:00:00/2026-11-23T12:00:00+08:00,2",
         ["volunteers.csv line 2 (id 'a'), column availability: window 1", "no UTC offset", "timezone"]),
        ("demands.csv", "d6,A1,,,errands,general,1,2026-11-24T09:00:00+08:00",
         "d6,A1,,,errands,general,1,2026-11-24T11:00:00+08:00",
         ["demands.csv line 7 (id 'd6')", "must be before end"]),
        # file structure
        ("volunteers.csv", "max_tasks,max_hours\n", "max_tasks,max_hourz\n", ["unknown column 'max_hourz'"]),
        ("demands.csv", "d5,,40.2,116.4,errands", "d5,,40.2,116.4,x,errands", ["demands.csv line 6: 11 cells"]),
        ("areas.csv", "id,lat,lon", "id,lat,lat", ["areas.csv line 1: column 'lat' given twice"]),
    ],
)
def test_bad_cell_names_file_row_and_column(tiny_tables: Path, file: str, old: str, new: str,
                                            expected: list[str]) -> None:
    _edit(tiny_tables / file, old, new)
    with pytest.raises(ProblemError) as err:
        read_tables(tiny_tables)
    for part in expected:
        assert part in str(err.value)


def test_folder_level_errors(tiny_tables: Path) -> None:
    (tiny_tables / "demands.csv").rename(tiny_tables / "orders.csv")
    with pytest.raises(ProblemError, match=r"unknown file 'orders\.csv'"):
        read_tables(tiny_tables)
    (tiny_tables / "orders.csv").unlink()
    with pytest.raises(ProblemError, match=r"missing table demands\.csv or demands\.parquet"):
        read_tables(tiny_tables)
    shutil.copy(DATA / "tiny_tables" / "demands.csv", tiny_tables / "demands.csv")
    (tiny_tables / "demands.parquet").write_bytes(b"not parquet")
    with pytest.raises(ProblemError, match=r"both demands\.csv and demands\.parquet"):
        read_tables(tiny_tables)
    (tiny_tables / "demands.csv").unlink()
    with pytest.raises(ProblemError, match=r"demands\.parquet: not a readable Parquet file"):
        read_tables(tiny_tables)


def test_non_utf8_and_empty_files(tiny_tables: Path) -> None:
    (tiny_tables / "areas.csv").write_bytes("id,lat,lon,community\nA1,39.9,116.4,东城\n".encode("gbk"))
    with pytest.raises(ProblemError, match=r"areas\.csv: not UTF-8 text"):
        read_tables(tiny_tables)
    (tiny_tables / "areas.csv").write_bytes(b"")
    with pytest.raises(ProblemError, match=r"areas\.csv: file is empty"):
        read_tables(tiny_tables)


def test_byte_order_mark_and_chinese_names(tiny_tables: Path) -> None:
    (tiny_tables / "areas.csv").write_text("id,lat,lon,community,street\nA1,39.9,116.4,和平社区,东华门街道\n",
                                           encoding="utf-8-sig")
    assert read_tables(tiny_tables).areas[0].street == "东华门街道"


def test_parquet_types_are_checked_per_row(tmp_path: Path) -> None:
    tables = generate_tables("community", seed=1, scale=0.05)
    heads = tables["demands"]["headcount"] = [str(h) for h in tables["demands"]["headcount"]]  # a text column
    heads[3] = "two"
    write_tables({k: v for k, v in tables.items() if k != "forbidden"}, tmp_path, fmt="parquet")
    with pytest.raises(ProblemError) as err:
        read_tables(tmp_path)
    assert f"demands.parquet row 4 (id '{tables['demands']['id'][3]}'), column headcount:" in str(err.value)


def test_settings_file(tiny_tables: Path) -> None:
    (tiny_tables / "settings.json").write_text('{"options": {"time_limit_s": -1}}', encoding="utf-8")
    with pytest.raises(ProblemError, match=r"settings\.json: options\.time_limit_s"):
        read_tables(tiny_tables)
    (tiny_tables / "settings.json").write_text('{"taxonomy": "builtin", "extra": 1}', encoding="utf-8")
    known = "unknown key 'extra' \\(known: taxonomy, options, timezone, travel, encoding"
    with pytest.raises(ProblemError, match=known):
        read_tables(tiny_tables)


def test_unknown_table_column_in_code() -> None:
    with pytest.raises(ProblemError, match="unknown column 'colour'"):
        table_rows("areas", {"id": ["A"], "colour": ["red"]})


def test_cli_solves_a_folder_and_keeps_old_output_on_error(tiny_tables: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "solution.json"
    assert main(["solve", str(tiny_tables), "--out", str(out), "-q"]) == 0
    first = out.read_bytes()
    assert b'"coverage": 21.0' in first
    _edit(tiny_tables / "volunteers.csv", "a,39.9,", "a,99.9,")
    assert main(["solve", str(tiny_tables), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "volunteers.csv line 2 (id 'a'), column lat:" in err
    assert "Traceback" not in err
    assert out.read_bytes() == first


def test_cli_unwritable_out_is_a_clear_error(tiny_tables: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["solve", str(tiny_tables), "--out", str(blocker / "solution.json"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


def test_load_problem_names_a_folder_and_what_reads_one() -> None:
    with pytest.raises(ProblemError) as err:
        load_problem(DATA / "tiny_tables")
    assert "is a folder" in str(err.value) and "read_tables" in str(err.value)
    assert str(DATA / "tiny_tables") in str(err.value)
