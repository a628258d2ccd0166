"""Why every unmet order is unmet, all at once: :func:`~matcher.dispatch.explain_demand`'s answer from the arrays.

``explain_demand`` looks at one demand: every volunteer within twice their own
travel range, each tested against the rules in Python. On a district that is
about 15,000 volunteers and 0.2 s per demand, so half an hour for 8,000 unmet
orders. :func:`explain_unmet` gives, for every demand with unmet seats, the
same two things a report needs:

- ``counts``: how many near volunteers each reason kept off (``near_by_reason``),
  all of them;
- ``notes``: the first ``k`` near volunteers in ``explain_demand``'s order (the
  assigned left out: the report lists them as "filled by"), with their
  distance, reason and the demands that took their capacity.

How, without testing every near volunteer one by one. A volunteer is near a
demand when the great-circle distance is at most ``NEAR_FACTOR`` times their
``max_travel_km``. The first rule a near volunteer breaks is, in SPEC's order,
a missing skill, then availability; so ``missing_skill = near - skilled near``
and ``not_available = skilled near - skilled near available``. The first two
are *counted* without listing anyone: volunteers are grouped by their range,
and a :class:`~matcher.workflows.near_count.ReachGrid` per group counts those
that reach each demand. Only the last set is listed (a volunteer is free for
few windows): per distinct demand window and set of skills, its demands
against the volunteers who hold the skills and are free then, by dot products
of unit vectors. The rest of the rule table
(:data:`matcher.engine.rules.PAIR_RULES`) and the capacity tests run on it as
arrays. Notes of the two counted reasons come from k-d trees (scipy), asked
for the nearest few, then more, until enough are found.

On the district preset (80,000 volunteers, 8,000 unmet orders) this takes
2.5 to 3.5 s of CPU (medians on a shared machine), against about 0.2 s per order for ``explain_demand``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.dispatch.explain import NEAR_FACTOR, NOTE_ORDER, Exclusion
from matcher.engine.arrays import ProblemArrays
from matcher.engine.cell_index import search_radius_km
from matcher.engine.geometry import haversine_km
from matcher.engine.rules import PAIR_RULES, covers
from matcher.engine.sequencing import travel_between_us
from matcher.engine.types import EARTH_RADIUS_KM, F64, I64, U64, B
from matcher.workflows.near_count import ReachGrid

__all__ = ["EXCLUSIONS", "NOTES_PER_DEMAND", "UnmetNotes", "explain_unmet"]

EXCLUSIONS: tuple[Exclusion, ...] = tuple(Exclusion)
"""Column order of :attr:`UnmetNotes.counts`, and what :attr:`UnmetNotes.reason` indexes."""
NOTES_PER_DEMAND = 5
"""Near volunteers listed per unmet demand by default."""

_RANK_ORDER = list(NOTE_ORDER)
_X = {e: i for i, e in enumerate(EXCLUSIONS)}
_RANK = np.array([_RANK_ORDER.index(e) for e in EXCLUSIONS], dtype=np.int64)
_EXACT_CLASSES = 16
"""With at most this many distinct travel ranges, each range is counted on its own grid (else bands of ranges)."""


@dataclass(frozen=True)
class UnmetNotes:
    """Near volunteers of each demand with unmet seats, by reason; and the first few of them, as notes.

    Rows are indices of the :class:`~matcher.engine.arrays.ProblemArrays` the
    notes were made from. Notes are sorted by demand, then as
    ``explain_demand`` lists them (reason rank, distance, volunteer id).
    """

    demands: I64
    """Demand rows with unmet seats, sorted; shape ``(m,)``."""
    counts: I64
    """Near volunteers per demand and reason: shape ``(m, len(EXCLUSIONS))``."""
    note_of: I64
    """For each note, its demand as a position in :attr:`demands`; shape ``(n,)``."""
    volunteer: I64
    """Volunteer row of each note."""
    km: F64
    """Great-circle km from the volunteer's home to the demand."""
    reason: I64
    """Index into :data:`EXCLUSIONS`."""
    taken_start: I64
    """Shape ``(n + 1,)``: note i's capacity went to demand rows ``taken[taken_start[i]:taken_start[i + 1]]``."""
    taken: I64


def _chord(km: float) -> float:
    """Chord length on the unit sphere of a great-circle distance in km."""
    return 2.0 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2.0)


