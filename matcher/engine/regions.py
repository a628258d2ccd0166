"""Exact neighbourhoods: CP-SAT solves regions of the problem with every rule exact, the rest fixed.

:func:`improve_regions` starts from a feasible choice and hands CP-SAT
(:mod:`matcher.engine.solvers.cpsat`) one region at a time: a whole connected
component of the candidate graph when it is small enough (then CP-SAT's bound
holds for it and tightens the flow's), else neighbourhoods of the seed
volunteers (those the flow overbooked, or those with fractional LP pairs),
close in day and place, with everything outside fixed at its current value.
Each region gets a deterministic share of the time limit, so the same input
and seed give the same answer; the wall clock only caps a region near the
deadline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.engine import costs
from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.candidates import Pairs
from matcher.engine.context import SolveContext, held_signals, no_time_after, overlaps_tasks
from matcher.engine.greedy import greedy_take
from matcher.engine.rules import task_clashes
from matcher.engine.sequencing import sequence_conflicts
from matcher.engine.types import I64, US_PER_DAY, B
from matcher.model import RegionStats

if TYPE_CHECKING:  # the solver module imports OR-Tools' CP-SAT (about 1 s): only when used
    from matcher.engine.solvers.cpsat import CpsatInput

__all__ = ["CPSAT_SHARE", "MIN_REGION_WALL_S", "REGION_PAIR_BUDGET", "REPORT_SHARE", "Regions", "improve_regions",
           "region_input"]

log = logging.getLogger(__name__)

CPSAT_SHARE = 0.5
"""Share of the time limit that the CP-SAT regions get (as deterministic budget)."""

REPORT_SHARE = 0.1
"""Wall time kept back for the report, as a share of the time spent before CP-SAT."""

MIN_REGION_WALL_S = 0.5
"""A CP-SAT region starts only with at least this much wall time left before the deadline."""

REGION_PAIR_BUDGET = 60_000
"""Largest region (in candidate pairs) handed to CP-SAT at once; a problem bigger than this gets the LP tier."""


@dataclass(frozen=True, eq=False)
class Regions:
    """What the CP-SAT regions made of a feasible choice."""

    chosen: B
    bound: int
    """The flow's coverage less what CP-SAT proved on whole components (unchanged when the seeds came from the LP)."""
    regions: list[RegionStats]
    secondary_proven: bool
    """Every region was a whole component whose secondary CP-SAT proved minimal."""


