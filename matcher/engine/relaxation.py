"""Relaxations: the flow's bound tier, and when the LP tiers run instead.

**Flow rounds** (:func:`flow_rounds`, the network in
:mod:`matcher.engine.solvers.flow`). A volunteer can be given *groups*, sets of
its pairs whose windows share a point, with one pair allowed per group. Round 1
gives nobody groups. Later rounds give the volunteers the flow overbooked a
minimum clique cover, then covers anchored at the points where their tasks
clashed. Every round relaxes the true rules (two tasks in different groups may
still overlap; the hour cap only limits the task count), so each coverage is an
upper bound and the least is kept. How many rounds run is estimated from the
network's size and the time limit, never read off a clock.

**When the LP tiers run** (:func:`lp_planned`): the exact model's LP by sifting
and the proof and primal tiers built on it (:mod:`matcher.engine.proven`) run
when the problem is too big for CP-SAT whole and the LP's estimated time fits
the limit; then the flow is not needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from matcher.engine import costs, regions
from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.candidates import Pairs
from matcher.engine.context import Residual, SolveContext, held_signals
from matcher.engine.intervals import clique_cover
from matcher.engine.rules import task_clashes
from matcher.engine.sequencing import sequence_conflicts
from matcher.engine.types import I64, B
from matcher.model import SolveOptions

if TYPE_CHECKING:  # OR-Tools' min-cost flow is imported when first used (0.06-0.09 s)
    from matcher.engine.solvers.flow import FlowResult

__all__ = ["FLOW_SECONDS_PER_ARC", "FlowRounds", "flow_rounds", "lp_planned", "lp_seconds_estimate"]

log = logging.getLogger(__name__)

MAX_FLOW_ROUNDS = 8
"""Most flow solves while adding clique groups for overbooked volunteers."""

FLOW_TIME_SHARE = 0.45
"""Flow rounds may take (by estimate) this share of the time limit."""

FLOW_SECONDS_PER_ARC = 3.5e-6
"""Estimated flow time per arc (measured on this project's 2-core machine); an
estimate rather than a clock reading keeps the number of rounds reproducible."""

LP_SHARE = 0.7
"""The LP tiers run when the sifting LP's estimated time is at most this share of the limit (and the
problem is too big for CP-SAT whole)."""

SIFT_S_PER_PAIR = 4.5e-6
"""Estimated sifting time per candidate pair on this project's machine (district: about 9 s for 2.08 M pairs)."""


@dataclass(frozen=True, eq=False)
class FlowRounds:
    """What the flow rounds found: the last round's (relaxed) choice and the least bound over the rounds."""

    chosen: B
    """The last round's choice over the residual pairs (may break rules 7 and 8)."""
    bound: int
    """The least coverage over the rounds: an upper bound of the residual problem's optimum."""
    last: FlowResult
    """The last round's flow (its coverage bounds the regions CP-SAT solves whole)."""
    overbooked: I64
    """Volunteers whose chosen tasks in the last round overlap or exceed their hours."""
    rounds: int


