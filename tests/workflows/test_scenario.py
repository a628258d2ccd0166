"""What-if scenarios: every edit's effect, errors with file/line/key, the comparison, charts, shipped files."""

from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from oracle import violations

from matcher import Problem, ProblemError, Volunteer
from matcher.io import write_json_atomic
from matcher.workflows.compare import breakdown_tables, comparison_table, publish_scenario, run_scenario
from matcher.workflows.scenario import load_scenario
from matcher.workflows.scenario_file import EDITS

SCENARIOS = Path(__file__).parents[2] / "scenarios"
BASE = "base: {preset: community, seed: 0}\noptions: {time_limit_s: 3}\n"


def scenario(tmp_path: Path, edits: str, base: str = BASE, name: str = "t") -> Path:
    """A scenario file with one variant listing ``edits`` (YAML lines indented by six spaces)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n{base}variants:\n  - name: v\n    edits:\n{edits}", encoding="utf-8")
    return path


def variant(tmp_path: Path, edits: str) -> tuple[Problem, Problem]:
    sc = load_scenario(scenario(tmp_path, edits))
    return sc.base, sc.variants[0][1]


def home_area(problem: Problem) -> dict[str, str]:
    ids = [a.id for a in problem.areas]
    lat = np.array([a.lat for a in problem.areas])
    lon = np.array([a.lon for a in problem.areas])
    out = {}
    for v in problem.volunteers:
        k = int(np.argmin((lat - v.lat) ** 2 + ((lon - v.lon) * np.cos(np.radians(v.lat))) ** 2))
        out[v.id] = ids[k]
    return out


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True, text=True, timeout=600)


# -- each edit -------------------------------------------------------------------------------


def test_remove_volunteers_by_area_team_and_skill(tmp_path: Path) -> None:
    base, v = variant(tmp_path, "      - remove_volunteers: {share: 0.5, areas: [S01C01G01, S01C01G02], seed: 3}\n")
    homes = home_area(base)
    inside = {x.id for x in base.volunteers if homes[x.id] in ("S01C01G01", "S01C01G02")}
    left = {x.id for x in v.volunteers}
    gone = {x.id for x in base.volunteers} - left
    assert gone <= inside and len(gone) == round(0.5 * len(inside)) > 0
    team = Counter(x.team_id for x in base.volunteers if x.team_id).most_common(1)[0][0]
    base, v = variant(tmp_path, f"      - remove_volunteers: {{share: 1.0, teams: [{team}]}}\n")
    assert all(x.team_id != team for x in v.volunteers)
    assert len(v.volunteers) == sum(x.team_id != team for x in base.volunteers)
    base, v = variant(tmp_path, "      - remove_volunteers: {share: 1.0, skills: [nurse, doctor]}\n")
    assert not any({"nurse", "doctor"} & set(x.skills) for x in v.volunteers)
    assert len(v.volunteers) == sum(not {"nurse", "doctor"} & set(x.skills) for x in base.volunteers)
    # references to removed volunteers go with them; the rest of the problem stays valid
    assert all(p in {x.id for x in v.volunteers} for d in v.demands for p in d.preferred_volunteers)


def test_remove_volunteers_is_seeded(tmp_path: Path) -> None:
    a = variant(tmp_path, "      - remove_volunteers: {share: 0.3, seed: 1}\n")[1]
    b = variant(tmp_path, "      - remove_volunteers: {share: 0.3, seed: 1}\n")[1]
    c = variant(tmp_path, "      - remove_volunteers: {share: 0.3, seed: 2}\n")[1]
    ids = [[x.id for x in p.volunteers] for p in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]
    assert len(ids[0]) == 1000 - 300


def test_add_volunteers_around_a_place(tmp_path: Path) -> None:
    base, v = variant(tmp_path, (
        "      - add_volunteers: {count: 40, area: S01C01G05, spread_km: 0.5, days: weekend, hours: '06:00-14:00',\n"
        "                         skills: [event_staff], skill_mix: {first_aid: 1.0}, team: T-NEW, seed: 2}\n"))
    new = [x for x in v.volunteers if x.id.startswith("NEW")]
    assert len(new) == 40 and len(v.volunteers) == len(base.volunteers) + 40
    area = next(a for a in base.areas if a.id == "S01C01G05")
    for x in new:
        assert set(x.skills) == {"general", "event_staff", "first_aid"} and x.team_id == "T-NEW"
        assert abs(x.lat - area.lat) * 111.2 < 2.5  # within ~10 sigma of 0.25 km
        assert x.availability and all(w.start.weekday() >= 5 for w in x.availability)
        assert all((w.start.hour, w.end.hour) == (6, 14) for w in x.availability)
    assert len(new[0].availability) == 2  # Saturday and Sunday of the week


def test_scale_demand_by_category_and_priority(tmp_path: Path) -> None:
    base, v = variant(tmp_path, "      - scale_demand: {categories: [elder_care], factor: 2.0}\n")
    tax = {s.code: c.code for c in base.resolved_taxonomy().categories for s in c.subcategories}  # type: ignore[union-attr]

    def elder(p: Problem) -> list[str]:
        return [d.id for d in p.demands if d.category == "elder_care" or tax.get(d.category) == "elder_care"]

    assert len(elder(v)) == 2 * len(elder(base)) > 0
    assert len(v.demands) == len(base.demands) + len(elder(base))
    twins = [d for d in v.demands if "~" in d.id]
    assert twins and all(not d.preferred_volunteers for d in twins)
    base, v = variant(tmp_path, "      - scale_demand: {priorities: [1], factor: 0}\n")
    assert not any(d.priority == 1 for d in v.demands)
    assert len(v.demands) == sum(d.priority != 1 for d in base.demands)
    base, v = variant(tmp_path, "      - scale_demand: {areas: [S01C01G01], factor: 1.5, seed: 4}\n")
    n = sum(d.area_id == "S01C01G01" for d in base.demands)
    m = sum(d.area_id == "S01C01G01" for d in v.demands)
    assert n < m < 2 * n


def test_add_event_split_over_posts(tmp_path: Path) -> None:
    _, v = variant(tmp_path, (
        "      - add_event: {id: run, areas: [S01C01G01, S01C01G02, S01C01G03], headcount: 100,\n"
        "                    start: '2026-11-28T06:00:00+08:00', end: '2026-11-28T12:00:00+08:00', priority: 4}\n"))
    posts = [d for d in v.demands if d.id.startswith("run-")]
    assert sorted(d.headcount for d in posts) == [33, 33, 34] and sum(d.headcount for d in posts) == 100
    assert {d.area_id for d in posts} == {"S01C01G01", "S01C01G02", "S01C01G03"}
    assert all(d.priority == 4 and d.requires_insured and d.category == "events" for d in posts)
    _, v = variant(tmp_path, (
        "      - add_event: {id: show, lat: 39.9, lon: 116.4, headcount: 5, skills: [event_staff],\n"
        "                    start: '2026-11-27T18:00:00+08:00', end: '2026-11-27T21:00:00+08:00'}\n"))
    show = next(d for d in v.demands if d.id == "show")
    assert (show.lat, show.lon, show.area_id, show.required_skills) == (39.9, 116.4, None, ("event_staff",))


def test_change_travel_scales_or_sets(tmp_path: Path) -> None:
    base, v = variant(tmp_path, "      - change_travel: {factor: 1.3333}\n")
    for a, b in zip(base.volunteers, v.volunteers):
        assert b.max_travel_km == pytest.approx(a.max_travel_km * 1.3333, abs=1e-4)
    team = next(x.team_id for x in base.volunteers if x.team_id)
    base, v = variant(tmp_path, f"      - change_travel: {{km: 5.0, teams: [{team}]}}\n")
    for a, b in zip(base.volunteers, v.volunteers):
        assert b.max_travel_km == (5.0 if a.team_id == team else a.max_travel_km)


V2 = "base: {preset: community, seed: 0, world: v2}\noptions: {time_limit_s: 3}\n"


def reach(x: Volunteer, speed: float, detour: float) -> float:
    assert x.max_travel_minutes is not None
    return math.floor(speed * x.max_travel_minutes / 60 / detour * 100) / 100


def test_walking_or_cycling_keeps_the_reach_in_step(tmp_path: Path) -> None:
    sc = load_scenario(scenario(tmp_path, "      - set_speed: {speed_kmh: 13, share: 0.5, seed: 1}\n", base=V2))
    base, v = sc.base, sc.variants[0][1]
    changed = [(a, b) for a, b in zip(base.volunteers, v.volunteers) if a != b]
    assert 480 < len(changed) <= 500 and all(b.speed_kmh == 13 for _, b in changed)  # half (some cycled at 13)
    assert all(b.max_travel_km == reach(b, 13, 1.3) and b.max_travel_minutes == a.max_travel_minutes
               for a, b in changed)
    sc = load_scenario(scenario(tmp_path, "      - change_travel: {minutes: 15, streets: [S01]}\n"
                                          "      - set_travel: {detour: 1.6}\n", base=V2))
    base, v = sc.base, sc.variants[0][1]
    assert v.travel is not None and (v.travel.speed_kmh, v.travel.detour) == (4.5, 1.6)
    for a, b in zip(base.volunteers, v.volunteers):
        assert a.speed_kmh is not None and b.max_travel_minutes == 15
        assert b.max_travel_km == reach(b, a.speed_kmh, 1.6) < a.max_travel_km * 2
    sc = load_scenario(scenario(tmp_path, "      - change_travel: {factor: 1.5}\n", base=V2))
    for a, b in zip(sc.base.volunteers, sc.variants[0][1].volunteers):
        assert a.max_travel_minutes is not None and b.max_travel_minutes == a.max_travel_minutes * 1.5
        assert b.max_travel_km == pytest.approx(a.max_travel_km * 1.5, abs=1e-4)


def test_the_shipped_variants_reach(tmp_path: Path) -> None:
    """walk_vs_bicycle.yaml's three variants, on the community preset: 15 minutes on foot, by bicycle, winding."""
    text = (SCENARIOS / "walk_vs_bicycle.yaml").read_text()
    path = tmp_path / "walk.yaml"
    path.write_text(text.replace("preset: street", "preset: community"))
    sc = load_scenario(path)
    assert sc.base.travel is not None and sc.base.ratings  # the v2 world
    reaches = [{x.max_travel_km for x in p.volunteers} for _, p, _ in sc.variants]
    assert reaches == [{0.86}, {2.5}, {2.03}]  # 15 min at 4.5 and 13 km/h over a detour of 1.3, and 13 over 1.6


