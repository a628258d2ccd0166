"""The ledger's data: settings read strictly, records, and how a recording merges over a held record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from matcher.model import LedgerSettings, ServiceRecord, ServiceUpdate, merged

TZ = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 23, 10, tzinfo=TZ)
HOUR = 3_600_000_000


def test_settings_defaults_and_decimal_points() -> None:
    s = LedgerSettings()
    assert s.recent_days == 30 and s.points_per_hour == Decimal(1)
    # the decimal written, not the float's 1.100000000000000088817841970012523...
    assert LedgerSettings(points_per_hour=1.1).points_per_hour == Decimal("1.1")
    assert LedgerSettings(points_per_hour="0.75").points_per_hour == Decimal("0.75")


@pytest.mark.parametrize(("field", "value", "says"), [
    ("points_per_hour", True, "must be a number"),
    ("points_per_hour", "1,5", "must be a number"),
    ("points_per_hour", "NaN", "finite"),
    ("points_per_hour", "1.234", "2 decimal places"),
    ("points_per_hour", 0, "greater than 0"),
    ("recent_days", 0, "greater than or equal to 1"),
    ("recent_days", 2.5, "whole number"),
    ("recent_days", "30", "whole number, not text"),
    ("recent_days", True, "whole number, not true"),
])
def test_settings_refuse_what_they_do_not_mean(field: str, value: object, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        LedgerSettings.model_validate({field: value})


def test_record_is_strict() -> None:
    with pytest.raises(ValidationError, match="whole number"):
        ServiceRecord(volunteer_id="a", demand_id="d", stars=True, served_us=HOUR, at=AT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not the number"):
        ServiceRecord(volunteer_id="a", demand_id="d", served_us=HOUR, at=46363.375)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        ServiceRecord(volunteer_id="a", demand_id="d", served_us=0, at=AT)
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        ServiceRecord(volunteer_id="a", demand_id="d", stars=6, served_us=HOUR, at=AT)


def update(**kw: object) -> ServiceUpdate:
    base: dict[str, object] = {"volunteer_id": "a", "demand_id": "d", "series_id": "s", "run": "r2",
                               "default_served_us": 2 * HOUR, "default_at": AT}
    return ServiceUpdate.model_validate({**base, **kw})


def test_a_new_pair_takes_the_defaults_for_what_is_left_out() -> None:
    rec = merged(None, update())
    assert (rec.served_us, rec.at, rec.stars, rec.series_id, rec.run) == (2 * HOUR, AT, None, "s", "r2")
    rec = merged(None, update(stars=4, served_us=HOUR // 2, at=AT + timedelta(hours=1)))
    assert (rec.served_us, rec.at, rec.stars) == (HOUR // 2, AT + timedelta(hours=1), 4)


def test_a_held_pair_keeps_what_the_recording_leaves_out() -> None:
    old = ServiceRecord(volunteer_id="a", demand_id="d", series_id="s", stars=None, served_us=3 * HOUR,
                        at=AT + timedelta(hours=5), run="r1")
    rec = merged(old, update(stars=2))  # the stars came later: the hours and moment recorded first stay
    assert (rec.served_us, rec.at, rec.stars, rec.run) == (3 * HOUR, AT + timedelta(hours=5), 2, "r2")
    rec = merged(old, update(served_us=HOUR))  # a correction of the hours
    assert (rec.served_us, rec.stars) == (HOUR, None)
