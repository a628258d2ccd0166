"""What every tier of a solve shares: the clock, and the residual problem once pinned pairs are placed.

- :class:`Clock`: seconds per phase, the wall deadline, cooperative cancellation;
- :func:`residual`: checks the pinned pairs against every hard rule
  (:class:`~matcher.errors.PinnedError` naming the rule each breaks) and takes
  what they use (seats, tasks, hours, time) off what is left;
- :class:`SolveContext`: the arrays, the residual candidate pairs with their
  weights and costs, the options and the clock, handed to each tier in one piece.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from matcher.engine import costs
from matcher.engine.arrays import ProblemArrays, member, time_values
from matcher.engine.candidates import Pairs
from matcher.engine.intervals import overlaps_fixed
from matcher.engine.rules import first_broken, task_clashes
from matcher.engine.sequencing import clique_ends, sequence_conflicts
from matcher.engine.types import I64, B
from matcher.errors import PinnedError
from matcher.model import SolveOptions

__all__ = ["HELD_SIGNALS", "Cancel", "Clock", "Residual", "SolveContext", "held_signals", "no_time_after",
           "overlaps_tasks", "residual", "unliked"]

log = logging.getLogger(__name__)

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals :func:`held_signals` defers."""


@contextmanager
def held_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a solver's extension module is imported, then deliver them.

    A signal handler that raises while a compiled extension initialises (OR-Tools' CP-SAT takes about a
    second) has its exception turned into ``ImportError: initialization failed`` (pybind11) instead of
    :class:`KeyboardInterrupt`. For the block, each of the two signals whose handler is a Python function
    gets a handler that only records it; on exit the caller's handlers are put back and each recorded
    signal is raised again (:func:`signal.raise_signal`), where it acts as usual.

    Masking the signals (``pthread_sigmask``) is not enough: the mask is per thread, the kernel hands a
    process-directed signal to any thread that does not block it, and CPython then runs the Python
    handler in the main thread at its next instruction, inside the import. Outside the main thread
    (where handlers cannot be changed) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def record(signum: int, frame: object) -> None:
        arrived.append(signum)

    callers = {s: signal.signal(s, record) for s in HELD_SIGNALS if callable(signal.getsignal(s))}
    try:
        yield
    finally:
        for s, handler in callers.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(arrived):  # each signal once, in the order they came
            signal.raise_signal(signum)


class Cancel(Protocol):
    """Anything with ``is_set()``, e.g. :class:`threading.Event`."""

    def is_set(self) -> bool:
        """Whether the caller asked the solve to stop."""
        ...


class Clock:
    """A solve's clock: seconds per phase (``perf_counter``), the wall deadline and cooperative cancellation.

    ``deadline`` is a ``time.perf_counter()`` value (default: none); ``cancel``
    is polled by :meth:`stopped`.
    """

    def __init__(self, deadline: float | None = None, cancel: Cancel | None = None) -> None:
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.seconds: dict[str, float] = {}
        self.deadline = math.inf if deadline is None else deadline
        self.cancel = cancel

    @classmethod
    def for_limit(cls, time_limit_s: float, deadline: float | None, cancel: Cancel | None) -> Clock:
        """A clock whose deadline is ``deadline``, or its own start + ``time_limit_s`` when none is given."""
        clock = cls(deadline, cancel)
        if deadline is None:
            clock.deadline = clock.t0 + time_limit_s
        return clock

    def done(self, name: str) -> None:
        """Charge the time since the last phase ended to phase ``name``."""
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self.last, 4)
        self.last = now
        log.info("%s done in %.2f s (%.2f s total)", name, self.seconds[name], now - self.t0)

    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return time.perf_counter() - self.t0

    def left(self) -> float:
        """Seconds until the deadline (negative once past it)."""
        return self.deadline - time.perf_counter()

    def stopped(self) -> bool:
        """Whether the caller cancelled the solve."""
        return self.cancel is not None and self.cancel.is_set()


