"""``report.html``: the one file people open, in every run folder and every scenario folder.

One self-contained page that works offline: plotly.js, the page's script and
its styles are inlined, and the data is JSON in the page (no CDN, no map
tiles). A run's page shows the fill rate and the unmet seats by reason with
what each asks the dispatcher to do; a map of the grid areas; the week by hour
(unmet seats against volunteers free); every unmet order with its explanation
one click away; and the rosters, per volunteer (their week) and per team. A
scenario's page shows the comparison of base and variants, and each case's
map and week in the same style.

Labels are Chinese by default, English with ``ReportOptions(lang="en")``.
Personal columns (names, phones; :data:`~matcher.workflows.report_data.PersonalColumns`)
are left out unless ``ReportOptions(personal=True)``.

Time: :func:`write_seconds` estimates, from the problem's size, how long a
run takes to write its outputs with this report, so that ``matcher run`` keeps
that much of its time limit back. On the district preset (80,000 volunteers,
20,000 demands, 8,000 unmet orders) the report took 5.6 s and the whole write
7.2 s (medians of 6 runs on a shared 2-core machine); the page is 8.9 MB, of
which plotly.js is 4.8 MB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from matcher.engine.arrays import build_arrays
from matcher.io import write_text_synced
from matcher.model import Problem, Solution
from matcher.workflows.outputs import Table, seats_by_demand
from matcher.workflows.report_data import (
    PersonalColumns,
    ReportOptions,
    RunInputs,
    area_rows,
    category_names,
    demand_offsets_min,
    run_payload,
    week_heat,
)
from matcher.workflows.report_figures import bars_figure, case_bars_figure, heat_figure, map_figure, with_case_menu
from matcher.workflows.report_text import UI, WEEKDAYS, Lang, metric_name, shown_value, ui

__all__ = ["REPORT_NAME", "PersonalColumns", "ReportOptions", "RunInputs", "run_report_html", "scenario_report_html",
           "write_report", "write_seconds"]

REPORT_NAME = "report.html"

SECONDS_FIXED = 1.0
"""Write time that does not grow with the problem (plotly, the page, ~5 MB written and flushed)."""
SECONDS_PER_MILLION = 25.0
"""Write time per million (volunteers + 10 x demands). Measured medians of the whole write (tables and report):
community 0.8 s, street 1.5 s, district 7.2 s (a shared 2-core machine); this line lies above all three."""


def write_seconds(problem: Problem) -> float:
    """Seconds a run of this problem takes to write its outputs with the report: a size-based estimate, in seconds.

    ``1 + 25 * (volunteers + 10 * demands) / 1e6``: 1.1 s for the community preset, 1.9 s for the street, 8 s for
    the district.
    """
    return SECONDS_FIXED + SECONDS_PER_MILLION * (len(problem.volunteers) + 10 * len(problem.demands)) / 1e6


@cache
def _asset(name: str) -> str:
    return resources.files("matcher").joinpath(f"data/{name}").read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<`` occurs only in strings, written as the escape u003c."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _page(payload: dict[str, Any], figures: dict[str, str], lang: Lang) -> str:
    """The whole page: styles, plotly.js, the data and the page's script, inlined."""
    from plotly.offline import get_plotlyjs

    payload = {**payload, "text": {k: v[lang] for k, v in UI.items()}}
    figs = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in figures.items()) + "}"
    return "\n".join([
        "<!DOCTYPE html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', "<title>matcher</title>",
        f"<style>{_asset('report.css')}</style>", "</head>", "<body>",
        "<header><h1></h1><nav></nav></header>", "<main></main>",
        f'<script type="application/json" id="payload">{_script_json(payload)}</script>',
        f'<script type="application/json" id="figures">{figs.replace("<", chr(92) + "u003c")}</script>',
        f"<script>{get_plotlyjs()}</script>", f"<script>{_asset('report.js')}</script>", "</body>", "</html>", ""])


