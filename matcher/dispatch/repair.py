"""Repair a plan after changes, moving as few existing assignments as possible.

A dispatch service holds a solved plan when a volunteer cancels, an order
arrives, changes or is withdrawn, a pair is ruled out, or an assignment is
accepted and must stay. :func:`repair` applies the changes
(:func:`apply_changes`) and re-optimises a *region* around them: the changed
volunteers and demands, the volunteers who could serve the affected demands, and
the demands those volunteers serve; a second round grows it while it keeps at
most :data:`REGION_PAIR_BUDGET` candidate pairs. Everything outside the region
is kept as it is.

Inside the region the objective is lexicographic: coverage first, then the
number of current assignments changed (each costs :data:`CHANGE_POINTS`, far
above any travel or load difference), then the usual secondary objective.
When the problem is small (:data:`WHOLE_BELOW` volunteers) the region is the
whole problem, so the answer has the best coverage a full re-solve can reach.

A repair starts from a :class:`Workspace`: the plan with its problem's arrays
and candidate pairs. It updates them for the records the changes touch
(:mod:`matcher.engine.update`), checks the merged plan against every hard rule, and
reports it, reusing the unmet reasons and assignment records the changes cannot
have affected. :class:`matcher.Dispatcher` keeps the workspace between repairs;
:func:`repair` builds one first.

The bound is the old solution's bound plus what the added or changed demands
could add, or the region's own bound when the region is the whole problem; the
status is ``optimal`` when the coverage reaches it. A plan given from outside
(the stateless :func:`repair`) is checked first and its bound is not taken on
trust (:meth:`Workspace.of`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from matcher.dispatch.workspace import Workspace, apply_changes
from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.candidates import Pairs
from matcher.engine.context import Cancel, Clock
from matcher.engine.costs import priority_weights
from matcher.engine.ladder import unmet_reasons
from matcher.engine.pipeline import solve
from matcher.engine.plan_check import plan_violations
from matcher.engine.report import build_solution
from matcher.engine.types import I64, B
from matcher.engine.update import ArraysUpdate, update_arrays, update_pairs
from matcher.model import (
    Assignment,
    AssignmentOut,
    Change,
    Problem,
    RepairStats,
    Solution,
    SolveOptions,
    Status,
    SubSolveStats,
    Unmet,
    UnmetReason,
    parse_changes,
)

__all__ = ["CHANGE_POINTS", "REGION_PAIR_BUDGET", "WHOLE_BELOW", "repair", "repair_workspace"]

CHANGE_POINTS = 1000.0
"""Secondary points one changed assignment costs inside the region (dominates travel, load and fairness)."""
WHOLE_BELOW = 2_000
"""Problems with fewer volunteers are repaired whole (exact)."""
REGION_ROUNDS = 2
"""Rounds of growth of the region (able volunteers, then what they serve)."""
REGION_PAIR_BUDGET = 10_000
"""The region grows another round only while it keeps at most this many candidate pairs (CP-SAT solves such a
region in well under a second)."""
SUB_SOLVE_SECONDS = 0.7
"""Most seconds the region's solve may take (it is small; this is a cap, not a target)."""


def repair(problem: Problem, solution: Solution, changes: Sequence[Change] | Sequence[dict[str, object]],
           options: SolveOptions | None = None) -> Solution:
    """Apply ``changes`` to ``problem`` and return the repaired plan (see the module docstring).

    ``changes`` may be :data:`Change` objects or plain dicts with a ``kind``.
    ``stats["repair"]`` reports ``changed`` (current assignments not kept),
    ``kept``, ``added``, the region's size and the seconds taken.

    This function builds the problem's arrays and candidate pairs first (seconds
    on a district); :class:`matcher.Dispatcher` keeps them between repairs.

    Raises
    ------
    ProblemError
        A change that names something unknown, or leaves the problem invalid.
    PinnedError
        When the pinned assignments break a hard rule after the changes.

    """
    t0 = time.perf_counter()
    parsed = parse_changes(changes, timezone=problem.timezone)  # bad changes are refused before building arrays
    apply_changes(problem, parsed)
    return repair_workspace(Workspace.of(problem, solution, options), parsed, options, started=t0).solution


