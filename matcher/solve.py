"""The orchestration: problem → arrays → candidates → flow → (LP) → (CP-SAT) → Solution.

1. Candidate pairs pass SPEC rules 1-5 (:mod:`matcher.candidates`).
2. Pinned pairs are checked against every rule and taken out; what they use
   (seats, tasks, hours, time) is taken off what is left.
3. The min-cost flow (:mod:`matcher.solvers.flow`) runs in rounds. A volunteer
   can be given *groups*, sets of its pairs whose windows share a point, with
   one pair allowed per group. Round 1 gives nobody groups. Later rounds give the
   volunteers the flow overbooked a minimum clique cover, then covers anchored at
   the points where their tasks clashed. Every round relaxes the true rules, so
   each coverage is an upper bound and the least is kept. How many rounds run is
   estimated from the network's size and the time limit, never read off a clock.
4. If a round's solution keeps every rule it is optimal. Otherwise it is made
   feasible greedily (most valuable pairs kept, freed seats refilled).
5. When the problem is too big for CP-SAT whole but its LP relaxation fits the
   limit (by a size estimate), the exact model's relaxation
   (:mod:`matcher.solvers.lp`, GLOP) gives a much tighter bound, and its rounded
   solution replaces the flow's when it covers at least as much; then only one
   flow round runs.
6. CP-SAT (:mod:`matcher.solvers.cpsat`) improves regions with every rule
   exact, starting from the feasible answer: the whole connected component when
   small enough, else neighbourhoods of the seed volunteers (those the flow
   overbooked, or those with fractional LP pairs) with the rest fixed.
7. A region solved whole tightens the flow's bound by CP-SAT's bound.
   ``optimal`` is claimed only when the coverage reached equals the bound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from matcher import costs
from matcher.arrays import ProblemArrays, build_arrays, member
from matcher.candidates import Pairs, candidate_pairs, covers
from matcher.errors import PinnedError
from matcher.model import Problem, Solution, SolveOptions, Status
from matcher.report import build_solution
from matcher.solvers.flow import FlowInput, solve_flow

if TYPE_CHECKING:  # the solver modules import OR-Tools' CP-SAT and linear solver (about 1 s): only when used
    from matcher.solvers.cpsat import CpsatInput
    from matcher.solvers.lp import LpResult

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

MAX_FLOW_ROUNDS = 8
"""Most flow solves while adding clique groups for overbooked volunteers."""

FLOW_TIME_SHARE = 0.45
"""Flow rounds may take (by estimate) this share of the time limit."""

FLOW_SECONDS_PER_ARC = 3.5e-6
"""Estimated flow time per arc (measured on this project's 2-core machine); an
estimate rather than a clock reading keeps the number of rounds reproducible."""

CPSAT_SHARE = 0.25
"""Share of the time limit that the CP-SAT regions get (as deterministic budget)."""

REPORT_SHARE = 0.1
"""Wall time kept back for the report, as a share of the time spent before CP-SAT."""

SWAP_MOVES = 100_000
"""Most local-search moves after the greedy repair (each raises coverage; a deterministic budget)."""

SWAP_PASSES = 4
"""Most passes of the local search over the demands with open seats."""

MIN_REGION_WALL_S = 0.5
"""A CP-SAT region starts only with at least this much wall time left before the deadline."""

REGION_PAIR_BUDGET = 60_000
"""Largest region (in candidate pairs) handed to CP-SAT at once."""

LP_SHARE = 0.5
"""The LP relaxation runs when its estimated time is at most this share of the limit (and the
problem is too big for CP-SAT whole)."""

LP_SECONDS_AT_STREET = 7.5
"""GLOP's time on the street preset's relaxation (216,718 pairs), coverage and secondary, on this project's machine."""


class _Phases:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.seconds: dict[str, float] = {}

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self.last, 4)
        self.last = now
        log.info("%s done in %.2f s (%.2f s total)", name, self.seconds[name], now - self.t0)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


class Cancel(Protocol):
    """Anything with ``is_set()``, e.g. :class:`threading.Event`."""

    def is_set(self) -> bool:
        """Whether the caller asked the solve to stop."""
        ...


@dataclass(frozen=True, eq=False)
class _Residual:
    """What is left for the optimiser once pinned pairs are placed."""

    pairs: Pairs
    tasks: I64
    hours: I64
    seats: I64
    base: I64
    bonus: I64


@dataclass(frozen=True, eq=False)
class Solved:
    """A solution with what the solve built for it: kept by :class:`matcher.Dispatcher` to repair it later."""

    solution: Solution
    arr: ProblemArrays
    pairs: Pairs
    v: I64
    """``solution.assignments[i]`` is the pair of volunteer row ``v[i]`` of ``arr`` ..."""
    d: I64
    """... and demand row ``d[i]``."""


def solve(problem: Problem, options: SolveOptions | None = None, *, deadline: float | None = None,
          cancel: Cancel | None = None) -> Solution:
    """Solve a problem: the best assignment by SPEC.md's objective, with a proven bound.

    Parameters
    ----------
    problem
        A validated :class:`~matcher.model.Problem`.
    options
        Settings; default: ``problem.options``, else :class:`SolveOptions` defaults.
        ``time_limit_s`` sizes every budget decision deterministically, so the
        same input, options and seed give the same output.
    deadline
        A ``time.perf_counter()`` value after which CP-SAT stops whatever its
        budget (default: start + ``time_limit_s``). Callers that spent time
        before calling (the CLI, loading) pass their own.
    cancel
        Cooperative cancellation, e.g. a :class:`threading.Event`: once it is
        set, the solve stops at its next step (between flow rounds, before the
        LP tier and before each CP-SAT region) and returns the best feasible
        answer so far, with ``stats["cancelled"]`` true. Set before the call,
        it gets the greedy answer at once.

    Returns
    -------
    Solution
        Always a solution (an empty or unsatisfiable problem is an answer).

    Raises
    ------
    PinnedError
        When the pinned assignments themselves break a hard rule.
    ResourceLimitError
        When the solve is estimated to need more memory than allowed (see :mod:`matcher.limits`).

    """
    return solve_keeping(problem, options, deadline=deadline, cancel=cancel).solution


