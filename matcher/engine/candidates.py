"""Candidate pairs: every (volunteer, demand) allowed by the pair rules (SPEC 1-5 and a single task's caps), vectorised.

The rules themselves are :data:`matcher.engine.rules.PAIR_RULES`; this module
finds the pairs that keep them all without testing volunteers x demands.

The index of volunteers by (cell, time slot) and the exact tests are
:mod:`matcher.engine.cell_index`'s.

Volunteers are grouped by ``max_travel_km`` (buckets growing by 1.5x) so a
few long-range volunteers do not widen everyone's search. The search runs as
jobs, a part of the demands against a bucket each, on threads;
:func:`search_until` stops starting jobs when the clock has no room for them.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.cell_index import DENSE_KEYS, CellIndex, build_index, query, rules_but_time, search_radius_km
from matcher.engine.rules import covers
from matcher.engine.sorting import stable_order
from matcher.engine.types import F64, I64, B

__all__ = ["MIN_PART_DEMANDS", "TIMED_PART_DEMANDS", "WORKERS", "Pairs", "Searched", "allowed_pairs",
           "candidate_pairs", "complete_pairs", "pairs_involving", "search_radius_km", "search_until"]

MIN_PART_DEMANDS = 2_000
"""Fewest demands a thread of the candidate search takes on (a smaller part is not worth a thread)."""
WORKERS = 2
"""Threads of the candidate search by default (:func:`candidate_pairs`)."""
TIMED_PART_DEMANDS = 1_000
"""Demands in each part of a search the clock may end (:func:`search_until`): 20 parts on a district."""


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
    parts = np.array_split(dem, max(1, min(workers, len(dem) // MIN_PART_DEMANDS)))
    found = _search(arr, parts, dem, check_time, inner_only, workers, None)
    return _merge(arr, [f for f in found if f is not None])


@dataclass(frozen=True, eq=False)
class Searched:
    """The candidate pairs of a search that the clock may have ended early (:func:`search_until`)."""

    pairs: Pairs
    """Every candidate pair of the demands searched, as :func:`candidate_pairs` gives them."""
    not_searched: I64
    """Demand rows the search did not reach, sorted, shape ``(k,)``, int64: none of their pairs is in ``pairs``."""


def search_until(arr: ProblemArrays, order: I64, first: int, deadline: float, after: tuple[float, float],
                 since: float, *, part_demands: int | None = None, workers: int = WORKERS) -> Searched:
    """:func:`candidate_pairs` of every demand, in parts, that stops starting parts the clock has no room for.

    Parameters
    ----------
    arr
        The problem as arrays.
    order
        Demand rows, shape ``(nd,)``, int64, each once: the order in which to search them.
    first
        How many of ``order`` are searched whatever the clock (the first part is at least these).
    deadline
        A ``time.perf_counter()`` value by which the search and what comes after it should be done.
    after, since
        What comes after the search takes about ``after[0]`` times the time from ``since`` (a ``perf_counter()``
        value: the caller's start) to the search's start (what grows with the problem's size: the arrays), plus
        ``after[1]`` times the search's own time (what grows with the pairs found). A part is started only when,
        with its expected time ``t`` (its radius bucket's last part's, measured), its ``end = now + t`` plus that
        stays before ``deadline``.
    part_demands
        Demands in each part but the first (default :data:`TIMED_PART_DEMANDS`).
    workers
        Threads that search at once (as in :func:`candidate_pairs`).

    Returns
    -------
    Searched
        The pairs of the parts searched whole, and the demands of the others. With a ``deadline`` far enough
        away, the pairs are :func:`candidate_pairs`'s, and ``not_searched`` is empty.

    """
    part_demands = part_demands or TIMED_PART_DEMANDS
    cut = max(first, min(part_demands, len(order)))
    rest = order[cut:]
    parts = [p for p in [order[:cut], *np.array_split(rest, max(1, -(-len(rest) // part_demands)))] if len(p)]
    found = _search(arr, parts, order, True, False, workers, _Until(deadline, after, since))
    done = [f for f in found if f is not None]
    if len(done) == len(found):
        return Searched(_merge(arr, done), np.zeros(0, dtype=np.int64))
    # the jobs start in order, part by part, and each one started ends: the parts whose every job ran are a prefix
    per_part = len(found) // len(parts)  # (a job per radius bucket)
    whole = len(done) // per_part
    searched = np.concatenate(parts[:whole])  # (the first part always runs)
    return Searched(_merge(arr, done[: whole * per_part]), np.setdiff1d(order, searched))


def complete_pairs(arr: ProblemArrays, searched: Searched) -> Pairs:
    """The pairs of a :class:`Searched` with those of its ``not_searched`` demands: :func:`candidate_pairs`'s in all."""
    if len(searched.not_searched) == 0:
        return searched.pairs
    more = candidate_pairs(arr, searched.not_searched)
    return _merge(arr, [(p.v, p.d, p.km) for p in (searched.pairs, more)])


class _Until:
    """:func:`search_until`'s rule for starting a job (called under the search's lock)."""

    def __init__(self, deadline: float, after: tuple[float, float], since: float) -> None:
        self.start = time.perf_counter()
        self.deadline, self.per_search = deadline, after[1]
        self.fixed = after[0] * (self.start - since)
        self.per_demand: dict[int, float] = {}  # bucket -> seconds per demand of its last finished job

    def may_start(self, part: int, bucket: int, demands: int) -> bool:
        """Whether the job of ``demands`` demands of part ``part`` against radius bucket ``bucket`` may start."""
        if part == 0:
            return True
        now = time.perf_counter()
        rate = self.per_demand.get(bucket, max(self.per_demand.values(), default=0.0))
        end = now + rate * demands
        return end + self.fixed + self.per_search * (end - self.start) <= self.deadline

    def finished(self, bucket: int, seconds: float, demands: int) -> None:
        """A job of ``bucket`` searched ``demands`` demands in ``seconds`` (its index built before)."""
        self.per_demand[bucket] = seconds / max(demands, 1)


def _search(arr: ProblemArrays, parts: list[I64], over: I64, check_time: bool, inner_only: bool, workers: int,
            until: _Until | None) -> list[tuple[I64, I64, F64] | None]:
    """Search each part of the demands against each radius bucket of volunteers: a job each, parts first.

    ``over``: every demand searched (the cells are laid over them). Returns each job's pairs, in the order of the
    jobs (part by part, bucket by bucket), ``None`` for a job ``until`` did not let start.
    """
    usable = np.ones(arr.nv, dtype=bool)
    if check_time:
        # a volunteer who can take no task at all never is a candidate
        usable &= arr.v_max_tasks > 0
    if len(over) == 0 or not usable.any():
        return []
    radii = search_radius_km(arr)
    bucket = np.floor(np.log(np.maximum(radii, 1e-3) / 0.25) / math.log(1.5)).astype(np.int64)
    groups = [np.flatnonzero(usable & (bucket == b)) for b in np.unique(bucket[usable])]
    jobs = [(p, b) for p in range(len(parts)) for b in range(len(groups))]
    out: list[tuple[I64, I64, F64] | None] = [None] * len(jobs)
    indices: dict[int, CellIndex] = {}
    built = [threading.Lock() for _ in groups]
    lock = threading.Lock()
    taken = [0]
    dense = DENSE_KEYS // len(groups)  # (each bucket's table lives for the whole search)

    def index(b: int) -> CellIndex:
        with built[b]:  # (each bucket's index is built once, by the first job that needs it)
            if b not in indices:
                vols = groups[b]
                indices[b] = build_index(arr, vols, float(radii[vols].max()), check_time, over, dense_keys=dense)
            return indices[b]

    def work() -> None:
        while True:
            with lock:
                j = taken[0]
                if j >= len(jobs):
                    return
                p, b = jobs[j]
                if until is not None and not until.may_start(p, b, len(parts[p])):
                    taken[0] = len(jobs)  # (once a job is refused, no later one starts)
                    return
                taken[0] += 1
            ix = index(b)
            t = time.perf_counter()
            out[j] = query(arr, ix, parts[p], check_time, inner_only)
            if until is not None:
                with lock:
                    until.finished(b, time.perf_counter() - t, len(parts[p]))

    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(min(workers, len(jobs)), thread_name_prefix="matcher-candidates") as pool:
            for f in [pool.submit(work) for _ in range(min(workers, len(jobs)))]:
                f.result()
    else:
        work()
    return out


def _merge(arr: ProblemArrays, found: list[tuple[I64, I64, F64]]) -> Pairs:
    """The pairs found by the jobs, sorted by (volunteer, demand)."""
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(empty, empty.copy(), np.zeros(0))
    v = np.concatenate([p[0] for p in found])
    d = np.concatenate([p[1] for p in found])
    km = np.concatenate([p[2] for p in found])
    order = stable_order(arr.pair_key(v, d))  # (each pair once: the order of lexsort((d, v)))
    return Pairs(v[order], d[order], km[order])


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
    v, d, km = rules_but_time(arr, v[ok], d[ok], check_caps=True, chord=False)
    ok = covers(arr, v, d)
    return v[ok], d[ok], km[ok]
