"""explain: the right reason for every near volunteer, on a hand-built case with one volunteer per reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from instances import at

from matcher import Problem, ProblemError, SolveOptions, solve
from matcher.dispatch import Exclusion, explain_demand, explain_volunteer

KM = 1 / 111.2  # degrees of latitude per km


def vol(vid: str, km: float, skills: list[str], **kw: Any) -> dict[str, Any]:
    v = {"id": vid, "lat": 39.9 + km * KM, "lon": 116.4, "skills": skills, "insured": True, "team_id": "T1",
         "availability": [{"start": at(8), "end": at(14)}], "max_travel_km": 2.0}
    v.update(kw)
    return v


def dem(did: str, start: float, end: float, skills: list[str], priority: int, **kw: Any) -> dict[str, Any]:
    d = {"id": did, "lat": 39.9, "lon": 116.4, "category": "care", "required_skills": skills, "headcount": 1,
         "start": at(start), "end": at(end), "priority": priority}
    d.update(kw)
    return d


@pytest.fixture(scope="module")
def case() -> tuple[Problem, Any]:
    """Demand D (nurse, insured, team T1, 3 seats, 09-10) and one near volunteer per reason.

    A fills D. B, T and H could fill D but are worth more elsewhere: B on P5 (overlaps D), T on Q
    (its only task), H on W (its hours). So D has 2 seats unmet for capacity_taken. E has one seat
    and two free, able volunteers X and Y: one goes, the other is free.
    """
    p = Problem.from_dict({
        "volunteers": [
            vol("A", 0.5, ["nurse"]),
            vol("S", 0.4, ["general"]),
            vol("U", 0.6, ["nurse"], insured=False),
            vol("O", 0.7, ["nurse"], team_id="T2"),
            vol("F", 0.8, ["nurse"]),
            vol("R", 3.0, ["nurse"]),
            vol("N", 0.9, ["nurse"], availability=[{"start": at(13), "end": at(18)}]),
            vol("B", 1.0, ["nurse", "doctor"]),
            vol("T", 1.1, ["nurse", "driving"], max_tasks=1),
            vol("H", 1.2, ["nurse", "cooking"], max_hours=1.5),
            vol("X", 0.2, ["general"], team_id=None),
            vol("Y", 0.3, ["general"], team_id=None),
        ],
        "demands": [
            dem("D", 9, 10, ["nurse"], 3, headcount=3, requires_insured=True, team_id="T1"),
            dem("P5", 9.5, 10.5, ["doctor"], 5),
            dem("Q", 11, 12, ["driving"], 5),
            dem("W", 12, 13, ["cooking"], 5),
            dem("E", 8, 8.5, ["general"], 2, preferred_volunteers=["Y"]),
        ],
        "forbidden": [{"volunteer_id": "F", "demand_id": "D"}],
        "previous": [{"volunteer_id": "A", "demand_id": "D"}],
    })
    return p, solve(p, SolveOptions(time_limit_s=10))


def test_every_reason_on_the_hand_built_case(case: tuple[Problem, Any]) -> None:
    p, s = case
    assert s.status.value == "optimal"
    e = explain_demand(p, s, "D")
    got = {c.volunteer_id: c.reason for c in e.candidates}
    assert got == {
        "A": Exclusion.ASSIGNED, "S": Exclusion.MISSING_SKILL, "U": Exclusion.NOT_INSURED,
        "O": Exclusion.OTHER_TEAM, "F": Exclusion.FORBIDDEN, "R": Exclusion.TOO_FAR,
        "N": Exclusion.NOT_AVAILABLE, "B": Exclusion.BUSY, "T": Exclusion.TASKS_USED, "H": Exclusion.HOURS_USED,
        "X": Exclusion.MISSING_SKILL, "Y": Exclusion.MISSING_SKILL,
    }
    notes = {c.volunteer_id: c for c in e.candidates}
    assert (notes["B"].taken_by, notes["B"].more_urgent) == (("P5",), True)
    assert (notes["T"].taken_by, notes["H"].taken_by) == (("Q",), ("W",))
    assert notes["R"].distance_km == pytest.approx(3.0, abs=0.01) and "at most 2 km" in notes["R"].detail
    assert e.assigned == ("A",) and [(u.missing, u.reason.value) for u in e.unmet] == [(2, "capacity_taken")]
    assert e.candidates[0].volunteer_id == "A"  # the assigned first, then nearest first
    text = e.text()
    assert "Demand D (priority 3): 1 of 3 seats filled by A." in text
    assert "2 seat(s) unmet: capacity_taken" in text
    assert "- B (1.00 km): busy: assigned to an overlapping demand: P5 (priority 5)" in text


def test_free_volunteer_when_the_seats_are_full(case: tuple[Problem, Any]) -> None:
    p, s = case
    e = explain_demand(p, s, "E")
    got = {c.volunteer_id: c.reason for c in e.candidates if c.volunteer_id in ("X", "Y")}
    assert sorted(got.values()) == [Exclusion.ASSIGNED, Exclusion.FREE]
    assert got["Y"] is Exclusion.ASSIGNED  # the household's usual volunteer, for continuity


def test_assignment_score_parts(case: tuple[Problem, Any]) -> None:
    p, s = case
    a = explain_volunteer(p, s, "A")
    assert (a.tasks_used, a.max_tasks, a.hours_used) == (1, 3, 1.0)
    (score,) = a.assignments
    assert (score.demand_id, score.coverage_points) == ("D", 4)
    assert score.travel_km == pytest.approx(0.5, abs=0.01)
    assert score.travel_points == pytest.approx(SolveOptions().travel_weight * score.travel_km)
    assert score.load_points == pytest.approx(SolveOptions().load_weight)
    assert score.kept_from_previous is True and score.continuity is None
    y = explain_volunteer(p, s, "Y").assignments[0]
    assert (y.demand_id, y.coverage_points, y.continuity, y.kept_from_previous) == ("E", 2, True, False)
    assert "keeps continuity" in explain_volunteer(p, s, "Y").text()
    assert explain_volunteer(p, s, "S").assignments == ()


def test_unknown_ids_are_input_errors(case: tuple[Problem, Any]) -> None:
    p, s = case
    with pytest.raises(ProblemError, match="no demand 'ZZ'"):
        explain_demand(p, s, "ZZ")
    with pytest.raises(ProblemError, match="no volunteer 'ZZ'"):
        explain_volunteer(p, s, "ZZ")


def test_order_and_counts(case: tuple[Problem, Any]) -> None:
    p, s = case
    e = explain_demand(p, s, "D")
    assert [c.volunteer_id for c in e.candidates[:4]] == ["A", "B", "T", "H"]  # assigned, then nearly able
    assert e.near_by_reason["missing_skill"] == 3 and sum(e.near_by_reason.values()) == len(e.candidates) == 12


def test_explain_from_the_command_line(tmp_path: Path, tiny_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from matcher.cli import main
    from matcher.workflows.batch import run_batch

    run = run_batch(tiny_path, tmp_path / "runs", overrides={"time_limit_s": 5})
    assert main(["explain", str(tiny_path), str(tmp_path / "runs" / "latest"), "--demand", "d4"]) == 0
    out = capsys.readouterr().out
    assert "Demand d4" in out and "no_skilled_volunteer" in out
    assert main(["explain", str(tiny_path), str(run.path / "solution.json"), "--volunteer", "a", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["volunteer_id"] == "a" and data["tasks_used"] == 2
    assert main(["explain", str(tiny_path), str(run.path), "--demand", "nope"]) == 2
    assert "no demand 'nope'" in capsys.readouterr().err
