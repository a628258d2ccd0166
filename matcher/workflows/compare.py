"""Solving a scenario's base and variants, and comparing them in tables, text and charts.

:func:`run_scenario` solves every case of a :class:`~matcher.workflows.scenario.Scenario`;
:func:`comparison_table` lines up the KPIs a planner compares (coverage by
priority, unmet by reason, travel, load spread, volunteers used) with each
variant's difference from the base; :func:`publish_scenario` writes the
tables as CSV, the charts as PNG (:mod:`matcher.workflows.charts`), each case's solution
and a manifest into one folder that appears at once.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.engine import solve
from matcher.engine.context import Cancel
from matcher.io import publish_dir, write_csv, write_text_synced
from matcher.model import Problem, Solution, SolveOptions, UnmetReason
from matcher.workflows.charts import draw_charts
from matcher.workflows.outputs import Table, category_of, seats_by_demand, software_versions, utc_stamp
from matcher.workflows.report import REPORT_NAME, ReportOptions, scenario_report_html, write_report
from matcher.workflows.report_data import category_names
from matcher.workflows.report_text import NOT_COMPARABLE, shown_value
from matcher.workflows.scenario import Scenario

__all__ = ["CaseResult", "breakdown_tables", "comparison_table", "format_comparison", "publish_scenario",
           "run_scenario"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseResult:
    """One solved case: ``base`` or a variant."""

    name: str
    problem: Problem
    options: SolveOptions
    solution: Solution


def run_scenario(scenario: Scenario, *, cancel: Cancel | None = None) -> list[CaseResult]:
    """Solve the base and every variant (in the file's order); the base comes first.

    ``cancel`` (e.g. a :class:`threading.Event`) stops the solve under way at its next step; set, it makes
    the remaining cases answer at once with the greedy.
    """
    cases = [("base", scenario.base, scenario.options)] + [(v.name, p, o) for v, p, o in scenario.variants]
    out = []
    for k, (name, problem, options) in enumerate(cases, start=1):
        log.info("solving %d/%d: %s (%d volunteers, %d demands)", k, len(cases), name, len(problem.volunteers),
                 len(problem.demands))
        solution = solve(problem, options, cancel=cancel)
        log.info("%s: %s, coverage %g of bound %g", name, solution.status.value, solution.coverage,
                 solution.coverage_bound)
        if solution.stats.not_searched_demands:
            log.warning("%s: the time limit ended the candidate search before %d demands (their seats are "
                        "not_searched): its figures do not compare with the other cases'; give the scenario a "
                        "longer time_limit_s", name, solution.stats.not_searched_demands)
        out.append(CaseResult(name, problem, options, solution))
    return out


# kind: "int", "pct" (a 0..1 rate shown as %), "num" / "num2" (one / two decimals), "text"
METRICS: list[tuple[str, str, str]] = [
    ("status", "status", "text"),
    ("coverage", "coverage (priority-weighted seats)", "int"),
    ("coverage_bound", "coverage bound", "int"),
    ("headcount", "seats ordered", "int"),
    ("filled", "seats filled", "int"),
    *[(f"filled_p{p}", f"seats filled, priority {p}", "int") for p in (5, 4, 3, 2, 1)],
    ("fill_rate", "fill rate", "pct"),
    *[(f"fill_rate_p{p}", f"fill rate, priority {p}", "pct") for p in (5, 4, 3, 2, 1)],
    ("unmet", "seats unmet", "int"),
    *[(f"unmet_{r.value}", f"  unmet: {r.value}", "int") for r in UnmetReason],
    ("travel_km", "travel, km total", "num"),
    ("travel_km_mean", "travel, km per assignment", "num2"),
    ("volunteers_available", "volunteers available", "int"),
    ("volunteers_used", "volunteers used", "int"),
    ("tasks_mean", "tasks per volunteer used", "num2"),
    ("tasks_std", "load spread (std of tasks)", "num2"),
    ("tasks_max", "most tasks of one volunteer", "int"),
]
"""The compared KPIs: (key, label, kind). Run times are in the manifest, so that the tables repeat exactly."""

WEIGHTED = frozenset({"coverage", "coverage_bound"})
"""Metrics in priority-weighted points: a variant with other priority weights counts in other units, so its
difference from the base is marked not comparable (compare seats filled by priority instead)."""


def case_metrics(case: CaseResult) -> dict[str, Any]:
    """The KPIs of one case, keyed as in :data:`METRICS`."""
    s, k = case.solution, case.solution.kpis
    out: dict[str, Any] = {
        "status": s.status.value, "coverage": s.coverage, "coverage_bound": s.coverage_bound,
        "headcount": k["headcount"], "filled": k["filled"], "fill_rate": k["fill_rate"],
        "unmet": sum(u.missing for u in s.unmet),
        "travel_km": k["travel_km"]["total"], "travel_km_mean": k["travel_km"]["mean"],
        "volunteers_available": sum(1 for v in case.problem.volunteers if v.availability),
        "volunteers_used": k["load"]["volunteers_used"], "tasks_mean": k["load"]["tasks_mean"],
        "tasks_std": k["load"]["tasks_std"], "tasks_max": k["load"]["tasks_max"],
    }
    for p in range(1, 6):
        out[f"fill_rate_p{p}"] = k["coverage_by_priority"][str(p)]["rate"]
        out[f"filled_p{p}"] = k["coverage_by_priority"][str(p)]["filled"]
    for r in UnmetReason:
        out[f"unmet_{r.value}"] = sum(u.missing for u in s.unmet if u.reason is r)
    return out


def comparison_table(cases: Sequence[CaseResult]) -> Table:
    """Rows of metrics; columns: the base, then each variant and its difference from the base.

    A variant whose priority weights differ from the base's gets :data:`NOT_COMPARABLE` for the
    priority-weighted metrics' differences.
    """
    values = [case_metrics(c) for c in cases]
    base_weights = cases[0].options.priority_weights
    header = ["metric", cases[0].name]
    for c in cases[1:]:
        header += [c.name, f"{c.name} vs base"]
    rows = []
    for key, _label, kind in METRICS:
        base = values[0][key]
        row: list[Any] = [key, _raw(base, kind)]
        for c, v in zip(cases[1:], values[1:]):
            if key in WEIGHTED and c.options.priority_weights != base_weights:
                diff: Any = NOT_COMPARABLE
            else:
                diff = "" if kind == "text" else _raw(v[key] - base, kind)
            row += [_raw(v[key], kind), diff]
        rows.append(row)
    return header, rows


def _raw(x: Any, kind: str) -> Any:
    if kind == "text":
        return x
    if kind == "int":
        return round(float(x))
    return round(float(x), 4 if kind == "pct" else 3)


def format_comparison(cases: Sequence[CaseResult], title: str) -> str:
    """The comparison as an aligned text table for a terminal."""
    header, rows = comparison_table(cases)
    labels = {key: (label, kind) for key, label, kind in METRICS}
    shown = [["", *header[1:]]]
    for row in rows:
        label, kind = labels[row[0]]
        shown.append([label, *(shown_value(x, kind, diff=i > 1 and i % 2 == 1)
                               for i, x in enumerate(row[1:], start=1))])
    widths = [max(len(r[i]) for r in shown) for i in range(len(shown[0]))]
    lines = [title, ""]
    for n, r in enumerate(shown):
        lines.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def breakdown_tables(cases: Sequence[CaseResult]) -> dict[str, Table]:
    """Per case: coverage by category (subcategories rolled up) and priority; unmet headcount by area."""
    by_cat: list[list[Any]] = []
    by_prio: list[list[Any]] = []
    by_area: list[list[Any]] = []
    for case in cases:
        category = category_of(case.problem)
        filled, unmet = seats_by_demand(case.solution)
        cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        prio: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for d in case.problem.demands:
            got = min(filled.get(d.id, 0), d.headcount)
            for acc in (cat[category(d.category)[0]], prio[d.priority]):
                acc[0] += d.headcount
                acc[1] += got
            if d.area_id is not None:
                for reason, n in unmet.get(d.id, {}).items():
                    area[d.area_id][reason] += n
        for name, (dem, got) in sorted(cat.items()):
            by_cat.append([name, case.name, dem, got, round(got / dem, 4) if dem else 1.0])
        for p, (dem, got) in sorted(prio.items()):
            by_prio.append([p, case.name, dem, got, round(got / dem, 4) if dem else 1.0])
        for a in sorted(case.problem.areas, key=lambda a: a.id):
            reasons = area.get(a.id, {})
            by_area.append([a.id, a.community or "", a.street or "", a.lat, a.lon, case.name,
                            sum(reasons.values()), *(reasons.get(r.value, 0) for r in UnmetReason)])
    return {
        "coverage_by_category": (["category", "case", "demanded", "filled", "fill_rate"], by_cat),
        "coverage_by_priority": (["priority", "case", "demanded", "filled", "fill_rate"], by_prio),
        "unmet_by_area": (["area_id", "community", "street", "lat", "lon", "case", "unmet",
                           *(f"unmet_{r.value}" for r in UnmetReason)], by_area),
    }


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "case"


def publish_scenario(scenario: Scenario, cases: Sequence[CaseResult], out_root: str | Path,
                     *, charts: bool = True, report: ReportOptions | None = None) -> Path:
    """Write the comparison into ``out_root/<file stem>-<UTC time>`` at once; ``<stem>-latest`` links to it.

    Contents: ``report.html`` (:mod:`matcher.workflows.report`, in ``report``'s
    language); ``comparison.txt`` and ``comparison.csv``; ``coverage_by_category.csv``,
    ``coverage_by_priority.csv``, ``unmet_by_area.csv``; the charts
    (``coverage_by_category.png``, ``coverage_by_priority.png``,
    ``unmet_by_area.png``) when matplotlib is installed; ``solutions/<case>.json``;
    a copy of the scenario file and ``manifest.json``.
    """
    t0 = time.perf_counter()
    title = f"{scenario.name}: base and {len(cases) - 1} variant(s)"
    text = format_comparison(cases, title)
    tables = {"comparison": comparison_table(cases), **breakdown_tables(cases)}
    stem = _slug(scenario.path.stem)
    report = report or ReportOptions()
    page = scenario_report_html(scenario.name, [(c.name, c.problem, c.solution) for c in cases], tables["comparison"],
                                METRICS, tables, report)

    def fill(folder: Path) -> None:
        write_report(folder / REPORT_NAME, page)
        write_text_synced(folder / "comparison.txt", text)
        for name, (header, rows) in tables.items():
            write_csv(folder / f"{name}.csv", header, rows)
        drawn: list[str] = []
        if charts:
            drawn = draw_charts(tables, [c.name for c in cases], folder, title=scenario.name, lang=report.lang,
                                names=category_names(cases[0].problem, report.lang))
        (folder / "solutions").mkdir()
        for c in cases:
            write_text_synced(folder / "solutions" / f"{_slug(c.name)}.json", c.solution.model_dump_json(indent=1))
        shutil.copyfile(scenario.path, folder / f"scenario{scenario.path.suffix}")
        manifest = {
            "scenario": str(scenario.path.resolve()), "name": scenario.name,
            "cases": [{"name": c.name, "status": c.solution.status.value, "coverage": c.solution.coverage,
                       "coverage_bound": c.solution.coverage_bound, "seconds": c.solution.runtime_s,
                       "options": c.options.model_dump(mode="json")} for c in cases],
            "charts": drawn, "versions": software_versions(), "write_seconds": round(time.perf_counter() - t0, 3),
        }
        write_text_synced(folder / "manifest.json", json.dumps(manifest, indent=1) + "\n")

    return publish_dir(out_root, f"{stem}-{utc_stamp()}", fill, latest=f"{stem}-latest")

