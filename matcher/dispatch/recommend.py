"""Who to send to one new or unfilled demand, and what sending them costs the current plan.

:func:`recommend` looks at every volunteer who may serve the demand (SPEC
rules 1-5, checked as in :mod:`matcher.dispatch.explain`) and prices sending them
against the current solution:

- a **free** volunteer costs only the secondary objective's increase: travel,
  recent hours, the next step of their load (``load_weight * (2k + 1)`` for a
  volunteer with ``k`` tasks), less the continuity bonus when the household
  prefers them;
- a volunteer whose capacity is used must **leave** some tasks: every
  overlapping one, then the least valuable until their task and hour caps
  hold. Each seat left is offered to another near volunteer who is free for it
  (greedily, most valuable first); the seats nobody takes are coverage lost.

The ranking is by coverage gained (the demand's weight less what is lost),
then fewer changed assignments, then secondary cost. The first choice for a
free seat is the one a full re-solve that keeps the rest of the plan would
make (tests check this against :func:`matcher.solve`). Prices involving a
refill are estimates (``exact`` is False): a full re-solve might find a
better reshuffle.

A demand with several open seats gets one **consistent set** first: seat 1's
volunteer, then seat 2's priced with seat 1 filled as recommended, and so on;
no volunteer is sent, or takes a seat over, twice, so the whole set can be
carried out together (a list of individual best moves could each use the same
free neighbour). The remaining places of the ``k`` are alternates
(``seat`` is ``None``), each priced on its own against the current plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from matcher.dispatch.explain import Exclusion, Surroundings, exclusion, plan_of, service_us
from matcher.engine.types import duration_us, hours_us
from matcher.errors import ProblemError
from matcher.model import Demand, Problem, Solution, SolveOptions, Volunteer

__all__ = ["Recommendation", "recommend"]

USABLE = {Exclusion.FREE, Exclusion.BUSY, Exclusion.NO_TIME_TO_TRAVEL, Exclusion.TASKS_USED, Exclusion.HOURS_USED}


class Recommendation(BaseModel):
    """One volunteer to send, and what it costs the current plan."""

    model_config = ConfigDict(frozen=True)

    rank: int
    volunteer_id: str
    travel_km: float
    coverage_gain: int
    """The demand's coverage weight less the coverage lost elsewhere."""
    coverage_lost: int
    leaves: tuple[str, ...]
    """Demands the volunteer must leave to take this one."""
    refilled_by: dict[str, str]
    """Of those, the ones another volunteer takes over: demand -> volunteer."""
    changes: int
    """Existing assignments that change: the ones left, plus the takeovers."""
    secondary_points: float
    """Increase of the secondary objective for this volunteer's part (travel, recent hours, load, continuity)."""
    tasks_after: int
    exact: bool
    """True when nothing else moves (a free volunteer): the price is exact."""
    seat: int | None = None
    """For the demand's open seats, one consistent set: seat ``i``'s price assumes seats ``1..i-1`` filled as
    recommended (no volunteer sent, or taking a seat over, twice). ``None``: an alternate, priced on its own
    against the current plan."""

    def text(self) -> str:
        """One line for a dispatcher."""
        head = f"seat {self.seat}" if self.seat is not None else "or"
        out = (f"{self.rank}. {head}: {self.volunteer_id}: {self.travel_km:.2f} km, +{self.coverage_gain} coverage, "
               f"+{self.secondary_points:.2f} pt, {self.tasks_after} task(s) after")
        if self.leaves:
            moved = ", ".join(f"{d} -> {self.refilled_by[d]}" if d in self.refilled_by else f"{d} unfilled"
                              for d in self.leaves)
            out += f"; leaves {moved} (lost {self.coverage_lost})"
        return out


def recommend(problem: Problem, solution: Solution, demand: Demand | str, k: int = 5,
              options: SolveOptions | None = None) -> list[Recommendation]:
    """The best ``k`` volunteers to send to ``demand`` (an id of the problem, or a new :class:`Demand`).

    Raises
    ------
    ProblemError
        An unknown demand id, a new demand whose id is taken or whose area is unknown, or a solution that
        names records the problem does not have.

    """
    plan_of(problem, solution)
    return recommendations(problem, solution, demand, k, options, Surroundings(problem))


