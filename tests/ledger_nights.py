"""Two nights of a small place for the ledger's tests, dated before the clock (the runs read the last 30 days).

Volunteers a, b and c hold the skills sa, sb and sc; each demand needs one of them, so every plan is known in
advance whatever the secondary terms prefer.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TZ = timezone(timedelta(hours=8))
TODAY = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days_ago: int, hour: float) -> str:
    return (TODAY - timedelta(days=days_ago) + timedelta(hours=hour)).isoformat()


def night(path: Path, days_ago: int, demands: list[tuple[str, str, float, float, str | None]], *,
          days: int = 1, max_hours: float = 12) -> Path:
    """A problem: volunteers a, b, c holding skills sa, sb, sc, free for ``days`` days from ``days_ago``; demands
    (id, skill, start h, end h, series), the hours counted from ``days_ago``'s midnight."""
    path.write_text(json.dumps({
        "areas": [{"id": "A1", "lat": 39.9, "lon": 116.4}],
        "volunteers": [{"id": v, "lat": 39.9, "lon": 116.4, "skills": [f"s{v}"], "max_tasks": 5,
                        "max_hours": max_hours, "recent_hours": 9,
                        "availability": [{"start": at(days_ago, 0), "end": at(days_ago, 24 * days)}]}
                       for v in "abc"],
        "demands": [{"id": d, "area_id": "A1", "category": "errands", "required_skills": [skill], "headcount": 1,
                     "start": at(days_ago, h0), "end": at(days_ago, h1), "priority": 3, "series_id": series}
                    for d, skill, h0, h1, series in demands]}))
    return path


NIGHT_1 = [("D1", "sa", 8, 9.5, "S1"), ("D2", "sb", 10, 11.5, None), ("D3", "sa", 12, 14.25, None),
           ("D4", "sc", 14, 15, None)]
NIGHT_2 = [("E1", "sa", 8, 9, None), ("E2", "sb", 10, 12, None)]
HISTORY = [(f"H{k}", "sa", 24 * k, 24 * k + 24, None) for k in range(4)]
"""Four days of round-the-clock service for a (96 hours), from ten days back: a nearly full first star."""


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh).writerows(rows)
    return path


def table(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8-sig") as fh:
        return {r["volunteer_id"]: r for r in csv.DictReader(fh)}
