"""Independent referees for the engine: a rule checker and an exact MIP.

Nothing here imports matcher's engine code (arrays, candidates, solvers): the
rules of SPEC.md are re-implemented plainly over the pydantic models, with
Python datetimes and math, so a bug in the engine cannot hide in a shared
helper. The MIP states no-overlap pairwise, not by cliques, and is solved by
HiGHS, not OR-Tools.

SPEC v2's rules are here too: rule 3 by travel minutes, 7b (time to travel
between tasks, on every pair of a volunteer's tasks), 11 (crews) and 12 (no
return after a 1-2 star rating on a series). Travel minutes are recomputed
plainly: straight line x detour / speed, or a Dijkstra of our own (heapq) over
the road network, nodes found by scanning them all.
"""

from __future__ import annotations

import heapq
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


class Trips:
    """Travel minutes between places (SPEC v2), computed without the engine."""

    def __init__(self, problem: Problem) -> None:
        self.travel = problem.travel
        self.paths: dict[str, dict[str, float]] = {}

    def minutes(self, a: tuple[float, float], b: tuple[float, float], speed: float) -> float:
        t = self.travel
        assert t is not None
        if t.network is None:
            return distance_km(*a, *b) * t.detour / speed * 60.0
        na, ka = self.nearest(a)
        nb, kb = self.nearest(b)
        path = self.dijkstra(nb)[na] * t.network.speed_kmh / speed
        return path + (ka + kb) * t.detour / speed * 60.0

    def nearest(self, p: tuple[float, float]) -> tuple[str, float]:
        assert self.travel is not None and self.travel.network is not None
        return min(((n.id, distance_km(*p, n.lat, n.lon)) for n in self.travel.network.nodes),
                   key=lambda x: (x[1], x[0]))

    def dijkstra(self, source: str) -> dict[str, float]:
        if source not in self.paths:
            assert self.travel is not None and self.travel.network is not None
            adj: dict[str, list[tuple[str, float]]] = defaultdict(list)
            for e in self.travel.network.edges:
                adj[e.source].append((e.target, e.minutes))
                adj[e.target].append((e.source, e.minutes))
            best = {source: 0.0}
            heap = [(0.0, source)]
            while heap:
                dist, node = heapq.heappop(heap)
                if dist > best.get(node, math.inf):
                    continue
                for nxt, w in adj[node]:
                    if dist + w < best.get(nxt, math.inf):
                        best[nxt] = dist + w
                        heapq.heappush(heap, (dist + w, nxt))
            self.paths[source] = best
        return self.paths[source]


def speed(problem: Problem, v: Volunteer) -> float:
    assert problem.travel is not None
    return float(v.speed_kmh or problem.travel.speed_kmh)


def series_of(problem: Problem, d: Demand) -> str | None:
    return d.series_id


def rated_out(problem: Problem) -> set[tuple[str, str]]:
    """(volunteer, series) pairs a 1-2 star rating keeps apart (rule 12)."""
    series = {d.id: d.series_id for d in problem.demands}
    out = set()
    for r in problem.ratings:
        s = r.series_id or (series.get(r.demand_id) if r.demand_id else None)
        if r.stars <= 2 and s is not None:
            out.add((r.volunteer_id, s))
    return out


def pair_ok(problem: Problem, v: Volunteer, d: Demand) -> bool:
    """SPEC rules 1-5 and 12 for one pair (rule 3 by minutes when travel and max_travel_minutes are given)."""
    if not set(d.required_skills) <= set(v.skills):
        return False
    if not any(s <= d.start and d.end <= e for s, e in merged(v)):
        return False
    lat, lon = location(problem, d)
    if problem.travel is not None and v.max_travel_minutes is not None:
        need = Trips(problem).minutes((v.lat, v.lon), (lat, lon), speed(problem, v))
        if Fraction(need) > Fraction(repr(v.max_travel_minutes)):
            return False
    elif distance_km(v.lat, v.lon, lat, lon) > v.max_travel_km:
        return False
    if d.series_id is not None and (v.id, d.series_id) in rated_out(problem):
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
    if problem.travel is not None:
        trips = Trips(problem)
        for vid, ds in per_vol.items():
            for a, b in travel_clashes(problem, trips, vols[vid], ds):
                out.append(f"rule 7b: {vid} has no time to travel from {a.id} to {b.id}")
    for did, n in per_dem.items():
        m = dems[did].min_headcount
        if m is not None and 0 < n < m:
            out.append(f"rule 11: {did} gets {n} < min_headcount {m}")
    for a in problem.pinned:
        if (a.volunteer_id, a.demand_id) not in set(pairs):
            out.append(f"rule 9: pinned ({a.volunteer_id}, {a.demand_id}) missing")
    for a in solution.assignments:
        d = dems.get(a.demand_id)
        v = vols.get(a.volunteer_id)
        if d and v and abs(distance_km(v.lat, v.lon, *location(problem, d)) - a.travel_km) > 1e-3:
            out.append(f"travel_km of ({v.id}, {d.id}) is wrong")
    return out


def travel_clashes(problem: Problem, trips: Trips, v: Volunteer, ds: list[Demand]) -> list[tuple[Demand, Demand]]:
    """Pairs of ``v``'s tasks that do not overlap but leave less time between them than the trip (rule 7b)."""
    out = []
    for a in ds:
        for b in ds:
            if a is not b and a.end <= b.start:
                gap = b.start - a.end
                gap_minutes = Fraction(gap.days * 86_400 * 10**6 + gap.seconds * 10**6 + gap.microseconds, 60 * 10**6)
                need = trips.minutes(location(problem, a), location(problem, b), speed(problem, v))
                if gap_minutes < Fraction(need):
                    out.append((a, b))
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
        clash = {(a.id, b.id) for a, b in travel_clashes(problem, Trips(problem), v, [d for d, _ in items])} \
            if problem.travel is not None else set()
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                di, dj = items[i][0], items[j][0]
                if (di.start < dj.end and dj.start < di.end) or (di.id, dj.id) in clash or (dj.id, di.id) in clash:
                    h.addConstr(items[i][1] + items[j][1] <= 1)  # type: ignore[operator]
    for did, vs in by_dem.items():  # rule 11: nobody, or at least min_headcount
        m = dems[did].min_headcount
        if m is not None and m > 1:
            y = h.addVariable(lb=0.0, ub=1.0, type=highspy.HighsVarType.kInteger)
            h.addConstr(sum(vs) - m * y >= 0)  # type: ignore[operator, arg-type]
            for var in vs:
                h.addConstr(var - y <= 0)  # type: ignore[operator]
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
