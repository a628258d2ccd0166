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

from collections.abc import Callable

import numpy as np

from matcher.engine.arrays import ProblemArrays, build_arrays
from matcher.engine.candidates import Pairs, candidate_pairs
from matcher.engine.context import Clock, Residual, SolveContext, residual
from matcher.engine.costs import priority_weights
from matcher.engine.report import build_solution
from matcher.engine.sequencing import Sequencer
from matcher.engine.sorting import stable_order_by
from matcher.engine.types import F64, I64, B
from matcher.model import Problem, Solution, SolveOptions, Status

__all__ = ["SWAP_MOVES", "fill_open_seats", "greedy_dispatch", "greedy_take", "hurried", "make_feasible",
           "round_relaxed", "swap_improve", "value_order"]

SWAP_MOVES = 100_000
"""Most local-search moves after making an answer feasible (each raises coverage; a deterministic budget)."""

SWAP_PASSES = 4
"""Most passes of the local search over the demands with open seats."""

GREEDY_BLOCK = 8192
"""Pairs the greedy screens at once with numpy before its Python loop (results do not depend on it)."""


def greedy_take(arr: ProblemArrays, sub: Pairs, order: I64, tasks: I64, hours: I64, seats: I64,
                crew: I64 | None = None) -> B:
    """Take pairs in the given order whenever the rules still allow it.

    A pair is taken when its demand has a seat left and its volunteer has a
    task and the hours left and no task taken so far that clashes with it
    (overlaps it, or, with travel, leaves too little time to get there: rules
    7 and 7b, :class:`~matcher.engine.sequencing.Sequencer`). ``tasks``,
    ``hours`` (microseconds) and ``seats`` are what is left (they are not
    changed). A crew (``crew[d] > 1`` seats still needed, SPEC rule 11) is
    decided when its first pair comes up: if at least ``crew[d]`` of its pairs
    fit then, the first ``crew[d]`` of them (in the order) are taken together
    and the crew's other pairs join at their turn; else none is (what is left
    only shrinks, so a crew short then stays short). Returns a bool mask over
    ``sub``. Plain Python lists: this loop may see every candidate
    pair of a district.
    """
    keep = np.zeros(len(sub), dtype=bool)
    tasks_l, hours_l, seats_l = tasks.tolist(), hours.tolist(), seats.tolist()
    # the same caps as numpy arrays, to drop a block's pairs that can no longer fit before the Python loop
    tasks_a, hours_a, seats_a = tasks.copy(), hours.copy(), seats.copy()
    start_l, end_l = arr.d_start.tolist(), arr.d_end.tolist()
    seq = Sequencer(arr)
    timed = seq.timed
    taken: dict[int, list[int]] = {}
    v_o, d_o = sub.v[order], sub.d[order]
    dur_o = arr.d_end[d_o] - arr.d_start[d_o]
    crews = _crew_members(crew, d_o)
    crew_o = crew[d_o] > 1 if crews and crew is not None else np.zeros(len(order), dtype=bool)
    order_l: list[int] = []  # the pairs at the positions the crews need (crews look ahead in the order)
    v_l: list[int] = []
    if crews:
        order_l, v_l = order.tolist(), v_o.tolist()
    decided: set[int] = set()

    def fits(v: int, d: int) -> bool:
        if seats_l[d] < 1 or tasks_l[v] < 1 or hours_l[v] < end_l[d] - start_l[d]:
            return False
        s, e = start_l[d], end_l[d]
        if timed:
            return not any(seq.clash(v, d, d2) for d2 in taken.get(v, ()))
        return not any(s < end_l[d2] and start_l[d2] < e for d2 in taken.get(v, ()))

    def take(i: int, v: int, d: int) -> None:
        keep[i] = True
        tasks_l[v] -= 1
        seats_l[d] -= 1
        hours_l[v] -= end_l[d] - start_l[d]
        tasks_a[v], seats_a[d], hours_a[v] = tasks_l[v], seats_l[d], hours_l[v]
        taken.setdefault(v, []).append(d)

    formed: set[int] = set()
    for lo in range(0, len(order), GREEDY_BLOCK):
        hi = lo + GREEDY_BLOCK
        # what is left only shrinks: a pair whose seat, task or hours ran out before its block cannot fit in it
        # (a crew's pairs all go through: its first one decides the crew)
        vb, db = v_o[lo:hi], d_o[lo:hi]
        live = (seats_a[db] > 0) & (tasks_a[vb] > 0) & (hours_a[vb] >= dur_o[lo:hi]) | crew_o[lo:hi]
        at = lo + np.flatnonzero(live)
        for i, v, d in zip(order[at].tolist(), v_o[at].tolist(), d_o[at].tolist()):
            if d in crews and d not in formed:
                if d not in decided:  # the crew's first pair: form the crew, or close it
                    decided.add(d)
                    if _take_crew(crews[d], order_l, v_l, d, crew, fits, take):
                        formed.add(d)
                continue
            if fits(v, d):
                take(i, v, d)
    return keep


