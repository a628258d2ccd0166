"""The working set of the sifting LP, kept in a warm-started HiGHS model: which rows exist, and for what.

Columns are residual pairs (indices into ``ctx.rp``), appended in the order
they join. Rows are created when they can first bind:

- a seat row when a demand gets its first working column;
- a task row (hour row) when a volunteer's working columns outnumber its tasks
  left (outlast its hours left);
- a clique row ``(v, p)`` for a start point ``p`` of one of ``v``'s working
  columns once two or more of them contain ``p`` (touching ends do not
  overlap). Rows at the working start points dominate every other clique of the
  working intervals (see :mod:`matcher.engine.sifting`).

- with crews (SPEC rule 11, :attr:`~matcher.engine.context.Residual.open_crew`), a crew row
  ``need·y - sum x <= 0`` and the crew's column ``y`` in [0, 1] when the crew gets its first working column,
  and a link row ``x - y <= 0`` with each working column of a crew; the crew's seat row is then
  ``sum x - seats·y <= 0`` (see :mod:`matcher.engine.sifting`).
  The LP's columns are then the working pairs with the crews' ``y`` between them (:attr:`WorkingSet.pair_col`).

New rows get their entries for the columns already in; new columns get their
entries in every row, old and new. A row, once made, stays (a dominated clique
row is redundant, never wrong).

A column's interval ends at ``ctx.clique_end_rank`` (with travel, past the demand's end: see
:mod:`matcher.engine.sifting`). The rest of SPEC v2's rule 7b comes in as cuts
(:meth:`WorkingSet.add_travel_rows`): a row
``x_i + x_j <= 1`` for two working columns of one volunteer with too little
time to travel between them, added when the LP's solution breaks it. Such a row
holds for every feasible plan, so the LP stays a relaxation; columns outside
it have no entry in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.arrays import member
from matcher.engine.context import SolveContext, held_signals
from matcher.engine.types import F64, I64, US_PER_HOUR

if TYPE_CHECKING:  # highspy is imported when first used (it costs a few tenths of a second)
    from matcher.engine.solvers.warm_lp import WarmSolution

__all__ = ["DualPrices", "WorkingSet", "expand_ranges"]


@dataclass(frozen=True, eq=False)
class DualPrices:
    """Dual prices of the LP's rows (each ``>= 0``), in coverage points.

    ``seat`` (float64, one per demand row), ``task`` and ``hour`` (float64, one
    per volunteer row; ``hour`` per hour of service), and the clique rows as
    sorted keys ``clique_key = v * span + point`` (int64, time points as ranks)
    with their prices ``clique`` (float64). Rule 11's rows, when the LP has
    crews: ``crew`` (float64 per demand row, or empty) prices ``need·y - sum x
    <= 0``, and ``link`` (float64) the rows ``x - y <= 0`` of the residual pairs
    ``link_pair`` (int64). Rule 7b's cuts ``x_i + x_j <= 1``: ``cut`` (float64)
    with their residual pairs ``cut_pairs`` (int64, shape ``(k, 2)``).
    """

    seat: F64
    task: F64
    hour: F64
    clique_key: I64
    clique: F64
    span: int
    crew: F64 = field(default_factory=lambda: np.zeros(0))
    link_pair: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    link: F64 = field(default_factory=lambda: np.zeros(0))
    cut_pairs: I64 = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    cut: F64 = field(default_factory=lambda: np.zeros(0))

    def crew_values(self, need: I64, seats: I64, pair_d: I64) -> F64:
        """Each crew's ``y`` reduced cost ``sum(link) + seats·seat - need·crew`` (float64 per demand; 0 elsewhere).

        ``need``: the LP's crews (:attr:`~matcher.engine.context.Residual.open_crew`), ``seats`` (int64 per
        demand) their open seats, whose row is ``sum x - seats·y <= 0``; ``pair_d``: each residual pair's demand
        row.
        """
        if len(self.crew) == 0:
            return np.zeros(len(need))
        linked = np.bincount(pair_d[self.link_pair], weights=self.link, minlength=len(need))
        out: F64 = np.where(need > 0, linked + seats * self.seat - need * self.crew, 0.0)
        return out


def expand_ranges(keys: I64, lo_key: I64, hi_key: I64) -> tuple[I64, I64]:
    """For each query ``i``, every position ``k`` of the sorted ``keys`` with ``lo_key[i] <= keys[k] < hi_key[i]``.

    Returns (query index, key position), int64 arrays of equal length.
    """
    lo = np.searchsorted(keys, lo_key, side="left")
    n = np.searchsorted(keys, hi_key, side="left") - lo
    n = np.maximum(n, 0)
    total = int(n.sum())
    query = np.repeat(np.arange(len(lo_key), dtype=np.int64), n)
    pos = np.repeat(lo, n) + (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n))
    return query, pos


class WorkingSet:
    """The sifting LP's working columns and rows in a :class:`~matcher.engine.solvers.warm_lp.WarmLp`.

    ``presolve_first``: the first solve presolves (:class:`~matcher.engine.solvers.warm_lp.WarmLp`).
    """

    def __init__(self, ctx: SolveContext, objective: F64, span: int, threads: int = 1,
                 presolve_first: bool = False) -> None:
        with held_signals():
            from matcher.engine.solvers.warm_lp import WarmLp

        self.ctx, self.c, self.span = ctx, objective, span
        self.lp = WarmLp(threads, presolve_first)
        arr = ctx.arr
        self.cols = np.zeros(0, dtype=np.int64)
        self.seat_row = np.full(arr.nd, -1, dtype=np.int64)
        self.task_row = np.full(arr.nv, -1, dtype=np.int64)
        self.hour_row = np.full(arr.nv, -1, dtype=np.int64)
        self.clique_key = np.zeros(0, dtype=np.int64)
        self.clique_row = np.zeros(0, dtype=np.int64)
        self.upper: list[F64] = []
        self.travel_keys = np.zeros(0, dtype=np.int64)
        self.travel_rows = np.zeros(0, dtype=np.int64)
        self.pair_col = np.zeros(0, dtype=np.int64)
        """The LP column of each working pair (the crews' ``y`` columns come between them)."""
        self.need = ctx.res.open_crew
        self.crew_row = np.full(arr.nd, -1, dtype=np.int64)
        self.crew_col = np.full(arr.nd, -1, dtype=np.int64)
        self.link_row = np.zeros(0, dtype=np.int64)
        """The row ``x - y <= 0`` of each working pair of a crew (-1 for the others)."""

    def _col_data(self, idx: I64) -> tuple[I64, I64, I64, I64, I64]:
        arr, rp = self.ctx.arr, self.ctx.rp
        d = rp.d[idx]
        return rp.v[idx], d, arr.d_start_rank[d], self.ctx.clique_end_rank_of(idx), arr.d_duration_us[d]

    def add(self, new: I64) -> None:
        """Add the residual pairs ``new`` (int64, none already in) with the rows they make necessary."""
        res = self.ctx.res
        new = np.unique(new)
        old = self.cols
        allc = np.concatenate([old, new])
        v, d, s, e, dur = self._col_data(allc)
        n_old = len(old)
        nv_, nd_, sn, en = v[n_old:], d[n_old:], s[n_old:], e[n_old:]
        base = self.lp.rows
        # seat rows: demands with their first column (no old column is in them)
        seat_new = np.unique(nd_[self.seat_row[nd_] < 0])
        self.seat_row[seat_new] = base + np.arange(len(seat_new))
        # (a crew's seat row holds sum x - seats·y <= 0: its y column, made below, has -seats there)
        upper = [np.where(self.need[seat_new] > 0, 0, res.seats[seat_new]).astype(float)]
        rows_r: list[I64] = []
        rows_c: list[I64] = []
        rows_v: list[F64] = []
        nxt = base + len(seat_new)
        touched = np.unique(nv_)
        count = np.bincount(v, minlength=self.ctx.arr.nv)[touched]
        hours = np.bincount(v, weights=dur, minlength=self.ctx.arr.nv)[touched]
        old_of = member(v[:n_old], touched)
        for table, needs, cap_up, coef in (
            (self.task_row, count > res.tasks[touched], res.tasks[touched].astype(float), None),
            (self.hour_row, hours > res.hours[touched], res.hours[touched] / US_PER_HOUR + 1e-9, dur / US_PER_HOUR),
        ):
            vols = touched[needs & (table[touched] < 0)]
            table[vols] = nxt + np.arange(len(vols))
            upper.append(cap_up[needs & (np.isin(touched, vols))])
            sel = np.flatnonzero(old_of & (table[v[:n_old]] >= nxt))
            rows_r.append(table[v[sel]] - base)
            rows_c.append(self.pair_col[sel])
            rows_v.append(np.ones(len(sel)) if coef is None else coef[sel])
            nxt += len(vols)
        # clique points of the touched volunteers contained in two or more of their working columns
        tv = np.flatnonzero(member(v, touched))
        ks = np.sort(v[tv] * self.span + s[tv])
        ke = np.sort(v[tv] * self.span + e[tv])
        p_key = np.unique(v[tv] * self.span + s[tv])
        inside = np.searchsorted(ks, p_key, side="right") - np.searchsorted(ke, p_key, side="right")
        p_key = p_key[inside >= 2]
        p_key = p_key[~member(p_key, self.clique_key)] if len(self.clique_key) else p_key
        clique_new_row = nxt + np.arange(len(p_key))
        upper.append(np.ones(len(p_key)))
        if len(p_key) and n_old:
            q, pos = expand_ranges(p_key, v[:n_old] * self.span + s[:n_old], v[:n_old] * self.span + e[:n_old])
            rows_r.append(clique_new_row[pos] - base)
            rows_c.append(self.pair_col[q])
            rows_v.append(np.ones(len(q)))
        nxt += len(p_key)
        # rule 11: a crew's row need·y - sum x <= 0 with its first column, a row x - y <= 0 with each column
        crew_new = np.unique(nd_[(self.need[nd_] > 0) & (self.crew_row[nd_] < 0)])
        self.crew_row[crew_new] = nxt + np.arange(len(crew_new))
        nxt += len(crew_new)
        on_crew = self.need[nd_] > 0
        link_new = np.full(len(new), -1, dtype=np.int64)
        link_new[on_crew] = nxt + np.arange(int(on_crew.sum()))
        upper += [np.zeros(len(crew_new)), np.zeros(int(on_crew.sum()))]
        y_old = on_crew & (self.crew_col[nd_] >= 0)  # (a new crew's y comes after its columns)
        rows_r.append(link_new[y_old] - base)
        rows_c.append(self.crew_col[nd_[y_old]])
        rows_v.append(-np.ones(int(y_old.sum())))
        self.clique_key = np.concatenate([self.clique_key, p_key])
        self.clique_row = np.concatenate([self.clique_row, clique_new_row])
        order = np.argsort(self.clique_key, kind="stable")
        self.clique_key, self.clique_row = self.clique_key[order], self.clique_row[order]
        self.lp.add_rows(np.concatenate(upper), np.concatenate(rows_r) if rows_r else np.zeros(0, np.int64),
                         np.concatenate(rows_c) if rows_c else np.zeros(0, np.int64),
                         np.concatenate(rows_v) if rows_v else np.zeros(0))
        # the new columns, with their entries in every row
        k = np.arange(len(new), dtype=np.int64)
        has_t, has_h = self.task_row[nv_] >= 0, self.hour_row[nv_] >= 0
        cols_c = [k, k[has_t], k[has_h]]
        cols_r = [self.seat_row[nd_], self.task_row[nv_][has_t], self.hour_row[nv_][has_h]]
        cols_v = [np.ones(len(k)), np.ones(int(has_t.sum())), (dur[n_old:] / US_PER_HOUR)[has_h]]
        q, pos = expand_ranges(self.clique_key, nv_ * self.span + sn, nv_ * self.span + en)
        cols_c += [q, k[on_crew], k[on_crew]]
        cols_r += [self.clique_row[pos], self.crew_row[nd_[on_crew]], link_new[on_crew]]
        cols_v += [np.ones(len(q)), -np.ones(int(on_crew.sum())), np.ones(int(on_crew.sum()))]
        first = self.lp.cols
        self.lp.add_cols(self.c[new], np.concatenate(cols_c), np.concatenate(cols_r), np.concatenate(cols_v))
        # each new crew's y in [0, 1] (cost 0), with its entries in the crew's rows
        mine = on_crew & member(nd_, crew_new)
        at = np.searchsorted(crew_new, nd_[mine])
        self.crew_col[crew_new] = self.lp.cols + np.arange(len(crew_new))
        n_crew = np.arange(len(crew_new))
        self.lp.add_cols(np.zeros(len(crew_new)), np.concatenate([n_crew, n_crew, at]),
                         np.concatenate([self.crew_row[crew_new], self.seat_row[crew_new], link_new[mine]]),
                         np.concatenate([self.need[crew_new].astype(float), -res.seats[crew_new].astype(float),
                                         -np.ones(len(at))]))
        self.pair_col = np.concatenate([self.pair_col, first + k])
        self.link_row = np.concatenate([self.link_row, link_new])
        self.cols = allc

    def add_travel_rows(self, i: I64, j: I64) -> int:
        """Cut ``x_i + x_j <= 1`` for working residual pairs ``i[k]``, ``j[k]`` (rule 7b); how many rows were new."""
        n = len(self.ctx.rp)
        key = np.minimum(i, j) * n + np.maximum(i, j)
        key = np.unique(key)
        key = key[~member(key, self.travel_keys)] if len(self.travel_keys) else key
        if len(key) == 0:
            return 0
        order = np.argsort(self.cols, kind="stable")
        at_i = self.pair_col[order[np.searchsorted(self.cols[order], key // n)]]
        at_j = self.pair_col[order[np.searchsorted(self.cols[order], key % n)]]
        k = len(key)
        first = self.lp.rows
        self.lp.add_rows(np.ones(k), np.repeat(np.arange(k, dtype=np.int64), 2),
                         np.stack([at_i, at_j], axis=1).ravel(), np.ones(2 * k))
        keys = np.concatenate([self.travel_keys, key])
        by_key = np.argsort(keys, kind="stable")  # the keys stay sorted, each with its row
        self.travel_keys = keys[by_key]
        self.travel_rows = np.concatenate([self.travel_rows, first + np.arange(k, dtype=np.int64)])[by_key]
        return k

    def solve(self, wall_s: float, primal: bool = False) -> WarmSolution | None:
        """Solve warm (by the primal simplex when ``primal``); ``None`` when the time ran out first."""
        return self.lp.solve(wall_s, primal)

    def dual_prices(self, row_dual: F64) -> DualPrices:
        """The rows' duals (clipped at 0) by what they price: seats, tasks, hours, cliques, crews, links, cuts."""
        y = np.maximum(row_dual, 0.0)
        arr = self.ctx.arr
        out = []
        for table, n in ((self.seat_row, arr.nd), (self.task_row, arr.nv), (self.hour_row, arr.nv),
                         (self.crew_row, arr.nd)):
            part = np.zeros(n)
            has = table >= 0
            part[has] = y[table[has]]
            out.append(part)
        linked = self.link_row >= 0
        n = len(self.ctx.rp)
        cut_pairs = np.stack([self.travel_keys // n, self.travel_keys % n], axis=1)
        return DualPrices(out[0], out[1], out[2], self.clique_key, y[self.clique_row], self.span, out[3],
                          self.cols[linked], y[self.link_row[linked]], cut_pairs, y[self.travel_rows])
