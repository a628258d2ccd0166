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
    from matcher.solve import _Phases, _residual, greedy_take  # the engine's timer, pinned check, greedy step

    opts = options or problem.options or SolveOptions()
    ph = _Phases()
    arr = build_arrays(problem)
    pairs = candidate_pairs(arr)
    ph.done("candidates")
    # pinned pairs are checked (PinnedError) and placed as the engine does; the rest is what is left
    res = _residual(arr, pairs, opts)
    rp = res.pairs
    # most urgent demand first (priority, then earliest start, then index), nearest volunteer first
    urgency = np.empty(arr.nd, dtype=np.int64)
    urgency[np.lexsort((np.arange(arr.nd), arr.d_start, -arr.d_priority))] = np.arange(arr.nd)
    keep = greedy_take(arr, rp, np.lexsort((rp.v, rp.km, urgency[rp.d])), res.tasks, res.hours, res.seats)
    ph.done("greedy")

    weights = priority_weights(opts)
    v_arr = np.concatenate([arr.pinned[0], rp.v[keep]])
    d_arr = np.concatenate([arr.pinned[1], rp.d[keep]])
    coverage = int(weights[arr.d_priority[d_arr]].sum())
    reachable = np.minimum(arr.d_headcount, np.bincount(pairs.d, minlength=arr.nd))
    bound = int((weights[arr.d_priority] * reachable).sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    stats = {"engine": "greedy", "candidate_pairs": len(pairs)}
    return build_solution(arr, pairs, v_arr, d_arr, opts, status, coverage, bound, stats, ph)
