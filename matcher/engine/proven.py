"""The LP-based tiers for problems too big for CP-SAT whole: sifting LP, Lagrangian proof, region MIP, in one budget.

1. **Bound tier, LP** (:mod:`matcher.engine.sifting`): the exact model's LP by
   sifting over the candidate pairs.
2. **Bound tier, proof** (:mod:`matcher.engine.lagrangian`): the LP's seat prices,
   snapped to a rational grid, give a Lagrangian bound whose core (the contested
   demands and their volunteers) is solved in integers by CP-SAT. This is the
   solve's ``coverage_bound``; it is an exact integer argument, valid however
   each step ends. It runs in a thread beside the LP's rounding and the region MIPs of its parts (CP-SAT and
   HiGHS let go of the GIL; district v2 waited about a second for it at a slow hour, after its first part).
3. **Primal tier** (:mod:`matcher.engine.primal`): the LP rounded, exact region MIPs around its fractional
   columns with the rest fixed (coverage, then the secondary cost with coverage held), widened while the gap
   is open and time is left; local search moves into open seats with the time left.

The wall time is shared out in order of need (:class:`LpBudget`): the LP gets all of it but what the proof, one
region MIP and the report are estimated to need (per candidate pair, scaled by how slowly this solve's candidate
search ran). Its first round may also take the proof's and the MIP's share, keeping back time for a greedy answer,
and so may a later round while the prices cannot yet beat the seats' bound (a proof from them would buy nothing;
the Lagrangian round is then skipped). The primal gets what is left. A step that runs out hands over its best
(the LP's last duals still give a valid bound; the rounded LP is a feasible plan).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matcher.engine.beside import Beside
from matcher.engine.context import SolveContext
from matcher.engine.greedy import fill_open_seats, greedy_take, swap_improve, value_order
from matcher.engine.lagrangian import LagrangianBound, lagrangian_bound
from matcher.engine.primal import (
    disagreement_region,
    fractional_chunks,
    fractional_region,
    has_v2_rules,
    lp_primal,
    with_v2_conflicts,
)
from matcher.engine.sifting import ADD_PER_ROUND, V2_ADD_PER_ROUND, DualPrices, sift_lp
from matcher.engine.types import F64, B
from matcher.model import LagrangianStats, RegionStats, SiftingStats

__all__ = ["REPORT_S_PER_PAIR", "LpBudget", "ProvenResult", "proven_tiers", "report_reserve_s", "slowness"]

log = logging.getLogger(__name__)

REPORT_S_PER_PAIR = 0.2e-6
"""Wall time kept back for the report (KPIs, the unmet reasons from the ladder counted beside the tiers) per
candidate pair, on top of :data:`REPORT_BASE_S` (district: 0.3-0.6 s for 2.08 M pairs; its v2 world 0.45-0.7 s
for 1.62 M)."""

REPORT_BASE_S = 0.3

CANDIDATES_S_PER_PAIR = 0.85e-6
"""The candidate search's time per pair up to which the machine counts as calibrated (:func:`slowness`): 1.77 s on
the district (2.08 M pairs; its two threads take 1.1-1.3 s quiet, 1.7-2.2 s in a slow hour). Counted from 0.6 µs, a
slow run's reserve after the LP came to 5.5 s where the rest took 4.1 s, and its LP stopped a round short (0.425%)."""

BOUND_S_PER_PAIR = 0.75e-6
"""The Lagrangian bound's wall time per candidate pair, kept from the LP (district: 1.0-1.2 s quiet, 1.6-1.8 s slow)."""

V2_BOUND_S_PER_PAIR = 1.0e-6
""":data:`BOUND_S_PER_PAIR` with travel times or crews: a bigger core (district v2: 1.0-1.55 s for 1.62 M pairs)."""

FALLBACK_S_PER_PAIR = 0.4e-6
"""The greedy answer's wall time per pair on a quiet machine (:func:`~matcher.engine.greedy.hurried`; district:
0.5-0.65 s for 2.08 M pairs, half-hour shape 0.66 s for 2.28 M): kept back from the LP's first round."""

