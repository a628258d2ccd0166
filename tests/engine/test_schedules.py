"""The Lagrangian bound's subproblems against brute force: each volunteer's best chain under rule 7b
(:func:`~matcher.engine.schedules.chain_values`) and the core with its travel clashes and crews
(:func:`~matcher.engine.solvers.core_mip.solve_core`)."""

from __future__ import annotations

from itertools import combinations, pairwise, product

import numpy as np
import pytest

from matcher.engine.schedules import chain_values, schedule_values
from matcher.engine.solvers.core_mip import CoreCrews, CoreInput, solve_core


@pytest.mark.parametrize("seed", range(60))
def test_chain_values_equal_brute_force(seed: int) -> None:
    """The best chain (consecutive tasks tested) by brute force, at least the best set tested on every pair,
    and without trips the same as the interval schedules; times near the epoch's µs (as the engine's are)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    v = rng.integers(0, 3, size=n)
    s = rng.integers(0, 30, size=n) + 1_800_000_000_000_000
    e = s + rng.integers(1, 8, size=n)
    w = rng.integers(1, 50, size=n)
    cap = rng.integers(0, 5, size=3)
    trip = rng.integers(0, 7, size=(n, n))
    horizon = 7

    def follows(a: int, b: int) -> bool:
        return bool(e[a] <= s[b] and (s[b] - e[a] >= horizon or s[b] - e[a] >= trip[a, b]))

    owners, values = chain_values(v, s, e, w, cap, horizon, lambda i, j: s[j] - e[i] >= trip[i, j])
    assert owners.tolist() == sorted(set(v.tolist()))
    for o, got in zip(owners.tolist(), values.tolist()):
        mine = np.flatnonzero(v == o).tolist()
        chains, plans = [0], [0]
        for k in range(1, min(int(cap[o]), len(mine)) + 1):
            for pick in combinations(mine, k):
                p = sorted(pick, key=lambda a: (e[a], s[a]))
                value = int(w[list(pick)].sum())
                if all(follows(a, b) for a, b in pairwise(p)):
                    chains.append(value)
                if all(follows(a, b) for a, b in combinations(p, 2)):
                    plans.append(value)
        assert got == max(chains) >= max(plans)
    same = chain_values(v, s, e, w, cap, 1, lambda i, j: np.ones(len(i), dtype=bool))
    plain = schedule_values(v, s, e, w, cap)
    assert same[0].tolist() == plain[0].tolist() and same[1].tolist() == plain[1].tolist()


@pytest.mark.parametrize("seed", range(40))
def test_the_core_states_clashes_and_crews_exactly(seed: int) -> None:
    """solve_core's optimum equals brute force over every choice of pairs and crews' ``y``."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 10))
    nv, nd = 3, 4
    v = np.sort(rng.integers(0, nv, size=n))
    d = rng.integers(0, nd, size=n)
    start = rng.integers(0, 20, size=n)
    order = np.lexsort((start, v))
    v, d, start = v[order], d[order], start[order]
    end = start + rng.integers(1, 5, size=n)
    weight = rng.integers(-5, 30, size=n)
    tasks, hours, seats = rng.integers(1, 4, size=nv), rng.integers(3, 12, size=nv), rng.integers(1, 4, size=nd)
    same_v = [(i, j) for i, j in combinations(range(n), 2) if v[i] == v[j]]
    clash = [p for p in same_v if rng.random() < 0.3]
    crew_d = np.array(sorted(rng.choice(nd, size=2, replace=False)))
    need, gain = rng.integers(-1, 3, size=2), rng.integers(-20, 20, size=2)
    inp = CoreInput(v, d, weight, start, end, tasks, hours, seats, np.ones(nd, dtype=bool),
                    (np.array([i for i, _ in clash], dtype=np.int64), np.array([j for _, j in clash], dtype=np.int64)),
                    CoreCrews(crew_d, need, gain))
    got = solve_core(inp, det_budget=10.0, wall_s=30.0)
    best = 0
    for pick in product([0, 1], repeat=n):
        x = np.array(pick, dtype=bool)
        ok = all((np.bincount(d[x], minlength=nd) <= seats).tolist())
        ok &= all(not (x[i] and x[j]) for i, j in clash)
        for i, j in same_v:
            ok &= not (x[i] and x[j] and start[i] < end[j] and start[j] < end[i])
        for k in range(nv):
            ok &= int(x[v == k].sum()) <= tasks[k] and int((end - start)[x & (v == k)].sum()) <= hours[k]
        if not ok:
            continue
        value: int | None = int(weight[x].sum())
        for c, dem in enumerate(crew_d.tolist()):
            on = int(x[d == dem].sum())
            # y must be 1 when any pair is on the crew; it may be 1 only with at least need pairs on
            options = [y for y in (0, 1) if (on == 0 or y == 1) and on >= need[c] * y]
            value = None if value is None or not options else value + max(int(gain[c]) * y for y in options)
        if value is not None:
            best = max(best, value)
    assert got.optimal and got.value == got.bound == best


def test_chain_values_keep_far_dates_and_many_volunteers_apart() -> None:
    """Volunteer rows up to 80,000 and tasks decades apart in µs (keys that would overflow int64 if times were
    keyed by owner as they are): the same values as the same chains on small rows and times."""
    rng = np.random.default_rng(7)
    n = 200
    small_v = rng.integers(0, 5, size=n)
    s_small = rng.integers(0, 50, size=n)
    e_small = s_small + rng.integers(1, 6, size=n)
    w = rng.integers(1, 30, size=n)
    trip = rng.integers(0, 4, size=(n, n))
    cap_small = np.array([4, 4, 4, 4, 4])  # one group of owners: their keys share one table
    rows = np.array([3, 19_999, 40_000, 65_432, 79_999])
    scale = 30 * 365 * 86_400 * 1_000_000 // 60  # each time step is about half a year
    big_cap = np.zeros(80_000, dtype=np.int64)
    big_cap[rows] = cap_small
    a = chain_values(small_v, s_small, e_small, w, cap_small, 4, lambda i, j: s_small[j] - e_small[i] >= trip[i, j])
    s_big, e_big = 1_800_000_000_000_000 + s_small * scale, 1_800_000_000_000_000 + e_small * scale
    b = chain_values(rows[small_v], s_big, e_big, w, big_cap, 4 * scale,
                     lambda i, j: s_big[j] - e_big[i] >= trip[i, j] * scale)
    assert rows[a[0]].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()
