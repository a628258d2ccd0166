"""HiGHS's thread pool: matcher's models run on one thread, and still run when another user sized the pool.

HiGHS keeps one pool per process, sized by its first ``run``. With its default
size, parts of a region MIP spun on idle workers while other processes held
the cores, and ``matcher solve --time-limit 20`` ended after 26-62 s
(``benchmarks/test_side_by_side.py::test_matcher_on_a_busy_machine`` times it).
"""

from __future__ import annotations

from collections.abc import Iterator

import highspy
import numpy as np
import pytest

from matcher.engine.solvers.warm_lp import HIGHS_THREADS, WarmLp, new_highs, run_highs


@pytest.fixture
def fresh_pool() -> Iterator[None]:
    """No HiGHS pool at the start (the next ``run`` sizes it), and none left behind for the tests after."""
    highspy.Highs.resetGlobalScheduler(True)
    yield
    highspy.Highs.resetGlobalScheduler(True)


def _knapsack(h: highspy.Highs) -> highspy.Highs:
    """``max 3a + 2b + 2c`` over binaries with ``2a + b + c <= 2``: the optimum is 4 (``b = c = 1``)."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 3, 1
    lp.col_cost_ = np.array([3.0, 2.0, 2.0])
    lp.col_lower_, lp.col_upper_ = np.zeros(3), np.ones(3)
    lp.row_lower_, lp.row_upper_ = np.array([-highspy.kHighsInf]), np.array([2.0])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array([0, 3], dtype=np.int32)
    lp.a_matrix_.index_ = np.array([0, 1, 2], dtype=np.int32)
    lp.a_matrix_.value_ = np.array([2.0, 1.0, 1.0])
    lp.integrality_ = [highspy.HighsVarType.kInteger] * 3
    h.passModel(lp)
    return h


def _other_users_highs(threads: int) -> highspy.Highs:
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    return h


def test_matchers_models_size_the_pool_to_one_thread(fresh_pool: None) -> None:
    assert HIGHS_THREADS == 1
    h = _knapsack(new_highs())
    assert run_highs(h) == highspy.HighsStatus.kOk
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal and h.getInfo().objective_function_value == 4
    # the pool now has one thread: a model asking for two is refused (it would run if matcher's setting were lost)
    assert _knapsack(_other_users_highs(2)).run() == highspy.HighsStatus.kError


@pytest.mark.parametrize("threads", [2, 3])
def test_a_pool_another_user_sized_first_still_runs_matchers_models(fresh_pool: None, threads: int) -> None:
    other = _knapsack(_other_users_highs(threads))
    assert other.run() == highspy.HighsStatus.kOk  # the host program ran HiGHS first, sizing the pool
    h = _knapsack(new_highs())
    assert run_highs(h) == highspy.HighsStatus.kOk
    assert h.getInfo().objective_function_value == 4
    lp = WarmLp()  # the sifting LP's warm model: max x0 + x1, x0 + x1 <= 1.5
    lp.add_rows(np.array([1.5]), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    lp.add_cols(np.array([1.0, 1.0]), np.array([0, 1]), np.array([0, 0]), np.array([1.0, 1.0]))
    sol = lp.solve(5.0)
    assert sol is not None and sol.value == pytest.approx(1.5)
