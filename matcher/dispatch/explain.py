"""Why a demand's seats are (not) filled, and what an assignment's score is made of.

:func:`explain_demand` looks at the volunteers near a demand and says, for
each, what kept them off it: the first hard rule they break (skill,
time, distance, insurance, team, forbidden pair, in SPEC's order, from the
rule table :data:`matcher.engine.rules.PAIR_RULES`), or, when they could have
gone, which of their assignments used the capacity (an overlapping task, all
their tasks, or their hours), with those demands' priorities.
:func:`explain_volunteer` gives each of a volunteer's assignments its score
parts (coverage points, travel, recent hours, load, continuity, change).
Both return plain pydantic data with a ``text()`` form for a dispatcher.

Works on the :class:`~matcher.model.Problem` and :class:`~matcher.model.Solution`
alone (no solver state), in time proportional to the volunteers near the demand.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from matcher.engine.arrays import ProblemArrays, build_arrays, member, uses_v2
from matcher.engine.cell_index import search_radius_km
from matcher.engine.geometry import haversine_km
from matcher.engine.rules import PAIR_RULES, PairFacts
from matcher.engine.travel import TravelModel, minutes_to_us, travel_model
from matcher.engine.types import I64, US_PER_HOUR, US_PER_MINUTE, duration_us, hours_us
from matcher.errors import ProblemError
from matcher.model import Demand, Problem, Solution, SolveOptions, Unmet, UnmetReason, Volunteer

__all__ = ["NOTE_ORDER", "AssignmentScore", "CandidateNote", "DemandExplanation", "Exclusion", "VolunteerExplanation",
           "explain_demand", "explain_volunteer"]

NEAR_FACTOR = 2.0
"""Volunteers up to this many times their own max travel away are shown as 'near' (too far, but close)."""
MAX_NOTES = 50
"""At most this many volunteers are listed per demand (nearest first)."""


class Exclusion(enum.StrEnum):
    """Why a near volunteer is not on the demand (or that they are)."""

    ASSIGNED = "assigned"
    FORBIDDEN = "forbidden"
    MISSING_SKILL = "missing_skill"
    NOT_INSURED = "not_insured"
    OTHER_TEAM = "other_team"
    TOO_FAR = "too_far"
    NOT_AVAILABLE = "not_available"
    RATED_OUT = "rated_out"
    """Rated 1-2 stars on this demand's series before (SPEC rule 12)."""
    BUSY = "busy"
    """Assigned to an overlapping demand."""
    NO_TIME_TO_TRAVEL = "no_time_to_travel"
    """Assigned to a demand too close in time to get from one place to the other (SPEC rule 7b)."""
    TASKS_USED = "tasks_used"
    """All of ``max_tasks`` used by other demands."""
    HOURS_USED = "hours_used"
    """Too few of ``max_hours`` left after other demands."""
    FREE = "free"
    """Could go and is free: only when the demand's seats are all filled (or the solution is not optimal)."""


class _Plain(BaseModel):
    model_config = ConfigDict(frozen=True)


class CandidateNote(_Plain):
    """One near volunteer and what kept them off the demand."""

    volunteer_id: str
    distance_km: float
    reason: Exclusion
    detail: str
    taken_by: tuple[str, ...] = ()
    """For busy / tasks_used / hours_used: the demands that used the capacity."""
    more_urgent: bool | None = None
    """For busy / tasks_used / hours_used: whether every one of those demands has a higher priority."""