def test_travel_times_for_a_v1_problem(tmp_path: Path) -> None:
    base, v = variant(tmp_path, "      - set_travel: {speed_kmh: 5}\n")
    assert base.travel is None and v.travel is not None and (v.travel.speed_kmh, v.travel.detour) == (5, 1.3)
    assert [x.max_travel_km for x in v.volunteers] == [x.max_travel_km for x in base.volunteers]  # no minutes


def test_team_blocks(tmp_path: Path) -> None:
    base = variant(tmp_path, "      - change_travel: {factor: 1.0}\n")[0]
    team = next(x.team_id for x in base.volunteers if x.team_id)
    _, v = variant(tmp_path, f"      - add_team_block: {{team: {team}, areas: [S01C01G07]}}\n")
    for a, b in zip(base.demands, v.demands):
        want = team if a.area_id == "S01C01G07" and a.team_id is None else a.team_id
        assert b.team_id == want
    bound = next(d.team_id for d in base.demands if d.team_id)
    _, v = variant(tmp_path, f"      - remove_team_block: {{team: {bound}}}\n")
    assert not any(d.team_id == bound for d in v.demands)
    assert sum(d.team_id is not None for d in v.demands) == sum(
        d.team_id not in (None, bound) for d in base.demands)


def test_set_options_changes_only_that_variant(tmp_path: Path) -> None:
    weights = "{1: 1, 2: 2, 3: 4, 4: 16, 5: 64}"
    sc = load_scenario(scenario(tmp_path, f"      - set_options: {{priority_weights: {weights}}}\n"))
    assert sc.options.priority_weights[5] == 16 and sc.variants[0][2].priority_weights[5] == 64
    assert sc.variants[0][2].time_limit_s == 3  # the rest comes from the file's options


