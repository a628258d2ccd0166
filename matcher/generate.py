"""Seeded synthetic problems for demos, tests and benchmarks.

:func:`synthetic_problem` draws a district-like problem: volunteers clustered
around community centres, a week of availability from typical patterns
(weekday mornings or afternoons, evenings, weekends), mostly general skills
with a few certified ones, teams that own nearby blocks, demands at
quarter-hour starts so windows overlap in every way, some with preferred
volunteers, a few large events. Same arguments, same problem.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from matcher.model import Problem
from matcher.taxonomy import builtin_taxonomy

__all__ = ["synthetic_problem"]

_TZ = timezone(timedelta(hours=8))
_MONDAY = datetime(2026, 11, 23, tzinfo=_TZ)
# (days, start hour, end hour)
_PATTERNS = [
    (range(0, 5), 8, 12),
    (range(0, 5), 13, 18),
    (range(0, 7), 18, 21),
    (range(5, 7), 9, 17),
    (range(0, 7), 7, 11),
]
_COMMON = ["companion", "elder_care", "errands", "cleaning", "tutoring", "driving", "traffic_guidance",
           "event_staff", "listening", "pharmacy", "plumbing", "appliance_repair", "disinfection", "first_aid"]
_CERTIFIED = ["nurse", "doctor", "electrician", "lawyer", "counsellor", "rescue"]


def _iso(hours: float) -> str:
    return (_MONDAY + timedelta(hours=float(hours))).isoformat()


def synthetic_problem(
    n_volunteers: int,
    n_demands: int,
    seed: int = 0,
    *,
    extent_km: float = 12.0,
    n_teams: int | None = None,
    n_forbidden: int = 0,
    event_share: float = 0.003,
    taxonomy: bool = True,
) -> Problem:
    """A seeded district-like problem.

    Parameters
    ----------
    n_volunteers, n_demands
        Sizes.
    seed
        Random seed; the output depends only on the arguments.
    extent_km
        Side of the square district.
    n_teams
        Number of teams (default: one per ~127 volunteers, as in a district of 81,700 in 644 teams).
    n_forbidden
        Random forbidden pairs to add.
    event_share
        Share of demands that are large events (headcount 20-100).
    taxonomy
        Name the builtin taxonomy in the problem.

    """
    rng = np.random.default_rng(seed)
    lat0, lon0 = 39.90, 116.40
    dlat = extent_km / 111.2
    dlon = extent_km / (111.2 * np.cos(np.radians(lat0)))
    n_centres = max(3, n_volunteers // 2000 + 3)
    centres = rng.uniform(0.1, 0.9, size=(n_centres, 2))
    n_teams = n_teams or max(1, n_volunteers // 127)

    def place(n: int, spread: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = rng.integers(0, n_centres, size=n)
        xy = np.clip(centres[c] + rng.normal(0, spread, size=(n, 2)), 0, 1)
        return lat0 + xy[:, 0] * dlat, lon0 + xy[:, 1] * dlon, c

    # areas: a grid of cells over the district
    side = max(2, int(np.sqrt(max(n_demands // 20, 4))))
    areas = []
    for i in range(side):
        for j in range(side):
            areas.append({
                "id": f"A{i:03d}{j:03d}",
                "lat": lat0 + (i + 0.5) / side * dlat,
                "lon": lon0 + (j + 0.5) / side * dlon,
                "community": f"C{i // 2:02d}{j // 2:02d}",
                "street": f"S{i // 4:02d}{j // 4:02d}",
            })

    vlat, vlon, vcentre = place(n_volunteers, 0.08)
    volunteers = []
    team_of_centre = rng.integers(0, n_teams, size=(n_centres, 8))
    for k in range(n_volunteers):
        skills = ["general"]
        if rng.random() < 0.45:
            skills += list(rng.choice(_COMMON, size=int(rng.integers(1, 3)), replace=False))
        if rng.random() < 0.04:
            skills.append(str(rng.choice(_CERTIFIED)))
        windows = []
        for _ in range(int(rng.integers(1, 3))):
            days, h0, h1 = _PATTERNS[int(rng.integers(0, len(_PATTERNS)))]
            for day in rng.choice(list(days), size=int(rng.integers(1, 3)), replace=False):
                windows.append({"start": _iso(24 * day + h0), "end": _iso(24 * day + h1)})
        volunteers.append({
            "id": f"V{k:06d}",
            "lat": float(vlat[k]),
            "lon": float(vlon[k]),
            "skills": sorted(set(skills)),
            "availability": windows,
            "max_tasks": int(rng.choice([1, 2, 3, 3, 4])),
            "max_hours": float(rng.choice([4.0, 6.0, 8.0, 8.0, 10.0])),
            "max_travel_km": float(rng.choice([1.0, 2.0, 2.0, 2.0, 3.0])),
            "team_id": f"T{int(team_of_centre[vcentre[k], rng.integers(0, 8)]):04d}" if rng.random() < 0.9 else None,
            "insured": bool(rng.random() < 0.85),
            "recent_hours": float(np.round(rng.gamma(1.5, 6.0), 1)),
        })

    tax = builtin_taxonomy()
    subcats = [(c.code, s) for c in tax.categories for s in c.subcategories]
    # most orders need only general help; skilled ones come from the subcategory
    dlat_d, dlon_d, dcentre = place(n_demands, 0.1)
    by_centre = {int(c): np.flatnonzero(vcentre == c) for c in np.unique(vcentre)}
    demands: list[dict[str, Any]] = []
    for k in range(n_demands):
        cat, sub = subcats[int(rng.integers(0, len(subcats)))]
        event = rng.random() < event_share
        day = int(rng.integers(0, 7))
        start = 24 * day + float(rng.choice(np.arange(7.0, 20.0, 0.25)))
        length = float(rng.choice([1.0, 1.5, 2.0, 2.0, 3.0, 4.0])) if not event else 4.0
        required = list(sub.skills) if rng.random() < 0.35 else ["general"]
        area = areas[int(rng.integers(0, len(areas)))]
        d: dict[str, Any] = {
            "id": f"D{k:06d}",
            "area_id": area["id"],
            "category": sub.code if rng.random() < 0.7 else cat,
            "required_skills": required if not event else ["general"],
            "headcount": int(rng.integers(20, 101)) if event else int(rng.choice([1, 1, 1, 2, 2, 3])),
            "start": _iso(start),
            "end": _iso(start + length),
            "priority": int(rng.choice([1, 2, 3, 3, 4, 5], p=[0.15, 0.25, 0.2, 0.2, 0.12, 0.08])),
            "requires_insured": bool(rng.random() < 0.2),
        }
        if rng.random() < 0.7:
            d["lat"], d["lon"] = float(dlat_d[k]), float(dlon_d[k])
        if rng.random() < 0.1:
            d["team_id"] = f"T{int(team_of_centre[dcentre[k], rng.integers(0, 8)]):04d}"
        same_centre = by_centre.get(int(dcentre[k]))
        if rng.random() < 0.08 and same_centre is not None:
            d["preferred_volunteers"] = [f"V{int(rng.choice(same_centre)):06d}"]
        demands.append(d)

    forbidden: set[tuple[str, str]] = set()
    while len(forbidden) < n_forbidden and n_volunteers and n_demands:
        forbidden.add((f"V{int(rng.integers(0, n_volunteers)):06d}", f"D{int(rng.integers(0, n_demands)):06d}"))
    data: dict[str, Any] = {
        "areas": areas,
        "volunteers": volunteers,
        "demands": demands,
        "forbidden": [{"volunteer_id": v, "demand_id": d} for v, d in sorted(forbidden)],
    }
    if taxonomy:
        data["taxonomy"] = "builtin"
    return Problem.from_dict(data)