class DemandExplanation(_Plain):
    """A demand's seats: who fills them, why the rest are unmet, and what kept each near volunteer off."""

    demand_id: str
    priority: int
    headcount: int
    assigned: tuple[str, ...]
    unmet: tuple[Unmet, ...]
    near_by_reason: dict[str, int]
    """How many near volunteers each reason kept off (all of them; ``candidates`` lists at most 50)."""
    candidates: tuple[CandidateNote, ...]
    """The near volunteers: the assigned first, then those closest to being able to go, nearest first."""

    def text(self) -> str:
        """A readable summary for a dispatcher."""
        lines = [f"Demand {self.demand_id} (priority {self.priority}): {len(self.assigned)} of {self.headcount} "
                 f"seats filled" + (f" by {', '.join(self.assigned)}" if self.assigned else "") + "."]
        for u in self.unmet:
            lines.append(f"  {u.missing} seat(s) unmet: {u.reason.value}")
            if u.reason is UnmetReason.NOT_SEARCHED:
                lines.append("    (the plan's time limit ended its candidate search before this demand: the plan "
                             "never tried the volunteers below; a longer time limit does)")
        if self.near_by_reason:
            lines.append("  near volunteers: " + ", ".join(f"{n} {r}" for r, n in self.near_by_reason.items()))
        for c in self.candidates:
            if c.reason is not Exclusion.ASSIGNED:
                lines.append(f"  - {c.volunteer_id} ({c.distance_km:.2f} km): {c.reason.value}: {c.detail}")
        return "\n".join(lines)


class AssignmentScore(_Plain):
    """The score parts of one assignment (SPEC.md objective, in points)."""

    demand_id: str
    priority: int
    coverage_points: int
    travel_km: float
    travel_points: float
    recent_hours_points: float
    load_points: float
    """This assignment's share of the volunteer's load term (load_weight * tasks^2, split evenly)."""
    continuity: bool | None
    """True: served by a preferred volunteer; False: the demand has preferred volunteers, not this one."""
    kept_from_previous: bool | None


class VolunteerExplanation(_Plain):
    """A volunteer's assignments with their score parts, and the capacity left."""

    volunteer_id: str
    assignments: tuple[AssignmentScore, ...]
    tasks_used: int
    max_tasks: int
    hours_used: float
    max_hours: float

    def text(self) -> str:
        """A readable summary for a dispatcher."""
        lines = [f"Volunteer {self.volunteer_id}: {self.tasks_used} of {self.max_tasks} tasks, "
                 f"{self.hours_used:g} of {self.max_hours:g} hours."]
        for a in self.assignments:
            extra = []
            if a.continuity is not None:
                extra.append("keeps continuity" if a.continuity else "not the household's usual volunteer")
            if a.kept_from_previous is not None:
                extra.append("kept from the previous plan" if a.kept_from_previous else "new since the previous plan")
            lines.append(f"  - {a.demand_id} (priority {a.priority}): +{a.coverage_points} coverage; "
                         f"travel {a.travel_km:.2f} km = {a.travel_points:.2f} pt, recent hours "
                         f"{a.recent_hours_points:.2f} pt, load {a.load_points:.2f} pt"
                         + (f"; {', '.join(extra)}" if extra else ""))
        return "\n".join(lines)


