"""Fuzzing: valid and near-valid problems, as JSON data and as CSV tables.

Each drawn problem is either refused with a :class:`ProblemError` (a
:class:`PinnedError` is one) or solved within its time limit into a solution
that breaks no hard rule. Nothing else may happen: no other exception, no hang.

Profiles (``tests/conftest.py``): the default run draws 60 examples per test;
``pytest tests/test_fuzz.py --hypothesis-profile=long`` draws 3,000.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from oracle import violations
from strategies import near_valid_data, to_csv

from matcher import Problem, ProblemError, Solution, SolveOptions, solve
from matcher.io import COLUMNS, read_tables

LIMIT_S = 2.0
MARGIN_S = 1.0
"""A solve may overrun its limit by this much (writing the report); the engine's own figure is in RELIABILITY.md."""


def check(problem: Problem) -> None:
    """Solve within the limit; every hard rule holds (a PinnedError is an allowed refusal)."""
    try:
        s = solve(problem, SolveOptions(time_limit_s=LIMIT_S))
    except ProblemError:
        event("refused when solving (pinned pairs break a rule)")
        return
    event(f"solved: {len(s.assignments)} assignments" if s.assignments else "solved: nothing to assign")
    assert isinstance(s, Solution)
    assert violations(problem, s) == []
    assert s.runtime_s <= LIMIT_S + MARGIN_S


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(near_valid_data())
def test_near_valid_data_is_refused_or_solved(data: dict[str, Any]) -> None:
    try:
        problem = Problem.from_dict(data)
    except ProblemError as exc:
        assert exc.errors and all(isinstance(e, str) and e for e in exc.errors)
        event("refused when validating")
        return
    check(problem)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.function_scoped_fixture])
@given(near_valid_data(), st.sampled_from(["", "\x00", '"', "a,b", "\n", "1;2", "NaN", "-0", "1e999"]))
def test_near_valid_tables_are_refused_or_solved(tmp_path_factory: Any, data: dict[str, Any], cell: str) -> None:
    folder: Path = tmp_path_factory.mktemp("t")
    for name, rows in data.items():
        if name in COLUMNS and (rows or name in ("volunteers", "demands")):
            text = to_csv(rows, COLUMNS[name])
            if cell and rows and name == "volunteers":  # one raw cell, as a spreadsheet might export it
                text = text.replace(",", f",{cell}", 1) if len(text) % 2 else text + cell
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    try:
        problem = read_tables(folder)
    except ProblemError as exc:
        assert exc.errors
        event("refused when reading")
        return
    check(problem)