V2_FALLBACK_S_PER_PAIR = 0.65e-6
""":data:`FALLBACK_S_PER_PAIR` with travel times or crews (district v2 world: 0.84 s for 1.62 M pairs)."""

CORE_DET_PER_S = 0.05
"""CP-SAT's deterministic budget for the Lagrangian core, per second of time limit."""

DISAGREE_PAIRS = 3
"""The region where plan and LP staff demands differently (:func:`~matcher.engine.primal.disagreement_region`) runs
once every part is proven, before the whole region, with at most this many times a part's pairs. District v2 at 20 s:
parts 123,935, this region 123,956, the whole one 123,964 in 3 of 3 (the other way round: 123,953, then 123,959)."""

MAX_WIDEN = 3
"""Most widenings of the primal region."""

REGION_MIP_PAIRS = 25_000
"""A region MIP bigger than this is cut into chunks of the LP's fractional columns, close in day and place."""

MAX_CORE = 30_000
"""A Lagrangian core with more pairs than this is not built (CP-SAT's model alone would take seconds); the core's
relaxed value (each volunteer's best schedule) stands for it."""

MAX_UNPRICED_CORE = 20_000
"""The second, tighter bound (contested seats kept but not priced) runs when its core has at most this many pairs."""

SECONDARY_SHARE = 0.1
"""The secondary stage (coverage held) may take this share of the time limit, at most."""

HIGHS_OVERRUN_S_PER_PAIR = 2.5e-6
"""HiGHS's MIP may run past its time limit before its first check (root presolve and cuts): the secondary stage
of a 10,752-pair region of the district (2.08 M candidate pairs), coverage held by one dense row, took 4.5-6.3 s
under a 2 s limit, and ``cancelSolve`` from another thread came as late. That stage starts only with this much
time to spare per candidate pair of the problem (its regions grow with it): about 5 s on the district."""

MIN_MIP_S = 0.6
"""A region MIP starts only with this much wall time left after the report's reserve (district: 7,364 pairs, 0.3 s)."""

V2_REGION_MIP_PAIRS = 6_000
""":data:`REGION_MIP_PAIRS` with travel times or crews: HiGHS proves a region of this size in about half a
second (district, rule 7b's rows in), one of 20,000 pairs not in 6 s; small regions one after another gain more."""

V2_MIPS = 3
"""Region MIPs the LP leaves time for with travel times or crews (one without): the LP's plan may break rules 7b
and 11, and each region of :data:`V2_REGION_MIP_PAIRS` pairs wins back part of what that lost. On the district
a region won back 250-600 points in 0.2 s while the LP's rows left rule 7b out, more than a last LP round did;
since they hold most of it (:func:`~matcher.engine.sequencing.clique_ends`), the first regions win 75-82."""

WHOLE_REGION_S = 1.5
"""With this much wall time left besides a region's overhead (and :data:`WHOLE_REGION_S_PER_PAIR`) once every part
is proven, the whole fractional region is one MIP from the plan so far, for what crosses parts (a crew whose candidates
other parts hold). District v2 at 20 s: 123,946 of 124,032 in 3 of 3 runs, against 123,936-123,937."""

WHOLE_REGION_S_PER_PAIR = 1e-4
"""Wall time per pair, times :func:`slowness`, the whole and the disagreement region need (HiGHS does not stop before
its root): the half-hour's 55,469-pair region, given 1.4 s at slowness 1.67, took 5.3 s (the command 21.6 s), about
5.7e-5 s a pair quiet; twice that for a margin (solved whole, quiet: 6.2 s)."""

WHOLE_REGION_SHARE = 0.8
"""The whole region's MIP may take this share of the wall time left (0.5 reached the better plan in 2 of 3 runs
at 20 s on district v2, 0.8 in 3 of 3); the widened parts get the rest."""

V2_MIN_MIP_S = 0.5
""":data:`MIN_MIP_S` with travel times or crews (regions of :data:`V2_REGION_MIP_PAIRS` pairs)."""

