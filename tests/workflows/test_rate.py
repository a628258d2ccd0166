"""The 评单 loop in the library: rate -> run -> rate moves hours and stars; strict input; all or nothing; idempotent.

The problems are dated two days and one day before the clock, so that the runs (which read the ledger as of
their start) see the services in their 30-day window whatever day the tests run. Each demand needs a skill one
volunteer holds, so every plan is known in advance.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ledger_nights import NIGHT_1, NIGHT_2, TODAY, at, night, table, write_csv

from matcher import ProblemError, open_ledger, record_services, run_batch
from matcher.model import ServiceUpdate

HOUR = 3_600_000_000


def run(problem: Path, runs: Path) -> Path:
    return run_batch(problem, runs, overrides={"time_limit_s": 20}).path


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Night 1, run once for the checks that record nothing (each recording test makes its own runs)."""
    root = tmp_path_factory.mktemp("rate")
    return run(night(root / "night1.json", 2, NIGHT_1), root / "runs")


def test_rate_run_rate_moves_hours_and_stars(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run1 = run(night(tmp_path / "n1.json", 2, NIGHT_1), runs)
    ledger = runs / "ledger.sqlite"
    assert not ledger.exists()  # a run reads the ledger, never makes it
    assert table(run1 / "volunteers_ledger.csv")["a"]["hours_to_date"] == "0.00"

    # the hours a served before matcher kept their ledger: 98.5 h, a hundred days ago (a library import)
    store = open_ledger(ledger)
    assert store is not None
    old = TODAY - timedelta(days=100)
    store.record([ServiceUpdate(volunteer_id="a", demand_id="before", served_us=98 * HOUR + HOUR // 2,
                                default_served_us=HOUR, default_at=old)], source="import")
    store.close()

    rated = write_csv(tmp_path / "night1.csv", [["volunteer_id", "demand_id", "stars", "hours"],
                                                ["a", "D1", 2, ""], ["a", "D3", "", ""], ["b", "D2", 5, 1],
                                                ["c", "D4", "", ""]])
    r = record_services(rated, runs / "latest").recording
    assert (r.added, r.changed, r.unchanged) == (4, 0, 0)
    store = open_ledger(ledger)
    assert store is not None
    held = {(x.volunteer_id, x.demand_id): x for x in store.records()}
    store.close()
    assert held["a", "D1"].served_us == 3 * HOUR // 2 and held["a", "D1"].series_id == "S1"  # from the run
    assert held["a", "D3"].served_us == 9 * HOUR // 4  # the demand's 2.25 h
    assert held["b", "D2"].served_us == HOUR  # as given
    assert held["a", "D1"].at == datetime.fromisoformat(at(2, 9.5))  # the demand's end
    assert held["a", "D1"].run == run1.name

    run2 = run(night(tmp_path / "n2.json", 1, NIGHT_2), runs)
    rows = table(run2 / "volunteers_ledger.csv")
    assert rows["a"] == {"volunteer_id": "a", "hours_in_plan": "1.00", "tasks_in_plan": "1",
                         "hours_to_date": "102.25", "star_level": "1", "hours_to_next_star": "197.75",
                         "points": "102.25", "rating_mean": "2.00", "ratings": "1", "recent_hours": "3.75",
                         "recent_hours_from": "ledger"}  # the 98.5 h are a hundred days old: not recent
    assert [rows["b"][k] for k in ("hours_in_plan", "hours_to_date", "star_level", "hours_to_next_star",
                                   "rating_mean", "recent_hours")] == ["2.00", "1.00", "0", "99.00", "5.00", "1.00"]
    assert rows["c"]["hours_to_date"] == "1.00" and rows["c"]["ratings"] == "0"
    manifest = json.loads((run2 / "manifest.json").read_text())
    assert manifest["ledger"] | {"as_of": None} == {
        "read": True, "where": str(ledger), "as_of": None, "recent_days": 30, "points_per_hour": "1",
        "records": 5, "last_recording": 2, "recent_hours_from_ledger": 3, "recent_hours_from_input": 0,
        "ratings_added": 2}
    assert any("recent_hours of 3 volunteer(s) taken from the ledger" in w for w in manifest["warnings"])

    (tmp_path / "night2.json").write_text(json.dumps({"services": [
        {"volunteer_id": "a", "demand_id": "E1", "stars": 5}, {"volunteer_id": "b", "demand_id": "E2"}]}))
    r = record_services(tmp_path / "night2.json", runs / "latest").recording
    assert (r.id, r.added) == (3, 2)
    run3 = run(night(tmp_path / "n2.json", 1, NIGHT_2), runs)
    rows = table(run3 / "volunteers_ledger.csv")
    assert [rows["a"][k] for k in ("hours_to_date", "star_level", "hours_to_next_star", "points", "rating_mean",
                                   "ratings")] == ["103.25", "1", "196.75", "103.25", "3.50", "2"]
    assert [rows["b"][k] for k in ("hours_to_date", "recent_hours")] == ["3.00", "3.00"]


def test_recording_a_file_again_does_not_count_twice(tmp_path: Path, first_run: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    rated = write_csv(tmp_path / "r.csv", [["volunteer_id", "demand_id", "stars"], ["a", "D1", 4], ["b", "D2", ""]])
    first = record_services(rated, first_run, ledger=ledger).recording
    second = record_services(rated, first_run, ledger=ledger).recording
    assert (first.added, second.added, second.changed, second.unchanged) == (2, 0, 0, 2)
    store = open_ledger(ledger)
    assert store is not None
    assert store.state(datetime.now(UTC)).volunteers["a"].served_us == 3 * HOUR // 2
    # stars given later for the hours recorded first: an update, not a second service
    later = write_csv(tmp_path / "later.csv", [["volunteer_id", "demand_id", "stars"], ["b", "D2", 3]])
    assert record_services(later, first_run, ledger=ledger).recording.changed == 1
    b = store.state(datetime.now(UTC)).volunteers["b"]
    store.close()
    assert (b.served_us, b.stars_sum, b.stars_count) == (3 * HOUR // 2, 3, 1)


def test_a_bad_record_records_nothing(tmp_path: Path, first_run: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    good = write_csv(tmp_path / "good.csv", [["volunteer_id", "demand_id"], ["a", "D1"]])
    record_services(good, first_run, ledger=ledger)
    store = open_ledger(ledger)
    assert store is not None
    before = store.records()
    bad = write_csv(tmp_path / "bad.csv", [["volunteer_id", "demand_id", "stars"], ["a", "D1", 5], ["b", "D2", 4],
                                           ["c", "D4", 6]])
    with pytest.raises(ProblemError, match=r"bad.csv line 4 \(volunteer 'c', demand 'D4'\), column stars"):
        record_services(bad, first_run, ledger=ledger)
    assert store.records() == before and store.state(datetime.now(UTC)).last_recording == 1
    store.close()


def test_more_hours_than_the_window_are_recorded_and_named(tmp_path: Path, first_run: Path) -> None:
    """A service may run over its order's window, so it is recorded; the note names each such record."""
    rated = write_csv(tmp_path / "long.csv", [["volunteer_id", "demand_id", "hours"], ["a", "D1", "24"],
                                              ["b", "D2", "1"]])
    result = record_services(rated, first_run, ledger=tmp_path / "l.sqlite")
    assert result.recording.added == 2
    assert result.notes == ("1 record(s) give more hours than their demand's window: line 2 (volunteer 'a', demand "
                            "'D1'): 24.00 h in a 1.50 h window",)


def errors_of(tmp_path: Path, run_dir: Path, rows: list[list[Any]], **kw: Any) -> list[str]:
    path = write_csv(tmp_path / "rate.csv", rows)
    with pytest.raises(ProblemError) as exc:
        record_services(path, run_dir, ledger=tmp_path / "l.sqlite", **kw)
    assert not (tmp_path / "l.sqlite").exists()  # nothing recorded: not even a ledger made
    return exc.value.errors


HEAD = ["volunteer_id", "demand_id", "series_id", "stars", "hours", "at"]


@pytest.mark.parametrize(("row", "column", "says"), [
    (["zz", "D1", "", "", "", ""], "volunteer_id", "unknown volunteer 'zz': not a volunteer of run run-"),
    (["a", "D9", "", "", "", ""], "demand_id", "unknown demand 'D9': not a demand of run run-"),
    (["b", "D1", "", "", "", ""], "demand_id", "did not send 'b' to 'D1' (it sent a); a change during the day?"),
    (["a", "D1", "S2", "", "", ""], "series_id", "'D1' is of series 'S1' in run"),
    (["a", "D3", "S1", "", "", ""], "series_id", "'D3' is of no series in run"),
    (["a", "D1", "", "6", "", ""], "stars", "must be a whole number from 1 to 5, not 6"),
    (["a", "D1", "", "4.5", "", ""], "stars", "must be a whole number like 3, not '4.5'"),
    (["a", "D1", "", "true", "", ""], "stars", "must be a whole number like 3, not 'true'"),
    (["a", "D1", "", "", "0", ""], "hours", "must be above 0 and at most 24 (a no-show is not a service"),
    (["a", "D1", "", "", "25", ""], "hours", "must be above 0 and at most 24"),
    (["a", "D1", "", "", "1,5", ""], "hours", "must be a number like 4.1, not '1,5'"),
    (["a", "D1", "", "", "nan", ""], "hours", "must be a finite number"),
    (["a", "D1", "", "", "", "46363.375"], "at", "is a number, not a time (an Excel serial date"),
    (["a", "D1", "", "", "", "2026-11-23T10:00:00"], "at",
     "has no UTC offset: write one (e.g. +08:00), or name its timezone (--timezone"),
    (["a", "D1", "", "", "", "2000-01-01T10:00:00+08:00"], "at", "is before the demand starts"),
    (["a", "D1", "", "", "", "2999-01-01T10:00:00+08:00"], "at", "later than now"),
])
def test_each_bad_cell_is_named_by_file_line_and_column(
        tmp_path: Path, first_run: Path, row: list[str], column: str, says: str) -> None:
    errors = errors_of(tmp_path, first_run, [HEAD, ["b", "D2", "", "5", "", ""], row])
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'rate.csv'} line 3 (volunteer '{row[0]}', demand '{row[1]}'), "
                                f"column {column}: ")
    assert says in errors[0]


def test_every_error_at_once_and_pairs_twice(tmp_path: Path, first_run: Path) -> None:
    errors = errors_of(tmp_path, first_run, [["volunteer_id", "demand_id", "stars"], ["a", "D1", "5"],
                                              ["", "D2", ""], ["a", "D1", "4"], ["zz", "D9", "x"]])
    path = tmp_path / "rate.csv"
    assert errors == [
        f"{path} line 3, column volunteer_id: empty; every service names its volunteer and demand",
        f"{path} line 4 (volunteer 'a', demand 'D1'): the pair is given twice (first at {path} line 2); give each "
        "service once (recording it again later updates it)",
        f"{path} line 5 (volunteer 'zz', demand 'D9'), column stars: must be a whole number like 3, not 'x'",
        f"{path} line 5 (volunteer 'zz', demand 'D9'), column volunteer_id: unknown volunteer 'zz': not a volunteer "
        f"of run {first_run.resolve().name}",
        f"{path} line 5 (volunteer 'zz', demand 'D9'), column demand_id: unknown demand 'D9': not a demand of run "
        f"{first_run.resolve().name}",
    ]


def test_a_repeated_pair_is_named_when_a_copy_has_a_bad_cell(tmp_path: Path, first_run: Path) -> None:
    errors = errors_of(tmp_path, first_run, [["volunteer_id", "demand_id", "hours"], ["a", "D1", "0"],
                                              ["a", "D1", "1"], ["b", "D2", "x"], ["b", "D2", "y"]])
    path = tmp_path / "rate.csv"
    twice = [e for e in errors if "the pair is given twice" in e]
    assert [e.split(":")[0] for e in twice] == [f"{path} line 3 (volunteer 'a', demand 'D1')",
                                                f"{path} line 5 (volunteer 'b', demand 'D2')"]
    assert len(errors) == 5  # and the three bad cells


def test_a_file_of_no_services_records_nothing(tmp_path: Path, first_run: Path) -> None:
    errors = errors_of(tmp_path, first_run, [HEAD])
    assert errors == [f"{tmp_path / 'rate.csv'}: no services in it (its header alone); nothing recorded"]


def test_columns_and_files(tmp_path: Path, first_run: Path) -> None:
    errors = errors_of(tmp_path, first_run, [["volunteer_id", "demand", "star"], ["a", "D1", "5"]])
    assert errors == [f"{tmp_path / 'rate.csv'}: unknown column 'demand' (did you mean 'demand_id'?) (known: "
                      "volunteer_id, demand_id, series_id, stars, hours, at)",
                      f"{tmp_path / 'rate.csv'}: unknown column 'star' (did you mean 'stars'?) (known: "
                      "volunteer_id, demand_id, series_id, stars, hours, at)",
                      f"{tmp_path / 'rate.csv'}: missing column 'demand_id'"]
    with pytest.raises(ProblemError, match="not a run folder"):
        record_services(write_csv(tmp_path / "r.csv", [HEAD]), tmp_path / "nowhere")
    with pytest.raises(ProblemError, match=r"no services\.csv or volunteers_ledger\.csv: not a folder written by"):
        record_services(tmp_path / "r.csv", tmp_path)
    with pytest.raises(ProblemError, match=r"r\.txt: a file of services is \.csv, \.parquet or \.json"):
        record_services(tmp_path / "r.txt", first_run)


def test_json_is_read_as_strictly(tmp_path: Path, first_run: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"volunteer_id": "a", "demand_id": "D1", "stars": True},
                                {"volunteer_id": "b", "demand_id": "D2", "hours": "1.5"},
                                {"volunteer_id": "c", "demand_id": "D4", "at": 1795000000},
                                {"volunteer_id": "a", "demand_id": "D3", "rating": 5}, 7]))
    with pytest.raises(ProblemError) as exc:
        record_services(path, first_run, ledger=tmp_path / "l.sqlite")
    assert exc.value.errors == [f"{path} item 5: must be an object of volunteer_id, demand_id, series_id, stars, "
                                "hours, at"]
    path.write_text(json.dumps({"services": [{"volunteer_id": "a", "demand_id": "D1", "stars": True},
                                             {"volunteer_id": "b", "demand_id": "D2", "hours": 1.5, "at": 17e8}]}))
    with pytest.raises(ProblemError) as exc:
        record_services(path, first_run, ledger=tmp_path / "l.sqlite")
    assert exc.value.errors == [f"{path} item 1 (volunteer 'a', demand 'D1'), column stars: must be a whole number, "
                                "not true",
                                f"{path} item 2 (volunteer 'b', demand 'D2'), column at: a number is not a time: the "
                                "number 1700000000.0 (write ISO 8601 like 2026-11-23T08:00:00+08:00)"]
    assert not (tmp_path / "l.sqlite").exists()


