"""Tables read strictly: each column's documented spellings, a named error otherwise; time zones, separators,
misnamed files and columns, physical line numbers, and stale soft references as warnings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import DATA

from matcher import ProblemError, load_problem, read_tables, solve
from matcher.cli import main


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA / "tiny_tables", tmp_path / "tiny"))


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Rewrite one cell (``row`` counts data rows from 0), adding the column when it is not there."""
    import csv
    import io

    path = folder / f"{table}.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    if column not in rows[0]:
        rows[0].append(column)
        for r in rows[1:]:
            r.append("")
    rows[row + 1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


BAD_CELLS = [
    ("demands", "start", "46363.375", "'46363.375' is a number, not a time (an Excel serial date"),
    ("demands", "end", "1700000000", "'1700000000' is a number, not a time"),
    ("demands", "headcount", "2.5", "must be a whole number like 3, not '2.5'"),
    ("demands", "headcount", "true", "must be a whole number like 3, not 'true'"),
    ("demands", "priority", "", "Field required"),
    ("volunteers", "max_hours", "yes", "must be a number like 4.1, not 'yes'"),
    ("volunteers", "max_hours", "4,1", "must be a number like 4.1, not '4,1'"),
    ("volunteers", "insured", "maybe", "must be true or false (true/false, yes/no, 1/0, 是/否), not 'maybe'"),
    ("volunteers", "insured", "2", "must be true or false"),
    ("volunteers", "max_tasks", "1.5", "must be a whole number like 3, not '1.5'"),
    ("volunteers", "availability", "2026-11-23T08:00:00+08:00", "window 1 '2026-11-23T08:00:00+08:00' is not"),
]


@pytest.mark.parametrize(("table", "column", "cell", "message"), BAD_CELLS)
def test_a_bad_cell_is_named_by_file_line_id_and_column(tables: Path, table: str, column: str, cell: str,
                                                        message: str) -> None:
    set_cell(tables, table, 1, column, cell)
    with pytest.raises(ProblemError) as err:
        read_tables(tables)
    rid = {"demands": "d2", "volunteers": "b"}[table]
    assert f"{table}.csv line 3 (id '{rid}'), column {column}: {message}" in str(err.value)


@pytest.mark.parametrize(("cell", "value"), [("true", True), ("FALSE", False), ("yes", True), ("No", False),
                                             ("1", True), ("0", False), ("是", True), ("否", False)])
def test_the_documented_spellings_of_a_flag(tables: Path, cell: str, value: bool) -> None:
    set_cell(tables, "volunteers", 0, "insured", cell)
    assert read_tables(tables).volunteers[0].insured is value


def test_whole_numbers_may_be_written_with_a_zero_fraction(tables: Path) -> None:
    set_cell(tables, "volunteers", 0, "max_tasks", "2.0")
    assert read_tables(tables).volunteers[0].max_tasks == 2


def test_a_timezone_reads_times_written_without_an_offset(tables: Path) -> None:
    for name in ("volunteers", "demands"):
        path = tables / f"{name}.csv"
        path.write_text(path.read_text(encoding="utf-8").replace("+08:00", ""), encoding="utf-8")
    with pytest.raises(ProblemError, match="no UTC offset"):
        read_tables(tables)
    (tables / "settings.json").write_text('{"timezone": "Asia/Shanghai"}', encoding="utf-8")
    p = read_tables(tables)
    assert p.demands[0].start.isoformat() == "2026-11-23T09:00:00+08:00" and p.timezone == "Asia/Shanghai"
    assert solve(p).coverage == solve(load_problem(DATA / "tiny.json")).coverage
    (tables / "settings.json").write_text('{"timezone": "Asia/Shanghia"}', encoding="utf-8")
    with pytest.raises(ProblemError, match="unknown time zone 'Asia/Shanghia'"):
        read_tables(tables)


def test_daylight_saving_rules_apply_in_a_json_problem() -> None:
    data = json.loads((DATA / "tiny.json").read_text())
    data["timezone"] = "Europe/Berlin"
    data["demands"][0]["start"] = "2026-10-25T02:30:00"  # occurs twice: the earlier offset (+02:00)
    data["demands"][0]["end"] = "2026-10-25T03:30:00"
    from matcher import Problem

    p = Problem.from_dict(data)
    assert p.demands[0].start.utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    data["demands"][0]["start"] = "2026-03-29T02:30:00"  # skipped by the clocks
    data["demands"][0]["end"] = "2026-03-29T04:00:00"
    with pytest.raises(ProblemError, match=r"demands\[0\] \(id 'd1'\)\.start: 2026-03-29T02:30:00 does not exist"):
        Problem.from_dict(data)


def test_a_list_cell_with_another_separator_is_read_with_a_warning(tables: Path) -> None:
    set_cell(tables, "volunteers", 0, "skills", "general，nurse")
    p = read_tables(tables)
    assert p.volunteers[0].skills == ("general，nurse",)
    assert any("volunteers.csv line 2 (id 'a'), column skills: 'general，nurse' holds '，'" in w for w in p.warnings)


@pytest.mark.parametrize(("wrong", "hint"), [("pined.csv", "pinned.csv"), ("Pinned.csv", "pinned.csv"),
                                             ("volunteer.csv", "volunteers.csv"), ("notes.txt", None)])
def test_a_misnamed_file_is_an_error_not_ignored(tables: Path, wrong: str, hint: str | None) -> None:
    (tables / wrong).write_text("volunteer_id,demand_id\na,d1\n", encoding="utf-8")
    with pytest.raises(ProblemError) as err:
        read_tables(tables)
    assert f"unknown file '{wrong}'" in str(err.value)
    if hint:
        assert f"did you mean '{hint}'" in str(err.value)


def test_a_misnamed_column_gets_a_suggestion_and_headers_are_trimmed(tables: Path) -> None:
    path = tables / "volunteers.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("skills", " skills "), encoding="utf-8")
    assert read_tables(tables).volunteers[0].skills == ("general", "nurse")
    path.write_text(text.replace("skills", "skils"), encoding="utf-8")
    with pytest.raises(ProblemError, match="unknown column 'skils' \\(did you mean 'skills'\\?\\)"):
        read_tables(tables)


def test_errors_count_physical_lines_past_a_quoted_line_break(tables: Path) -> None:
    path = tables / "demands.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("health", '"health\nand more"')  # record 1 spans lines 2-3
    lines[2] = lines[2].replace(",2,2026", ",two,2026")  # record 2 is on line 4
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ProblemError, match=r"demands\.csv line 4 \(id 'd2'\), column headcount"):
        read_tables(tables)