def solve_keeping(problem: Problem, options: SolveOptions | None = None, *, deadline: float | None = None,
                  cancel: Cancel | None = None) -> Solved:
    """:func:`solve`, also returning the arrays and candidate pairs it built (see :class:`Solved`)."""
    opts = options or problem.options or SolveOptions()
    ph = _Phases()
    deadline = ph.t0 + opts.time_limit_s if deadline is None else deadline
    arr = build_arrays(problem)
    ph.done("arrays")
    from matcher.limits import check_memory

    memory = check_memory(arr, opts, lp_planned=lambda n: _lp_planned(n, opts))  # refuse before big allocations
    pairs = candidate_pairs(arr)
    ph.done("candidates")
    log.info("%d candidate pairs for %d volunteers x %d demands", len(pairs), arr.nv, arr.nd)
    res = _residual(arr, pairs, opts)
    dem_weight = costs.priority_weights(opts)[arr.d_priority]
    rp = res.pairs
    dur = arr.d_duration_us[rp.d]
    is_previous = member(arr.pair_key(rp.v, rp.d), arr.pair_key(*arr.previous))
    pair_cost = costs.pair_costs(opts, rp.km, arr.v_recent_hours[rp.v], is_previous)
    keep = is_previous & (opts.change_weight > 0)  # pairs CP-SAT prefers to keep among plans of equal coverage

    # Too little time left for even one flow round (a tight limit on a big problem): answer greedily
    # now rather than overrun the limit; the bound is then the seats each demand has candidates for.
    flow_estimate_s = FLOW_SECONDS_PER_ARC * (len(rp) + 3 * arr.nv + 2 * arr.nd)
    def stopped() -> bool:
        return cancel is not None and cancel.is_set()

    hurried = stopped() or deadline - time.perf_counter() < flow_estimate_s
    if hurried:
        if stopped():
            log.warning("cancelled before the flow: answering with the greedy dispatcher")
        else:
            log.warning("%.1f s left, the flow needs about %.1f s: answering with the greedy dispatcher instead",
                        deadline - time.perf_counter(), flow_estimate_s)
        order = np.lexsort((pair_cost, -dem_weight[rp.d]))
        chosen = _refill(arr, rp, res, np.zeros(len(rp), dtype=bool), order)
        bound = int((dem_weight * np.minimum(res.seats, np.bincount(rp.d, minlength=arr.nd))).sum())
        stats: dict[str, object] = {**memory.as_stats(), "candidate_pairs": len(pairs),
                                    "flow_estimate_s": round(flow_estimate_s, 3)}
        engine, secondary_optimal = "greedy (time limit too short for the flow)", False
        ph.done("greedy")
    else:
        pref = member(arr.pair_key(rp.v, rp.d), arr.pair_key(*arr.preferred)) & (res.bonus[rp.d] > 0)
        group, n_groups_v = _clique_groups(arr, rp)
        cap = np.minimum(res.tasks, np.minimum(n_groups_v, _hours_task_cap(rp, dur, res.hours, arr.nv)))
        ph.done("model")
        # Flow rounds. Any partition of a volunteer's pairs into cliques gives a valid
        # relaxation, so every round's coverage is an upper bound and the least is kept.
        # Round 1 groups nobody (cheap). Later rounds give volunteers the flow overbooked
        # a clique cover anchored at the points where their tasks clashed, which rules
        # that clash out; a volunteer who never clashes needs no group at all.
        lp_planned = _lp_planned(len(rp), opts)
        grouped = np.zeros(arr.nv, dtype=bool)
        pair_group = np.arange(len(rp), dtype=np.int64) + int(group.max(initial=-1)) + 1
        next_group = int(pair_group.max(initial=-1)) + 1
        anchors: dict[int, set[int]] = {}
        bound = -1
        flow_rounds = stale = 0
        while True:
            flow_rounds += 1
            flow = solve_flow(
                FlowInput(arr.nv, arr.nd, rp.v, rp.d, pair_cost, pair_group, pref, cap,
                          res.base, costs.load_unit(opts), res.seats, dem_weight, res.bonus)
            )
            stale = stale + 1 if 0 <= bound <= flow.coverage else 0
            bound = flow.coverage if bound < 0 else min(bound, flow.coverage)
            chosen = flow.chosen.copy()
            bad = _overbooked(arr, rp, chosen, res.hours)
            log.info("flow round %d: coverage bound %d, %d volunteers overbooked", flow_rounds, flow.coverage, len(bad))
            if len(bad) == 0 or flow_rounds >= MAX_FLOW_ROUNDS or stale >= 2 or lp_planned or stopped():
                break  # (when the LP relaxation will run, its bound is the tighter one: no more rounds)
            if (flow_rounds + 1) * FLOW_SECONDS_PER_ARC * flow.arcs > FLOW_TIME_SHARE * opts.time_limit_s:
                break  # another round would only tighten the bound; keep the time for CP-SAT
            fresh = bad[~grouped[bad] & (n_groups_v[bad] > 1) & (cap[bad] > 1)]
            grouped[fresh] = True
            pair_group = np.where(member(rp.v, fresh), group, pair_group)
            changed = _add_clash_anchors(arr, rp, chosen, grouped, anchors, first=flow_rounds == 1)
            if len(fresh) == 0 and not changed:
                break
            pair_group, next_group = _anchored_groups(arr, rp, pair_group, changed, anchors, next_group)
        ph.done("flow")
        stats = {
            **memory.as_stats(),
            "candidate_pairs": len(pairs),
            "flow_arcs": flow.arcs,
            "flow_nodes": flow.nodes,
            "flow_cost_scale": flow.cost_scale,
            "flow_coverage_bound": bound + int(dem_weight[arr.pinned[1]].sum()),
            "overbooked_volunteers": len(bad),
            "flow_rounds": flow_rounds,
        }
        secondary_optimal = flow.cost_scale == 1
        engine = "flow"
        if len(bad):
            engine = "flow+cpsat"
            relaxed: B | None = chosen
            chosen = _repair_and_refill(arr, rp, res, chosen, dem_weight, pair_cost)
            chosen = _swap_improve(arr, rp, res, chosen, dem_weight, pair_cost, SWAP_MOVES)
            stats["repaired_coverage"] = int(dem_weight[rp.d[chosen]].sum()) + int(dem_weight[arr.pinned[1]].sum())
            log.info("greedy repair and swaps: coverage %d", stats["repaired_coverage"])
            ph.done("repair")
            seeds = bad
            if lp_planned and not stopped():
                try:
                    lp: LpResult | None = _lp_tier(arr, rp, res, dem_weight, pair_cost, deadline - time.perf_counter())
                except Exception as exc:  # the flow's answer and bound stand; CP-SAT still improves it
                    log.warning("the LP tier failed (%s: %s); going on without it", type(exc).__name__, exc)
                    stats["lp"] = {"error": f"{type(exc).__name__}: {exc}", "solved": False}
                    lp = None
                if lp is not None:
                    stats["lp"] = {"rows": lp.rows, "seconds": round(lp.seconds, 3), "solved": lp.x is not None}
                if lp is not None and lp.x is not None:
                    bound = min(bound, lp.coverage_bound)
                    rounded = _swap_improve(arr, rp, res, _round_lp(arr, rp, res, lp.x, dem_weight, pair_cost),
                                            dem_weight, pair_cost, SWAP_MOVES)
                    log.info("LP relaxation: coverage bound %d, rounded coverage %d", lp.coverage_bound,
                             int(dem_weight[rp.d[rounded]].sum()))
                    if dem_weight[rp.d[rounded]].sum() >= dem_weight[rp.d[chosen]].sum():
                        engine = "flow+lp+cpsat"
                        chosen, relaxed = rounded, None  # CP-SAT regions grow around the LP's fractional pairs
                        seeds = np.unique(rp.v[(lp.x > 1e-6) & (lp.x < 1 - 1e-6)])
                ph.done("lp")
            # CP-SAT's bounds on whole components tighten the last round's bound, not an earlier one's
            chosen, last_bound, regions, sec_ok = _repair_regions(arr, rp, res, chosen, relaxed, seeds, flow.coverage,
                                                                  dem_weight, pair_cost, pref, keep, opts, ph,
                                                                  deadline, stopped)
            bound = min(bound, last_bound)
            stats["cpsat_regions"] = regions
            secondary_optimal = secondary_optimal and sec_ok
            ph.done("cpsat")
    final_v = np.concatenate([arr.pinned[0], rp.v[chosen]])
    final_d = np.concatenate([arr.pinned[1], rp.d[chosen]])
    order = np.lexsort((final_v, final_d))  # the order of the solution's assignments (see Solved)
    final_v, final_d = final_v[order], final_d[order]
    _verify(arr, pairs, final_v, final_d)
    pinned_cov = int(dem_weight[arr.pinned[1]].sum())
    coverage = int(dem_weight[final_d].sum())
    bound += pinned_cov
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    ran = cast(list[dict[str, Any]], stats.get("cpsat_regions", []))
    # a run is reproducible unless the wall clock, not a deterministic budget, cut a CP-SAT region
    # short or stopped the LP (its only stop short of an answer)
    lp_stopped = "lp" in stats and not cast(dict[str, Any], stats["lp"]).get("solved", True)
    stats["cancelled"] = stopped()
    stats["reproducible"] = not hurried and not lp_stopped and not stats["cancelled"] and not any(
        r.get("skipped") == "deadline" or r.get("wall_capped") for r in ran)
    stats.update(engine=engine, secondary_optimal=bool(secondary_optimal and status is Status.OPTIMAL),
                 time_limit_s=round(opts.time_limit_s, 3), wall_budget_s=round(deadline - ph.t0, 3), seed=opts.seed,
                 threads=opts.threads)
    solution = build_solution(arr, pairs, final_v, final_d, opts, status, coverage, bound, stats, ph)
    return Solved(solution, arr, pairs, final_v, final_d)


