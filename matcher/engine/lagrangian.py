"""The proof tier: a Lagrangian bound with an integral core, computed in integers.

Let ``y >= 0`` be prices of the seat rows and ``h >= 0`` of the hour rows (the
sifting LP's duals, snapped to the grid ``1/SCALE``: ``Y = round(SCALE · y)``,
``H = round(SCALE · h)`` per hour). Dualise every seat and hour row: for any
feasible plan ``x``, ``sum_d (seats_d - fill_d) Y_d >= 0`` and ``sum_v
(hours_v - used_v) H_v >= 0``, so ``SCALE · coverage(x) <= sum_d Y_d seats_d +
sum_v H_v hours_v + sum_pairs (SCALE·w - Y_d - H_v·hours(d)) x``. In integers,
each pair pays the floor of its hour price and each volunteer earns the
ceiling of its own, which only loosens the bound. The last sum is then
bounded over a relaxation of the plans. (A row may be priced and kept at once;
the core below keeps its hour rows and does not price them, since its
integrality is what the core is for: a plan restricted to the core satisfies
both forms of the bound, and the least of them is taken.) Choose a set ``Dc`` of
*contested* demands (those of the LP's fractional columns), whose seat rows are
also kept as constraints (a row may be priced and kept at once), and a set
``C`` of *core* volunteers: those with a positive-weight pair into ``Dc``.
Pairs of weight ``<= 0`` never raise the maximum and are dropped. (Pricing
``Dc``'s kept rows too keeps the core small; with ``Y = 0`` on ``Dc`` every
candidate of ``Dc`` joins it and the bound is tighter. Both are valid; the
solve takes the least it can afford. A demand of ``Dc`` whose every candidate
is a core volunteer anyway is not priced in the core (the fallback for a core
not solved keeps its price): nobody outside the core can take it, so its
price buys nothing and costs ``Y_d (seats_d - the core's fill)``
wherever the core cannot fill it, as a crew whose candidates clash; on the
district with crews and travel at 20 s this took the bound from 123,994 to
123,986, without crews 124,995 to 124,993, on v1 128,181 to 128,174.) Then::

    SCALE · coverage(x) <= sum_d Y_d seats_d + sum_{v not in C} H_v hours_v
                           + sum_{v not in C} DP_v   (v's best schedule at weights SCALE·w - Y - H·hours)
                           + CORE                   (C's best plan at weights SCALE·w - Y, every seat and hour row kept)

(Any plan restricted to the core keeps every seat row, so keeping them all in
the core is still a relaxation; it only ignores what the volunteers outside
the core take from the same demands.)

``DP_v`` keeps ``v``'s task cap, no-overlap rule and (with travel) rule 7b between consecutive tasks exactly
and drops its hour row (priced already), by dynamic programming over its tasks in time order
(:mod:`matcher.engine.schedules`: weighted interval scheduling with a cardinality cap, Kolen et al., "Interval
scheduling: a survey", NRL 54, 2007, extended to chains whose consecutive tasks leave time for the trip; a plan's
tasks keep rule 7b on every pair, so they form such a chain and the value is still a relaxation). ``CORE`` is an
integer program over the core's pairs, solved by CP-SAT (:mod:`matcher.engine.solvers.core_mip`), whose proven
integer bound is used (not its incumbent); it states rule 7b as one row per pair of a volunteer's tasks too close
for the trip, and the crews its pairs reach as below. Every term is an integer, so
``floor(total / SCALE)`` bounds the coverage with no floating-point tolerance:
the LP's floats only choose ``Y``, and weak duality holds for every ``Y >= 0``
(Geoffrion, "Lagrangean relaxation for integer programming", Math. Prog. Study
2, 1974; Guignard & Kim, "Lagrangean decomposition", Math. Prog. 39, 1987).

With crews (SPEC rule 11), the LP's crew rows ``need_d·y_d - sum x <= 0`` and link rows ``x_p - y_d <= 0``
(:mod:`matcher.engine.sifting`) are dualised too, at ``C_d = round(SCALE · c_d)`` and ``M_p = round(SCALE ·
m_p)``, and a crew's seat row is ``sum x - seats_d·y_d <= 0``: every plan satisfies them with ``y_d`` = "crew
``d`` is staffed", so it gains ``C_d (sum x - need_d y_d) >= 0``, ``M_p (y_d - x_p) >= 0`` and ``Y_d (seats_d
y_d - sum x) >= 0``. A crew's pair then weighs ``SCALE·w - Y_d + C_d - M_p`` (in the schedules and the core
alike), and each crew adds ``max(0, sum_p M_p + seats_d Y_d - need_d C_d)``, the most its ``y_d`` in {0, 1}
can earn, in place of ``seats_d Y_d``: integers again, and valid for any prices ``C, M, Y >= 0``. A crew
that core pairs reach has its ``y_d`` in the core instead, as a Boolean earning the same, which each of its core
pairs needs (``x <= y``), with ``sum x >= (need_d - o_d) y_d`` over its core pairs, ``o_d`` being its pairs
outside the core (each staffs at most one seat): every plan keeps both with ``y_d`` = "staffed", and the core no
longer earns a crew's ``y`` without its pairs, nor its pairs without paying for ``y``. The LP's
cuts of rule 7b, ``x_i + x_j <= 1``, are priced the same way (``T = round(SCALE · t)``: each of the two pairs
pays ``T``, the bound adds ``T``); left unpriced, an LP with cuts handed the bound prices it could not use
(district v2 without crews at 20 s: 124,403 unpriced, 124,393 priced).

When ``Dc`` covers the LP's fractional part, ``DP`` equals the LP's own
contribution for almost every volunteer (an interval matrix with a cardinality
row is totally unimodular; the LP's crew and cut rows, which ``DP`` prices, aside),
so the bound starts at the LP's value and the core takes off what integrality
costs there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.context import SolveContext, held_signals
from matcher.engine.schedules import chain_values, schedule_values
from matcher.engine.sequencing import longest_trip_us, sequence_conflicts, travel_between_us
from matcher.engine.sifting import DualPrices
from matcher.engine.types import F64, I64, US_PER_HOUR, B
from matcher.model import LagrangianStats

if TYPE_CHECKING:
    from matcher.engine.solvers.core_mip import CoreInput

__all__ = ["SCALE", "LagrangianBound", "lagrangian_bound", "schedule_values"]

log = logging.getLogger(__name__)

SCALE = 120
"""Prices are snapped to multiples of ``1 / SCALE`` point (LP duals here are mostly halves, thirds and quarters)."""

US_PER_S = 1_000_000
S_PER_HOUR = US_PER_HOUR // US_PER_S

FRACTIONAL = 1e-6
"""An LP value further than this from 0 and 1 is fractional."""


@dataclass(frozen=True, eq=False)
class LagrangianBound:
    """A proven coverage bound of the residual problem, and how it was made."""

    bound: int
    scaled: int
    """``SCALE ·`` the bound before the floor (an exact integer)."""
    contested_demands: int
    core_volunteers: int
    core_pairs: int
    core_optimal: bool
    wall_capped: bool
    seconds: float

    def stats(self) -> LagrangianStats:
        """What a solve's ``stats`` report of this bound."""
        return LagrangianStats(bound=self.bound, contested_demands=self.contested_demands,
                               core_volunteers=self.core_volunteers, core_pairs=self.core_pairs,
                               core_optimal=self.core_optimal, wall_capped=self.wall_capped,
                               seconds=round(self.seconds, 3))


