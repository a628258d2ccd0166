"""Greedy steps: feasible answers made fast, kept feasible by construction.

- :func:`greedy_take`: take pairs in an order whenever the rules still allow;
- :func:`make_feasible`: the flow's relaxed choice made feasible, its freed seats refilled;
- :func:`swap_improve`: local search that gives open seats to volunteers by
  dropping less valuable tasks (every move raises coverage);
- :func:`round_relaxed`: a feasible answer from the LP's fractional one;
- :func:`hurried`: the answer when there is no time for the flow;
- :func:`greedy_dispatch`: what is done by hand today (most urgent first,
  nearest free volunteer), the baseline matcher is compared against.
"""

from __future__ import annotations

import numpy as np

from matcher.engine.arrays import ProblemArrays, build_arrays
from matcher.engine.candidates import Pairs, candidate_pairs
from matcher.engine.context import Clock, Residual, SolveContext, residual
from matcher.engine.costs import priority_weights
from matcher.engine.report import build_solution
from matcher.engine.types import F64, I64, B
from matcher.model import Problem, Solution, SolveOptions, Status

__all__ = ["SWAP_MOVES", "greedy_dispatch", "greedy_take", "hurried", "make_feasible", "round_relaxed",
           "swap_improve"]

SWAP_MOVES = 100_000
"""Most local-search moves after making an answer feasible (each raises coverage; a deterministic budget)."""

SWAP_PASSES = 4
"""Most passes of the local search over the demands with open seats."""


def greedy_take(arr: ProblemArrays, sub: Pairs, order: I64, tasks: I64, hours: I64, seats: I64) -> B:
    """Take pairs in the given order whenever the rules still allow it.

    A pair is taken when its demand has a seat left and its volunteer has a
    task and the hours left and no overlapping task taken so far. ``tasks``,
    ``hours`` (microseconds) and ``seats`` are what is left (they are not
    changed). Returns a bool mask over ``sub``. Plain Python lists: this loop
    may see every candidate pair of a district.
    """
    keep = np.zeros(len(sub), dtype=bool)
    tasks_l, hours_l, seats_l = tasks.tolist(), hours.tolist(), seats.tolist()
    start_l, end_l = arr.d_start.tolist(), arr.d_end.tolist()
    taken: dict[int, list[tuple[int, int]]] = {}
    for i, v, d in zip(order.tolist(), sub.v[order].tolist(), sub.d[order].tolist()):
        if seats_l[d] < 1 or tasks_l[v] < 1:
            continue
        s, e = start_l[d], end_l[d]
        if hours_l[v] < e - s or any(s < e2 and s2 < e for s2, e2 in taken.get(v, ())):
            continue
        keep[i] = True
        tasks_l[v] -= 1
        seats_l[d] -= 1
        hours_l[v] -= e - s
        taken.setdefault(v, []).append((s, e))
    return keep


def refill(ctx: SolveContext, kept: B, order: I64) -> B:
    """``kept`` (feasible) plus, in ``order``, every other pair the rules still allow."""
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    seats_left = res.seats - np.bincount(rp.d[kept], minlength=arr.nd)
    tasks_left = res.tasks - np.bincount(rp.v[kept], minlength=arr.nv)
    open_pair = ~kept & (seats_left[rp.d] > 0) & (tasks_left[rp.v] > 0)
    return greedy_take(arr, rp, np.concatenate([order[kept[order]], order[open_pair[order]]]),
                       res.tasks, res.hours, res.seats)


def _by_value(ctx: SolveContext) -> I64:
    """Pairs most valuable first, then cheapest."""
    return np.lexsort((ctx.pair_cost, -ctx.dem_weight[ctx.rp.d]))


def make_feasible(ctx: SolveContext, chosen: B) -> B:
    """Make the flow's choice feasible, then fill the seats it frees, greedily.

    The flow's pairs are kept most valuable first while the rules allow
    (dropping the clashes of overbooked volunteers); then every other candidate
    pair of a demand with a seat left and a volunteer with a task left is tried,
    most valuable and cheapest first. The result is feasible: the CP-SAT
    regions start from it and only improve it.
    """
    order = _by_value(ctx)
    kept = greedy_take(ctx.arr, ctx.rp, order[chosen[order]], ctx.res.tasks, ctx.res.hours, ctx.res.seats)
    return refill(ctx, kept, order)


def round_relaxed(ctx: SolveContext, x: F64) -> B:
    """A feasible solution from the LP's: pairs by LP value, then weight, then cost, greedily; then refilled."""
    rp, res = ctx.rp, ctx.res
    order = np.lexsort((ctx.pair_cost, -ctx.dem_weight[rp.d], -np.round(x, 6)))
    kept = greedy_take(ctx.arr, rp, order[x[order] > 1e-6], res.tasks, res.hours, res.seats)
    return refill(ctx, kept, _by_value(ctx))


def hurried(ctx: SolveContext) -> tuple[B, int]:
    """The answer when there is no time for a flow round: pairs by value, greedily; and the trivial bound.

    The bound is what each demand's seats could give with the candidates it has.
    """
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    order = np.lexsort((ctx.pair_cost, -ctx.dem_weight[rp.d]))
    chosen = refill(ctx, np.zeros(len(rp), dtype=bool), order)
    bound = int((ctx.dem_weight * np.minimum(res.seats, np.bincount(rp.d, minlength=arr.nd))).sum())
    return chosen, bound