def _residual(arr: ProblemArrays, pairs: Pairs, opts: SolveOptions) -> _Residual:
    """Check pinned pairs against every hard rule and take what they use off the rest."""
    pv, pd = arr.pinned
    keys = arr.pair_key(pairs.v, pairs.d)
    pkeys = arr.pair_key(pv, pd)
    errors: list[str] = []
    for i in np.flatnonzero(~member(pkeys, keys)):
        errors.append(f"pinned[{i}] ({arr.volunteer_ids[pv[i]]!r}, {arr.demand_ids[pd[i]]!r}): "
                      f"{_pair_rule_broken(arr, int(pv[i]), int(pd[i]))}")
    seats = arr.d_headcount - np.bincount(pd, minlength=arr.nd)
    for d in np.flatnonzero(seats < 0):
        errors.append(
            f"pinned: demand {arr.demand_ids[d]!r} gets more than its headcount {arr.d_headcount[d]} (rule 6)"
        )
    tasks = arr.v_max_tasks - np.bincount(pv, minlength=arr.nv)
    hours = arr.v_hours_cap_us - np.bincount(pv, weights=arr.d_duration_us[pd], minlength=arr.nv).astype(np.int64)
    for v in np.flatnonzero((tasks < 0) | (hours < 0)):
        errors.append(f"pinned: volunteer {arr.volunteer_ids[v]!r} exceeds max_tasks or max_hours (rule 8)")
    sv, sd, clash = _clashes(arr, pv, pd)
    for i in np.flatnonzero(clash):
        errors.append(f"pinned: volunteer {arr.volunteer_ids[sv[i]]!r} is sent to overlapping demands "
                      f"{arr.demand_ids[sd[i]]!r} and {arr.demand_ids[sd[i + 1]]!r} (rule 7)")
    if errors:
        raise PinnedError(errors)

    keep = ~member(keys, pkeys)
    keep &= (seats[pairs.d] > 0) & (tasks[pairs.v] > 0)
    keep &= arr.d_duration_us[pairs.d] <= hours[pairs.v]
    keep &= ~_overlaps_pinned(arr, pairs, sv, sd)
    bonus = np.full(arr.nd, costs.continuity_unit(opts), dtype=np.int64)
    has_pref = np.zeros(arr.nd, dtype=bool)
    has_pref[arr.preferred[1]] = True
    met = member(pkeys, arr.pair_key(*arr.preferred))
    bonus[~has_pref] = 0
    bonus[pd[met]] = 0
    return _Residual(pairs.take(keep), tasks, hours, seats, arr.v_max_tasks - tasks, bonus)


