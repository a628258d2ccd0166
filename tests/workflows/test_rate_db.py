"""The 评单 loop on a database: ``matcher run --out DB_URL``, then ``matcher rate FILE --run DB_URL[#run-id]``.

The same cycle as the folder's (``test_rate.py``), on SQLite and PostgreSQL (the PostgreSQL cases run against
a real server: ``tests/conftest.py``): the run stores its services and volunteers, ``matcher rate`` resolves
ids against them and records into the database's ``ledger_*`` tables, and the next run reads those.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_nights import NIGHT_1, NIGHT_2, TODAY, night, write_csv

from matcher import ProblemError, open_ledger, record_services, run_batch
from matcher.io import redact
from matcher.io.rundb import split_run_url
from matcher.model import ServiceUpdate

HOUR = 3_600_000_000
COLUMNS = ("hours_in_plan", "tasks_in_plan", "hours_to_date", "star_level", "hours_to_next_star", "points",
           "rating_mean", "ratings", "recent_hours", "recent_hours_from")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'matcher.db'}"
    return str(request.getfixturevalue("postgres_url"))


def run(problem: Path, url: str) -> str:
    """Run ``problem`` into the database; the run's id."""
    path = str(run_batch(problem, url, overrides={"time_limit_s": 20}).path)
    assert path.startswith(redact(url) + "#")
    return path.rpartition("#")[2]


