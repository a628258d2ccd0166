"""The time-bank ledger's data (评单): services served and rated, its settings, and the star levels.

The ledger keeps one :class:`ServiceRecord` per (``volunteer_id``, ``demand_id``):
the exact time served (whole microseconds), when (``at``), the stars the household
gave (1..5, or none), the recurring series the demand belongs to, and the run that
sent the volunteer. Demand ids are order numbers: the same pair recorded again is
the same service (a correction, never a second service).

Recording the same pair again follows :func:`merged`: the fields a new record
gives replace the ledger's, the fields it leaves out keep the ledger's. So
recording one file twice changes nothing, and a second file may add the stars to
hours recorded earlier.

Star levels follow the national standard for registered volunteers
(志愿服务记录与证明出具办法): 100 / 300 / 600 / 1,000 / 1,500 hours of recorded
service for one to five stars (:data:`STAR_HOURS`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from matcher.model.records import Frozen
from matcher.model.values import Count, Time

__all__ = ["STAR_HOURS", "LedgerSettings", "ServiceRecord", "ServiceUpdate", "merged"]

STAR_HOURS: tuple[int, ...] = (100, 300, 600, 1000, 1500)
"""Hours of recorded service for one to five stars (the national standard for registered volunteers)."""


def _decimal(value: Any) -> Any:
    """A rate as written: a JSON number (a float means the decimal it was written as) or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"must be a number like 1 or 1.5, not {value!r}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"must be a number like 1 or 1.5, not {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"must be a finite number, not {value!r}")
    return number


Rate = Annotated[Decimal, BeforeValidator(_decimal)]


class LedgerSettings(Frozen):
    """How a run reads the ledger; kept in the ledger itself, so that every night uses the same policy."""

    recent_days: Count = Field(
        default=30, ge=1, le=3650,
        description="a volunteer's recent_hours = hours served in this many days before the run (default 30)")
    points_per_hour: Rate = Field(
        default=Decimal(1), gt=0, le=1000, max_digits=8, decimal_places=2,
        description="time-bank points per hour of recorded service (default 1; at most 2 decimals)")


class ServiceRecord(Frozen):
    """One service in the ledger: a volunteer served a demand (派单 → 接单), perhaps rated (评单).

    Attributes
    ----------
    volunteer_id, demand_id
        The pair; the ledger holds at most one record per pair.
    series_id
        The recurring series (a household's weekly visits) the demand belongs to, if any.
    stars
        The household's rating, 1..5; ``None`` when only the hours were recorded.
    served_us
        Time served, in whole microseconds (exact: 1 h = 3,600,000,000).
    at
        When the service was done or rated (timezone-aware); the recent window counts by it.
    run
        The name of the run folder that sent the volunteer (``""`` for history imported otherwise).

    """

    volunteer_id: str = Field(min_length=1)
    demand_id: str = Field(min_length=1)
    series_id: str | None = None
    stars: Count | None = Field(default=None, ge=1, le=5)
    served_us: Count = Field(ge=1, description="time served, whole microseconds")
    at: Time
    run: str = ""


class ServiceUpdate(Frozen):
    """A service as a recording gives it: ``None`` where the recording leaves a field out.

    ``default_served_us`` and ``default_at`` (the demand's length and end) fill a field left out of a
    pair the ledger does not hold yet.
    """

    volunteer_id: str = Field(min_length=1)
    demand_id: str = Field(min_length=1)
    series_id: str | None = None
    stars: Count | None = Field(default=None, ge=1, le=5)
    served_us: Count | None = Field(default=None, ge=1)
    at: Time | None = None
    run: str = ""
    default_served_us: Count = Field(ge=1)
    default_at: Time

    @property
    def key(self) -> tuple[str, str]:
        """``(volunteer_id, demand_id)``: the ledger's key."""
        return self.volunteer_id, self.demand_id


def merged(old: ServiceRecord | None, new: ServiceUpdate) -> ServiceRecord:
    """The record the ledger holds after ``new`` is recorded over ``old`` (``None``: a pair not held yet).

    Given fields replace, fields left out keep ``old``'s (or take the defaults for a new pair); the series and
    the run are the recording's.
    """
    at: datetime = new.at if new.at is not None else (old.at if old is not None else new.default_at)
    served = new.served_us if new.served_us is not None else (
        old.served_us if old is not None else new.default_served_us)
    stars = new.stars if new.stars is not None else (old.stars if old is not None else None)
    return ServiceRecord(volunteer_id=new.volunteer_id, demand_id=new.demand_id, series_id=new.series_id,
                         stars=stars, served_us=served, at=at, run=new.run)
