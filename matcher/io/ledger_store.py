"""Where the time-bank ledger lives: :class:`SqlLedger`, the ledger's tables in a SQL database.

The tables are :mod:`matcher.io.ledger_schema`'s ``ledger_*``: they can share a database with other tables.
:class:`SqlLedger` keeps them with SQLAlchemy Core, in any database SQLAlchemy reaches;
:func:`open_ledger` opens ``RUNS/ledger.sqlite`` (SQLite, from Python's standard library) or a
database URL. A recording is one transaction: all of it is written, or none of it. On SQLite a
recording takes the write lock when it begins (``BEGIN IMMEDIATE``), so two recordings at once
wait for each other (up to 30 s) instead of losing one's update; a run reads in one transaction
too, so it sees the ledger before or after a recording, never half of one.

SQLAlchemy is imported when a ledger is opened (it takes about half a second), not with matcher.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matcher.errors import ProblemError
from matcher.io.database import engine_for, redact
from matcher.io.ledger_schema import (
    RATINGS_DAYS,
    SCHEMA,
    LedgerState,
    LedgerStore,
    Recording,
    VolunteerTotals,
    define_tables,
    utc_us,
)
from matcher.model import Rating
from matcher.model.ledger import LedgerSettings, ServiceRecord, ServiceUpdate, merged

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["LEDGER_FILE", "RATINGS_DAYS", "SCHEMA", "LedgerState", "LedgerStore", "Recording", "SqlLedger",
           "VolunteerTotals", "define_tables", "open_ledger", "utc_us"]

LEDGER_FILE = "ledger.sqlite"
"""The ledger's file in a runs folder (``matcher run --out RUNS``): ``RUNS/ledger.sqlite``."""
CHUNK = 2000
"""Pairs looked up per query (SQLite takes at most 32,766 parameters)."""


@contextmanager
def _database_errors(where: str) -> Iterator[None]:
    """A database that fails (locked for too long, a full disk, not a database) as a ProblemError naming it."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise ProblemError([f"{where}: the ledger cannot be read or written: {redact(str(cause))}"]) from None


class SqlLedger:
    """The ledger in a SQL database (SQLAlchemy Core); its tables are created when missing.

    Every method raises :class:`~matcher.errors.ProblemError` naming the ledger when the database fails
    (locked for more than 30 s, a full disk, a file that is not a database), and leaves the ledger as it was.

    Raises
    ------
    ProblemError
        When the database holds ledger tables of another :data:`SCHEMA` version, or cannot be opened.

    """

    def __init__(self, engine: Engine, where: str) -> None:
        from sqlalchemy import MetaData

        self.engine, self.where = engine, where
        self.tables = define_tables(MetaData())
        with _database_errors(where):
            next(iter(self.tables.values())).metadata.create_all(engine)
        with self._reading() as conn:  # (a run only reads: a ledger it may not write is fine)
            held = self._held(conn)
        if not held:
            with self._writing() as conn:
                if not self._held(conn):
                    self._put_settings(conn, LedgerSettings(), first=True)
        elif held.get("schema") != str(SCHEMA):
            raise ProblemError([f"{where}: a ledger of schema {held.get('schema')!r}; this matcher reads "
                                f"schema {SCHEMA}"])

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with _database_errors(self.where), self.engine.connect().execution_options(ledger_write=True) as conn, \
                conn.begin():
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with _database_errors(self.where), self.engine.connect() as conn, conn.begin():
            yield conn

    def _put_settings(self, conn: Connection, settings: LedgerSettings, *, first: bool = False) -> None:
        t = self.tables["ledger_settings"]
        rows = {"schema": str(SCHEMA), "recent_days": str(settings.recent_days),
                "points_per_hour": str(settings.points_per_hour)}
        if not first:
            conn.execute(t.delete())
        conn.execute(t.insert(), [{"key": k, "value": v} for k, v in rows.items()])

    def settings(self) -> LedgerSettings:
        """The ledger's settings."""
        with self._reading() as conn:
            return self._settings(conn)

    def _held(self, conn: Connection) -> dict[str, str]:
        return {str(k): str(v) for k, v in conn.execute(self.tables["ledger_settings"].select())}

    def _settings(self, conn: Connection) -> LedgerSettings:
        held = self._held(conn)
        return LedgerSettings(recent_days=int(held["recent_days"]), points_per_hour=held["points_per_hour"])

    def configure(self, settings: LedgerSettings) -> None:
        """Keep new settings (one transaction)."""
        with self._writing() as conn:
            self._put_settings(conn, settings)

    def record(self, updates: Sequence[ServiceUpdate], *, source: str, sha256: str | None = None) -> Recording:
        """Record services in one transaction; each merged over the pair's record (:func:`merged`).

        Records whose merge changes nothing are left as they are (a file recorded twice changes nothing).

        Raises
        ------
        ValueError
            When ``updates`` names a pair twice (the reader names the lines).

        """
        keys = [u.key for u in updates]
        if len(set(keys)) != len(keys):
            raise ValueError("a recording names a (volunteer_id, demand_id) pair twice")
        services, recordings = self.tables["ledger_services"], self.tables["ledger_recordings"]
        with self._writing() as conn:
            old = self._fetch(conn, keys)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            inserted = conn.execute(recordings.insert().values(
                recorded_utc=now, source=source, sha256=sha256, records=len(updates), added=0, changed=0,
                unchanged=0)).inserted_primary_key
            assert inserted is not None
            rec_id = int(inserted[0])
            added, changed, unchanged = [], [], 0
            for u in updates:
                before = old.get(u.key)
                after = merged(before, u)
                if before is None:
                    added.append(_row(after, rec_id))
                elif _same(before, after):
                    unchanged += 1
                else:
                    changed.append(_row(after, rec_id))
            if added:
                conn.execute(services.insert(), added)
            for row in changed:
                conn.execute(services.update().where(services.c.volunteer_id == row["volunteer_id"],
                                                     services.c.demand_id == row["demand_id"]).values(**row))
            conn.execute(recordings.update().where(recordings.c.id == rec_id).values(
                added=len(added), changed=len(changed), unchanged=unchanged))
        return Recording(rec_id, len(added), len(changed), unchanged, self.where)

    def _fetch(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], ServiceRecord]:
        from sqlalchemy import tuple_

        t = self.tables["ledger_services"]
        out: dict[tuple[str, str], ServiceRecord] = {}
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i:i + CHUNK]
            for row in conn.execute(t.select().where(tuple_(t.c.volunteer_id, t.c.demand_id).in_(chunk))).mappings():
                rec = _record(row)
                out[(rec.volunteer_id, rec.demand_id)] = rec
        return out

    def records(self) -> list[ServiceRecord]:
        """Every record, by volunteer and demand."""
        t = self.tables["ledger_services"]
        with self._reading() as conn:
            rows = conn.execute(t.select().order_by(t.c.volunteer_id, t.c.demand_id)).mappings().all()
        return [_record(r) for r in rows]

    def state(self, as_of: datetime) -> LedgerState:
        """What a run reads, as of ``as_of`` (timezone-aware), in one read transaction."""
        from sqlalchemy import case, func, or_, select

        services, recordings = self.tables["ledger_services"], self.tables["ledger_recordings"]
        until = utc_us(as_of)
        c = services.c
        with self._reading() as conn:
            settings = self._settings(conn)
            since = until - settings.recent_days * 86_400_000_000
            totals = conn.execute(
                select(c.volunteer_id, func.sum(c.served_us),
                       func.sum(case((c.at_us > since, c.served_us), else_=0)),
                       func.sum(func.coalesce(c.stars, 0)), func.count(c.stars))
                .where(c.at_us <= until).group_by(c.volunteer_id)).all()
            rated = conn.execute(
                select(c.volunteer_id, c.demand_id, c.series_id, c.stars, c.at)
                .where(c.stars.is_not(None), c.at_us <= until,
                       or_(c.at_us > until - RATINGS_DAYS * 86_400_000_000,
                           (c.stars <= 2) & c.series_id.is_not(None)))
                .order_by(c.volunteer_id, c.demand_id)).all()
            records = int(conn.execute(select(func.count()).select_from(services)).scalar_one())
            last = conn.execute(select(func.max(recordings.c.id))).scalar_one()
        volunteers = {str(v): VolunteerTotals(int(s), int(r), int(ss), int(n)) for v, s, r, ss, n in totals}
        ratings = tuple(Rating(volunteer_id=v, demand_id=d, series_id=s, stars=st, at=datetime.fromisoformat(at))
                        for v, d, s, st, at in rated)
        return LedgerState(self.where, as_of, settings, volunteers, ratings, records,
                           None if last is None else int(last))


