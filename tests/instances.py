"""Seeded random instances built to stress the hard rules, not to look real.

Volunteers and demands share a small area, so most pairs are in range; demand
windows start on any quarter hour of one or two days, so they overlap in every
pattern; hour caps are tight, so the cap binds across unequal durations;
teams, insurance, forbidden pairs and preferences all occur.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from matcher.model import Problem

TZ = timezone(timedelta(hours=8))
DAY0 = datetime(2026, 11, 23, tzinfo=TZ)


def at(hours: float) -> str:
    return (DAY0 + timedelta(hours=hours)).isoformat()


def tight_problem(seed: int, n_vol: int = 200, n_dem: int = 120, days: int = 2, n_forbidden: int = 30) -> Problem:
    rng = np.random.default_rng(seed)
    skills = ["general", "nurse", "driving", "tutoring"]
    teams = ["T1", "T2", "T3"]
    vols: list[dict[str, Any]] = []
    for k in range(n_vol):
        windows = []
        for _ in range(int(rng.integers(1, 4))):
            day = int(rng.integers(0, days))
            s = float(rng.choice(np.arange(6.0, 18.0, 0.5)))
            windows.append({"start": at(24 * day + s), "end": at(24 * day + s + float(rng.choice([2, 3, 4, 6, 8])))})
        vols.append({
            "id": f"v{k}",
            "lat": 39.9 + float(rng.uniform(0, 0.03)),
            "lon": 116.4 + float(rng.uniform(0, 0.04)),
            "skills": ["general", *rng.choice(skills[1:], size=int(rng.integers(0, 3)), replace=False).tolist()],
            "availability": windows,
            "max_tasks": int(rng.integers(1, 5)),
            "max_hours": float(rng.choice([1.5, 2.0, 3.0, 4.5, 6.0])),
            "max_travel_km": float(rng.choice([1.0, 2.0, 3.0])),
            "team_id": str(rng.choice(teams)) if rng.random() < 0.7 else None,
            "insured": bool(rng.random() < 0.8),
            "recent_hours": float(rng.integers(0, 40)),
        })
    dems: list[dict[str, Any]] = []
    for k in range(n_dem):
        day = int(rng.integers(0, days))
        s = float(rng.choice(np.arange(7.0, 20.0, 0.25)))
        d: dict[str, Any] = {
            "id": f"d{k}",
            "lat": 39.9 + float(rng.uniform(0, 0.03)),
            "lon": 116.4 + float(rng.uniform(0, 0.04)),
            "category": str(rng.choice(["care", "health", "errand", "event"])),
            "required_skills": ["general"] if rng.random() < 0.6 else [str(rng.choice(skills[1:]))],
            "headcount": int(rng.choice([1, 1, 2, 3, 5])),
            "start": at(24 * day + s),
            "end": at(24 * day + s + float(rng.choice([0.5, 1.0, 1.25, 2.0, 3.0]))),
            "priority": int(rng.integers(1, 6)),
            "requires_insured": bool(rng.random() < 0.2),
        }
        if rng.random() < 0.15:
            d["team_id"] = str(rng.choice(teams))
        if rng.random() < 0.2:
            d["preferred_volunteers"] = [f"v{int(rng.integers(0, n_vol))}"]
        dems.append(d)
    forbidden = {(f"v{int(rng.integers(0, n_vol))}", f"d{int(rng.integers(0, n_dem))}") for _ in range(n_forbidden)}
    return Problem.from_dict({
        "volunteers": vols,
        "demands": dems,
        "forbidden": [{"volunteer_id": v, "demand_id": d} for v, d in sorted(forbidden)],
    })


def v2_problem(seed: int, n_vol: int = 120, n_dem: int = 80, network: bool = False) -> Problem:
    """:func:`tight_problem` in SPEC v2's world: travel minutes, speeds, crews, weekly series and ratings.

    Demands start on quarter hours, so many are back to back in different places (rule 7b binds); some
    events get a crew minimum (rule 11); visits to a few households form series, some rated 1-2 stars
    for a volunteer (rule 12); half the volunteers reach by minutes, walking or cycling.
    """
    rng = np.random.default_rng(10_000 + seed)
    tight = tight_problem(seed, n_vol=n_vol, n_dem=n_dem, days=1, n_forbidden=10)
    base = tight.model_dump(mode="json", exclude_none=True)
    for v in base["volunteers"]:
        if rng.random() < 0.5:
            v["max_travel_minutes"] = float(rng.choice([10.0, 15.0, 25.0]))
        if rng.random() < 0.4:
            v["speed_kmh"] = float(rng.choice([3.5, 4.5, 12.0, 15.0]))
        if rng.random() < 0.3:
            v["preferred_categories"] = [str(rng.choice(["care", "health", "errand", "event"]))]
    dems = base["demands"]
    for d in dems:
        if d["headcount"] >= 2 and rng.random() < 0.6:
            d["min_headcount"] = int(rng.integers(2, d["headcount"] + 1))
    for k in range(min(6, len(dems) // 8)):  # series of 2-4 visits to one household
        members = rng.choice(len(dems), size=int(rng.integers(2, 5)), replace=False)
        home = dems[int(members[0])]
        for m in members.tolist():
            if "series_id" not in dems[m]:
                dems[m].update(series_id=f"S{k}", lat=home["lat"], lon=home["lon"], headcount=1)
                dems[m].pop("min_headcount", None)
    ratings = []
    for k in range(min(6, len(dems) // 8)):
        for _ in range(3):
            ratings.append({"volunteer_id": f"v{int(rng.integers(0, n_vol))}", "series_id": f"S{k}",
                            "stars": int(rng.integers(1, 6)), "at": at(-24 * 7)})
    base["ratings"] = ratings
    base["travel"] = {"speed_kmh": 4.5, "detour": 1.3}
    if network:  # a grid of roads over the area, 0.005 degrees apart, a little slower than the straight line
        nodes, edges = [], []
        for i in range(7):
            for j in range(9):
                nodes.append({"id": f"n{i}_{j}", "lat": 39.9 + 0.005 * i, "lon": 116.4 + 0.005 * j})
                if i:
                    edges.append({"source": f"n{i - 1}_{j}", "target": f"n{i}_{j}", "minutes": 7.6})
                if j:
                    edges.append({"source": f"n{i}_{j - 1}", "target": f"n{i}_{j}", "minutes": 5.9})
        base["travel"]["network"] = {"nodes": nodes, "edges": edges, "speed_kmh": 4.5}
    return Problem.from_dict(base)
