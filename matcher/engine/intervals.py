"""Interval algorithms on time lines, one copy each, used by every tier.

All intervals are half-open ``[start, end)`` in integer time units (microseconds,
or ranks of them, which keep the order): touching ends do not overlap (SPEC
rule 7), while availability windows that overlap or touch join into one
(rule 2). Arrays are 1-d int64 of equal length, one entry per interval, with
the interval's owner (a volunteer row) in ``v``.

Sources: interval graphs are chordal, so their maximal cliques are the sets of
intervals containing a start point, and a greedy by earliest end gives a
minimum clique cover (Golumbic, *Algorithmic Graph Theory and Perfect Graphs*,
1980, ch. 8; Gupta, Lee & Leung, "Efficient algorithms for interval graphs and
circular-arc graphs", Networks 12, 1982).
"""

from __future__ import annotations

import numpy as np

from matcher.engine.types import I64, B

__all__ = ["clashes", "clique_cover", "max_clique_rows", "merge_windows", "merged_windows_us", "overlaps_fixed"]


def merge_windows(vol: I64, start: I64, end: I64) -> tuple[I64, I64, I64]:
    """Join each owner's windows that overlap or touch (SPEC rule 2), vectorised.

    Returns the merged windows ``(vol, start, end)`` sorted by (owner, start).
    """
    if len(vol) == 0:
        return vol, start, end
    order = np.lexsort((start, vol))
    vol, start, end = vol[order], start[order], end[order]
    # running max of end within each volunteer: offset by volunteer so one accumulate serves all
    span = int(end.max() - start.min()) + 1
    shifted = (end - start.min()) + vol * span
    run_end = np.maximum.accumulate(shifted) - vol * span + start.min()
    new = np.ones(len(vol), dtype=bool)
    new[1:] = (vol[1:] != vol[:-1]) | (start[1:] > run_end[:-1])
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    m_end = np.zeros(len(first), dtype=np.int64)
    np.maximum.at(m_end, group, end)
    return vol[first], start[first], m_end


def merged_windows_us(vol: I64, start_us: I64, end_us: I64) -> tuple[I64, I64, I64]:
    """:func:`merge_windows` on times in microseconds (merged on their ranks, which keeps the sums small)."""
    values = np.unique(np.concatenate([start_us, end_us]))
    vol, s, e = merge_windows(vol, np.searchsorted(values, start_us), np.searchsorted(values, end_us))
    return vol, values[s], values[e]


def clashes(v: I64, s: I64, e: I64) -> tuple[I64, B]:
    """Sort intervals by (owner, start); ``clash[i]`` says sorted interval ``i+1`` overlaps interval ``i``.

    Returns the sorting order (int64, length n) and ``clash`` (bool, length
    ``max(n - 1, 0)``). Checking neighbours is enough: if any two of an owner's
    intervals overlap, two consecutive ones in start order do.
    """
    order = np.lexsort((s, v))
    vo, so, eo = v[order], s[order], e[order]
    clash: B = (vo[1:] == vo[:-1]) & (so[1:] < eo[:-1])
    return order, clash


def overlaps_fixed(fixed_v: I64, fixed_s: I64, fixed_e: I64, v: I64, s: I64, e: I64) -> B:
    """Which intervals ``(v, s, e)`` overlap a fixed interval of the same owner.

    The fixed intervals must be sorted by (owner, start) and must not overlap
    each other within an owner (then the one starting last before an interval
    ends is the only candidate). Times should be ranks, which keep keys small.
    """
    if len(fixed_v) == 0:
        return np.zeros(len(v), dtype=bool)
    span = int(max(int(fixed_e.max()), int(e.max(initial=0)))) + 1
    key = fixed_v * span + fixed_s
    # the fixed interval of this owner that starts last before the interval ends
    idx = np.searchsorted(key, v * span + e, side="left") - 1
    idx_c = np.maximum(idx, 0)
    hit: B = (idx >= 0) & (fixed_v[idx_c] == v) & (fixed_e[idx_c] > s)
    return hit


def clique_cover(v: I64, s: I64, e: I64, n_owners: int) -> tuple[I64, I64]:
    """Minimum clique cover of each owner's intervals (the classic greedy), vectorised by rounds.

    Each round, every owner takes the earliest end among its intervals not yet
    grouped as an anchor and groups every remaining interval that starts before
    it: all of them contain the point just before the anchor, so they pairwise
    overlap. Rounds run as many times as the largest number of groups one owner
    needs. Returns the group of each interval (int64, length n) and the number
    of groups per owner (int64, length ``n_owners``).
    """
    order = np.lexsort((s, e, v))
    vo, so, eo = v[order], s[order], e[order]
    gid = np.empty(len(vo), dtype=np.int64)
    idx = np.arange(len(vo))
    n_groups = 0
    while len(idx):
        rv = vo[idx]
        first = np.ones(len(idx), dtype=bool)
        first[1:] = rv[1:] != rv[:-1]
        seg = np.cumsum(first) - 1
        take = so[idx] < eo[idx][first][seg]
        gid[idx[take]] = n_groups + seg[take]
        n_groups += int(first.sum())
        idx = idx[~take]
    group = np.empty(len(vo), dtype=np.int64)
    group[order] = gid
    first_v = np.zeros(n_groups, dtype=np.int64)
    first_v[group] = v
    return group, np.bincount(first_v, minlength=n_owners).astype(np.int64)


def max_clique_rows(v: I64, s: I64, e: I64) -> tuple[I64, I64, int]:
    """Maximal cliques (of two or more) of each owner's intervals ``[s, e)``.

    ``v`` must be sorted and ``s`` sorted within each owner. Returns (row of
    each entry, interval of each entry, number of rows), int64 arrays of equal
    length; rows come in (owner, start point) order. The set of intervals
    containing a start point is a maximal clique when one of them ends before
    the next start point. Works by offsets: step ``k`` compares every interval
    with the interval ``k`` places before it.
    """
    n = len(v)
    idx = np.arange(n)
    last_of_start = np.r_[(v[1:] != v[:-1]) | (s[1:] != s[:-1]), True]
    big = np.iinfo(np.int64).max
    next_start = np.full(n, big, dtype=np.int64)
    next_start[:-1] = np.where(v[1:] == v[:-1], s[1:], big)
    min_end = e.copy()
    count = np.ones(n, dtype=np.int64)
    rows_i, rows_j = [idx], [idx]
    act = idx[1:]
    k = 1
    while len(act):
        j = act - k
        same = v[j] == v[act]
        act, j = act[same], j[same]
        inside = e[j] > s[act]
        ai, aj = act[inside], j[inside]
        rows_i.append(ai)
        rows_j.append(aj)
        np.minimum.at(min_end, ai, e[aj])
        np.add.at(count, ai, 1)
        k += 1
        act = act[act >= k]
    mi, mj = np.concatenate(rows_i), np.concatenate(rows_j)
    keep = last_of_start & (count >= 2) & (min_end <= next_start)
    sel = keep[mi]
    row = np.cumsum(keep) - 1
    return row[mi[sel]], mj[sel], int(keep.sum())