class Surroundings:
    """A problem's volunteers as arrays for distance queries, and each demand's place.

    Built once per call of :func:`explain_demand` or :func:`matcher.recommend`
    (from the kept arrays, in a :class:`matcher.Dispatcher`), and queried for
    every demand they look at.
    """

    def __init__(self, problem: Problem, arrays: ProblemArrays | None = None) -> None:
        """``arrays`` (the problem's, when at hand) saves reading every volunteer's place again.

        A problem with SPEC v2 fields (travel, ratings) builds its arrays when none are given: travel
        times and ratings are read from them.
        """
        self.volunteers = problem.volunteers
        if arrays is None and uses_v2(problem):
            arrays = build_arrays(problem)
        self.arrays = arrays
        self.travel = problem.travel
        self.forbidden = {(a.volunteer_id, a.demand_id) for a in problem.forbidden}
        if arrays is not None:
            self._lat, self._lon, self._reach = arrays.v_lat, arrays.v_lon, search_radius_km(arrays)
        else:
            self._lat = np.array([v.lat for v in self.volunteers], dtype=np.float64)
            self._lon = np.array([v.lon for v in self.volunteers], dtype=np.float64)
            self._reach = np.array([v.max_travel_km for v in self.volunteers], dtype=np.float64)
        self._areas = {a.id: (a.lat, a.lon) for a in problem.areas}

    def facts(self, v: Volunteer, d: Demand, km: float) -> PairFacts:
        """What the pair rules need about ``v`` serving ``d`` (``km`` from home): refusals, travel minutes."""
        forbidden = (v.id, d.id) in self.forbidden
        arr = self.arrays
        if arr is None or arr.v_speed_kmh is None:
            return PairFacts(km=km, forbidden=forbidden)
        vi = np.array([arr.volunteer_index[v.id]])
        minutes = None
        if arr.travel is not None and v.max_travel_minutes is not None:
            model, rows = self._travel([d])
            minutes = float(model.home_minutes(arr.v_lat[vi], arr.v_lon[vi], arr.v_speed_kmh[vi], rows)[0])
        series = arr.series_ids.index(d.series_id) if d.series_id in arr.series_ids else -1
        rated_out = series >= 0 and bool(member(np.array([vi[0] * len(arr.series_ids) + series]),
                                                arr.rated_out[0] * len(arr.series_ids) + arr.rated_out[1])[0])
        return PairFacts(km=km, forbidden=forbidden, minutes=minutes, rated_out=rated_out)

    def trip_us(self, v: Volunteer, d1: Demand, d2: Demand) -> int:
        """Microseconds ``v`` needs from ``d1``'s place to ``d2``'s (0 without travel: SPEC v1)."""
        arr = self.arrays
        if arr is None or arr.travel is None or arr.v_speed_kmh is None:
            return 0
        model, rows = self._travel([d1, d2])
        speed = arr.v_speed_kmh[np.array([arr.volunteer_index[v.id]])]
        return int(minutes_to_us(model.between_minutes(rows[:1], rows[1:], speed))[0])

    def _travel(self, demands: list[Demand]) -> tuple[TravelModel, I64]:
        """The travel model and rows of these demands: the arrays' own, or one built for a new demand's place."""
        arr = self.arrays
        assert arr is not None and arr.travel is not None
        index = arr.demand_index
        if all(d.id in index for d in demands):
            return arr.travel, np.array([index[d.id] for d in demands], dtype=np.int64)
        places = np.array([self.place(d) for d in demands], dtype=np.float64)
        model = travel_model(self.travel, places[:, 0], places[:, 1])
        assert model is not None
        return model, np.arange(len(demands), dtype=np.int64)

    def place(self, d: Demand) -> tuple[float, float]:
        """Where the demand happens: its own lat/lon, else its area's centre."""
        if d.lat is not None and d.lon is not None:
            return d.lat, d.lon
        return self._areas[d.area_id or ""]

    def near(self, lat: float, lon: float, factor: float = 1.0) -> list[tuple[Volunteer, float]]:
        """Volunteers within ``factor`` times their own max travel of the point, with their distance in km."""
        km = haversine_km(self._lat, self._lon, np.full_like(self._lat, lat), np.full_like(self._lon, lon))
        return [(self.volunteers[i], float(km[i])) for i in np.flatnonzero(km <= factor * self._reach).tolist()]


def service_us(d: Demand) -> int:
    """A demand's length in microseconds, exactly (the unit every hour test uses)."""
    return duration_us(d.start, d.end)


def service_hours(d: Demand) -> float:
    """A demand's length in hours (for display; tests compare :func:`service_us`)."""
    return (d.end - d.start).total_seconds() / 3600


def plan_of(problem: Problem, solution: Solution) -> None:
    """Refuse a solution whose assignments name records ``problem`` does not have: it is another problem's.

    Raises
    ------
    ProblemError
        Naming the first assignments that do not fit.

    """
    vids = {v.id for v in problem.volunteers}
    dids = {d.id for d in problem.demands}
    bad = [f"solution.assignments[{i}] ({a.volunteer_id!r}, {a.demand_id!r}): names a "
           f"{'volunteer' if a.volunteer_id not in vids else 'demand'} this problem does not have"
           for i, a in enumerate(solution.assignments) if a.volunteer_id not in vids or a.demand_id not in dids]
    if bad:
        raise ProblemError([*bad[:5], f"the solution was made for another problem ({len(bad)} assignments do "
                                      "not fit this one)"])