def _pair_rule_broken(arr: ProblemArrays, v: int, d: int) -> str:
    need = arr.d_skills[d]
    if not ((arr.v_skills[v] & need) == need).all():
        return "volunteer lacks a required skill (rule 1)"
    if not covers(arr, np.array([v]), np.array([d]))[0]:
        return "demand window is outside the volunteer's availability (rule 2)"
    if arr.d_insured[d] and not arr.v_insured[v]:
        return "demand requires an insured volunteer (rule 4)"
    if arr.d_team[d] >= 0 and arr.v_team[v] != arr.d_team[d]:
        return "demand is reserved for another team (rule 4)"
    if member(arr.pair_key(np.array([v]), np.array([d])), arr.pair_key(*arr.forbidden))[0]:
        return "pair is forbidden (rule 5)"
    if arr.v_max_tasks[v] == 0 or arr.d_duration_us[d] > arr.v_hours_cap_us[v]:
        return "exceeds the volunteer's max_tasks or max_hours (rule 8)"
    return "demand is farther than the volunteer's max_travel_km (rule 3)"


def _overlaps_pinned(arr: ProblemArrays, pairs: Pairs, sv: I64, sd: I64) -> B:
    """Pairs whose window overlaps a pinned task of the same volunteer (sv, sd sorted by volunteer, start)."""
    if len(sv) == 0:
        return np.zeros(len(pairs), dtype=bool)
    span = int(arr.d_end_rank.max()) + 1
    pkey = sv * span + arr.d_start_rank[sd]
    # the pinned task of this volunteer that starts last before the pair ends
    idx = np.searchsorted(pkey, pairs.v * span + arr.d_end_rank[pairs.d], side="left") - 1
    idx_c = np.maximum(idx, 0)
    hit: B = (idx >= 0) & (sv[idx_c] == pairs.v) & (arr.d_end_rank[sd[idx_c]] > arr.d_start_rank[pairs.d])
    return hit


def _clique_groups(arr: ProblemArrays, rp: Pairs) -> tuple[I64, I64]:
    """Minimum clique cover of each volunteer's intervals (the classic greedy), vectorised by rounds.

    Each round, every volunteer takes the earliest end among its pairs not yet
    grouped as an anchor and groups every remaining pair that starts before it:
    all of them contain the point just before the anchor, so they pairwise
    overlap. Rounds run as many times as the largest number of groups one
    volunteer needs. Returns the group of each pair and the groups per volunteer.
    """
    s, e = arr.d_start_rank[rp.d], arr.d_end_rank[rp.d]
    order = np.lexsort((s, e, rp.v))
    vo, so, eo = rp.v[order], s[order], e[order]
    gid = np.empty(len(vo), dtype=np.int64)
    idx = np.arange(len(vo))
    n_groups = 0
    while len(idx):
        rv = vo[idx]
        first = np.ones(len(idx), dtype=bool)
        first[1:] = rv[1:] != rv[:-1]
        seg = np.cumsum(first) - 1
        take = so[idx] < eo[idx][first][seg]
        gid[idx[take]] = n_groups + seg[take]
        n_groups += int(first.sum())
        idx = idx[~take]
    group = np.empty(len(vo), dtype=np.int64)
    group[order] = gid
    first_v = np.zeros(n_groups, dtype=np.int64)
    first_v[group] = rp.v
    return group, np.bincount(first_v, minlength=arr.nv).astype(np.int64)


