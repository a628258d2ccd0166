"""A plan handed back to the engine is checked, never trusted: what does not fit is dropped and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from instances import tight_problem
from oracle import mip_max_coverage, violations

from matcher import (
    AssignmentOut,
    Dispatcher,
    Problem,
    ProblemError,
    SolveOptions,
    Status,
    VolunteerUnavailable,
    explain_demand,
    recommend,
    repair,
    solve,
)
from matcher.cli import main

OPTS = SolveOptions(time_limit_s=10, seed=1)


def test_last_nights_plan_with_departed_volunteers() -> None:
    """Volunteers left since the plan was made: their assignments are dropped and named, the bound stays
    valid, and the desk acts on the plan (it used to keep their pairs, claim optimal above the optimum, and
    refuse repairs with "unknown volunteer")."""
    night = tight_problem(21, n_vol=80, n_dem=50)
    plan = solve(night, OPTS)
    left = sorted({a.volunteer_id for a in plan.assignments})[:5]
    today = night.replace(volunteers=[v for v in night.volunteers if v.id not in left],
                          pinned=[], forbidden=[f for f in night.forbidden if f.volunteer_id not in left])
    desk = Dispatcher(today, OPTS, solution=plan)
    got = desk.solution
    assert violations(today, got) == []
    assert not set(left) & {a.volunteer_id for a in got.assignments}
    gone = [a for a in plan.assignments if a.volunteer_id in left]
    assert len([w for w in got.warnings if "unknown volunteer, dropped" in w]) == len(gone)
    best = mip_max_coverage(today)
    assert got.coverage <= best <= got.coverage_bound
    assert got.status is Status.FEASIBLE or got.coverage == best
    fixed = desk.repair([VolunteerUnavailable(volunteer_id=got.assignments[0].volunteer_id)])
    assert violations(desk.problem, fixed) == []


def test_a_plan_breaking_rules_keeps_what_it_can() -> None:
    p = tight_problem(22, n_vol=60, n_dem=40)
    good = solve(p, OPTS)
    a0 = good.assignments[0]
    other = next(d for d in p.demands if d.id != a0.demand_id and
                 d.start < next(x for x in p.demands if x.id == a0.demand_id).end and
                 next(x for x in p.demands if x.id == a0.demand_id).start < d.end)
    overlap = AssignmentOut(volunteer_id=a0.volunteer_id, demand_id=other.id, travel_km=0.0)
    plan = good.model_copy(update={"assignments": (*good.assignments, good.assignments[1], overlap),
                                   "status": Status.OPTIMAL, "coverage_bound": 0.0})
    desk = Dispatcher(p, OPTS, solution=plan)
    assert violations(p, desk.solution) == []
    lines = desk.solution.warnings
    assert any("given twice (rule 10), dropped" in w for w in lines)
    assert any(f"({a0.volunteer_id!r}, {other.id!r})" in w and "dropped" in w for w in lines)
    assert desk.solution.coverage_bound >= mip_max_coverage(p)  # the plan's bound of 0 is not believed
    stateless = repair(p, plan, [VolunteerUnavailable(volunteer_id=good.assignments[2].volunteer_id)], OPTS)
    assert violations(p, stateless) == []


def test_explaining_with_another_problems_solution_is_refused(tiny: Problem) -> None:
    other = tight_problem(23, n_vol=30, n_dem=20)
    s = solve(other, OPTS)
    with pytest.raises(ProblemError, match="made for another problem"):
        explain_demand(tiny, s, "d1")
    with pytest.raises(ProblemError, match="made for another problem"):
        recommend(tiny, s, "d1")


def test_explain_refuses_a_run_of_another_input(tiny_path: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    assert main(["run", str(tiny_path), "--out", str(runs), "--time-limit", "5", "-q"]) == 0
    assert main(["explain", str(tiny_path), str(runs / "latest"), "--demand", "d1"]) == 0
    manifest = json.loads((runs / "latest" / "manifest.json").read_text())
    solution = json.loads((runs / "latest" / "solution.json").read_text())
    assert manifest["input"]["problem_sha256"] == solution["problem_sha256"] == Problem.model_validate(
        json.loads(tiny_path.read_text())).fingerprint()
    changed = json.loads(tiny_path.read_text())
    changed["demands"][0]["headcount"] = 2
    other = tmp_path / "other.json"
    other.write_text(json.dumps(changed))
    capsys.readouterr()
    assert main(["explain", str(other), str(runs / "latest"), "--demand", "d1"]) == 2
    assert "this run was made for another input" in capsys.readouterr().err


def test_previous_from_another_problem_is_warned_about(tiny_path: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("volunteer_id,demand_id\n" + "".join(f"x{i},y{i}\n" for i in range(30)), encoding="utf-8")
    runs = tmp_path / "runs"
    assert main(["run", str(tiny_path), "--out", str(runs), "--time-limit", "5", "--previous", str(elsewhere)]) == 0
    err = capsys.readouterr().err
    assert "30 of 30 previous assignments" in err and "another problem" in err
    manifest = json.loads((runs / "latest" / "manifest.json").read_text())
    assert any("another problem" in w for w in manifest["warnings"])
