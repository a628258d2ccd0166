"""Problem → dense integer arrays: the one conversion from ids to indices.

Everything downstream (candidates, solvers, reports) works on these arrays and
turns indices back into ids only when the :class:`~matcher.model.Solution` is
built. Times are integer microseconds since the Unix epoch (exact); hour caps
become integer microseconds by ``floor(max_hours * 3.6e9)``, which makes the
integer test ``sum(durations) <= cap`` equal to SPEC rule 8 in real numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.model import Area, Demand, Problem, Volunteer, utc_timestamp_us

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
U64 = npt.NDArray[np.uint64]

US_PER_HOUR = 3_600_000_000
EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG) used by every haversine distance in matcher."""


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


def unit_vectors(lat: F64, lon: F64) -> F64:
    """Points on the unit sphere (n x 3) for chord-distance tests."""
    p, q = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=1)


def haversine_km(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """Great-circle distance in km between points given in degrees (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: F64 = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


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


def merge_windows(vol: I64, start: I64, end: I64) -> tuple[I64, I64, I64]:
    """Join each volunteer's windows that overlap or touch (SPEC rule 2), vectorised.

    Returns the merged windows sorted by (volunteer, start).
    """
    if len(vol) == 0:
        return vol, start, end
    order = np.lexsort((start, vol))
    vol, start, end = vol[order], start[order], end[order]
    # running max of end within each volunteer: offset by volunteer so one accumulate serves all
    span = int(end.max() - start.min()) + 1
    shifted = (end - start.min()) + vol * span
    run_end = np.maximum.accumulate(shifted) - vol * span + start.min()
    new = np.ones(len(vol), dtype=bool)
    new[1:] = (vol[1:] != vol[:-1]) | (start[1:] > run_end[:-1])
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    m_end = np.zeros(len(first), dtype=np.int64)
    np.maximum.at(m_end, group, end)
    return vol[first], start[first], m_end


def _timestamps_us(values: list[datetime]) -> I64:
    """Microseconds since the epoch, exactly.

    ``datetime.timestamp`` (fast, in C) is a float of seconds: while
    ``|t| < 4e9`` s (before 2096) its error is under 0.25 us, so rounding the
    microseconds gives the exact integer. Otherwise integer arithmetic is used.
    """
    seconds = np.fromiter((v.timestamp() for v in values), dtype=np.float64, count=len(values))
    if len(seconds) and float(np.abs(seconds).max()) >= 4e9:
        return np.fromiter((utc_timestamp_us(v) for v in values), dtype=np.int64, count=len(values))
    return np.rint(seconds * 1e6).astype(np.int64)


def merged_windows_us(vol: I64, start_us: I64, end_us: I64) -> tuple[I64, I64, I64]:
    """:func:`merge_windows` on times in microseconds (merged on their ranks, which keeps the sums small)."""
    values = np.unique(np.concatenate([start_us, end_us]))
    vol, s, e = merge_windows(vol, np.searchsorted(values, start_us), np.searchsorted(values, end_us))
    return vol, values[s], values[e]


def volunteer_rows(vols: Sequence[Volunteer], sidx: dict[str, int], words: int,
                    tidx: dict[str, int]) -> dict[str, Any]:
    """The volunteer fields of :class:`ProblemArrays` for these records (``w_vol`` numbers them from 0)."""
    windows = [w for v in vols for w in v.availability]
    w_vol = np.repeat(np.arange(len(vols), dtype=np.int64), [len(v.availability) for v in vols])
    w_vol, w_s, w_e = merged_windows_us(w_vol, _timestamps_us([w.start for w in windows]),
                                        _timestamps_us([w.end for w in windows]))
    hours = np.array([v.max_hours for v in vols], dtype=np.float64)
    return {
        "v_lat": np.array([v.lat for v in vols], dtype=np.float64),
        "v_lon": np.array([v.lon for v in vols], dtype=np.float64),
        "v_skills": _bitsets([v.skills for v in vols], sidx, words),
        "v_max_tasks": np.array([v.max_tasks for v in vols], dtype=np.int64),
        "v_hours_cap_us": np.floor(hours * US_PER_HOUR).astype(np.int64),
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
        "d_start": _timestamps_us([d.start for d in dems]),
        "d_end": _timestamps_us([d.end for d in dems]),
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


def time_ranks(w_start_us: I64, w_end_us: I64, d_start: I64, d_end: I64) -> dict[str, Any]:
    """Order-preserving ranks of every time value: containment tests stay exact and keys stay small."""
    values = np.unique(np.concatenate([w_start_us, w_end_us, d_start, d_end]))
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
    return with_indexes(ProblemArrays(
        volunteer_ids=list(vidx), demand_ids=list(didx), area_ids=[a.id for a in problem.areas],
        skill_ids=skills, team_ids=teams, **vrows, **drows, **problem_wide(problem, vidx, didx),
        **time_ranks(vrows["w_start_us"], vrows["w_end_us"], drows["d_start"], drows["d_end"]),
    ), vidx, didx)


def with_indexes(arr: ProblemArrays, vidx: dict[str, int], didx: dict[str, int]) -> ProblemArrays:
    """``arr`` with its id indexes set to these dicts (already built by the caller), not built again on first use."""
    # a cached_property keeps its value in the instance dict, which a frozen dataclass still has
    arr.__dict__["volunteer_index"] = vidx
    arr.__dict__["demand_index"] = didx
    return arr
