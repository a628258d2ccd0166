"""Repair a plan after changes, moving as few existing assignments as possible.

A dispatch service holds a solved plan when a volunteer cancels, an order
arrives, changes or is withdrawn, a pair is ruled out, or an assignment is
accepted and must stay. :func:`repair` applies the changes
(:func:`apply_changes`) and re-optimises a *region* around them: the changed
volunteers and demands, the volunteers who could serve the affected demands, and
the demands those volunteers serve (a second round while the region is small).
Everything outside the region is kept as it is.

Inside the region the objective is lexicographic: coverage first, then the
number of current assignments changed (each costs :data:`CHANGE_POINTS`, far
above any travel or load difference), then the usual secondary objective.
When the problem is small (:data:`WHOLE_BELOW` volunteers) the region is the
whole problem, so the answer has the best coverage a full re-solve can reach.

The bound is the old solution's bound plus what the added or changed demands
could add, or the region's own bound when the region is the whole problem; the
status is ``optimal`` when the coverage reaches it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from matcher.arrays import build_arrays
from matcher.errors import ProblemError
from matcher.explain import Exclusion, Surroundings, great_circle_km, volunteer_note
from matcher.model import Assignment, Demand, Problem, Solution, SolveOptions, Status, Window, format_validation_error
from matcher.recommend import USABLE

__all__ = ["AssignmentPinned", "Change", "DemandAdded", "DemandChanged", "DemandWithdrawn", "PairForbidden",
           "VolunteerUnavailable", "apply_changes", "repair"]

CHANGE_POINTS = 1000.0
"""Secondary points one changed assignment costs inside the region (dominates travel, load and fairness)."""
WHOLE_BELOW = 2_000
"""Problems with fewer volunteers are repaired whole (exact)."""
REGION_ROUNDS = 2
"""Rounds of growth of the region (able volunteers, then what they serve)."""
REGION_GROW_BELOW = 200
"""The region grows another round only while it has fewer volunteers than this."""
SUB_SOLVE_SECONDS = 2.0
"""Most seconds the region's solve may take (it is small; this is a cap, not a target)."""


