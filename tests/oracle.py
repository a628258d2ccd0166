"""Independent referees for the engine: a rule checker and an exact MIP.

Nothing here imports matcher's engine code (arrays, candidates, solvers): the
rules of SPEC.md are re-implemented plainly over the pydantic models, with
Python datetimes and math, so a bug in the engine cannot hide in a shared
helper. The MIP states no-overlap pairwise, not by cliques, and is solved by
HiGHS, not OR-Tools.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from fractions import Fraction
from typing import Protocol

import highspy

from matcher.model import Demand, Problem, Solution, Volunteer

DEFAULT_WEIGHTS = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16}
R_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * R_KM * math.asin(math.sqrt(min(1.0, a)))


def merged(v: Volunteer) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for w in sorted(v.availability, key=lambda w: w.start):
        if out and w.start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], w.end))
        else:
            out.append((w.start, w.end))
    return out


def location(problem: Problem, d: Demand) -> tuple[float, float]:
    if d.lat is not None and d.lon is not None:
        return d.lat, d.lon
    area = next(a for a in problem.areas if a.id == d.area_id)
    return area.lat, area.lon


def pair_ok(problem: Problem, v: Volunteer, d: Demand) -> bool:
    """SPEC rules 1-5 for one pair."""
    if not set(d.required_skills) <= set(v.skills):
        return False
    if not any(s <= d.start and d.end <= e for s, e in merged(v)):
        return False
    lat, lon = location(problem, d)
    if distance_km(v.lat, v.lon, lat, lon) > v.max_travel_km:
        return False
    if d.requires_insured and not v.insured:
        return False
    if d.team_id is not None and v.team_id != d.team_id:
        return False
    return (v.id, d.id) not in {(a.volunteer_id, a.demand_id) for a in problem.forbidden}


def hours(d: Demand) -> Fraction:
    """A demand's length in hours, as an exact fraction."""
    delta = d.end - d.start
    return Fraction(delta.days * 86_400 * 10**6 + delta.seconds * 10**6 + delta.microseconds, 3_600 * 10**6)


def cap(v: Volunteer) -> Fraction:
    """``max_hours`` as the decimal it was written as (what a person typed: 4.1 means 41/10), exactly."""
    return Fraction(repr(v.max_hours))


def seconds(x: Fraction) -> int:
    """Whole seconds in ``x`` hours, rounded down (the MIP states the hour caps in integers)."""
    return math.floor(x * 3600)


def violations(problem: Problem, solution: Solution) -> list[str]:
    """Every hard rule of SPEC.md checked on a solution; empty when it is feasible."""
    vols = {v.id: v for v in problem.volunteers}
    dems = {d.id: d for d in problem.demands}
    out: list[str] = []
    pairs = [(a.volunteer_id, a.demand_id) for a in solution.assignments]
    if len(set(pairs)) != len(pairs):
        out.append("rule 10: a pair is assigned twice")
    per_dem: dict[str, int] = defaultdict(int)
    per_vol: dict[str, list[Demand]] = defaultdict(list)
    for vid, did in pairs:
        if vid not in vols or did not in dems:
            out.append(f"unknown id in ({vid}, {did})")
            continue
        if not pair_ok(problem, vols[vid], dems[did]):
            out.append(f"rules 1-5: ({vid}, {did}) is not allowed")
        per_dem[did] += 1
        per_vol[vid].append(dems[did])
    for did, n in per_dem.items():
        if n > dems[did].headcount:
            out.append(f"rule 6: {did} gets {n} > headcount {dems[did].headcount}")
    for vid, ds in per_vol.items():
        v = vols[vid]
        for i in range(len(ds)):
            for j in range(i + 1, len(ds)):
                if ds[i].start < ds[j].end and ds[j].start < ds[i].end:
                    out.append(f"rule 7: {vid} has overlapping {ds[i].id} and {ds[j].id}")
        if len(ds) > v.max_tasks:
            out.append(f"rule 8: {vid} has {len(ds)} tasks > {v.max_tasks}")
        if sum((hours(d) for d in ds), Fraction(0)) > cap(v):
            out.append(f"rule 8: {vid} works {float(sum(hours(d) for d in ds))} h > {v.max_hours}")
    for a in problem.pinned:
        if (a.volunteer_id, a.demand_id) not in set(pairs):
            out.append(f"rule 9: pinned ({a.volunteer_id}, {a.demand_id}) missing")
    for a in solution.assignments:
        d = dems.get(a.demand_id)
        v = vols.get(a.volunteer_id)
        if d and v and abs(distance_km(v.lat, v.lon, *location(problem, d)) - a.travel_km) > 1e-3:
            out.append(f"travel_km of ({v.id}, {d.id}) is wrong")
    return out


