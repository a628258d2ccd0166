"""Hand-checked answers on tests/data/tiny.json (see the fixture's docstring)."""

from __future__ import annotations

from oracle import violations

from matcher import Problem, SolveOptions, Status, UnmetReason, solve


def test_tiny_optimum_and_assignments(tiny: Problem) -> None:
    s = solve(tiny)
    assert s.status is Status.OPTIMAL
    assert s.coverage == 21 and s.coverage_bound == 21
    got = {(a.volunteer_id, a.demand_id) for a in s.assignments}
    assert got == {("a", "d1"), ("a", "d3"), ("b", "d2")}
    assert violations(tiny, s) == []


def test_tiny_unmet_reasons(tiny: Problem) -> None:
    s = solve(tiny)
    unmet = {(u.demand_id, u.reason, u.missing) for u in s.unmet}
    assert unmet == {
        ("d2", UnmetReason.CAPACITY_TAKEN, 1),
        ("d4", UnmetReason.NO_SKILLED_VOLUNTEER, 1),
        ("d5", UnmetReason.NONE_IN_RANGE, 1),
        ("d6", UnmetReason.NONE_AVAILABLE, 1),
    }


def test_touching_windows_join_and_touching_tasks_do_not_overlap(tiny: Problem) -> None:
    # b's windows 08-10 and 10-12 touch, so b can serve 09:30-11:00 (d2)
    only_b = tiny.replace(volunteers=[v for v in tiny.volunteers if v.id == "b"])
    s = solve(only_b)
    assert ("b", "d2") in {(a.volunteer_id, a.demand_id) for a in s.assignments}


def test_hour_cap_binds(tiny: Problem) -> None:
    # with max_hours 2.5, a cannot do d1 (1 h) and d3 (2 h): coverage drops by 1
    a = tiny.volunteers[0].model_copy(update={"max_hours": 2.5})
    s = solve(tiny.replace(volunteers=[a, *tiny.volunteers[1:]]))
    assert s.coverage == 20
    assert violations(tiny, s) == []


def test_priority_weights_are_options(tiny: Problem) -> None:
    opts = SolveOptions(priority_weights={1: 100, 2: 1, 3: 1, 4: 1, 5: 1})
    s = solve(tiny, opts)
    # d3 (priority 1) now worth 100: it is still served, by a or b
    assert "d3" in {a.demand_id for a in s.assignments}
    assert s.coverage == 100 + 1 + 1


def test_forbidden_pair_is_never_made(tiny: Problem) -> None:
    p = tiny.replace(forbidden=[{"volunteer_id": "a", "demand_id": "d1"}])
    s = solve(p)
    assert ("a", "d1") not in {(a.volunteer_id, a.demand_id) for a in s.assignments}
    assert any(u.demand_id == "d1" and u.reason is UnmetReason.NONE_AVAILABLE for u in s.unmet)


def test_pinned_is_kept_even_if_worse(tiny: Problem) -> None:
    p = tiny.replace(pinned=[{"volunteer_id": "a", "demand_id": "d2"}])
    s = solve(p)
    pairs = {(a.volunteer_id, a.demand_id) for a in s.assignments}
    assert ("a", "d2") in pairs
    assert violations(p, s) == []
    assert s.status is Status.OPTIMAL


def test_previous_assignment_kept_on_ties(tiny: Problem) -> None:
    # d3 can go to a or b at equal coverage when b is free; previous says b
    only_d3 = [d for d in tiny.demands if d.id == "d3"]
    p = tiny.replace(demands=only_d3, previous=[{"volunteer_id": "b", "demand_id": "d3"}])
    s = solve(p)
    assert [(a.volunteer_id, a.demand_id) for a in s.assignments] == [("b", "d3")]
    assert s.kpis["secondary_parts"]["previous_dropped"] == 0


def test_continuity_prefers_preferred_volunteer(tiny: Problem) -> None:
    d3 = tiny.demands[2].model_copy(update={"preferred_volunteers": ("b",)})
    p = tiny.replace(demands=[d3])
    s = solve(p)
    assert [(a.volunteer_id, a.demand_id) for a in s.assignments] == [("b", "d3")]


def test_empty_problem_is_an_answer() -> None:
    s = solve(Problem())
    assert s.status is Status.OPTIMAL and s.coverage == 0 and s.assignments == ()
