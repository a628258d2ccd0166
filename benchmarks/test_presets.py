"""The presets end to end, timed by phase, with quality asserted and two baselines side by side.

Run everything (about 9 minutes on the 2-core machine; HiGHS on ``street`` and the district at 300 s take most of it)::

    pytest benchmarks -p no:cacheprovider --benchmark-enable --benchmark-only -s

Each case prints one line that BENCHMARKS.md copies. The pipeline case times
what ``matcher solve FOLDER`` does in one process: load the Parquet tables,
solve, write the solution; the solve's own phases come from ``Solution.stats``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from oracle import violations

from matcher import Problem, Solution, SolveOptions, Status, greedy_dispatch, solve
from matcher.io import read_tables, write_json_atomic
from matcher.workflows.batch import WRITE_SHARE

LIMITS = {"community": 10.0, "street": 30.0, "district": 20.0}
"""The ``--time-limit`` each preset runs with (the district target: 20 s end to end). At 20 s the street
ends 2 short of the optimum (15,936 against 15,938, 2026-11-23); at 30 s it reaches it."""

GAP_AT_MOST = {"community": 0.0, "street": 0.005, "district": 0.04}
"""Largest gap (coverage vs proven bound) accepted; measured values are in BENCHMARKS.md."""

_solved: dict[str, tuple[Problem, Solution]] = {}


def _pipeline(folder: Path, out: Path, limit: float) -> tuple[Problem, Solution, dict[str, float]]:
    t0 = time.perf_counter()
    problem = read_tables(folder)
    t_load = time.perf_counter() - t0
    solution = solve(problem, SolveOptions(time_limit_s=limit), deadline=t0 + limit * (1 - WRITE_SHARE))
    t1 = time.perf_counter()
    write_json_atomic(out, solution)
    t_write = time.perf_counter() - t1
    phases = {"load": round(t_load, 2), **solution.stats["seconds"], "write": round(t_write, 2),
              "total": round(time.perf_counter() - t0, 2)}
    return problem, solution, phases


def _travel(s: Solution) -> tuple[float, float]:
    km = [a.travel_km for a in s.assignments]
    return round(sum(km), 1), round(sum(km) / max(len(km), 1), 3)


@pytest.mark.parametrize("preset", ["community", "street", "district"])
def test_pipeline_and_greedy(benchmark: Any, preset_folder: Callable[[str], Path], tmp_path: Path,
                             preset: str) -> None:
    folder = preset_folder(preset)
    problem, s, phases = benchmark.pedantic(_pipeline, args=(folder, tmp_path / "solution.json", LIMITS[preset]),
                                            rounds=1, iterations=1)
    _solved[preset] = (problem, s)
    # quality: every hard rule (independent checker), every seat accounted for, the bound respected
    assert violations(problem, s) == []
    assert len(s.assignments) + sum(u.missing for u in s.unmet) == sum(d.headcount for d in problem.demands)
    assert s.status in (Status.OPTIMAL, Status.FEASIBLE) and s.coverage <= s.coverage_bound
    assert s.gap <= GAP_AT_MOST[preset]
    g = greedy_dispatch(problem)
    assert violations(problem, g) == []
    assert s.coverage >= g.coverage
    if preset == "district":
        assert s.coverage > g.coverage
    benchmark.extra_info.update(phases=phases, coverage=s.coverage, bound=s.coverage_bound, greedy=g.coverage)
    print(f"\n  {preset}: {len(problem.volunteers)} volunteers x {len(problem.demands)} demands, "
          f"{s.stats['candidate_pairs']} pairs; phases {phases}; peak {s.stats['peak_memory_mib']} MiB")
    for name, x in (("matcher", s), ("greedy", g)):
        total, mean = _travel(x)
        k = x.kpis
        print(f"  {name:8s} coverage {x.coverage:>9g}  bound {x.coverage_bound:>9g}  filled {k['filled']:>6}  "
              f"weighted fill {k['weighted_fill_rate']:.4f}  priority-5 rate {k['coverage_by_priority']['5']['rate']}"
              f"  travel {total} km (mean {mean} km)")


HIGHS_LIMIT = {"community": 600.0, "street": 1800.0}
"""HiGHS gets this long on the MIP; on ``street`` it needed about 250 s (2026-11-23). On ``district``
it did not finish in 90 minutes (see BENCHMARKS.md), so the suite does not run it there."""


@pytest.mark.parametrize("preset", ["community", "street"])
def test_highs_on_the_same_model(benchmark: Any, preset_folder: Callable[[str], Path], preset: str) -> None:
    from highs_model import build_and_solve

    problem = read_tables(preset_folder(preset))
    s = _solved[preset][1] if preset in _solved else solve(problem, SolveOptions(time_limit_s=LIMITS[preset]))
    h = benchmark.pedantic(build_and_solve, args=(problem,), kwargs={"time_limit_s": HIGHS_LIMIT[preset]},
                           rounds=1, iterations=1)
    print(f"\n  {preset}: HiGHS {h.status} coverage {h.coverage:g} bound {h.bound:g} in {h.seconds:.1f} s "
          f"(+{h.build_seconds:.1f} s to build; {h.columns} columns, {h.rows} rows); matcher coverage "
          f"{s.coverage:g} bound {s.coverage_bound:g} in {s.runtime_s:.2f} s; time ratio "
          f"{h.seconds / max(s.runtime_s, 1e-9):.1f}x; matcher/optimum {s.coverage / max(h.coverage, 1):.5f}")
    # both bounds are valid, so each solver's answer stays under the other's bound
    assert s.coverage <= h.bound + 1e-6 and h.coverage <= s.coverage_bound + 1e-6
    assert h.status == "Optimal"
    assert s.coverage == h.coverage  # matcher reaches HiGHS's proven optimum (street: through the LP tier)


def test_district_long_limit(benchmark: Any, preset_folder: Callable[[str], Path]) -> None:
    """The nightly run can afford minutes: with a 300 s limit the LP tier runs on the district."""
    problem = read_tables(preset_folder("district"))
    s = benchmark.pedantic(solve, args=(problem, SolveOptions(time_limit_s=300)), rounds=1, iterations=1)
    assert violations(problem, s) == []
    assert "lp" in s.stats and s.stats["lp"]["solved"]
    assert s.gap < 0.002  # measured 0.06% (2026-11-23)
    print(f"\n  district, limit 300 s: {s.status.value} coverage {s.coverage:g} bound {s.coverage_bound:g} "
          f"gap {s.gap:.4%} in {s.runtime_s:.1f} s; phases {s.stats['seconds']}; engine {s.stats['engine']}")