@dataclass(frozen=True, eq=False)
class Residual:
    """What is left for the optimiser once pinned pairs are placed (arrays indexed by volunteer or demand row)."""

    pairs: Pairs
    """The candidate pairs still possible: not pinned, with a seat, a task, the hours and the time left."""
    tasks: I64
    hours: I64
    """Hours left, in microseconds."""
    seats: I64
    base: I64
    """Tasks each volunteer holds already (pinned), for the load cost."""
    bonus: I64
    """Continuity bonus of each demand (integer cost units; 0 when met by a pin or not wanted)."""
    crew: I64
    """Seats each crew still needs (SPEC rule 11: ``min_headcount`` less its pinned volunteers; 0: no crew rule)."""
    crew_held: B
    """Demands that pinned volunteers already staff: a crew among them cannot be left empty, only filled."""

    def crew_short(self, count: I64) -> B:
        """Demands whose residual seats ``count`` (int64 per demand) break rule 11, given the pinned ones."""
        short: B = (count < self.crew) & ((count > 0) | self.crew_held)
        return short

    @property
    def open_crew(self) -> I64:
        """Seats each crew no pinned volunteer holds still needs, where rule 11 binds (int64 per demand, else 0).

        A crew needing 2 or more can be left empty or staffed with at least that many: the LP's crew rows
        (:class:`~matcher.engine.working_set.WorkingSet`). A held crew must be filled, a row that could make a
        restricted LP infeasible; the LP leaves it out (a relaxation still).
        """
        need: I64 = np.where((self.crew > 1) & ~self.crew_held, self.crew, 0)
        return need


def overlaps_tasks(arr: ProblemArrays, pairs: Pairs, sv: I64, sd: I64) -> B:
    """Pairs whose window overlaps a fixed task of the same volunteer (tasks ``sv, sd`` sorted by volunteer, start)."""
    return overlaps_fixed(sv, arr.d_start_rank[sd], arr.d_end_rank[sd], pairs.v, arr.d_start_rank[pairs.d],
                          arr.d_end_rank[pairs.d])


