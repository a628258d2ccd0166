"""The ledger's tables and the data a ledger hands over: what :mod:`matcher.io.ledger_store` keeps and reads.

The ledger is three tables (:func:`define_tables`), all named ``ledger_*`` so that they can share a
database with other tables (a run's database: ``matcher run --out DB_URL`` writes its runs as
``matcher_*`` tables, and ``matcher rate --run DB_URL`` records into these beside them):

==========================  =========================================================================
``ledger_services``         one row per (volunteer_id, demand_id): series_id, stars (1..5 or NULL),
                            served_us (whole microseconds), at (ISO 8601 as given) and at_us (UTC
                            microseconds since 1970, for windows), run, recording
``ledger_recordings``       one row per recording: id, recorded_utc, source (the file), sha256,
                            records, added, changed, unchanged
``ledger_settings``         key, value: ``schema``, ``recent_days``, ``points_per_hour``
==========================  =========================================================================

:class:`LedgerStore` is the interface ``matcher rate`` writes through and ``matcher run`` reads through;
:class:`LedgerState` is what a run reads, :class:`Recording` what a recording did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from matcher.model import Rating
from matcher.model.ledger import LedgerSettings, ServiceRecord, ServiceUpdate

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

__all__ = ["RATINGS_DAYS", "SCHEMA", "LedgerState", "LedgerStore", "Recording", "VolunteerTotals", "define_tables",
           "utc_us"]

SCHEMA = 1
"""The version of the ledger's tables; a ledger of another version is refused."""
RATINGS_DAYS = 365
"""A run reads the ratings of this many days back (and every 1-2 star rating on a series, however old)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of a timezone-aware datetime, exactly."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class VolunteerTotals:
    """One volunteer's ledger up to a moment: hours in whole microseconds, and their ratings."""

    served_us: int
    recent_us: int
    stars_sum: int
    stars_count: int


@dataclass(frozen=True)
class LedgerState:
    """What a run reads from the ledger, at once, as of ``as_of``.

    ``volunteers`` holds every volunteer the ledger knows (any record with ``at`` up to ``as_of``):
    ``served_us`` is all their recorded service, ``recent_us`` the service in the ``settings.recent_days``
    days up to ``as_of``. ``ratings`` are the rated records of the last :data:`RATINGS_DAYS` days and every
    1-2 star rating on a series. ``records`` counts every record; ``last_recording`` is the id of the last
    recording (``None``: never recorded).
    """

    where: str
    as_of: datetime
    settings: LedgerSettings
    volunteers: Mapping[str, VolunteerTotals]
    ratings: tuple[Rating, ...]
    records: int
    last_recording: int | None


@dataclass(frozen=True)
class Recording:
    """What one recording did: its id, and how many records were new, changed or already held as given."""

    id: int
    added: int
    changed: int
    unchanged: int
    where: str


class LedgerStore(Protocol):
    """The ledger's interface: what ``matcher rate`` writes and ``matcher run`` reads."""

    where: str

    def settings(self) -> LedgerSettings:
        """The ledger's settings (defaults until configured)."""
        ...

    def configure(self, settings: LedgerSettings) -> None:
        """Keep new settings (one transaction)."""
        ...

    def record(self, updates: Sequence[ServiceUpdate], *, source: str, sha256: str | None = None) -> Recording:
        """Record services (one transaction: all or nothing), each merged over the pair's record (see ``merged``)."""
        ...

    def records(self) -> list[ServiceRecord]:
        """Every record, by volunteer and demand."""
        ...

    def state(self, as_of: datetime) -> LedgerState:
        """What a run reads, as of ``as_of`` (one read transaction)."""
        ...


def define_tables(metadata: MetaData) -> dict[str, Table]:
    """The ledger's tables on ``metadata`` (so that another database can hold them too), by name."""
    from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String, Table, Text

    return {t.name: t for t in (
        Table("ledger_services", metadata,
              Column("volunteer_id", String(500), primary_key=True),
              Column("demand_id", String(500), primary_key=True),
              Column("series_id", String(500), nullable=True),
              Column("stars", SmallInteger, nullable=True),
              Column("served_us", BigInteger, nullable=False),
              Column("at", String(40), nullable=False),
              Column("at_us", BigInteger, nullable=False, index=True),
              Column("run", Text, nullable=False),
              Column("recording", Integer, nullable=False)),
        Table("ledger_recordings", metadata,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("recorded_utc", String(40), nullable=False),
              Column("source", Text, nullable=False),
              Column("sha256", String(64), nullable=True),
              Column("records", Integer, nullable=False),
              Column("added", Integer, nullable=False),
              Column("changed", Integer, nullable=False),
              Column("unchanged", Integer, nullable=False)),
        Table("ledger_settings", metadata,
              Column("key", String(40), primary_key=True),
              Column("value", Text, nullable=False)),
    )}

