"""Candidate generation equals brute force (SPEC rules 1-5) pair by pair."""

from __future__ import annotations

import numpy as np
import pytest
from instances import tight_problem
from oracle import pair_ok

from matcher.engine.arrays import build_arrays
from matcher.engine.candidates import candidate_pairs


@pytest.mark.parametrize(("seed", "lat_shift"), [(0, 0.0), (1, 25.0), (2, -45.0), (3, 30.0)])
def test_candidates_equal_brute_force(seed: int, lat_shift: float) -> None:
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
    pairs = candidate_pairs(arr)
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
