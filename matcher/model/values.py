"""Strict value types: input means what the caller meant (SPEC.md, "Input means what the caller meant").

pydantic's lax mode gives values another meaning: a number becomes a time
(Unix seconds: an Excel serial date ``46363.375`` lands in 1970), ``true``
becomes the integer 1, ``"yes"`` and ``"on"`` become booleans. These types
accept only what the contract says; every refusal names the field:

=========  ==========================================================================
``Real``   a JSON number (int or float; not ``true``/``false``, not text)
``Count``  a whole JSON number (``3`` or ``3.0``; not ``2.5``, ``true`` or text)
``Flag``   ``true`` or ``false`` (not ``1``, ``"yes"``)
``Time``   an ISO 8601 date-time string with a UTC offset (``2026-11-23T08:00:00+08:00``;
           ``Z`` means +00:00), or a timezone-aware ``datetime``; never a number.
           Without an offset it is refused, unless the problem names a
           ``timezone`` (:func:`localize_naive`).
=========  ==========================================================================

Tables (CSV cells are text) are parsed into these JSON values first, by
documented spellings per column (:mod:`matcher.io.cells`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BeforeValidator

__all__ = ["Count", "Flag", "Real", "SkippedTime", "Time", "localize_naive", "parse_time", "zone"]

ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$")
"""An ISO 8601 date-time: a date, a time to the minute (seconds and fractions optional), an optional offset."""


def _real(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    if isinstance(value, str):
        raise ValueError(f"must be a number, not text ({value!r})")
    return value


def _count(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {str(value).lower()}")
    if isinstance(value, str):
        raise ValueError(f"must be a whole number, not text ({value!r})")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"must be a whole number, not {value!r}")
        return int(value)
    return value


def _flag(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time string (offset optional) as a datetime; ``ValueError`` naming what is wrong."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
        raise ValueError(f"{text!r} is a number, not a time (an Excel serial date, or Unix seconds?): write "
                         "ISO 8601 like 2026-11-23T08:00:00+08:00, with the column formatted as text")
    if not ISO_DATETIME.match(text):
        raise ValueError(f"{text!r} is not an ISO 8601 date-time like 2026-11-23T08:00:00+08:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date-time: {exc}") from None


class SkippedTime:
    """A wall time that does not exist in the problem's time zone; the field that holds it refuses it."""

    def __init__(self, text: str, zone_name: str) -> None:
        self.text, self.zone_name = text, zone_name


def _time(value: Any) -> Any:
    if isinstance(value, SkippedTime):
        raise ValueError(f"{value.text} does not exist in {value.zone_name} (the clocks skip it)")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = parse_time(value)
    else:
        shown = f"the number {value!r}" if isinstance(value, int | float) and not isinstance(value, bool) \
            else repr(value)
        raise ValueError(f"a time must be an ISO 8601 date-time string like 2026-11-23T08:00:00+08:00, not {shown}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{value!s} has no UTC offset: write one (e.g. +08:00), or name the problem's timezone")
    return moment


Real = Annotated[float, BeforeValidator(_real)]
Count = Annotated[int, BeforeValidator(_count)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Time = Annotated[AwareDatetime, BeforeValidator(_time)]


def zone(name: str) -> ZoneInfo:
    """The IANA time zone of this name (``Asia/Shanghai``); ``ValueError`` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as 'Asia/Shanghai')") from None


def localize_naive(value: Any, tz: ZoneInfo) -> Any:
    """A time written without an offset, read in ``tz`` (daylight-saving rules included); other values unchanged.

    A wall time that does not exist in ``tz`` (skipped by a spring-forward change) becomes a
    :class:`SkippedTime`, which the field refuses; one that occurs twice (a fall-back change) takes the
    earlier offset.
    """
    if isinstance(value, str):
        try:
            moment = parse_time(value)
        except ValueError:
            return value  # the field's own validation names it
    elif isinstance(value, datetime):
        moment = value
    else:
        return value
    if moment.tzinfo is not None:
        return value
    aware = moment.replace(tzinfo=tz)
    back = aware.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if back.replace(tzinfo=None) != moment:
        return SkippedTime(str(value), tz.key)
    return aware