SWAP_S_PER_PAIR = 0.3e-6
"""Wall time per candidate pair of the local search (:func:`~matcher.engine.greedy.swap_improve`) ending the primal
in time too short for a region MIP (district v2: 0.3 s for 1.62 M pairs, 2-4 points after the regions). It runs
before the regions when they cannot all run in the time left: the district with tight hour caps at 20 s, 3,186
contested demands, rounds 6.9% under its bound, and moves take it from 102,671 to 108,354 in 0.5 s, 108,444-108,469
at the end against 107,246 (regions only); on v1 and v2, whose regions all run, moves first cost them 4-9 points."""

LEAST_AFTER_LP_S = 1.5
"""The least wall time the bound and the primal take after the LP, quiet: CP-SAT's import, the core, the rounding."""

LP_ROUNDING_S = 0.4
"""Wall time between the bound and the first region MIP, quiet: the LP rounded, its region cut into parts (district:
0.35 s at a slow hour). Without it a run's LP ended 0.05 s too late for the first region (170 points, the LP's 8)."""

MIP_OVERHEAD_S = 0.5
"""Wall time around a region MIP besides HiGHS's own (the region's model, its answer made exact, the rounding
around it), on a quiet machine: district 0.4 s (7,364 pairs), its half-hour shape 0.9 s (13,312 pairs)."""

V2_MIP_OVERHEAD_S = 0.4
""":data:`MIP_OVERHEAD_S` with travel times or crews (regions of :data:`V2_REGION_MIP_PAIRS` pairs)."""

V2_STOP_GAP = 150.0
"""Sifting's :data:`~matcher.engine.sifting.STOP_GAP` with travel times or crews. The bound is the Lagrangian
one, whose integral core keeps SPEC v1's rules (leaving 7b and 11 out only loosens it): on the district the LP
stopped 90 points short of its prices' dual bound gave the same bound (128,485) as the LP to 0.5 points, a
second sooner for the MIPs (measured before the LP's rows held rule 7b)."""


@dataclass(frozen=True, eq=False)
class ProvenResult:
    """A feasible choice over ``ctx.rp``, its proven bound, and what each tier did."""

    chosen: B
    bound: int
    sifting: SiftingStats
    lagrangian: list[LagrangianStats]
    regions: list[RegionStats]
    wall_cut: bool
    """The wall clock, not a deterministic budget, stopped a step: another run may differ."""


def report_reserve_s(n_pairs: int, slow: float = 1.0) -> float:
    """Wall seconds kept back for the report of a problem with ``n_pairs`` candidate pairs.

    ``slow`` is how much slower than calibrated the machine ran this solve's
    candidate search (:func:`slowness`): a loaded machine reports slowly too.
    """
    return (REPORT_BASE_S + REPORT_S_PER_PAIR * n_pairs) * max(1.0, slow)


@dataclass(frozen=True)
class LpBudget:
    """What the LP leaves for the steps after it, in wall seconds, scaled by the machine's :func:`slowness`.

    The LP's rounds get the time left but ``after_lp_s`` (the bound, one region MIP and the report); its
    first round may go on until only ``report_s + fallback_s`` is left, since a first round the clock stops
    leaves the greedy answer (``fallback_s``) to be made; a later round whose prices could not yet prove
    more than the seats' bound, until ``report_s + least_after_s`` is left (the least bound and rounding).
    """

    report_s: float
    after_lp_s: float
    fallback_s: float
    least_after_s: float

    @classmethod
    def of(cls, ctx: SolveContext, v2: bool) -> LpBudget:
        """The budget of this solve's candidate pairs (``len(ctx.rp)``) on this machine."""
        n, slow = len(ctx.rp), slowness(ctx)
        report = report_reserve_s(n, slow)
        bound = (V2_BOUND_S_PER_PAIR if v2 else BOUND_S_PER_PAIR) * n * slow
        mip = V2_MIPS * (V2_MIN_MIP_S + V2_MIP_OVERHEAD_S * slow) if v2 else MIN_MIP_S + MIP_OVERHEAD_S * slow
        mip += LP_ROUNDING_S * slow
        fallback = (V2_FALLBACK_S_PER_PAIR if v2 else FALLBACK_S_PER_PAIR) * n * slow
        return cls(report_s=report, after_lp_s=report + bound + mip, fallback_s=fallback,
                   least_after_s=LEAST_AFTER_LP_S * slow)