class _Change(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VolunteerUnavailable(_Change):
    """A volunteer cancels: unavailable from ``start`` to ``end`` (default: the whole horizon)."""

    kind: Literal["volunteer_unavailable"] = "volunteer_unavailable"
    volunteer_id: str
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class DemandAdded(_Change):
    """A new order."""

    kind: Literal["demand_added"] = "demand_added"
    demand: Demand


class DemandChanged(_Change):
    """An order changed (same id; any field may differ)."""

    kind: Literal["demand_changed"] = "demand_changed"
    demand: Demand


class DemandWithdrawn(_Change):
    """An order withdrawn."""

    kind: Literal["demand_withdrawn"] = "demand_withdrawn"
    demand_id: str


class PairForbidden(_Change):
    """A volunteer may not serve a demand (declined, or a conflict of interest)."""

    kind: Literal["pair_forbidden"] = "pair_forbidden"
    volunteer_id: str
    demand_id: str


class AssignmentPinned(_Change):
    """An assignment accepted (接单): it must stay."""

    kind: Literal["assignment_pinned"] = "assignment_pinned"
    volunteer_id: str
    demand_id: str


Change = Annotated[VolunteerUnavailable | DemandAdded | DemandChanged | DemandWithdrawn | PairForbidden
                   | AssignmentPinned, Field(discriminator="kind")]
"""One change to a problem; a list of them is applied in order."""


def _cut(windows: Sequence[Window], start: AwareDatetime | None, end: AwareDatetime | None) -> tuple[Window, ...]:
    """The windows minus [start, end] (everything when both are None)."""
    if start is None and end is None:
        return ()
    out: list[Window] = []
    for w in windows:
        a = start if start is not None else w.start
        b = end if end is not None else w.end
        if b <= w.start or a >= w.end:
            out.append(w)
            continue
        if w.start < a:
            out.append(Window(start=w.start, end=a))
        if b < w.end:
            out.append(Window(start=b, end=w.end))
    return tuple(out)


def apply_changes(problem: Problem, changes: Iterable[Change]) -> tuple[Problem, set[str], set[str]]:
    """The problem after the changes, and the ids of the volunteers and demands they touch.

    Raises
    ------
    ProblemError
        Naming the change (``changes[i]``) that refers to something unknown or makes the problem invalid.

    """
    vols = {v.id: v for v in problem.volunteers}
    dems = {d.id: d for d in problem.demands}
    forbidden = list(problem.forbidden)
    pinned = list(problem.pinned)
    touched_v: set[str] = set()
    touched_d: set[str] = set()
    for i, c in enumerate(changes):
        where = f"changes[{i}] ({c.kind})"
        if isinstance(c, VolunteerUnavailable):
            if c.volunteer_id not in vols:
                raise ProblemError([f"{where}.volunteer_id: unknown volunteer {c.volunteer_id!r}"])
            v = vols[c.volunteer_id]
            vols[v.id] = v.model_copy(update={"availability": _cut(v.availability, c.start, c.end)})
            touched_v.add(v.id)
        elif isinstance(c, DemandAdded):
            if c.demand.id in dems:
                raise ProblemError([f"{where}.demand.id: demand {c.demand.id!r} already exists"])
            dems[c.demand.id] = c.demand
            touched_d.add(c.demand.id)
        elif isinstance(c, DemandChanged):
            if c.demand.id not in dems:
                raise ProblemError([f"{where}.demand.id: unknown demand {c.demand.id!r}"])
            dems[c.demand.id] = c.demand
            touched_d.add(c.demand.id)
        elif isinstance(c, DemandWithdrawn):
            if dems.pop(c.demand_id, None) is None:
                raise ProblemError([f"{where}.demand_id: unknown demand {c.demand_id!r}"])
            touched_d.add(c.demand_id)
        else:
            for key, known in (("volunteer_id", vols), ("demand_id", dems)):
                if getattr(c, key) not in known:
                    raise ProblemError([f"{where}.{key}: unknown {key[:-3]} {getattr(c, key)!r}"])
            pair = Assignment(volunteer_id=c.volunteer_id, demand_id=c.demand_id)
            (forbidden if isinstance(c, PairForbidden) else pinned).append(pair)
            touched_v.add(c.volunteer_id)
            touched_d.add(c.demand_id)
    live = set(dems)

    def alive(pairs: Sequence[Assignment]) -> tuple[Assignment, ...]:
        return tuple(dict.fromkeys(a for a in pairs if a.demand_id in live))

    try:
        new = problem.replace(volunteers=tuple(vols.values()), demands=tuple(dems.values()),
                              forbidden=alive(forbidden), pinned=alive(pinned), previous=alive(problem.previous))
    except ProblemError as exc:
        raise ProblemError([f"changes: {e}" for e in exc.errors]) from None
    return new, touched_v, touched_d


def repair(problem: Problem, solution: Solution, changes: Sequence[Change] | Sequence[dict[str, object]],
           options: SolveOptions | None = None) -> Solution:
    """Apply ``changes`` to ``problem`` and return the repaired plan (see the module docstring).

    ``changes`` may be :data:`Change` objects or plain dicts with a ``kind``.
    ``stats["repair"]`` reports ``changed`` (current assignments not kept),
    ``kept``, ``added``, the region's size and the seconds taken.

    Raises
    ------
    ProblemError
        A change that names something unknown, or leaves the problem invalid.
    PinnedError
        When the pinned assignments break a hard rule after the changes.

    """
    t0 = time.perf_counter()
    parsed = _parse(changes)
    opts = options or problem.options or SolveOptions()
    new, touched_v, touched_d = apply_changes(problem, parsed)
    vols = {v.id: v for v in new.volunteers}
    dems = {d.id: d for d in new.demands}
    forbidden = {(a.volunteer_id, a.demand_id) for a in new.forbidden}
    current = [(a.volunteer_id, a.demand_id) for a in solution.assignments
               if a.volunteer_id in vols and a.demand_id in dems]
    region_v, region_d = _region(new, current, touched_v, touched_d, forbidden)
    whole = len(region_v) == len(vols)

    # the sub-problem: region volunteers and demands; seats taken by outside volunteers stay taken
    outside = [(v, d) for v, d in current if v not in region_v]
    taken: dict[str, int] = {}
    for _, d in outside:
        taken[d] = taken.get(d, 0) + 1
    sub_dems = [dems[d].model_copy(update={
        "headcount": dems[d].headcount - taken.get(d, 0),
        "preferred_volunteers": tuple(p for p in dems[d].preferred_volunteers if p in region_v)})
        for d in sorted(region_d) if dems[d].headcount - taken.get(d, 0) > 0]
    sub_ids = {d.id for d in sub_dems}

    def inside(pairs: Iterable[Assignment]) -> tuple[Assignment, ...]:
        return tuple(a for a in pairs if a.volunteer_id in region_v and a.demand_id in sub_ids)

    keep = tuple(Assignment(volunteer_id=v, demand_id=d) for v, d in current if v in region_v and d in sub_ids)
    sub = Problem.model_construct(
        areas=new.areas, volunteers=tuple(vols[v] for v in sorted(region_v)), demands=tuple(sub_dems),
        pinned=inside(new.pinned), forbidden=inside(new.forbidden), previous=keep, options=None, taxonomy=None)
    from matcher.solve import solve

    limit = opts.time_limit_s if whole else min(opts.time_limit_s, SUB_SOLVE_SECONDS)
    sub_solution = solve(sub, opts.model_copy(update={"change_weight": CHANGE_POINTS, "time_limit_s": limit}))
    final = sorted(set(outside) | {(a.volunteer_id, a.demand_id) for a in sub_solution.assignments})

    weights = opts.priority_weights
    if whole:
        bound = sub_solution.coverage_bound
    else:
        bound = solution.coverage_bound + sum(weights[dems[d].priority] * dems[d].headcount
                                              for d in touched_d if d in dems)
    before = set(current)
    stats = {"changed": len(before - set(final)), "kept": len(before & set(final)), "added": len(set(final) - before),
             "region_volunteers": len(region_v), "region_demands": len(region_d), "whole_problem": whole,
             "seconds": 0.0}
    out = assess(new, final, opts, bound=bound, stats={"engine": "repair"})
    stats["seconds"] = round(time.perf_counter() - t0, 4)
    return out.model_copy(update={"stats": {**out.stats, "repair": stats}})


def _parse(changes: Sequence[Change] | Sequence[dict[str, object]]) -> list[Change]:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[list[Change]] = TypeAdapter(list[Change])
    try:
        return adapter.validate_python(list(changes))
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, list(changes), source="changes")) from None


