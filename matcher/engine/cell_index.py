"""The index of the candidate search: volunteers by (cell, time slot), and the pair rules that decide each pair.

Volunteers are put in an index keyed by (cell, time slot): a cell is a third of
the search radius, and a volunteer is listed in each slot that one of its merged
availability windows touches. A demand looks up the cells around it that can
reach within the radius (:func:`_neighbour_cells`) in the slot of its start (a
window that contains the demand contains its start), which gives a small
superset of its candidates; exact numpy tests then apply the rules
(:func:`rules_but_time`). No Python loop runs over volunteers x demands; work
is done in chunks of demands so memory stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.rules import in_range, passing, rule, travel_km
from matcher.engine.sorting import stable_order
from matcher.engine.types import EARTH_RADIUS_KM, F64, I64, US_PER_DAY, US_PER_HOUR

__all__ = ["DENSE_KEYS", "CellIndex", "build_index", "query", "rules_but_time", "search_radius_km"]

_SLOT_CHOICES_US = [US_PER_HOUR, 3 * US_PER_HOUR, 6 * US_PER_HOUR, US_PER_DAY, 7 * US_PER_DAY]
_WHO = (rule("missing_skill"), rule("other_team"), rule("not_insured"))
"""The rules of who may serve (the ``skilled`` rung), the one that drops most pairs first (on a district, skills
drop 55% of the pairs near in place and time, teams 15%, insurance 3%)."""
_CAPS = (rule("hours_used"), rule("forbidden"), rule("rated_out"))
"""The single-task hour cap and refusals, tested after the time index (``max_tasks`` 0 is left out up front)."""
_MAX_INDEX_ENTRIES = 8_000_000
_CHUNK_PAIRS = 4_000_000
_CELLS_PER_RADIUS = 3
DENSE_KEYS = 50_000_000
"""Most keys a search's dense tables of run starts hold in all (8 bytes each): beyond, a binary search."""


@dataclass(frozen=True, eq=False)
class CellIndex:
    """One radius bucket's volunteers by (cell, time slot), sorted by key.

    Its entries are availability windows (with time) or volunteers (without); the cells are laid over them and
    the demands searched.
    """

    keys: I64
    """Each entry's key, ``cell * n_slots + slot``, sorted; shape ``(e,)``, int64."""
    ids: I64
    """Each entry's window row (with time) or volunteer row (without), in the order of ``keys``; int64."""
    starts: I64 | None
    """Where each key's run starts in ``keys``, shape ``(s + 1,)``, int64, where every key looked up is below ``s``;
    ``None``: binary search."""
    lat0: float
    lon0: float
    """The corner the cells count from (degrees)."""
    cell_lat: float
    cell_lon: float
    """A cell's size (degrees): a third of how far apart two points within the radius can be."""
    ny: int
    """Cells per row (the longitude axis)."""
    n_slots: int
    slot_us: int
    t0: int
    """Time slots: how many, their length (µs), and the start of the first (µs since the epoch)."""

    def cell(self, lat: F64, lon: F64) -> I64:
        """The cell number of each point (degrees; shape ``(n,)`` float64 in, int64 out)."""
        k = _CELLS_PER_RADIUS
        cx = np.floor((lat - self.lat0) / self.cell_lat).astype(np.int64) + k
        cy = np.floor((lon - self.lon0) / self.cell_lon).astype(np.int64) + k
        out: I64 = cx * self.ny + cy
        return out


def build_index(arr: ProblemArrays, vols: I64, radius_km: float, check_time: bool, over: I64, *,
                dense_keys: int = DENSE_KEYS) -> CellIndex:
    """The index of volunteer rows ``vols`` (shape ``(k,)``, int64), whose search radii are at most ``radius_km``.

    ``check_time``: index their availability windows by (cell, slot), else the volunteers by cell. ``over``:
    every demand row to be searched (the cells are laid over these and ``vols``; a job's demands are a part of
    them, and a demand's own cell, ``inner_only``'s, is then the same in every part).
    """
    lat_all = np.concatenate([arr.v_lat[vols], arr.d_lat[over]])
    lon_all = np.concatenate([arr.v_lon[vols], arr.d_lon[over]])
    lat0, lon0 = float(lat_all.min()), float(lon_all.min())
    lat_reach, lon_reach = _cell_size_deg(radius_km, float(np.abs(lat_all).max()))
    cell_lat, cell_lon = lat_reach / _CELLS_PER_RADIUS, lon_reach / _CELLS_PER_RADIUS
    k = _CELLS_PER_RADIUS
    ny = int((float(lon_all.max()) - lon0) // cell_lon) + 2 * k + 1
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
    else:
        slot_us, t0, n_slots = 1, 0, 1
        ent_id = ent_v = vols
        ent_slot = np.zeros(len(vols), dtype=np.int64)
    ix = CellIndex(np.zeros(0, dtype=np.int64), ent_id, None, lat0, lon0, cell_lat, cell_lon, ny, n_slots, slot_us, t0)
    ent_key = ix.cell(arr.v_lat[ent_v], arr.v_lon[ent_v]) * n_slots + ent_slot
    order = stable_order(ent_key)
    keys = ent_key[order]
    top = int(ix.cell(arr.d_lat[over], arr.d_lon[over]).max(initial=0))
    key_space = max((top + ny * k + k + 1) * n_slots, int(keys.max(initial=0)) + 1)
    starts = None
    if key_space <= dense_keys:
        starts = np.zeros(key_space + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=key_space), out=starts[1:])
    return replace(ix, keys=keys, ids=ent_id[order], starts=starts)  # (ix's cells placed the entries)


def query(arr: ProblemArrays, ix: CellIndex, dem: I64, check_time: bool, inner_only: bool) -> tuple[I64, I64, F64]:
    """The candidate pairs of demand rows ``dem`` with the volunteers of ``ix``.

    Returns volunteer and demand rows (int64) and travel km (float64), each of shape ``(n,)``, unsorted.
    ``check_time`` as in :func:`build_index` (``ix`` must be built with the same); ``inner_only``: search each
    demand's own cell only (a subset of the pairs).
    """
    if check_time:
        d_slot = (arr.d_start[dem] - ix.t0) // ix.slot_us
        # demands starting outside every window's slot range have no candidate
        d_slot = np.where((d_slot >= 0) & (d_slot < ix.n_slots), d_slot, -1)
    else:
        d_slot = np.zeros(len(dem), dtype=np.int64)
    d_cell = ix.cell(arr.d_lat[dem], arr.d_lon[dem])
    cells = [(dx, dy) for dx, dy in _neighbour_cells() if not inner_only or (dx, dy) == (0, 0)]
    offsets = np.array([dx * ix.ny + dy for dx, dy in cells], dtype=np.int64)
    q = (d_cell[:, None] + offsets[None, :]) * ix.n_slots + np.maximum(d_slot, 0)[:, None]
    if ix.starts is not None:
        lo, hi = ix.starts[q], ix.starts[q + 1]
    else:
        lo, hi = np.searchsorted(ix.keys, q, side="left"), np.searchsorted(ix.keys, q, side="right")
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
            v, d, km = _filter(arr, ix.ids[pos], d_rep, check_time)
            out_v.append(v)
            out_d.append(d)
            out_km.append(km)
        start = stop
    if not out_v:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    return np.concatenate(out_v), np.concatenate(out_d), np.concatenate(out_km)


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
    return rules_but_time(arr, v, d, check_time, chord=True)


def rules_but_time(arr: ProblemArrays, v: I64, d: I64, check_caps: bool, chord: bool) -> tuple[I64, I64, F64]:
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
