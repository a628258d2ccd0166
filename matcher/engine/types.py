"""Array aliases and units, defined once for the whole engine.

Times are integer microseconds since the Unix epoch (exact); durations and
hour caps are integer microseconds too, so every time test is integer
arithmetic. Distances are kilometres on a sphere of radius
:data:`EARTH_RADIUS_KM`.

**The one rounding rule.** An hour value (``max_hours``) means the decimal
it was written as: the shortest decimal that reads back as the same float
(Python's ``repr``; exact for any value written with up to 15 significant
digits), so ``4.1`` means 4.1, not the binary float just below it. It becomes
whole microseconds rounding down, in exact decimal arithmetic
(:func:`hours_us`): a cap never grows past what was written, and a task of
2 h 06 min fits a cap of 2.1 exactly. Times are exact already (datetimes
carry whole microseconds). The engine, the pinned check, ``explain`` and
``recommend`` all convert through this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_KM",
    "F64",
    "I32",
    "I64",
    "U64",
    "US_PER_DAY",
    "US_PER_HOUR",
    "US_PER_MINUTE",
    "B",
    "hours_cap_us",
    "minutes_cap_us",
    "minutes_us",
    "timestamps_us",
    "utc_timestamp_us",
]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

US_PER_HOUR = 3_600_000_000
"""Microseconds per hour."""
US_PER_MINUTE = 60_000_000
"""Microseconds per minute."""
US_PER_DAY = 24 * US_PER_HOUR
"""Microseconds per day."""
EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG) used by every haversine distance in matcher."""

_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def utc_timestamp_us(value: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact integer arithmetic)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def timestamps_us(values: Sequence[datetime]) -> I64:
    """Microseconds since the epoch of aware datetimes, exactly; shape ``(len(values),)``, int64.

    ``datetime.timestamp`` (fast, in C) is a float of seconds: while
    ``|t| < 4e9`` s (before 2096) its error is under 0.25 µs, so rounding the
    microseconds gives the exact integer. Otherwise integer arithmetic is used.
    """
    seconds = np.fromiter((v.timestamp() for v in values), dtype=np.float64, count=len(values))
    if len(seconds) and float(np.abs(seconds).max()) >= 4e9:
        return np.fromiter((utc_timestamp_us(v) for v in values), dtype=np.int64, count=len(values))
    return np.rint(seconds * 1e6).astype(np.int64)


def hours_us(hours: float) -> int:
    """Whole microseconds in ``hours`` as written (the shortest round-trip decimal), rounded down, exactly."""
    return int((Decimal(repr(float(hours))) * US_PER_HOUR).to_integral_value(rounding=ROUND_FLOOR))


def hours_cap_us(hours: F64) -> I64:
    """:func:`hours_us` of each value; shape of ``hours``, int64 (each distinct value is converted once)."""
    uniq, inverse = np.unique(hours, return_inverse=True)
    out = np.fromiter((hours_us(h) for h in uniq.tolist()), dtype=np.int64, count=len(uniq))
    return out[inverse.reshape(np.shape(hours))]


def minutes_us(minutes: float) -> int:
    """Whole microseconds in ``minutes`` as written (the shortest round-trip decimal), rounded down, exactly.

    A reach of ``max_travel_minutes`` never grows past what was written (the same rule as :func:`hours_us`).
    """
    return int((Decimal(repr(float(minutes))) * US_PER_MINUTE).to_integral_value(rounding=ROUND_FLOOR))


def minutes_cap_us(minutes: F64) -> I64:
    """:func:`minutes_us` of each value (NaN stays "no cap": -1); shape of ``minutes``, int64."""
    values = np.asarray(minutes, dtype=np.float64)
    out = np.full(values.shape, -1, dtype=np.int64)
    ok = ~np.isnan(values)
    uniq, inverse = np.unique(values[ok], return_inverse=True)
    caps = np.fromiter((minutes_us(m) for m in uniq.tolist()), dtype=np.int64, count=len(uniq))
    out[ok] = caps[inverse]
    return out


def duration_us(start: datetime, end: datetime) -> int:
    """Microseconds from ``start`` to ``end`` (aware datetimes), exactly."""
    return utc_timestamp_us(end) - utc_timestamp_us(start)
