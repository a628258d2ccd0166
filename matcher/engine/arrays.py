"""Problem → dense integer arrays: the one conversion from ids to indices.

Everything downstream (candidates, solvers, reports) works on these arrays and
turns indices back into ids only when the :class:`~matcher.model.Solution` is
built. Times are integer microseconds since the Unix epoch (exact); hour caps
become integer microseconds (:func:`~matcher.engine.types.hours_cap_us`), so
the hour rule is the integer test ``sum(durations) <= cap``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.engine.geometry import unit_vectors
from matcher.engine.intervals import merged_windows_us
from matcher.engine.sorting import stable_order_by
from matcher.engine.travel import TravelModel, reach_km, travel_model
from matcher.engine.types import F64, I64, U64, B, hours_cap_us, minutes_cap_us, timestamps_us
from matcher.model import Area, Demand, Problem, Volunteer

__all__ = ["DEMAND_ROW_FIELDS", "V1_DEFAULTS", "ProblemArrays", "build_arrays", "demand_rows", "distinct_rows",
           "given_pairs", "member", "problem_wide", "time_ranks", "time_values", "uses_v2", "v2_fields",
           "volunteer_rows", "with_indexes"]



@dataclass(frozen=True, eq=False)
class ProblemArrays:
    """A problem as arrays indexed by dense volunteer / demand numbers."""

    volunteer_ids: list[str]
    demand_ids: list[str]
    area_ids: list[str]
    categories: list[str]
    skill_ids: list[str]  # bit i of the skill bitsets
    team_ids: list[str]  # values of v_team / d_team
    # volunteers
    v_lat: F64
    v_lon: F64
    v_skills: U64  # (nv, words) bitset of skill codes
    v_max_tasks: I64
    v_hours_cap_us: I64
    v_max_travel_km: F64
    v_team: I64  # -1 = no team
    v_insured: B
    v_recent_hours: F64
    # merged availability, sorted by (volunteer, start); times as ranks among all
    # time values of the problem (exact for containment), and as microseconds
    w_vol: I64
    w_start: I64
    w_end: I64
    w_start_us: I64
    w_end_us: I64
    # demands
    d_lat: F64
    d_lon: F64
    d_skills: U64
    d_headcount: I64
    d_start: I64  # microseconds
    d_end: I64
    d_start_rank: I64  # rank of d_start among all time values (order-preserving)
    d_end_rank: I64
    d_priority: I64
    d_insured: B
    d_team: I64  # -1 = any team
    d_area: I64  # -1 = none
    d_category: I64
    # pairs given by the problem, as (volunteer, demand) index arrays
    pinned: tuple[I64, I64]
    forbidden: tuple[I64, I64]
    previous: tuple[I64, I64]
    preferred: tuple[I64, I64]
    # SPEC v2 (defaults: a v1 problem)
    travel: TravelModel | None = None
    """Travel times, when the problem gives ``travel`` (:mod:`matcher.engine.travel`)."""
    v_speed_kmh: F64 | None = None
    v_max_minutes: F64 | None = None
    """Reach by travel minutes (NaN: by ``max_travel_km``)."""
    v_minutes_cap_us: I64 | None = None
    """``v_max_minutes`` as whole microseconds rounded down (-1: by ``max_travel_km``), what rule 3 compares."""
    v_reach_km: F64 | None = None
    """The straight-line km that bounds each volunteer's reach: the candidate search's radius."""
    d_series: I64 | None = None
    """Each demand's series (-1: none), numbering ``series_ids``."""
    series_ids: tuple[str, ...] = ()
    d_min_headcount: I64 | None = None
    """Each demand's crew minimum (0: none; rule 11)."""
    rated_out: tuple[I64, I64] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    """(volunteer, series) pairs a 1-2 star rating keeps apart (rule 12)."""
    v_star_gap: F64 | None = None
    """5 less each volunteer's mean rating (0 when unrated): the quality term's unit."""
    liked: tuple[I64, I64] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    """(volunteer, category number) pairs a volunteer said they like, subcategories of a liked category too."""
    v_says_likes: B | None = None
    """Whether each volunteer named any preferred category (the preference term applies only then)."""

    @cached_property
    def v_unit(self) -> F64:
        """Volunteer homes on the unit sphere."""
        return unit_vectors(self.v_lat, self.v_lon)

    @cached_property
    def d_unit(self) -> F64:
        """Demand places on the unit sphere."""
        return unit_vectors(self.d_lat, self.d_lon)

    @cached_property
    def volunteer_index(self) -> dict[str, int]:
        """Volunteer id -> row."""
        return {v: i for i, v in enumerate(self.volunteer_ids)}

    @cached_property
    def demand_index(self) -> dict[str, int]:
        """Demand id -> row."""
        return {d: i for i, d in enumerate(self.demand_ids)}

    @property
    def nv(self) -> int:
        """Number of volunteers."""
        return len(self.volunteer_ids)

    @property
    def nd(self) -> int:
        """Number of demands."""
        return len(self.demand_ids)

    @property
    def d_duration_us(self) -> I64:
        """Service length of each demand in microseconds."""
        return self.d_end - self.d_start

    def pair_key(self, v: I64, d: I64) -> I64:
        """A sortable int64 key of (volunteer, demand) pairs."""
        return v.astype(np.int64) * max(self.nd, 1) + d