def test_every_edit_is_tested() -> None:
    names = set(EDITS)
    text = Path(__file__).read_text()
    assert all(f"- {n}:" in text for n in names), names


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("edits", "base", "expected"), [
    ("      - sack_volunteers: {share: 0.5}\n", BASE,
     "t.yaml line 7, variants[0].edits[0].sack_volunteers: unknown edit"),
    ("      - remove_volunteers: {share: 1.5}\n", BASE,
     "t.yaml line 7, variants[0].edits[0].remove_volunteers.share: Input should be less than or equal to 1"),
    ("      - remove_volunteers:\n          share: 0.5\n          streets: [S99]\n", BASE,
     "t.yaml line 9, variants[0].edits[0].remove_volunteers.streets: unknown street 'S99'"),
    ("      - scale_demand: {categories: [tea_party], factor: 2}\n", BASE,
     "t.yaml line 7, variants[0].edits[0].scale_demand.categories: unknown category 'tea_party'"),
    ("      - change_travel: {factor: 1.2, km: 3}\n", BASE,
     "t.yaml line 7, variants[0].edits[0].change_travel: give exactly one of factor, km"),
    ("      - add_team_block: {team: T-NOBODY, areas: [S01C01G01]}\n", BASE, "unknown team 'T-NOBODY'"),
    ("      - add_event: {id: e, area: S01C01G01, headcount: 5, start: '2026-11-28T12:00:00+08:00',\n"
     "                    end: '2026-11-28T06:00:00+08:00'}\n", BASE, "start must be before end"),
    ("      - remove_volunteers: {share: 0.5}\n", "base: {seed: 1}\n", "t.yaml line 2, base: "),
    ("      - remove_volunteers: {share: 0.5}\n", "base: {preset: town}\n", "unknown preset 'town'"),
    ("      - remove_volunteers: {share: 0.5}\n", "base: {data: missing.json}\n",
     "t.yaml line 2, base.data: no such file or folder"),
    ("      - remove_volunteers: {share: 0.5}\n", "base: {data: ../../etc/passwd}\n", "leaves"),
    ("      - remove_volunteers: {share: 0.5}\n", BASE + "colour: blue\n", "t.yaml line 4, colour: Extra inputs"),
    ("      - set_options: {time_limit_s: -1}\n", BASE, "set_options.time_limit_s: Input should be greater than 0"),
    ("      - set_speed: {speed_kmh: 13}\n", BASE, "t.yaml line 7, variants[0].edits[0].set_speed.speed_kmh: the "
     "problem has no travel times (Problem.travel): give set_travel first, or a base with them"),
    ("      - change_travel: {minutes: 15}\n", BASE, "change_travel.minutes: the problem has no travel times"),
    ("      - change_travel: {minutes: 15, km: 2}\n", V2, "give exactly one of factor, km, minutes"),
    ("      - set_speed: {speed_kmh: 0}\n", V2, "set_speed.speed_kmh: Input should be greater than 0"),
    ("      - set_speed: {speed_kmh: 13, teams: [T-NOBODY]}\n", V2, "set_speed.teams: unknown team 'T-NOBODY'"),
    ("      - set_travel: {}\n", V2, "t.yaml line 7, variants[0].edits[0].set_travel: give speed_kmh, detour or both"),
    ("      - set_travel: {detour: 0.5}\n", V2, "set_travel.detour: Input should be greater than or equal to 1"),
    ("      - set_travel: {speed_kmh: true}\n", V2, "set_travel.speed_kmh: must be a number, not true"),
    ("      - remove_volunteers: {share: 0.5}\n", "base: {preset: community, world: v3}\n", "base.world: Input should"),
    ("      - remove_volunteers: {share: 0.5}\n", "base: {data: x.json, world: v2}\n", "world is a preset's"),
])
def test_errors_name_file_line_and_key(tmp_path: Path, edits: str, base: str, expected: str) -> None:
    path = scenario(tmp_path, edits, base)
    with pytest.raises(ProblemError) as info:
        load_scenario(path)
    assert expected in str(info.value), str(info.value)


