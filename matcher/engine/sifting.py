"""The exact model's LP relaxation by sifting: column generation over the existing candidate pairs.

The LP is the one :mod:`matcher.engine.solvers.lp` states (seats, tasks, hours,
no overlap by maximal cliques; ``0 <= x <= 1``; with SPEC v2, the rows of rule 7b and 11 below), with objective
``w(d) - eps·cost`` so that among coverage-equal points the cheaper one wins.
Sifting solves it on a small *working set* of columns and grows the set:

1. the working set starts with each demand's nearest candidates (``seats + 2``
   of them) and, when given, a feasible choice's pairs;
2. each round solves the restricted LP (:mod:`matcher.engine.solvers.restricted`)
   with rows only for the working set: a seat row per demand, task and hour
   rows where they can bind, and one row per maximal clique of each
   volunteer's working intervals (:func:`~matcher.engine.intervals.max_clique_rows`);
3. every candidate pair is priced with the round's duals in one vectorised
   pass. A clique row is the set of a volunteer's intervals containing its
   point ``p`` (the latest start among its members); extended to all of the
   volunteer's candidates it stays a valid row, so a pair ``[s, e)`` pays the
   duals of the rows with ``s <= p < e`` (prefix sums per volunteer);
4. pairs with a positive reduced cost join the working set (the best first, a
   capped number per round); when none is left the restricted optimum is the
   full LP's optimum.

Rows at working start points dominate every other clique of the working set,
so the restricted LP is exactly the full LP on the working columns, and zero
duals for the rows it leaves out are dual feasible.

SPEC v2: with travel, each pair's interval runs from its start to
``ctx.clique_end_rank`` (:func:`~matcher.engine.sequencing.clique_ends`): past its
end, over the time in which its volunteer's later tasks cannot be reached, so the
no-overlap rows over these intervals are cliques of rule 7 and 7b together and
hold most of rule 7b from the first round. The pairs of a volunteer's columns that
still break rule 7b in a converged round's solution get a cut ``x_i + x_j <= 1``
(valid for every plan) and the LP is solved again. Rule 11 (crews): each crew no pinned volunteer holds gets a
column ``y`` in [0, 1] ("the crew is staffed"), a row ``need·y - sum x <= 0``, a row ``x - y <= 0`` for
each of its working columns, and its seat row becomes ``sum x - seats·y <= 0``
(:class:`~matcher.engine.working_set.WorkingSet`). Every plan satisfies them with ``y`` 0 or 1, so the LP
stays a relaxation; they leave out the points where a few volunteers staff a crew in part (one volunteer at
1 needs the crew staffed, so ``need`` of them in all), or many in part each (``y`` = 1/2 lets at most half
the seats be filled). On the district's v2 world without travel the LP fell from 124,743.9 to 124,691.2 and
its Lagrangian bound from 124,697 to 124,652 (the seat rows' ``y``: a further 3 points of bound). A pair of a
crew prices in with the crew row's dual added (its entry there is -1; a link row exists only for a working
column). The primal tier states every rule exactly. Sources: the sifting /
"sprint" method (Forrest, 1989; the Gurobi and CPLEX manuals' *sifting*), and
Dantzig-Wolfe pricing (Chvátal, *Linear Programming*, 1983, ch. 26).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.beside import Beside
from matcher.engine.context import SolveContext, held_signals
from matcher.engine.intervals import max_clique_rows
from matcher.engine.sequencing import sequence_conflicts
from matcher.engine.sorting import stable_order_by
from matcher.engine.types import F64, I64, US_PER_HOUR, B
from matcher.engine.working_set import DualPrices, WorkingSet

if TYPE_CHECKING:  # scipy is imported when first used (0.3 s)
    from scipy.sparse import csr_matrix

__all__ = ["ADD_PER_ROUND", "V2_ADD_PER_ROUND", "DualPrices", "PairTerms", "SiftResult", "lp_objective", "price",
           "sift_lp"]

log = logging.getLogger(__name__)

EPS = 1e-6
"""Largest weight of one secondary cost unit against one coverage point in the LP objective (as in the LP tier)."""

PRICE_TOL = 1e-7
"""A pair joins the working set when its reduced cost exceeds this."""

STOP_GAP = 0.5
"""Sifting stops once the prices' dual bound is within this many points of the restricted LP's value."""

SEED_PER_SEAT = 2
MAX_ROUNDS = 200
"""A guard against a loop that never ends; the time limit stops sifting first (with travel or crews a round adds
at most :data:`V2_ADD_PER_ROUND` columns, and the district's LP takes 7-14 rounds at 60 s)."""
ADD_PER_SEAT = 2
"""A round adds at most this many columns per seat (plus as many) of each demand, the best by reduced cost."""
CUT_ROUND_SHARE = 0.5
"""Travel cuts are added only while the time left is at least this share of the first round's (district: the
LP with its first cuts takes about a tenth of the first round, 0.2-0.4 s after 4.5 s). District v2 at 20 s, 3 runs
each: 0.047% in 3 of 3 (123,953 of 124,011) with 0.5; with 1.0 the cuts missed by a few tenths of a second in
2 of 3 (0.068%, 123,937 of 124,021)."""
ADD_PER_ROUND = 30_000
"""Most columns added in one round (each demand's best by reduced cost, then the best overall)."""
V2_ADD_PER_ROUND = 2_500
""":data:`ADD_PER_ROUND` with travel times or crews. There the primal simplex pays for every column a round adds
(district, v2 world, round 2: 19,762 columns in 6.2 s, 10,000 in 3.5 s, to nearly the same LP value), and
smaller rounds reach more of them: at ``--time-limit 20``, gap 1.32% with 2,500 (3 rounds) against 1.44-1.46%
with 5,000 and 1.93% with 30,000 (2 rounds each). The v1 world's rounds add fewer than 10,000 (the per-demand
cap decides), and smaller ones measured no better there."""


@dataclass(frozen=True, eq=False)
class SiftResult:
    """The LP's solution over all residual pairs, its duals, and how sifting went."""

    x: F64
    """Value of each residual pair (float64, ``len(ctx.rp)``; 0 outside the working set)."""
    duals: DualPrices
    value: float
    """The restricted LP's objective value (coverage minus eps·cost)."""
    converged: bool
    """No pair had a positive reduced cost, or the prices' dual bound came within :data:`STOP_GAP` of the value."""
    rounds: int
    columns: int
    clique_rows: int
    seconds: float
    dual_bound: float = math.inf
    """The last prices' dual bound on the LP (every row dualised, ``0 <= x <= 1``): at least the LP optimum."""


def lp_objective(ctx: SolveContext) -> F64:
    """Objective of each residual pair: ``w(d) - eps·cost`` (float64, ``len(ctx.rp)``).

    ``eps`` is at most :data:`EPS` and small enough that the secondary part of a
    whole solution stays under half a point (the coverage bound never uses it).
    """
    cost = ctx.pair_cost.astype(float)
    most = float(np.abs(cost).sum())
    eps = min(EPS, 0.5 / most) if most > 0 else EPS
    return ctx.dem_weight[ctx.rp.d].astype(float) - eps * cost


def price(ctx: SolveContext, c: F64, duals: DualPrices, terms: PairTerms | None = None) -> F64:
    """Reduced cost ``c - a_j·y`` of every residual pair (float64, ``len(ctx.rp)``).

    ``terms`` are the pairs' fixed data (:class:`PairTerms`), computed once when pricing runs in rounds.
    """
    t = terms or PairTerms.of(ctx, duals.span)
    rp = ctx.rp
    rc = c - duals.seat[rp.d] - duals.task[rp.v] - duals.hour[rp.v] * t.hours
    if len(duals.crew):  # rule 11: a crew's pair enters need·y - sum x <= 0 with -1, its own x - y <= 0 with +1
        rc += duals.crew[rp.d]
        rc[duals.link_pair] -= duals.link
    if len(duals.cut):  # rule 7b's cuts x_i + x_j <= 1
        np.subtract.at(rc, duals.cut_pairs.ravel(), np.repeat(duals.cut, 2))
    priced = duals.clique > 0
    if priced.any():
        keys, prices = duals.clique_key[priced], duals.clique[priced]
        owner = np.zeros(ctx.arr.nv, dtype=bool)
        owner[keys // duals.span] = True
        sel = np.flatnonzero(owner[rp.v])  # only the pairs of volunteers with a priced clique pay one
        cum = np.concatenate([[0.0], np.cumsum(prices)])
        lo = np.searchsorted(keys, t.lo_key[sel], side="left")
        hi = np.searchsorted(keys, t.hi_key[sel], side="left")
        rc[sel] -= cum[hi] - cum[lo]
    return rc


@dataclass(frozen=True, eq=False)
class PairTerms:
    """What pricing needs of each residual pair: its hours, and its interval as clique keys (``v * span + rank``)."""

    hours: F64
    lo_key: I64
    hi_key: I64

    @classmethod
    def of(cls, ctx: SolveContext, span: int) -> PairTerms:
        """The terms of ``ctx.rp``."""
        arr, rp = ctx.arr, ctx.rp
        base = rp.v * span
        return cls(arr.d_duration_us[rp.d] / US_PER_HOUR, base + arr.d_start_rank[rp.d], base + ctx.clique_end_rank)

    @classmethod
    def beside(cls, ctx: SolveContext, span: int) -> Beside[PairTerms]:
        """:meth:`of` in a thread (no fork), beside the LP's first round: only pricing needs every pair's terms."""
        return Beside(lambda: cls.of(ctx, span), "pair terms", fork=False)


def _best_per_demand(ctx: SolveContext, new: I64, rc: F64, most: int) -> I64:
    """Of the priced-in pairs, each demand's ``ADD_PER_SEAT · (seats + 1)`` best; ``most`` in all."""
    d = ctx.rp.d[new]
    order = np.lexsort((-rc[new], d))
    rank = np.arange(len(order)) - np.searchsorted(d[order], d[order], side="left")
    keep = new[order[rank < ADD_PER_SEAT * (ctx.res.seats[d[order]] + 1)]]
    if len(keep) > most:
        keep = keep[np.argsort(-rc[keep], kind="stable")[:most]]
    return keep


def _dual_value(ctx: SolveContext, duals: DualPrices) -> float:
    """``sum(upper · y)`` over the priced rows (seats, tasks, hours in hours, cliques and cuts of upper 1).

    With each crew's ``max(0, rc(y))`` (its ``y <= 1``; the crew rows' upper bounds are 0).
    """
    res = ctx.res
    need = res.open_crew if len(duals.crew) else np.zeros(ctx.arr.nd, dtype=np.int64)
    crews = float(np.maximum(duals.crew_values(need, res.seats, ctx.rp.d), 0.0).sum())
    seats = np.where(need > 0, 0, res.seats)  # a crew's seat row is sum x - seats·y <= 0
    return float(duals.seat @ seats + duals.task @ res.tasks + duals.hour @ (res.hours / US_PER_HOUR)
                 + duals.clique.sum() + duals.cut.sum()) + crews


def _seed(ctx: SolveContext, extra: B | None) -> B:
    """Each demand's nearest candidates (:data:`SEED_PER_SEAT` per seat, plus 2), and the ``extra`` pairs."""
    rp = ctx.rp
    # distances in steps of (the longest + 1 km) / 2**bits (0.1 mm on a district), so that demand, distance and
    # pair number pack into one int64 (stable_order_by) also on bigger problems: by demand, then distance
    room = 62 - len(rp).bit_length() - ctx.arr.nd.bit_length()
    bits = max(8, min(26, room))
    steps = np.floor(rp.km * (2.0**bits / (float(rp.km.max(initial=0.0)) + 1.0))).astype(np.int64)
    order = stable_order_by(steps, rp.d)
    d_sorted = rp.d[order]
    rank = np.arange(len(order)) - np.searchsorted(d_sorted, d_sorted, side="left")
    ws = np.zeros(len(rp), dtype=bool)
    ws[order[rank < SEED_PER_SEAT * ctx.res.seats[d_sorted] + 2]] = True
    if extra is not None:
        ws |= extra
    return ws


def _rows(ctx: SolveContext, idx: I64, span: int) -> tuple[csr_matrix, F64, tuple[I64, I64, I64, I64]]:
    """The restricted LP's rows over working pairs ``idx`` (sorted by volunteer, start); and their meaning.

    Returns the CSR matrix, the row upper bounds, and for pricing: the demand of
    each seat row, the volunteer of each task row, the volunteer of each hour
    row, and the key ``v * span + point`` of each clique row.
    """
    from scipy.sparse import csr_matrix

    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    v, d = rp.v[idx], rp.d[idx]
    s, e = arr.d_start_rank[d], ctx.clique_end_rank[idx]
    dur = arr.d_duration_us[d]
    n = len(idx)
    dems, d_row = np.unique(d, return_inverse=True)
    vols, v_row = np.unique(v, return_inverse=True)
    n_task = np.bincount(v_row, minlength=len(vols))
    sum_dur = np.bincount(v_row, weights=dur, minlength=len(vols))
    task_vols = np.flatnonzero(n_task > res.tasks[vols])
    hour_vols = np.flatnonzero(sum_dur > res.hours[vols])
    task_row = np.full(len(vols), -1, dtype=np.int64)
    task_row[task_vols] = np.arange(len(task_vols))
    hour_row = np.full(len(vols), -1, dtype=np.int64)
    hour_row[hour_vols] = np.arange(len(hour_vols))
    ri, rj, nc = max_clique_rows(v, s, e)
    point = np.full(nc, -1, dtype=np.int64)
    np.maximum.at(point, ri, s[rj])
    owner = np.zeros(nc, dtype=np.int64)
    owner[ri] = v[rj]
    o1, o2, o3 = len(dems), len(dems) + len(task_vols), len(dems) + len(task_vols) + len(hour_vols)
    rng = np.arange(n)
    has_t, has_h = task_row[v_row] >= 0, hour_row[v_row] >= 0
    rows = np.concatenate([d_row, o1 + task_row[v_row][has_t], o2 + hour_row[v_row][has_h], o3 + ri])
    cols = np.concatenate([rng, rng[has_t], rng[has_h], rj])
    vals = np.concatenate([np.ones(n + int(has_t.sum())), dur[has_h] / US_PER_HOUR, np.ones(len(ri))])
    a = csr_matrix((vals, (rows, cols)), shape=(o3 + nc, n))
    hours_up = res.hours[vols[hour_vols]] / US_PER_HOUR + 1e-9  # an exactly fitting task must stay feasible
    upper = np.concatenate([res.seats[dems], res.tasks[vols[task_vols]], hours_up, np.ones(nc)]).astype(float)
    return a, upper, (dems, vols[task_vols], vols[hour_vols], owner * span + point)


def _travel_cuts(ctx: SolveContext, warm: WorkingSet, x: F64) -> int:
    """Add a cut for each pair of a volunteer's columns in the LP's support that breaks rule 7b there."""
    arr, rp = ctx.arr, ctx.rp
    if arr.travel is None:
        return 0
    support = np.flatnonzero(x > 1e-6)
    i, j = sequence_conflicts(arr, rp.v[support], rp.d[support])
    broken = x[support[i]] + x[support[j]] > 1 + 1e-6
    added = warm.add_travel_rows(support[i[broken]], support[j[broken]])
    if added:
        log.info("sifting: %d travel cuts (rule 7b)", added)
    return added


def sift_lp(ctx: SolveContext, wall_s: float, extra: B | None = None, engine: str = "highs",
            stop_gap: float | None = None, first_wall_s: float | None = None, early_wall_s: float | None = None,
            useless_from: float = math.inf, add_per_round: int = ADD_PER_ROUND,
            presolve_first: bool = False) -> SiftResult | None:
    """Solve the exact model's LP relaxation by sifting (see the module docstring).

    Parameters
    ----------
    ctx
        The solve's shared state; the LP runs over ``ctx.rp``.
    wall_s
        Wall seconds allowed; when they run out the last round's solution and
        duals are returned with ``converged=False`` (the duals still give a
        valid bound through :mod:`matcher.engine.lagrangian`).
    extra
        Pairs to start the working set with besides each demand's nearest
        (bool, ``len(ctx.rp)``), e.g. a feasible choice.
    engine
        The LP engine for the restricted LPs (``"highs"`` or ``"glop"``).
    stop_gap
        Stop once the prices' dual bound is within this many points of the
        restricted LP's value (default :data:`STOP_GAP`).
    first_wall_s
        Wall seconds the first round may take (default ``wall_s``); it may be
        more than ``wall_s``, since without it the LP gives nothing, while
        later rounds only tighten what it gave.
    early_wall_s, useless_from
        ``useless_from`` is the caller's best bound without the LP (e.g. the
        seats with candidates). While the last round's prices give a dual
        bound at or above it, a proof from them is unlikely to beat it
        (district, first round: dual bound 165,535, Lagrangian bound 134,090,
        seats 130,808), so the next round may run until ``early_wall_s``
        (default ``wall_s``): the time kept for the proof would buy little,
        another round buys most.
    add_per_round
        Most columns a round adds (:data:`ADD_PER_ROUND`; :data:`V2_ADD_PER_ROUND` with travel or crews).
    presolve_first
        HiGHS presolves the first (cold) round, for the rows of travel and crews: district v2 2.5-2.6 s against
        3.0 s (40,000 dual simplex iterations); district v1 1.7 s against 1.4 s, so there it does not.

    Returns
    -------
    SiftResult | None
        ``None`` when not even the first restricted LP was solved in time.

    """
    import time

    t0 = time.perf_counter()
    arr, rp = ctx.arr, ctx.rp
    c = lp_objective(ctx)
    span = ctx.rank_span
    ws = _seed(ctx, extra)
    warm = WorkingSet(ctx, c, span, ctx.opts.threads, presolve_first) if engine == "highs" else None
    terms: Beside[PairTerms] | None = None
    new = np.flatnonzero(ws)
    out: SiftResult | None = None
    cuts = 0
    first_round_s = 0.0
    last_dual = math.inf
    for rounds in range(1, MAX_ROUNDS + 1):
        limit = wall_s
        if rounds == 1 and first_wall_s is not None:
            limit = first_wall_s
        elif rounds > 1 and last_dual >= useless_from and early_wall_s is not None:
            limit = max(wall_s, early_wall_s)
        left = limit - (time.perf_counter() - t0)
        if left <= 0.05 or ctx.clock.stopped():
            break
        if warm is not None:
            warm.add(new)
            terms = terms or PairTerms.beside(ctx, span)
            # the first solve is cold (dual simplex); later rounds add columns to an optimal basis, which stays
            # primal feasible, so the primal simplex goes on from it
            sol = warm.solve(left, primal=rounds > 1 and cuts == 0)
            if sol is None:
                break
            x_ws, value, idx, n_rows = sol.x[warm.pair_col], sol.value, warm.cols, warm.lp.rows
            duals = warm.dual_prices(sol.row_dual)
        else:
            idx = np.flatnonzero(ws)
            idx = idx[np.lexsort((arr.d_start_rank[rp.d[idx]], rp.v[idx]))]
            a, upper, (dems, tvols, hvols, ckeys) = _rows(ctx, idx, span)
            with held_signals():
                from matcher.engine.solvers.restricted import solve_restricted

            r = solve_restricted(a, upper, c[idx], left, engine)
            if r.x is None or r.row_dual is None:
                break
            y = np.maximum(r.row_dual, 0.0)
            o1, o2 = len(dems), len(dems) + len(tvols)
            seat, task, hour = np.zeros(arr.nd), np.zeros(arr.nv), np.zeros(arr.nv)
            seat[dems], task[tvols], hour[hvols] = y[:o1], y[o1:o2], y[o2 : o2 + len(hvols)]
            duals = DualPrices(seat, task, hour, ckeys, y[o2 + len(hvols):], span)
            x_ws, value, n_rows = r.x, r.value, a.shape[0]
        x = np.zeros(len(rp))
        x[idx] = np.clip(x_ws, 0.0, 1.0)
        terms = terms or PairTerms.beside(ctx, span)
        rc = price(ctx, c, duals, terms.result())
        # the dual bound of these prices (every row dualised, 0 <= x <= 1): LP <= sum(upper y) + sum(max(rc, 0))
        dual_value = _dual_value(ctx, duals) + float(np.maximum(rc, 0.0).sum())
        last_dual = dual_value
        rc[ws] = 0.0
        new = np.flatnonzero(rc > PRICE_TOL)
        log.info("sifting round %d: %d columns, %d rows, LP %.3f, dual bound %.3f, %d priced in, %.2f s", rounds,
                 len(idx), n_rows, value, dual_value, len(new), time.perf_counter() - t0)
        done = len(new) == 0 or dual_value - value < (STOP_GAP if stop_gap is None else stop_gap)
        out = SiftResult(x, duals, value, done, rounds, len(idx), len(duals.clique_key), time.perf_counter() - t0,
                         dual_value)
        first_round_s = first_round_s or out.seconds
        # cuts once no column prices in (columns keep the basis primal feasible, cuts dual feasible: one at a time),
        # and only with time for the LP to solve again (else the time goes to the primal tier that follows)
        time_left = wall_s - out.seconds > CUT_ROUND_SHARE * first_round_s
        cuts = _travel_cuts(ctx, warm, x) if done and warm is not None and time_left else 0
        if done and cuts == 0:
            break
        if done:  # the LP is optimal for its rows; the cuts make it solve again (dual simplex), no new columns
            new = np.zeros(0, dtype=np.int64)
            continue
        new = _best_per_demand(ctx, new, rc, add_per_round)
        ws[new] = True
    return out
