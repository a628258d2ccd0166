"""A greedy dispatcher: what is done by hand today, for comparison.

Demands are taken most urgent first (priority, then earliest start, then id).
Each open seat goes to the nearest candidate volunteer who is still free: no
overlap with their tasks so far, tasks and hours left. Pinned assignments are
placed first. It keeps every hard rule of SPEC.md (it uses the same candidate
pairs as the engine, rules 1-5) but makes no attempt to optimise: it is the
baseline that matcher's coverage is compared against.
"""

from __future__ import annotations

import numpy as np

from matcher.arrays import build_arrays
from matcher.candidates import candidate_pairs
from matcher.costs import priority_weights
from matcher.model import Problem, Solution, SolveOptions, Status
from matcher.report import build_solution

__all__ = ["greedy_dispatch"]


def greedy_dispatch(problem: Problem, options: SolveOptions | None = None) -> Solution:
    """Dispatch greedily, most urgent first, nearest free volunteer.

    ``coverage_bound`` is the trivial bound ``sum(w * min(headcount, candidates))``;
    the status is ``optimal`` only when the greedy reaches it.
    """
    from matcher.solve import _Phases, _residual  # the engine's phase timer and pinned-pair check

    opts = options or problem.options or SolveOptions()
    ph = _Phases()
    arr = build_arrays(problem)
    pairs = candidate_pairs(arr)
    ph.done("candidates")
    _residual(arr, pairs, opts)  # raises PinnedError, as the engine does, when a pinned pair breaks a rule
    weights = priority_weights(opts)

    tasks = arr.v_max_tasks.copy()
    hours = arr.v_hours_cap_us.copy()
    seats = arr.d_headcount.copy()
    busy: dict[int, list[tuple[int, int]]] = {}
    out_v: list[int] = []
    out_d: list[int] = []

    def take(v: int, d: int) -> None:
        tasks[v] -= 1
        hours[v] -= arr.d_duration_us[d]
        seats[d] -= 1
        busy.setdefault(v, []).append((int(arr.d_start[d]), int(arr.d_end[d])))
        out_v.append(v)
        out_d.append(d)

    for v, d in zip(arr.pinned[0].tolist(), arr.pinned[1].tolist()):
        take(v, d)
    pinned = set(zip(arr.pinned[0].tolist(), arr.pinned[1].tolist()))

    # candidates of each demand, nearest first
    order = np.lexsort((pairs.v, pairs.km, pairs.d))
    cand_v, cand_d = pairs.v[order], pairs.d[order]
    first = np.searchsorted(cand_d, np.arange(arr.nd + 1))
    urgency = np.lexsort((np.arange(arr.nd), arr.d_start, -arr.d_priority))
    for d in urgency.tolist():
        if seats[d] <= 0:
            continue
        s, e, dur = int(arr.d_start[d]), int(arr.d_end[d]), int(arr.d_duration_us[d])
        for v in cand_v[first[d] : first[d + 1]].tolist():
            if seats[d] <= 0:
                break
            if tasks[v] < 1 or hours[v] < dur or (v, d) in pinned:
                continue
            if any(s < e2 and s2 < e for s2, e2 in busy.get(v, ())):
                continue
            take(v, d)
    ph.done("greedy")

    v_arr = np.asarray(out_v, dtype=np.int64)
    d_arr = np.asarray(out_d, dtype=np.int64)
    coverage = int(weights[arr.d_priority[d_arr]].sum())
    reachable = np.minimum(arr.d_headcount, np.bincount(pairs.d, minlength=arr.nd))
    bound = int((weights[arr.d_priority] * reachable).sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    stats = {"engine": "greedy", "candidate_pairs": len(pairs)}
    return build_solution(arr, pairs, v_arr, d_arr, opts, status, coverage, bound, stats, ph)
