"""report.html without a browser: what the page holds, its language, personal columns, the week by hour, offline.

The browser itself opens the page in tests/workflows/test_report_browser.py.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import matcher.workflows.batch
from matcher import Problem, SolveOptions, load_problem
from matcher.engine import solve_keeping
from matcher.engine.arrays import build_arrays
from matcher.workflows.batch import run_batch
from matcher.workflows.charts import cjk_font, draw_charts
from matcher.workflows.report import ReportOptions, RunInputs, run_report_html, write_seconds
from matcher.workflows.report_data import week_heat
from matcher.workflows.report_explain import EXCLUSIONS, explain_unmet

ROOT = Path(__file__).parent.parent.parent
SAMPLE = ROOT / "matcher" / "data" / "sample_problem.json"


def payload(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="payload">(.*?)</script>', html, flags=re.S)
    assert m is not None
    data: dict[str, Any] = json.loads(m.group(1))
    return data


def figures(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="figures">(.*?)</script>', html, flags=re.S)
    assert m is not None
    data: dict[str, Any] = json.loads(m.group(1))
    return data


@pytest.fixture(scope="module")
def sample() -> tuple[Problem, Any]:
    problem = load_problem(SAMPLE)
    return problem, solve_keeping(problem, SolveOptions(time_limit_s=5, seed=0))


def test_the_page_holds_the_run(sample: tuple[Problem, Any]) -> None:
    problem, solved = sample
    sol = solved.solution
    html = run_report_html(RunInputs(problem, sol, solved.arr, (solved.v, solved.d)))
    p = payload(html)
    s = p["summary"]
    heads = sum(d.headcount for d in problem.demands)
    assert s["seats"] == heads and s["filled"] == len(sol.assignments) and s["unmet"] == heads - s["filled"]
    assert s["fill_rate"] == pytest.approx(sol.kpis["fill_rate"])
    assert {r["code"]: r["seats"] for r in s["reasons"]} == {
        r: sum(u.missing for u in sol.unmet if u.reason.value == r) for r in p["reasons"]}
    # every unmet order is listed once, with its seats by reason and its notes as explain_unmet gives them
    unmet_ids = {u.demand_id for u in sol.unmet}
    assert sorted(p["demands"]["id"][u[0]] for u in p["unmet"]) == sorted(unmet_ids)
    notes = explain_unmet(solved.arr, solved.v, solved.d,
                          np.array(sorted(solved.arr.demand_index[i] for i in unmet_ids)))
    first = p["unmet"][0]
    row = solved.arr.demand_index[p["demands"]["id"][first[0]]]
    j = int(np.searchsorted(notes.demands, row))
    assert first[2] == notes.counts[j].tolist()
    shown = [p["volunteers"]["id"][v] for v in p["notes"]["v"][first[3]:first[4]]]
    assert shown == [solved.arr.volunteer_ids[v] for v in notes.volunteer[notes.note_of == j]]
    assert first[1] and all(code in p["reasons"] for code, _ in first[1])
    assert len(p["exclusions"]) == len(EXCLUSIONS)
    # the rosters: every assignment once, under its volunteer
    tasks = {(p["volunteers"]["id"][v], p["demands"]["id"][d]) for v, d in zip(p["tasks"]["v"], p["tasks"]["d"])}
    assert tasks == {(a.volunteer_id, a.demand_id) for a in sol.assignments}
    # the map: one marker per area, labelled (12 areas: each by its id)
    fig = figures(html)
    assert len(fig["map"]["data"][0]["x"]) == len(problem.areas)
    assert sorted(fig["map"]["data"][1]["text"]) == sorted(a.id for a in problem.areas)
    assert [len(row) for row in p["heat"]["unmet"]] == [24] * 7
    assert sum(map(sum, p["heat"]["unmet"])) >= s["unmet"]  # each unmet seat in every hour its order touches


def test_the_page_works_offline(sample: tuple[Problem, Any]) -> None:
    problem, solved = sample
    html = run_report_html(RunInputs(problem, solved.solution))
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    assert "Plotly.newPlot" in html and "window.reportReady = true" in html
    fig = json.dumps(figures(html))
    assert "mapbox" not in fig and "geo" not in json.dumps([t.get("type") for f in figures(html).values()
                                                               for t in f["data"]])


def test_every_unmet_reason_and_exclusion_has_words_in_both_languages() -> None:
    from matcher.dispatch import Exclusion
    from matcher.model import UnmetReason
    from matcher.workflows.report_text import EXCLUSION_NAMES, REASONS

    for r in UnmetReason:
        assert set(REASONS[r.value]) == {"zh", "en"} and all(all(t) for t in REASONS[r.value].values())
    assert set(EXCLUSION_NAMES) == {e.value for e in Exclusion}


def test_chinese_by_default_english_on_request(sample: tuple[Problem, Any]) -> None:
    problem, solved = sample
    zh = run_report_html(RunInputs(problem, solved.solution))
    en = run_report_html(RunInputs(problem, solved.solution), ReportOptions(lang="en"))
    pz, pe = payload(zh), payload(en)
    assert pz["text"]["fill_rate"] == "需求满足率" and pe["text"]["fill_rate"] == "Fill rate"
    assert "医疗健康" in [r[0] for r in pz["summary"]["by_category"]]
    assert "Health" in [r[0] for r in pe["summary"]["by_category"]]
    assert pz["reasons"]["none_available"] == "附近有技能的志愿者该时段都没空"
    assert pe["weekdays"][0] == "Mon" and pz["weekdays"][0] == "周一"
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en


def test_personal_columns_only_when_asked(sample: tuple[Problem, Any]) -> None:
    problem, solved = sample
    vid = solved.solution.assignments[0].volunteer_id
    people = {"volunteers": {vid: {"name": "王小明", "phone": "13800138000"}}}
    plain = run_report_html(RunInputs(problem, solved.solution, personal=people))
    assert "13800138000" not in plain and "王小明" not in plain
    assert payload(plain)["personal"] == "left_out"
    asked = run_report_html(RunInputs(problem, solved.solution, personal=people), ReportOptions(personal=True))
    p = payload(asked)
    assert p["personal"] == "included"
    row = p["volunteers"]["id"].index(vid)
    assert p["volunteers"]["personal"]["phone"][row] == "13800138000"
    assert payload(run_report_html(RunInputs(problem, solved.solution)))["personal"] == "none"


def test_text_from_the_input_cannot_break_out_of_the_page(tiny: Problem) -> None:
    evil = "</script><script>alert(1)</script>"
    problem = tiny.replace(validate=True, areas=tuple(a.model_copy(update={"community": evil}) for a in tiny.areas))
    html = run_report_html(RunInputs(problem, solve_keeping(problem).solution))
    assert evil not in html and "alert(1)" in html
    assert payload(html)["areas"]["community"] == [evil]


def test_the_same_run_gives_the_same_page(sample: tuple[Problem, Any]) -> None:
    problem, solved = sample
    inputs = RunInputs(problem, solved.solution, solved.arr, (solved.v, solved.d))
    assert run_report_html(inputs) == run_report_html(RunInputs(problem, solved.solution))


def test_week_heat_counts_hours_in_local_time() -> None:
    tz = timezone(timedelta(hours=8))
    monday = datetime(2026, 11, 23, tzinfo=tz)

    def at(h: float) -> str:
        return (monday + timedelta(hours=h)).isoformat()

    problem = Problem.from_dict({
        "volunteers": [
            {"id": "v1", "lat": 39.9, "lon": 116.4, "availability": [{"start": at(8), "end": at(9.5)},
                                                                        {"start": at(9.75), "end": at(11)}]},
            {"id": "v2", "lat": 39.9, "lon": 116.4,
             "availability": [{"start": at(24 * 6 + 22), "end": at(24 * 7 + 1)}]},
        ],
        "demands": [{"id": "d1", "lat": 39.9, "lon": 116.4, "category": "x", "headcount": 3,
                     "start": at(8.5), "end": at(10.5), "priority": 3},
                    {"id": "d2", "lat": 39.9, "lon": 116.4, "category": "x", "headcount": 1,
                     "start": at(24 * 6 + 23), "end": at(24 * 7 + 0.5), "priority": 3}],
    })
    arr = build_arrays(problem)
    heat = week_heat(arr, np.array([480, 480]), np.array([2, 1]))
    unmet, free = np.array(heat["unmet"]), np.array(heat["free"])
    assert unmet[0, 8] == unmet[0, 9] == unmet[0, 10] == 2 and unmet.sum() == 3 * 2 + 2
    assert unmet[6, 23] == 1 and unmet[0, 0] == 1  # Sunday 23:00 into Monday 00:30
    assert free[0, 8] == free[0, 10] == 1 and free[0, 9] == 1  # two windows in hour 9: one volunteer
    assert free[6, 22] == free[6, 23] == 1 and free[0, 0] == 1 and free.sum() == 3 + 3


def test_a_report_that_cannot_be_built_does_not_stop_the_run(tmp_path: Path, tiny_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(matcher.workflows.batch, "run_report_html", broken)
    with caplog.at_level(logging.ERROR):
        result = run_batch(tiny_path, tmp_path / "runs", overrides={"time_limit_s": 5})
    assert (result.path / "unmet.csv").exists() and not (result.path / "report.html").exists()
    assert "report.html not written" in caplog.text


def test_the_run_keeps_time_for_the_report(tmp_path: Path, tiny_path: Path) -> None:
    result = run_batch(tiny_path, tmp_path / "runs", overrides={"time_limit_s": 5},
                       report=ReportOptions(lang="en"))
    assert "Fill rate" in (result.path / "report.html").read_text(encoding="utf-8")
    assert result.manifest["outputs"]["report.html"]
    assert 0 < result.manifest["seconds"]["report"] < write_seconds(load_problem(tiny_path))


def test_png_charts_draw_chinese_with_a_cjk_font(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    if cjk_font() is None:
        if __import__("os").environ.get("MATCHER_BROWSER_TESTS") == "required":
            pytest.fail("no CJK font installed (apt-get install fonts-noto-cjk)")
        pytest.skip("no CJK font installed")
    tables = {
        "coverage_by_category": (["category", "case", "demanded", "filled", "fill_rate"],
                                 [["health", "基准", 10, 5, 0.5], ["events", "基准", 4, 4, 1.0]]),
        "coverage_by_priority": (["priority", "case", "demanded", "filled", "fill_rate"], [[5, "基准", 3, 1, 0.33]]),
        "unmet_by_area": (["area_id", "community", "street", "lat", "lon", "case", "unmet"],
                          [["A1", "", "", 39.9, 116.4, "基准", 3]]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for each box it draws
        names = draw_charts(tables, ["基准"], tmp_path, title="流感", lang="zh", names={"health": "医疗健康"})
    assert names == ["coverage_by_category.png", "coverage_by_priority.png", "unmet_by_area.png"]


def test_command_line_language_and_personal_flags(tmp_path: Path, tiny_path: Path) -> None:
    from matcher.cli.main import main

    assert main(["run", str(tiny_path), "--out", str(tmp_path / "runs"), "--time-limit", "5", "--lang", "en",
                 "--report-personal", "-q"]) == 0
    p = payload((tmp_path / "runs" / "latest" / "report.html").read_text(encoding="utf-8"))
    assert p["lang"] == "en" and p["personal"] == "none"  # the table reader passes no personal columns yet
    with pytest.raises(SystemExit) as stop:
        main(["run", str(tiny_path), "--out", str(tmp_path / "runs"), "--lang", "fr"])
    assert stop.value.code == 2


@pytest.mark.parametrize("volunteers,demands", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_a_page_for_empty_or_trivial_problems(volunteers: int, demands: int) -> None:
    window = {"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T12:00:00+08:00"}
    problem = Problem.from_dict({
        "volunteers": [{"id": "v", "lat": 39.9, "lon": 116.4, "availability": [window]}][:volunteers],
        "demands": [{"id": "d", "lat": 39.9, "lon": 116.4, "category": "x", "headcount": 1, "priority": 3,
                     "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T10:00:00+08:00"}][:demands],
    })
    p = payload(run_report_html(RunInputs(problem, solve_keeping(problem).solution)))
    assert p["summary"]["unmet"] == (1 if demands and not volunteers else 0)
    assert len(p["unmet"]) == p["summary"]["orders_unmet"] and p["areas"]["id"] == []


def test_a_page_of_a_run_the_clock_cut_lists_the_demands_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.engine import candidates, pipeline

    problem = load_problem(SAMPLE)
    monkeypatch.setattr(pipeline, "AFTER_SEARCH", (1e9, 1e9))  # the search stops after its first part
    monkeypatch.setattr(candidates, "TIMED_PART_DEMANDS", 40)
    solved = solve_keeping(problem, SolveOptions(time_limit_s=5, seed=0))
    sol = solved.solution
    lost = {u.demand_id: u.missing for u in sol.unmet if u.reason.value == "not_searched"}
    assert len(lost) == len(problem.demands) - 40
    p = payload(run_report_html(RunInputs(problem, sol, solved.arr, (solved.v, solved.d))))
    listed = {p["demands"]["id"][u[0]]: u for u in p["unmet"]}
    assert set(lost) <= set(listed)
    for did, n in lost.items():  # its seats by reason, no near volunteer counted, no note
        _, seats, counts, start, end = listed[did][:5]
        assert seats == [["not_searched", n]] and not any(counts) and start == end
    assert {r["code"]: r["seats"] for r in p["summary"]["reasons"]}["not_searched"] == sum(lost.values())
