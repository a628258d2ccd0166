"""The solve, tier by tier: problem → arrays → candidates → (LP tiers | flow → CP-SAT) → Solution.

1. Candidate pairs keep the pair rules (:mod:`matcher.engine.candidates`). With a deadline the demands are
   searched by their seats' weight, in parts the clock may end
   (:func:`~matcher.engine.candidates.search_until`); the greedy then answers at once, the seats of the demands
   not reached are ``not_searched``, and the bound counts them all.
2. Pinned pairs are checked against every rule and taken out
   (:mod:`matcher.engine.context`).
3. When the problem is too big for CP-SAT whole and the LP fits the limit
   (:func:`~matcher.engine.relaxation.lp_planned`), the LP tiers run
   (:mod:`matcher.engine.proven`): the exact LP by sifting, a Lagrangian bound
   with an integral core (the proof), and an exact region MIP around the LP's
   fractional columns (the answer).
4. Otherwise (or when the LP tiers fail) the flow rounds give a relaxed choice
   and an upper bound (:mod:`matcher.engine.relaxation`); with no time for a
   flow round the greedy answers at once (:func:`matcher.engine.greedy.hurried`).
   If the flow's choice keeps every rule it is optimal. Otherwise it is made
   feasible greedily and improved by swaps (:mod:`matcher.engine.greedy`), then
   CP-SAT improves regions with every rule exact (:mod:`matcher.engine.regions`);
   a region solved whole tightens the flow's bound by CP-SAT's.
5. The answer is checked against every hard rule (:mod:`matcher.engine.rules`)
   and reported (:mod:`matcher.engine.report`). ``optimal`` is claimed only
   when the coverage reached equals the bound.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.engine.arrays import ProblemArrays, build_arrays
from matcher.engine.beside import Beside
from matcher.engine.candidates import Pairs, Searched, candidate_pairs, search_until
from matcher.engine.context import Cancel, Clock, SolveContext
from matcher.engine.costs import priority_weights
from matcher.engine.greedy import hurried, make_feasible, swap_improve
from matcher.engine.ladder import Ladder, ladder_counts
from matcher.engine.limits import check_memory
from matcher.engine.plan_check import plan_violations
from matcher.engine.proven import proven_tiers, slowness
from matcher.engine.regions import improve_regions
from matcher.engine.relaxation import FLOW_SECONDS_PER_ARC, flow_rounds, lp_planned
from matcher.engine.report import build_solution
from matcher.engine.sequencing import crew_shortfalls
from matcher.engine.series import keep_series_together, series_matter
from matcher.engine.types import I64, B
from matcher.errors import PinnedError
from matcher.model import LpStats, Problem, RegionStats, Solution, SolveOptions, Status

__all__ = ["Solved", "emptiness", "solve", "solve_keeping"]

log = logging.getLogger(__name__)

AFTER_SEARCH = (0.4, 1.8)
"""What a solve rushed by the clock does after the candidate search (the greedy, the report) takes about
``AFTER_SEARCH[0]`` times the solve's time before the search (the arrays) plus ``AFTER_SEARCH[1]`` times the
search's (:func:`matcher.engine.candidates.search_until`). Fitted on the district, its v2 world and its half-hour
shape, quiet, with the search ended at several points (the solve then ends within 0.21 s of its deadline; with
1.5, up to 0.41 s after it), and beside busy loops, where the arrays slow down more than what comes after (the
solve ends up to 0.6 s early)."""


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
    not_searched: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Demand rows the clock left no time to search (sorted, int64): ``pairs`` has none of their pairs
    (:func:`matcher.engine.candidates.complete_pairs` finds them)."""


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
        When the solve is estimated to need more memory than allowed (see :mod:`matcher.engine.limits`).

    """
    return solve_keeping(problem, options, deadline=deadline, cancel=cancel).solution


def solve_keeping(problem: Problem, options: SolveOptions | None = None, *, deadline: float | None = None,
                  cancel: Cancel | None = None) -> Solved:
    """:func:`solve`, also returning the arrays and candidate pairs it built (see :class:`Solved`)."""
    opts = options or problem.options or SolveOptions()
    clock = Clock.for_limit(opts.time_limit_s, deadline, cancel)
    arr = build_arrays(problem)
    clock.done("arrays")
    memory = check_memory(arr, opts, lp_planned=lambda n: lp_planned(n, opts))  # refuse before big allocations
    searched = _candidates(arr, clock, opts)
    pairs, not_searched = searched.pairs, searched.not_searched
    clock.done("candidates")
    log.info("%d candidate pairs for %d volunteers x %d demands", len(pairs), arr.nv, arr.nd)
    # the report's counts, beside the tiers, in a thread: HiGHS lets go of the GIL, and a fork would make the solve
    # pay a page fault on its first write to each page of its memory (in the bound and the primal: 0.3-1 s)
    ladder = Beside(lambda: ladder_counts(arr, pairs, not_searched=not_searched), "ladder", fork=False)
    ctx = SolveContext.build(arr, pairs, opts, clock)
    stats: dict[str, Any] = {**memory.as_stats(), "candidate_pairs": len(pairs)}
    warnings = [*problem.warnings, *emptiness(problem)]
    # Too little time left for even one flow round (a tight limit on a big problem): answer greedily
    # now rather than overrun the limit; the bound is then the seats each demand has candidates for.
    flow_estimate_s = FLOW_SECONDS_PER_ARC * (len(ctx.rp) + 3 * arr.nv + 2 * arr.nd)
    if len(not_searched):
        stats["not_searched_demands"] = len(not_searched)
        warnings.append(f"the time limit ended the candidate search before it reached {len(not_searched)} of "
                        f"{arr.nd} demands (the least valuable): their seats are unmet as not_searched, and the "
                        "bound counts them all; a longer time limit searches them")
    rushed = clock.stopped() or clock.left() < flow_estimate_s
    if rushed or len(not_searched):
        if clock.stopped():
            log.warning("cancelled before the flow: answering with the greedy dispatcher")
        elif len(not_searched):
            log.warning("the clock ended the candidate search with %d of %d demands not searched (their seats are "
                        "not_searched): answering with the greedy dispatcher", len(not_searched), arr.nd)
        else:
            log.warning("%.1f s left, the flow needs about %.1f s: answering with the greedy dispatcher instead",
                        clock.left(), flow_estimate_s)
        chosen, bound = hurried(ctx)
        bound += int((ctx.dem_weight[not_searched] * ctx.res.seats[not_searched]).sum())  # every seat not searched
        if rushed:
            stats["flow_estimate_s"] = round(flow_estimate_s, 3)
        engine = "greedy (the clock ended the candidate search)" if len(not_searched) else \
            "greedy (time limit too short for the flow)"
        secondary_optimal = False
        clock.done("greedy")
    else:
        chosen, bound, engine, secondary_optimal = _tiers(ctx, stats)
    if series_matter(ctx):  # the flow and the LP leave the series term out: a local search takes it up
        kept = keep_series_together(ctx, chosen)
        secondary_optimal = secondary_optimal and bool((kept == chosen).all()) and engine != "flow"
        chosen = kept
    return _report(ctx, pairs, chosen, bound, engine, secondary_optimal, rushed, stats, warnings, ladder.result())


def _candidates(arr: ProblemArrays, clock: Clock, opts: SolveOptions) -> Searched:
    """The candidate pairs; with a deadline, searched so that the clock may end the search (:func:`search_until`).

    The demands are searched by their seats' coverage weight, highest first (pinned ones before all: their pairs
    must be checked; then by row), so a search the clock ends leaves out the least valuable seats.
    """
    if not math.isfinite(clock.deadline):
        return Searched(candidate_pairs(arr), np.zeros(0, dtype=np.int64))
    pinned = np.unique(arr.pinned[1])
    rest = np.setdiff1d(np.arange(arr.nd, dtype=np.int64), pinned, assume_unique=True)
    rest = rest[np.argsort(-priority_weights(opts)[arr.d_priority[rest]], kind="stable")]
    return search_until(arr, np.concatenate([pinned, rest]), len(pinned), clock.deadline, AFTER_SEARCH, clock.t0)


def _tiers(ctx: SolveContext, stats: dict[str, Any]) -> tuple[B, int, str, bool]:
    """The LP tiers when they fit (:mod:`matcher.engine.proven`), else the flow rounds, greedy and CP-SAT regions."""
    clock, opts = ctx.clock, ctx.opts
    if lp_planned(len(ctx.rp), opts) and not clock.stopped():
        try:
            got = proven_tiers(ctx)
        except Exception as exc:  # the flow's tiers still answer
            log.warning("the LP tiers failed (%s: %s); going on with the flow", type(exc).__name__, exc)
            stats["lp"] = LpStats(error=f"{type(exc).__name__}: {exc}", solved=False)
            got = None
        if got is not None:
            stats.update(sifting=got.sifting, lagrangian=got.lagrangian, lp_regions=got.regions)
            stats["lp"] = LpStats(seconds=got.sifting.seconds, solved=bool(got.sifting.converged))
            stats["_wall_cut"] = got.wall_cut  # taken out in _report
            return got.chosen, got.bound, "sifting+lagrangian+mip", False
        # the flow cannot be stopped once it runs: on a machine running slow, its estimate grows too
        flow_estimate_s = FLOW_SECONDS_PER_ARC * (len(ctx.rp) + 3 * ctx.arr.nv + 2 * ctx.arr.nd) * slowness(ctx)
        if clock.left() < flow_estimate_s or clock.stopped():
            stats["lp"] = LpStats(solved=False)
            chosen, bound = hurried(ctx)
            return chosen, bound, "greedy (no time left for the flow)", False
    flow = flow_rounds(ctx, False)
    clock.done("flow")
    pinned_coverage = int(ctx.dem_weight[ctx.arr.pinned[1]].sum())
    stats.update(flow_arcs=flow.last.arcs, flow_nodes=flow.last.nodes, flow_cost_scale=flow.last.cost_scale,
                 flow_coverage_bound=flow.bound + pinned_coverage, overbooked_volunteers=len(flow.overbooked),
                 flow_rounds=flow.rounds)
    chosen, bound = flow.chosen, flow.bound
    secondary_optimal, engine = flow.last.cost_scale == 1, "flow"
    if len(flow.overbooked) == 0:
        return chosen, bound, engine, secondary_optimal
    engine = "flow+cpsat"
    relaxed: B | None = chosen
    chosen = swap_improve(ctx, make_feasible(ctx, chosen))
    stats["repaired_coverage"] = ctx.coverage(chosen) + pinned_coverage
    log.info("overbooking resolved greedily, then swaps: coverage %d", stats["repaired_coverage"])
    clock.done("repair")
    # CP-SAT's bounds on whole components tighten the last round's bound, not an earlier one's
    regions = improve_regions(ctx, chosen, relaxed, flow.overbooked, flow.last.coverage)
    stats["cpsat_regions"] = regions.regions
    clock.done("cpsat")
    return regions.chosen, min(bound, regions.bound), engine, secondary_optimal and regions.secondary_proven


def _report(ctx: SolveContext, pairs: Pairs, chosen: B, bound: int, engine: str, secondary_optimal: bool,
            rushed: bool, stats: dict[str, Any], warnings: list[str], ladder: Ladder) -> Solved:
    """Check the answer against every hard rule, then report it with its status and statistics."""
    arr, opts, clock = ctx.arr, ctx.opts, ctx.clock
    final_v = np.concatenate([arr.pinned[0], ctx.rp.v[chosen]])
    final_d = np.concatenate([arr.pinned[1], ctx.rp.d[chosen]])
    order = np.lexsort((final_v, final_d))  # the order of the solution's assignments (see Solved)
    final_v, final_d = final_v[order], final_d[order]
    broken = plan_violations(arr, final_v, final_d)
    short = crew_shortfalls(arr, final_d)
    if len(short) and all(b.rule == "11" for b in broken) and bool(ctx.res.crew_held[short].all()):
        # pinned volunteers on a crew that could not be made up to its minimum: the pins ask the impossible
        raise PinnedError([f"pinned: {b.message}; the pinned volunteers cannot be joined by enough others"
                           for b in broken])
    if broken:  # the engine's own answer must keep every hard rule: a failure here is a bug
        raise RuntimeError("internal error, solution breaks hard rules: " + "; ".join(b.message for b in broken[:5]))
    coverage = int(ctx.dem_weight[final_d].sum())
    bound += int(ctx.dem_weight[arr.pinned[1]].sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    ran: list[RegionStats] = stats.get("cpsat_regions", [])
    # a run is reproducible unless the wall clock, not a deterministic budget, cut a CP-SAT region
    # short or stopped the LP (its only stop short of an answer)
    wall_cut = bool(stats.pop("_wall_cut", False))
    lp_error, lp_solved = (stats["lp"].get("error"), stats["lp"].get("solved", True)) if "lp" in stats else (None, True)
    stats["cancelled"] = clock.stopped()
    why = [reason for reason, cut in (
        (f"the clock ended the candidate search with {stats.get('not_searched_demands')} of {arr.nd} demands not "
         "searched: the greedy answer", "not_searched_demands" in stats),
        ("the time limit left no time for the flow: the greedy answer", rushed and "not_searched_demands" not in stats),
        (f"the LP failed ({lp_error}); the flow answered", lp_error is not None),
        ("the clock stopped the LP before it converged", lp_error is None and not lp_solved),
        ("the clock ended the region MIPs (more time would have run more)", wall_cut),
        ("the solve was cancelled", stats["cancelled"]),
        ("the clock cut a CP-SAT region short", any(r.skipped == "deadline" or r.wall_capped for r in ran))) if cut]
    stats["reproducible"] = not why
    if why:
        stats["why_not_reproducible"] = "; ".join(why)
        log.info("not reproducible: %s", stats["why_not_reproducible"])
    stats.update(engine=engine, secondary_optimal=bool(secondary_optimal and status is Status.OPTIMAL),
                 time_limit_s=round(opts.time_limit_s, 3), wall_budget_s=round(clock.deadline - clock.t0, 3),
                 seed=opts.seed, threads=opts.threads)
    solution = build_solution(arr, pairs, final_v, final_d, opts, status, coverage, bound, stats, clock,
                              warnings=warnings, ladder=ladder)
    return Solved(solution, arr, pairs, final_v, final_d, ladder.not_searched)


def emptiness(problem: Problem) -> list[str]:
    """Warnings for a problem with nothing to do: no demands, or no volunteer able to serve (each is logged)."""
    out = []
    if not problem.demands:
        out.append("the problem has no demands: there is nothing to dispatch (an empty or header-only demands table?)")
    elif not problem.volunteers:
        out.append("the problem has no volunteers: every seat is unmet (an empty or header-only volunteers table?)")
    elif not any(v.availability for v in problem.volunteers):
        out.append("no volunteer gives any availability: every seat is unmet")
    for w in out:
        log.warning("%s", w)
    return out
