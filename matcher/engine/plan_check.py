"""The check of a whole plan against every hard rule of SPEC.md (1-12), on index arrays and on records.

:func:`plan_violations` checks a plan of (volunteer, demand) rows: the pair
rules (:data:`matcher.engine.rules.PAIR_RULES`), headcount (6), no overlap (7),
time to travel (7b), caps (8), pinned pairs (9), no pair twice (10) and crews
(11). :func:`check_plan` does it on a problem and its assignments. The
pipeline and repairs run it on their own answers as a guard; so can a caller.
Times are integer microseconds, so every time test is exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.engine.arrays import ProblemArrays, build_arrays, member
from matcher.engine.intervals import clashes
from matcher.engine.rules import PAIR_RULES
from matcher.engine.sequencing import crew_shortfalls, sequence_conflicts, travel_between_us
from matcher.engine.types import I64, US_PER_MINUTE
from matcher.model import Assignment, AssignmentOut, Problem

__all__ = ["Violation", "check_plan", "plan_violations"]




@dataclass(frozen=True)
class Violation:
    """A hard rule a plan breaks: the SPEC rule number, a message naming the records, and the plan rows involved."""

    rule: str
    message: str
    rows: tuple[int, ...]


def plan_violations(arr: ProblemArrays, v: I64, d: I64) -> list[Violation]:
    """Every hard rule (SPEC 1-12) that the plan of tasks ``(v[i], d[i])`` (rows of ``arr``) breaks.

    Pair rules name each bad task; rules 6-8 name the demand or volunteer with
    all of its tasks; rule 9 names each pinned pair missing from the plan.
    An empty list means the plan keeps every rule.
    """
    out: list[Violation] = []
    vid, did = arr.volunteer_ids, arr.demand_ids
    rows = np.arange(len(v))
    bad = np.zeros(len(v), dtype=bool)
    for r in PAIR_RULES:
        broken = ~r.vector(arr, v, d) & ~bad
        for i in np.flatnonzero(broken).tolist():
            out.append(Violation(r.spec, f"({vid[v[i]]!r}, {did[d[i]]!r}): {r.message}", (i,)))
        bad |= broken
    keys = arr.pair_key(v, d)
    order = np.argsort(keys, kind="stable")
    twice = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    for k in twice.tolist():
        i, j = int(order[k]), int(order[k + 1])
        out.append(Violation("10", f"({vid[v[i]]!r}, {did[d[i]]!r}) is assigned twice (rule 10)", (i, j)))
    for dem in np.flatnonzero(np.bincount(d, minlength=arr.nd) > arr.d_headcount).tolist():
        out.append(Violation("6", f"demand {did[dem]!r} gets more than its headcount {arr.d_headcount[dem]} (rule 6)",
                             tuple(rows[d == dem].tolist())))
    for vol in np.flatnonzero(np.bincount(v, minlength=arr.nv) > arr.v_max_tasks).tolist():
        out.append(Violation("8", f"volunteer {vid[vol]!r} exceeds max_tasks {arr.v_max_tasks[vol]} (rule 8)",
                             tuple(rows[v == vol].tolist())))
    hours = np.bincount(v, weights=arr.d_duration_us[d], minlength=arr.nv)
    for vol in np.flatnonzero(hours > arr.v_hours_cap_us).tolist():
        out.append(Violation("8", f"volunteer {vid[vol]!r} exceeds max_hours (rule 8)",
                             tuple(rows[v == vol].tolist())))
    order, clash = clashes(v, arr.d_start_rank[d], arr.d_end_rank[d])
    for k in np.flatnonzero(clash).tolist():
        i, j = int(order[k]), int(order[k + 1])
        out.append(Violation("7", f"volunteer {vid[v[i]]!r} is sent to overlapping demands {did[d[i]]!r} and "
                                  f"{did[d[j]]!r} (rule 7)", (i, j)))
    out += _v2_violations(arr, v, d)
    pinned = arr.pair_key(*arr.pinned)
    for k in np.flatnonzero(~member(pinned, np.sort(keys))).tolist():
        out.append(Violation("9", f"pinned ({vid[arr.pinned[0][k]]!r}, {did[arr.pinned[1][k]]!r}) is not in the plan "
                                  "(rule 9)", ()))
    return out


def _v2_violations(arr: ProblemArrays, v: I64, d: I64) -> list[Violation]:
    """Rules 7b (time to travel between tasks) and 11 (crews) of SPEC v2."""
    out: list[Violation] = []
    vid, did = arr.volunteer_ids, arr.demand_ids
    ci, cj = sequence_conflicts(arr, v, d)
    if len(ci):
        need = travel_between_us(arr, v[ci], d[ci], d[cj])
        gap = arr.d_start[d[cj]] - arr.d_end[d[ci]]
        for i, j, n, g in zip(ci.tolist(), cj.tolist(), need.tolist(), gap.tolist()):
            out.append(Violation("7b", f"volunteer {vid[v[i]]!r} needs {n / US_PER_MINUTE:.1f} min to get from "
                                       f"{did[d[i]]!r} to {did[d[j]]!r} and has {g / US_PER_MINUTE:.1f} (rule 7b)",
                                 (i, j)))
    rows = np.arange(len(v))
    for dem in crew_shortfalls(arr, d).tolist():
        assert arr.d_min_headcount is not None
        out.append(Violation("11", f"demand {did[dem]!r} gets {int((d == dem).sum())} volunteers, fewer than its "
                                   f"min_headcount {arr.d_min_headcount[dem]} (rule 11)",
                             tuple(rows[d == dem].tolist())))
    return out


def check_plan(problem: Problem, assignments: Sequence[Assignment | AssignmentOut]) -> list[str]:
    """Every hard rule of SPEC.md that a plan for ``problem`` breaks, one line each (empty: the plan is valid).

    Assignments naming a volunteer or demand the problem does not have are
    reported too. Lines name the assignment by its place in ``assignments``.
    Like networkx's ``is_matching`` beside its matching algorithms: the engine
    checks its own answers with it, and so can a caller.
    """
    arr = build_arrays(problem)
    vidx, didx = arr.volunteer_index, arr.demand_index
    known: list[int] = []
    lines: list[str] = []
    for i, a in enumerate(assignments):
        if a.volunteer_id not in vidx:
            lines.append(f"assignments[{i}]: unknown volunteer {a.volunteer_id!r}")
        elif a.demand_id not in didx:
            lines.append(f"assignments[{i}]: unknown demand {a.demand_id!r}")
        else:
            known.append(i)
    v = np.fromiter((vidx[assignments[i].volunteer_id] for i in known), dtype=np.int64, count=len(known))
    d = np.fromiter((didx[assignments[i].demand_id] for i in known), dtype=np.int64, count=len(known))
    for issue in plan_violations(arr, v, d):
        where = ", ".join(f"assignments[{known[r]}]" for r in issue.rows)
        lines.append(f"{where}: {issue.message}" if where else issue.message)
    return lines
