"""SPEC.md's hard rules, written once: the pair rules as one ordered table, and the check of a whole plan.

**Pair rules** (:data:`PAIR_RULES`) decide whether volunteer ``v`` may serve
demand ``d`` at all: SPEC rules 1-5, and rule 8 as far as one task alone can
break it (``max_tasks`` 0, or a demand longer than the hour cap). They are
listed in SPEC's order; whoever needs "the rule this pair breaks" takes the
first one that fails, so the pinned check, ``explain`` and ``recommend`` name
the same rule. Each entry has

- ``vector(arr, v, d)``: the rule over index arrays (candidate search, the
  pinned check, :func:`plan_violations`);
- ``scalar(volunteer, demand, facts)``: the same rule over the records
  (``explain`` and ``recommend``, which look at a few volunteers without
  building arrays); tests hold the two forms to the same answers;
- ``code`` (the :class:`~matcher.Exclusion` that ``explain`` reports),
  ``stage`` (the rung of the unmet-reason ladder the rule belongs to:
  ``skilled``, ``in_range`` or ``available``), the SPEC rule number and the
  message of a pinned error.

**Plan rules** (6-10) hold over a whole plan: :func:`plan_violations` checks
every hard rule on index arrays, and :func:`check_plan` on a problem and its
assignments. The pipeline and repairs run it on their own answers as a guard.

Times are integer microseconds (:mod:`matcher.engine.types`), so every time
test here is exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from matcher.engine.arrays import ProblemArrays, build_arrays, member
from matcher.engine.geometry import haversine_km
from matcher.engine.intervals import clashes
from matcher.engine.types import F64, I64, B, duration_us, hours_us
from matcher.model import Assignment, AssignmentOut, Demand, Problem, Volunteer

__all__ = ["PAIR_RULES", "PairFacts", "PairRule", "Stage", "Violation", "check_plan", "covers", "decisive_km",
           "first_broken", "first_broken_record", "free_for", "in_range", "passing", "plan_violations", "rule",
           "task_clashes", "travel_km"]

Stage = Literal["skilled", "in_range", "available"]
"""The rung of the unmet-reason ladder: skills, insurance and team; distance; time, capacity and refusals."""


@dataclass(frozen=True)
class PairFacts:
    """What a scalar pair test needs beyond the two records: the distance and whether the pair is forbidden."""

    km: float
    forbidden: bool


@dataclass(frozen=True)
class PairRule:
    """One hard rule about a single (volunteer, demand) pair."""

    code: str
    """The reason ``explain`` gives when this is the first rule a pair breaks."""
    spec: str
    """SPEC.md's rule number."""
    stage: Stage
    message: str
    """How a pinned error names the rule."""
    vector: Callable[[ProblemArrays, I64, I64], B]
    """Which pairs ``(v[i], d[i])`` keep the rule (bool array, length ``len(v)``)."""
    scalar: Callable[[Volunteer, Demand, PairFacts], bool]
    """Whether the pair keeps the rule."""
    detail: Callable[[Volunteer, Demand, PairFacts], str]
    """Why the pair breaks the rule, in words for a dispatcher."""


# ---- the tests, each in its two forms ----------------------------------------------------------------------------


def travel_km(arr: ProblemArrays, v: I64, d: I64) -> F64:
    """Straight-line km from each volunteer's home to each demand's place (haversine)."""
    return haversine_km(arr.v_lat[v], arr.v_lon[v], arr.d_lat[d], arr.d_lon[d])


def in_range(arr: ProblemArrays, v: I64, km: F64) -> B:
    """Rule 3 on distances already computed: within each volunteer's ``max_travel_km``."""
    ok: B = km <= arr.v_max_travel_km[v]
    return ok


def covers(arr: ProblemArrays, v: I64, d: I64) -> B:
    """Rule 2: whether demand d's window lies inside volunteer v's merged availability."""
    if len(arr.w_vol) == 0 or len(v) == 0:
        return np.zeros(len(v), dtype=bool)
    span = int(max(arr.w_end.max(), arr.d_end_rank.max())) + 1
    wkey = arr.w_vol * span + arr.w_start
    idx = np.searchsorted(wkey, v * span + arr.d_start_rank[d], side="right") - 1
    idx_c = np.maximum(idx, 0)
    inside: B = (idx >= 0) & (arr.w_vol[idx_c] == v) & (arr.w_end[idx_c] >= arr.d_end_rank[d])
    return inside