def _crew_members(crew: I64 | None, d_o: I64) -> dict[int, list[int]]:
    """Positions in the order of each crew demand's pairs (crews needing more than one seat).

    ``d_o``: the demand of each position in the order.
    """
    out: dict[int, list[int]] = {}
    if crew is None or not bool((crew > 1).any()):
        return out
    at = np.flatnonzero(crew[d_o] > 1)
    for k, d in zip(at.tolist(), d_o[at].tolist()):
        out.setdefault(d, []).append(k)
    return out


def _take_crew(members: list[int], order_l: list[int], v_l: list[int], d: int, crew: I64 | None,
               fits: Callable[[int, int], bool], take: Callable[[int, int, int], None]) -> bool:
    """Take the first ``crew[d]`` fitting pairs of a crew together, if there are that many (see :func:`greedy_take`)."""
    assert crew is not None
    need = int(crew[d])
    able = [k for k in members if fits(v_l[k], d)][:need]
    if len(able) < need:
        return False
    for k in able:
        take(order_l[k], v_l[k], d)
    return True


def refill(ctx: SolveContext, kept: B, order: I64) -> B:
    """``kept`` (feasible) plus, in ``order``, every other pair the rules still allow."""
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    seats_left = res.seats - np.bincount(rp.d[kept], minlength=arr.nd)
    tasks_left = res.tasks - np.bincount(rp.v[kept], minlength=arr.nv)
    open_pair = ~kept & (seats_left[rp.d] > 0) & (tasks_left[rp.v] > 0)
    return greedy_take(arr, rp, np.concatenate([order[kept[order]], order[open_pair[order]]]),
                       res.tasks, res.hours, res.seats, res.crew)


def fill_open_seats(ctx: SolveContext, chosen: B) -> B:
    """``chosen`` (feasible, over ``ctx.rp``) plus every other pair the rules still allow, most valuable first.

    As :func:`refill` in :func:`_by_value`'s order, with only the pairs it can take sorted (a district: 50,000
    of 2 million, 1 s less); a stable sort keeps their order.
    """
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    seats_left = res.seats - np.bincount(rp.d[chosen], minlength=arr.nd)
    tasks_left = res.tasks - np.bincount(rp.v[chosen], minlength=arr.nv)
    sub = np.flatnonzero(chosen | ((seats_left[rp.d] > 0) & (tasks_left[rp.v] > 0)))
    return refill(ctx, chosen, sub[value_order(ctx.dem_weight[rp.d[sub]], ctx.pair_cost[sub])])


def _by_value(ctx: SolveContext) -> I64:
    """Pairs most valuable first, then cheapest."""
    return value_order(ctx.dem_weight[ctx.rp.d], ctx.pair_cost)


def value_order(weight: I64, cost: I64) -> I64:
    """Indices that sort pairs by ``weight`` descending, then ``cost`` ascending, ties in index order.

    Equal to ``np.lexsort((cost, -weight))`` (arrays of one length in, int64 out); for integer arrays, by
    :func:`~matcher.engine.sorting.stable_order_by` (0.05 s on a district's 2 million pairs, against 0.28 s for
    numpy's stable argsort of one combined key). Other input gets the lexsort itself.
    """
    if len(weight) == 0:
        return np.zeros(0, dtype=np.int64)
    if not (np.issubdtype(weight.dtype, np.integer) and np.issubdtype(cost.dtype, np.integer)):
        return np.lexsort((cost, -weight))
    return stable_order_by(cost, -weight)


def make_feasible(ctx: SolveContext, chosen: B) -> B:
    """Make the flow's choice feasible, then fill the seats it frees, greedily.

    The flow's pairs are kept most valuable first while the rules allow
    (dropping the clashes of overbooked volunteers); then every other candidate
    pair of a demand with a seat left and a volunteer with a task left is tried,
    most valuable and cheapest first. The result is feasible: the CP-SAT
    regions start from it and only improve it.
    """
    order = _by_value(ctx)
    kept = greedy_take(ctx.arr, ctx.rp, order[chosen[order]], ctx.res.tasks, ctx.res.hours, ctx.res.seats,
                       ctx.res.crew)
    return refill(ctx, kept, order)


def round_relaxed(ctx: SolveContext, x: F64) -> B:
    """A feasible solution from the LP's: pairs by LP value, then weight, then cost, greedily; then refilled."""
    rp, res = ctx.rp, ctx.res
    support = np.flatnonzero(x > 1e-6)  # (sorted alone: the same order as sorting all pairs, then keeping these)
    order = support[np.lexsort((ctx.pair_cost[support], -ctx.dem_weight[rp.d[support]], -np.round(x[support], 6)))]
    kept = greedy_take(ctx.arr, rp, order, res.tasks, res.hours, res.seats, res.crew)
    return refill(ctx, kept, _by_value(ctx))


