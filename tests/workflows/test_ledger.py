"""The ledger in a run: star levels, hours and points exactly; the problem a run solves; volunteers_ledger.csv."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from matcher.generate import generate_problem
from matcher.io.ledger_store import LedgerState, VolunteerTotals
from matcher.model import AssignmentOut, LedgerSettings, Problem, Rating, Solution
from matcher.workflows.ledger import (
    apply_ledger,
    hours_text,
    ledger_tables,
    next_star_us,
    points,
    problem_with_ledger,
    star_level,
)

HOUR = 3_600_000_000
US = 1
TZ = timezone(timedelta(hours=8))
AS_OF = datetime(2026, 11, 30, 12, tzinfo=TZ)


@pytest.mark.parametrize(("served_us", "level", "to_next"), [
    (0, 0, "100.00"),
    (99 * HOUR + 99 * HOUR // 100, 0, "0.01"),  # 99.99 h
    (100 * HOUR - US, 0, "0.01"),  # a microsecond short: still no star, and 0.01 h to go (rounded up)
    (100 * HOUR, 1, "200.00"),
    (300 * HOUR - US, 1, "0.01"),
    (300 * HOUR, 2, "300.00"),
    (600 * HOUR, 3, "400.00"),
    (1000 * HOUR, 4, "500.00"),
    (1500 * HOUR - US, 4, "0.01"),
    (1500 * HOUR, 5, None),
    (9000 * HOUR, 5, None),
])
def test_star_levels_by_the_national_standard(served_us: int, level: int, to_next: str | None) -> None:
    assert star_level(served_us) == level
    gap = next_star_us(served_us)
    assert (None if gap is None else hours_text(gap, up=True)) == to_next


def test_hours_are_shown_rounded_down_so_a_shown_threshold_is_reached() -> None:
    assert hours_text(100 * HOUR - US) == "99.99"  # never "100.00" below a star
    assert hours_text(100 * HOUR) == "100.00"
    assert hours_text(HOUR // 3) == "0.33" and hours_text(HOUR // 3, up=True) == "0.34"
    assert hours_text(126 * 60_000_000) == "2.10"  # 2 h 06 min
    assert hours_text(0) == "0.00"


@pytest.mark.parametrize(("served_us", "rate", "expected"), [
    (100 * HOUR, "1", "100.00"),
    (5 * HOUR // 2, "1.5", "3.75"),
    (80 * 60_000_000, "1", "1.33"),  # 1 h 20 min: 1.333... rounded down
    (10 * 60_000_000, "0.7", "0.11"),  # 10 min at 0.7: 0.1166...
    (3 * 6 * 60_000_000, "1", "0.30"),  # three 0.1 h services: 0.30 exactly, not 0.30000000000000004
    (HOUR - US, "1", "0.99"),
])
def test_time_bank_points_are_exact(served_us: int, rate: str, expected: str) -> None:
    got = points(served_us, Decimal(rate))
    assert isinstance(got, Decimal) and f"{got:.2f}" == expected


def test_points_refuse_a_rate_with_three_decimals() -> None:
    with pytest.raises(ValueError, match="at most two decimals"):
        points(HOUR, Decimal("1.005"))


def problem() -> Problem:
    def t(h: float) -> str:
        return (datetime(2026, 11, 29, tzinfo=TZ) + timedelta(hours=h)).isoformat()

    return Problem.from_dict({
        "areas": [{"id": "A", "lat": 39.9, "lon": 116.4}],
        "volunteers": [{"id": v, "lat": 39.9, "lon": 116.4, "skills": ["general"], "recent_hours": r,
                        "availability": [{"start": t(8), "end": t(18)}]} for v, r in (("b", 4.1), ("a", 0), ("c", 7))],
        "demands": [{"id": "D1", "area_id": "A", "category": "errands", "headcount": 2, "start": t(8),
                     "end": t(9.5), "priority": 3, "series_id": "S1"},
                    {"id": "D2", "area_id": "A", "category": "errands", "headcount": 1, "start": t(10),
                     "end": t(10 + 7 / 60), "priority": 3}],
        "ratings": [{"volunteer_id": "a", "demand_id": "old", "stars": 5, "at": t(-100)}],
    })


def state() -> LedgerState:
    ratings = tuple(Rating.model_validate(r) for r in [
        {"volunteer_id": "a", "demand_id": "old", "stars": 1, "at": AS_OF},  # the input rates this pair itself
        {"volunteer_id": "a", "demand_id": "D0", "series_id": "S1", "stars": 2, "at": AS_OF},
        {"volunteer_id": "gone", "demand_id": "D0", "stars": 5, "at": AS_OF},  # not a volunteer of this input
    ])
    return LedgerState("ledger.sqlite", AS_OF, LedgerSettings(points_per_hour="1.5"), {
        "a": VolunteerTotals(served_us=100 * HOUR, recent_us=5 * HOUR // 2, stars_sum=7, stars_count=3),
        "b": VolunteerTotals(served_us=HOUR // 3, recent_us=0, stars_sum=0, stars_count=0),
        "gone": VolunteerTotals(served_us=HOUR, recent_us=HOUR, stars_sum=5, stars_count=1),
    }, ratings, 4, 2)


def test_problem_with_ledger_replaces_recent_hours_only_where_the_ledger_knows() -> None:
    p = problem()
    q = problem_with_ledger(p, state())
    recent = {v.id: v.recent_hours for v in q.volunteers}
    assert recent == {"a": 2.5, "b": 0.0, "c": 7.0}  # c: not in the ledger, keeps the input's 7
    assert [v.id for v in q.volunteers] == ["b", "a", "c"]
    assert [(r.volunteer_id, r.demand_id, r.stars) for r in q.ratings] == [("a", "old", 5), ("a", "D0", 2)]
    assert {v.id: v.recent_hours for v in p.volunteers} == {"b": 4.1, "a": 0.0, "c": 7.0}  # pure: p unchanged
    assert q.demands == p.demands and q.areas == p.areas


def solution() -> Solution:
    return Solution.model_validate({
        "status": "optimal", "coverage": 12, "coverage_bound": 12, "secondary": 0,
        "assignments": [AssignmentOut(volunteer_id=v, demand_id=d, travel_km=0.0)
                        for v, d in (("a", "D1"), ("c", "D1"), ("a", "D2"))]})


def test_volunteers_ledger_rows() -> None:
    p, s = problem(), solution()
    q = problem_with_ledger(p, state())
    tables = ledger_tables(q, s, state())
    head, rows = tables["volunteers_ledger"]
    assert head == ["volunteer_id", "hours_in_plan", "tasks_in_plan", "hours_to_date", "star_level",
                    "hours_to_next_star", "points", "rating_mean", "ratings", "recent_hours", "recent_hours_from"]
    assert rows == [
        ["a", "1.61", 2, "100.00", 1, "200.00", "150.00", "2.33", 3, "2.50", "ledger"],  # 1.5 h + 7 min
        ["b", "0.00", 0, "0.33", 0, "99.67", "0.50", "", 0, "0.00", "ledger"],
        ["c", "1.50", 1, "0.00", 0, "100.00", "0.00", "", 0, "7", "input"],
    ]
    head, rows = tables["services"]
    assert head == ["demand_id", "series_id", "start", "end", "hours", "volunteers"]
    assert rows == [["D1", "S1", "2026-11-29T08:00:00+08:00", "2026-11-29T09:30:00+08:00", "1.50", "a;c"],
                    ["D2", "", "2026-11-29T10:00:00+08:00", "2026-11-29T10:07:00+08:00", "0.11", "a"]]


def test_without_the_ledger_its_columns_are_empty() -> None:
    _, rows = ledger_tables(problem(), solution(), None)["volunteers_ledger"]
    assert rows[1] == ["b", "0.00", 0, "", "", "", "", "", "", "4.1", "input"]


def test_with_no_ledger_yet_the_log_says_so_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    problem = generate_problem("community", 1, scale=0.05)
    with caplog.at_level(logging.INFO, logger="matcher.workflows.ledger"):
        solved, state, note = apply_ledger(problem, tmp_path, True, AS_OF)
    lines = [r.getMessage() for r in caplog.records]
    assert solved == problem and state is not None and note["read"] is False
    assert sum("no ledger at" in line for line in lines) == 1
    assert not any("from the ledger" in line for line in lines), lines  # (not "recent_hours of 0 ... from the ledger")
