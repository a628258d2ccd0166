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

from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.arrays import member
from matcher.engine.context import SolveContext, held_signals
from matcher.engine.types import F64, I64, US_PER_HOUR

if TYPE_CHECKING:  # highspy is imported when first used (it costs a few tenths of a second)
    from matcher.engine.solvers.warm_lp import WarmSolution

__all__ = ["WorkingSet", "expand_ranges"]


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
    """The sifting LP's working columns and rows in a :class:`~matcher.engine.solvers.warm_lp.WarmLp`."""

    def __init__(self, ctx: SolveContext, objective: F64, span: int, threads: int = 1) -> None:
        with held_signals():
            from matcher.engine.solvers.warm_lp import WarmLp

        self.ctx, self.c, self.span = ctx, objective, span
        self.lp = WarmLp(threads)
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

    def _col_data(self, idx: I64) -> tuple[I64, I64, I64, I64, I64]:
        arr, rp = self.ctx.arr, self.ctx.rp
        d = rp.d[idx]
        return rp.v[idx], d, arr.d_start_rank[d], self.ctx.clique_end_rank[idx], arr.d_duration_us[d]

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
        upper = [res.seats[seat_new].astype(float)]
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
            rows_c.append(sel)
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
            rows_c.append(q)
            rows_v.append(np.ones(len(q)))
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
        cols_c.append(q)
        cols_r.append(self.clique_row[pos])
        cols_v.append(np.ones(len(q)))
        self.lp.add_cols(self.c[new], np.concatenate(cols_c), np.concatenate(cols_r), np.concatenate(cols_v))
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
        at_i = order[np.searchsorted(self.cols[order], key // n)]
        at_j = order[np.searchsorted(self.cols[order], key % n)]
        k = len(key)
        first = self.lp.rows
        self.lp.add_rows(np.ones(k), np.repeat(np.arange(k, dtype=np.int64), 2),
                         np.stack([at_i, at_j], axis=1).ravel(), np.ones(2 * k))
        self.travel_keys = np.sort(np.concatenate([self.travel_keys, key]))
        self.travel_rows = np.concatenate([self.travel_rows, first + np.arange(k, dtype=np.int64)])
        return k

    def solve(self, wall_s: float, primal: bool = False) -> WarmSolution | None:
        """Solve warm (by the primal simplex when ``primal``); ``None`` when the time ran out first."""
        return self.lp.solve(wall_s, primal)

    def dual_parts(self, row_dual: F64) -> tuple[F64, F64, F64, I64, F64]:
        """Split row duals (clipped at 0) into seat (per demand), task and hour (per volunteer), and clique prices.

        The clique prices come with their keys ``v * span + point``, sorted.
        """
        y = np.maximum(row_dual, 0.0)
        arr = self.ctx.arr
        out = []
        for table, n in ((self.seat_row, arr.nd), (self.task_row, arr.nv), (self.hour_row, arr.nv)):
            part = np.zeros(n)
            has = table >= 0
            part[has] = y[table[has]]
            out.append(part)
        return out[0], out[1], out[2], self.clique_key, y[self.clique_row]