def member(values: npt.NDArray[np.int64], universe: npt.NDArray[np.int64]) -> B:
    """``np.isin(values, universe)`` by sorting the universe (unless it is sorted already)."""
    if len(universe) == 0:
        return np.zeros(len(values), dtype=bool)
    u = universe if bool((universe[1:] >= universe[:-1]).all()) else np.sort(universe)
    idx = np.minimum(np.searchsorted(u, values), len(u) - 1)
    found: B = u[idx] == values
    return found


def distinct_rows(rows: I64) -> tuple[I64, I64, I64]:
    """The distinct rows of an ``(n, k)`` int64 array: ``(first, inverse, counts)``.

    ``first[g]`` is the first row of group ``g`` (groups in lexicographic order of their rows' numbers),
    ``inverse[i]`` the group of row ``i`` (shape ``(n,)``), ``counts[g]`` its size (all int64). The groups of
    ``np.unique(rows, axis=0, return_index=True, return_inverse=True, return_counts=True)``, found by a stable
    sort of the columns (:func:`~matcher.engine.sorting.stable_order_by`) in about a tenth of its time on a
    district's 80,000 volunteers (``np.unique`` sorts the rows as opaque bytes, and so orders its groups
    differently).
    """
    n = len(rows)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    order = stable_order_by(*rows.T[::-1])  # stable: a group's first row in the order is its first row
    ranked = rows[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    return order[starts], inverse, np.diff(np.append(starts, n))


def _bitsets(lists: list[tuple[str, ...]], index: dict[str, int], words: int) -> U64:
    out = np.zeros((len(lists), words), dtype=np.uint64)
    rows = [i for i, lst in enumerate(lists) for _ in lst]
    bits = [index[s] for lst in lists for s in lst]
    if rows:
        r = np.asarray(rows, dtype=np.int64)
        b = np.asarray(bits, dtype=np.int64)
        np.bitwise_or.at(out, (r, b // 64), np.left_shift(np.uint64(1), (b % 64).astype(np.uint64)))
    return out


def _pairs(problem: Problem, name: str, vidx: dict[str, int], didx: dict[str, int]) -> tuple[I64, I64]:
    items = getattr(problem, name)
    v = np.fromiter((vidx[a.volunteer_id] for a in items), dtype=np.int64, count=len(items))
    d = np.fromiter((didx[a.demand_id] for a in items), dtype=np.int64, count=len(items))
    return v, d


def volunteer_rows(vols: Sequence[Volunteer], sidx: dict[str, int], words: int,
                    tidx: dict[str, int]) -> dict[str, Any]:
    """The volunteer fields of :class:`ProblemArrays` for these records (``w_vol`` numbers them from 0)."""
    windows = [w for v in vols for w in v.availability]
    w_vol = np.repeat(np.arange(len(vols), dtype=np.int64), [len(v.availability) for v in vols])
    # a loaded table's volunteers share the records of their repeated windows: each is converted once
    slot: dict[int, int] = {}
    which = np.fromiter((slot.setdefault(id(w), len(slot)) for w in windows), dtype=np.int64, count=len(windows))
    distinct = list({id(w): w for w in windows}.values())  # in first-seen order, as the slots were given
    w_vol, w_s, w_e = merged_windows_us(w_vol, timestamps_us([w.start for w in distinct])[which],
                                        timestamps_us([w.end for w in distinct])[which])
    hours = np.array([v.max_hours for v in vols], dtype=np.float64)
    return {
        "v_lat": np.array([v.lat for v in vols], dtype=np.float64),
        "v_lon": np.array([v.lon for v in vols], dtype=np.float64),
        "v_skills": _bitsets([v.skills for v in vols], sidx, words),
        "v_max_tasks": np.array([v.max_tasks for v in vols], dtype=np.int64),
        "v_hours_cap_us": hours_cap_us(hours),
        "v_max_travel_km": np.array([v.max_travel_km for v in vols], dtype=np.float64),
        "v_team": np.array([tidx[v.team_id] if v.team_id else -1 for v in vols], dtype=np.int64),
        "v_insured": np.array([v.insured for v in vols], dtype=bool),
        "v_recent_hours": np.array([v.recent_hours for v in vols], dtype=np.float64),
        "w_vol": w_vol,
        "w_start_us": w_s,
        "w_end_us": w_e,
    }


DEMAND_ROW_FIELDS = ("d_lat", "d_lon", "d_skills", "d_headcount", "d_start", "d_end", "d_priority", "d_insured",
                     "d_team", "d_area")
"""The per-demand fields of :class:`ProblemArrays` that depend on the demand's record alone."""


def demand_rows(dems: Sequence[Demand], areas: Sequence[Area], sidx: dict[str, int], words: int,
                 tidx: dict[str, int]) -> dict[str, Any]:
    """The fields in :data:`DEMAND_ROW_FIELDS` for these records."""
    area_index = {a.id: i for i, a in enumerate(areas)}
    area_lat = {a.id: a.lat for a in areas}
    area_lon = {a.id: a.lon for a in areas}
    return {
        "d_lat": np.array([d.lat if d.lat is not None else area_lat[d.area_id or ""] for d in dems], dtype=np.float64),
        "d_lon": np.array([d.lon if d.lon is not None else area_lon[d.area_id or ""] for d in dems], dtype=np.float64),
        "d_skills": _bitsets([d.required_skills for d in dems], sidx, words),
        "d_headcount": np.array([d.headcount for d in dems], dtype=np.int64),
        "d_start": timestamps_us([d.start for d in dems]),
        "d_end": timestamps_us([d.end for d in dems]),
        "d_priority": np.array([d.priority for d in dems], dtype=np.int64),
        "d_insured": np.array([d.requires_insured for d in dems], dtype=bool),
        "d_team": np.array([tidx[d.team_id] if d.team_id else -1 for d in dems], dtype=np.int64),
        "d_area": np.array([area_index[d.area_id] if d.area_id else -1 for d in dems], dtype=np.int64),
    }


def problem_wide(problem: Problem, vidx: dict[str, int], didx: dict[str, int]) -> dict[str, Any]:
    """The fields that span the whole problem: categories, preferred pairs, and the given pairs."""
    dems = problem.demands
    categories = sorted({d.category for d in dems})
    cidx = {c: i for i, c in enumerate(categories)}
    pref_v = [vidx[p] for d in dems for p in d.preferred_volunteers]
    pref_d = [j for j, d in enumerate(dems) for _ in d.preferred_volunteers]
    return {
        "categories": categories,
        "d_category": np.fromiter((cidx[d.category] for d in dems), dtype=np.int64, count=len(dems)),
        "preferred": (np.asarray(pref_v, dtype=np.int64), np.asarray(pref_d, dtype=np.int64)),
        **given_pairs(problem, vidx, didx),
    }


def given_pairs(problem: Problem, vidx: dict[str, int], didx: dict[str, int]) -> dict[str, tuple[I64, I64]]:
    """The pinned, forbidden and previous pairs as index arrays."""
    return {name: _pairs(problem, name, vidx, didx) for name in ("pinned", "forbidden", "previous")}


def time_values(w_start_us: I64, w_end_us: I64, d_start: I64, d_end: I64) -> I64:
    """Every time value of a problem (µs), sorted, once each: what :func:`time_ranks` ranks against."""
    values: I64 = np.unique(np.concatenate([w_start_us, w_end_us, d_start, d_end]))
    return values


def time_ranks(w_start_us: I64, w_end_us: I64, d_start: I64, d_end: I64) -> dict[str, Any]:
    """Order-preserving ranks of every time value: containment tests stay exact and keys stay small."""
    values = time_values(w_start_us, w_end_us, d_start, d_end)
    return {name: np.searchsorted(values, x).astype(np.int64) for name, x in
            (("w_start", w_start_us), ("w_end", w_end_us), ("d_start_rank", d_start), ("d_end_rank", d_end))}


def build_arrays(problem: Problem) -> ProblemArrays:
    """Convert a validated problem into dense arrays (ids → indices, times → integers)."""
    vols, dems = problem.volunteers, problem.demands
    skills = sorted({s for v in vols for s in v.skills} | {s for d in dems for s in d.required_skills})
    sidx = {s: i for i, s in enumerate(skills)}
    words = max(1, (len(skills) + 63) // 64)
    teams = sorted({v.team_id for v in vols if v.team_id} | {d.team_id for d in dems if d.team_id})
    tidx = {t: i for i, t in enumerate(teams)}
    vrows = volunteer_rows(vols, sidx, words, tidx)
    drows = demand_rows(dems, problem.areas, sidx, words, tidx)
    vidx = {v.id: i for i, v in enumerate(vols)}
    didx = {d.id: i for i, d in enumerate(dems)}
    wide = problem_wide(problem, vidx, didx)
    return with_indexes(ProblemArrays(
        volunteer_ids=list(vidx), demand_ids=list(didx), area_ids=[a.id for a in problem.areas],
        skill_ids=skills, team_ids=teams, **vrows, **drows, **wide,
        **time_ranks(vrows["w_start_us"], vrows["w_end_us"], drows["d_start"], drows["d_end"]),
        **v2_fields(problem, vidx, wide["categories"], drows["d_lat"], drows["d_lon"], vrows["v_max_travel_km"]),
    ), vidx, didx)


V1_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(ProblemArrays) if f.name in {
        "travel", "v_speed_kmh", "v_max_minutes", "v_minutes_cap_us", "v_reach_km", "d_series", "series_ids",
        "d_min_headcount", "rated_out", "v_star_gap", "liked", "v_says_likes"}}
"""The v2 fields of :class:`ProblemArrays` as a v1 problem has them."""


def uses_v2(problem: Problem) -> bool:
    """Whether the problem gives any of SPEC's v2 fields that the engine reads."""
    return (problem.travel is not None or bool(problem.ratings)
            or any(d.series_id is not None or d.min_headcount is not None for d in problem.demands)
            or any(v.preferred_categories for v in problem.volunteers))


def v2_fields(problem: Problem, vidx: dict[str, int], categories: list[str], d_lat: F64, d_lon: F64,
              max_km: F64) -> dict[str, Any]:
    """The v2 fields of :class:`ProblemArrays` (none for a problem that gives no v2 field: a v1 problem)."""
    if not uses_v2(problem):
        return {}
    vols, dems = problem.volunteers, problem.demands
    model = travel_model(problem.travel, d_lat, d_lon)
    default_speed = problem.travel.speed_kmh if problem.travel is not None else 4.5
    speed = np.array([v.speed_kmh or default_speed for v in vols], dtype=np.float64)
    minutes = np.array([np.nan if v.max_travel_minutes is None or model is None else v.max_travel_minutes
                        for v in vols], dtype=np.float64)
    series = sorted({d.series_id for d in dems if d.series_id is not None})
    sidx = {s: i for i, s in enumerate(series)}
    dem_series = {d.id: d.series_id for d in dems}
    poor = sorted({(vidx[r.volunteer_id], sidx[s]) for r in problem.ratings if r.stars <= 2
                   and (s := r.series_id or dem_series.get(r.demand_id or "")) is not None and s in sidx})
    stars: dict[int, list[int]] = {}
    for r in problem.ratings:
        stars.setdefault(vidx[r.volunteer_id], []).append(r.stars)
    gap = np.zeros(len(vols), dtype=np.float64)
    for v, got in stars.items():
        gap[v] = 5.0 - sum(got) / len(got)
    tax = problem.resolved_taxonomy()
    parent = {s.code: c.code for c in tax.categories for s in c.subcategories} if tax else {}
    covers: dict[str, list[int]] = {}  # a category a volunteer may name -> the problem's categories it covers
    for k, c in enumerate(categories):
        for named in {c, parent.get(c, c)}:
            covers.setdefault(named, []).append(k)
    liked = sorted({(i, k) for i, v in enumerate(vols) for c in v.preferred_categories for k in covers.get(c, ())})
    return {
        "travel": model,
        "v_speed_kmh": speed,
        "v_max_minutes": minutes,
        "v_minutes_cap_us": minutes_cap_us(minutes),
        "v_reach_km": reach_km(max_km, minutes, speed, model),
        "d_series": np.array([sidx[d.series_id] if d.series_id is not None else -1 for d in dems], dtype=np.int64),
        "series_ids": tuple(series),
        "d_min_headcount": np.array([d.min_headcount or 0 for d in dems], dtype=np.int64),
        "rated_out": (np.array([a for a, _ in poor], dtype=np.int64), np.array([b for _, b in poor], dtype=np.int64)),
        "v_star_gap": gap,
        "liked": (np.array([a for a, _ in liked], dtype=np.int64), np.array([b for _, b in liked], dtype=np.int64)),
        "v_says_likes": np.array([bool(v.preferred_categories) for v in vols], dtype=bool),
    }


def with_indexes(arr: ProblemArrays, vidx: dict[str, int], didx: dict[str, int]) -> ProblemArrays:
    """``arr`` with its id indexes set to these dicts (already built by the caller), not built again on first use."""
    # a cached_property keeps its value in the instance dict, which a frozen dataclass still has
    arr.__dict__["volunteer_index"] = vidx
    arr.__dict__["demand_index"] = didx
    return arr
