"""A dispatcher's questions on the district: recommend and explain latency, next to the full solve.

    pytest benchmarks/test_dispatch.py -p no:cacheprovider --benchmark-enable --benchmark-only -s
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher import SolveOptions, VolunteerUnavailable, explain_demand, recommend, repair, solve
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
    busy = sorted({a.volunteer_id for a in solution.assignments})[::4000][:5]
    fixes = []
    for vid in busy:
        t = time.perf_counter()
        r = repair(problem, solution, [VolunteerUnavailable(volunteer_id=vid)], SolveOptions(time_limit_s=20))
        fixes.append((time.perf_counter() - t, r.stats["repair"]["changed"], r.stats["repair"]["region_volunteers"],
                      r.coverage - solution.coverage, r.stats["seconds"].get("assess", 0.0)))
    print("\n  repair after one cancellation (seconds, changed, region volunteers, coverage change, assess s): "
          + "; ".join(f"{a:.2f} s, {b}, {c}, {d:+g}, {e:.2f}" for a, b, c, d, e in fixes))
    print(f"\n  full solve {full:.2f} s; over {len(asked)} unmet demands: recommend median "
          f"{statistics.median(rec) * 1000:.0f} ms, max {max(rec) * 1000:.0f} ms; explain median "
          f"{statistics.median(exp) * 1000:.0f} ms, max {max(exp) * 1000:.0f} ms")
    assert max(rec) < 3.0 and max(exp) < 3.0  # a dispatcher waits at most seconds (targets: BENCHMARKS.md)