def hurried(ctx: SolveContext) -> tuple[B, int]:
    """The answer when there is no time for a flow round: pairs by value, greedily; and the trivial bound.

    The bound is what each demand's seats could give with the candidates it has.
    """
    res = ctx.res
    return greedy_take(ctx.arr, ctx.rp, _by_value(ctx), res.tasks, res.hours, res.seats, res.crew), ctx.seats_bound()


def swap_improve(ctx: SolveContext, chosen: B, max_moves: int = SWAP_MOVES) -> B:
    """Local search on a feasible choice: give an open seat to a volunteer by dropping less valuable tasks.

    For each demand with an open seat (most valuable first) and each of its
    candidates (cheapest first), the volunteer's tasks that overlap it, and then
    its least valuable tasks until its task and hour caps hold, are dropped when
    they are worth less than the seat; each dropped seat is then offered to its
    other candidates that are free. Every move keeps every rule and raises
    coverage, so the result stays feasible. With travel, "overlap" reads
    "clash" (rule 7b too). A crew (rule 11) is never started or left short by a
    move: a move into an empty crew, or one that takes a crew below its
    minimum without emptying it, is not made. At most ``max_moves`` moves (a
    deterministic budget).
    """
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    by_d = stable_order_by(ctx.pair_cost, rp.d)
    d_sorted = rp.d[by_d]
    first = np.searchsorted(d_sorted, np.arange(arr.nd + 1))
    cand = by_d.tolist()
    v_l, d_l = rp.v.tolist(), rp.d.tolist()
    start, end, w = arr.d_start.tolist(), arr.d_end.tolist(), ctx.dem_weight.tolist()
    tasks_cap, hours_cap, seats = res.tasks.tolist(), res.hours.tolist(), res.seats.tolist()
    first_l = first.tolist()
    seq = Sequencer(arr)
    timed = seq.timed
    crew = [c if c > 1 else 0 for c in res.crew.tolist()]  # one seat needed is no crew rule for a move
    held: dict[int, dict[int, int]] = {}
    filled = [0] * arr.nd
    out = chosen.copy()

    def fits(v: int, d: int) -> bool:
        mine = held.get(v, {})
        if d in mine or len(mine) >= tasks_cap[v]:
            return False
        if sum(end[x] - start[x] for x in mine) + end[d] - start[d] > hours_cap[v]:
            return False
        if timed:
            return not any(seq.clash(v, x, d) for x in mine)
        return not any(start[x] < end[d] and start[d] < end[x] for x in mine)

    def take(i: int) -> None:
        held.setdefault(v_l[i], {})[d_l[i]] = i
        filled[d_l[i]] += 1
        out[i] = True

    for i in np.flatnonzero(chosen).tolist():
        take(i)

    def offer(d: int) -> None:
        if filled[d] < crew[d]:  # an emptied crew is not restarted seat by seat
            return
        for k in range(first_l[d], first_l[d + 1]):
            if filled[d] >= seats[d]:
                return
            i = cand[k]
            if fits(v_l[i], d):
                take(i)

    def swap_into(d: int, budget: int) -> int:
        """Moves that give demand d's open seats to its candidates; returns how many were made."""
        made = 0
        if filled[d] < crew[d]:  # a crew is formed whole, not seat by seat
            return 0
        for k in range(first_l[d], first_l[d + 1]):
            if filled[d] >= seats[d] or made >= budget:
                break
            i = cand[k]
            v = v_l[i]
            mine = held.get(v, {})
            if d in mine:
                continue
            drop = [x for x in mine if seq.clash(v, x, d)] if timed else [
                x for x in mine if start[x] < end[d] and start[d] < end[x]]
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
            if any(0 < filled[x] - 1 < crew[x] for x in drop):  # would leave a crew short
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
    keep = greedy_take(arr, rp, np.lexsort((rp.v, rp.km, urgency[rp.d])), res.tasks, res.hours, res.seats,
                       res.crew)
    clock.done("greedy")

    weights = priority_weights(opts)
    v_arr = np.concatenate([arr.pinned[0], rp.v[keep]])
    d_arr = np.concatenate([arr.pinned[1], rp.d[keep]])
    coverage = int(weights[arr.d_priority[d_arr]].sum())
    reachable = np.minimum(arr.d_headcount, np.bincount(pairs.d, minlength=arr.nd))
    bound = int((weights[arr.d_priority] * reachable).sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    stats = {"engine": "greedy", "candidate_pairs": len(pairs)}
    return build_solution(arr, pairs, v_arr, d_arr, opts, status, coverage, bound, stats, clock,
                          warnings=problem.warnings)