def run_report_html(inputs: RunInputs, options: ReportOptions | None = None) -> str:
    """The run report of a solved problem (see the module docstring), as HTML text."""
    options = options or ReportOptions()
    lang = options.lang
    payload = run_payload(inputs, options)
    payload["title"] = inputs.title or ui("title_run", lang)
    s = payload["summary"]
    filled, unmet_by = _filled_and_unmet(inputs.problem, inputs.solution)
    figures = {
        "by_priority": bars_figure([[f"{ui('priority', lang)} {p}", n, g] for p, n, g in s["by_priority"]],
                                   ui("by_priority", lang), lang),
        "by_category": bars_figure(s["by_category"], ui("by_category", lang), lang, horizontal=True),
        "map": map_figure(area_rows(inputs.problem, filled, unmet_by), lang),
        "heat": heat_figure(payload["heat"], WEEKDAYS[lang], lang),
    }
    return _page(payload, figures, lang)


def _filled_and_unmet(problem: Problem, solution: Solution) -> tuple[Any, dict[str, dict[str, int]]]:
    got, unmet = seats_by_demand(solution)
    return np.array([got.get(d.id, 0) for d in problem.demands], dtype=np.int64), unmet


def scenario_report_html(title: str, cases: Sequence[tuple[str, Problem, Solution]], comparison: Table,
                         metrics: Sequence[tuple[str, str, str]], breakdown: dict[str, Table],
                         options: ReportOptions | None = None) -> str:
    """A scenario's report as HTML text: the comparison, then each case's fill rates, map and week by hour.

    ``comparison`` is ``comparison_table``'s table, ``metrics`` its ``METRICS``
    (key, label, kind), and ``breakdown`` holds ``breakdown_tables``'
    ``coverage_by_category`` and ``coverage_by_priority``.
    """
    options = options or ReportOptions()
    lang = options.lang
    labels = {key: (label, kind) for key, label, kind in metrics}
    names = [c[0] for c in cases]
    header = [ui("metric", lang), names[0]]
    for n in names[1:]:
        header += [n, f"{n} {ui('vs_base', lang)}"]
    rows = []
    for row in comparison[1]:
        label, kind = labels[row[0]]
        rows.append([metric_name(row[0], label, lang),
                     *(shown_value(x, kind, i > 1 and i % 2 == 1, lang) for i, x in enumerate(row[1:], start=1))])
    cat_names = category_names(cases[0][1], lang)
    by_cat = [[cat_names.get(r[0], r[0]), *r[1:]] for r in breakdown["coverage_by_category"][1]]
    by_prio = [[f"{ui('priority', lang)} {r[0]}", *r[1:]]
               for r in sorted(breakdown["coverage_by_priority"][1], key=lambda r: -int(r[0]))]
    maps, changes, heats = [], [], []
    base_unmet: dict[str, int] = {}
    for k, (name, problem, solution) in enumerate(cases):
        filled, unmet_by = _filled_and_unmet(problem, solution)
        areas = area_rows(problem, filled, unmet_by)
        maps.append((name, map_figure(areas, lang)))
        unmet = {str(a[0]): sum(int(x) for x in a[7:]) for a in areas}
        if k == 0:
            base_unmet = unmet
        else:
            change = [[*a, unmet[str(a[0])] - base_unmet.get(str(a[0]), 0)] for a in areas]
            changes.append((name, map_figure(change, lang, value="change", title=ui("change_map", lang))))
        arr = build_arrays(problem)
        seats = np.zeros(arr.nd, dtype=np.int64)
        for did, per in unmet_by.items():
            seats[arr.demand_index[did]] = sum(per.values())
        heats.append((name, heat_figure(week_heat(arr, demand_offsets_min(problem), seats), WEEKDAYS[lang], lang)))
    figures = {
        "by_priority": case_bars_figure(by_prio, names, ui("by_priority", lang), lang),
        "by_category": case_bars_figure(by_cat, names, ui("by_category", lang), lang),
        "map": with_case_menu(maps, lang), "heat": with_case_menu(heats, lang),
    }
    if changes:
        figures["change"] = with_case_menu(changes, lang)
    payload = {"kind": "scenario", "lang": lang, "title": f"{ui('title_scenario', lang)}: {title}",
               "weekdays": WEEKDAYS[lang], "comparison": {"header": header, "rows": rows}, "personal": "none"}
    return _page(payload, figures, lang)


def write_report(path: str | Path, html: str) -> None:
    """Write the page (inside a folder that :func:`matcher.io.publish_dir` publishes: flushed to disk)."""
    write_text_synced(path, html)
