"""Candidate generation equals brute force (SPEC rules 1-5) pair by pair."""

from __future__ import annotations

import numpy as np
import pytest
from instances import tight_problem
from oracle import pair_ok

from matcher.engine import candidates
from matcher.engine.arrays import build_arrays, distinct_rows
from matcher.engine.candidates import candidate_pairs


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize(("seed", "lat_shift"), [(0, 0.0), (1, 25.0), (2, -45.0), (3, 30.0)])
def test_candidates_equal_brute_force(seed: int, lat_shift: float, workers: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(candidates, "MIN_PART_DEMANDS", 1)  # every search split over the threads
    p = tight_problem(seed, n_vol=160, n_dem=90)
    rng = np.random.default_rng(seed)
    # spread points over ~6 km and mix travel radii so every cell offset and radius bucket is used
    vols = [v.model_copy(update={"lat": v.lat + lat_shift + float(rng.uniform(-0.03, 0.03)),
                                 "max_travel_km": float(rng.choice([0.3, 1.0, 2.0, 4.5]))})
            for v in p.volunteers]
    dems = [d.model_copy(update={"lat": (d.lat or 0) + lat_shift + float(rng.uniform(-0.03, 0.03))})
            for d in p.demands]
    q = p.replace(volunteers=vols, demands=dems)
    arr = build_arrays(q)
    pairs = candidate_pairs(arr, workers=workers)
    got = {(arr.volunteer_ids[v], arr.demand_ids[d]) for v, d in zip(pairs.v.tolist(), pairs.d.tolist())}
    # the engine also drops pairs no single task fits (max_tasks 0, or the demand longer than max_hours)
    want = {
        (v.id, d.id)
        for v in q.volunteers
        for d in q.demands
        if pair_ok(q, v, d) and v.max_tasks > 0 and (d.end - d.start).total_seconds() / 3600 <= v.max_hours
    }
    assert got == want
    assert len(want) > 100  # the case is not trivial


def test_the_threads_of_the_search_find_the_same_pairs_in_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(candidates, "MIN_PART_DEMANDS", 7)
    arr = build_arrays(tight_problem(5, n_vol=300, n_dem=150))
    one = candidate_pairs(arr, workers=1)
    assert len(one) > 500 and bool((np.diff(arr.pair_key(one.v, one.d)) > 0).all())  # sorted, each pair once
    for workers in (2, 4, 40):
        for check_time, inner_only in ((True, False), (False, False), (False, True)):  # (the ladder's searches too)
            one = candidate_pairs(arr, check_time=check_time, inner_only=inner_only, workers=1)
            many = candidate_pairs(arr, check_time=check_time, inner_only=inner_only, workers=workers)
            assert np.array_equal(one.v, many.v) and np.array_equal(one.d, many.d)
            assert np.array_equal(one.km, many.km)


def test_distinct_rows_are_numpys_groups() -> None:
    rng = np.random.default_rng(4)
    for _ in range(300):
        rows = rng.integers(-3, 3, (int(rng.integers(0, 60)), int(rng.integers(1, 4)))).astype(np.int64)
        rows *= 2 ** int(rng.choice([0, 40, 61]))  # big numbers too, whose bytes sort otherwise
        first, inverse, counts = distinct_rows(rows)
        _, first_np, _, counts_np = np.unique(rows, axis=0, return_index=True, return_inverse=True,
                                              return_counts=True)
        assert sorted(first.tolist()) == sorted(first_np.tolist())  # the same groups, named by their first rows
        assert (rows[first][inverse] == rows).all() and sorted(counts.tolist()) == sorted(counts_np.tolist())
        assert all(first[g] == np.flatnonzero(inverse == g)[0] and counts[g] == (inverse == g).sum()
                   for g in range(len(first)))
        lead = rows[first][:, 0]
        assert (lead[1:] >= lead[:-1]).all()  # in order of the rows' numbers
