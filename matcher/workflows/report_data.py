"""What ``report.html`` shows, as plain JSON-ready data: built from a problem, its solution and the arrays.

:func:`run_payload` gathers a run's summary, per-area numbers, the week by
hour, the rosters (per volunteer and per team) and the explanation of every
unmet order (:func:`~matcher.workflows.report_explain.explain_unmet`).
Records are never copied whole: each field the page shows is picked here by
name, so a column added to the input later (a name, a phone) reaches the page
only through :class:`PersonalColumns`, and only with ``ReportOptions.personal``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.engine.arrays import ProblemArrays, build_arrays
from matcher.engine.types import I64, US_PER_HOUR
from matcher.model import Problem, Solution, Taxonomy, UnmetReason, builtin_taxonomy
from matcher.workflows.report_explain import EXCLUSIONS, NOTES_PER_DEMAND, explain_unmet
from matcher.workflows.report_text import EXCLUSION_NAMES, WEEKDAYS, Lang, reason_text

__all__ = ["PersonalColumns", "ReportOptions", "RunInputs", "area_rows", "category_names", "demand_offsets_min",
           "run_payload", "task_rows", "week_heat"]

PersonalColumns = Mapping[str, Mapping[str, Mapping[str, str]]]
"""Personal columns by table (``"volunteers"``, ``"demands"``), then record id, then column name: ``value``."""

_US_PER_MINUTE = 60_000_000


@dataclass(frozen=True)
class ReportOptions:
    """How ``report.html`` is written."""

    lang: Lang = "zh"
    """``"zh"`` (default) or ``"en"``: labels, and category names from the taxonomy's ``name_zh`` / ``name``."""
    personal: bool = False
    """Include :class:`PersonalColumns` (names, phones) in the rosters; by default they are left out."""
    notes: int = NOTES_PER_DEMAND
    """Near volunteers listed in each unmet order's explanation."""


@dataclass(frozen=True)
class RunInputs:
    """A solved problem, with what the solve built (optional: built again when absent)."""

    problem: Problem
    solution: Solution
    arrays: ProblemArrays | None = None
    tasks: tuple[I64, I64] | None = None
    """The plan as rows of ``arrays``: ``solution.assignments[i]`` is ``(tasks[0][i], tasks[1][i])``."""
    personal: PersonalColumns = field(default_factory=dict)
    title: str = ""


def category_names(problem: Problem, lang: Lang) -> dict[str, str]:
    """Display names of category codes: the problem's taxonomy, else the shipped one (unknown codes: themselves)."""
    tax: Taxonomy | None = problem.resolved_taxonomy()
    return (tax or builtin_taxonomy()).category_names(lang)


def task_rows(arr: ProblemArrays, solution: Solution) -> tuple[I64, I64]:
    """The plan's assignments as (volunteer rows, demand rows) of ``arr``."""
    vi, di = arr.volunteer_index, arr.demand_index
    n = len(solution.assignments)
    return (np.fromiter((vi[a.volunteer_id] for a in solution.assignments), dtype=np.int64, count=n),
            np.fromiter((di[a.demand_id] for a in solution.assignments), dtype=np.int64, count=n))


