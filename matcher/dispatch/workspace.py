"""A plan with its problem's arrays and candidate pairs (:class:`Workspace`), and changes applied to a problem.

:func:`apply_changes` applies a list of changes (:mod:`matcher.model.changes`)
to a problem, validating only what the changes bring, so that a district is not
checked whole again for every cancellation. A :class:`Workspace` is what a
repair starts from and returns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import AwareDatetime

from matcher.engine.arrays import ProblemArrays, build_arrays
from matcher.engine.candidates import Pairs, candidate_pairs
from matcher.engine.plans import given_plan_solution, usable_plan
from matcher.engine.types import I64
from matcher.errors import ProblemError
from matcher.model import (
    Assignment,
    Change,
    Demand,
    DemandAdded,
    DemandChanged,
    DemandWithdrawn,
    PairForbidden,
    Problem,
    Solution,
    SolveOptions,
    Volunteer,
    VolunteerUnavailable,
    Window,
    parse_changes,
)

__all__ = ["Workspace", "apply_changes"]

log = logging.getLogger(__name__)


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



def apply_changes(problem: Problem, changes: Sequence[Change] | Sequence[dict[str, object]], *,
                  volunteer_index: Mapping[str, int] | None = None) -> tuple[Problem, set[str], set[str]]:
    """The problem after the changes, and the ids of the volunteers and demands they touch.

    ``changes`` may be :data:`Change` objects or plain dicts with a ``kind``.

    Only what the changes bring is validated (a new or changed demand's area,
    preferred volunteers and taxonomy codes; the ids a change names), so this
    stays fast on a district: the rest of the problem was valid already.
    ``volunteer_index`` (id -> position in ``problem.volunteers``) saves building it.

    Raises
    ------
    ProblemError
        Naming the change (``changes[i]``) that refers to something unknown or makes the problem invalid.

    """
    vidx = volunteer_index if volunteer_index is not None else {v.id: i for i, v in enumerate(problem.volunteers)}
    vols = _Volunteers(problem.volunteers, vidx)
    dems = {d.id: d for d in problem.demands}
    forbidden = list(problem.forbidden)
    pinned = list(problem.pinned)
    touched_v: set[str] = set()
    touched_d: set[str] = set()
    errors: list[str] = []
    for i, c in enumerate(parse_changes(changes, timezone=problem.timezone)):
        where = f"changes[{i}] ({c.kind})"
        if isinstance(c, VolunteerUnavailable):
            if c.volunteer_id not in vols:
                raise ProblemError([f"{where}.volunteer_id: unknown volunteer {c.volunteer_id!r}"])
            v = vols[c.volunteer_id]
            vols[v.id] = v.model_copy(update={"availability": _cut(v.availability, c.start, c.end)})
            touched_v.add(v.id)
        elif isinstance(c, DemandAdded | DemandChanged):
            if isinstance(c, DemandAdded) and c.demand.id in dems:
                raise ProblemError([f"{where}.demand.id: demand {c.demand.id!r} already exists"])
            if isinstance(c, DemandChanged) and c.demand.id not in dems:
                raise ProblemError([f"{where}.demand.id: unknown demand {c.demand.id!r}"])
            errors += _demand_errors(f"{where}.demand", c.demand, problem, vols)
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
    if errors:
        raise ProblemError(errors)
    live = set(dems)

    def alive(pairs: Sequence[Assignment]) -> tuple[Assignment, ...]:
        return tuple(dict.fromkeys(a for a in pairs if a.demand_id in live))

    # every record is valid on its own and every reference was checked above: no need to validate it all again
    new = problem.replace(validate=False, volunteers=vols.records(), demands=tuple(dems.values()),
                          pinned=alive(pinned), forbidden=alive(forbidden), previous=alive(problem.previous))
    return new, touched_v, touched_d


class _Volunteers:
    """A problem's volunteers by id, copied only when one is replaced."""

    def __init__(self, records: tuple[Volunteer, ...], index: Mapping[str, int]) -> None:
        self._records = records
        self._list: list[Volunteer] | None = None
        self._index = index

    def __contains__(self, vid: object) -> bool:
        return vid in self._index

    def __getitem__(self, vid: str) -> Volunteer:
        return (self._list or self._records)[self._index[vid]]

    def __setitem__(self, vid: str, record: Volunteer) -> None:
        if self._list is None:
            self._list = list(self._records)
        self._list[self._index[vid]] = record

    def records(self) -> tuple[Volunteer, ...]:
        return self._records if self._list is None else tuple(self._list)


def _demand_errors(where: str, d: Demand, problem: Problem, vols: _Volunteers) -> list[str]:
    """What a new or changed demand refers to that the problem does not have (the checks of ``Problem``)."""
    errors = []
    if d.area_id is not None and d.area_id not in {a.id for a in problem.areas}:
        errors.append(f"{where}.area_id: unknown area {d.area_id!r}")
    errors += [f"{where}.preferred_volunteers: unknown volunteer {v!r}" for v in d.preferred_volunteers
               if v not in vols]
    tax = problem.resolved_taxonomy()
    if tax is not None:
        if d.category not in tax.category_codes():
            errors.append(f"{where}.category: {d.category!r} is not in taxonomy {tax.name!r}")
        errors += [f"{where}.required_skills: {s!r} is not a skill of taxonomy {tax.name!r}"
                   for s in d.required_skills if s not in tax.skill_codes()]
    return errors


@dataclass(frozen=True, eq=False)
class Workspace:
    """A plan with the arrays and candidate pairs of its problem: what a repair starts from and returns.

    A repair updates the arrays and pairs for the records the changes touch
    (:mod:`matcher.update`) instead of building them again, so a service that
    keeps the workspace (:class:`matcher.Dispatcher` does) repairs a district in
    a fraction of a second.
    """

    problem: Problem
    solution: Solution
    arr: ProblemArrays
    pairs: Pairs
    v: I64
    """The assignments as volunteer rows of ``arr`` ..."""
    d: I64
    """... and demand rows."""

    @classmethod
    def of(cls, problem: Problem, solution: Solution, options: SolveOptions | None = None) -> Workspace:
        """A workspace for a plan given from outside, which is checked, never trusted.

        Its assignments that name unknown records or break a hard rule are dropped
        (:func:`matcher.engine.plans.usable_plan`), each reported in the new
        solution's ``warnings``; the problem's pinned pairs are added. The
        solution is reported afresh: coverage counted, the bound the seats each
        demand has candidates for, ``optimal`` only when they meet.
        """
        opts = options or problem.options or SolveOptions()
        arr = build_arrays(problem)
        pairs = candidate_pairs(arr)
        plan = usable_plan(arr, solution.assignments)
        for line in plan.dropped:
            log.warning("given plan: %s", line)
        fresh, v, d = given_plan_solution(arr, pairs, plan, opts, warnings=problem.warnings)
        return cls(problem, fresh, arr, pairs, v, d)