def slowness(ctx: SolveContext) -> float:
    """How much slower than on a quiet machine this solve's candidate search ran (1 = as calibrated)."""
    expected = CANDIDATES_S_PER_PAIR * max(len(ctx.rp), 1)
    return max(1.0, ctx.clock.seconds.get("candidates", 0.0) / expected) if expected > 0.2 else 1.0


def proven_tiers(ctx: SolveContext, extra: B | None = None) -> ProvenResult | None:
    """Run the tiers of the module docstring; ``None`` when not even one LP round fitted (the caller falls back).

    ``extra`` (bool over ``ctx.rp``) seeds the LP's working set besides each demand's nearest candidates.
    """
    clock = ctx.clock
    v2 = has_v2_rules(ctx)
    budget = LpBudget.of(ctx, v2)
    reserve = budget.report_s
    seats = ctx.seats_bound()  # the seats with candidates: a bound too, the better one when the LP stopped early
    lp = sift_lp(ctx, clock.left() - budget.after_lp_s, extra, stop_gap=V2_STOP_GAP if v2 else None,
                 add_per_round=V2_ADD_PER_ROUND if v2 else ADD_PER_ROUND,
                 first_wall_s=clock.left() - budget.report_s - budget.fallback_s,
                 early_wall_s=clock.left() - budget.report_s - budget.least_after_s, useless_from=seats,
                 presolve_first=v2)
    clock.done("sifting")
    if lp is None:
        return None
    wall_cut = not lp.converged
    sift = SiftingStats(rounds=lp.rounds, columns=lp.columns, clique_rows=lp.clique_rows,
                        lp_value=round(lp.value, 6), converged=lp.converged, seconds=round(lp.seconds, 3))
    hopeless = not lp.converged and lp.dual_bound >= seats  # (see sift_lp's useless_from): time for the primal
    if hopeless:
        log.info("Lagrangian bound skipped: the LP stopped early, its prices' dual bound %.0f is above the seats' %d",
                 lp.dual_bound, seats)
    proof = Beside(lambda: _prove(ctx, lp.duals, lp.x, budget, reserve), "bound", fork=False) if not hopeless else None
    bounds: list[LagrangianBound] = []

    def bound_now() -> int:  # the proven bound; the first call waits for the proof
        if proof is not None and not bounds:
            bounds.extend(proof.result())
            clock.done("rounding and its parts, the bound beside")
        return min([seats, *(b.bound for b in bounds)])

    chosen, regions, cut = _primal(ctx, lp.x, bound_now, reserve)
    bound = bound_now()
    wall_cut |= cut or any(b.wall_capped for b in bounds)
    clock.done("primal")
    log.info("LP tiers: coverage %d, bound %d (LP %.2f)", ctx.coverage(chosen), bound, lp.value)
    return ProvenResult(chosen, bound, sift, [b.stats() for b in bounds], regions, wall_cut)


def _prove(ctx: SolveContext, duals: DualPrices, x: F64, budget: LpBudget, reserve: float) -> list[LagrangianBound]:
    """The Lagrangian bounds of the LP's prices ``duals`` and values ``x``: priced, then (with time) unpriced."""
    bounds: list[LagrangianBound] = []
    for priced in (True, False):  # (the tighter unpriced round builds a core too: not with the report's time)
        if priced or ctx.clock.left() - reserve >= budget.least_after_s:
            got = lagrangian_bound(ctx, duals, x, CORE_DET_PER_S * ctx.opts.time_limit_s,
                                   max(0.1, 0.5 * (ctx.clock.left() - reserve)), price_contested=priced,
                                   max_core_pairs=MAX_CORE if priced else MAX_UNPRICED_CORE)
            bounds += [] if got is None else [got]
    return bounds