def _hours_task_cap(rp: Pairs, dur: I64, hours: I64, nv: int) -> I64:
    """Most tasks each volunteer's hour cap allows, taking its shortest candidates first."""
    order = np.lexsort((dur, rp.v))
    v, d = rp.v[order], dur[order]
    start = np.searchsorted(v, v, side="left")
    csum = np.cumsum(d)
    within = csum - np.concatenate([[0], csum])[start]
    fits = within <= hours[v]
    return np.bincount(v[fits], minlength=nv).astype(np.int64)


def _add_clash_anchors(
    arr: ProblemArrays, rp: Pairs, chosen: B, grouped: npt.NDArray[np.bool_], anchors: dict[int, set[int]], first: bool
) -> list[int]:
    """Record, for grouped volunteers whose chosen tasks overlap, a time point inside each overlap.

    In the first round nobody had groups, so plain clique groups are tried first
    and no anchors are taken. Returns the volunteers whose anchors changed.
    """
    if first:
        return []
    v, d, clash = _clashes(arr, rp.v[chosen], rp.d[chosen])
    changed: list[int] = []
    for i in np.flatnonzero(clash):
        vol = int(v[i])
        if not grouped[vol]:
            continue
        point = int(arr.d_start_rank[d[i + 1]])  # the later start lies inside both windows
        if point not in anchors.setdefault(vol, set()):
            anchors[vol].add(point)
            changed.append(vol)
    return sorted(set(changed))


def _anchored_groups(
    arr: ProblemArrays, rp: Pairs, pair_group: I64, vols: list[int], anchors: dict[int, set[int]], next_group: int
) -> tuple[I64, int]:
    """Clique covers that first group, for each anchor point, the pairs containing it.

    The rest of each volunteer's pairs get the usual minimum clique cover
    (:func:`_clique_groups`). Every group is a clique (its pairs share a point),
    so the relaxation stays valid.
    """
    pair_group = pair_group.copy()
    rest: list[I64] = []
    for vol in vols:
        lo, hi = np.searchsorted(rp.v, vol, side="left"), np.searchsorted(rp.v, vol, side="right")
        s, e = arr.d_start_rank[rp.d[lo:hi]], arr.d_end_rank[rp.d[lo:hi]]
        free = np.ones(hi - lo, dtype=bool)
        for p in sorted(anchors[vol]):
            members = free & (s <= p) & (e > p)
            if members.any():
                pair_group[lo + np.flatnonzero(members)] = next_group
                next_group += 1
                free &= ~members
        rest.append(lo + np.flatnonzero(free))
    idx = np.concatenate(rest) if rest else np.zeros(0, dtype=np.int64)
    if len(idx):
        groups, _ = _clique_groups(arr, rp.take(idx))
        pair_group[idx] = next_group + groups
        next_group += int(groups.max()) + 1
    return pair_group, next_group


def _clashes(arr: ProblemArrays, v: I64, d: I64) -> tuple[I64, I64, B]:
    """Sort pairs by (volunteer, start); ``clash[i]`` says pair i+1 overlaps pair i of the same volunteer.

    Checking neighbours is enough: if any two of a volunteer's tasks overlap, two
    consecutive ones in start order do (touching ends do not overlap).
    """
    order = np.lexsort((arr.d_start_rank[d], v))
    v, d = v[order], d[order]
    clash: B = (v[1:] == v[:-1]) & (arr.d_start_rank[d[1:]] < arr.d_end_rank[d[:-1]])
    return v, d, clash


def _overbooked(arr: ProblemArrays, rp: Pairs, chosen: B, hours: I64) -> I64:
    """Volunteers whose chosen pairs overlap in time or exceed their hours."""
    v, d, clash = _clashes(arr, rp.v[chosen], rp.d[chosen])
    used = np.bincount(v, weights=arr.d_duration_us[d], minlength=arr.nv)
    return np.unique(np.concatenate([v[1:][clash], np.flatnonzero(used > hours)]))


def _repair_and_refill(arr: ProblemArrays, rp: Pairs, res: _Residual, chosen: B, dem_weight: I64,
                       pair_cost: I64) -> B:
    """Make the flow's choice feasible, then fill the seats it frees, greedily.

    The flow's pairs are kept most valuable first while the rules allow
    (dropping the clashes of overbooked volunteers); then every other candidate
    pair of a demand with a seat left and a volunteer with a task left is tried,
    most valuable and cheapest first. The result is feasible: the CP-SAT
    regions start from it and only improve it.
    """
    order = np.lexsort((pair_cost, -dem_weight[rp.d]))
    kept = greedy_take(arr, rp, order[chosen[order]], res.tasks, res.hours, res.seats)
    return _refill(arr, rp, res, kept, order)


