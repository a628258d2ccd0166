"""SPEC v2's plan rules between tasks: travel time between consecutive tasks (7b) and crews (11).

**Rule 7b.** With ``Problem.travel`` given, a volunteer's later task starts no
earlier than the earlier one ends plus the trip between their places at the
volunteer's speed (:mod:`matcher.engine.travel`, whole microseconds rounded
up). The rule is checked on *every* pair of a volunteer's tasks that do not
overlap in time (overlapping ones break rule 7), not only on consecutive ones:
with exact trips the triangle inequality makes the two the same, and checking
all pairs keeps that true after rounding. :func:`sequence_conflicts` finds the
pairs that break it among any set of (volunteer, demand) pairs: a plan's tasks
(the plan check) or a region's candidate pairs (a CP-SAT model's rows).

**Rule 11.** A demand with ``min_headcount`` gets nobody or at least that many
(:func:`crew_shortfalls`).

:func:`settle` drops tasks until a plan keeps both rules (a plan that keeps
rules 1-10 stays feasible when tasks are dropped, except for pinned crews);
:class:`Sequencer` is the same test of two tasks for the greedy's Python loops.
"""

from __future__ import annotations

import numpy as np

from matcher.engine.arrays import ProblemArrays
from matcher.engine.sorting import stable_order_by
from matcher.engine.travel import minutes_to_us
from matcher.engine.types import I64, US_PER_MINUTE, B

__all__ = ["CLIQUE_END_STEPS", "Sequencer", "clique_ends", "crew_shortfalls", "longest_trip_us", "sequence_conflicts",
           "settle", "travel_between_us"]

CLIQUE_END_STEPS = 32
"""How many of a task's later tasks :func:`clique_ends` tests, in start order. District, v2 world: of the
candidate pairs' 2.8 million rule 7b conflicts, 82.3% fall inside the stretched intervals with 32 (all that
stop short of the first later task that does not clash), 81.1% with 16, 61.8% with 8, in 0.8-1.1 s. At
``--time-limit 20`` the gap was 0.15% with 32, 0.24-0.34% with 16, 0.52-0.61% with 8, 0.70-0.81% with 4."""


def travel_between_us(arr: ProblemArrays, v: I64, d1: I64, d2: I64) -> I64:
    """Trip time from demand ``d1``'s place to ``d2``'s at volunteer ``v``'s speed, whole µs rounded up.

    Arrays of one length in, int64 out; zeros without travel (SPEC v1: tasks may touch).
    """
    if arr.travel is None or arr.v_speed_kmh is None:
        return np.zeros(len(v), dtype=np.int64)
    return minutes_to_us(arr.travel.between_minutes(d1, d2, arr.v_speed_kmh[v]))


def longest_trip_us(arr: ProblemArrays) -> int:
    """An upper bound (µs) on any trip between two demands by the slowest volunteer; 0 without travel."""
    if arr.travel is None or arr.v_speed_kmh is None or arr.nv == 0:
        return 0
    slowest = float(arr.v_speed_kmh.min())
    return int(np.ceil(arr.travel.longest_minutes(slowest) * US_PER_MINUTE)) + 1