def _region(problem: Problem, current: Sequence[tuple[str, str]], touched_v: set[str], touched_d: set[str],
            forbidden: set[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """Volunteers and demands to re-optimise; the whole problem when it is small."""
    vols = {v.id: v for v in problem.volunteers}
    dems = {d.id: d for d in problem.demands}
    if len(vols) < WHOLE_BELOW:
        return set(vols), set(dems)
    serves: dict[str, list[str]] = {}
    served_by: dict[str, list[str]] = {}
    for v, d in current:
        serves.setdefault(v, []).append(d)
        served_by.setdefault(d, []).append(v)
    around = Surroundings(problem)

    def able(d: str) -> list[str]:
        """Volunteers who may serve demand d (rules 1-5; capacity ignored)."""
        dd = dems[d]
        return [v.id for v, km in around.near(*around.place(dd))
                if volunteer_note(v, dd, km, dems, serves.get(v.id, []), (v.id, d) in forbidden).reason
                in (*USABLE, Exclusion.ASSIGNED)]

    # affected: touched records, and current pairs that the changes made impossible
    affected_d = {d for d in touched_d if d in dems}
    affected_v = {v for v in touched_v if v in vols} | {v for d in touched_d for v in served_by.get(d, [])}
    for v, d in current:
        if v not in touched_v and d not in touched_d:
            continue  # neither side changed: the pair is as valid as it was
        dd = dems[d]
        km = great_circle_km(vols[v].lat, vols[v].lon, *around.place(dd))
        if volunteer_note(vols[v], dd, km, dems, [], (v, d) in forbidden).reason is not Exclusion.FREE:
            affected_v.add(v)
            affected_d.add(d)
    region_v = set(affected_v)
    region_d = set(affected_d)
    for _ in range(REGION_ROUNDS):  # the volunteers able to help, and what they serve; again while small
        for d in list(region_d):
            region_v.update(able(d))
            region_v.update(served_by.get(d, []))
        for v in list(region_v):
            region_d.update(serves.get(v, []))
        if len(region_v) > REGION_GROW_BELOW:
            break
    return region_v, region_d


def assess(problem: Problem, assignments: Sequence[tuple[str, str]], options: SolveOptions, *, bound: float,
           stats: dict[str, object]) -> Solution:
    """The full :class:`Solution` of given assignments: checked against every hard rule, with reasons and KPIs."""
    from matcher.candidates import candidate_pairs
    from matcher.costs import priority_weights
    from matcher.report import build_solution
    from matcher.solve import _Phases, _verify

    ph = _Phases()
    arr = build_arrays(problem)
    pairs = candidate_pairs(arr)
    vidx = {v: i for i, v in enumerate(arr.volunteer_ids)}
    didx = {d: i for i, d in enumerate(arr.demand_ids)}
    v = np.array([vidx[a] for a, _ in assignments], dtype=np.int64)
    d = np.array([didx[b] for _, b in assignments], dtype=np.int64)
    _verify(arr, pairs, v, d)
    coverage = int(priority_weights(options)[arr.d_priority[d]].sum())
    status = Status.OPTIMAL if coverage >= bound else Status.FEASIBLE
    ph.done("assess")
    return build_solution(arr, pairs, v, d, options, status, coverage, int(bound), stats, ph)
