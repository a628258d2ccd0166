"""The ledger in a nightly run: what it changes in the problem, and the tables it adds to the run folder.

A run (``matcher run --out RUNS``) reads ``RUNS/ledger.sqlite`` when it exists
(:func:`apply_ledger`, as of the run's start) and

- sets each volunteer's ``recent_hours`` to the hours the ledger recorded for them in the
  last ``recent_days`` days (30 by default), where the ledger knows the volunteer (any record);
  the others keep the input's value. A warning says so when this replaces typed-in values;
- adds the ledger's ratings to ``Problem.ratings`` (those of the last year, and every 1-2 star
  rating on a series), so that rule 12 and the quality term see them. A rating the input gives
  for the same volunteer and demand wins.

:func:`problem_with_ledger` does both, as a pure function of the problem and a
:class:`~matcher.io.ledger_store.LedgerState`. Every run then writes two tables (:func:`ledger_tables`):

``volunteers_ledger.csv``, one row per volunteer of the input, by id:

=====================  ===================================================================================
``hours_in_plan``      hours of the demands this plan sends them to
``tasks_in_plan``      how many
``hours_to_date``      hours of service recorded in the ledger (up to the run's start)
``star_level``         0-5: 100 / 300 / 600 / 1,000 / 1,500 hours to date for one to five stars
``hours_to_next_star`` hours still to serve for the next star (empty at five stars)
``points``             time-bank points: hours to date x ``points_per_hour`` (default 1)
``rating_mean``        mean stars of their recorded ratings (empty when none), and ``ratings``, how many
``recent_hours``       the value the solve used, and ``recent_hours_from``: ``ledger`` or ``input``
=====================  ===================================================================================

Hours are exact (the ledger keeps microseconds) and shown with two decimals rounded down, so a
volunteer shown with 100.00 hours has reached them; ``hours_to_next_star`` is rounded up (0.01 when
a microsecond is missing). Points are rounded down to the hundredth, in exact decimal arithmetic.
Before the first ``matcher rate`` the ledger is empty (no file yet): everyone has 0 hours to date.
With ``--no-ledger`` the ledger's columns are empty.

``services.csv``, one row per demand of the input: ``demand_id, series_id, start, end, hours`` and
the ``volunteers`` this plan sends (``;``-joined). ``matcher rate`` resolves a rating's demand and
volunteer against it and the ids of ``volunteers_ledger.csv``, so a run folder alone is enough.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from matcher.engine.types import US_PER_HOUR, duration_us
from matcher.io import is_database_url
from matcher.io.ledger_store import LEDGER_FILE, LedgerState, open_ledger
from matcher.model import STAR_HOURS, LedgerSettings, Problem, Solution
from matcher.workflows.outputs import Table

__all__ = ["LEDGER_TABLES", "apply_ledger", "hours_text", "ledger_tables", "next_star_us", "points",
           "problem_with_ledger", "star_level"]

log = logging.getLogger(__name__)

LEDGER_TABLES = ("volunteers_ledger", "services")
"""The tables a run adds for the ledger (``NAME.csv`` in the run folder)."""

VOLUNTEER_COLUMNS = ["volunteer_id", "hours_in_plan", "tasks_in_plan", "hours_to_date", "star_level",
                     "hours_to_next_star", "points", "rating_mean", "ratings", "recent_hours", "recent_hours_from"]
SERVICE_COLUMNS = ["demand_id", "series_id", "start", "end", "hours", "volunteers"]


def star_level(served_us: int) -> int:
    """The star level (0-5) of ``served_us`` microseconds of recorded service (:data:`~matcher.model.STAR_HOURS`)."""
    return sum(served_us >= h * US_PER_HOUR for h in STAR_HOURS)


def next_star_us(served_us: int) -> int | None:
    """Microseconds still to serve for the next star; ``None`` at five stars."""
    level = star_level(served_us)
    return None if level == len(STAR_HOURS) else STAR_HOURS[level] * US_PER_HOUR - served_us


def hours_text(us: int, *, up: bool = False) -> str:
    """``us`` microseconds as hours with two decimals, rounded down (``up``: rounded up), exactly: ``"12.50"``."""
    hundredths = -(-us * 100 // US_PER_HOUR) if up else us * 100 // US_PER_HOUR
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def points(served_us: int, per_hour: Decimal) -> Decimal:
    """Time-bank points for ``served_us`` microseconds at ``per_hour`` points an hour (at most 2 decimals).

    Exact: rounded down to the hundredth, with no float on the way (``per_hour`` is a :class:`~decimal.Decimal`).

    Raises
    ------
    ValueError
        When ``per_hour`` has more than two decimals.

    """
    cents = per_hour * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"points per hour must have at most two decimals, not {per_hour}")
    return Decimal(served_us * int(cents) // US_PER_HOUR) / 100


def problem_with_ledger(problem: Problem, ledger: LedgerState) -> Problem:
    """``problem`` with the ledger's recent hours and ratings, as of ``ledger.as_of`` (a pure function).

    Each volunteer the ledger knows gets ``recent_hours`` = their recorded hours in the last
    ``ledger.settings.recent_days`` days; the others keep theirs. ``ratings`` gains the ledger's ratings of
    this problem's volunteers, except for pairs (volunteer, demand) the problem rates itself.
    """
    volunteers = tuple(
        v.model_copy(update={"recent_hours": float(Decimal(ledger.volunteers[v.id].recent_us) / US_PER_HOUR)})
        if v.id in ledger.volunteers else v for v in problem.volunteers)
    ids = {v.id for v in problem.volunteers}
    given = {(r.volunteer_id, r.demand_id) for r in problem.ratings if r.demand_id is not None}
    added = tuple(r for r in ledger.ratings if r.volunteer_id in ids and (r.volunteer_id, r.demand_id) not in given)
    # the records are the problem's own, with a number of hours changed and ratings of known volunteers added
    return problem.replace(validate=False, volunteers=volunteers, ratings=(*problem.ratings, *added))


def apply_ledger(problem: Problem, out_root: str | Path, ledger: str | Path | bool, as_of: datetime
                 ) -> tuple[Problem, LedgerState | None, dict[str, Any]]:
    """A run's use of the ledger: the problem it solves, the ledger's state, and the manifest's ``ledger`` entry.

    ``ledger`` is ``True`` (``OUT_ROOT/ledger.sqlite`` when it exists), a file or database URL, or ``False``
    (not read: the problem is returned as it is).

    Raises
    ------
    ProblemError
        When the ledger cannot be read (a file that is not a ledger, a ledger of another version).

    """
    if ledger is False:
        return problem, None, {"read": False, "why": "not asked to (--no-ledger)"}
    if ledger is True:  # beside the runs: in their folder, or in their database's ledger_* tables
        where: str | Path = str(out_root) if is_database_url(out_root) else Path(out_root) / LEDGER_FILE
    else:
        where = ledger
    store = open_ledger(where, create=False)
    if store is None:  # (an empty ledger: nobody has hours yet)
        log.info("no ledger at %s yet: recent_hours and ratings are the input's", where)
        state = LedgerState(str(where), as_of, LedgerSettings(), {}, (), 0, None)
    else:
        try:
            state = store.state(as_of)
        finally:
            store.close()
    solved = problem_with_ledger(problem, state)
    known = [v for v in problem.volunteers if v.id in state.volunteers]
    typed = [v for v, new in zip(problem.volunteers, solved.volunteers)
             if v.id in state.volunteers and v.recent_hours not in (0.0, new.recent_hours)]
    warnings: list[str] = []
    if typed:
        warnings.append(f"recent_hours of {len(typed)} volunteer(s) taken from the ledger ({state.where}, the last "
                        f"{state.settings.recent_days} days) instead of the input's values, e.g. {typed[0].id!r}: "
                        f"{typed[0].recent_hours:g} in the input; --no-ledger keeps the input's")
    if state.volunteers and not known:
        warnings.append(f"the ledger {state.where} knows none of this input's volunteers: is it the ledger of "
                        "another place?")
    for w in warnings:
        log.warning("%s", w)
    if warnings:
        solved = solved.replace(validate=False, warnings=(*solved.warnings, *warnings))
    added = len(solved.ratings) - len(problem.ratings)
    if store is not None:  # (with no ledger yet, the line above said so)
        log.info("ledger %s: recent_hours of %d volunteer(s) from the ledger, %d rating(s) added", state.where,
                 len(known), added)
    return solved, state, {
        "read": store is not None, "where": state.where, "as_of": state.as_of.isoformat(timespec="seconds"),
        "recent_days": state.settings.recent_days, "points_per_hour": str(state.settings.points_per_hour),
        "records": state.records, "last_recording": state.last_recording,
        "recent_hours_from_ledger": len(known), "recent_hours_from_input": len(problem.volunteers) - len(known),
        "ratings_added": added,
    }


def ledger_tables(problem: Problem, solution: Solution, ledger: LedgerState | None) -> dict[str, Table]:
    """``volunteers_ledger`` and ``services`` (see the module docstring) of a solved problem, keyed by file stem.

    ``problem`` is the problem that was solved (with the ledger's recent hours); ``ledger`` ``None`` leaves the
    ledger's columns empty.
    """
    demands = {d.id: d for d in problem.demands}
    plan_us: dict[str, int] = defaultdict(int)
    tasks: dict[str, int] = defaultdict(int)
    sent: dict[str, list[str]] = defaultdict(list)
    length = {d.id: duration_us(d.start, d.end) for d in problem.demands}
    for a in solution.assignments:
        plan_us[a.volunteer_id] += length[a.demand_id]
        tasks[a.volunteer_id] += 1
        sent[a.demand_id].append(a.volunteer_id)
    rows: list[list[Any]] = []
    for v in sorted(problem.volunteers, key=lambda v: v.id):
        row: list[Any] = [v.id, hours_text(plan_us[v.id]), tasks[v.id]]
        if ledger is None:
            row += ["", "", "", "", "", "", _as_written(v.recent_hours), "input"]
        else:
            t = ledger.volunteers.get(v.id)
            served = t.served_us if t else 0
            to_next = next_star_us(served)
            rated = t.stars_count if t else 0
            mean = "" if not t or not rated else _mean(t.stars_sum, rated)
            recent = (hours_text(t.recent_us), "ledger") if t else (_as_written(v.recent_hours), "input")
            row += [hours_text(served), star_level(served), "" if to_next is None else hours_text(to_next, up=True),
                    f"{points(served, ledger.settings.points_per_hour):.2f}", mean, rated, *recent]
        rows.append(row)
    services = [[d.id, d.series_id or "", d.start.isoformat(), d.end.isoformat(), hours_text(length[d.id]),
                 ";".join(sorted(sent[d.id]))] for d in demands.values()]
    return {"volunteers_ledger": (list(VOLUNTEER_COLUMNS), rows), "services": (list(SERVICE_COLUMNS), services)}


def _mean(stars_sum: int, count: int) -> str:
    """The mean of ``count`` ratings adding up to ``stars_sum``, to the hundredth (halves up), exactly."""
    hundredths = (200 * stars_sum + count) // (2 * count)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _as_written(hours: float) -> str:
    """An hours value of the input as it was written (``4.1``, ``0``)."""
    return format(Decimal(repr(float(hours))).normalize(), "f")

