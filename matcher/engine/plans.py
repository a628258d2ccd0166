"""A plan handed back to the engine (last night's run, a service's own plan) is checked, never trusted.

:func:`usable_plan` keeps the assignments of a given plan that the problem
allows, in the order given, and says why each other one was dropped:

1. it names a volunteer or demand the problem does not have;
2. it breaks a pair rule (SPEC 1-5, or a single task's caps; the first rule in
   SPEC's order is named, from :data:`matcher.engine.rules.PAIR_RULES`);
3. it repeats an assignment (rule 10);
4. with the problem's pinned pairs placed first (rule 9) and the plan's earlier
   assignments kept, it would exceed the demand's headcount (rule 6), overlap
   one of the volunteer's tasks (rule 7), or exceed their ``max_tasks`` or
   ``max_hours`` (rule 8).

:func:`given_plan_solution` reports what is kept as a :class:`~matcher.model.Solution`
whose claims are the engine's own: its coverage is counted, and its bound is
the seats each demand has candidates for (a valid bound, however loose), not
the plan's own claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.engine.arrays import ProblemArrays
from matcher.engine.candidates import Pairs
from matcher.engine.context import Clock
from matcher.engine.costs import priority_weights
from matcher.engine.report import build_solution
from matcher.engine.rules import PAIR_RULES
from matcher.engine.types import I64
from matcher.model import Assignment, AssignmentOut, Solution, SolveOptions, Status

__all__ = ["UsablePlan", "given_plan_solution", "usable_plan"]


@dataclass(frozen=True, eq=False)
class UsablePlan:
    """The assignments of a given plan that the problem allows, and why the others were dropped."""

    v: I64
    """Volunteer rows of the kept assignments (pinned pairs the plan lacked come first) ..."""
    d: I64
    """... and their demand rows."""
    dropped: list[str]
    """One line per dropped assignment, naming it, its place in the plan, and the rule."""


def usable_plan(arr: ProblemArrays, assignments: Sequence[Assignment | AssignmentOut]) -> UsablePlan:
    """Keep what the problem allows of ``assignments``, in their order (see the module docstring)."""
    vidx, didx = arr.volunteer_index, arr.demand_index
    dropped: list[str] = []
    rows: list[tuple[int, int, int]] = []  # (place in the plan, volunteer row, demand row)
    for i, a in enumerate(assignments):
        name = f"assignments[{i}] ({a.volunteer_id!r}, {a.demand_id!r})"
        if a.volunteer_id not in vidx:
            dropped.append(f"{name}: unknown volunteer, dropped")
        elif a.demand_id not in didx:
            dropped.append(f"{name}: unknown demand, dropped")
        else:
            rows.append((i, vidx[a.volunteer_id], didx[a.demand_id]))
    place = np.array([r[0] for r in rows], dtype=np.int64)
    v = np.array([r[1] for r in rows], dtype=np.int64)
    d = np.array([r[2] for r in rows], dtype=np.int64)
    ok = np.ones(len(v), dtype=bool)
    for rule in PAIR_RULES:  # the first rule each pair breaks, in SPEC's order
        broken = ok & ~rule.vector(arr, v, d)
        for k in np.flatnonzero(broken).tolist():
            a = assignments[int(place[k])]
            dropped.append(f"assignments[{place[k]}] ({a.volunteer_id!r}, {a.demand_id!r}): {rule.message}, dropped")
        ok &= ~broken
    pv, pd = arr.pinned
    pinned = set(zip(pv.tolist(), pd.tolist()))
    seats = arr.d_headcount.tolist()
    tasks = arr.v_max_tasks.tolist()
    hours = arr.v_hours_cap_us.tolist()
    start, end = arr.d_start.tolist(), arr.d_end.tolist()
    held: dict[int, list[int]] = {}
    seen: set[tuple[int, int]] = set()
    out_v: list[int] = []
    out_d: list[int] = []

    def fits(vol: int, dem: int) -> str | None:
        if seats[dem] < 1:
            return "the demand's headcount is already filled (rule 6)"
        mine = held.get(vol, [])
        if any(start[x] < end[dem] and start[dem] < end[x] for x in mine):
            return "it overlaps another of the volunteer's tasks (rule 7)"
        if len(mine) + 1 > tasks[vol] or end[dem] - start[dem] > hours[vol]:
            return "it exceeds the volunteer's max_tasks or max_hours (rule 8)"
        return None

    def take(vol: int, dem: int) -> None:
        held.setdefault(vol, []).append(dem)
        seats[dem] -= 1
        hours[vol] -= end[dem] - start[dem]
        seen.add((vol, dem))
        out_v.append(vol)
        out_d.append(dem)

    for vol, dem in zip(pv.tolist(), pd.tolist()):  # pinned pairs stand first (rule 9); they keep every rule
        take(vol, dem)
    for k in np.flatnonzero(ok).tolist():
        vol, dem, a = int(v[k]), int(d[k]), assignments[int(place[k])]
        name = f"assignments[{place[k]}] ({a.volunteer_id!r}, {a.demand_id!r})"
        if (vol, dem) in seen:
            if (vol, dem) not in pinned:
                dropped.append(f"{name}: given twice (rule 10), dropped")
            continue
        why = fits(vol, dem)
        if why is not None:
            dropped.append(f"{name}: {why}, dropped")
            continue
        take(vol, dem)
    return UsablePlan(np.array(out_v, dtype=np.int64), np.array(out_d, dtype=np.int64), dropped)


def given_plan_solution(arr: ProblemArrays, pairs: Pairs, plan: UsablePlan, opts: SolveOptions,
                        warnings: Sequence[str] = ()) -> tuple[Solution, I64, I64]:
    """The kept plan reported as a solution with the engine's own claims, and its rows in the solution's order.

    Coverage is counted; the bound is ``sum over demands of w(priority) * min(headcount, candidates)``;
    the status is ``optimal`` only when the two meet. ``warnings`` come first, then one per dropped
    assignment.
    """
    clock = Clock()
    weights = priority_weights(opts)[arr.d_priority]
    order = np.lexsort((plan.v, plan.d))
    v, d = plan.v[order], plan.d[order]
    coverage = int(weights[d].sum())
    bound = int((weights * np.minimum(arr.d_headcount, np.bincount(pairs.d, minlength=arr.nd))).sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    stats = {"engine": "given plan, checked", "candidate_pairs": len(pairs)}
    solution = build_solution(arr, pairs, v, d, opts, status, coverage, bound, stats, clock,
                              warnings=[*warnings, *plan.dropped])
    return solution, v, d