def demand_offsets_min(problem: Problem) -> I64:
    """Each demand's UTC offset in minutes (its local time is the time as written in the input)."""
    offsets = (d.start.utcoffset() for d in problem.demands)
    return np.fromiter((int(o.total_seconds()) // 60 if o is not None else 0 for o in offsets), dtype=np.int64,
                       count=len(problem.demands))


def week_heat(arr: ProblemArrays, offsets_min: I64, unmet_seats: I64) -> dict[str, list[list[int]]]:
    """Weekday (Monday first) x hour grids of unmet seats and of volunteers free, in the demands' local time.

    ``unmet``: each demand's unmet seats counted in every hour its window
    touches. ``free``: volunteers whose merged availability touches the hour,
    summed over the dates of that weekday within the demands' horizon.
    Windows use the most common demand offset. Shapes: 7 lists of 24 ints.
    """
    unmet = np.zeros(7 * 24, dtype=np.int64)
    free = np.zeros(7 * 24, dtype=np.int64)
    if arr.nd == 0:
        return {"unmet": unmet.reshape(7, 24).tolist(), "free": free.reshape(7, 24).tolist()}
    off_us = offsets_min * _US_PER_MINUTE
    first = (arr.d_start + off_us) // US_PER_HOUR  # local hours since the epoch (a Thursday)
    last = -((-(arr.d_end + off_us)) // US_PER_HOUR)  # exclusive
    has = np.flatnonzero(unmet_seats > 0)
    n = (last - first)[has]
    hours = np.repeat(first[has] - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    slot = ((hours // 24 + 3) % 7) * 24 + hours % 24
    np.add.at(unmet, slot, np.repeat(unmet_seats[has], n))
    # volunteers free: +1 at each window's first hour, -1 after its last, within the horizon
    values, counts = np.unique(offsets_min, return_counts=True)
    off = int(values[np.argmax(counts)]) * _US_PER_MINUTE
    h0, h1 = int(first.min()), int(last.max())
    if len(arr.w_vol) and h1 > h0:
        ws = np.clip((arr.w_start_us + off) // US_PER_HOUR, h0, h1) - h0
        we = np.clip(-((-(arr.w_end_us + off)) // US_PER_HOUR), h0, h1) - h0
        line = np.zeros(h1 - h0 + 1, dtype=np.int64)
        np.add.at(line, ws, 1)
        np.add.at(line, we, -1)
        # a volunteer's next window starting in the hour where the last one ended is one volunteer, not two
        again = (arr.w_vol[1:] == arr.w_vol[:-1]) & (ws[1:] < we[:-1])
        np.add.at(line, ws[1:][again], -1)
        np.add.at(line, ws[1:][again] + 1, 1)
        per_hour = np.cumsum(line)[:-1]
        hours = np.arange(h0, h1)
        np.add.at(free, ((hours // 24 + 3) % 7) * 24 + hours % 24, per_hour)
    return {"unmet": unmet.reshape(7, 24).tolist(), "free": free.reshape(7, 24).tolist()}


def _summary(problem: Problem, solution: Solution, filled: I64, unmet_by: dict[str, dict[str, int]],
             names: dict[str, str], lang: Lang) -> dict[str, Any]:
    heads = np.array([d.headcount for d in problem.demands], dtype=np.int64)
    got = np.minimum(filled, heads)
    seats, done = int(heads.sum()), int(got.sum())
    reasons = []
    for r in UnmetReason:
        per = [u.missing for u in solution.unmet if u.reason is r]
        name, todo = reason_text(r.value, lang)
        reasons.append({"code": r.value, "name": name, "todo": todo, "seats": sum(per), "orders": len(per)})
    prio: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tax = problem.resolved_taxonomy() or builtin_taxonomy()
    parent = {s.code: c.code for c in tax.categories for s in c.subcategories}
    for d, h, g in zip(problem.demands, heads.tolist(), got.tolist()):
        for acc in (prio[d.priority], cat[parent.get(d.category, d.category)]):
            acc[0] += h
            acc[1] += g
    return {
        "seats": seats, "filled": done, "unmet": sum(u.missing for u in solution.unmet),
        "fill_rate": done / seats if seats else 1.0, "orders": len(problem.demands),
        "orders_unmet": len(unmet_by), "volunteers": len(problem.volunteers),
        "volunteers_used": len({a.volunteer_id for a in solution.assignments}),
        "status": solution.status.value, "coverage": solution.coverage, "bound": solution.coverage_bound,
        "reasons": reasons,
        "by_priority": [[p, *prio[p]] for p in sorted(prio, reverse=True)],
        "by_category": [[names.get(c, c), *v] for c, v in sorted(cat.items(), key=lambda kv: -kv[1][0])],
    }


def area_rows(problem: Problem, filled: I64, unmet_by: dict[str, dict[str, int]]) -> list[list[Any]]:
    """Per area: id, lat, lon, community, street, seats, filled, then unmet seats per reason (SPEC's order).

    ``filled[i]`` is the seats filled of ``problem.demands[i]``; ``unmet_by`` maps demand id -> reason -> seats.
    """
    index = {a.id: i for i, a in enumerate(problem.areas)}
    area = np.array([index[d.area_id] if d.area_id is not None else -1 for d in problem.demands], dtype=np.int64)
    heads = np.array([d.headcount for d in problem.demands], dtype=np.int64)
    acc = np.zeros((len(problem.areas) + 1, 2 + len(UnmetReason)), dtype=np.int64)  # the last row: no area
    np.add.at(acc[:, 0], area, heads)
    np.add.at(acc[:, 1], area, np.minimum(filled, heads))
    reasons = {r.value: 2 + i for i, r in enumerate(UnmetReason)}
    demand_area = dict(zip((d.id for d in problem.demands), area.tolist()))
    for did, per in unmet_by.items():
        for reason, n in per.items():
            acc[demand_area[did], reasons[reason]] += n
    return [[a.id, a.lat, a.lon, a.community or "", a.street or "", *acc[i].tolist()]
            for i, a in enumerate(problem.areas)]


def run_payload(inputs: RunInputs, options: ReportOptions) -> dict[str, Any]:
    """Everything the run report shows, as JSON-ready data (see the module docstring)."""
    problem, solution, lang = inputs.problem, inputs.solution, options.lang
    arr = inputs.arrays if inputs.arrays is not None else build_arrays(problem)
    tv, td = inputs.tasks if inputs.tasks is not None else task_rows(arr, solution)
    names = category_names(problem, lang)
    unmet_by: dict[str, dict[str, int]] = defaultdict(dict)
    for u in solution.unmet:
        unmet_by[u.demand_id][u.reason.value] = unmet_by[u.demand_id].get(u.reason.value, 0) + u.missing
    filled = np.bincount(td, minlength=arr.nd).astype(np.int64)
    unmet_seats = np.zeros(arr.nd, dtype=np.int64)
    for did, per in unmet_by.items():
        unmet_seats[arr.demand_index[did]] = sum(per.values())
    offsets = demand_offsets_min(problem)
    bare = [arr.demand_index[did] for did, per in unmet_by.items() if UnmetReason.NOT_SEARCHED.value in per]
    notes = explain_unmet(arr, tv, td, np.flatnonzero(unmet_seats), k=options.notes,
                          bare=np.array(bare, dtype=np.int64))
    # the demands and volunteers the page names: the plan, the unmet orders and their notes
    order = np.lexsort((arr.d_start[td], tv))
    tv, td, km = tv[order], td[order], np.array([a.travel_km for a in solution.assignments])[order]
    dem_rows = np.unique(np.concatenate([td, notes.demands, notes.taken]))
    vol_rows = np.unique(np.concatenate([tv, notes.volunteer]))
    dpos = np.full(arr.nd, -1, dtype=np.int64)
    dpos[dem_rows] = np.arange(len(dem_rows))
    vpos = np.full(arr.nv, -1, dtype=np.int64)
    vpos[vol_rows] = np.arange(len(vol_rows))
    area_pos = {a.id: i for i, a in enumerate(problem.areas)}
    cats = sorted({problem.demands[j].category for j in dem_rows.tolist()})
    cat_pos = {c: i for i, c in enumerate(cats)}
    dems = [problem.demands[j] for j in dem_rows.tolist()]
    demands = {
        "id": [d.id for d in dems], "area": [area_pos.get(d.area_id or "", -1) for d in dems],
        "cat": [cat_pos[d.category] for d in dems], "prio": [d.priority for d in dems],
        "start": (arr.d_start[dem_rows] // _US_PER_MINUTE + offsets[dem_rows]).tolist(),
        "end": (arr.d_end[dem_rows] // _US_PER_MINUTE + offsets[dem_rows]).tolist(),
        "head": [d.headcount for d in dems], "filled": filled[dem_rows].tolist(),
    }
    hours = arr.d_duration_us[td] / US_PER_HOUR
    volunteers: dict[str, Any] = {
        "id": [arr.volunteer_ids[i] for i in vol_rows.tolist()], "team": arr.v_team[vol_rows].tolist(),
        "max_tasks": arr.v_max_tasks[vol_rows].tolist(),
        "max_hours": [problem.volunteers[i].max_hours for i in vol_rows.tolist()],
        "tasks": np.bincount(vpos[tv], minlength=len(vol_rows)).tolist(),
        "hours": np.round(np.bincount(vpos[tv], weights=hours, minlength=len(vol_rows)), 2).tolist(),
        "km": np.round(np.bincount(vpos[tv], weights=km, minlength=len(vol_rows)), 2).tolist(),
    }
    given = inputs.personal.get("volunteers", {})
    extra = given if options.personal else {}
    columns = sorted({c for cols in extra.values() for c in cols})
    volunteers["personal"] = {c: [extra.get(i, {}).get(c, "") for i in volunteers["id"]] for c in columns}
    used = np.zeros(len(arr.team_ids) + 1, dtype=np.int64)
    np.add.at(used, arr.v_team[np.unique(tv)], 1)
    teams = {"id": arr.team_ids, "members": np.bincount(arr.v_team[arr.v_team >= 0],
                                                      minlength=len(arr.team_ids)).tolist(),
             "sent": used[:-1].tolist() if len(arr.team_ids) else []}
    # unmet orders, most urgent and earliest first; each names its notes as a range of the notes' columns
    order = np.lexsort((np.arange(len(notes.demands)), arr.d_start[notes.demands], -arr.d_priority[notes.demands]))
    note_start = np.searchsorted(notes.note_of, np.arange(len(notes.demands) + 1))
    skills = sorted({s for row in notes.demands.tolist() for s in problem.demands[row].required_skills})
    skill_pos = {s: i for i, s in enumerate(skills)}
    unmet_rows = [[int(dpos[row]), [[r.value, per[r.value]] for r in UnmetReason if r.value in per], counts, a, b,
                   [skill_pos[s] for s in problem.demands[row].required_skills]]
                  for row, counts, a, b in zip(notes.demands[order].tolist(), notes.counts[order].tolist(),
                                               note_start[order].tolist(), note_start[order + 1].tolist())
                  for per in (unmet_by[arr.demand_ids[row]],)]
    tax = problem.resolved_taxonomy() or builtin_taxonomy()
    skill_names = tax.skill_names(lang)
    note_columns = {"v": vpos[notes.volunteer].tolist(), "km": np.round(notes.km, 2).tolist(),
                    "reason": notes.reason.tolist(), "taken_start": notes.taken_start.tolist(),
                    "taken": dpos[notes.taken].tolist()}
    return {
        "kind": "run", "lang": lang, "title": inputs.title,
        "summary": _summary(problem, solution, filled, unmet_by, names, lang),
        "weekdays": WEEKDAYS[lang],
        "reasons": {r.value: reason_text(r.value, lang)[0] for r in UnmetReason},
        "exclusions": [EXCLUSION_NAMES[e.value][lang] for e in EXCLUSIONS],
        "exclusion_codes": [e.value for e in EXCLUSIONS],
        "areas": {"id": [a.id for a in problem.areas], "community": [a.community or "" for a in problem.areas],
                  "street": [a.street or "" for a in problem.areas]},
        "categories": [names.get(c, c) for c in cats], "skills": [skill_names.get(x, x) for x in skills],
        "demands": demands, "volunteers": volunteers, "teams": teams,
        "tasks": {"v": vpos[tv].tolist(), "d": dpos[td].tolist(), "km": np.round(km, 2).tolist()},
        "unmet": unmet_rows, "notes": note_columns,
        "personal": "included" if columns else "left_out" if any(inputs.personal.values()) else "none",
        "heat": week_heat(arr, offsets, unmet_seats),
    }