def sequence_conflicts(arr: ProblemArrays, v: I64, d: I64) -> tuple[I64, I64]:
    """Pairs of tasks ``(v[i], d[i])``, ``(v[j], d[j])`` of one volunteer that break rule 7b.

    Task ``i`` ends no later than task ``j`` starts (they do not overlap), but the gap is shorter than the
    trip from ``d[i]``'s place to ``d[j]``'s. Returns ``(i, j)`` as int64 index arrays into ``v``/``d``
    (empty without travel). Works by offsets in (volunteer, start) order, as
    :func:`matcher.engine.intervals.max_clique_rows` does: step ``k`` compares every task with the task
    ``k`` places later, and a task drops out once the next ones start too late for any trip to matter.
    """
    empty = np.zeros(0, dtype=np.int64)
    n = len(v)
    if arr.travel is None or n < 2:
        return empty, empty.copy()
    order = stable_order_by(arr.d_start_rank[d], v)  # (ranks order as the times do)
    vo, do = v[order], d[order]
    so, eo = arr.d_start[do], arr.d_end[do]
    trip = longest_trip_us(arr)
    horizon = int((eo - so).max()) + trip
    out_i, out_j = [], []
    act = np.arange(n - 1, dtype=np.int64)
    k = 1
    while len(act):
        j = act + k
        act, j = act[j < n], j[j < n]
        near = (vo[j] == vo[act]) & (so[j] - so[act] < horizon)
        act, j = act[near], j[near]
        gap = so[j] - eo[act]
        test = (gap >= 0) & (gap < trip)
        ti, tj = act[test], j[test]
        if len(ti):
            bad = gap[test] < travel_between_us(arr, vo[ti], do[ti], do[tj])
            out_i.append(ti[bad])
            out_j.append(tj[bad])
        k += 1
    if not out_i:
        return empty, empty.copy()
    return order[np.concatenate(out_i)], order[np.concatenate(out_j)]


def clique_ends(arr: ProblemArrays, v: I64, d: I64, steps: int = CLIQUE_END_STEPS, only: I64 | None = None) -> I64:
    """Ends ``E >= d_end`` that stretch each task over the time in which its volunteer's later tasks clash with it.

    For task ``(v[i], d[i])``, every task of ``v[i]`` starting in ``[d_start, E[i])`` clashes with it (rule 7,
    or 7b). Returns int64 µs, the shape of ``v``.

    Among one volunteer's tasks, intervals ``[d_start, E)`` that share a point then pairwise clash: of two such
    tasks ``a``, ``b`` with ``a`` starting first, ``b`` starts before ``E[a]``, so it overlaps ``a`` or starts
    after ``a`` ends too soon for the trip. So a set of them containing one point is a clique of the clash
    graph, and the LP's no-overlap rows over these intervals (:mod:`matcher.engine.sifting`) hold rule 7b
    where their own rule 7 held before: a volunteer's back-to-back tasks in two places take one row, not a cut.

    ``E[i]`` is where the first later task that does *not* clash starts (at most ``d_end`` plus the longest
    trip), found among the ``steps`` first tasks starting at or after ``d_end``; past them, the start of the
    next (never below ``d_end``). Without travel ``E = d_end`` (SPEC v1: touching tasks do not clash).

    ``only`` (int64 indices into ``v``/``d``) asks for those tasks' ends alone, ``E[only]``: the same values, each
    still tested against all of its volunteer's tasks, for the cost of the sort and of these tasks' steps (the
    sifting LP's first rows, 4% of the district's pairs, while the rest are computed beside its first round).
    """
    end = arr.d_end[d]
    n = len(v)
    if arr.travel is None or n < 2:
        return end.copy() if only is None else end[only]
    order = stable_order_by(arr.d_start_rank[d], v)
    vo, do = v[order], d[order]
    so, eo = arr.d_start[do], arr.d_end[do]
    span = int(max(int(arr.d_end_rank.max()), int(arr.d_start_rank.max()))) + 1
    key = vo * span + arr.d_start_rank[do]  # sorted
    after = np.searchsorted(key, vo * span + arr.d_end_rank[do], side="left")  # the first task starting at d_end
    last = np.searchsorted(vo, vo, side="right")  # past the volunteer's last task
    out = eo + longest_trip_us(arr)
    if only is None:
        act = np.flatnonzero(after < last)
    else:
        at = np.empty(n, dtype=np.int64)
        at[order] = np.arange(n, dtype=np.int64)
        at = at[only]  # each asked task's place in (volunteer, start) order
        act = at[after[at] < last[at]]
    for k in range(steps + 1):
        j = after[act] + k
        keep = (j < last[act]) & (so[np.minimum(j, n - 1)] < out[act])
        act, j = act[keep], j[keep]
        if k == steps:  # the tasks tested all clash: stop where the untested ones begin
            out[act] = so[j]
            break
        free = so[j] - eo[act] >= travel_between_us(arr, vo[act], do[act], do[j])
        out[act[free]] = so[j[free]]
        act = act[~free]
    if only is not None:
        return out[at]
    result = np.empty(n, dtype=np.int64)
    result[order] = out
    return result


