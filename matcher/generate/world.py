"""The v2 world of a generated place: travel times, households' series, event crews, and a history of ratings.

A preset drawn with ``world="v2"`` is the v1 place (the same volunteers, homes, windows and
orders, drawn from the same seed) with SPEC's v2 fields on top, drawn from a random stream of
their own (so a v1 draw never changes):

- **Speeds by age group.** Retirees walk at 3.5-4.5 km/h, working adults and students at
  4.5-5.0 km/h; some cycle at 12-15 km/h (5% of retirees, 25% of workers, 35% of students).
- **The 15-minute circle.** ``max_travel_minutes`` is 15 for two thirds of volunteers, 10 or 20
  for the rest; ``Problem.travel`` walks at 4.5 km/h with routes 1.3 times the straight line
  (:data:`~matcher.generate.presets.TRAVEL`). ``max_travel_km`` becomes what those minutes reach
  in a straight line at the volunteer's speed (rounded down to 10 m), so a check by kilometres and
  one by minutes agree; the hard spots are drawn against these reaches.
- **Households' weekly series.** Each special-needs household's visits are one ``series_id``
  (weekly, served by its helper). About 40% are visited twice this week, on two days, at the same
  home; the others once.
- **Event crews.** Large events and event orders of five or more get ``min_headcount`` = 60-80%
  of their headcount: a crew that cannot run half-staffed.
- **A history of ratings** (``Problem.ratings``): the helper's ratings on each series over the
  last one to four weeks (mostly 4-5 stars); on about one series in ten a substitute from the
  household's community was rated 1-2 stars (so rule 12 keeps them away); and a quarter of active
  volunteers have one to four ratings of past orders in the last eight weeks.
- **Preferred categories.** About 40% of active volunteers name one or two categories they like,
  by age group (elder care and health for retirees, repairs and errands for workers, after-school
  care and events for students).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from matcher.generate.presets import TRAVEL

__all__ = ["CYCLING_SHARE", "LIKES", "crews", "history", "households", "preferences", "volunteer_travel",
           "world_rng"]

CYCLING_SHARE = np.array([0.05, 0.25, 0.35])
"""Share of retirees, workers and students who cycle."""
LIKES: tuple[tuple[str, ...], ...] = (
    ("elder_care", "health", "disability", "cleaning", "civility"),
    ("home_repair", "errands", "emergency", "legal_aid", "events"),
    ("after_school", "events", "civility", "cleaning", "counselling"),
)
"""Categories that retirees, workers and students like to serve."""
SERIES_STARS = [0.0, 0.0, 0.10, 0.35, 0.55]
PAST_STARS = [0.02, 0.03, 0.10, 0.35, 0.50]


def world_rng(seed: int) -> np.random.Generator:
    """The v2 world's random stream for ``seed``: its own, so that the v1 draws stay as they were."""
    return np.random.default_rng([seed, 2])