def residual(arr: ProblemArrays, pairs: Pairs, opts: SolveOptions) -> Residual:
    """Check pinned pairs against every hard rule and take what they use off the rest.

    Raises
    ------
    PinnedError
        Naming each pinned pair that breaks a rule, and the rule (the first it breaks, in SPEC's order).

    """
    pv, pd = arr.pinned
    keys = arr.pair_key(pairs.v, pairs.d)
    pkeys = arr.pair_key(pv, pd)
    errors: list[str] = []
    for i in np.flatnonzero(~member(pkeys, keys)):
        broken = first_broken(arr, int(pv[i]), int(pd[i]))
        errors.append(f"pinned[{i}] ({arr.volunteer_ids[pv[i]]!r}, {arr.demand_ids[pd[i]]!r}): "
                      f"{broken.message if broken else 'is not a candidate pair'}")
    seats = arr.d_headcount - np.bincount(pd, minlength=arr.nd)
    for d in np.flatnonzero(seats < 0):
        errors.append(
            f"pinned: demand {arr.demand_ids[d]!r} gets more than its headcount {arr.d_headcount[d]} (rule 6)"
        )
    tasks = arr.v_max_tasks - np.bincount(pv, minlength=arr.nv)
    hours = arr.v_hours_cap_us - np.bincount(pv, weights=arr.d_duration_us[pd], minlength=arr.nv).astype(np.int64)
    for v in np.flatnonzero((tasks < 0) | (hours < 0)):
        errors.append(f"pinned: volunteer {arr.volunteer_ids[v]!r} exceeds max_tasks or max_hours (rule 8)")
    sv, sd, clash = task_clashes(arr, pv, pd)
    for i in np.flatnonzero(clash):
        errors.append(f"pinned: volunteer {arr.volunteer_ids[sv[i]]!r} is sent to overlapping demands "
                      f"{arr.demand_ids[sd[i]]!r} and {arr.demand_ids[sd[i + 1]]!r} (rule 7)")
    ci, cj = sequence_conflicts(arr, pv, pd)
    for i, j in zip(ci.tolist(), cj.tolist()):
        errors.append(f"pinned: volunteer {arr.volunteer_ids[pv[i]]!r} has no time to travel from "
                      f"{arr.demand_ids[pd[i]]!r} to {arr.demand_ids[pd[j]]!r} (rule 7b)")
    if errors:
        raise PinnedError(errors)

    keep = ~member(keys, pkeys)
    keep &= (seats[pairs.d] > 0) & (tasks[pairs.v] > 0)
    keep &= arr.d_duration_us[pairs.d] <= hours[pairs.v]
    keep &= ~overlaps_tasks(arr, pairs, sv, sd)
    keep &= ~no_time_after(arr, pairs, pv, pd)
    bonus = np.full(arr.nd, costs.continuity_unit(opts), dtype=np.int64)
    has_pref = np.zeros(arr.nd, dtype=bool)
    has_pref[arr.preferred[1]] = True
    met = member(pkeys, arr.pair_key(*arr.preferred))
    bonus[~has_pref] = 0
    bonus[pd[met]] = 0
    crew = np.zeros(arr.nd, dtype=np.int64)
    held = np.bincount(pd, minlength=arr.nd) > 0
    if arr.d_min_headcount is not None:
        crew = np.maximum(arr.d_min_headcount - np.bincount(pd, minlength=arr.nd), 0)
        # rule 11: a crew with fewer candidates left than it needs can only stay empty (its pairs go now,
        # which every tier's relaxation then knows); one that pinned volunteers staff cannot be made up
        left = np.bincount(pairs.d[keep], minlength=arr.nd)
        short = (crew > np.where(held, 0, 1)) & (left < crew)
        for dem in np.flatnonzero(short & held).tolist():
            raise PinnedError([f"pinned: demand {arr.demand_ids[dem]!r} needs {crew[dem]} more volunteers for its "
                               f"min_headcount {arr.d_min_headcount[dem]} and has {left[dem]} candidates (rule 11)"])
        keep &= ~short[pairs.d]
    return Residual(pairs.take(keep), tasks, hours, seats, arr.v_max_tasks - tasks, bonus, crew, held)


def unliked(arr: ProblemArrays, v: I64, d: I64) -> B | None:
    """Pairs whose demand is outside the categories their volunteer said they like (``None`` when nobody said)."""
    if arr.v_says_likes is None or not bool(arr.v_says_likes.any()):
        return None
    n = max(len(arr.categories), 1)
    liked = member(v * n + arr.d_category[d], arr.liked[0] * n + arr.liked[1])
    out: B = arr.v_says_likes[v] & ~liked
    return out


def no_time_after(arr: ProblemArrays, pairs: Pairs, pv: I64, pd: I64) -> B:
    """Pairs that leave too little time to travel to or from a fixed task ``(pv[i], pd[i])`` of their volunteer.

    Rule 7b against tasks already decided (pinned ones, or those outside a region); a bool mask over ``pairs``,
    all false without travel.
    """
    out = np.zeros(len(pairs), dtype=bool)
    if arr.travel is None or len(pv) == 0:
        return out
    rows = pairs.rows_of(np.unique(pv))
    v = np.concatenate([pv, pairs.v[rows]])
    d = np.concatenate([pd, pairs.d[rows]])
    ci, cj = sequence_conflicts(arr, v, d)
    n = len(pv)
    hit = np.concatenate([cj[ci < n], ci[cj < n]])
    out[rows[hit[hit >= n] - n]] = True
    return out