def crew_shortfalls(arr: ProblemArrays, d: I64) -> I64:
    """Demand rows that a plan with tasks on demands ``d`` staffs with some, but fewer than ``min_headcount``."""
    if arr.d_min_headcount is None:
        return np.zeros(0, dtype=np.int64)
    count = np.bincount(d, minlength=arr.nd)
    return np.flatnonzero((count > 0) & (count < arr.d_min_headcount))


def settle(arr: ProblemArrays, v: I64, d: I64, value: I64, fixed: B | None = None) -> B:
    """Which tasks to keep so that the plan ``(v, d)`` keeps rules 7b and 11: a keep mask over the tasks.

    For each pair breaking rule 7b the task of lower ``value`` (int64 per task; ties: the later row) is
    dropped, until none is left; then every crew short of its minimum is dropped whole. ``fixed`` tasks
    (pinned) are never dropped; a crew they hold stays. The result keeps rules 1-10 when the plan did.
    """
    keep = np.ones(len(v), dtype=bool)
    fixed = np.zeros(len(v), dtype=bool) if fixed is None else fixed
    rows = np.arange(len(v))
    while True:
        i, j = sequence_conflicts(arr, v[keep], d[keep])
        if len(i) == 0:
            break
        live = rows[keep]
        i, j = live[i], live[j]
        drop_i = (value[i] < value[j]) | ((value[i] == value[j]) & (i > j))
        drop = np.where(fixed[i] | (drop_i & ~fixed[j]), j, i)
        drop = drop[~fixed[drop]]
        if len(drop) == 0:  # two pinned tasks conflict: the pinned check reports it
            break
        keep[np.unique(drop)] = False
    short = crew_shortfalls(arr, d[keep])
    if len(short):
        held = np.zeros(arr.nd, dtype=bool)
        held[d[fixed]] = True
        gone = np.zeros(arr.nd, dtype=bool)
        gone[short[~held[short]]] = True
        keep &= ~gone[d]
    return keep


class Sequencer:
    """Rule 7 and 7b between two tasks of one volunteer, for Python loops over pairs (the greedy, swaps).

    ``clash(v, d1, d2)`` is true when the two demands overlap, or when travel is given and the gap between
    them is shorter than the trip at ``v``'s speed. The trip is computed in plain Python and checked with a
    microsecond to spare, so a pair it accepts is never one :func:`sequence_conflicts` rejects.
    """

    def __init__(self, arr: ProblemArrays) -> None:
        """Read the demands' times and the travel model once."""
        self.start = arr.d_start.tolist()
        self.end = arr.d_end.tolist()
        self.travel = arr.travel
        self.speed = arr.v_speed_kmh.tolist() if arr.v_speed_kmh is not None else []
        self.trip_us = longest_trip_us(arr)
        self._cache: dict[tuple[float, int, int], int] = {}

    @property
    def timed(self) -> bool:
        """Whether travel between tasks counts (SPEC v2's ``travel`` is given)."""
        return self.travel is not None

    def clash(self, v: int, d1: int, d2: int) -> bool:
        """Whether volunteer ``v`` cannot do both ``d1`` and ``d2`` (rule 7, and 7b with travel)."""
        s1, e1, s2, e2 = self.start[d1], self.end[d1], self.start[d2], self.end[d2]
        if s1 < e2 and s2 < e1:
            return True
        if self.travel is None:
            return False
        if e1 <= s2:
            gap, a, b = s2 - e1, d1, d2
        else:
            gap, a, b = s1 - e2, d2, d1
        if gap >= self.trip_us:
            return False
        key = (self.speed[v], a, b)
        need = self._cache.get(key)
        if need is None:
            minutes = self.travel.between_minutes_one(a, b, self.speed[v])
            need = int(np.ceil(minutes * US_PER_MINUTE)) + 1  # a microsecond to spare (see the class docstring)
            self._cache[key] = need
        return bool(gap < need)