def explain_demand(problem: Problem, solution: Solution, demand_id: str) -> DemandExplanation:
    """Why the demand's seats are filled or not, volunteer by volunteer (nearest first).

    Raises
    ------
    ProblemError
        When no demand has that id, or the solution names records the problem does not have.

    """
    plan_of(problem, solution)
    return demand_explanation(problem, solution, demand_id, Surroundings(problem))


def demand_explanation(problem: Problem, solution: Solution, demand_id: str,
                       around: Surroundings) -> DemandExplanation:
    """:func:`explain_demand` with the volunteers' places already at hand (a :class:`matcher.Dispatcher` has them)."""
    demands = {d.id: d for d in problem.demands}
    if demand_id not in demands:
        raise ProblemError([f"demand_id: no demand {demand_id!r}"])
    d = demands[demand_id]
    by_vol: dict[str, list[str]] = {}
    for a in solution.assignments:
        by_vol.setdefault(a.volunteer_id, []).append(a.demand_id)
    assigned = tuple(sorted(v for v, ds in by_vol.items() if demand_id in ds))
    near = around.near(*around.place(d), factor=NEAR_FACTOR)
    reasons = [exclusion(v, d, around.facts(v, d, km), demands, by_vol.get(v.id, []), around)[0] for v, km in near]
    counts: dict[str, int] = {}
    for r in reasons:
        counts[r.value] = counts.get(r.value, 0) + 1
    # the assigned first, then those closest to being able to go, nearest first; notes for the first few only
    first = sorted(range(len(near)), key=lambda i: (_RANK[reasons[i]], near[i][1], near[i][0].id))[:MAX_NOTES]
    notes = tuple(volunteer_note(near[i][0], d, around.facts(near[i][0], d, near[i][1]), demands,
                                 by_vol.get(near[i][0].id, []), around) for i in first)
    return DemandExplanation(demand_id=d.id, priority=d.priority, headcount=d.headcount, assigned=assigned,
                             unmet=tuple(u for u in solution.unmet if u.demand_id == d.id),
                             near_by_reason=dict(sorted(counts.items())), candidates=notes)


NOTE_ORDER: tuple[Exclusion, ...] = (
    Exclusion.ASSIGNED, Exclusion.FREE, Exclusion.BUSY, Exclusion.NO_TIME_TO_TRAVEL, Exclusion.TASKS_USED,
    Exclusion.HOURS_USED, Exclusion.NOT_AVAILABLE, Exclusion.TOO_FAR, Exclusion.FORBIDDEN, Exclusion.RATED_OUT,
    Exclusion.OTHER_TEAM, Exclusion.NOT_INSURED, Exclusion.MISSING_SKILL)
"""The order of a demand's notes: the assigned, then those closest to being able to go (then nearest first)."""
_RANK = {r: i for i, r in enumerate(NOTE_ORDER)}


def volunteer_note(v: Volunteer, d: Demand, facts: PairFacts, demands: dict[str, Demand], tasks: Sequence[str],
                   around: Surroundings) -> CandidateNote:
    """What keeps volunteer ``v`` (holding ``tasks``) off demand ``d``, as a note."""
    reason, detail, taken = exclusion(v, d, facts, demands, tasks, around)
    urgent = all(demands[t].priority > d.priority for t in taken) if taken else None
    return CandidateNote(volunteer_id=v.id, distance_km=round(facts.km, 3), reason=reason, detail=detail,
                         taken_by=taken, more_urgent=urgent)


