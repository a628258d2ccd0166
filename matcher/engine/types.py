"""Array aliases and units, defined once for the whole engine.

Times are integer microseconds since the Unix epoch (exact); durations and
hour caps are integer microseconds too, so every time test is integer
arithmetic. Distances are kilometres on a sphere of radius
:data:`EARTH_RADIUS_KM`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
    "B",
    "hours_cap_us",
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


def hours_cap_us(hours: F64) -> I64:
    """Hour caps (float hours) as integer microseconds: ``floor(hours * US_PER_HOUR)``, elementwise, int64."""
    return np.floor(hours * US_PER_HOUR).astype(np.int64)