def test_cli_refuses_a_bad_file_before_solving(tmp_path: Path) -> None:
    path = scenario(tmp_path, "      - remove_volunteers: {share: 0.5}\n      - scale_demand: {factor: -2}\n")
    r = cli("scenario", "run", str(path), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "line 8" in r.stderr and "scale_demand.factor" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "solving" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_base_data_inside_the_folder(tmp_path: Path, tiny_path: Path, tiny: Problem) -> None:
    write_json_atomic(tmp_path / "data" / "tiny.json", tiny)
    path = scenario(tmp_path, "      - change_travel: {km: 40}\n",
                    base="base: {data: data/tiny.json}\noptions: {time_limit_s: 3}\n")
    sc = load_scenario(path)
    assert [v.id for v in sc.base.volunteers] == [v.id for v in tiny.volunteers]
    cases = run_scenario(sc)
    assert cases[1].solution.coverage >= cases[0].solution.coverage  # d5 (33 km away) is now in range
    (tmp_path / "sub").mkdir()
    outside = scenario(tmp_path / "sub", "      - change_travel: {km: 40}\n", base="base: {data: ../data/tiny.json}\n")
    with pytest.raises(ProblemError, match="leaves"):
        load_scenario(outside)
    assert load_scenario(outside, data_root=tmp_path).base.volunteers == sc.base.volunteers


# -- solving and comparing -------------------------------------------------------------------


def test_scenario_run_compares_and_draws(tmp_path: Path) -> None:
    path = scenario(tmp_path, (
        "      - remove_volunteers: {share: 0.3, seed: 1}\n"
        "      - scale_demand: {categories: [errands], factor: 2, seed: 2}\n"
        "  - name: wider\n    edits:\n      - change_travel: {factor: 1.5}\n"), name="what_if")
    r = cli("scenario", "run", str(path), "--out", str(tmp_path / "out"), "--time-limit", "3")
    assert r.returncode == 0, r.stderr
    out = Path(r.stdout.strip().splitlines()[-1])
    assert (tmp_path / "out" / "what_if-latest").resolve() == out.resolve()
    assert "seats unmet" in r.stdout and "v vs base" in r.stdout  # the printed comparison
    for name in ("coverage_by_category", "coverage_by_priority", "unmet_by_area", "unmet_change_by_area"):
        png = (out / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    text = (out / "comparison.csv").read_text(encoding="utf-8-sig")  # (a byte-order mark: Excel reads UTF-8)
    comp = {row["metric"]: row for row in csv.DictReader(io.StringIO(text))}
    assert float(comp["headcount"]["v vs base"]) > 0
    assert float(comp["volunteers_available"]["v vs base"]) < 0
    cov = comp["coverage"]
    assert float(cov["wider"]) == float(cov["base"]) + float(cov["wider vs base"])
    assert {p.name for p in (out / "solutions").iterdir()} == {"base.json", "v.json", "wider.json"}
    assert (out / "scenario.yaml").read_text() == path.read_text()


def test_comparison_matches_each_solution_and_rules_hold(tmp_path: Path) -> None:
    path = scenario(tmp_path, "      - remove_volunteers: {share: 0.5, seed: 1}\n"
                              "  - name: wider\n    edits:\n      - change_travel: {factor: 1.5}\n")
    cases = run_scenario(load_scenario(path))
    for c in cases:
        assert violations(c.problem, c.solution) == []
    header, rows = comparison_table(cases)
    assert header == ["metric", "base", "v", "v vs base", "wider", "wider vs base"]
    row = {r[0]: r for r in rows}
    assert row["coverage"][1:4] == [cases[0].solution.coverage, cases[1].solution.coverage,
                                    cases[1].solution.coverage - cases[0].solution.coverage]
    assert row["unmet"][1] == sum(u.missing for u in cases[0].solution.unmet)
    # fewer volunteers never cover more; a wider circle never covers less (both proven optimal here)
    assert all(c.solution.status.value == "optimal" for c in cases)
    assert cases[1].solution.coverage <= cases[0].solution.coverage <= cases[2].solution.coverage
    by_cat = breakdown_tables(cases)["coverage_by_category"][1]
    assert sum(r[3] for r in by_cat if r[1] == "base") == cases[0].solution.kpis["filled"]


def test_same_file_gives_the_same_tables(tmp_path: Path) -> None:
    path = scenario(tmp_path, "      - remove_volunteers: {share: 0.3, seed: 1}\n")
    a = publish_scenario(load_scenario(path), run_scenario(load_scenario(path)), tmp_path / "a", charts=False)
    b = publish_scenario(load_scenario(path), run_scenario(load_scenario(path)), tmp_path / "b", charts=False)
    for name in ("comparison.csv", "comparison.txt", "coverage_by_category.csv", "unmet_by_area.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert not list(a.glob("*.png"))


def test_charts_skipped_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    path = scenario(tmp_path, "      - change_travel: {factor: 1.2}\n")
    sc = load_scenario(path)
    cases = run_scenario(sc)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = publish_scenario(sc, cases, tmp_path / "out")
    assert not list(out.glob("*.png")) and (out / "comparison.csv").exists()
    assert "matcher[charts]" in caplog.text


# -- the shipped scenarios -------------------------------------------------------------------


def test_at_least_five_shipped_scenarios_are_valid() -> None:
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert len(files) >= 5
    for f in files:
        sc = load_scenario(f)
        assert sc.variants, f
        for _variant, problem, _opts in sc.variants:
            assert problem != sc.base


def test_a_shipped_scenario_runs_from_the_command_line(tmp_path: Path) -> None:
    r = cli("scenario", "run", str(SCENARIOS / "marathon_weekend.yaml"), "--out", str(tmp_path), "--time-limit", "3")
    assert r.returncode == 0, r.stderr
    out = Path(r.stdout.strip().splitlines()[-1])
    rows = list(csv.DictReader(io.StringIO((out / "coverage_by_category.csv").read_text(encoding="utf-8-sig"))))
    events = {r["case"]: int(r["demanded"]) for r in rows if r["category"] == "events"}
    assert events["marathon"] == events["base"] + 400
    assert (out / "unmet_change_by_area.png").exists()


def test_walk_or_bicycle_checks_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from matcher.cli import main

    path = SCENARIOS / "walk_vs_bicycle.yaml"
    assert main(["scenario", "check", str(path), "-q"]) == 0
    names = ("all on foot", "all by bicycle", "bicycle, winding lanes")
    assert capsys.readouterr().out.splitlines() == [f"{n}: 10000 volunteers, 2500 demands" for n in names]


def test_a_case_whose_search_the_clock_ended_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    from matcher.engine import candidates, pipeline

    path = scenario(tmp_path, "      - remove_volunteers: {share: 0.5, seed: 1}\n")
    monkeypatch.setattr(pipeline, "AFTER_SEARCH", (1e9, 1e9))  # every search stops after its first part
    monkeypatch.setattr(candidates, "TIMED_PART_DEMANDS", 30)
    with caplog.at_level("WARNING", logger="matcher.workflows.compare"):
        cases = run_scenario(load_scenario(path))
    flagged = [r.getMessage() for r in caplog.records if "do not compare" in r.getMessage()]
    assert [m.split(":")[0] for m in flagged] == [c.name for c in cases]
    _, rows = comparison_table(cases)
    lost = next(r for r in rows if r[0] == "unmet_not_searched")
    assert int(lost[1]) > 0 and int(lost[2]) > 0  # and the table counts each case's seats not searched