def coverage(problem: Problem, solution: Solution, weights: dict[int, int] = DEFAULT_WEIGHTS) -> float:
    dems = {d.id: d for d in problem.demands}
    return float(sum(weights[dems[a.demand_id].priority] for a in solution.assignments))


def mip_max_coverage(problem: Problem, weights: dict[int, int] = DEFAULT_WEIGHTS) -> float:
    """The exact optimum coverage, by a HiGHS MIP with pairwise no-overlap constraints."""
    h = highspy.Highs()
    h.silent()
    pinned = {(a.volunteer_id, a.demand_id) for a in problem.pinned}
    x = {}
    for v in problem.volunteers:
        for d in problem.demands:
            if pair_ok(problem, v, d):
                lb = 1.0 if (v.id, d.id) in pinned else 0.0
                x[v.id, d.id] = h.addVariable(lb=lb, ub=1.0, type=highspy.HighsVarType.kInteger)
    if not x:
        return 0.0
    by_dem: dict[str, list[object]] = defaultdict(list)
    by_vol: dict[str, list[tuple[Demand, object]]] = defaultdict(list)
    dems = {d.id: d for d in problem.demands}
    for (vid, did), var in x.items():
        by_dem[did].append(var)
        by_vol[vid].append((dems[did], var))
    for did, vs in by_dem.items():
        h.addConstr(sum(vs) <= dems[did].headcount)  # type: ignore[arg-type]
    vols = {v.id: v for v in problem.volunteers}
    for vid, items in by_vol.items():
        v = vols[vid]
        h.addConstr(sum(var for _, var in items) <= v.max_tasks)  # type: ignore[misc]
        # in whole seconds: exact for demands of whole seconds (every instance here), no float tolerance
        h.addConstr(sum(seconds(hours(d)) * var for d, var in items) <= seconds(cap(v)))  # type: ignore[misc]
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                di, dj = items[i][0], items[j][0]
                if di.start < dj.end and dj.start < di.end:
                    h.addConstr(items[i][1] + items[j][1] <= 1)  # type: ignore[operator]
    h.maximize(sum(weights[dems[did].priority] * var for (_, did), var in x.items()))  # type: ignore[misc]
    status = h.getModelStatus()
    assert status == highspy.HighsModelStatus.kOptimal, status
    return float(round(h.getInfo().objective_function_value))


def secondary(problem: Problem, solution: Solution, weights: SecondaryWeights) -> float:
    """SPEC's objective 2 in points, recomputed from the records: travel, recent hours, load, continuity, change."""
    vols = {v.id: v for v in problem.volunteers}
    tasks: dict[str, int] = defaultdict(int)
    served_by: dict[str, set[str]] = defaultdict(set)
    for a in solution.assignments:
        tasks[a.volunteer_id] += 1
        served_by[a.demand_id].add(a.volunteer_id)
    chosen = {(a.volunteer_id, a.demand_id) for a in solution.assignments}
    travel = sum(a.travel_km for a in solution.assignments)
    recent = sum(vols[a.volunteer_id].recent_hours for a in solution.assignments)
    load = sum(n * n for n in tasks.values())
    missed = sum(1 for d in problem.demands if d.preferred_volunteers
                 and not served_by[d.id] & set(d.preferred_volunteers))
    dropped = sum(1 for a in problem.previous if (a.volunteer_id, a.demand_id) not in chosen)
    return (weights.travel_weight * travel + weights.recent_hours_weight * recent + weights.load_weight * load
            + weights.continuity_weight * missed + weights.change_weight * dropped)


class SecondaryWeights(Protocol):
    travel_weight: float
    recent_hours_weight: float
    load_weight: float
    continuity_weight: float
    change_weight: float
