"""One restricted LP of the sifting loop: a working set of columns, solved cold for values and duals.

The LP is ``max c·x`` subject to ``A x <= upper`` and ``0 <= x <= 1``, with ``A``
given as a CSR matrix (rows × working columns). It is handed whole to OR-Tools'
``model_builder`` and solved from scratch by one of the LP engines it drives:
the HiGHS it bundles (dual simplex, the default) or GLOP. Sifting keeps the
working set small (tens of thousands of columns on the district), so a cold
solve of it takes well under a second to a few seconds; the benchmarks in
BENCHMARKS.md compare this with a warm-started solve.

Returned duals follow the textbook sign for a maximisation with ``<=`` rows:
``row_dual >= 0`` (a small negative value from the solver's tolerances is
clipped to 0 by the caller, which keeps any dual bound built from them valid).
Source: OR-Tools ``model_builder`` (``ModelBuilder.helper.fill_model_from_sparse_data``,
``Solver.dual_values``); HiGHS documentation on dual values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb
from scipy.sparse import csr_matrix

from matcher.engine.types import F64

__all__ = ["RestrictedResult", "solve_restricted"]


@dataclass(frozen=True, eq=False)
class RestrictedResult:
    """Values ``x`` (float64, one per working column), ``row_dual`` (float64, one per row) and the LP value."""

    x: F64 | None
    """``None`` when the solver stopped without an optimum."""
    row_dual: F64 | None
    value: float
    seconds: float


def solve_restricted(a: csr_matrix, upper: F64, objective: F64, wall_s: float,
                     engine: str = "highs") -> RestrictedResult:
    """Solve ``max objective·x, a x <= upper, 0 <= x <= 1`` from scratch.

    Parameters
    ----------
    a
        CSR matrix, shape ``(m, n)``, float64.
    upper
        Row upper bounds, shape ``(m,)``, float64.
    objective
        Column weights, shape ``(n,)``, float64.
    wall_s
        Wall-clock cap in seconds; the solve returns ``x = None`` when it is reached.
    engine
        ``"highs"`` (OR-Tools' bundled HiGHS) or ``"glop"``.

    """
    t0 = time.perf_counter()
    m, n = a.shape
    model = mb.ModelBuilder()  # type: ignore[no-untyped-call]
    # (OR-Tools' stubs spell the array type wrongly; the call takes float64 arrays and a CSR matrix)
    model.helper.fill_model_from_sparse_data(
        np.zeros(n), np.ones(n), objective, np.full(m, -np.inf), upper, a  # type: ignore[arg-type]
    )
    model.helper.set_maximize(True)
    solver = mb.Solver(engine)
    solver.enable_output(False)
    solver.set_time_limit_in_seconds(max(0.05, wall_s))
    status = solver.solve(model)
    if status != mb.SolveStatus.OPTIMAL:
        return RestrictedResult(None, None, float("nan"), time.perf_counter() - t0)
    x = solver.values(model.get_variables()).to_numpy(dtype=float)
    duals = solver.dual_values(model.get_linear_constraints()).to_numpy(dtype=float)
    return RestrictedResult(x, duals, float(solver.objective_value), time.perf_counter() - t0)
