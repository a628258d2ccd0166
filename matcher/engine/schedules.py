"""Each volunteer's best schedule at given pair weights: the Lagrangian bound's per-volunteer subproblems.

A volunteer outside the bound's core (:mod:`matcher.engine.lagrangian`) keeps its task cap and its rules between
tasks exactly; its hour row is priced. Its best schedule is then a weighted interval scheduling problem with a
cardinality cap (Kolen et al., "Interval scheduling: a survey", NRL 54, 2007), solved here by dynamic programming,
vectorised over volunteers: step ``t`` extends every volunteer's table by its ``t``-th interval in end order.

- :func:`schedule_values`: tasks clash when their intervals overlap (SPEC rule 7; with travel, the intervals
  stretched by :func:`~matcher.engine.sequencing.clique_ends`, so that some of rule 7b's clashes are overlaps).
  The tasks compatible with a later one are a prefix in end order, so each step looks up one row.
- :func:`chain_values`: rule 7b too, by a chain recursion over the volunteer's tasks in time order, each task
  reached from the best chain ending at a task it may follow: every task ending at least ``horizon`` before it
  starts (a prefix in end order, one row), or a nearer task that ``may_follow`` allows (each such pair looked up
  once). Only consecutive tasks of a chain are tested, so a plan's tasks, which keep the rule on every pair, always
  form a chain: the value is at least the best plan's, a relaxation as the bound needs, and at most
  :func:`schedule_values`'s over the stretched intervals (a task a chain may follow ends before the first task
  that does not clash with it).

Values are exact int64 sums of the weights given; intervals are int64 (µs or ranks), ``[s, e)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from matcher.engine.types import I64, B

__all__ = ["chain_values", "schedule_values"]

NEG = -(1 << 60)
"""No chain of this many tasks ends here (far below any sum of weights, far above int64's floor)."""


def _by_groups(v: I64, cap: I64, solve: Callable[[I64], tuple[I64, I64]]) -> tuple[I64, I64]:
    """Owners (sorted, distinct) and their values, ``solve(sel)`` run on each group of owners' pairs ``sel``.

    Owners are grouped by ``ceil(log2(min(cap, intervals))) + 1`` (1, 2, 3-4, 5-8, ...; 0, nothing to take, is
    left at 0) so that each group's tables stay small.
    """
    if len(v) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owners, counts = np.unique(v, return_counts=True)
    k = np.minimum(cap[owners], counts)
    group = np.zeros(len(owners), dtype=np.int64)
    group[k > 0] = np.ceil(np.log2(k[k > 0])).astype(np.int64) + 1
    pair_group = group[np.searchsorted(owners, v)]
    values = np.zeros(len(owners), dtype=np.int64)
    for g in np.unique(group[group > 0]).tolist():
        mine, vals = solve(np.flatnonzero(pair_group == g))
        values[np.searchsorted(owners, mine)] = vals
    return owners, values


def schedule_values(v: I64, s: I64, e: I64, w: I64, cap: I64) -> tuple[I64, I64]:
    """Each owner's best total weight of pairwise non-overlapping intervals, at most ``cap[owner]`` of them.

    ``v``, ``s``, ``e``, ``w``: int64 arrays, one entry per interval ``[s, e)``
    with a positive weight ``w``; ``cap``: int64, indexed by owner. Returns the
    owners (sorted, distinct) and their values (int64).
    """
    return _by_groups(v, cap, lambda sel: _schedules(v[sel], s[sel], e[sel], w[sel], cap))


def _schedules(v: I64, s: I64, e: I64, w: I64, cap: I64) -> tuple[I64, I64]:
    """:func:`schedule_values` for one group of owners.

    Step ``i`` extends every owner's table by its ``i``-th interval in end
    order: ``table[i + 1, t] = max(table[i, t], w_i + table[p(i), t - 1])``.
    """
    order = np.lexsort((s, e, v))
    v, s, e, w = v[order], s[order], e[order], w[order]
    owners, first, counts = np.unique(v, return_index=True, return_counts=True)
    g = np.repeat(np.arange(len(owners)), counts)
    local = np.arange(len(v)) - first[g]
    span = int(max(int(e.max()), int(s.max()))) + 1
    # p(j): how many of the owner's intervals end at or before j starts (all come before j in end order)
    p = np.searchsorted(v * span + e, v * span + s, side="right") - first[g]
    kmax = int(min(int(cap[owners].max()), int(counts.max())))
    table = np.zeros((len(v) + len(owners), kmax + 1), dtype=np.int64)
    row0 = first[g] + g  # the owner's row "before its first interval"
    by_local = np.argsort(local, kind="stable")
    cuts = np.searchsorted(local[by_local], np.arange(int(counts.max()) + 1))
    for i in range(int(counts.max())):
        js = by_local[cuts[i] : cuts[i + 1]]
        before = table[row0[js] + i]
        take = w[js, None] + table[row0[js] + p[js], :-1]
        after = before.copy()
        after[:, 1:] = np.maximum(before[:, 1:], take)
        table[row0[js] + i + 1] = after
    last = first + np.arange(len(owners)) + counts
    return owners, table[last, np.minimum(cap[owners], kmax)]


def chain_values(v: I64, s: I64, e: I64, w: I64, cap: I64, horizon: int,
                 may_follow: Callable[[I64, I64], B]) -> tuple[I64, I64]:
    """Each owner's best total weight of a chain of at most ``cap[owner]`` intervals (module docstring).

    ``v``, ``s``, ``e``, ``w``: int64 arrays, one entry per interval ``[s, e)`` with a positive weight; ``cap``:
    int64, indexed by owner. Interval ``j`` may follow ``i`` of the same owner when ``e_i <= s_j`` and either
    ``s_j - e_i >= horizon`` or ``may_follow(i, j)`` (index arrays into the inputs, of one length; returns bool)
    holds. Returns the owners (sorted, distinct) and their values (int64).
    """

    def solve(sel: I64) -> tuple[I64, I64]:
        def follows(i: I64, j: I64) -> B:
            return may_follow(sel[i], sel[j])

        return _chains(v[sel], s[sel], e[sel], w[sel], cap, horizon, follows)

    return _by_groups(v, cap, solve)


def _chains(v: I64, s: I64, e: I64, w: I64, cap: I64, horizon: int,
            may_follow: Callable[[I64, I64], B]) -> tuple[I64, I64]:
    """:func:`chain_values` for one group of owners.

    ``best[j, k]``: the best chain of ``k`` intervals ending with ``j``; ``prefix[row0 + m, k]``: the best over
    the owner's first ``m`` intervals in end order (``k = 0``: the empty chain, 0). Then ``best[j, k] = w_j +
    max(prefix[row0 + far_j, k - 1], max over near i that j may follow of best[i, k - 1])``.
    """
    order = np.lexsort((s, e, v))
    v, s, e, w = v[order], s[order], e[order], w[order]
    n = len(v)
    owners, first, counts = np.unique(v, return_index=True, return_counts=True)
    g = np.repeat(np.arange(len(owners)), counts)
    local = np.arange(n) - first[g]
    # the times as ranks, so that (owner, time) keys stay far inside int64 whatever the dates
    times, rank = np.unique(np.concatenate([e, s - horizon, s]), return_inverse=True)
    span = len(times) + 1
    ends, reach_far, reach = v * span + rank[:n], v * span + rank[n : 2 * n], v * span + rank[2 * n :]
    far = np.searchsorted(ends, reach_far, side="right") - first[g]  # e_i <= s_j - horizon
    near = np.searchsorted(ends, reach, side="right") - first[g]  # e_i <= s_j
    # the near predecessors (s_j - horizon < e_i <= s_j), each pair tested once
    count = near - far
    pj = np.repeat(np.arange(n), count)
    pi = first[g][pj] + np.repeat(far - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    if len(pi):
        ok = may_follow(order[pi], order[pj])
        pi, pj = pi[ok], pj[ok]
    kmax = int(min(int(cap[owners].max()), int(counts.max())))
    best = np.full((n, kmax + 1), NEG, dtype=np.int64)
    prefix = np.full((n + len(owners), kmax + 1), NEG, dtype=np.int64)
    prefix[:, 0] = 0
    row0 = first[g] + g  # the owner's row "before its first interval"
    by_local = np.argsort(local, kind="stable")
    cuts = np.searchsorted(local[by_local], np.arange(int(counts.max()) + 1))
    by_j = np.argsort(local[pj], kind="stable")  # the near pairs by their later interval's step, then by j
    pi, pj = pi[by_j], pj[by_j]
    pcuts = np.searchsorted(local[pj], np.arange(int(counts.max()) + 1))
    for t in range(int(counts.max())):
        js = by_local[cuts[t] : cuts[t + 1]]  # sorted: pj within a step is sorted too
        before = prefix[row0[js] + far[js], :-1]  # the best chain of k - 1 ending a horizon or more before j
        qi, qj = pi[pcuts[t] : pcuts[t + 1]], pj[pcuts[t] : pcuts[t + 1]]
        if len(qi):
            np.maximum.at(before, np.searchsorted(js, qj), best[qi, :-1])
        best[js, 1:] = w[js, None] + before
        prefix[row0[js] + t + 1] = np.maximum(prefix[row0[js] + t], best[js])
    last = first + np.arange(len(owners)) + counts
    top = np.minimum(cap[owners], kmax)
    keep = np.arange(kmax + 1)[None, :] <= top[:, None]
    return owners, np.where(keep, prefix[last], NEG).max(axis=1)