def _bands(arr: ProblemArrays, vols: I64) -> list[I64]:
    """``vols`` by travel range: one group per distinct range, or per band of ranges when there are many."""
    reach = search_radius_km(arr)[vols]
    values = np.unique(reach)
    if len(values) <= _EXACT_CLASSES:
        band = np.searchsorted(values, reach)
    else:  # bands holding about as many ranges each
        band = np.searchsorted(np.quantile(values, np.linspace(0, 1, _EXACT_CLASSES + 1)[1:-1]), reach)
    return [vols[band == b] for b in np.unique(band)]


class _Near:
    """One group of volunteers, for counting (:class:`ReachGrid`) and nearest queries (a k-d tree, built on demand)."""

    def __init__(self, arr: ProblemArrays, vols: I64) -> None:
        self.arr, self.vols = arr, vols
        self.reach_km = float(NEAR_FACTOR * search_radius_km(arr)[vols].max()) if len(vols) else 0.0
        self._tree: Any = None

    def count(self, dems: I64) -> I64:
        """How many of the volunteers are near each demand row of ``dems``."""
        if len(self.vols) == 0 or len(dems) == 0:
            return np.zeros(len(dems), dtype=np.int64)
        arr = self.arr
        grid = ReachGrid(arr.v_lat[self.vols], arr.v_lon[self.vols], NEAR_FACTOR * search_radius_km(arr)[self.vols])
        return grid.count(arr.d_lat[dems], arr.d_lon[dems])

    @property
    def tree(self) -> Any:
        """A k-d tree (scipy's, imported here: half a second) of the volunteers' unit vectors."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.arr.v_unit[self.vols])
        return self._tree


def _groups(arr: ProblemArrays, vols: I64) -> list[_Near]:
    return [_Near(arr, b) for b in _bands(arr, vols)]


def _holders(arr: ProblemArrays, need: U64) -> I64:
    """Volunteer rows holding every skill of the bitset ``need``."""
    return np.flatnonzero(((arr.v_skills & need) == need).all(axis=1)).astype(np.int64)


def _skilled(arr: ProblemArrays, v: I64, d: I64) -> B:
    ok: B = ((arr.v_skills[v] & arr.d_skills[d]) == arr.d_skills[d]).all(axis=1)
    return ok


def _nearest_where(c: _Near, dems: I64, need: I64, keep: Callable[[I64, I64], B]) -> tuple[I64, I64, F64]:
    """Up to ``need[i]`` nearest near volunteers of ``c`` for demand ``dems[i]`` that ``keep`` accepts.

    Asks the tree for the nearest few and widens (x4) for the demands that
    have not found enough yet while volunteers remain within reach.
    """
    arr = c.arr
    out_v, out_d, out_km = [], [], []
    todo = np.flatnonzero(need > 0)
    k = int(min(len(c.vols), need.max(initial=0) + 8))
    radius = _chord(c.reach_km) * (1 + 1e-9)
    while len(todo) and k > 0:
        dist, idx = c.tree.query(arr.d_unit[dems[todo]], k=k, distance_upper_bound=radius)
        dist, idx = dist.reshape(len(todo), -1), idx.reshape(len(todo), -1)
        rr, cc = np.nonzero(idx < len(c.vols))
        v, d = c.vols[idx[rr, cc]], dems[todo[rr]]
        km = haversine_km(arr.v_lat[v], arr.v_lon[v], arr.d_lat[d], arr.d_lon[d])
        ok = km <= NEAR_FACTOR * search_radius_km(arr)[v]
        ok[ok] = keep(v[ok], d[ok])
        rr, v, d, km = rr[ok], v[ok], d[ok], km[ok]
        nth = np.arange(len(rr)) - np.searchsorted(rr, rr)  # place among the row's accepted ones
        found = np.bincount(rr, minlength=len(todo))
        done = (found >= need[todo]) | np.isinf(dist[:, -1]) | (k >= len(c.vols))
        take = (nth < need[todo[rr]]) & done[rr]  # the rest ask again with a larger k
        out_v.append(v[take])
        out_d.append(d[take])
        out_km.append(km[take])
        todo, k = todo[~done], int(min(len(c.vols), 4 * k))
    if not out_v:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    return np.concatenate(out_v), np.concatenate(out_d), np.concatenate(out_km)


def _available_near(arr: ProblemArrays, dems: I64, needs: U64, need_of: I64) -> tuple[I64, I64, F64]:
    """Skilled, near and available pairs, with their km.

    Per distinct demand window and set of skills: its demands against the
    volunteers who hold the skills and whose availability holds the window.
    ``needs[need_of[i]]`` is demand ``dems[i]``'s skill bitset.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(dems) == 0 or len(arr.w_vol) == 0:
        return empty, empty.copy(), np.zeros(0)
    # distinct windows (by time rank) and, for each, the volunteers whose merged availability holds it
    span = int(arr.d_end_rank.max(initial=0)) + 1
    keys, group = np.unique(arr.d_start_rank[dems] * span + arr.d_end_rank[dems], return_inverse=True)
    group = group.reshape(-1)
    ws, we = keys // span, keys % span  # sorted by start
    lo = np.searchsorted(ws, arr.w_start, side="left")
    n = np.searchsorted(ws, arr.w_end, side="right") - lo
    win = np.repeat(np.arange(len(arr.w_vol)), n)
    g = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    ok = we[g] <= arr.w_end[win]
    g, vol = g[ok], arr.w_vol[win[ok]]
    by_group = np.argsort(g.astype(np.int32) if len(keys) < 2**31 else g, kind="stable")
    g, vol = g[by_group], vol[by_group]
    vol_start = np.searchsorted(g, np.arange(len(keys) + 1))
    dem_order = np.lexsort((need_of, group))
    dem_start = np.searchsorted(group[dem_order], np.arange(len(keys) + 1))
    holds = [((arr.v_skills & need) == need).all(axis=1) for need in needs]
    cos_reach = np.cos(np.minimum(NEAR_FACTOR * search_radius_km(arr) / EARTH_RADIUS_KM, math.pi))
    parts: list[tuple[I64, I64]] = []
    for k in range(len(keys)):
        free = vol[vol_start[k]:vol_start[k + 1]]
        mine = dem_order[dem_start[k]:dem_start[k + 1]]
        if len(free) == 0:
            continue
        cut = np.flatnonzero(np.diff(need_of[mine])) + 1
        for part in np.split(mine, cut):
            vols = free[holds[int(need_of[part[0]])][free]]
            # cos of the angle between home and demand against cos of the reach (the boundary is tested exactly below)
            i, j = np.nonzero(arr.d_unit[dems[part]] @ arr.v_unit[vols].T >= cos_reach[vols][None, :] - 1e-12)
            parts.append((vols[j], dems[part][i]))
    if not parts:
        return empty, empty.copy(), np.zeros(0)
    v, d = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    km = haversine_km(arr.v_lat[v], arr.v_lon[v], arr.d_lat[d], arr.d_lon[d])
    near = km <= NEAR_FACTOR * search_radius_km(arr)[v]
    return v[near], d[near], km[near]


