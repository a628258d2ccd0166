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

**Plan rules** (6-11) hold over a whole plan: :mod:`matcher.engine.plan_check`
checks them (and these pair rules) on a plan.

Times are integer microseconds (:mod:`matcher.engine.types`), so every time
test here is exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.geometry import haversine_km
from matcher.engine.intervals import clashes
from matcher.engine.travel import minutes_to_us
from matcher.engine.types import F64, I64, B, duration_us, hours_us, minutes_us
from matcher.model import Demand, Volunteer

__all__ = [
    "PAIR_RULES",
    "PairFacts",
    "PairRule",
    "Stage",
    "covers",
    "decisive_km",
    "decisive_minutes",
    "first_broken",
    "first_broken_record",
    "free_for",
    "home_travel_us",
    "in_range",
    "passing",
    "rule",
    "task_clashes",
    "travel_km",
]

Stage = Literal["skilled", "in_range", "available"]
"""The rung of the unmet-reason ladder: skills, insurance and team; distance; time, capacity and refusals."""


@dataclass(frozen=True)
class PairFacts:
    """What a scalar pair test needs beyond the two records.

    ``km`` is the straight-line distance from home; ``minutes`` the travel time from home when rule 3 is by
    minutes for this volunteer (SPEC v2: ``travel`` given and ``max_travel_minutes`` set), else ``None``;
    ``forbidden`` and ``rated_out`` (a 1-2 star rating on the demand's series, rule 12) say whether the pair
    is refused.
    """

    km: float
    forbidden: bool
    minutes: float | None = None
    rated_out: bool = False


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


def in_range(arr: ProblemArrays, v: I64, d: I64, km: F64) -> B:
    """Rule 3 on distances already computed: within each volunteer's ``max_travel_km``.

    With travel times (SPEC v2) a volunteer with ``max_travel_minutes`` is in range when the trip from home
    takes at most that many minutes, compared as whole microseconds (the trip rounded up, the cap down).
    """
    ok: B = km <= arr.v_max_travel_km[v]
    caps = arr.v_minutes_cap_us
    if caps is None or len(v) == 0:
        return ok
    timed = caps[v] >= 0
    if timed.any():
        ok = ok.copy()
        ok[timed] = home_travel_us(arr, v[timed], d[timed]) <= caps[v[timed]]
    return ok


def home_travel_us(arr: ProblemArrays, v: I64, d: I64) -> I64:
    """Travel time from each volunteer's home to each demand, whole microseconds rounded up (int64)."""
    assert arr.travel is not None and arr.v_speed_kmh is not None
    return minutes_to_us(arr.travel.home_minutes(arr.v_lat[v], arr.v_lon[v], arr.v_speed_kmh[v], d))


def _not_rated_out(arr: ProblemArrays, v: I64, d: I64) -> B:
    if len(arr.rated_out[0]) == 0 or arr.d_series is None:
        return np.ones(len(v), dtype=bool)
    out = np.ones(len(v), dtype=bool)
    at = _of_listed(arr.nv, arr.rated_out[0], v)
    series, n = arr.d_series[d[at]], max(len(arr.series_ids), 1)
    out[at] = (series < 0) | ~member(v[at] * n + series, arr.rated_out[0] * n + arr.rated_out[1])
    return out


def _in_range_record(v: Volunteer, f: PairFacts) -> bool:
    if f.minutes is None or v.max_travel_minutes is None:
        return f.km <= v.max_travel_km
    return int(minutes_to_us(np.array([f.minutes]))[0]) <= minutes_us(v.max_travel_minutes)


def _too_far_words(v: Volunteer, f: PairFacts) -> str:
    if f.minutes is None or v.max_travel_minutes is None:
        return f"{decisive_km(f.km, v.max_travel_km)} km away, travels at most {v.max_travel_km:g} km"
    return f"{decisive_minutes(f.minutes, v.max_travel_minutes)} min away, travels at most {v.max_travel_minutes:g} min"


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


def decisive_minutes(minutes: float, limit: float) -> str:
    """``minutes`` with as many decimals (1 to 6) as it takes to show which side of ``limit`` it lies on."""
    for digits in range(1, 7):
        text = f"{minutes:.{digits}f}"
        if (float(text) > limit) == (minutes > limit):
            return text
    return repr(minutes)


def _skills(arr: ProblemArrays, v: I64, d: I64) -> B:
    if arr.d_skills.shape[1] == 1:  # up to 64 skills: one word per record, gathered flat (twice as fast)
        need1 = arr.d_skills[:, 0][d]
        one: B = (arr.v_skills[:, 0][v] & need1) == need1
        return one
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
    ok = np.ones(len(v), dtype=bool)
    if len(arr.forbidden[0]) == 0:
        return ok
    at = _of_listed(arr.nv, arr.forbidden[0], v)  # only the pairs of volunteers with a forbidden pair are looked up
    ok[at] = ~member(arr.pair_key(v[at], d[at]), arr.pair_key(*arr.forbidden))
    return ok


def _of_listed(nv: int, listed: I64, v: I64) -> I64:
    """Positions ``i`` with ``v[i]`` among the volunteer rows ``listed`` (int64 index array)."""
    flag = np.zeros(nv, dtype=bool)
    flag[listed] = True
    return np.flatnonzero(flag[v])


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
             lambda arr, v, d: in_range(arr, v, d, travel_km(arr, v, d)), lambda v, d, f: _in_range_record(v, f),
             lambda v, d, f: _too_far_words(v, f)),
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
    PairRule("rated_out", "12", "available", "volunteer was rated 1-2 stars on this series (rule 12)",
             _not_rated_out, lambda v, d, f: not f.rated_out,
             lambda v, d, f: f"rated 1-2 stars on series {d.series_id} before"),
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


def first_broken_record(v: Volunteer, d: Demand, facts: PairFacts) -> PairRule | None:
    """The first pair rule (in SPEC's order) that record ``v`` breaks for ``d``, given the pair's ``facts``."""
    return next((r for r in PAIR_RULES if not r.scalar(v, d, facts)), None)


def task_clashes(arr: ProblemArrays, v: I64, d: I64) -> tuple[I64, I64, B]:
    """Rule 7 over tasks ``(v[i], d[i])``: sorted by (volunteer, start); ``clash[i]`` says task i+1 overlaps task i."""
    order, clash = clashes(v, arr.d_start_rank[d], arr.d_end_rank[d])
    return v[order], d[order], clash