def flow_rounds(ctx: SolveContext, lp_planned: bool) -> FlowRounds:
    """Run the flow in rounds while they may tighten the bound (see the module docstring).

    Any partition of a volunteer's pairs into cliques gives a valid relaxation,
    so every round's coverage is an upper bound and the least is kept. Round 1
    groups nobody (cheap). Later rounds give volunteers the flow overbooked a
    clique cover anchored at the points where their tasks clashed, which rules
    that clash out; a volunteer who never clashes needs no group at all. When
    the LP tier will run (``lp_planned``) its bound is the tighter one: one
    round only.
    """
    with held_signals():
        from matcher.engine.solvers.flow import FlowInput, solve_flow

    arr, rp, res, opts = ctx.arr, ctx.rp, ctx.res, ctx.opts
    dur = arr.d_duration_us[rp.d]
    group, n_groups_v = clique_groups(arr, rp)
    cap = np.minimum(res.tasks, np.minimum(n_groups_v, _hours_task_cap(rp, dur, res.hours, arr.nv)))
    ctx.clock.done("model")
    grouped = np.zeros(arr.nv, dtype=bool)
    pair_group = np.arange(len(rp), dtype=np.int64) + int(group.max(initial=-1)) + 1
    next_group = int(pair_group.max(initial=-1)) + 1
    anchors: dict[int, set[int]] = {}
    bound = -1
    rounds = stale = 0
    while True:
        rounds += 1
        flow = solve_flow(
            FlowInput(arr.nv, arr.nd, rp.v, rp.d, ctx.pair_cost, pair_group, ctx.pref, cap,
                      res.base, costs.load_unit(opts), res.seats, ctx.dem_weight, res.bonus)
        )
        stale = stale + 1 if 0 <= bound <= flow.coverage else 0
        bound = flow.coverage if bound < 0 else min(bound, flow.coverage)
        chosen = flow.chosen.copy()
        bad = _overbooked(arr, rp, chosen, res)
        log.info("flow round %d: coverage bound %d, %d volunteers overbooked", rounds, flow.coverage, len(bad))
        if len(bad) == 0 or rounds >= MAX_FLOW_ROUNDS or stale >= 2 or lp_planned or ctx.clock.stopped():
            break
        if (rounds + 1) * FLOW_SECONDS_PER_ARC * flow.arcs > FLOW_TIME_SHARE * opts.time_limit_s:
            break  # another round would only tighten the bound; keep the time for CP-SAT
        fresh = bad[~grouped[bad] & (n_groups_v[bad] > 1) & (cap[bad] > 1)]
        grouped[fresh] = True
        pair_group = np.where(member(rp.v, fresh), group, pair_group)
        changed = _add_clash_anchors(arr, rp, chosen, grouped, anchors, first=rounds == 1)
        if len(fresh) == 0 and not changed:
            break
        pair_group, next_group = _anchored_groups(arr, rp, pair_group, changed, anchors, next_group)
    return FlowRounds(chosen, bound, flow, bad, rounds)


def clique_groups(arr: ProblemArrays, pairs: Pairs) -> tuple[I64, I64]:
    """A minimum clique cover of each volunteer's candidate windows: group of each pair, groups per volunteer."""
    return clique_cover(pairs.v, arr.d_start_rank[pairs.d], arr.d_end_rank[pairs.d], arr.nv)


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
    arr: ProblemArrays, rp: Pairs, chosen: B, grouped: B, anchors: dict[int, set[int]], first: bool
) -> list[int]:
    """Record, for grouped volunteers whose chosen tasks overlap, a time point inside each overlap.

    In the first round nobody had groups, so plain clique groups are tried first
    and no anchors are taken. Returns the volunteers whose anchors changed.
    """
    if first:
        return []
    v, d, clash = task_clashes(arr, rp.v[chosen], rp.d[chosen])
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
    (:func:`clique_groups`). Every group is a clique (its pairs share a point),
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
        groups, _ = clique_groups(arr, rp.take(idx))
        pair_group[idx] = next_group + groups
        next_group += int(groups.max()) + 1
    return pair_group, next_group


def _overbooked(arr: ProblemArrays, rp: Pairs, chosen: B, res: Residual) -> I64:
    """Volunteers whose chosen pairs break a plan rule: overlap (7), hours (8), no time to travel (7b), crews (11)."""
    v, d, clash = task_clashes(arr, rp.v[chosen], rp.d[chosen])
    used = np.bincount(v, weights=arr.d_duration_us[d], minlength=arr.nv)
    ci, _ = sequence_conflicts(arr, v, d)
    short = res.crew_short(np.bincount(d, minlength=arr.nd))
    return np.unique(np.concatenate([v[1:][clash], np.flatnonzero(used > res.hours), v[ci], v[short[d]]]))


def lp_planned(n_pairs: int, opts: SolveOptions) -> bool:
    """The LP tiers run when the problem is too big for one CP-SAT region and the LP's estimated time fits the limit."""
    return n_pairs > regions.REGION_PAIR_BUDGET and lp_seconds_estimate(n_pairs) <= LP_SHARE * opts.time_limit_s


def lp_seconds_estimate(n_pairs: int) -> float:
    """The sifting LP's time by size: :data:`SIFT_S_PER_PAIR` per candidate pair (about 9 s at 2.08 M)."""
    return float(SIFT_S_PER_PAIR * n_pairs)