def exclusion(v: Volunteer, d: Demand, facts: PairFacts, demands: dict[str, Demand], tasks: Sequence[str],
              around: Surroundings) -> tuple[Exclusion, str, tuple[str, ...]]:
    """:func:`volunteer_note`'s reason, its detail and the demands that took the capacity, as plain values.

    ``facts`` come from :meth:`Surroundings.facts`; ``around`` gives trip times between demands (rule 7b).
    """
    if d.id in tasks:
        return Exclusion.ASSIGNED, "assigned to this demand", ()
    for pair_rule in PAIR_RULES:  # the first rule the pair breaks, in SPEC's order (as the pinned check names it)
        if not pair_rule.scalar(v, d, facts):
            return Exclusion(pair_rule.code), pair_rule.detail(v, d, facts), ()
    clash = tuple(t for t in tasks if demands[t].start < d.end and d.start < demands[t].end)
    if clash:
        return Exclusion.BUSY, "assigned to an overlapping demand: " + _list(clash, demands), clash
    for t in tasks:
        first, then = (demands[t], d) if demands[t].end <= d.start else (d, demands[t])
        need = around.trip_us(v, first, then)
        has = duration_us(first.end, then.start)
        if has < need:
            return (Exclusion.NO_TIME_TO_TRAVEL, f"needs {math.ceil(need / US_PER_MINUTE)} min to get from "
                    f"{first.id} to {then.id}; has {has // US_PER_MINUTE}", (t,))
    if len(tasks) >= v.max_tasks:
        return Exclusion.TASKS_USED, f"all {v.max_tasks} tasks used by: " + _list(tasks, demands), tuple(tasks)
    used = sum(service_us(demands[t]) for t in tasks)
    if used + service_us(d) > hours_us(v.max_hours):
        return (Exclusion.HOURS_USED, f"{used / US_PER_HOUR:g} of {v.max_hours:g} hours used by: "
                + _list(tasks, demands),
                tuple(tasks))
    return Exclusion.FREE, "could go and is free", ()


def _list(ids: Sequence[str], demands: dict[str, Demand]) -> str:
    return ", ".join(f"{t} (priority {demands[t].priority})" for t in ids)


def explain_volunteer(problem: Problem, solution: Solution, volunteer_id: str,
                      options: SolveOptions | None = None) -> VolunteerExplanation:
    """A volunteer's assignments with their score parts (weights from ``options``, else the problem's).

    Raises
    ------
    ProblemError
        When no volunteer has that id, or the solution names records the problem does not have.

    """
    plan_of(problem, solution)
    vols = {v.id: v for v in problem.volunteers}
    if volunteer_id not in vols:
        raise ProblemError([f"volunteer_id: no volunteer {volunteer_id!r}"])
    v = vols[volunteer_id]
    opts = options or problem.options or SolveOptions()
    weights = opts.priority_weights
    demands = {d.id: d for d in problem.demands}
    previous = {(a.volunteer_id, a.demand_id) for a in problem.previous}
    mine = [a for a in solution.assignments if a.volunteer_id == volunteer_id]
    n = len(mine)
    load_each = opts.load_weight * n  # load_weight * n^2 for the volunteer, split over the n tasks
    scores = []
    for a in mine:
        d = demands[a.demand_id]
        scores.append(AssignmentScore(
            demand_id=d.id, priority=d.priority, coverage_points=weights[d.priority], travel_km=a.travel_km,
            travel_points=round(opts.travel_weight * a.travel_km, 6),
            recent_hours_points=round(opts.recent_hours_weight * v.recent_hours, 6),
            load_points=round(load_each, 6),
            continuity=(v.id in d.preferred_volunteers) if d.preferred_volunteers else None,
            kept_from_previous=((v.id, d.id) in previous) if problem.previous else None))
    return VolunteerExplanation(volunteer_id=v.id, assignments=tuple(scores), tasks_used=n, max_tasks=v.max_tasks,
                                hours_used=round(sum(service_hours(demands[a.demand_id]) for a in mine), 4),
                                max_hours=v.max_hours)
