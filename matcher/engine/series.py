"""Recurring series (SPEC v2): one face per household, as far as the plan allows.

The series term of the secondary objective costs ``series_weight`` points per
volunteer beyond the first who serves a series (a household's weekly visits).
CP-SAT regions model it exactly (:mod:`matcher.engine.solvers.cpsat`); the flow
and the LP do not, so :func:`keep_series_together` improves any feasible plan
by local search: a visit moves from one volunteer to another who already
serves the same series, when the second may take it (every hard rule, checked
as the greedy checks it) and the secondary objective goes down. Coverage never
changes (a seat changes hands), nor does a crew's size.
"""

from __future__ import annotations

import numpy as np

from matcher.engine import costs
from matcher.engine.context import SolveContext
from matcher.engine.sequencing import Sequencer
from matcher.engine.types import B

__all__ = ["keep_series_together", "series_matter"]

MAX_PASSES = 3
"""Most passes over the series (each pass moves visits toward each series' main volunteer)."""


def series_matter(ctx: SolveContext) -> bool:
    """Whether the series term can differ between plans: a series of two visits or more, and a weight."""
    arr = ctx.arr
    if arr.d_series is None or costs.series_unit(ctx.opts) <= 0:
        return False
    s = arr.d_series[arr.d_series >= 0]
    return bool(len(s)) and int(np.bincount(s).max()) > 1


def keep_series_together(ctx: SolveContext, chosen: B) -> B:
    """A feasible choice with fewer volunteers per series where a move lowers the secondary objective.

    ``chosen`` is a bool mask over the residual pairs (``ctx.rp``), feasible; so is the result, with the
    same coverage. A move gives one visit of a series from volunteer ``u`` to ``t``, who already serves the
    series (most visits first), when ``t`` has the task, the hours and the time (rules 7, 7b, 8) and the
    move's cost (pair costs, the load step of both, the series term) is negative. Visits of a preferred
    volunteer are not moved away from them.
    """
    if not series_matter(ctx):
        return chosen
    arr, rp, res = ctx.arr, ctx.rp, ctx.res
    assert arr.d_series is not None
    unit, load = costs.series_unit(ctx.opts), costs.load_unit(ctx.opts)
    series = arr.d_series
    on_series = np.flatnonzero(series[rp.d] >= 0)
    index = {(int(rp.v[i]), int(rp.d[i])): int(i) for i in on_series.tolist()}
    out = chosen.copy()
    seq = Sequencer(arr)
    start, end = arr.d_start.tolist(), arr.d_end.tolist()
    cost = ctx.pair_cost
    pv, pd = arr.pinned
    mine: dict[int, list[int]] = {}
    for v, d in zip(np.concatenate([pv, rp.v[out]]).tolist(), np.concatenate([pd, rp.d[out]]).tolist()):
        mine.setdefault(v, []).append(d)
    tasks = (res.base + np.bincount(rp.v[out], minlength=arr.nv)).tolist()  # all tasks, pinned included
    cap_tasks = arr.v_max_tasks.tolist()
    cap_hours = arr.v_hours_cap_us.tolist()
    # the residual pairs holding each series visit
    holder: dict[int, list[int]] = {int(rp.d[i]): [] for i in on_series.tolist()}
    for i in np.flatnonzero(out[on_series]).tolist():
        p = int(on_series[i])
        holder[int(rp.d[p])].append(p)

    def fits(t: int, d: int) -> bool:
        held = mine.get(t, [])
        if d in held or tasks[t] + 1 > cap_tasks[t]:
            return False
        if sum(end[x] - start[x] for x in held) + end[d] - start[d] > cap_hours[t]:
            return False
        return not any(seq.clash(t, x, d) for x in held)

    for _ in range(MAX_PASSES):
        moved = False
        visits: dict[int, list[int]] = {}
        for d in sorted(holder):
            visits.setdefault(int(series[d]), []).append(d)
        for s in sorted(visits):
            count: dict[int, int] = {}
            for d in visits[s]:
                for p in holder[d]:
                    count[int(rp.v[p])] = count.get(int(rp.v[p]), 0) + 1
            if len(count) < 2:
                continue
            targets = sorted(count, key=lambda v: (-count[v], v))
            for d in visits[s]:
                for p in list(holder[d]):
                    u = int(rp.v[p])
                    if ctx.pref[p]:
                        continue
                    for t in targets:
                        if t == u or count.get(t, 0) < count[u] or (t, d) not in index:
                            continue
                        q = index[(t, d)]
                        saving = unit if count[u] == 1 else 0
                        delta = int(cost[q]) - int(cost[p]) + load * 2 * (tasks[t] - tasks[u] + 1) - saving
                        if delta >= 0 or not fits(t, d):
                            continue
                        out[p], out[q] = False, True
                        holder[d][holder[d].index(p)] = q
                        mine[u].remove(d)
                        mine.setdefault(t, []).append(d)
                        tasks[u] -= 1
                        tasks[t] += 1
                        count[u] -= 1
                        count[t] += 1
                        if count[u] == 0:
                            del count[u]
                        moved = True
                        break
        if not moved:
            break
    return out
