"""The primal tier: an exact region MIP around the LP's fractional columns, the rest fixed at the LP's integral part.

At the sifting LP's optimum almost every column is 0 or 1 (on the district,
about 700 of two million are fractional). The integral part is feasible as it
stands, so:

1. the caller takes the LP's columns by value (ones first) while every rule
   allows: a feasible plan that keeps the LP's integral part (at the LP's
   optimum no free pair can add coverage outside the fractional part, so no
   refill is needed);
2. the *region* is every pair of a volunteer with a fractional column and every
   pair into a demand with a fractional column (widened, while the time allows,
   by the volunteers of those demands' other candidates);
3. a MIP solves the region with every rule exact and everything outside fixed
   at its current value, coverage first, then the secondary cost with
   coverage held, starting from the rounded plan: HiGHS
   (:mod:`matcher.engine.solvers.region_mip`, the default; its answer is kept
   as far as the exact integer rules allow) or CP-SAT
   (:mod:`matcher.engine.solvers.cpsat`). The region's answer is taken only
   when it covers at least as much.

Source: research/engine.md ("Primal by a region MIP"); the "relaxation induced
neighbourhood" of Danna, Rothberg & Le Pape, "Exploring relaxation induced
neighborhoods to improve MIP solutions", Math. Prog. 102 (2005), with the LP's
integral columns fixed instead of the incumbent's agreement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.context import SolveContext, held_signals
from matcher.engine.greedy import greedy_take
from matcher.engine.regions import region_input
from matcher.engine.sequencing import sequence_conflicts
from matcher.engine.types import F64, I64, US_PER_DAY, B
from matcher.model import RegionStats

if TYPE_CHECKING:  # the solver module imports OR-Tools' CP-SAT (about 1 s): only when used
    from matcher.engine.solvers.cpsat import CpsatInput

__all__ = ["DISAGREE", "FRACTIONAL", "MIP_ENGINE", "PrimalResult", "disagreement_region", "fractional_chunks",
           "fractional_region", "has_v2_rules", "lp_primal", "with_v2_conflicts"]

log = logging.getLogger(__name__)

FRACTIONAL = 1e-6
"""An LP value further than this from 0 and 1 is fractional."""


@dataclass(frozen=True, eq=False)
class PrimalResult:
    """A feasible choice over ``ctx.rp`` and what the region MIP did."""

    chosen: B
    rounded_coverage: int
    region: RegionStats | None
    secondary_proven: bool


DISAGREE = 0.5
"""A demand whose filled seats differ from the LP's by this much is one :func:`disagreement_region` frees."""

MIP_ENGINE = "highs"
"""The region's solver: ``"highs"`` (model_builder's HiGHS) or ``"cpsat"``."""


def _highs_region(ctx: SolveContext, chosen: B, rounded: int, region: B, cp: CpsatInput, index: I64,
                  wall_s: float, secondary_s: float) -> PrimalResult:
    """The region by HiGHS's MIP; its answer is kept only as far as every rule allows, in integers."""
    with held_signals():
        from matcher.engine.solvers.lp import LpInput
        from matcher.engine.solvers.region_mip import V2Rows, solve_region_mip

    arr = ctx.arr
    order = np.lexsort((cp.pair_start, cp.pair_v))
    inp = LpInput(cp.pair_v[order], cp.pair_d[order], cp.pair_start[order], cp.pair_end[order],
                  cp.dem_weight[cp.pair_d[order]], ctx.pair_cost[index[order]], cp.vol_cap, cp.vol_hours, cp.dem_cap)
    v2 = None
    if cp.travel_pairs is not None or cp.dem_crew is not None:
        at = np.empty(len(order), dtype=np.int64)
        at[order] = np.arange(len(order))  # a pair's position in the MIP's order
        ti, tj = cp.travel_pairs if cp.travel_pairs is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        zero = np.zeros(arr.nd, dtype=np.int64)
        v2 = V2Rows((at[ti], at[tj]), cp.dem_crew if cp.dem_crew is not None else zero,
                    cp.dem_crew_held if cp.dem_crew_held is not None else zero.astype(bool))
    result = solve_region_mip(inp, wall_s, cp.hint[order], secondary_s, v2)
    # HiGHS stops on the wall clock only: a region it did not prove was cut by the clock
    stats = RegionStats(pairs=len(index), whole_component=False, seconds=round(result.seconds, 3),
                        coverage_proven=result.optimal, secondary_proven=False,
                        wall_capped=result.wall_capped)
    if result.chosen is None:
        return PrimalResult(chosen, rounded, stats, False)
    mine = np.zeros(len(index), dtype=bool)
    mine[order[result.chosen]] = True
    sub = ctx.rp.take(index)
    weight = ctx.dem_weight[sub.d]
    take = np.flatnonzero(mine)
    take = take[np.argsort(-weight[take], kind="stable")]
    kept = greedy_take(arr, sub, take, cp.vol_cap, cp.vol_hours, cp.dem_cap, cp.dem_crew)  # exact, in integers
    if int(weight[kept].sum()) < int(weight[cp.hint].sum()):
        return PrimalResult(chosen, rounded, stats, False)
    out = chosen & ~region
    out[index[kept]] = True
    log.info("region MIP (HiGHS) around the LP's fractional columns: %d pairs, coverage %d -> %d (%.2f s)",
             len(index), rounded, ctx.coverage(out), result.seconds)
    return PrimalResult(out, rounded, stats, False)