def _reasons(arr: ProblemArrays, v: I64, d: I64, tasks: tuple[I64, I64]) -> tuple[I64, I64, I64]:
    """Each skilled, near, available pair's reason (an :data:`EXCLUSIONS` index), and who took its capacity.

    Returns ``(reason, taken_start, taken)`` with ``taken`` flattened as in :class:`UnmetNotes`.
    """
    reason = np.full(len(v), -1, dtype=np.int64)
    for r in PAIR_RULES:  # skills and availability hold by construction; the rest in SPEC's order
        if r.code in ("missing_skill", "not_available"):
            continue
        bad = reason < 0
        bad[bad] = ~r.vector(arr, v[bad], d[bad])
        reason[bad] = _X[Exclusion(r.code)]
    tv, td = tasks
    first = np.searchsorted(tv, v, side="left")
    n = np.searchsorted(tv, v, side="right") - first
    rep = np.repeat(np.arange(len(v)), n)
    t = td[np.repeat(first, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)]
    mine = t == d[rep]
    assigned = np.bincount(rep[mine], minlength=len(v)) > 0
    clash = (arr.d_start[t] < arr.d_end[d[rep]]) & (arr.d_start[d[rep]] < arr.d_end[t]) & ~mine
    busy = np.bincount(rep[clash], minlength=len(v)) > 0
    late = _no_time(arr, v[rep], t, d[rep]) & ~clash & ~mine  # rule 7b: the first such task is named
    first_late = np.full(len(v), len(rep), dtype=np.int64)
    np.minimum.at(first_late, rep[late], np.flatnonzero(late))
    late = np.zeros(len(rep), dtype=bool)
    late[first_late[first_late < len(rep)]] = True
    travel = np.bincount(rep[late], minlength=len(v)) > 0
    full = n >= arr.v_max_tasks[v]
    used = np.bincount(rep, weights=arr.d_duration_us[t], minlength=len(v)).astype(np.int64)
    hours = used + arr.d_duration_us[d] > arr.v_hours_cap_us[v]
    free = reason < 0
    reason[free] = np.select([busy[free], travel[free], full[free], hours[free]],
                             [_X[Exclusion.BUSY], _X[Exclusion.NO_TIME_TO_TRAVEL], _X[Exclusion.TASKS_USED],
                              _X[Exclusion.HOURS_USED]], _X[Exclusion.FREE])
    reason[assigned] = _X[Exclusion.ASSIGNED]
    capacity = np.isin(reason, [_X[Exclusion.TASKS_USED], _X[Exclusion.HOURS_USED]]) & free
    show = np.select([reason[rep] == _X[Exclusion.BUSY], reason[rep] == _X[Exclusion.NO_TIME_TO_TRAVEL]],
                     [clash, late], capacity[rep])
    taken_start = np.concatenate([[0], np.cumsum(np.bincount(rep[show], minlength=len(v)))]).astype(np.int64)
    return reason, taken_start, t[show].astype(np.int64)