def improve_regions(ctx: SolveContext, chosen: B, relaxed: B | None, seeds: I64, flow_coverage: int) -> Regions:
    """Improve the regions around seed volunteers with CP-SAT, starting from the feasible ``chosen``.

    ``relaxed`` is the flow relaxation's choice: its value on a whole
    component, less what CP-SAT proves there, tightens the bound
    ``flow_coverage`` (``None``: the seeds come from the LP, and the bound is
    left as it is).
    """
    arr, rp, opts, clock = ctx.arr, ctx.rp, ctx.opts, ctx.clock
    n_nodes = arr.nv + arr.nd
    from scipy.sparse import coo_matrix  # imported when first needed: scipy costs 0.3 s to import
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(rp)), (rp.v, arr.nv + rp.d)), shape=(n_nodes, n_nodes))
    _, label = connected_components(graph, directed=False)
    pair_comp = label[rp.v]
    comps = np.unique(label[seeds])
    comp_pairs = np.bincount(pair_comp, minlength=int(label.max()) + 1)
    bound = flow_coverage
    out: list[RegionStats] = []
    sec_ok = True
    work: list[tuple[int, I64]] = []  # (component, seeds) per region, in a fixed order
    for c in comps:
        mine = seeds[label[seeds] == c]
        work += [(int(c), mine)] if comp_pairs[c] <= REGION_PAIR_BUDGET else [
            (int(c), chunk) for chunk in _seed_chunks(arr, rp, chosen, mine, REGION_PAIR_BUDGET // 3)]
    total_pairs = sum(min(int(comp_pairs[c]), REGION_PAIR_BUDGET) for c, _ in work)
    for c, mine in work:
        # the wall cap leaves the report its time
        wall = clock.left() - clock.elapsed() * REPORT_SHARE
        if wall < MIN_REGION_WALL_S or clock.stopped():  # past the deadline, or cancelled: keep what we have
            out.append(RegionStats(seed_volunteers=len(mine), skipped="cancelled" if clock.stopped() else "deadline"))
            continue
        in_comp = pair_comp == c
        region, whole = _region(rp, ctx.pair_cost, chosen, in_comp, mine, REGION_PAIR_BUDGET)
        # a deterministic share of the limit
        budget = CPSAT_SHARE * opts.time_limit_s * min(1.0, len(region) / max(total_pairs, 1))
        region_cov_flow = int(ctx.dem_weight[rp.d[region & relaxed]].sum()) if relaxed is not None else 0
        cp, index = region_input(ctx, chosen, region)
        with held_signals():
            from matcher.engine.solvers.cpsat import solve_cpsat

        try:
            result = solve_cpsat(cp, budget, opts.seed, opts.threads, wall, stop=clock.stopped)
        except Exception as exc:  # a failing region keeps its feasible start; the other regions go on
            log.warning("CP-SAT failed on a region of %d pairs (%s: %s); it keeps its greedy assignment",
                        len(index), type(exc).__name__, exc)
            out.append(RegionStats(pairs=len(index), whole_component=whole, error=f"{type(exc).__name__}: {exc}"))
            continue
        chosen = chosen.copy()
        chosen[index] = result.chosen
        freed = region.copy()
        freed[index] = False
        chosen[freed] = False  # region pairs CP-SAT could not use (they clash with fixed tasks)
        if whole and relaxed is not None:
            bound -= region_cov_flow - min(region_cov_flow, result.coverage_bound)
        sec_ok = sec_ok and whole and result.secondary_proven
        log.debug("CP-SAT region of %d pairs (whole component: %s): coverage %d, bound %d, %.2f s%s", len(index),
                  whole, result.coverage, result.coverage_bound, result.seconds,
                  " (stopped by the wall clock)" if result.wall_capped else "")
        out.append(RegionStats(pairs=len(index), whole_component=whole, seconds=round(result.seconds, 3),
                               coverage_proven=result.coverage_proven, secondary_proven=result.secondary_proven,
                               wall_capped=result.wall_capped))
    return Regions(chosen, bound, out, sec_ok)


def _seed_chunks(arr: ProblemArrays, rp: Pairs, chosen: B, seeds: I64, pair_budget: int) -> list[I64]:
    """Split the seed volunteers of a big component into groups that are close in time and place.

    Seeds are ordered by the day of their first chosen task, then by latitude
    and longitude cell, and cut whenever their candidate pairs would exceed
    ``pair_budget``, so each CP-SAT region is small enough to solve well.
    """
    first = np.full(arr.nv, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, rp.v[chosen], arr.d_start[rp.d[chosen]])
    day = first[seeds] // US_PER_DAY
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
    """The pairs of a component to re-solve around the seed volunteers.

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


def region_input(ctx: SolveContext, chosen: B, region: B) -> tuple[CpsatInput, I64]:
    """CP-SAT data for a region, with everything outside it fixed at its current value; and the region's pairs."""
    arr, rp, res, opts = ctx.arr, ctx.rp, ctx.res, ctx.opts
    fixed = chosen & ~region
    fv, fd = rp.v[fixed], rp.d[fixed]
    tasks = res.tasks - np.bincount(fv, minlength=arr.nv)
    hours = res.hours - np.bincount(fv, weights=arr.d_duration_us[fd], minlength=arr.nv).astype(np.int64)
    seats = res.seats - np.bincount(fd, minlength=arr.nd)
    base = res.base + np.bincount(fv, minlength=arr.nv)
    bonus = res.bonus.copy()
    bonus[fd[ctx.pref[fixed]]] = 0
    sv, sd, _ = task_clashes(arr, fv, fd)
    clash = overlaps_tasks(arr, rp, sv, sd)
    clash[region] |= no_time_after(arr, rp.take(region), fv, fd)
    index = np.flatnonzero(region & ~clash)
    sub = rp.take(index)
    fixed_count = np.bincount(fd, minlength=arr.nd)
    crew = np.maximum(res.crew - fixed_count, 0)
    crew_held = res.crew_held | (fixed_count > 0)
    want = np.flatnonzero(chosen[index])
    hint = greedy_take(arr, sub, want[np.argsort(-ctx.dem_weight[sub.d[want]], kind="stable")], tasks, hours, seats,
                       crew)
    with held_signals():
        from matcher.engine.solvers.cpsat import CpsatInput

    cp = CpsatInput(
        pair_v=sub.v, pair_d=sub.d, pair_cost=ctx.pair_cost[index], pair_pref=ctx.pref[index] & (bonus[sub.d] > 0),
        pair_start=arr.d_start[sub.d], pair_end=arr.d_end[sub.d], vol_cap=tasks, vol_hours=hours, vol_base=base,
        load_unit=costs.load_unit(opts), dem_cap=seats, dem_weight=ctx.dem_weight, dem_bonus=bonus, hint=hint,
        pair_keep=ctx.keep[index], cost_offset=round(opts.change_weight * costs.SCALE) * int(ctx.keep[index].sum()),
        **_v2_input(ctx, sub, np.concatenate([arr.pinned[0], fv]), np.concatenate([arr.pinned[1], fd]), crew,
                    crew_held),
    )
    return cp, index


def _v2_input(ctx: SolveContext, sub: Pairs, fv: I64, fd: I64, crew: I64, crew_held: B) -> dict[str, Any]:
    """SPEC v2's parts of a region's CP-SAT data: rule 7b's pairs, crews, and the series term.

    ``(fv, fd)`` are the tasks fixed outside the region (pinned ones included).
    """
    arr = ctx.arr
    out: dict[str, Any] = {}
    if arr.travel is not None:
        out["travel_pairs"] = sequence_conflicts(arr, sub.v, sub.d)
    if arr.d_min_headcount is not None and bool((arr.d_min_headcount > 1).any()):
        out.update(dem_crew=crew, dem_crew_held=crew_held)
    unit = costs.series_unit(ctx.opts)
    if arr.d_series is not None and len(arr.series_ids) and unit > 0:
        n = max(arr.nv, 1)
        fs = arr.d_series[fd]
        served = np.unique(fs[fs >= 0] * n + fv[fs >= 0])
        pair_series = arr.d_series[sub.d]
        open_series = np.ones(len(arr.series_ids), dtype=bool)
        open_series[served // n] = False
        out.update(pair_series=pair_series, pair_series_held=member(pair_series * n + sub.v, served),
                   series_open=open_series, series_unit=unit)
    return out