def _best_schedules(ctx: SolveContext, idx: I64, weight: I64) -> tuple[I64, I64]:
    """Each volunteer's best schedule over the residual pairs ``idx`` at ``weight`` (int64 per residual pair).

    Rule 7 by the intervals; with travel, rule 7b by :func:`~matcher.engine.schedules.chain_values` (each task
    reached from one it may follow, its trip tested), tighter than the stretched intervals of
    :func:`~matcher.engine.sequencing.clique_ends` alone.
    """
    arr, rp = ctx.arr, ctx.rp
    v, d = rp.v[idx], rp.d[idx]
    if arr.travel is None:
        return schedule_values(v, arr.d_start_rank[d], ctx.clique_end_rank[idx], weight[idx], ctx.res.tasks)
    s, e = arr.d_start[d], arr.d_end[d]

    def may_follow(i: I64, j: I64) -> B:
        return np.asarray(s[j] - e[i] >= travel_between_us(arr, v[i], d[i], d[j]), dtype=bool)

    return chain_values(v, s, e, weight[idx], ctx.res.tasks, longest_trip_us(arr), may_follow)


def _contested(ctx: SolveContext, x: F64) -> B:
    """Demands with a fractional LP column (bool per demand row)."""
    frac = (x > FRACTIONAL) & (x < 1 - FRACTIONAL)
    out = np.zeros(ctx.arr.nd, dtype=bool)
    out[ctx.rp.d[frac]] = True
    return out