def _row(rec: ServiceRecord, recording: int) -> dict[str, Any]:
    return {"volunteer_id": rec.volunteer_id, "demand_id": rec.demand_id, "series_id": rec.series_id,
            "stars": rec.stars, "served_us": rec.served_us, "at": rec.at.isoformat(), "at_us": utc_us(rec.at),
            "run": rec.run, "recording": recording}


def _record(row: Any) -> ServiceRecord:
    """A row of ``ledger_services`` (a mapping by column name) as a record."""
    return ServiceRecord(volunteer_id=row["volunteer_id"], demand_id=row["demand_id"], series_id=row["series_id"],
                         stars=row["stars"], served_us=row["served_us"], at=datetime.fromisoformat(row["at"]),
                         run=row["run"])


def _same(a: ServiceRecord, b: ServiceRecord) -> bool:
    """The same service: series, stars, time served and moment (the run that recorded it aside)."""
    return (a.series_id, a.stars, a.served_us, a.at.isoformat()) == (b.series_id, b.stars, b.served_us,
                                                                     b.at.isoformat())


def open_ledger(where: str | Path, *, create: bool = True) -> SqlLedger | None:
    """The ledger at ``where``: a file (SQLite) or a database URL (``postgresql://...``, its password hidden).

    A file that does not exist is created with ``create``; without, ``None`` is returned (no ledger yet).

    Raises
    ------
    ProblemError
        When the database cannot be opened or holds a ledger of another schema.

    """
    from sqlalchemy import create_engine, event

    text = str(where)
    if "://" in text:
        return SqlLedger(engine_for(text), redact(text))  # (a URL's password stays out of messages)
    path = Path(text)
    if not path.exists() and not create:
        return None
    if path.exists() and not path.is_file():
        raise ProblemError([f"{path}: not a ledger file (a folder?)"])
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, record: Any) -> None:
        dbapi.isolation_level = None  # transactions begin where matcher says (below), not at the driver's whim

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("ledger_write") else "BEGIN")

    return SqlLedger(engine, str(path))
