"""The ledger's store: recordings all or nothing, merged and idempotent; what a run reads, window by window."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, inspect

import matcher.io.ledger_store as store_module
from matcher.errors import ProblemError
from matcher.io.ledger_store import RATINGS_DAYS, SqlLedger, define_tables, open_ledger, utc_us
from matcher.model import LedgerSettings, ServiceUpdate

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 30, 12, tzinfo=TZ)
HOUR = 3_600_000_000


def svc(vid: str, did: str, at: datetime, **kw: object) -> ServiceUpdate:
    return ServiceUpdate.model_validate({"volunteer_id": vid, "demand_id": did, "run": "run-1",
                                         "default_served_us": HOUR, "default_at": at, **kw})


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqlLedger]:
    store = open_ledger(tmp_path / "ledger.sqlite")
    assert store is not None
    yield store
    store.close()


def test_no_file_no_ledger_unless_asked(tmp_path: Path) -> None:
    assert open_ledger(tmp_path / "none.sqlite", create=False) is None
    assert not (tmp_path / "none.sqlite").exists()


def test_recording_twice_changes_nothing(ledger: SqlLedger) -> None:
    batch = [svc("a", "d1", NOW - timedelta(days=1), stars=5), svc("b", "d1", NOW - timedelta(days=1))]
    first = ledger.record(batch, source="f.csv")
    held = ledger.records()
    second = ledger.record(batch, source="f.csv")
    assert (first.id, first.added, first.changed, first.unchanged) == (1, 2, 0, 0)
    assert (second.id, second.added, second.changed, second.unchanged) == (2, 0, 0, 2)
    assert ledger.records() == held
    assert ledger.state(NOW).volunteers["a"].served_us == HOUR  # not 2 hours


def test_a_later_recording_updates_the_pair(ledger: SqlLedger) -> None:
    at = NOW - timedelta(days=1)
    ledger.record([svc("a", "d1", at, served_us=HOUR // 2)], source="hours.csv")
    r = ledger.record([svc("a", "d1", at, stars=2, series_id="S1")], source="stars.csv")
    assert (r.added, r.changed, r.unchanged) == (0, 1, 0)
    (rec,) = ledger.records()
    assert (rec.served_us, rec.stars, rec.series_id) == (HOUR // 2, 2, "S1")


def test_a_pair_twice_in_one_recording_is_refused(ledger: SqlLedger) -> None:
    with pytest.raises(ValueError, match="twice"):
        ledger.record([svc("a", "d1", NOW), svc("a", "d1", NOW, stars=3)], source="f.csv")
    assert ledger.records() == []


def test_a_failure_inside_the_transaction_leaves_the_ledger_as_it_was(
        ledger: SqlLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    at = NOW - timedelta(days=1)
    ledger.record([svc("a", "d1", at)], source="first.csv")
    before, state = ledger.records(), ledger.state(NOW)
    calls = {"n": 0}
    real = store_module._row

    def failing(rec: object, recording: int) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")  # the third row of the batch: two are already built
        return real(rec, recording)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "_row", failing)
    with pytest.raises(OSError, match="disk full"):
        ledger.record([svc("a", "d1", at, stars=1), svc("b", "d2", at), svc("c", "d3", at)], source="second.csv")
    monkeypatch.undo()
    assert ledger.records() == before
    assert ledger.state(NOW).last_recording == state.last_recording == 1  # the recording row went too


def test_state_windows(ledger: SqlLedger) -> None:
    days = LedgerSettings().recent_days
    ledger.record([
        svc("a", "in", NOW - timedelta(days=days) + timedelta(microseconds=1), served_us=HOUR),  # just inside
        svc("a", "edge", NOW - timedelta(days=days), served_us=2 * HOUR),  # exactly 30 days back: outside
        svc("a", "now", NOW, served_us=4 * HOUR, stars=4),  # at the moment itself: inside
        svc("a", "later", NOW + timedelta(microseconds=1), served_us=8 * HOUR, stars=5),  # after: not yet
        svc("b", "old", NOW - timedelta(days=RATINGS_DAYS + 1), stars=5),  # an old rating: hours count, rating not read
        svc("b", "old-low", NOW - timedelta(days=RATINGS_DAYS + 1), stars=2, series_id="S"),  # kept: rule 12
        svc("b", "old-low-2", NOW - timedelta(days=RATINGS_DAYS + 1), stars=1),  # no series: not kept
    ], source="f.csv")
    state = ledger.state(NOW)
    a, b = state.volunteers["a"], state.volunteers["b"]
    assert (a.served_us, a.recent_us, a.stars_sum, a.stars_count) == (7 * HOUR, 5 * HOUR, 4, 1)
    assert (b.served_us, b.recent_us, b.stars_sum, b.stars_count) == (3 * HOUR, 0, 8, 3)
    assert [(r.volunteer_id, r.demand_id, r.stars) for r in state.ratings] == [("a", "now", 4), ("b", "old-low", 2)]
    assert state.records == 7 and state.last_recording == 1
    ledger.configure(LedgerSettings(recent_days=3650, points_per_hour="1.5"))
    again = ledger.state(NOW)
    assert again.volunteers["a"].recent_us == 7 * HOUR and again.settings.points_per_hour == LedgerSettings(
        points_per_hour="1.5").points_per_hour


def test_times_keep_their_offset_and_count_in_utc(ledger: SqlLedger) -> None:
    utc_at = datetime(2026, 11, 30, 4, 0, 1, tzinfo=UTC)  # 12:00:01 in Beijing: one second after NOW
    ledger.record([svc("a", "d", utc_at)], source="f.csv")
    assert ledger.records()[0].at == utc_at and ledger.records()[0].at.utcoffset() == timedelta(0)
    assert "a" not in ledger.state(NOW).volunteers
    assert "a" in ledger.state(NOW + timedelta(seconds=1)).volunteers
    assert utc_us(utc_at) - utc_us(NOW) == 1_000_000


def test_the_tables_can_live_in_another_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'run.db'}")
    meta = MetaData()
    tables = define_tables(meta)
    meta.create_all(engine)
    assert set(tables) == set(inspect(engine).get_table_names()) == {
        "ledger_services", "ledger_recordings", "ledger_settings"}
    store = SqlLedger(engine, "run.db")  # the same store on a database that holds other tables too
    store.record([svc("a", "d", NOW)], source="f.csv")
    assert store.state(NOW).volunteers["a"].served_us == HOUR
    store.close()


def test_bad_files_are_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database" * 100)
    with pytest.raises(ProblemError, match=r"junk\.sqlite: the ledger cannot be read or written: file is not a "):
        open_ledger(junk)
    other = tmp_path / "other.sqlite"
    open_ledger(other).close()  # type: ignore[union-attr]
    with sqlite3.connect(other) as db:
        db.execute("UPDATE ledger_settings SET value = '9' WHERE key = 'schema'")
    with pytest.raises(ProblemError, match="a ledger of schema '9'; this matcher reads schema 1"):
        open_ledger(other)
    with pytest.raises(ProblemError, match="not a ledger file"):
        open_ledger(tmp_path)