def ledger_rows(url: str, run_id: str) -> dict[str, dict[str, Any]]:
    """The run's ``matcher_volunteers_ledger`` rows, by volunteer."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM matcher_volunteers_ledger WHERE run_id = :r"), {"r": run_id})
        out = {r.volunteer_id: {k: getattr(r, k) for k in COLUMNS} for r in rows}
    engine.dispose()
    return out


def password_hidden(url: str, messages: list[str]) -> None:
    password = sa.engine.make_url(url).password
    assert password is None or not any(str(password) in m for m in messages)


def test_rate_run_rate_on_a_database_moves_hours_and_stars(tmp_path: Path, db_url: str) -> None:
    run1 = run(night(tmp_path / "n1.json", 2, NIGHT_1), db_url)
    assert ledger_rows(db_url, run1)["a"]["hours_to_date"] == 0.0

    store = open_ledger(db_url)  # the hours a served before matcher, a hundred days ago (a library import)
    assert store is not None
    store.record([ServiceUpdate(volunteer_id="a", demand_id="before", served_us=98 * HOUR + HOUR // 2,
                                default_served_us=HOUR, default_at=TODAY - timedelta(days=100))], source="import")
    store.close()

    rated = write_csv(tmp_path / "night1.csv", [["volunteer_id", "demand_id", "stars", "hours"],
                                                ["a", "D1", 2, ""], ["a", "D3", "", ""], ["b", "D2", 5, 1],
                                                ["c", "D4", "", ""]])
    result = record_services(rated, db_url)  # the latest run; the ledger: the same database's ledger_* tables
    r = result.recording
    assert (r.added, r.changed, r.unchanged, result.run) == (4, 0, 0, run1)
    assert r.where == redact(db_url)
    password_hidden(db_url, [r.where])
    store = open_ledger(db_url)
    assert store is not None
    held = {(x.volunteer_id, x.demand_id): x for x in store.records()}
    store.close()
    assert held["a", "D1"].served_us == 3 * HOUR // 2 and held["a", "D1"].series_id == "S1"  # from the run
    assert held["a", "D3"].served_us == 9 * HOUR // 4 and held["b", "D2"].served_us == HOUR
    assert held["a", "D1"].run == run1

    run2_result = run_batch(night(tmp_path / "n2.json", 1, NIGHT_2), db_url, overrides={"time_limit_s": 20})
    run2 = str(run2_result.path).rpartition("#")[2]
    rows = ledger_rows(db_url, run2)
    assert rows["a"] == {"hours_in_plan": 1.0, "tasks_in_plan": 1, "hours_to_date": 102.25, "star_level": 1,
                         "hours_to_next_star": 197.75, "points": 102.25, "rating_mean": 2.0, "ratings": 1,
                         "recent_hours": 3.75, "recent_hours_from": "ledger"}  # the 98.5 h are not recent
    assert [rows["b"][k] for k in ("hours_in_plan", "hours_to_date", "star_level", "hours_to_next_star",
                                   "rating_mean", "recent_hours")] == [2.0, 1.0, 0, 99.0, 5.0, 1.0]
    assert rows["c"]["hours_to_date"] == 1.0 and rows["c"]["ratings"] == 0
    assert run2_result.manifest["ledger"] | {"as_of": None} == {
        "read": True, "where": redact(db_url), "as_of": None, "recent_days": 30, "points_per_hour": "1",
        "records": 5, "last_recording": 2, "recent_hours_from_ledger": 3, "recent_hours_from_input": 0,
        "ratings_added": 2}

    night2 = write_csv(tmp_path / "night2.csv", [["volunteer_id", "demand_id", "stars"], ["a", "E1", 5],
                                                 ["b", "E2", ""]])
    r = record_services(night2, f"{db_url}#{run2}").recording  # the run named by its id
    assert (r.id, r.added) == (3, 2)
    run3 = run(night(tmp_path / "n2.json", 1, NIGHT_2), db_url)
    rows = ledger_rows(db_url, run3)
    assert [rows["a"][k] for k in ("hours_to_date", "star_level", "hours_to_next_star", "points", "rating_mean",
                                   "ratings")] == [103.25, 1, 196.75, 103.25, 3.5, 2]
    assert [rows["b"][k] for k in ("hours_to_date", "recent_hours")] == [3.0, 3.0]


def test_a_run_named_by_id_and_what_goes_wrong(tmp_path: Path, db_url: str) -> None:
    rated = write_csv(tmp_path / "r.csv", [["volunteer_id", "demand_id", "stars"], ["a", "D1", 4]])

    def errors(run_: str) -> list[str]:
        with pytest.raises(ProblemError) as exc:
            record_services(rated, run_)
        password_hidden(db_url, exc.value.errors)
        return exc.value.errors

    assert errors(db_url) == [f"{redact(db_url)}: no run stored in this database (no table matcher_runs); "
                              "matcher run INPUT --out DB_URL writes runs there"]
    run1 = run(night(tmp_path / "n1.json", 2, NIGHT_1), db_url)
    run2 = run(night(tmp_path / "n2.json", 1, NIGHT_2), db_url)
    assert run1 < run2
    # the latest run (night 2) has no D1; night 1's, named by its id, has
    assert any("unknown demand 'D1': not a demand of run " + run2 in e for e in errors(db_url))
    assert any("unknown demand 'D1'" in e for e in errors(f"{db_url}#{run2}"))
    wrong = errors(f"{db_url}#run-19990101T000000Z")
    assert wrong == [f"{redact(db_url)}: no run 'run-19990101T000000Z' in this database (the latest: {run2}, "
                     f"{run1}); give DB_URL#run-id as matcher run printed it, or DB_URL for the latest"]
    r = record_services(rated, f"{db_url}#{run1}")
    assert (r.run, r.recording.added) == (run1, 1)
    ledger = tmp_path / "elsewhere.sqlite"  # --ledger still chooses the ledger
    assert record_services(rated, f"{db_url}#{run1}", ledger=ledger).recording.where == str(ledger)

    engine = sa.create_engine(db_url)  # a run stored before runs stored their services
    with engine.begin() as conn:
        for t in ("matcher_services", "matcher_volunteers_ledger"):
            conn.execute(sa.text(f"DELETE FROM {t} WHERE run_id = :r"), {"r": run1})
    engine.dispose()
    assert errors(f"{db_url}#{run1}")[0].startswith(f"{redact(db_url)}#{run1}: the run stored no services")


def test_an_empty_database_and_one_that_cannot_be_reached(tmp_path: Path) -> None:
    rated = write_csv(tmp_path / "r.csv", [["volunteer_id", "demand_id"], ["a", "D1"]])
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE matcher_runs (run_id VARCHAR(64) PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(ProblemError, match=r"empty\.db: no run stored yet \(table matcher_runs is empty\)"):
        record_services(rated, url)
    secret = "postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere"
    with pytest.raises(ProblemError) as exc:
        record_services(rated, secret + "#run-1")
    assert "s3cret-pw" not in str(exc.value.errors) and "someone:***@127.0.0.1:1/nowhere" in exc.value.errors[0]


@pytest.mark.parametrize(("text", "split"), [
    ("sqlite:///runs.db", ("sqlite:///runs.db", None)),
    ("sqlite:///runs.db#run-20261130T200000Z-2", ("sqlite:///runs.db", "run-20261130T200000Z-2")),
    ("sqlite:///runs.db#", ("sqlite:///runs.db", None)),
    ("postgresql://u:p#w@host/db", ("postgresql://u:p#w@host/db", None)),  # a # in the password
    ("postgresql://u:p#w@host/db#run-1", ("postgresql://u:p#w@host/db", "run-1")),
])
def test_a_run_id_follows_the_last_hash(text: str, split: tuple[str, str | None]) -> None:
    assert split_run_url(text) == split