@dataclass(frozen=True, eq=False)
class SolveContext:
    """One solve's shared state, handed to each tier: the arrays, the residual problem and its prices.

    Pair arrays (``pair_cost``, ``pref``, ``keep``) run over ``res.pairs``;
    ``dem_weight`` over demand rows.
    """

    arr: ProblemArrays
    opts: SolveOptions
    clock: Clock
    res: Residual
    dem_weight: I64
    """Coverage weight w(priority) of each demand."""
    pair_cost: I64
    """Secondary cost of each pair (integer units, :mod:`matcher.engine.costs`)."""
    pref: B
    """Pairs of a preferred volunteer on a demand whose continuity bonus is still open."""
    keep: B
    """Pairs of the previous plan that CP-SAT prefers to keep among plans of equal coverage."""

    @property
    def rp(self) -> Pairs:
        """The residual candidate pairs."""
        return self.res.pairs

    @cached_property
    def clique_end_rank(self) -> I64:
        """Where each residual pair's interval ends in the LP's no-overlap rows, as a time rank (int64, one per pair).

        The demand's end rank (``arr.d_end_rank``), or with travel the later end of
        :func:`~matcher.engine.sequencing.clique_ends`: the rows then hold most of rule 7b too. A rank compares
        with the start ranks as the times do: a start ``s`` lies before the end ``E`` exactly when its rank does.
        """
        arr, rp = self.arr, self.rp
        if arr.travel is None:
            return arr.d_end_rank[rp.d]
        return self._end_ranks(clique_ends(arr, rp.v, rp.d))

    def clique_end_rank_of(self, idx: I64) -> I64:
        """``clique_end_rank[idx]`` (int64, one per index), before the whole array is there if need be.

        From the whole array once it is computed, else for these pairs alone
        (:func:`~matcher.engine.sequencing.clique_ends`'s ``only``: the same values).
        """
        arr, rp = self.arr, self.rp
        if arr.travel is None or "clique_end_rank" in self.__dict__:
            return self.clique_end_rank[idx]
        return self._end_ranks(clique_ends(arr, rp.v, rp.d, only=idx))

    @cached_property
    def rank_span(self) -> int:
        """The ``span`` of keys ``v * span + rank``: more than any time rank.

        Any of ``arr.d_start_rank``, ``arr.d_end_rank`` and :attr:`clique_end_rank` (a stretched end past every
        time value ranks ``len(values)``).
        """
        return len(self._time_values) + 1

    @cached_property
    def _time_values(self) -> I64:
        arr = self.arr
        return time_values(arr.w_start_us, arr.w_end_us, arr.d_start, arr.d_end)

    def _end_ranks(self, ends: I64) -> I64:
        return np.searchsorted(self._time_values, ends, side="left").astype(np.int64)

    @classmethod
    def build(cls, arr: ProblemArrays, pairs: Pairs, opts: SolveOptions, clock: Clock) -> SolveContext:
        """Place the pinned pairs (:func:`residual`) and price what is left."""
        res = residual(arr, pairs, opts)
        rp = res.pairs
        is_previous = member(arr.pair_key(rp.v, rp.d), arr.pair_key(*arr.previous))
        pref = member(arr.pair_key(rp.v, rp.d), arr.pair_key(*arr.preferred)) & (res.bonus[rp.d] > 0)
        star_gap = arr.v_star_gap[rp.v] if arr.v_star_gap is not None else None
        return cls(arr, opts, clock, res, costs.priority_weights(opts)[arr.d_priority],
                   costs.pair_costs(opts, rp.km, arr.v_recent_hours[rp.v], is_previous, star_gap,
                                    unliked(arr, rp.v, rp.d)), pref,
                   is_previous & (opts.change_weight > 0))

    def coverage(self, chosen: B) -> int:
        """Coverage of the chosen residual pairs (pinned ones not included)."""
        return int(self.dem_weight[self.rp.d[chosen]].sum())

    def seats_bound(self) -> int:
        """The trivial bound on coverage (pinned pairs not included): each demand's open seats it has candidates for."""
        return int((self.dem_weight * np.minimum(self.res.seats, np.bincount(self.rp.d, minlength=self.arr.nd))).sum())