def has_v2_rules(ctx: SolveContext) -> bool:
    """Whether the problem has SPEC v2's rules between tasks that the LP relaxes: travel (7b), crews (11)."""
    return ctx.arr.travel is not None or bool((ctx.res.crew > 1).any())


def with_v2_conflicts(ctx: SolveContext, x: F64) -> F64:
    """The LP's solution with the columns that break SPEC v2's rules marked fractional (0.5), for the primal.

    The LP's rows hold rule 7b (time to travel between tasks) only in part (the stretched intervals of
    :func:`~matcher.engine.sequencing.clique_ends`, and cuts once it converges) and rule 11 (crews) as a
    relaxation (a crew's ``y`` may be fractional, and a crew that pinned volunteers hold has no row), so its
    integral part may break them: the columns of a volunteer's pairs of tasks with too little time
    between them, and those of a crew the LP staffs short, are handed to the region MIPs (which state both
    rules) as if fractional.
    """
    arr, rp = ctx.arr, ctx.rp
    if not has_v2_rules(ctx):
        return x
    out = x.copy()
    support = np.flatnonzero(x > 1e-6)
    i, j = sequence_conflicts(arr, rp.v[support], rp.d[support])
    out[support[i]] = np.minimum(out[support[i]], 0.5)
    out[support[j]] = np.minimum(out[support[j]], 0.5)
    staffed = np.bincount(rp.d[support], weights=x[support], minlength=arr.nd)
    short = ctx.res.crew_short(np.floor(staffed + 1e-6).astype(np.int64))
    on_short = support[short[rp.d[support]]]
    out[on_short] = np.minimum(out[on_short], 0.5)
    return out


def fractional_region(ctx: SolveContext, x: F64, widen: int = 0) -> B:
    """The pairs the region MIP frees around the LP's fractional columns (bool, ``len(ctx.rp)``).

    With ``F`` the volunteers and ``D`` the demands of fractional columns: ``F``'s
    pairs into ``D``, into demands with seats the LP leaves open, and those in the
    LP's support; every pair into ``D`` in the LP's support; and each ``D``
    demand's nearest other candidates, ``(2 + 2·widen)`` per seat plus as many.
    Those near a crew (SPEC rule 11, a demand still needing 2 or more seats at
    once) have their support pairs, and their pairs into open seats, freed too:
    a crew is formed by volunteers leaving other tasks for it (district, v2 world
    at 20 s: gap 0.114% against 0.156%; crews alone at 60 s: 0.094% against 0.130%).
    """
    rp, res = ctx.rp, ctx.res
    frac = (x > FRACTIONAL) & (x < 1 - FRACTIONAL)
    support = x > FRACTIONAL
    is_f = np.zeros(ctx.arr.nv, dtype=bool)
    is_d = np.zeros(ctx.arr.nd, dtype=bool)
    is_f[rp.v[frac]] = True
    is_d[rp.d[frac]] = True
    slack = np.bincount(rp.d, weights=x, minlength=ctx.arr.nd) < res.seats - FRACTIONAL
    region = is_f[rp.v] & (is_d[rp.d] | slack[rp.d] | support)
    into = is_d[rp.d]
    region |= into & support
    others = np.flatnonzero(into & ~region)
    far = float(rp.km.max(initial=0.0)) + 1.0
    order = others[np.argsort(rp.d[others] + rp.km[others] / far, kind="stable")]
    d_sorted = rp.d[order]
    rank = np.arange(len(order)) - np.searchsorted(d_sorted, d_sorted, side="left")
    extra = 2 + 2 * widen
    near = order[rank < extra * (res.seats[d_sorted] + 1)]
    region[near] = True
    # a crew's nearest candidates may leave their other tasks for it: their support pairs are freed too
    crew_near = near[res.crew[rp.d[near]] > 1]
    if len(crew_near):
        is_c = np.zeros(ctx.arr.nv, dtype=bool)
        is_c[rp.v[crew_near]] = True
        region |= is_c[rp.v] & (support | slack[rp.d])
    return region