def free_for(v: Volunteer, start: datetime, end: datetime) -> bool:
    """Rule 2 on records: whether the union of v's windows (touching ones joined) covers ``[start, end]``."""
    spans = sorted((w.start, w.end) for w in v.availability)
    merged: list[list[datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return any(s <= start and end <= e for s, e in merged)


def decisive_km(km: float, limit: float) -> str:
    """``km`` with as many decimals (2 to 6) as it takes to show which side of ``limit`` it lies on.

    2.001 km against a limit of 2 prints ``2.001``, not ``2.00`` (which reads as within the limit).
    """
    for digits in range(2, 7):
        text = f"{km:.{digits}f}"
        if (float(text) > limit) == (km > limit):
            return text
    return repr(km)


def _skills(arr: ProblemArrays, v: I64, d: I64) -> B:
    need = arr.d_skills[d]
    ok: B = ((arr.v_skills[v] & need) == need).all(axis=1)
    return ok


def _insured(arr: ProblemArrays, v: I64, d: I64) -> B:
    ok: B = ~arr.d_insured[d] | arr.v_insured[v]
    return ok


def _team(arr: ProblemArrays, v: I64, d: I64) -> B:
    ok: B = (arr.d_team[d] < 0) | (arr.v_team[v] == arr.d_team[d])
    return ok


def _not_forbidden(arr: ProblemArrays, v: I64, d: I64) -> B:
    if len(arr.forbidden[0]) == 0:
        return np.ones(len(v), dtype=bool)
    return ~member(arr.pair_key(v, d), arr.pair_key(*arr.forbidden))


def _a_task(arr: ProblemArrays, v: I64, d: I64) -> B:
    ok: B = arr.v_max_tasks[v] > 0
    return ok


def _hours_fit(arr: ProblemArrays, v: I64, d: I64) -> B:
    ok: B = arr.v_hours_cap_us[v] >= arr.d_duration_us[d]
    return ok


def _hours_fit_one(v: Volunteer, d: Demand) -> bool:
    return hours_us(v.max_hours) >= duration_us(d.start, d.end)


PAIR_RULES: tuple[PairRule, ...] = (
    PairRule("missing_skill", "1", "skilled", "volunteer lacks a required skill (rule 1)", _skills,
             lambda v, d, f: set(d.required_skills) <= set(v.skills),
             lambda v, d, f: "lacks " + ", ".join(s for s in d.required_skills if s not in v.skills)),
    PairRule("not_available", "2", "available", "demand window is outside the volunteer's availability (rule 2)",
             covers, lambda v, d, f: free_for(v, d.start, d.end),
             lambda v, d, f: "not available for the whole window"),
    PairRule("too_far", "3", "in_range", "demand is farther than the volunteer's max_travel_km (rule 3)",
             lambda arr, v, d: in_range(arr, v, travel_km(arr, v, d)), lambda v, d, f: f.km <= v.max_travel_km,
             lambda v, d, f: f"{decisive_km(f.km, v.max_travel_km)} km away, travels at most {v.max_travel_km:g} km"),
    PairRule("not_insured", "4", "skilled", "demand requires an insured volunteer (rule 4)", _insured,
             lambda v, d, f: v.insured or not d.requires_insured,
             lambda v, d, f: "the demand requires insured volunteers"),
    PairRule("other_team", "4", "skilled", "demand is reserved for another team (rule 4)", _team,
             lambda v, d, f: d.team_id is None or v.team_id == d.team_id,
             lambda v, d, f: f"the demand is reserved for team {d.team_id}"),
    PairRule("forbidden", "5", "available", "pair is forbidden (rule 5)", _not_forbidden,
             lambda v, d, f: not f.forbidden,
             lambda v, d, f: "the pair is forbidden (declined or a conflict of interest)"),
    PairRule("tasks_used", "8", "available", "exceeds the volunteer's max_tasks or max_hours (rule 8)", _a_task,
             lambda v, d, f: v.max_tasks > 0,
             lambda v, d, f: "the demand alone exceeds the volunteer's max_hours or max_tasks"),
    PairRule("hours_used", "8", "available", "exceeds the volunteer's max_tasks or max_hours (rule 8)", _hours_fit,
             lambda v, d, f: _hours_fit_one(v, d),
             lambda v, d, f: "the demand alone exceeds the volunteer's max_hours or max_tasks"),
)
"""SPEC's pair rules in SPEC's order: the first that fails is the rule a pair breaks."""

_BY_CODE = {r.code: r for r in PAIR_RULES}


def rule(code: str) -> PairRule:
    """The pair rule with this code (``KeyError`` for an unknown one)."""
    return _BY_CODE[code]


def passing(arr: ProblemArrays, v: I64, d: I64, rules: Iterable[PairRule]) -> tuple[I64, I64]:
    """The pairs that keep every one of ``rules``, tested in the order given (cheap tests first pay off)."""
    for r in rules:
        ok = r.vector(arr, v, d)
        v, d = v[ok], d[ok]
    return v, d


def first_broken(arr: ProblemArrays, v: int, d: int) -> PairRule | None:
    """The first pair rule (in SPEC's order) that volunteer row ``v`` breaks for demand row ``d``, if any."""
    va, da = np.array([v], dtype=np.int64), np.array([d], dtype=np.int64)
    return next((r for r in PAIR_RULES if not r.vector(arr, va, da)[0]), None)


def first_broken_record(v: Volunteer, d: Demand, place: tuple[float, float], forbidden: bool) -> PairRule | None:
    """The first pair rule (in SPEC's order) that record ``v`` breaks for ``d``, held at ``place`` (lat, lon)."""
    km = float(haversine_km(np.array([v.lat]), np.array([v.lon]), np.array([place[0]]), np.array([place[1]]))[0])
    facts = PairFacts(km=km, forbidden=forbidden)
    return next((r for r in PAIR_RULES if not r.scalar(v, d, facts)), None)


def task_clashes(arr: ProblemArrays, v: I64, d: I64) -> tuple[I64, I64, B]:
    """Rule 7 over tasks ``(v[i], d[i])``: sorted by (volunteer, start); ``clash[i]`` says task i+1 overlaps task i."""
    order, clash = clashes(v, arr.d_start_rank[d], arr.d_end_rank[d])
    return v[order], d[order], clash


# ---- whole plans ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """A hard rule a plan breaks: the SPEC rule number, a message naming the records, and the plan rows involved."""

    rule: str
    message: str
    rows: tuple[int, ...]


def plan_violations(arr: ProblemArrays, v: I64, d: I64) -> list[Violation]:
    """Every hard rule (SPEC 1-10) that the plan of tasks ``(v[i], d[i])`` (rows of ``arr``) breaks.

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
    pinned = arr.pair_key(*arr.pinned)
    for k in np.flatnonzero(~member(pinned, np.sort(keys))).tolist():
        out.append(Violation("9", f"pinned ({vid[arr.pinned[0][k]]!r}, {did[arr.pinned[1][k]]!r}) is not in the plan "
                                  "(rule 9)", ()))
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