def _no_time(arr: ProblemArrays, v: I64, t: I64, d: I64) -> B:
    """Whether volunteer ``v`` holding task ``t`` lacks the time to travel between it and demand ``d`` (rule 7b)."""
    out = np.zeros(len(v), dtype=bool)
    if arr.travel is None or len(v) == 0:
        return out
    before = arr.d_end[t] <= arr.d_start[d]
    after = arr.d_end[d] <= arr.d_start[t]
    first, then = np.where(before, t, d), np.where(before, d, t)
    apart = before | after
    gap = arr.d_start[then] - arr.d_end[first]
    out[apart] = gap[apart] < travel_between_us(arr, v[apart], first[apart], then[apart])
    return out


def explain_unmet(arr: ProblemArrays, task_v: I64, task_d: I64, demands: I64, *,
                  k: int = NOTES_PER_DEMAND, bare: I64 | None = None) -> UnmetNotes:
    """Near volunteers by reason, and the first ``k`` notes, for each of ``demands`` (rows of ``arr``).

    ``task_v[i]``, ``task_d[i]`` are the plan's assignments as rows of ``arr``.
    The counts and notes equal ``explain_demand``'s ``near_by_reason`` and its
    first ``k`` candidates other than the assigned (tests hold them to it).
    ``bare``: demands (of ``demands``) listed with no count and no note: those the candidate search did not
    reach (``not_searched``), whose reason says it all, and which would cost the most (their near volunteers are
    all free). Time: 2.5 to 3.5 s of CPU for the 8,000 unmet orders of a district (80,000 volunteers).
    """
    every = np.unique(np.asarray(demands, dtype=np.int64))
    if bare is None or len(bare) == 0:
        return _explain(arr, task_v, task_d, every, k)
    got = _explain(arr, task_v, task_d, np.setdiff1d(every, bare), k)
    counts = np.zeros((len(every), len(EXCLUSIONS)), dtype=np.int64)
    at = np.searchsorted(every, got.demands)
    counts[at] = got.counts
    return UnmetNotes(demands=every, counts=counts, note_of=at[got.note_of], volunteer=got.volunteer, km=got.km,
                      reason=got.reason, taken_start=got.taken_start, taken=got.taken)