def _primal(ctx: SolveContext, x: F64, bound: Callable[[], int], reserve: float) -> tuple[B, list[RegionStats], bool]:
    """The primal tier: a feasible choice (bool over ``ctx.rp``), the region MIPs run, and whether the clock cut one.

    The LP's integral part (columns it could not keep, e.g. a crew left short when a crew formed before it took
    one of its volunteers, count as fractional: a region decides them; district v2 at 60 s: 123,938 against
    123,932); local search moves first when the time left cannot run every part's region MIP; then region MIPs
    (coverage) chunk by chunk; when every chunk's is proven, the region where the plan and the LP staff demands
    differently (:data:`DISAGREE_PAIRS`), the whole region at once (:data:`WHOLE_REGION_S`), both only with time
    for their size (:data:`WHOLE_REGION_S_PER_PAIR`), then the chunks widened while the gap stays open; then the
    secondary cost with coverage held on the last region; a greedy refill of what no MIP reached; last, with time
    too short for another region MIP, local search moves into open seats (:data:`SWAP_S_PER_PAIR`). The chunks of
    the LP's rounding run without waiting for the proof (``bound``), the later steps with its bound.
    """
    clock, lp_x = ctx.clock, x
    marked = with_v2_conflicts(ctx, x)
    support = np.flatnonzero(x > 1e-6)
    weight = ctx.dem_weight[ctx.rp.d[support]]
    order = support[np.lexsort((ctx.pair_cost[support], -weight, -np.round(marked[support], 6)))]
    chosen = greedy_take(ctx.arr, ctx.rp, order, ctx.res.tasks, ctx.res.hours, ctx.res.seats, ctx.res.crew)
    if marked is not x:  # the LP's plan broke SPEC v2's rules: the seats it loses are offered to everyone else
        before = ctx.coverage(chosen)
        chosen = fill_open_seats(ctx, chosen)
        log.info("LP rounded under rules 7b and 11: coverage %d, refilled to %d", before, ctx.coverage(chosen))
    # the LP's integral columns the rounding could not keep (a crew formed first took one of a later crew's
    # volunteers, leaving that crew short): the regions decide them too
    lost = (marked > 1 - 1e-6) & ~chosen
    if lost.any():
        marked = marked.copy() if marked is x else marked
        marked[lost] = 0.5
        log.info("LP rounded: %d of its integral columns lost, handed to the regions", int(lost.sum()))
    x = marked
    regions: list[RegionStats] = []
    wall_cut = False
    v2 = has_v2_rules(ctx)
    max_pairs = V2_REGION_MIP_PAIRS if v2 else REGION_MIP_PAIRS
    chunks = fractional_chunks(ctx, x, max_pairs)
    min_mip_s = V2_MIN_MIP_S if v2 else MIN_MIP_S
    overhead_s = (V2_MIP_OVERHEAD_S if v2 else MIP_OVERHEAD_S) * slowness(ctx)
    if len(chunks) * (min_mip_s + overhead_s) > clock.left() - reserve:  # the regions cannot all run: moves first
        chosen = _swaps(ctx, chosen, ctx.seats_bound(), reserve, "before the regions, too many for the time left")

    def run(xc: F64, wall: float, widen: int = 0, secondary_s: float = 0.0, region: B | None = None) -> bool:
        nonlocal chosen, wall_cut
        got = lp_primal(ctx, xc, chosen, wall, widen, secondary_s, region)
        if got.region is not None:
            regions.append(got.region)
            wall_cut |= bool(got.region.wall_capped)
        if ctx.coverage(got.chosen) >= ctx.coverage(chosen):
            chosen = got.chosen
        return got.region is not None and bool(got.region.coverage_proven)

    def room(rounding: bool = False) -> float | None:
        """Wall seconds left for a region MIP; ``None`` once the gap is closed, the solve stopped or time ran out.

        The ``rounding``'s parts do not wait for the proof, whenever it ends, so the same parts run either way (a
        slow hour's district v2 waited a second after its first part; a gap the proof closes meanwhile costs time).
        """
        nonlocal wall_cut
        left = clock.left() - reserve
        if (not rounding and ctx.coverage(chosen) >= bound()) or clock.stopped():
            return None
        if left < min_mip_s + overhead_s:
            wall_cut = True  # the clock, not the problem, ended the primal here
            return None
        return left

    def big(region: B, room_s: float | None) -> float | None:  # a big region's wall, when it has time for its size
        wall = None if room_s is None else min(room_s - overhead_s, WHOLE_REGION_SHARE * room_s)
        need = WHOLE_REGION_S_PER_PAIR * int(region.sum()) * slowness(ctx)
        return wall if wall is not None and wall >= need else None

    def solve_parts(parts: list[F64], widen: int) -> int:
        """Each part's region MIP in turn, while there is room; how many were proven."""
        proven = 0
        for k, xc in enumerate(parts):
            left = room(rounding=widen == 0)
            if left is None:
                break
            proven += run(xc, min(left - overhead_s, max(min_mip_s, 2 * left / (len(parts) - k))), widen)
        return proven

    solved = solve_parts(chunks, 0)
    parts_proven = len(chunks) > 1 and solved == len(chunks)
    left = room() if solved == len(chunks) else None
    disagree = disagreement_region(ctx, lp_x, chosen) if left is not None else None
    if disagree is not None and 0 < int(disagree.sum()) <= DISAGREE_PAIRS * max_pairs and (wall := big(disagree, left)):
        run(x, wall, region=disagree)  # where plan and LP differ
    left = room() if parts_proven else None
    whole = fractional_region(ctx, x) if left is not None and left - overhead_s >= WHOLE_REGION_S else None
    if whole is not None and (wall := big(whole, left)):
        run(x, wall, region=whole)  # the whole region at once, from the plan so far
    for widen in range(1, MAX_WIDEN + 1) if parts_proven else ():
        # every part proven and time left: the parts again, each region wider (the parts are cut anew)
        wider = fractional_chunks(ctx, x, max_pairs, widen)
        if solve_parts(wider, widen) < len(wider):
            break
    if len(chunks) == 1 and solved:
        widen = 0
        for widen in range(1, MAX_WIDEN + 1):  # a wider region while the gap stays open
            left = room()
            if left is None or not run(x, left - overhead_s, widen):
                break
        left = clock.left() - reserve - HIGHS_OVERRUN_S_PER_PAIR * len(ctx.rp) * slowness(ctx)
        if left > min_mip_s + 0.5 and not clock.stopped():
            run(x, 0.4 * left, widen - 1, secondary_s=min(0.5 * left, SECONDARY_SHARE * ctx.opts.time_limit_s))
        else:
            wall_cut = True
    if solved < len(chunks):  # what no MIP reached: refill the LP's fractional region greedily
        region = np.flatnonzero(fractional_region(ctx, x) & ~chosen)
        refill = region[value_order(ctx.dem_weight[ctx.rp.d[region]], ctx.pair_cost[region])]
        chosen = greedy_take(ctx.arr, ctx.rp, np.concatenate([np.flatnonzero(chosen), refill]), ctx.res.tasks,
                             ctx.res.hours, ctx.res.seats, ctx.res.crew)
    return _swaps(ctx, chosen, bound(), reserve, "after the regions"), regions, wall_cut


def _swaps(ctx: SolveContext, chosen: B, bound: int, reserve: float, when: str) -> B:
    """``chosen`` after the local search's moves into open seats, when a gap is open and they have the time."""
    clock = ctx.clock
    need_s = SWAP_S_PER_PAIR * len(ctx.rp) * slowness(ctx)
    if ctx.coverage(chosen) >= bound or clock.stopped() or clock.left() - reserve < need_s:
        return chosen
    before = ctx.coverage(chosen)
    chosen = swap_improve(ctx, chosen)
    log.info("swaps %s: coverage %d -> %d", when, before, ctx.coverage(chosen))
    return chosen