def _swap_improve(arr: ProblemArrays, rp: Pairs, res: _Residual, chosen: B, dem_weight: I64, pair_cost: I64,
                  max_moves: int) -> B:
    """Local search on a feasible choice: give an open seat to a volunteer by dropping less valuable tasks.

    For each demand with an open seat (most valuable first) and each of its
    candidates (cheapest first), the volunteer's tasks that overlap it, and then
    its least valuable tasks until its task and hour caps hold, are dropped when
    they are worth less than the seat; each dropped seat is then offered to its
    other candidates that are free. Every move keeps every rule and raises
    coverage, so the result stays feasible. At most ``max_moves`` moves (a
    deterministic budget).
    """
    by_d = np.lexsort((pair_cost, rp.d))
    d_sorted = rp.d[by_d]
    first = np.searchsorted(d_sorted, np.arange(arr.nd + 1))
    cand = by_d.tolist()
    v_l, d_l = rp.v.tolist(), rp.d.tolist()
    start, end, w = arr.d_start.tolist(), arr.d_end.tolist(), dem_weight.tolist()
    tasks_cap, hours_cap, seats = res.tasks.tolist(), res.hours.tolist(), res.seats.tolist()
    first_l = first.tolist()
    held: dict[int, dict[int, int]] = {}
    filled = [0] * arr.nd
    out = chosen.copy()

    def fits(v: int, d: int) -> bool:
        mine = held.get(v, {})
        if d in mine or len(mine) >= tasks_cap[v]:
            return False
        if sum(end[x] - start[x] for x in mine) + end[d] - start[d] > hours_cap[v]:
            return False
        return not any(start[x] < end[d] and start[d] < end[x] for x in mine)

    def take(i: int) -> None:
        held.setdefault(v_l[i], {})[d_l[i]] = i
        filled[d_l[i]] += 1
        out[i] = True

    for i in np.flatnonzero(chosen).tolist():
        take(i)

    def offer(d: int) -> None:
        for k in range(first_l[d], first_l[d + 1]):
            if filled[d] >= seats[d]:
                return
            i = cand[k]
            if fits(v_l[i], d):
                take(i)

    def swap_into(d: int, budget: int) -> int:
        """Moves that give demand d's open seats to its candidates; returns how many were made."""
        made = 0
        for k in range(first_l[d], first_l[d + 1]):
            if filled[d] >= seats[d] or made >= budget:
                break
            i = cand[k]
            v = v_l[i]
            mine = held.get(v, {})
            if d in mine:
                continue
            drop = [x for x in mine if start[x] < end[d] and start[d] < end[x]]
            rest = sorted((x for x in mine if x not in drop), key=lambda x: w[x])
            n_after = len(rest) + 1
            used = sum(end[x] - start[x] for x in rest) + end[d] - start[d]
            while rest and (n_after > tasks_cap[v] or used > hours_cap[v]):
                x = rest.pop(0)
                drop.append(x)
                n_after -= 1
                used -= end[x] - start[x]
            if n_after > tasks_cap[v] or used > hours_cap[v] or sum(w[x] for x in drop) >= w[d]:
                continue
            for x in drop:
                out[mine.pop(x)] = False
                filled[x] -= 1
            take(i)
            made += 1
            for x in drop:
                offer(x)
        return made

    moves = 0
    by_value = np.argsort(-dem_weight, kind="stable").tolist()
    for _ in range(SWAP_PASSES):
        before = moves
        for d in by_value:
            if filled[d] < seats[d] and first_l[d + 1] > first_l[d] and moves < max_moves:
                moves += swap_into(d, max_moves - moves)
        if moves == before:
            break
    return out


def _round_lp(arr: ProblemArrays, rp: Pairs, res: _Residual, x: F64, dem_weight: I64, pair_cost: I64) -> B:
    """A feasible solution from the LP's: pairs by LP value, then weight, then cost, greedily; then refilled."""
    order = np.lexsort((pair_cost, -dem_weight[rp.d], -np.round(x, 6)))
    kept = greedy_take(arr, rp, order[x[order] > 1e-6], res.tasks, res.hours, res.seats)
    return _refill(arr, rp, res, kept, np.lexsort((pair_cost, -dem_weight[rp.d])))


def _refill(arr: ProblemArrays, rp: Pairs, res: _Residual, kept: B, order: I64) -> B:
    """``kept`` (feasible) plus, in ``order``, every other pair the rules still allow."""
    seats_left = res.seats - np.bincount(rp.d[kept], minlength=arr.nd)
    tasks_left = res.tasks - np.bincount(rp.v[kept], minlength=arr.nv)
    open_pair = ~kept & (seats_left[rp.d] > 0) & (tasks_left[rp.v] > 0)
    return greedy_take(arr, rp, np.concatenate([order[kept[order]], order[open_pair[order]]]),
                       res.tasks, res.hours, res.seats)


