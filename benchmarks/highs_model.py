"""matcher's coverage model as a HiGHS MIP, to compare solvers on exactly the same model.

The variables are matcher's own candidate pairs (``matcher.candidates``: rules 1-5
already applied); the rows are SPEC.md's rules 6-8 stated exactly:

- seats: ``sum_v x[v, d] <= headcount(d)`` (rule 6);
- no overlap (rule 7): for each volunteer and each start point of one of its
  candidate demands, the candidates whose window contains that point sum to at most 1.
  Every maximal set of pairwise-overlapping intervals contains the latest start
  among them, so these rows are all the maximal cliques (and a few smaller ones);
- tasks and hours (rule 8): ``sum x <= max_tasks``, ``sum hours(d) x <= max_hours``.

The objective is coverage, ``sum w(priority(d)) x[v, d]`` (SPEC.md objective 1).
The secondary objective is not part of this model: the comparison is on coverage.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csr_matrix

from matcher import Problem, SolveOptions
from matcher.arrays import build_arrays
from matcher.candidates import candidate_pairs
from matcher.costs import priority_weights


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
    v, d = pairs.v, pairs.d
    order = np.lexsort((arr.d_start[d], v))
    v, d = v[order], d[order]
    n = len(v)
    weight = priority_weights(SolveOptions())[arr.d_priority][d].astype(float)
    rows_i: list[np.ndarray] = []
    rows_j: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    n_rows = 0
    # seats
    rows_i.append(d.astype(np.int64))
    rows_j.append(np.arange(n))
    vals.append(np.ones(n))
    upper.append(arr.d_headcount.astype(float))
    n_rows += arr.nd
    # tasks and hours
    hours = arr.d_duration_us[d] / 3.6e9
    rows_i += [n_rows + v, n_rows + arr.nv + v]
    rows_j += [np.arange(n), np.arange(n)]
    vals += [np.ones(n), hours]
    upper += [arr.v_max_tasks.astype(float), arr.v_hours_cap_us / 3.6e9]
    n_rows += 2 * arr.nv
    # cliques at each start point, per volunteer
    start, end = arr.d_start[d], arr.d_end[d]
    bounds = np.flatnonzero(np.r_[True, v[1:] != v[:-1], True])
    ci: list[np.ndarray] = []
    cj: list[np.ndarray] = []
    for lo, hi in itertools.pairwise(bounds.tolist()):
        if hi - lo < 2:
            continue
        s, e = start[lo:hi], end[lo:hi]
        inside = (s[None, :] <= s[:, None]) & (s[:, None] < e[None, :])  # row: point s_i; column: pair j
        keep = inside.sum(axis=1) >= 2
        if not keep.any():
            continue
        inside = np.unique(inside[keep], axis=0)
        r, c = np.nonzero(inside)
        ci.append(n_rows + r)
        cj.append(lo + c)
        n_rows += inside.shape[0]
    if ci:
        rows_i.append(np.concatenate(ci))
        rows_j.append(np.concatenate(cj))
        vals.append(np.ones(sum(len(x) for x in ci)))
        upper.append(np.ones(n_rows - (arr.nd + 2 * arr.nv)))
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(rows_j))), shape=(n_rows, n))
    row_upper = np.concatenate(upper)

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", threads)
    h.setOptionValue("mip_rel_gap", 0.0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, n_rows
    lp.col_cost_ = weight
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

    from matcher.io import load_problem
    from matcher.tables import read_tables

    path = sys.argv[1]
    from pathlib import Path

    prob = read_tables(path) if Path(path).is_dir() else load_problem(path)
    limit = float(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 600.0
    print(build_and_solve(prob, time_limit_s=limit, relax="--relax" in sys.argv))
