"""A growing LP solved warm by HiGHS: rows and columns are added, and each solve starts from the last basis.

Sifting (:mod:`matcher.engine.sifting`) adds a few hundred columns (and the
rows they need) per round to an LP of tens of thousands of columns; a cold
solve of it costs GLOP 5-8 s per round on the district, a warm one costs HiGHS
a fraction of a second (BENCHMARKS.md has both). OR-Tools' ``model_builder``
rebuilds and solves its model from scratch on every call, so the warm solve
uses HiGHS's own Python interface, ``highspy`` (``Highs.addRows``,
``Highs.addCols``, then ``Highs.run`` from the current basis). Source: the
HiGHS documentation, "Modifying a model" and "Hot start".

The LP is ``max c·x`` subject to ``row <= upper`` and ``0 <= x <= 1``. Row duals
of a maximisation with ``<=`` rows come out ``>= 0`` (HiGHS's sign convention
for ``max``); the caller clips tolerance-sized negatives to 0.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import highspy
import numpy as np

from matcher.engine.types import F64, I64

__all__ = ["HIGHS_THREADS", "WarmLp", "WarmSolution", "new_highs", "run_highs"]

_BANNER_LOCK = threading.Lock()
_banner_done = False

HIGHS_THREADS = 1
"""HiGHS's ``threads`` option for every model matcher runs: one thread, no worker pool.

HiGHS runs parts of its MIP (presolve, the feasibility jump, symmetry detection) as tasks on a work-stealing pool
whose idle workers spin. With the pool's default size (2 here) and the cores taken by other processes, a
55,469-pair region MIP of the half-hour district ran 43.5 s under a 6 s limit, 39 s of it before the root node
(presolve and symmetry detection, where ``time_limit`` is not checked; 6.1-6.25 s with one thread), and
``matcher solve --time-limit 20`` ended after 26-62 s (18.9-19.2 s with one thread; BENCHMARKS.md, 3 December).
matcher runs its own work beside HiGHS (the bound, the pricing terms), so the pool bought little: on a quiet
machine the same solves give the same answers, the half-hour district's whole-region MIP about 1 s slower.
Source: HiGHS's options (``threads``) and ``Highs::resetGlobalScheduler``.
"""


def new_highs() -> highspy.Highs:
    """A silent ``Highs``; the first one in a process prints a banner to file descriptor 1, which is muted."""
    global _banner_done
    with _BANNER_LOCK:
        if _banner_done:
            h = highspy.Highs()  # type: ignore[no-untyped-call]
        else:  # the banner is C++ output on stdout, which a caller may be reading (``matcher run`` prints a path)
            saved = os.dup(1)
            try:
                with open(os.devnull, "w", encoding="ascii") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()  # type: ignore[no-untyped-call]
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _banner_done = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", HIGHS_THREADS)
    return h


def run_highs(h: highspy.Highs) -> highspy.HighsStatus:
    """``h.run()`` with :data:`HIGHS_THREADS`, or with HiGHS's pool as another user of the process sized it.

    HiGHS keeps one thread pool per process, sized by the first ``run``; a later ``run`` asking another size
    fails at once (``HighsStatus.kError``, model status ``kNotset``). A program that imports matcher and ran HiGHS
    before it gets its own pool's size for matcher's models (``threads`` 0 takes the pool as it is).
    """
    status = h.run()
    if status == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        h.setOptionValue("threads", 0)
        status = h.run()
    return status


@dataclass(frozen=True, eq=False)
class WarmSolution:
    """Column values ``x`` (float64, one per column), row duals (float64, one per row) and the objective value."""

    x: F64
    row_dual: F64
    value: float
    seconds: float
    iterations: int


class WarmLp:
    """``max c·x, A x <= upper, 0 <= x <= 1``, grown by :meth:`add_rows` and :meth:`add_cols`.

    ``threads`` is accepted for symmetry with the other solvers and not used:
    HiGHS's thread pool is process-wide, so every model runs with
    :data:`HIGHS_THREADS` (:func:`run_highs`). ``presolve_first``: the first
    (cold) solve runs HiGHS's presolve; its answer still comes with a basis of
    the model as it is, from which the later solves go on without it.
    """

    def __init__(self, threads: int = 1, presolve_first: bool = False) -> None:
        self.h = new_highs()
        self.presolve_first = presolve_first
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.rows = 0
        self.cols = 0
        self.solved = False

    def add_rows(self, upper: F64, row: I64, col: I64, val: F64) -> None:
        """Append ``len(upper)`` rows ``<= upper``: entry ``k`` is ``val[k]`` at new row ``row[k]``, column ``col[k]``.

        ``row`` counts from 0 for the first new row; ``col`` are existing columns.
        """
        n = len(upper)
        if n == 0:
            return
        order = np.argsort(row, kind="stable")
        starts = np.searchsorted(row[order], np.arange(n)).astype(np.int32)
        self.h.addRows(n, np.full(n, -highspy.kHighsInf), upper.astype(float), len(order), starts,
                       col[order].astype(np.int32), val[order].astype(float))
        self.rows += n

    def add_cols(self, cost: F64, col: I64, row: I64, val: F64) -> None:
        """Append ``len(cost)`` columns in [0, 1]: entry ``k`` is ``val[k]`` at row ``row[k]``, new col ``col[k]``."""
        n = len(cost)
        if n == 0:
            return
        order = np.argsort(col, kind="stable")
        starts = np.searchsorted(col[order], np.arange(n)).astype(np.int32)
        self.h.addCols(n, cost.astype(float), np.zeros(n), np.ones(n), len(order), starts,
                       row[order].astype(np.int32), val[order].astype(float))
        self.cols += n

    def solve(self, wall_s: float, primal: bool = False) -> WarmSolution | None:
        """Solve from the current basis within ``wall_s`` seconds; ``None`` when no optimum was reached.

        ``primal`` picks the primal simplex (for a basis that added columns left primal feasible), else the dual.
        """
        t0 = time.perf_counter()
        self.h.setOptionValue("simplex_strategy", 4 if primal else 1)
        # a warm start needs the model as it is: no presolve, but on a cold first solve that asks for it (its answer
        # comes with a basis of the model as it is, from which the later solves go on)
        self.h.setOptionValue("presolve", "on" if self.presolve_first and not self.solved else "off")
        self.solved = True
        # HiGHS counts its time limit over the object's life, not per run
        self.h.setOptionValue("time_limit", float(self.h.getRunTime()) + max(0.05, float(wall_s)))
        run_highs(self.h)
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = self.h.getSolution()
        info = self.h.getInfo()
        return WarmSolution(np.asarray(sol.col_value, dtype=float), np.asarray(sol.row_dual, dtype=float),
                            float(info.objective_function_value), time.perf_counter() - t0,
                            int(info.simplex_iteration_count))