def _inside_core(ctx: SolveContext, dc: B, core_vol: B) -> B:
    """The contested demands (bool per demand row) whose every candidate is a core volunteer (``core_vol``)."""
    outside = np.bincount(ctx.rp.d, weights=~core_vol[ctx.rp.v], minlength=ctx.arr.nd)
    return np.asarray(dc & (outside == 0), dtype=bool)


@dataclass(frozen=True, eq=False)
class _Prices:
    """The snapped prices the core's terms depend on.

    Seats ``y`` and crews ``c`` (int64 per demand row), links ``m`` (int64 per residual pair; those of
    ``link_pair`` priced); ``crews``: the LP had crew rows.
    """

    y: I64
    c: I64
    m: I64
    link_pair: I64
    crews: bool


@dataclass(frozen=True)
class _Terms:
    priced: int
    """``sum Y·seats`` over the plain seat rows plus each crew's most its ``y`` earns, the core's crews left out."""
    moved: int
    """The most the core's crews' ``y`` earn (positive gains): what the core's relaxed value adds for them."""


def _price_terms(ctx: SolveContext, p: _Prices) -> tuple[int, I64]:
    """The price terms with every crew's ``y`` outside the core, and each crew's ``y`` earnings.

    ``sum Y·seats`` over the plain seat rows plus each crew's most its ``y`` earns; the earnings are int64 per
    demand row (0 where no crew).
    """
    res, rp = ctx.res, ctx.rp
    if not p.crews:
        return int((p.y * res.seats).sum()), np.zeros(ctx.arr.nd, dtype=np.int64)
    # each crew's y in [0, 1] earns max(0, sum M + seats·Y - need·C), in integers: its seat row is
    # sum x - seats·y <= 0, whose Y·seats its y earns instead of the seat row's upper bound
    crew = res.open_crew > 0
    y_value = np.where(crew, res.seats * p.y - res.open_crew * p.c, 0)
    np.add.at(y_value, rp.d[p.link_pair], p.m[p.link_pair])
    return int((p.y * np.where(crew, 0, res.seats)).sum()) + int(np.maximum(y_value, 0).sum()), y_value


def _core_input(ctx: SolveContext, p: _Prices, weight: I64, idx: I64) -> tuple[_Terms, CoreInput]:
    """The bound's price terms and the core's model over the residual pairs ``idx`` at ``weight`` (int64 per pair)."""
    from matcher.engine.solvers.core_mip import CoreCrews, CoreInput  # (imported by the caller already)

    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    idx = idx[np.lexsort((arr.d_start[rp.d[idx]], rp.v[idx]))]
    priced, y_value = _price_terms(ctx, p)
    moved, core_crews = 0, None
    if p.crews and len(idx):
        # the crews the core's pairs reach are stated in the core (CoreCrews): their y leave the sum above
        in_core = np.bincount(rp.d[idx], minlength=arr.nd)
        mine = np.flatnonzero((res.open_crew > 0) & (in_core > 0))
        outside = np.bincount(rp.d, minlength=arr.nd)[mine] - in_core[mine]  # each may staff one seat more
        core_crews = CoreCrews(mine, res.open_crew[mine] - outside, y_value[mine])
        moved = int(np.maximum(y_value[mine], 0).sum())
    return _Terms(priced - moved, moved), CoreInput(
        rp.v[idx], rp.d[idx], weight[idx], arr.d_start[rp.d[idx]], arr.d_end[rp.d[idx]], res.tasks, res.hours,
        res.seats, np.ones(arr.nd, dtype=bool), sequence_conflicts(arr, rp.v[idx], rp.d[idx]), core_crews)