def swap_improve(ctx: SolveContext, chosen: B, max_moves: int = SWAP_MOVES) -> B:
    """Local search on a feasible choice: give an open seat to a volunteer by dropping less valuable tasks.

    For each demand with an open seat (most valuable first) and each of its
    candidates (cheapest first), the volunteer's tasks that overlap it, and then
    its least valuable tasks until its task and hour caps hold, are dropped when
    they are worth less than the seat; each dropped seat is then offered to its
    other candidates that are free. Every move keeps every rule and raises
    coverage, so the result stays feasible. At most ``max_moves`` moves (a
    deterministic budget).
    """
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    by_d = np.lexsort((ctx.pair_cost, rp.d))
    d_sorted = rp.d[by_d]
    first = np.searchsorted(d_sorted, np.arange(arr.nd + 1))
    cand = by_d.tolist()
    v_l, d_l = rp.v.tolist(), rp.d.tolist()
    start, end, w = arr.d_start.tolist(), arr.d_end.tolist(), ctx.dem_weight.tolist()
    tasks_cap, hours_cap, seats = res.tasks.tolist(), res.hours.tolist(), res.seats.tolist()
    first_l = first.tolist()
    held: dict[int, dict[int, int]] = {}
    filled = [0] * arr.nd
    out = chosen.copy()

    def fits(v: int, d: int) -> bool:
        mine = held.get(v, {})
        if d in mine or len(mine) >= tasks_cap[v]:
            return False
        if sum(end[x] - start[x] for x in mine) + end[d] - start[d] > hours_cap[v]:
            return False
        return not any(start[x] < end[d] and start[d] < end[x] for x in mine)

    def take(i: int) -> None:
        held.setdefault(v_l[i], {})[d_l[i]] = i
        filled[d_l[i]] += 1
        out[i] = True

    for i in np.flatnonzero(chosen).tolist():
        take(i)

    def offer(d: int) -> None:
        for k in range(first_l[d], first_l[d + 1]):
            if filled[d] >= seats[d]:
                return
            i = cand[k]
            if fits(v_l[i], d):
                take(i)

    def swap_into(d: int, budget: int) -> int:
        """Moves that give demand d's open seats to its candidates; returns how many were made."""
        made = 0
        for k in range(first_l[d], first_l[d + 1]):
            if filled[d] >= seats[d] or made >= budget:
                break
            i = cand[k]
            v = v_l[i]
            mine = held.get(v, {})
            if d in mine:
                continue
            drop = [x for x in mine if start[x] < end[d] and start[d] < end[x]]
            rest = sorted((x for x in mine if x not in drop), key=lambda x: w[x])
            n_after = len(rest) + 1
            used = sum(end[x] - start[x] for x in rest) + end[d] - start[d]
            while rest and (n_after > tasks_cap[v] or used > hours_cap[v]):
                x = rest.pop(0)
                drop.append(x)
                n_after -= 1
                used -= end[x] - start[x]
            if n_after > tasks_cap[v] or used > hours_cap[v] or sum(w[x] for x in drop) >= w[d]:
                continue
            for x in drop:
                out[mine.pop(x)] = False
                filled[x] -= 1
            take(i)
            made += 1
            for x in drop:
                offer(x)
        return made

    moves = 0
    by_value = np.argsort(-ctx.dem_weight, kind="stable").tolist()
    for _ in range(SWAP_PASSES):
        before = moves
        for d in by_value:
            if filled[d] < seats[d] and first_l[d + 1] > first_l[d] and moves < max_moves:
                moves += swap_into(d, max_moves - moves)
        if moves == before:
            break
    return out


def greedy_dispatch(problem: Problem, options: SolveOptions | None = None) -> Solution:
    """Dispatch greedily, most urgent first, nearest free volunteer: what is done by hand today.

    Demands are taken most urgent first (priority, then earliest start, then
    id). Each open seat goes to the nearest candidate volunteer who is still
    free: no overlap with their tasks so far, tasks and hours left. Pinned
    assignments are placed first. It keeps every hard rule of SPEC.md (it uses
    the same candidate pairs as the engine) but makes no attempt to optimise: it
    is the baseline that matcher's coverage is compared against.
    ``coverage_bound`` is the trivial bound ``sum(w * min(headcount, candidates))``;
    the status is ``optimal`` only when the greedy reaches it.

    Raises
    ------
    PinnedError
        When the pinned assignments break a hard rule.

    """
    opts = options or problem.options or SolveOptions()
    clock = Clock()
    arr = build_arrays(problem)
    pairs = candidate_pairs(arr)
    clock.done("candidates")
    # pinned pairs are checked (PinnedError) and placed as the engine does; the rest is what is left
    res: Residual = residual(arr, pairs, opts)
    rp = res.pairs
    # most urgent demand first (priority, then earliest start, then index), nearest volunteer first
    urgency = np.empty(arr.nd, dtype=np.int64)
    urgency[np.lexsort((np.arange(arr.nd), arr.d_start, -arr.d_priority))] = np.arange(arr.nd)
    keep = greedy_take(arr, rp, np.lexsort((rp.v, rp.km, urgency[rp.d])), res.tasks, res.hours, res.seats)
    clock.done("greedy")

    weights = priority_weights(opts)
    v_arr = np.concatenate([arr.pinned[0], rp.v[keep]])
    d_arr = np.concatenate([arr.pinned[1], rp.d[keep]])
    coverage = int(weights[arr.d_priority[d_arr]].sum())
    reachable = np.minimum(arr.d_headcount, np.bincount(pairs.d, minlength=arr.nd))
    bound = int((weights[arr.d_priority] * reachable).sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    stats = {"engine": "greedy", "candidate_pairs": len(pairs)}
    return build_solution(arr, pairs, v_arr, d_arr, opts, status, coverage, bound, stats, clock)
