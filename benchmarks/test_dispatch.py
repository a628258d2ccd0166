"""A dispatcher's questions on the district: recommend and explain latency, next to the full solve.

    pytest benchmarks/test_dispatch.py -p no:cacheprovider --benchmark-enable --benchmark-only -s
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher import SolveOptions, explain_demand, recommend, solve
from matcher.tables import read_tables


def test_district_recommend_and_explain(benchmark: Any, preset_folder: Callable[[str], Path]) -> None:
    problem = read_tables(preset_folder("district"))
    t0 = time.perf_counter()
    solution = solve(problem, SolveOptions(time_limit_s=20))
    full = time.perf_counter() - t0
    unmet = sorted({u.demand_id for u in solution.unmet if u.reason.value in ("capacity_taken", "none_available")})
    asked = unmet[:: max(1, len(unmet) // 20)][:20]

    def ask() -> tuple[list[float], list[float]]:
        rec, exp = [], []
        for did in asked:
            t = time.perf_counter()
            recommend(problem, solution, did, k=5)
            rec.append(time.perf_counter() - t)
            t = time.perf_counter()
            explain_demand(problem, solution, did)
            exp.append(time.perf_counter() - t)
        return rec, exp

    rec, exp = benchmark.pedantic(ask, rounds=1, iterations=1)
    print(f"\n  full solve {full:.2f} s; over {len(asked)} unmet demands: recommend median "
          f"{statistics.median(rec) * 1000:.0f} ms, max {max(rec) * 1000:.0f} ms; explain median "
          f"{statistics.median(exp) * 1000:.0f} ms, max {max(exp) * 1000:.0f} ms")
    assert max(rec) < 3.0 and max(exp) < 3.0  # a dispatcher waits at most seconds (targets: BENCHMARKS.md)
