"""A solution as the tables an operator reads, and what a run records about itself.

:func:`result_tables` turns a :class:`~matcher.model.Problem` and its
:class:`~matcher.model.Solution` into plain rows: the assignments (with the
demand's area, category, priority and window), the unmet seats with reasons,
the assignments of a previous plan that were dropped, and coverage with unmet
headcount per area, category and priority. Writing them is
:mod:`matcher.io.durable`'s job (same rows, same bytes; a folder at once).
"""

from __future__ import annotations

import platform
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from matcher.dispatch.explain import Surroundings
from matcher.engine.geometry import distance_km
from matcher.engine.rules import first_broken_record
from matcher.model import Demand, Problem, Solution, UnmetReason

__all__ = ["REASONS", "Table", "category_of", "result_tables", "seats_by_demand", "software_versions", "utc_stamp"]

Table = tuple[list[str], list[list[Any]]]
"""A table: its header and its rows."""

REASONS = [r.value for r in UnmetReason]
"""The unmet reasons, in SPEC's order: one column each in the KPI tables."""


def result_tables(
    problem: Problem, solution: Solution, stale_previous: Iterable[tuple[str, str, str]] = ()
) -> dict[str, Table]:
    """The operator's tables of a solved problem, keyed by file stem.

    ``assignments``, ``unmet``, ``kpi_by_area``, ``kpi_by_category`` and
    ``kpi_by_priority`` always; ``dropped`` (previous assignments not kept,
    with why) when previous assignments were given. ``stale_previous`` lists
    previous assignments that could not be part of the problem at all
    (``volunteer_id, demand_id, why``), e.g. for a demand no longer ordered.
    """
    stale = list(stale_previous)
    demands = {d.id: d for d in problem.demands}
    areas = {a.id: a for a in problem.areas}

    def place(d: Demand) -> tuple[float, float]:
        if d.lat is not None and d.lon is not None:
            return d.lat, d.lon
        area = areas[d.area_id or ""]
        return area.lat, area.lon

    previous = {(a.volunteer_id, a.demand_id) for a in problem.previous}
    chosen = {(a.volunteer_id, a.demand_id) for a in solution.assignments}
    has_prev = bool(problem.previous) or bool(stale)
    rows: list[list[Any]] = []
    for a in solution.assignments:
        d = demands[a.demand_id]
        row = [a.volunteer_id, a.demand_id, d.area_id or "", d.category, d.priority, d.start.isoformat(),
               d.end.isoformat(), f"{a.travel_km:.3f}"]
        if has_prev:
            row.append("kept" if (a.volunteer_id, a.demand_id) in previous else "new")
        rows.append(row)
    head = ["volunteer_id", "demand_id", "area_id", "category", "priority", "start", "end", "travel_km"]
    tables: dict[str, Table] = {"assignments": (head + (["change"] if has_prev else []), rows)}
    tables["unmet"] = (
        ["demand_id", "area_id", "category", "priority", "start", "end", "missing", "reason"],
        [[u.demand_id, demands[u.demand_id].area_id or "", demands[u.demand_id].category,
          demands[u.demand_id].priority, demands[u.demand_id].start.isoformat(),
          demands[u.demand_id].end.isoformat(), u.missing, u.reason.value] for u in solution.unmet],
    )
    if has_prev:
        volunteers = {v.id: v for v in problem.volunteers}
        around = Surroundings(problem)
        dropped = [list(x) for x in stale]
        for p in problem.previous:
            if (p.volunteer_id, p.demand_id) in chosen:
                continue
            if p.demand_id not in demands or p.volunteer_id not in volunteers:
                why = "demand withdrawn" if p.demand_id not in demands else "volunteer withdrawn"
            else:  # a pair that breaks a rule now (the volunteer cancelled those hours, ...) names the rule
                d = demands[p.demand_id]
                vol = volunteers[p.volunteer_id]
                broken = first_broken_record(vol, d, around.facts(vol, d, distance_km(vol, place(d))))
                why = f"no longer possible: {broken.message}" if broken else "reassigned"
            dropped.append([p.volunteer_id, p.demand_id, why])
        tables["dropped"] = (["volunteer_id", "demand_id", "why"], sorted(dropped))
    filled, unmet = seats_by_demand(solution)

    def breakdown(key: Callable[[str], list[tuple[Any, ...]]], names: list[str]) -> Table:
        acc: dict[tuple[Any, ...], list[int]] = {}
        for d in problem.demands:
            for k in key(d.id):
                row = acc.setdefault(k, [0, 0] + [0] * len(REASONS))
                row[0] += d.headcount
                row[1] += min(filled.get(d.id, 0), d.headcount)
                for i, r in enumerate(REASONS):
                    row[2 + i] += unmet[d.id][r] if d.id in unmet else 0
        out = [[*k, n[0], n[1], f"{n[1] / n[0]:.4f}" if n[0] else "1.0000", *n[2:]] for k, n in sorted(acc.items())]
        return [*names, "demanded", "filled", "fill_rate", *(f"unmet_{r}" for r in REASONS)], out

    def area_key(did: str) -> tuple[str, str, str]:
        aid = demands[did].area_id
        a = areas.get(aid) if aid else None
        return (aid or "", (a.community or "") if a else "", (a.street or "") if a else "")

    category = category_of(problem)

    def category_keys(did: str) -> list[tuple[str, str]]:
        """The category's total (subcategory empty), and the subcategory's own row when there is one."""
        cat, sub = category(demands[did].category)
        return [(cat, "")] + ([(cat, sub)] if sub else [])

    tables["kpi_by_area"] = breakdown(lambda did: [area_key(did)], ["area_id", "community", "street"])
    tables["kpi_by_category"] = breakdown(category_keys, ["category", "subcategory"])
    tables["kpi_by_priority"] = breakdown(lambda did: [(demands[did].priority,)], ["priority"])
    return tables


def category_of(problem: Problem) -> Callable[[str], tuple[str, str]]:
    """A demand's category code as ``(category, subcategory)`` by the problem's taxonomy.

    A category code gives ``(code, "")``; a subcategory code gives ``(its category, code)``. Without a
    taxonomy every code is its own category. Run tables and scenario comparisons roll up by this one function,
    so "elder care" counts the same orders in both.
    """
    tax = problem.resolved_taxonomy()
    parent = {s.code: c.code for c in tax.categories for s in c.subcategories} if tax else {}
    return lambda code: (parent[code], code) if code in parent else (code, "")


def seats_by_demand(solution: Solution) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Seats filled per demand, and seats unmet per demand and reason (every reason present, 0 when none)."""
    filled: dict[str, int] = defaultdict(int)
    for a in solution.assignments:
        filled[a.demand_id] += 1
    unmet: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(REASONS, 0))
    for u in solution.unmet:
        unmet[u.demand_id][u.reason.value] += u.missing
    return dict(filled), dict(unmet)


def software_versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a result depends on, for manifests."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("matcher", "ortools", "numpy", "pydantic", "networkx", "scipy", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def utc_stamp(now: datetime | None = None) -> str:
    """A run name's time part: ``20261124T013000Z``."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