def repair_workspace(ws: Workspace, changes: Sequence[Change] | Sequence[dict[str, object]],
                     options: SolveOptions | None = None, *, started: float | None = None,
                     cancel: Cancel | None = None) -> Workspace:
    """:func:`repair` on a workspace, returning the new one (the given one is not changed).

    ``cancel`` stops the region's solve early (see :func:`matcher.solve`).
    """
    clock = Clock()
    t0 = clock.t0 if started is None else started
    opts = options or ws.problem.options or SolveOptions()
    new, touched_v, touched_d = apply_changes(ws.problem, parse_changes(changes, timezone=ws.problem.timezone),
                                              volunteer_index=ws.arr.volunteer_index)
    clock.done("changes")
    up = update_arrays(ws.arr, new, touched_v, touched_d)  # (withdrawn ids are simply absent)
    arr = up.arr
    pairs = update_pairs(ws.pairs, up)
    clock.done("arrays")

    # the current plan in the new rows (withdrawn demands drop out)
    cur_d = up.demand_to[ws.d]
    cur_v = ws.v[cur_d >= 0]
    cur_d = cur_d[cur_d >= 0]
    region_v, region_d = _region(arr, pairs, cur_v, cur_d, touched_v, touched_d)
    whole = bool(region_v.all())

    # the sub-problem: region volunteers and demands; seats taken by outside volunteers stay taken
    outside = ~region_v[cur_v]
    taken = np.bincount(cur_d[outside], minlength=arr.nd)
    in_region = region_v[cur_v]
    vol_ids = set(np.flatnonzero(region_v).tolist())
    sub_dems = []
    for j in np.flatnonzero(region_d & (arr.d_headcount > taken)).tolist():
        dem = new.demands[j]
        sub_dems.append(dem.model_copy(update={
            "headcount": dem.headcount - int(taken[j]),
            "preferred_volunteers": tuple(p for p in dem.preferred_volunteers
                                          if arr.volunteer_index[p] in vol_ids)}))
    sub_ids = {d.id for d in sub_dems}
    region_names = {arr.volunteer_ids[i] for i in vol_ids}

    def inside(pairs_: Iterable[Assignment]) -> tuple[Assignment, ...]:
        return tuple(a for a in pairs_ if a.volunteer_id in region_names and a.demand_id in sub_ids)

    keep = tuple(Assignment(volunteer_id=arr.volunteer_ids[a], demand_id=arr.demand_ids[b])
                 for a, b in zip(cur_v[in_region].tolist(), cur_d[in_region].tolist())
                 if arr.demand_ids[b] in sub_ids)
    sub = new.replace(validate=False, volunteers=tuple(new.volunteers[i] for i in sorted(vol_ids)),
                      demands=tuple(sub_dems), pinned=inside(new.pinned), forbidden=inside(new.forbidden),
                      previous=keep, options=None, taxonomy=None)
    clock.done("region")
    limit = opts.time_limit_s if whole else min(opts.time_limit_s, SUB_SOLVE_SECONDS)
    sub_solution = solve(sub, opts.model_copy(update={"change_weight": CHANGE_POINTS, "time_limit_s": limit}),
                         cancel=cancel)
    clock.done("solve")

    vidx, didx = arr.volunteer_index, arr.demand_index
    got_v = np.array([vidx[a.volunteer_id] for a in sub_solution.assignments], dtype=np.int64)
    got_d = np.array([didx[a.demand_id] for a in sub_solution.assignments], dtype=np.int64)
    final_v = np.concatenate([cur_v[outside], got_v])
    final_d = np.concatenate([cur_d[outside], got_d])
    broken = plan_violations(arr, final_v, final_d)  # (rule 9 too: every pinned assignment is in the plan)
    if broken:  # a repair's plan must keep every hard rule: a failure here is a bug
        raise RuntimeError("internal error, a repair breaks hard rules: " + "; ".join(b.message for b in broken[:5]))
    weights = priority_weights(opts)
    coverage = int(weights[arr.d_priority[final_d]].sum())
    if whole:
        bound = int(sub_solution.coverage_bound)
    else:
        # the old bound holds for the old demands (changes only take capacity away), plus what new or
        # changed records could add at most: all their seats
        old_rows = ws.arr.demand_index
        grown = [j for j in up.demands.tolist() if new.demands[j].id not in old_rows
                 or new.demands[j] != ws.problem.demands[old_rows[new.demands[j].id]]]
        bound = int(ws.solution.coverage_bound) + int((arr.d_headcount[grown] * weights[arr.d_priority[grown]]).sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE

    kept = int(member(arr.pair_key(cur_v, cur_d), arr.pair_key(final_v, final_d)).sum())  # (pairs are distinct)
    info = RepairStats(changed=len(cur_v) - kept, kept=kept, added=len(final_v) - kept,
                       region_volunteers=int(region_v.sum()), region_demands=int(region_d.sum()),
                       whole_problem=whole, seconds=0.0)
    order = np.lexsort((final_v, final_d))  # the solution's order (see Workspace.own)
    final_v, final_d = final_v[order], final_d[order]
    unmet = _reasons(ws, up, pairs, final_d)
    sub_stats = SubSolveStats(status=sub_solution.status.value, **{
        k: sub_solution.stats.get(k) for k in ("engine", "reproducible", "secondary_optimal", "cpsat_regions")})
    stats: dict[str, Any] = {"engine": "repair", "sub_solve": sub_stats, "repair": info}
    left = len({u.demand_id for u in unmet if u.reason is UnmetReason.NOT_SEARCHED})
    if left:  # (the plan still holds demands its solve's clock left unsearched)
        stats["not_searched_demands"] = left
    solution = build_solution(arr, pairs, final_v, final_d, opts, status, coverage, bound, stats, clock, unmet,
                              _still_true(ws, up), warnings=new.warnings)
    seconds = round(time.perf_counter() - t0, 4)  # (the report counts too)
    solution = solution.model_copy(update={"stats": solution.stats.model_copy(update={
        "repair": info.model_copy(update={"seconds": seconds})})})
    return Workspace(new, solution, arr, pairs, final_v, final_d)


def _still_true(ws: Workspace, up: ArraysUpdate) -> dict[int, AssignmentOut]:
    """The old plan's assignments whose records did not change, by pair key in the new arrays."""
    d = up.demand_to[ws.d]
    ok = d >= 0
    changed = np.zeros(up.arr.nd, dtype=bool)
    changed[up.demands] = True
    ok[ok] &= ~changed[d[ok]]
    moved = np.zeros(up.arr.nv, dtype=bool)
    moved[up.volunteers] = True  # (their place may have changed too, in general)
    ok &= ~moved[ws.v]
    old = ws.solution.assignments
    return dict(zip(up.arr.pair_key(ws.v[ok], d[ok]).tolist(), (old[i] for i in np.flatnonzero(ok).tolist())))


def _reasons(ws: Workspace, up: ArraysUpdate, pairs: Pairs, final_d: I64) -> tuple[Unmet, ...]:
    """Unmet seats with reasons: the old ones where nothing they depend on changed, the rest worked out again.

    A demand's reasons depend on its record, its seats filled, its candidates,
    and the skills, insurance, team, place and reach of the volunteers. Changes
    alter volunteers' availability only, so the reasons of a demand whose record,
    filled seats and number of candidates are all as before are still right. That holds for ``not_searched``
    too: the plan never looked at such a demand (its solve's clock ended the candidate search first), and a
    repair's region does not reach it unless a change does.
    """
    arr = up.arr
    old_filled = np.bincount(ws.d, minlength=ws.arr.nd)
    old_cand = np.bincount(ws.pairs.d, minlength=ws.arr.nd)
    alive = up.demand_to >= 0
    same = np.zeros(arr.nd, dtype=bool)
    rows = up.demand_to[alive]
    filled = np.bincount(final_d, minlength=arr.nd)
    cand = np.bincount(pairs.d, minlength=arr.nd)
    same[rows] = (old_filled[alive] == filled[rows]) & (old_cand[alive] == cand[rows])
    same[up.demands] = False
    moved = [f for f in ("v_lat", "v_lon", "v_skills", "v_insured", "v_team", "v_max_travel_km")
             if not np.array_equal(getattr(ws.arr, f)[up.volunteers], getattr(arr, f)[up.volunteers])]
    if moved:  # not by the changes of this module, but the update allows it: work every reason out again
        same[:] = False
    didx = arr.demand_index
    old = ws.solution.unmet
    rows = np.fromiter((didx.get(u.demand_id, -1) for u in old), dtype=np.int64, count=len(old))
    fresh = unmet_reasons(arr, pairs, filled, among=np.flatnonzero(~same))
    kept = np.flatnonzero(rows >= 0)
    kept = kept[same[rows[kept]]]
    entries = [old[i] for i in kept.tolist()] + list(fresh)
    rows = np.concatenate([rows[kept], np.fromiter((didx[u.demand_id] for u in fresh), dtype=np.int64,
                                                   count=len(fresh))])
    # by demand row, as a fresh report lists them (a demand's entries all come from one side: their order stays)
    return tuple(entries[i] for i in np.argsort(rows, kind="stable").tolist())


def _region(arr: ProblemArrays, pairs: Pairs, cur_v: I64, cur_d: I64, touched_v: set[str],
            touched_d: set[str]) -> tuple[B, B]:
    """Volunteers and demands to re-optimise (as masks over the rows); the whole problem when it is small."""
    region_v = np.zeros(arr.nv, dtype=bool)
    region_d = np.zeros(arr.nd, dtype=bool)
    if arr.nv < WHOLE_BELOW:
        return ~region_v, ~region_d
    vidx, didx = arr.volunteer_index, arr.demand_index
    region_v[[vidx[v] for v in touched_v]] = True
    region_d[[didx[d] for d in touched_d if d in didx]] = True
    region_v[cur_v[region_d[cur_d]]] = True  # who serves a touched demand
    # current pairs the changes made impossible (not candidates any more)
    # (only pairs with a changed side can have stopped being candidates)
    maybe = np.flatnonzero(region_v[cur_v] | region_d[cur_d])
    broken = maybe[~pairs.contains(cur_v[maybe], cur_d[maybe])]
    region_v[cur_v[broken]] = True
    region_d[cur_d[broken]] = True
    region_d[cur_d[region_v[cur_v]]] = True  # a region volunteer's tasks are re-decided with it
    for _ in range(REGION_ROUNDS):  # the volunteers able to help, and what they serve; again while small
        grown_v, grown_d = region_v.copy(), region_d.copy()
        grown_v[pairs.v[grown_d[pairs.d]]] = True
        grown_v[cur_v[grown_d[cur_d]]] = True
        grown_d[cur_d[grown_v[cur_v]]] = True
        inside = pairs.rows_of(np.flatnonzero(grown_v))
        if int(grown_d[pairs.d[inside]].sum()) > REGION_PAIR_BUDGET and region_d.any():
            break  # too big to re-solve at once: keep the last round's region
        region_v, region_d = grown_v, grown_d
    return region_v, region_d