def _repair_regions(
    arr: ProblemArrays, rp: Pairs, res: _Residual, chosen: B, flow_chosen: B | None, bad: I64, flow_cov: int,
    dem_weight: I64, pair_cost: I64, pref: B, keep: B, opts: SolveOptions, ph: _Phases, deadline: float,
    stopped: Callable[[], bool],
) -> tuple[B, int, list[dict[str, object]], bool]:
    """Improve the regions around seed volunteers with CP-SAT, starting from the feasible ``chosen``.

    ``flow_chosen`` is the flow relaxation's choice: its value on a whole
    component, less what CP-SAT proves there, tightens the bound (``None``:
    the seeds come from the LP, and the bound is left as it is).
    """
    n_nodes = arr.nv + arr.nd
    from scipy.sparse import coo_matrix  # imported when first needed: scipy costs 0.3 s to import
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(rp)), (rp.v, arr.nv + rp.d)), shape=(n_nodes, n_nodes))
    _, label = connected_components(graph, directed=False)
    pair_comp = label[rp.v]
    comps = np.unique(label[bad])
    comp_pairs = np.bincount(pair_comp, minlength=int(label.max()) + 1)
    bound = flow_cov
    out: list[dict[str, object]] = []
    sec_ok = True
    work: list[tuple[int, I64]] = []  # (component, seeds) per region, in a fixed order
    for c in comps:
        seeds = bad[label[bad] == c]
        work += [(int(c), seeds)] if comp_pairs[c] <= REGION_PAIR_BUDGET else [
            (int(c), chunk) for chunk in _seed_chunks(arr, rp, chosen, seeds, REGION_PAIR_BUDGET // 3)]
    total_pairs = sum(min(int(comp_pairs[c]), REGION_PAIR_BUDGET) for c, _ in work)
    for c, seeds in work:
        # the wall cap leaves the report its time
        wall = deadline - time.perf_counter() - ph.elapsed() * REPORT_SHARE
        if wall < MIN_REGION_WALL_S or stopped():  # past the deadline, or cancelled: keep what we have
            out.append({"seed_volunteers": len(seeds), "skipped": "cancelled" if stopped() else "deadline"})
            continue
        in_comp = pair_comp == c
        region, whole = _region(rp, pair_cost, chosen, in_comp, seeds, REGION_PAIR_BUDGET)
        # a deterministic share of the limit
        budget = CPSAT_SHARE * opts.time_limit_s * min(1.0, len(region) / max(total_pairs, 1))
        region_cov_flow = int(dem_weight[rp.d[region & flow_chosen]].sum()) if flow_chosen is not None else 0
        inp = _region_input(arr, rp, res, chosen, region, dem_weight, pair_cost, pref, keep, opts)
        from matcher.solvers.cpsat import solve_cpsat

        try:
            result = solve_cpsat(inp.cp, budget, opts.seed, opts.threads, wall, stop=stopped)
        except Exception as exc:  # a failing region keeps its feasible start; the other regions go on
            log.warning("CP-SAT failed on a region of %d pairs (%s: %s); it keeps its greedy assignment",
                        len(inp.index), type(exc).__name__, exc)
            out.append({"pairs": len(inp.index), "whole_component": whole, "error": f"{type(exc).__name__}: {exc}"})
            continue
        chosen = chosen.copy()
        chosen[inp.index] = result.chosen
        freed = region.copy()
        freed[inp.index] = False
        chosen[freed] = False  # region pairs CP-SAT could not use (they clash with fixed tasks)
        if whole and flow_chosen is not None:
            bound -= region_cov_flow - min(region_cov_flow, result.coverage_bound)
        sec_ok = sec_ok and whole and result.secondary_proven
        log.debug("CP-SAT region of %d pairs (whole component: %s): coverage %d, bound %d, %.2f s%s", len(inp.index),
                  whole, result.coverage, result.coverage_bound, result.seconds,
                  " (stopped by the wall clock)" if result.wall_capped else "")
        out.append({"pairs": len(inp.index), "whole_component": whole, "seconds": round(result.seconds, 3),
                    "coverage_proven": result.coverage_proven, "secondary_proven": result.secondary_proven,
                    "wall_capped": result.wall_capped})
    return chosen, bound, out, sec_ok


def _seed_chunks(arr: ProblemArrays, rp: Pairs, chosen: B, seeds: I64, pair_budget: int) -> list[I64]:
    """Split the overbooked volunteers of a big component into groups that are close in time and place.

    Seeds are ordered by the day of their first chosen task, then by latitude
    and longitude cell, and cut whenever their candidate pairs would exceed
    ``pair_budget``, so each CP-SAT region is small enough to solve well.
    """
    first = np.full(arr.nv, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, rp.v[chosen], arr.d_start[rp.d[chosen]])
    day = first[seeds] // 86_400_000_000
    cell = np.floor(arr.v_lat[seeds] * 50) * 10_000 + np.floor(arr.v_lon[seeds] * 50)
    seeds = seeds[np.lexsort((cell, day))]
    n_pairs = np.bincount(rp.v, minlength=arr.nv)[seeds]
    chunks: list[I64] = []
    lo, used = 0, 0
    for i, k in enumerate(n_pairs.tolist()):
        if used + k > pair_budget and i > lo:
            chunks.append(seeds[lo:i])
            lo, used = i, 0
        used += k
    chunks.append(seeds[lo:])
    return chunks


def _region(rp: Pairs, pair_cost: I64, chosen: B, in_comp: B, seeds: I64, budget: int) -> tuple[B, bool]:
    """The pairs of a component to re-solve around overbooked (seed) volunteers.

    All of the component when it fits the budget (then CP-SAT's bound holds for
    it). Otherwise every pair of the seeds, plus, for each demand a seed now
    holds, the other volunteers who could take its seat over (cheapest first,
    as many as the budget allows), so that a seat a seed gives up can be refilled.
    """
    if int(in_comp.sum()) <= budget:
        return in_comp, True
    is_seed = np.zeros(int(rp.v.max()) + 1, dtype=bool)
    is_seed[seeds] = True
    region = is_seed[rp.v]
    held = np.unique(rp.d[region & chosen])
    others = np.flatnonzero(member(rp.d, held) & ~region)
    room = max(budget - int(region.sum()), 0)
    if len(others) > room:
        # keep the `per` cheapest candidates of each held demand
        order = others[np.lexsort((pair_cost[others], rp.d[others]))]
        d_sorted = rp.d[order]
        rank = np.arange(len(order)) - np.searchsorted(d_sorted, d_sorted, side="left")
        per = max(1, room // max(len(held), 1))
        others = order[rank < per]
    region[others] = True
    return region, False


def _lp_planned(n_pairs: int, opts: SolveOptions) -> bool:
    """The LP tier runs when the problem is too big for CP-SAT whole and its estimated time fits the limit."""
    return n_pairs > REGION_PAIR_BUDGET and lp_seconds_estimate(n_pairs) <= LP_SHARE * opts.time_limit_s


def lp_seconds_estimate(n_pairs: int) -> float:
    """GLOP's time on the relaxation, by size: 7.5 s at 217k pairs, growing as size^1.25 (100-119 s at 2.08M)."""
    return float(LP_SECONDS_AT_STREET * (n_pairs / 216_718) ** 1.25)


def _lp_tier(arr: ProblemArrays, rp: Pairs, res: _Residual, dem_weight: I64, pair_cost: I64,
             wall_s: float) -> LpResult:
    """Solve the exact model's LP relaxation (pairs sorted by volunteer and start for it); ``x`` in rp's order."""
    from matcher.solvers.lp import LpInput, LpResult, solve_lp

    order = np.lexsort((arr.d_start[rp.d], rp.v))
    v, d = rp.v[order], rp.d[order]
    result = solve_lp(LpInput(v, d, arr.d_start[d], arr.d_end[d], dem_weight[d], pair_cost[order],
                              res.tasks, res.hours, res.seats), wall_s)
    if result.x is None:
        return result
    x = np.empty(len(rp))
    x[order] = result.x
    return LpResult(x, result.coverage_bound, result.rows, result.seconds)


@dataclass(frozen=True, eq=False)
class _RegionInput:
    cp: CpsatInput
    index: I64


def _region_input(
    arr: ProblemArrays, rp: Pairs, res: _Residual, chosen: B, region: B, dem_weight: I64, pair_cost: I64,
    pref: B, keep: B, opts: SolveOptions,
) -> _RegionInput:
    """CP-SAT data for a region, with everything outside it fixed at its current value."""
    fixed = chosen & ~region
    fv, fd = rp.v[fixed], rp.d[fixed]
    tasks = res.tasks - np.bincount(fv, minlength=arr.nv)
    hours = res.hours - np.bincount(fv, weights=arr.d_duration_us[fd], minlength=arr.nv).astype(np.int64)
    seats = res.seats - np.bincount(fd, minlength=arr.nd)
    base = res.base + np.bincount(fv, minlength=arr.nv)
    bonus = res.bonus.copy()
    bonus[fd[pref[fixed]]] = 0
    sv, sd, _ = _clashes(arr, fv, fd)
    clash = _overlaps_pinned(arr, rp, sv, sd)
    index = np.flatnonzero(region & ~clash)
    sub = rp.take(index)
    hint = _greedy_feasible(arr, sub, chosen[index], dem_weight, tasks, hours, seats)
    from matcher.solvers.cpsat import CpsatInput

    cp = CpsatInput(
        pair_v=sub.v, pair_d=sub.d, pair_cost=pair_cost[index], pair_pref=pref[index] & (bonus[sub.d] > 0),
        pair_start=arr.d_start[sub.d], pair_end=arr.d_end[sub.d], vol_cap=tasks, vol_hours=hours, vol_base=base,
        load_unit=costs.load_unit(opts), dem_cap=seats, dem_weight=dem_weight, dem_bonus=bonus, hint=hint,
        pair_keep=keep[index], cost_offset=round(opts.change_weight * costs.SCALE) * int(keep[index].sum()),
    )
    return _RegionInput(cp, index)


def _greedy_feasible(
    arr: ProblemArrays, sub: Pairs, want: B, dem_weight: I64, tasks: I64, hours: I64, seats: I64
) -> B:
    """Keep as many wanted pairs as the rules allow, most valuable first (a feasible hint)."""
    idx = np.flatnonzero(want)
    return greedy_take(arr, sub, idx[np.argsort(-dem_weight[sub.d[idx]], kind="stable")], tasks, hours, seats)


def greedy_take(arr: ProblemArrays, sub: Pairs, order: I64, tasks: I64, hours: I64, seats: I64) -> B:
    """Take pairs in the given order whenever the rules still allow it.

    A pair is taken when its demand has a seat left and its volunteer has a
    task and the hours left and no overlapping task taken so far. ``tasks``,
    ``hours`` and ``seats`` are what is left (they are not changed). Plain
    Python lists: this loop may see every candidate pair of a district.
    """
    keep = np.zeros(len(sub), dtype=bool)
    tasks_l, hours_l, seats_l = tasks.tolist(), hours.tolist(), seats.tolist()
    start_l, end_l = arr.d_start.tolist(), arr.d_end.tolist()
    taken: dict[int, list[tuple[int, int]]] = {}
    for i, v, d in zip(order.tolist(), sub.v[order].tolist(), sub.d[order].tolist()):
        if seats_l[d] < 1 or tasks_l[v] < 1:
            continue
        s, e = start_l[d], end_l[d]
        if hours_l[v] < e - s or any(s < e2 and s2 < e for s2, e2 in taken.get(v, ())):
            continue
        keep[i] = True
        tasks_l[v] -= 1
        seats_l[d] -= 1
        hours_l[v] -= e - s
        taken.setdefault(v, []).append((s, e))
    return keep


def _verify(arr: ProblemArrays, pairs: Pairs, v: I64, d: I64) -> None:
    """Guard: the engine's own output must keep every hard rule; a failure here is a bug."""
    keys = arr.pair_key(v, d)
    problems = []
    if len(np.unique(keys)) != len(keys):
        problems.append("a pair is assigned twice (rule 10)")
    if not member(keys, arr.pair_key(pairs.v, pairs.d)).all():
        problems.append("a pair breaks rules 1-5")
    if (np.bincount(d, minlength=arr.nd) > arr.d_headcount).any():
        problems.append("a demand exceeds its headcount (rule 6)")
    if (np.bincount(v, minlength=arr.nv) > arr.v_max_tasks).any():
        problems.append("a volunteer exceeds max_tasks (rule 8)")
    if (np.bincount(v, weights=arr.d_duration_us[d], minlength=arr.nv) > arr.v_hours_cap_us).any():
        problems.append("a volunteer exceeds max_hours (rule 8)")
    if _clashes(arr, v, d)[2].any():
        problems.append("a volunteer has overlapping demands (rule 7)")
    if problems:
        raise RuntimeError("internal error, solution breaks hard rules: " + "; ".join(problems))

