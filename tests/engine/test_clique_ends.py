"""The LP's stretched no-overlap intervals (``sequencing.clique_ends``) hold only pairs that truly clash.

Every task of a volunteer starting inside another's stretched interval must clash with it, by the rules as
the independent oracle states them (overlap, or too little time for the trip). A row over such intervals is
then a clique of the clash graph, and the LP and the Lagrangian bound stay relaxations.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from instances import tight_problem, v2_problem
from oracle import Trips, travel_clashes

from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs
from matcher.engine.context import Clock, SolveContext
from matcher.engine.sequencing import clique_ends
from matcher.model import Problem, SolveOptions

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(t: datetime) -> int:
    delta = t - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds


@pytest.mark.parametrize(("seed", "network", "steps"), [(0, False, 8), (1, False, 8), (2, True, 8), (3, False, 1),
                                                        (4, False, 0), (5, True, 2)])
def test_a_stretched_interval_holds_only_clashing_tasks(seed: int, network: bool, steps: int) -> None:
    p = v2_problem(seed, network=network)
    arr = build_arrays(p)
    pairs = candidate_pairs(arr)
    ends = clique_ends(arr, pairs.v, pairs.d, steps)
    assert (ends >= arr.d_end[pairs.d]).all()
    trips = Trips(p)
    vols = {v.id: v for v in p.volunteers}
    dems = {d.id: d for d in p.demands}
    stretched = 0
    for v in np.unique(pairs.v).tolist():
        mine = np.flatnonzero(pairs.v == v)
        vol = vols[arr.volunteer_ids[v]]
        tasks = [dems[arr.demand_ids[d]] for d in pairs.d[mine].tolist()]
        clash = {(a.id, b.id) for a, b in travel_clashes(p, trips, vol, tasks)}
        for a, end in zip(tasks, ends[mine].tolist(), strict=True):
            stretched += end > _us(a.end)
            for b in tasks:
                if b is a or not a.start <= b.start or _us(b.start) >= end:
                    continue
                overlap = b.start < a.end
                assert overlap or (a.id, b.id) in clash, (vol.id, a.id, b.id)
    assert stretched > 0  # the instances have back-to-back tasks in different places: some intervals do stretch


def test_without_travel_the_intervals_are_the_tasks() -> None:
    p = tight_problem(0, n_vol=60, n_dem=40, days=1)
    arr = build_arrays(p)
    pairs = candidate_pairs(arr)
    np.testing.assert_array_equal(clique_ends(arr, pairs.v, pairs.d), arr.d_end[pairs.d])
    ctx = SolveContext.build(arr, pairs, SolveOptions(time_limit_s=20), Clock())
    np.testing.assert_array_equal(ctx.clique_end_rank, arr.d_end_rank[ctx.rp.d])


def test_the_end_ranks_order_as_the_times_do() -> None:
    p: Problem = v2_problem(6)
    arr = build_arrays(p)
    ctx = SolveContext.build(arr, candidate_pairs(arr), SolveOptions(time_limit_s=20), Clock())
    ends = clique_ends(arr, ctx.rp.v, ctx.rp.d)
    starts_us, starts_rank = arr.d_start, arr.d_start_rank
    for e_us, e_rank in zip(ends[:400].tolist(), ctx.clique_end_rank[:400].tolist(), strict=True):
        np.testing.assert_array_equal(starts_us < e_us, starts_rank < e_rank)


@pytest.mark.parametrize(("seed", "network", "steps"), [(0, False, 32), (2, True, 8), (3, False, 1), (4, False, 0)])
def test_the_ends_of_some_tasks_are_those_of_all_tasks(seed: int, network: bool, steps: int) -> None:
    """``only`` (the sifting LP's first columns, while the rest are computed beside) changes no end."""
    p = v2_problem(seed, network=network)
    arr = build_arrays(p)
    pairs = candidate_pairs(arr)
    full = clique_ends(arr, pairs.v, pairs.d, steps)
    rng = np.random.default_rng(seed)
    for size in (0, 1, len(pairs) // 7, len(pairs)):
        only = rng.choice(len(pairs), size=size, replace=False).astype(np.int64)
        np.testing.assert_array_equal(clique_ends(arr, pairs.v, pairs.d, steps, only=only), full[only])
    ctx = SolveContext.build(arr, pairs, SolveOptions(time_limit_s=20), Clock())
    some = np.arange(0, len(ctx.rp), 3, dtype=np.int64)
    first = ctx.clique_end_rank_of(some)  # before the whole array is there: these pairs alone
    assert "clique_end_rank" not in ctx.__dict__
    np.testing.assert_array_equal(first, ctx.clique_end_rank[some])
    np.testing.assert_array_equal(ctx.clique_end_rank_of(some), first)  # and from the whole array after
    assert int(ctx.clique_end_rank.max()) < ctx.rank_span
    assert int(arr.d_start_rank.max()) < ctx.rank_span and int(arr.d_end_rank.max()) < ctx.rank_span


def test_without_travel_some_ends_are_the_tasks_ends() -> None:
    p = tight_problem(0, n_vol=60, n_dem=40, days=1)
    arr = build_arrays(p)
    pairs = candidate_pairs(arr)
    only = np.arange(0, len(pairs), 2, dtype=np.int64)
    np.testing.assert_array_equal(clique_ends(arr, pairs.v, pairs.d, only=only), arr.d_end[pairs.d[only]])
