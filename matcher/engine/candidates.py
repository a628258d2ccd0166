"""Candidate pairs: every (volunteer, demand) allowed by the pair rules (SPEC 1-5 and a single task's caps), vectorised.

The rules themselves are :data:`matcher.engine.rules.PAIR_RULES`; this module
finds the pairs that keep them all without testing volunteers x demands.

Volunteers are put in an index keyed by (grid cell, time slot): a cell is a
third of the search radius, and a volunteer is listed in each slot that one of
its merged availability windows touches. A demand looks up the cells around it
that can reach within the radius (:func:`_neighbour_cells`) in the slot of its
start (a window that contains the demand contains its start), which gives a
small superset of its candidates; exact numpy tests then apply the rules.
No Python loop runs over volunteers x demands; work is done in chunks of
demands so memory stays bounded.

Volunteers are grouped by ``max_travel_km`` (buckets growing by 1.5x) so a
few long-range volunteers do not widen everyone's search.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.engine.arrays import ProblemArrays, distinct_rows, member
from matcher.engine.rules import PAIR_RULES, covers, in_range, passing, rule, travel_km
from matcher.engine.sorting import stable_order
from matcher.engine.types import EARTH_RADIUS_KM, F64, I64, US_PER_DAY, US_PER_HOUR, B

__all__ = ["MIN_PART_DEMANDS", "SKILLED", "WORKERS", "Pairs", "allowed_pairs", "candidate_pairs", "pairs_involving",
           "qualified_counts", "search_radius_km"]

_SLOT_CHOICES_US = [US_PER_HOUR, 3 * US_PER_HOUR, 6 * US_PER_HOUR, US_PER_DAY, 7 * US_PER_DAY]
_WHO = (rule("missing_skill"), rule("other_team"), rule("not_insured"))
"""The rules of who may serve (the ``skilled`` rung), the one that drops most pairs first (on a district, skills
drop 55% of the pairs near in place and time, teams 15%, insurance 3%)."""
_CAPS = (rule("hours_used"), rule("forbidden"), rule("rated_out"))
"""The single-task hour cap and refusals, tested after the time index (``max_tasks`` 0 is left out up front)."""
_MAX_INDEX_ENTRIES = 8_000_000
_CHUNK_PAIRS = 4_000_000
_CELLS_PER_RADIUS = 3
_DENSE_KEYS = 50_000_000
MIN_PART_DEMANDS = 2_000
"""Fewest demands a thread of the candidate search takes on (a smaller part is not worth a thread)."""
WORKERS = 2
"""Threads of the candidate search by default (:func:`candidate_pairs`)."""


@dataclass(frozen=True, eq=False)
class Pairs:
    """Candidate pairs sorted by (volunteer, demand), with their travel in km."""

    v: I64
    d: I64
    km: F64

    def __len__(self) -> int:
        return len(self.v)

    def take(self, mask_or_index: npt.NDArray[np.bool_] | I64) -> Pairs:
        """A subset of the pairs (order kept)."""
        return Pairs(self.v[mask_or_index], self.d[mask_or_index], self.km[mask_or_index])

    def rows_of(self, volunteers: I64) -> I64:
        """Positions of the pairs of these volunteers (distinct, sorted), found by binary search."""
        lo = np.searchsorted(self.v, volunteers, side="left")
        n = np.searchsorted(self.v, volunteers, side="right") - lo
        return np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))

    def contains(self, v: I64, d: I64) -> B:
        """Whether each pair ``(v[i], d[i])`` is one of these (fast when there are few of them)."""
        rows = self.rows_of(np.unique(v))
        key = max(int(self.d.max(initial=0)), int(d.max(initial=0))) + 1  # keys that cannot collide
        return member(v * key + d, self.v[rows] * key + self.d[rows])


def candidate_pairs(
    arr: ProblemArrays,
    demands: I64 | None = None,
    *,
    check_time: bool = True,
    inner_only: bool = False,
    workers: int = WORKERS,
) -> Pairs:
    """All pairs that pass SPEC rules 1-5, plus the capacity a single task needs.

    Parameters
    ----------
    arr
        The problem as arrays.
    demands
        Restrict to these demand indices (default: all).
    check_time
        When False, skip availability, forbidden pairs and capacity (used to
        count who is "skilled and near" for unmet reasons).
    inner_only
        Search only the demand's own cell: a subset of the pairs,
        enough for a cheap lower bound on how many there are.
    workers
        Threads that search at once, each over a part of the demands (numpy lets go of the GIL in the
        big array operations; two threads take a district's search from 1.45 s to 1.10 s, medians on the
        shared 2-core machine). The pairs are the same for any number.

    Returns
    -------
    Pairs
        Sorted by (volunteer, demand), each pair once.

    """
    dem = np.arange(arr.nd, dtype=np.int64) if demands is None else np.asarray(demands, dtype=np.int64)
    usable = np.ones(arr.nv, dtype=bool)
    if check_time:
        # a volunteer who can take no task at all never is a candidate
        usable &= arr.v_max_tasks > 0
    jobs: list[tuple[I64, I64, float]] = []  # (volunteers, demands, radius): a part of the search each
    if len(dem) and usable.any():
        radii = search_radius_km(arr)
        bucket = np.floor(np.log(np.maximum(radii, 1e-3) / 0.25) / math.log(1.5)).astype(np.int64)
        pieces = max(1, min(workers, len(dem) // MIN_PART_DEMANDS))
        for b in np.unique(bucket[usable]):
            vols = np.flatnonzero(usable & (bucket == b))
            jobs += [(vols, part, float(radii[vols].max())) for part in np.array_split(dem, pieces)]

    def search(job: tuple[I64, I64, float]) -> tuple[I64, I64, F64]:
        return _bucket_pairs(arr, job[0], job[1], job[2], check_time, inner_only, dem)

    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(min(workers, len(jobs)), thread_name_prefix="matcher-candidates") as pool:
            parts = list(pool.map(search, jobs))
    else:
        parts = [search(job) for job in jobs]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0))
    v = np.concatenate([p[0] for p in parts])
    d = np.concatenate([p[1] for p in parts])
    km = np.concatenate([p[2] for p in parts])
    order = stable_order(arr.pair_key(v, d))  # (each pair once: the order of lexsort((d, v)))
    return Pairs(v[order], d[order], km[order])


def _bucket_pairs(
    arr: ProblemArrays, vols: I64, dem: I64, radius_km: float, check_time: bool, inner_only: bool, grid: I64
) -> tuple[I64, I64, F64]:
    # the cells are laid over vols and the demands of grid: all the demands searched, of which dem may be a part
    # (a demand's own cell, inner_only's, is then the same in every part)
    lat_all = np.concatenate([arr.v_lat[vols], arr.d_lat[grid]])
    lon_all = np.concatenate([arr.v_lon[vols], arr.d_lon[grid]])
    lat0, lon0 = float(lat_all.min()), float(lon_all.min())
    lat_reach, lon_reach = _cell_size_deg(radius_km, float(np.abs(lat_all).max()))
    cell_lat, cell_lon = lat_reach / _CELLS_PER_RADIUS, lon_reach / _CELLS_PER_RADIUS
    k = _CELLS_PER_RADIUS
    ny = int((float(lon_all.max()) - lon0) // cell_lon) + 2 * k + 1

    def cell(lat: F64, lon: F64) -> I64:
        cx = np.floor((lat - lat0) / cell_lat).astype(np.int64) + k
        cy = np.floor((lon - lon0) / cell_lon).astype(np.int64) + k
        return cx * ny + cy

    # index entries: (cell, slot) -> availability window (with time) or volunteer (without)
    if check_time:
        wins = np.flatnonzero(member(arr.w_vol, vols))
        slot_us, t0, n_slots = _choose_slots(arr, wins)
        s_slot = (arr.w_start_us[wins] - t0) // slot_us
        e_slot = (arr.w_end_us[wins] - t0) // slot_us
        n_per = e_slot - s_slot + 1
        ent_id = np.repeat(wins, n_per)
        ent_v = arr.w_vol[ent_id]
        ent_slot = np.repeat(s_slot - np.cumsum(n_per) + n_per, n_per) + np.arange(int(n_per.sum()))
        d_slot = (arr.d_start[dem] - t0) // slot_us
        # demands starting outside every window's slot range have no candidate
        d_slot = np.where((d_slot >= 0) & (d_slot < n_slots), d_slot, -1)
    else:
        n_slots = 1
        ent_id = ent_v = vols
        ent_slot = np.zeros(len(vols), dtype=np.int64)
        d_slot = np.zeros(len(dem), dtype=np.int64)
    ent_key = cell(arr.v_lat[ent_v], arr.v_lon[ent_v]) * n_slots + ent_slot
    order = stable_order(ent_key)
    keys_sorted, id_sorted = ent_key[order], ent_id[order]

    d_cell = cell(arr.d_lat[dem], arr.d_lon[dem])
    cells = [(dx, dy) for dx, dy in _neighbour_cells() if not inner_only or (dx, dy) == (0, 0)]
    offsets = np.array([dx * ny + dy for dx, dy in cells], dtype=np.int64)
    q = (d_cell[:, None] + offsets[None, :]) * n_slots + np.maximum(d_slot, 0)[:, None]
    lo, hi = _key_ranges(keys_sorted, q, key_space=(int(d_cell.max(initial=0)) + ny * k + k + 1) * n_slots)
    hi = np.where(d_slot[:, None] >= 0, hi, lo)
    counts = (hi - lo).sum(axis=1)

    out_v: list[I64] = []
    out_d: list[I64] = []
    out_km: list[F64] = []
    cum = np.cumsum(counts)
    start = 0
    while start < len(dem):
        base = cum[start - 1] if start else 0
        stop = max(int(np.searchsorted(cum, base + _CHUNK_PAIRS, side="right")), start + 1)
        c_lo, c_hi = lo[start:stop].ravel(), hi[start:stop].ravel()
        n = c_hi - c_lo
        total = int(n.sum())
        if total:
            d_rep = np.repeat(np.repeat(dem[start:stop], offsets.size), n)
            pos = np.repeat(c_lo - np.cumsum(n) + n, n) + np.arange(total)
            v, d, km = _filter(arr, id_sorted[pos], d_rep, check_time)
            out_v.append(v)
            out_d.append(d)
            out_km.append(km)
        start = stop
    if not out_v:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    return np.concatenate(out_v), np.concatenate(out_d), np.concatenate(out_km)


def _key_ranges(keys_sorted: I64, q: I64, key_space: int) -> tuple[I64, I64]:
    """Where each query key's run starts and ends in ``keys_sorted``.

    A dense table of run starts answers by lookup when the key space is small
    enough (the usual case); otherwise binary search.
    """
    key_space = max(key_space, int(keys_sorted.max(initial=0)) + 1, int(q.max(initial=0)) + 1)
    if key_space <= _DENSE_KEYS:
        starts = np.zeros(key_space + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys_sorted, minlength=key_space), out=starts[1:])
        return starts[q], starts[q + 1]
    return np.searchsorted(keys_sorted, q, side="left"), np.searchsorted(keys_sorted, q, side="right")


def _neighbour_cells() -> list[tuple[int, int]]:
    """Cell offsets that can hold a point within reach of a point in cell (0, 0).

    Within reach means inside the ellipse with semi-axes ``_cell_size_deg``
    (``_CELLS_PER_RADIUS`` cells each): by concavity of sine, any pair within the
    haversine radius satisfies ``(dlat/lat_reach)^2 + (dlon/lon_reach)^2 <= 1``.
    A cell qualifies when its nearest corner to cell (0, 0) is inside.
    """
    k = _CELLS_PER_RADIUS
    return [
        (dx, dy)
        for dx in range(-k, k + 1)
        for dy in range(-k, k + 1)
        if max(abs(dx) - 1, 0) ** 2 + max(abs(dy) - 1, 0) ** 2 <= k * k
    ]


def _cell_size_deg(radius_km: float, max_abs_lat: float) -> tuple[float, float]:
    """Largest latitude and longitude differences (degrees) of two points within ``radius_km``."""
    theta = radius_km / EARTH_RADIUS_KM
    cell_lat = math.degrees(theta) * 1.000001 + 1e-12
    cos_max = math.cos(math.radians(min(max_abs_lat, 90.0)))
    arg = math.sin(theta / 2) / cos_max if cos_max > 0 else 2.0
    cell_lon = 2 * math.degrees(math.asin(arg)) * 1.000001 + 1e-12 if arg < 1 else 361.0
    return cell_lat, cell_lon


def _choose_slots(arr: ProblemArrays, wins: I64) -> tuple[int, int, int]:
    """The shortest slot length whose index of these windows stays under the entry budget."""
    ws, we = arr.w_start_us[wins], arr.w_end_us[wins]
    t0 = int(min(ws.min(), arr.d_start.min())) if len(ws) and arr.nd else 0
    t1 = int(max(we.max(), arr.d_start.max())) if len(ws) and arr.nd else 0
    budget = max(_MAX_INDEX_ENTRIES, 4 * len(ws))
    for slot in _SLOT_CHOICES_US:
        entries = int(((we - t0) // slot - (ws - t0) // slot + 1).sum())
        if entries <= budget:
            return slot, t0, (t1 - t0) // slot + 1
    slot = t1 - t0 + 1
    return slot, t0, 1


def _filter(arr: ProblemArrays, ids: I64, d: I64, check_time: bool) -> tuple[I64, I64, F64]:
    """Apply SPEC rules 1-5 exactly to a superset of pairs.

    ``ids`` are availability windows when ``check_time`` (their volunteer is
    ``w_vol``), else volunteers. Merged windows are disjoint, so at most one
    window of a volunteer contains the demand: pairs come out unique.
    """
    if check_time:
        ok = (arr.w_start[ids] <= arr.d_start_rank[d]) & (arr.w_end[ids] >= arr.d_end_rank[d])
        v, d = arr.w_vol[ids[ok]], d[ok]
    else:
        v = ids
    return _rules_but_time(arr, v, d, check_time, chord=True)


def _rules_but_time(arr: ProblemArrays, v: I64, d: I64, check_caps: bool, chord: bool) -> tuple[I64, I64, F64]:
    """The pair rules but availability, with travel in km: who may serve, caps, refusals, then distance.

    The caps and refusals are tested only ``check_caps``.

    ``chord`` first drops pairs by a cheap chord test on the unit sphere (worth it on many pairs; it needs
    the arrays' unit vectors).
    """
    v, d = passing(arr, v, d, _WHO + (_CAPS if check_caps else ()))
    if chord:
        # chord on the unit sphere is monotone in distance: a cheap test with a margin,
        # then the exact haversine decides (SPEC rule 3) on the few that pass
        vu, du = arr.v_unit, arr.d_unit
        chord2 = (vu[v, 0] - du[d, 0]) ** 2 + (vu[v, 1] - du[d, 1]) ** 2 + (vu[v, 2] - du[d, 2]) ** 2
        reach = 2 * np.sin(np.minimum(search_radius_km(arr)[v] / (2 * EARTH_RADIUS_KM), np.pi / 2))
        ok = chord2 <= (reach * 1.001) ** 2 + 1e-15
        v, d = v[ok], d[ok]
    km = travel_km(arr, v, d)
    ok = in_range(arr, v, d, km)
    return v[ok], d[ok], km[ok]


def search_radius_km(arr: ProblemArrays) -> F64:
    """Each volunteer's search radius in straight-line km: ``max_travel_km``, or the reach of its travel minutes.

    Shape ``(nv,)``, float64. With travel (SPEC v2) the radius bounds the trip's straight line
    (:func:`matcher.engine.travel.reach_km`) with a margin of one part in a million, so rounding never hides a
    candidate; rule 3 itself is then decided exactly on minutes.
    """
    if arr.v_reach_km is None:
        return arr.v_max_travel_km
    out: F64 = arr.v_reach_km * (1 + 1e-6)
    return out


SKILLED = tuple(r for r in PAIR_RULES if r.stage == "skilled")
"""The rules of who may serve, in SPEC's order (skills, insurance, team): the top rungs of the unmet ladder."""


def qualified_counts(arr: ProblemArrays, demands: I64) -> I64:
    """For each given demand, how many volunteers pass the first 1, 2, ... of the :data:`SKILLED` rules.

    Any place, any time. Returns shape ``(len(demands), len(SKILLED))``, int64: column ``j`` counts the
    volunteers who keep rules ``0..j`` (holding the skills; and insured where needed; and of the team).
    Demands with the same needs are counted once, and volunteers with the same skills, insurance and team
    (the fields these rules read) are tested once, through one of them, and counted as many times as they are
    (a district: 25,856 profiles of 80,000 volunteers).
    """
    out = np.zeros((len(demands), len(SKILLED)), dtype=np.int64)
    if arr.nv == 0 or len(demands) == 0:
        return out
    sig = np.concatenate(
        [arr.d_skills[demands].view(np.int64), arr.d_insured[demands, None], arr.d_team[demands, None]], axis=1
    )
    first, inverse, _ = distinct_rows(sig)
    profile = np.concatenate([arr.v_skills.view(np.int64), arr.v_insured[:, None], arr.v_team[:, None]], axis=1)
    who, _, many = distinct_rows(profile)
    weight = np.zeros(arr.nv, dtype=np.int64)
    weight[who] = many
    for k, j in enumerate(first.tolist()):
        v, d = who, np.full(len(who), demands[j], dtype=np.int64)
        counts = []
        for skilled in SKILLED:
            v, d = passing(arr, v, d, (skilled,))
            counts.append(int(weight[v].sum()))
        out[inverse == k] = counts
    return out


def pairs_involving(arr: ProblemArrays, volunteers: I64 | None = None, demands: I64 | None = None) -> Pairs:
    """The candidate pairs (as :func:`candidate_pairs`) that involve these volunteers or these demands.

    Each record is tested against everyone on the other side by the rules
    directly, one vectorised pass each: fast for the few records a change
    touches, with no index to build. Sorted by (volunteer, demand), each pair once.
    """
    parts_v: list[I64] = []
    parts_d: list[I64] = []
    for v in np.unique(np.asarray(volunteers if volunteers is not None else [], dtype=np.int64)).tolist():
        parts_v.append(np.full(arr.nd, v, dtype=np.int64))
        parts_d.append(np.arange(arr.nd, dtype=np.int64))
    for d in np.unique(np.asarray(demands if demands is not None else [], dtype=np.int64)).tolist():
        parts_v.append(np.arange(arr.nv, dtype=np.int64))
        parts_d.append(np.full(arr.nv, d, dtype=np.int64))
    if not parts_v:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0))
    v, d, km = allowed_pairs(arr, np.concatenate(parts_v), np.concatenate(parts_d))
    _, first = np.unique(arr.pair_key(v, d), return_index=True)  # sorted, once each (the survivors are few)
    return Pairs(v[first], d[first], km[first])


def allowed_pairs(arr: ProblemArrays, v: I64, d: I64) -> tuple[I64, I64, F64]:
    """The given pairs that pass SPEC rules 1-5 and fit a single task's caps, with their travel in km."""
    ok = arr.v_max_tasks[v] > 0
    v, d, km = _rules_but_time(arr, v[ok], d[ok], check_caps=True, chord=False)
    ok = covers(arr, v, d)
    return v[ok], d[ok], km[ok]
