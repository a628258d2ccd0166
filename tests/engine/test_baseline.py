"""The greedy dispatcher keeps every hard rule and never beats the engine's coverage."""

from __future__ import annotations

import pytest
from conftest import DATA
from instances import tight_problem
from oracle import coverage, violations

from matcher import PinnedError, Problem, SolveOptions, greedy_dispatch, load_problem, solve


def test_greedy_on_tiny(tiny: Problem) -> None:
    g = greedy_dispatch(tiny)
    # most urgent first: a takes d1 (nurse), b takes d2 (a overlaps), a takes d3 (touches d1's end)
    assert {(a.volunteer_id, a.demand_id) for a in g.assignments} == {("a", "d1"), ("b", "d2"), ("a", "d3")}
    assert violations(tiny, g) == []


@pytest.mark.parametrize("seed", range(4))
def test_greedy_is_feasible_and_no_better_than_the_engine(seed: int) -> None:
    p = tight_problem(200 + seed)
    g = greedy_dispatch(p)
    s = solve(p, SolveOptions(time_limit_s=20))
    assert violations(p, g) == []
    assert g.coverage == coverage(p, g) <= s.coverage <= g.coverage_bound
    assert g.stats["engine"] == "greedy"


def test_engine_beats_greedy_somewhere() -> None:
    gaps = []
    for seed in range(300, 304):
        p = tight_problem(seed)
        gaps.append(solve(p, SolveOptions(time_limit_s=20)).coverage - greedy_dispatch(p).coverage)
    assert min(gaps) >= 0 and max(gaps) > 0


def test_greedy_keeps_pinned_and_rejects_bad_pins(tiny: Problem) -> None:
    with pytest.raises(PinnedError, match="rule 1"):
        greedy_dispatch(load_problem(DATA / "pinned_skill.json"))
    p = tiny.replace(pinned=[{"volunteer_id": "a", "demand_id": "d2"}])
    g = greedy_dispatch(p)
    assert ("a", "d2") in {(a.volunteer_id, a.demand_id) for a in g.assignments}
    assert violations(p, g) == []
