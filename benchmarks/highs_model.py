"""matcher's coverage model as a HiGHS MIP, to compare solvers on exactly the same model.

The variables are matcher's own candidate pairs (``matcher.candidates``: rules 1-5
already applied); the rows are the ones matcher's LP tier relaxes
(``matcher.solvers.lp.model_rows``), stating SPEC.md's rules 6-8 exactly:

- seats: ``sum_v x[v, d] <= headcount(d)`` (rule 6);
- no overlap (rule 7): for each volunteer, one row per maximal set of its
  candidate demands whose windows share a point;
- tasks and hours (rule 8): ``sum x <= max_tasks``, ``sum hours(d) x <= max_hours``.

The objective is coverage, ``sum w(priority(d)) x[v, d]`` (SPEC.md objective 1).
The secondary objective is not part of this model: the comparison is on coverage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from matcher import Problem, SolveOptions
from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.costs import priority_weights
from matcher.engine.solvers.lp import LpInput, model_rows


@dataclass
class HighsResult:
    """What HiGHS reached on the model."""

    status: str
    coverage: float
    bound: float
    seconds: float
    build_seconds: float
    columns: int
    rows: int


def build_and_solve(problem: Problem, *, time_limit_s: float, relax: bool = False, threads: int = 1) -> HighsResult:
    """Build the MIP (or its LP relaxation) on matcher's candidate pairs and solve it with HiGHS."""
    t0 = time.perf_counter()
    assert not problem.pinned, "the benchmark instances have no pinned pairs"
    arr = build_arrays(problem)
    pairs = candidate_pairs(arr)
    order = np.lexsort((arr.d_start[pairs.d], pairs.v))
    v, d = pairs.v[order], pairs.d[order]
    n = len(v)
    weight = priority_weights(SolveOptions())[arr.d_priority][d]
    a, row_upper = model_rows(LpInput(v, d, arr.d_start[d], arr.d_end[d], weight, np.zeros(n, dtype=np.int64),
                                      arr.v_max_tasks, arr.v_hours_cap_us, arr.d_headcount))
    n_rows = a.shape[0]

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", threads)
    h.setOptionValue("mip_rel_gap", 0.0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, n_rows
    lp.col_cost_ = weight.astype(float)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(n_rows, -highspy.kHighsInf)
    lp.row_upper_ = row_upper
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t1
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    if relax:
        value = bound = float(info.objective_function_value)
    else:
        value, bound = float(info.objective_function_value), float(info.mip_dual_bound)
    return HighsResult(status, value, bound, seconds, build, n, n_rows)


if __name__ == "__main__":  # python benchmarks/highs_model.py PROBLEM [SECONDS] [--relax]
    import sys

    from matcher.io import load_problem, read_tables

    path = sys.argv[1]
    from pathlib import Path

    prob = read_tables(path) if Path(path).is_dir() else load_problem(path)
    limit = float(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 600.0
    print(build_and_solve(prob, time_limit_s=limit, relax="--relax" in sys.argv))