def disagreement_region(ctx: SolveContext, x: F64, chosen: B, gap: float = DISAGREE) -> B:
    """The pairs around the demands where ``chosen`` and the LP ``x`` disagree (bool, ``len(ctx.rp)``).

    ``D``: the demands whose seats filled in ``chosen`` (bool, ``len(ctx.rp)``) differ from the LP's (float64
    ``x``) by ``gap`` or more, such as a crew the LP staffs at 10.7 and the plan leaves empty. The region is every
    pair into ``D``, and every pair of ``D``'s candidates into ``D`` or into a demand any of them holds in ``chosen``:
    the volunteers a crew needs can leave their tasks, and others take those over. Relaxation induced
    neighbourhoods again (Danna, Rothberg & Le Pape 2005), by demand rather than by column: the LP's fractional
    columns are already settled by the regions before it, what is left is where the plan and the LP staff
    demands differently. District v2 at 20 s, after the parts' regions: 8,606 pairs, 123,935 -> 123,956 in 2 s
    (a crew of 15 the plan left empty formed, volunteers taken from 31 other demands).
    """
    rp = ctx.rp
    fill = np.bincount(rp.d[chosen], minlength=ctx.arr.nd)
    dset = np.abs(fill - np.bincount(rp.d, weights=x, minlength=ctx.arr.nd)) >= gap
    vols = np.zeros(ctx.arr.nv, dtype=bool)
    vols[rp.v[dset[rp.d]]] = True
    held = np.zeros(ctx.arr.nd, dtype=bool)
    held[rp.d[chosen & vols[rp.v]]] = True
    out: B = (vols[rp.v] & (dset[rp.d] | held[rp.d])) | dset[rp.d]
    return out


def fractional_chunks(ctx: SolveContext, x: F64, max_pairs: int, widen: int = 0) -> list[F64]:
    """The LP's solution split so that each part's region has about ``max_pairs`` pairs at most.

    ``widen``: the regions' widening (:func:`fractional_region`).
    The fractional columns are ordered by their demand's day and place (a grid
    of about 2 km) and cut into consecutive groups; each part is ``x`` with the
    other groups' fractional columns set to 0 (their region then stays fixed).
    Parts come most valuable first (fractional weight). One part, ``x`` itself,
    when the whole region fits.
    """
    rp, arr = ctx.rp, ctx.arr
    frac = np.flatnonzero((x > FRACTIONAL) & (x < 1 - FRACTIONAL))
    total = int(fractional_region(ctx, x, widen).sum())
    if total <= max_pairs or len(frac) < 2:
        return [x]
    parts = -(-total // max_pairs)
    d = rp.d[frac]
    day = arr.d_start[d] // US_PER_DAY
    cell = np.floor(arr.d_lat[d] * 50) * 10_000 + np.floor(arr.d_lon[d] * 50)
    frac = frac[np.lexsort((cell, day))]
    groups = np.array_split(frac, parts)
    value = [float((ctx.dem_weight[rp.d[g]] * x[g]).sum()) for g in groups]
    out: list[F64] = []
    for k in np.argsort(-np.array(value), kind="stable").tolist():
        xc = x.copy()
        others = np.concatenate([g for j, g in enumerate(groups) if j != k])
        xc[others] = 0.0
        out.append(xc)
    return out


def lp_primal(ctx: SolveContext, x: F64, chosen: B, wall_s: float, widen: int = 0,
              secondary_s: float = 0.0, region: B | None = None) -> PrimalResult:
    """Solve the region around the LP's fractional part (:func:`fractional_region`), starting from ``chosen``.

    ``x`` (float64, ``len(ctx.rp)``) is the LP's solution and ``chosen`` a
    feasible choice (bool, ``len(ctx.rp)``), e.g. the LP's integral part; the
    region's answer replaces it there only when it covers at least as much.
    ``wall_s`` caps the coverage stage's wall time, ``secondary_s`` the
    secondary stage's (HiGHS; 0 skips it). ``region`` (bool, ``len(ctx.rp)``)
    replaces the fractional region (e.g. :func:`disagreement_region`). With no
    pair to free the choice is returned as it is.
    """
    with held_signals():
        from matcher.engine.solvers.cpsat import solve_cpsat

    rounded = ctx.coverage(chosen)
    region = fractional_region(ctx, x, widen) if region is None else region
    if not region.any() or wall_s <= 0.2 or ctx.clock.stopped():
        return PrimalResult(chosen, rounded, None, False)
    cp, index = region_input(ctx, chosen, region)
    try:
        if MIP_ENGINE == "highs":
            return _highs_region(ctx, chosen, rounded, region, cp, index, wall_s, secondary_s)
        # CP-SAT: a deterministic budget of about the wall time given
        result = solve_cpsat(cp, wall_s + secondary_s, ctx.opts.seed, ctx.opts.threads, wall_s + secondary_s,
                             stop=ctx.clock.stopped)
    except Exception as exc:  # the starting plan stands
        log.warning("the region MIP failed on the LP's region of %d pairs (%s: %s); the plan before it stands",
                    len(index), type(exc).__name__, exc)
        return PrimalResult(chosen, rounded, RegionStats(pairs=len(index), error=f"{type(exc).__name__}: {exc}"),
                            False)
    out = chosen & ~region
    out[index[result.chosen]] = True
    log.info("region MIP (CP-SAT) around the LP's fractional columns: %d pairs, coverage %d -> %d (%.2f s)",
             len(index), rounded, ctx.coverage(out), result.seconds)
    stats = RegionStats(pairs=len(index), whole_component=False, seconds=round(result.seconds, 3),
                        coverage_proven=result.coverage_proven, secondary_proven=result.secondary_proven,
                        wall_capped=result.wall_capped)
    return PrimalResult(out, rounded, stats, result.secondary_proven)