def _explain(arr: ProblemArrays, task_v: I64, task_d: I64, dems: I64, k: int) -> UnmetNotes:
    """:func:`explain_unmet` of the demand rows ``dems`` (sorted, distinct), every one explained."""
    m = len(dems)
    everyone = _groups(arr, np.arange(arr.nv, dtype=np.int64))
    near = sum((c.count(dems) for c in everyone), np.zeros(m, dtype=np.int64))
    # the skilled near, per distinct set of required skills
    needs, need_of = np.unique(arr.d_skills[dems], axis=0, return_inverse=True)
    need_of = need_of.reshape(-1)
    holders: list[list[_Near]] = []
    skilled = near.copy()
    for g, need in enumerate(needs):
        rows = np.flatnonzero(need_of == g)
        holders.append(_groups(arr, _holders(arr, need)) if need.any() else everyone)
        if need.any():
            skilled[rows] = sum((c.count(dems[rows]) for c in holders[g]), np.zeros(len(rows), dtype=np.int64))
    # the skilled, near and available, each with its reason
    by_volunteer = np.argsort(task_v, kind="stable")
    v, d, km = _available_near(arr, dems, needs, need_of)
    reason, taken_start, taken = _reasons(arr, v, d, (task_v[by_volunteer], task_d[by_volunteer]))
    at = np.searchsorted(dems, d)
    counts = np.zeros((m, len(EXCLUSIONS)), dtype=np.int64)
    np.add.at(counts, (at, reason), 1)
    counts[:, _X[Exclusion.MISSING_SKILL]] = near - skilled
    counts[:, _X[Exclusion.NOT_AVAILABLE]] = np.maximum(skilled - np.bincount(at, minlength=m), 0)
    # notes: the listed pairs, then the nearest not available, then the nearest without the skills
    listed = reason != _X[Exclusion.ASSIGNED]
    notes = _Notes()
    notes.add(v[listed], d[listed], km[listed], reason[listed], np.flatnonzero(listed))
    ahead = counts[:, [_X[e] for e in _RANK_ORDER[1:_RANK_ORDER.index(Exclusion.NOT_AVAILABLE)]]].sum(axis=1)
    want = np.minimum(np.maximum(k - ahead, 0), counts[:, _X[Exclusion.NOT_AVAILABLE]])
    for g in range(len(needs)):
        rows = np.flatnonzero((need_of == g) & (want > 0))
        for c in holders[g] if len(rows) else []:
            notes.add(*_nearest_where(c, dems[rows], want[rows], lambda a, b: ~covers(arr, a, b)),
                      reason=_X[Exclusion.NOT_AVAILABLE])
    ahead = counts.sum(axis=1) - counts[:, _X[Exclusion.MISSING_SKILL]] - counts[:, _X[Exclusion.ASSIGNED]]
    want = np.minimum(np.maximum(k - ahead, 0), counts[:, _X[Exclusion.MISSING_SKILL]])
    rows = np.flatnonzero(want > 0)
    for c in everyone if len(rows) else []:
        notes.add(*_nearest_where(c, dems[rows], want[rows], lambda a, b: ~_skilled(arr, a, b)),
                  reason=_X[Exclusion.MISSING_SKILL])
    return notes.first(arr, dems, k, counts, taken_start, taken)


class _Notes:
    """Note candidates gathered in parts; :meth:`first` keeps each demand's first ``k`` in explain's order."""

    def __init__(self) -> None:
        self.parts: list[tuple[I64, I64, F64, I64, I64]] = []

    def add(self, v: I64, d: I64, km: F64, reason: I64 | int, source: I64 | None = None) -> None:
        """Candidates ``(v[i], d[i])``; ``source`` indexes the listed pairs (for who took the capacity), else -1."""
        n = len(v)
        self.parts.append((v, d, km, np.broadcast_to(np.asarray(reason, dtype=np.int64), (n,)),
                           np.full(n, -1, dtype=np.int64) if source is None else source))

    def first(self, arr: ProblemArrays, dems: I64, k: int, counts: I64, taken_start: I64,
              taken: I64) -> UnmetNotes:
        nv, nd, nkm, nr, src = (np.concatenate([p[i] for p in self.parts]) for i in range(5))
        pos = np.searchsorted(dems, nd)
        order = np.lexsort((_id_ranks(arr)[nv], nkm, _RANK[nr], pos))
        nth = np.arange(len(order)) - np.searchsorted(pos[order], pos[order])
        order = order[nth < k]
        src = src[order]
        first = taken_start[np.maximum(src, 0)]
        lens = np.where(src >= 0, taken_start[np.maximum(src, 0) + 1] - first, 0)
        starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        idx = np.repeat(first - starts[:-1], lens) + np.arange(int(lens.sum()))
        return UnmetNotes(demands=dems, counts=counts, note_of=pos[order], volunteer=nv[order], km=nkm[order],
                          reason=nr[order], taken_start=starts, taken=taken[idx].astype(np.int64))


def _id_ranks(arr: ProblemArrays) -> I64:
    """Each volunteer row's place in id order (``explain_demand`` breaks distance ties by id)."""
    ranks = np.empty(arr.nv, dtype=np.int64)
    ranks[np.argsort(np.array(arr.volunteer_ids, dtype=object), kind="stable")] = np.arange(arr.nv)
    return ranks