def recommendations(problem: Problem, solution: Solution, demand: Demand | str, k: int,
                    options: SolveOptions | None, around: Surroundings) -> list[Recommendation]:
    """:func:`recommend` with the volunteers' places already at hand (a :class:`matcher.Dispatcher` has them)."""
    opts = options or problem.options or SolveOptions()
    demands = {d.id: d for d in problem.demands}
    if isinstance(demand, str):
        if demand not in demands:
            raise ProblemError([f"demand: no demand {demand!r}"])
        d = demands[demand]
    else:
        d = demand
        if d.id in demands:
            raise ProblemError([f"demand.id: {d.id!r} is already a demand of the problem; pass its id instead"])
        if d.area_id is not None and d.area_id not in {a.id for a in problem.areas}:
            raise ProblemError([f"demand.area_id: unknown area {d.area_id!r}"])
        demands = {**demands, d.id: d}
    if k < 1:
        raise ProblemError(["k: must be at least 1"])
    weights = opts.priority_weights
    pinned = {(a.volunteer_id, a.demand_id) for a in problem.pinned}
    tasks: dict[str, list[str]] = {}
    for a in solution.assignments:
        tasks.setdefault(a.volunteer_id, []).append(a.demand_id)
    filled: dict[str, int] = {}
    for a in solution.assignments:
        filled[a.demand_id] = filled.get(a.demand_id, 0) + 1
    free_cache: dict[str, list[tuple[float, str]]] = {}

    def free_for(t: str) -> list[tuple[float, str]]:
        """Volunteers free for demand ``t`` in the current plan, nearest first (computed once per demand)."""
        if t not in free_cache:
            dt = demands[t]
            free_cache[t] = sorted(
                (km, u.id) for u, km in around.near(*around.place(dt))
                if exclusion(u, dt, around.facts(u, dt, km), demands, tasks.get(u.id, []), around)[0]
                is Exclusion.FREE)
        return free_cache[t]

    def price(v: Volunteer, km: float, plan: dict[str, list[str]], moved: set[str]) -> Recommendation | None:
        """Sending ``v`` to ``d`` in ``plan``, its left seats refilled by free volunteers not in ``moved``."""
        mine = plan.get(v.id, [])
        if exclusion(v, d, around.facts(v, d, km), demands, mine, around)[0] not in USABLE:
            return None
        leaves = _to_leave(v, d, mine, demands, pinned, around)
        if leaves is None:
            return None  # only pinned tasks stand in the way
        refilled: dict[str, str] = {}
        used = {v.id} | moved
        for t in sorted(leaves, key=lambda t: (-demands[t].priority, t)):  # each seat left, most valuable first
            taker = next((uid for _, uid in free_for(t) if uid not in used), None)
            if taker is not None:
                refilled[t] = taker
                used.add(taker)
        lost = sum(weights[demands[t].priority] for t in leaves if t not in refilled)
        n_after = len(mine) - len(leaves) + 1
        secondary = (opts.travel_weight * km + opts.recent_hours_weight * v.recent_hours
                     + opts.load_weight * (n_after**2 - len(mine) ** 2)
                     - (opts.continuity_weight if v.id in d.preferred_volunteers else 0.0))
        return Recommendation(
            rank=0, volunteer_id=v.id, travel_km=round(km, 4), coverage_gain=weights[d.priority] - lost,
            coverage_lost=lost, leaves=tuple(leaves), refilled_by=refilled, changes=len(leaves) + len(refilled),
            secondary_points=round(secondary, 6), tasks_after=n_after, exact=not leaves)

    def best_first(recs: list[Recommendation]) -> list[Recommendation]:
        return sorted(recs, key=lambda r: (-r.coverage_gain, r.changes, r.secondary_points, r.volunteer_id))

    near = around.near(*around.place(d))
    alone = best_first([r for v, km in near if (r := price(v, km, tasks, set())) is not None])
    # the open seats get one consistent set: each seat is priced with the ones before it filled as recommended,
    # and no volunteer is sent, or takes a seat over, twice
    plan = {vid: list(ts) for vid, ts in tasks.items()}
    moved: set[str] = set()
    chosen: list[Recommendation] = []
    for seat in range(1, min(d.headcount - filled.get(d.id, 0), k) + 1):
        options_now = best_first([r for v, km in near if v.id not in moved
                                  and (r := price(v, km, plan, moved)) is not None])
        if not options_now:
            break
        pick = options_now[0].model_copy(update={"seat": seat})
        chosen.append(pick)
        plan[pick.volunteer_id] = [t for t in plan.get(pick.volunteer_id, []) if t not in pick.leaves] + [d.id]
        for t, taker in pick.refilled_by.items():
            plan.setdefault(taker, []).append(t)
        moved |= {pick.volunteer_id, *pick.refilled_by.values()}
    sent = {r.volunteer_id for r in chosen}
    alternates = [r for r in alone if r.volunteer_id not in sent][:k - len(chosen)]
    return [r.model_copy(update={"rank": i + 1}) for i, r in enumerate(chosen + alternates)]


def _to_leave(v: Volunteer, d: Demand, mine: Sequence[str], demands: dict[str, Demand],
              pinned: set[tuple[str, str]], around: Surroundings) -> list[str] | None:
    """The tasks ``v`` must leave for ``d``: the clashing ones (rules 7, 7b), then the least valuable for the caps."""
    clash = [t for t in mine if _clash(v, demands[t], d, around)]
    rest = sorted((t for t in mine if t not in clash),
                  key=lambda t: (demands[t].priority, -service_us(demands[t]), t))
    leave = list(clash)

    def over() -> bool:
        kept = [t for t in mine if t not in leave]
        return len(kept) + 1 > v.max_tasks or sum(service_us(demands[t]) for t in kept) + service_us(d) \
            > hours_us(v.max_hours)

    while rest and over():
        leave.append(rest.pop(0))
    if over() or any((v.id, t) in pinned for t in leave):
        return None
    return leave


def _clash(v: Volunteer, t: Demand, d: Demand, around: Surroundings) -> bool:
    """Whether ``v`` cannot do both ``t`` and ``d``: they overlap, or the gap is shorter than the trip."""
    if t.start < d.end and d.start < t.end:
        return True
    first, then = (t, d) if t.end <= d.start else (d, t)
    return duration_us(first.end, then.start) < around.trip_us(v, first, then)