def volunteer_travel(rng: np.random.Generator, kind: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Each volunteer's ``speed_kmh``, ``max_travel_minutes`` and the ``max_travel_km`` those minutes reach.

    ``kind`` is each volunteer's age group: 0 retiree, 1 worker, 2 student.
    """
    n = len(kind)
    walk = np.where(kind == 0, rng.uniform(3.5, 4.5, n), rng.uniform(4.5, 5.0, n))
    cycles = rng.random(n) < CYCLING_SHARE[kind]
    speed = np.round(np.where(cycles, rng.uniform(12.0, 15.0, n), walk), 1)
    minutes = rng.choice([10.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 20.0, 20.0], size=n)
    km = np.floor(speed * minutes / 60.0 / TRAVEL["detour"] * 100.0) / 100.0
    return speed.tolist(), minutes.tolist(), km.tolist()


def preferences(rng: np.random.Generator, kind: np.ndarray, active: np.ndarray) -> list[list[str]]:
    """Categories each volunteer likes (40% of the active name one or two; the rest none)."""
    says = (rng.random(len(kind)) < 0.4) & active
    many = rng.random(len(kind)) < 0.4
    picks = rng.random((len(kind), 2))
    out: list[list[str]] = []
    for k in range(len(kind)):
        likes = LIKES[int(kind[k])]
        chosen = {likes[int(picks[k, 0] * len(likes))]}
        if many[k]:
            chosen.add(likes[int(picks[k, 1] * len(likes))])
        out.append(sorted(chosen) if says[k] else [])
    return out


def households(rng: np.random.Generator, demands: dict[str, list[Any]], visits: Sequence[tuple[int, int]]) -> None:
    """Group each helper's visits (``(helper, demand row)``, in order) into households' weekly series, in place.

    A household is visited once, or (40%) twice on two days at the first visit's home.
    """
    by_helper: dict[int, list[int]] = defaultdict(list)
    for helper, row in visits:
        by_helper[helper].append(row)
    for rows in by_helper.values():
        i = 0
        while i < len(rows):
            first = rows[i]
            series = f"H{demands['id'][first][1:]}"
            demands["series_id"][first] = series
            twice = rng.random() < 0.4
            if twice and i + 1 < len(rows) and demands["start"][rows[i + 1]][:10] != demands["start"][first][:10]:
                second = rows[i + 1]
                for col in ("area_id", "lat", "lon", "series_id"):
                    demands[col][second] = demands[col][first]
                i += 2
            else:
                i += 1


def crews(rng: np.random.Generator, demands: dict[str, list[Any]], rows: Sequence[int]) -> None:
    """Give the crews in ``rows`` a ``min_headcount`` of 60-80% of their headcount, in place."""
    share = rng.uniform(0.6, 0.8, size=len(rows))
    for row, s in zip(rows, share.tolist()):
        demands["min_headcount"][row] = max(1, math.ceil(demands["headcount"][row] * s))


def history(rng: np.random.Generator, volunteers: dict[str, list[Any]], demands: dict[str, list[Any]],
            home: np.ndarray, active: np.ndarray, monday: datetime) -> dict[str, list[Any]]:
    """Past ratings (the ``ratings`` table): on the households' series, and of past orders.

    ``home`` is each volunteer's community (an index), ``active`` whether they give any availability this week.
    """
    out: dict[str, list[Any]] = {c: [] for c in ("volunteer_id", "demand_id", "series_id", "stars", "at")}

    def rate(vid: str, did: str, series: str | None, stars: int, at: datetime) -> None:
        for col, value in zip(out, (vid, did, series, stars, at.isoformat())):
            out[col].append(value)

    ids = volunteers["id"]
    index = {v: k for k, v in enumerate(ids)}
    by_skill: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k in np.flatnonzero(active).tolist():
        for s in volunteers["skills"][k]:
            by_skill[(int(home[k]), s)].append(k)
    seen: set[str] = set()
    for row, series in enumerate(demands["series_id"]):
        if series is None or series in seen:
            continue
        seen.add(series)
        helper = index[demands["preferred_volunteers"][row][0]]
        end = datetime.fromisoformat(demands["end"][row])
        for week in range(1, int(rng.integers(2, 6))):
            stars = int(rng.choice(5, p=SERIES_STARS)) + 1
            rate(ids[helper], f"{series}-W{week}", series, stars, end - timedelta(weeks=week))
        others = [k for k in by_skill[(int(home[helper]), demands["required_skills"][row][0])] if k != helper]
        if others and rng.random() < 0.1:
            sub = others[int(rng.integers(0, len(others)))]
            week = int(rng.integers(1, 4))
            rate(ids[sub], f"{series}-S{week}", series, int(rng.integers(1, 3)), end - timedelta(weeks=week))
    past = np.flatnonzero(active & (rng.random(len(ids)) < 0.25)).tolist()
    n = 0
    for k in past:
        for _ in range(int(rng.integers(1, 5))):
            n += 1
            at = monday - timedelta(days=float(rng.uniform(1, 56)))
            at = at.replace(hour=int(rng.integers(9, 19)), minute=0, second=0, microsecond=0)
            rate(ids[k], f"P{n:07d}", None, int(rng.choice(5, p=PAST_STARS)) + 1, at)
    return out