def test_times_without_offset_take_the_named_zone_and_unplanned_pairs_are_asked_for(
        tmp_path: Path, first_run: Path) -> None:
    local = (TODAY - timedelta(days=2) + timedelta(hours=9)).replace(tzinfo=None).isoformat()
    rated = write_csv(tmp_path / "r.csv", [["volunteer_id", "demand_id", "at"], ["b", "D1", local]])
    result = record_services(rated, first_run, ledger=tmp_path / "l.sqlite", timezone="Asia/Shanghai",
                             unplanned=True)
    assert result.recording.added == 1
    store = open_ledger(tmp_path / "l.sqlite")
    assert store is not None
    (rec,) = store.records()
    store.close()
    assert rec.at == TODAY - timedelta(days=2) + timedelta(hours=9) and rec.volunteer_id == "b"
    with pytest.raises(ProblemError, match="--timezone: unknown time zone 'Mars/Base'"):
        record_services(rated, first_run, ledger=tmp_path / "l.sqlite", timezone="Mars/Base")


def test_parquet_with_typed_cells(tmp_path: Path, first_run: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "r.parquet"
    ended = datetime.fromisoformat(at(2, 15))
    pq.write_table(pa.table({"volunteer_id": ["a", "c"], "demand_id": ["D1", "D4"], "stars": [5, None],
                             "hours": [1.25, None], "at": [None, ended]}), path)
    r = record_services(path, first_run, ledger=tmp_path / "l.sqlite").recording
    assert (r.added, r.changed) == (2, 0)
    store = open_ledger(tmp_path / "l.sqlite")
    assert store is not None
    held = {x.demand_id: x for x in store.records()}
    store.close()
    assert (held["D1"].stars, held["D1"].served_us) == (5, 5 * HOUR // 4)
    assert (held["D4"].stars, held["D4"].served_us, held["D4"].at) == (None, HOUR, ended)
    pq.write_table(pa.table({"volunteer_id": ["a"], "demand_id": ["D1"], "stars": [True]}), path)
    with pytest.raises(ProblemError, match=r"r\.parquet row 1 \(volunteer 'a', demand 'D1'\), column stars: must be"):
        record_services(path, first_run, ledger=tmp_path / "l.sqlite")
