"""One baseline on one instance, in its own process (so its wall time and peak memory are its own).

    python benchmarks/baselines.py KIND FOLDER LIMIT

prints one JSON line: ``coverage``, ``bound`` (a proven upper bound, or null),
``status``, ``build_s`` and ``solve_s``. The kinds:

- ``highs-lp`` / ``highs-mip``: HiGHS on matcher's own model (``highs_model.py``), time-limited;
- ``cpsat``: CP-SAT on the same candidate pairs, written as a developer would by hand: one Boolean
  per pair, a sum per demand, per volunteer a task sum, an hour sum and ``AddNoOverlap`` over
  optional intervals, coverage maximised, one worker, time-limited;
- ``greedy``: ``matcher.greedy_dispatch`` (most urgent first, nearest free volunteer).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from matcher import SolveOptions, greedy_dispatch
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.costs import priority_weights
from matcher.io import read_tables


def raw_cpsat(folder: str, limit: float) -> dict[str, object]:
    """CP-SAT as written by hand on matcher's candidate pairs (see the module docstring)."""
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    arr = build_arrays(read_tables(folder))
    pairs = candidate_pairs(arr)
    w = priority_weights(SolveOptions())[arr.d_priority]
    start_s = (arr.d_start - arr.d_start.min()) // 1_000_000
    dur_s = arr.d_duration_us // 1_000_000
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(pairs))]
    by_d: dict[int, list[int]] = {}
    by_v: dict[int, list[int]] = {}
    for i, (v, d) in enumerate(zip(pairs.v.tolist(), pairs.d.tolist())):
        by_d.setdefault(d, []).append(i)
        by_v.setdefault(v, []).append(i)
    for d, idx in by_d.items():
        model.add(sum(x[i] for i in idx) <= int(arr.d_headcount[d]))
    for v, idx in by_v.items():
        ds = pairs.d[idx]
        model.add(sum(x[i] for i in idx) <= int(arr.v_max_tasks[v]))
        model.add(sum(int(dur_s[d]) * x[i] for i, d in zip(idx, ds.tolist())) <= int(arr.v_hours_cap_us[v] // 10**6))
        model.add_no_overlap([model.new_optional_fixed_size_interval_var(int(start_s[d]), int(dur_s[d]), x[i], "")
                              for i, d in zip(idx, ds.tolist())])
    model.maximize(sum(int(w[d]) * x[i] for i, d in enumerate(pairs.d.tolist())))
    build = time.perf_counter() - t0
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = 1
    t1 = time.perf_counter()
    status = solver.solve(model)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return {"coverage": float(solver.objective_value) if found else 0.0,
            "bound": float(solver.best_objective_bound) if found else None,
            "status": solver.status_name(status), "build_s": round(build, 2),
            "solve_s": round(time.perf_counter() - t1, 2)}


def main(kind: str, folder: str, limit: float) -> dict[str, object]:
    """Run one baseline and return its line."""
    if kind in ("highs-lp", "highs-mip"):
        from highs_model import build_and_solve

        h = build_and_solve(read_tables(folder), time_limit_s=limit, relax=kind == "highs-lp")
        found = h.status in ("Optimal", "Time limit reached") and np.isfinite(h.coverage)
        return {"coverage": h.coverage if kind == "highs-mip" and found else None,
                "bound": h.bound if np.isfinite(h.bound) else None, "status": h.status,
                "build_s": round(h.build_seconds, 2), "solve_s": round(h.seconds, 2)}
    if kind == "cpsat":
        return raw_cpsat(folder, limit)
    if kind == "greedy":
        t0 = time.perf_counter()
        problem = read_tables(folder)
        t1 = time.perf_counter()
        g = greedy_dispatch(problem)
        return {"coverage": g.coverage, "bound": g.coverage_bound, "status": g.status.value,
                "build_s": round(t1 - t0, 2), "solve_s": round(time.perf_counter() - t1, 2)}
    raise SystemExit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