def lagrangian_bound(ctx: SolveContext, duals: DualPrices, x: F64, det_budget: float, wall_s: float,
                     contested: B | None = None, price_contested: bool = True,
                     max_core_pairs: int | None = None) -> LagrangianBound | None:
    """The bound of the module docstring for the LP's prices ``duals`` and values ``x`` (float64, ``len(ctx.rp)``).

    ``contested`` (bool per demand row) overrides the default ``Dc`` (demands of
    fractional columns). With ``price_contested`` false, ``Dc``'s seats are kept
    but not priced (``Y = 0`` there): every candidate of ``Dc`` joins the core,
    which is bigger and gives a tighter bound. With it true, the contested
    demands whose every candidate is in the core go unpriced (module
    docstring); the fallback for a core CP-SAT cannot bound well, each core
    volunteer's best schedule, keeps their prices. ``det_budget`` is the core's
    deterministic CP-SAT budget, ``wall_s`` its wall cap. The result is valid
    however the core's search ends; ``None`` when the core would have more than
    ``max_core_pairs`` pairs.
    """
    import time

    with held_signals():
        from matcher.engine.solvers.core_mip import solve_core

    t0 = time.perf_counter()
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    dc = _contested(ctx, x) if contested is None else contested
    y = np.rint(np.maximum(duals.seat, 0.0) * SCALE).astype(np.int64)
    if not price_contested:
        y[dc] = 0
    # the hour rows are priced too, at H/SCALE points per hour: each pair pays at most its exact price (floor) and
    # each volunteer's cap earns at least its own (ceil), so the rounding only loosens the bound
    hour_price = np.rint(np.maximum(duals.hour, 0.0) * SCALE).astype(np.int64)
    # in whole seconds (durations rounded down, caps up) so that int64 never overflows; both roundings loosen
    paid = (hour_price[rp.v] * (arr.d_duration_us[rp.d] // US_PER_S)) // S_PER_HOUR
    earned = -((-hour_price * -(-res.hours // US_PER_S)) // S_PER_HOUR)
    weight = SCALE * ctx.dem_weight[rp.d] - y[rp.d]  # the core keeps its hour rows unpriced
    c_price = np.zeros(arr.nd, dtype=np.int64)
    m_price = np.zeros(len(rp), dtype=np.int64)
    if len(duals.crew):  # rule 11's rows priced too (module docstring): crew pairs earn C_d and pay M_p
        c_price = np.rint(np.maximum(duals.crew, 0.0) * SCALE).astype(np.int64)
        m_price[duals.link_pair] = np.rint(np.maximum(duals.link, 0.0) * SCALE).astype(np.int64)
        weight += c_price[rp.d] - m_price
    cuts = 0
    if len(duals.cut):  # rule 7b's cuts x_i + x_j <= 1 priced at T: each pair pays its cuts' T, each cut earns T
        t_price = np.rint(np.maximum(duals.cut, 0.0) * SCALE).astype(np.int64)
        np.subtract.at(weight, duals.cut_pairs.ravel(), np.repeat(t_price, 2))
        cuts = int(t_price.sum())
    positive = weight > 0
    core_vol = np.zeros(arr.nv, dtype=bool)
    core_vol[rp.v[dc[rp.d] & positive]] = True
    idx = np.flatnonzero(core_vol[rp.v] & positive)
    skipped = max_core_pairs is not None and len(idx) > max_core_pairs
    if skipped and not price_contested:
        return None  # (before the schedules: their time goes to the primal)
    priced = weight - paid
    dp = priced > 0
    owners, values = _best_schedules(ctx, np.flatnonzero(dp), priced)
    outside = cuts + int(earned[~core_vol].sum()) + int(values[~core_vol[owners]].sum())
    # the core with its seat rows dropped and its hour rows priced: a fallback bound for it
    relaxed_core = int(earned[core_vol].sum()) + int(values[core_vol[owners]].sum())
    if skipped:
        idx = idx[:0]  # too big to build in time: the core's relaxed value stands (below)
    prices = _Prices(y, c_price, m_price, duals.link_pair, len(duals.crew) > 0)
    # with no core solved, each core volunteer's best schedule (seat rows dropped, hour rows priced) bounds it
    relaxed = outside + relaxed_core + _price_terms(ctx, prices)[0]
    free = _inside_core(ctx, dc, core_vol) if price_contested and not skipped else dc[:0]
    if free.any():
        # the contested demands nobody outside the core can take go unpriced (module docstring): the schedules
        # outside are the same; only the core and the price terms change (the fallback above keeps the prices)
        prices = _Prices(np.where(free, 0, y), c_price, m_price, duals.link_pair, prices.crews)
        weight = weight + y[rp.d] * free[rp.d]
        idx = np.flatnonzero(core_vol[rp.v] & (weight > 0))
    terms, inp = _core_input(ctx, prices, weight, idx)
    core = solve_core(inp, det_budget, wall_s, ctx.opts.seed, ctx.opts.threads)
    total = relaxed if skipped else min(relaxed, outside + terms.priced + core.bound)
    log.info("Lagrangian bound %d (%d contested demands, %d of them unpriced, core of %d volunteers and %d pairs, "
             "value %d, bound %d%s)", total // SCALE, int(dc.sum()), int(free.sum()), int(core_vol.sum()),
             len(inp.pair_v), core.value, core.bound, ", proven" if core.optimal else "")
    return LagrangianBound(total // SCALE, total, int(dc.sum()), int(core_vol.sum()), len(inp.pair_v), core.optimal,
                           core.wall_capped, time.perf_counter() - t0)

