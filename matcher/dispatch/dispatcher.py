"""A plan kept in memory for a dispatch service: repair it, ask who to send, ask why.

A service creates one :class:`Dispatcher` per plan (a district's night plan,
say) and calls it all day. The dispatcher keeps what the solve built, the
problem's arrays and candidate pairs, and updates them with each repair
(:mod:`matcher.engine.update`), so a repair after a local change takes a fraction of a
second on a district instead of the seconds of building them again.

It is safe to share between threads: repairs run one at a time, each replacing
the plan in one step, and questions (:meth:`Dispatcher.recommend`,
:meth:`Dispatcher.explain_demand`) read whichever plan is current when they
start. A repair that fails (a bad change) leaves the plan as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from matcher.dispatch.explain import (
    DemandExplanation,
    Surroundings,
    VolunteerExplanation,
    demand_explanation,
    explain_volunteer,
)
from matcher.dispatch.recommend import Recommendation, recommendations
from matcher.dispatch.repair import repair_workspace
from matcher.dispatch.workspace import Workspace
from matcher.engine.candidates import Searched, complete_pairs
from matcher.engine.context import Cancel
from matcher.engine.pipeline import solve_keeping
from matcher.model import Change, Demand, Problem, Solution, SolveOptions

__all__ = ["Dispatcher"]


class Dispatcher:
    """A solved plan that a dispatch service repairs and questions all day.

    Parameters
    ----------
    problem
        The problem.
    options
        Settings for the first solve and every repair (default: ``problem.options``, else defaults).
    solution
        A plan to start from (e.g. last night's run); default: solve ``problem`` now. When the time limit
        ended that solve's candidate search (``solution.stats.not_searched_demands``), the rest is searched
        before the desk is ready, past the limit: repairs need every candidate pair.
        A given plan's arrays are built once here (seconds on a district). It is checked, never
        trusted: assignments that name unknown records or break a hard rule are dropped and listed in
        ``solution.warnings``, and its bound is the engine's own (see :meth:`Workspace.of`).
    cancel
        Cooperative cancellation of the first solve (see :func:`matcher.solve`).

    Examples
    --------
    >>> from matcher import Dispatcher, VolunteerUnavailable, generate_problem
    >>> desk = Dispatcher(generate_problem("community", seed=1))
    >>> who = desk.solution.assignments[0].volunteer_id
    >>> fixed = desk.repair([VolunteerUnavailable(volunteer_id=who)])
    >>> who in {a.volunteer_id for a in fixed.assignments}
    False

    """

    def __init__(self, problem: Problem, options: SolveOptions | None = None, *, solution: Solution | None = None,
                 cancel: Cancel | None = None) -> None:
        self.options = options or problem.options or SolveOptions()
        if solution is None:
            solved = solve_keeping(problem, self.options, cancel=cancel)
            # a repair needs every candidate pair: those of the demands the clock left unreached are found now
            pairs = complete_pairs(solved.arr, Searched(solved.pairs, solved.not_searched))
            self._ws = Workspace(problem, solved.solution, solved.arr, pairs, solved.v, solved.d)
        else:
            self._ws = Workspace.of(problem, solution, self.options)
        self._lock = threading.Lock()
        self._revision = 0

    @property
    def problem(self) -> Problem:
        """The current problem (every change applied so far)."""
        return self._ws.problem

    @property
    def solution(self) -> Solution:
        """The current plan."""
        return self._ws.solution

    @property
    def revision(self) -> int:
        """How many repairs the plan has had."""
        return self._revision

    def snapshot(self) -> tuple[Problem, Solution]:
        """The current problem and plan, read together (another thread may repair in between two reads)."""
        ws = self._ws
        return ws.problem, ws.solution

    def repair(self, changes: Sequence[Change] | Sequence[dict[str, object]], *,
               cancel: Cancel | None = None) -> Solution:
        """Apply the changes and repair the plan (see :func:`matcher.repair`); the repaired plan becomes current.

        ``cancel`` stops the region's solve early (its best feasible answer stands).

        Raises
        ------
        ProblemError
            A change that names something unknown, or leaves the problem invalid (the plan is unchanged).
        PinnedError
            When the pinned assignments break a hard rule after the changes (the plan is unchanged).

        """
        with self._lock:
            ws = repair_workspace(self._ws, changes, self.options, cancel=cancel)
            self._ws = ws
            self._revision += 1
        return ws.solution

    def recommend(self, demand: Demand | str, k: int = 5) -> list[Recommendation]:
        """The best ``k`` volunteers to send to a demand of the plan, or a new one (see :func:`matcher.recommend`)."""
        ws = self._ws
        return recommendations(ws.problem, ws.solution, demand, k, self.options, Surroundings(ws.problem, ws.arr))

    def explain_demand(self, demand_id: str) -> DemandExplanation:
        """Why a demand's seats are filled or not (see :func:`matcher.explain_demand`)."""
        ws = self._ws
        return demand_explanation(ws.problem, ws.solution, demand_id, Surroundings(ws.problem, ws.arr))

    def explain_volunteer(self, volunteer_id: str) -> VolunteerExplanation:
        """A volunteer's assignments and their score parts (see :func:`matcher.explain_volunteer`)."""
        problem, solution = self.snapshot()
        return explain_volunteer(problem, solution, volunteer_id, self.options)