def test_stale_soft_references_are_warnings_and_hard_ones_errors(tables: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tables / "forbidden.csv").write_text("volunteer_id,demand_id\na,withdrawn-order\n", encoding="utf-8")
    (tables / "previous.csv").write_text("volunteer_id,demand_id\ngone,d1\n", encoding="utf-8")
    set_cell(tables, "demands", 0, "preferred_volunteers", "a;departed")
    p = read_tables(tables)
    assert p.forbidden == () and p.previous == () and p.demands[0].preferred_volunteers == ("a",)
    assert len(p.warnings) == 3
    assert ("forbidden.csv line 2 (volunteer 'a', demand 'withdrawn-order'), column demand_id: unknown demand "
            "'withdrawn-order', pair dropped") in "".join(p.warnings)
    assert "demands.csv line 2 (id 'd1'), column preferred_volunteers: unknown volunteer 'departed'" in "".join(
        p.warnings)
    # the nightly run goes on: warnings on stderr, in the solution and in the manifest
    assert main(["run", str(tables), "--out", str(tmp_path / "runs"), "--time-limit", "5"]) == 0
    err = capsys.readouterr().err
    assert "unknown demand 'withdrawn-order', pair dropped" in err
    manifest = json.loads((tmp_path / "runs" / "latest" / "manifest.json").read_text())
    solution = json.loads((tmp_path / "runs" / "latest" / "solution.json").read_text())
    assert len(manifest["warnings"]) == len(solution["warnings"]) == 3
    # hard references stay errors
    (tables / "pinned.csv").write_text("volunteer_id,demand_id\ngone,d1\n", encoding="utf-8")
    with pytest.raises(ProblemError, match=r"pinned\.csv line 2 \(volunteer 'gone', demand 'd1'\), "
                                           r"column volunteer_id: unknown volunteer 'gone'"):
        read_tables(tables)


def test_bad_cells_of_every_table_come_in_one_error(tables: Path) -> None:
    """A user fixing a folder sees all of it at once, not one table per try (demands' cells used to hide the rest)."""
    set_cell(tables, "demands", 0, "headcount", "2.5")
    set_cell(tables, "demands", 1, "start", "46363.375")
    set_cell(tables, "volunteers", 0, "max_tasks", "abc")
    set_cell(tables, "volunteers", 1, "insured", "2")
    with pytest.raises(ProblemError) as got:
        read_tables(tables)
    tables_named = {e.split(" line ")[0].rsplit("/", 1)[-1] for e in got.value.errors}
    assert tables_named == {"demands.csv", "volunteers.csv"} and len(got.value.errors) == 4, got.value.errors


def test_a_bad_cell_of_a_table_of_pairs_names_its_volunteer_and_demand(tables: Path) -> None:
    """Ratings, pins and the rest have no id column: their records are named by the pair (as matcher rate does)."""
    (tables / "ratings.csv").write_text("volunteer_id,demand_id,stars,at\na,d1,5,2026-11-20T10:00:00+08:00\n"
                                        "b,d2,x,2026-11-20T10:00:00+08:00\n", encoding="utf-8")
    with pytest.raises(ProblemError, match=r"ratings\.csv line 3 \(volunteer 'b', demand 'd2'\), column stars: "):
        read_tables(tables)


def test_a_tables_bad_cells_come_in_line_order(tables: Path) -> None:
    """As a user fixes the file, top to bottom (they came column by column: line 2, 4, then 3)."""
    set_cell(tables, "volunteers", 2, "max_tasks", "abc")
    set_cell(tables, "volunteers", 0, "max_tasks", "true")
    set_cell(tables, "volunteers", 1, "insured", "2")
    with pytest.raises(ProblemError) as got:
        read_tables(tables)
    lines = [int(e.split(" line ")[1].split(" ")[0]) for e in got.value.errors]
    assert lines == [2, 3, 4], got.value.errors
