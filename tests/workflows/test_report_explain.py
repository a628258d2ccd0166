"""The report's batch explanation of unmet orders, held to ``explain_demand`` order by order.

``explain_unmet`` must give every unmet demand the same near-volunteer counts by
reason as ``explain_demand``, and the same first notes (volunteer, distance,
reason, the demands that took their capacity), on instances where every reason
occurs; and ``ReachGrid`` must count exactly what a brute-force haversine counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from instances import tight_problem, v2_problem

from matcher import Problem, SolveOptions
from matcher.dispatch import Exclusion, explain_demand
from matcher.engine import solve_keeping
from matcher.engine.geometry import haversine_km
from matcher.generate import generate_problem
from matcher.model import Rating
from matcher.workflows.near_count import ReachGrid
from matcher.workflows.report_explain import EXCLUSIONS, explain_unmet

K = 5


def batch_and_one_by_one(problem: Problem, k: int = K) -> tuple[list[Any], list[Any], set[str]]:
    solved = solve_keeping(problem, SolveOptions(time_limit_s=5, seed=0))
    arr, solution = solved.arr, solved.solution
    rows = np.array(sorted({arr.demand_index[u.demand_id] for u in solution.unmet}), dtype=np.int64)
    notes = explain_unmet(arr, solved.v, solved.d, rows, k=k)
    assert notes.demands.tolist() == rows.tolist()
    mine, theirs, reasons = [], [], set()
    for j, row in enumerate(notes.demands.tolist()):
        did = arr.demand_ids[row]
        one = explain_demand(problem, solution, did)
        theirs.append((did, one.near_by_reason,
                       [(c.volunteer_id, c.distance_km, c.reason.value, c.taken_by) for c in one.candidates
                        if c.reason is not Exclusion.ASSIGNED][:k]))
        picked = np.flatnonzero(notes.note_of == j).tolist()
        mine.append((did, {EXCLUSIONS[i].value: int(n) for i, n in enumerate(notes.counts[j]) if n},
                     [(arr.volunteer_ids[notes.volunteer[i]], round(float(notes.km[i]), 3),
                       EXCLUSIONS[notes.reason[i]].value,
                       tuple(arr.demand_ids[t] for t in notes.taken[notes.taken_start[i]:notes.taken_start[i + 1]]))
                      for i in picked]))
        reasons |= set(one.near_by_reason)
    return mine, theirs, reasons


@pytest.mark.parametrize("seed", [1, 2])
def test_community_preset_matches_explain_demand(seed: int) -> None:
    mine, theirs, reasons = batch_and_one_by_one(generate_problem("community", seed))
    assert len(mine) > 50
    assert mine == theirs
    assert {"missing_skill", "not_available", "too_far", "busy"} <= reasons


def test_spec_v2_reasons_match_explain_demand() -> None:
    """Travel minutes, no time to travel (7b), ratings (12): the batch agrees with explain_demand there too."""
    seen: set[str] = set()
    for seed in range(4):
        p = v2_problem(seed, n_vol=150, n_dem=90)
        # everyone rated 1 star on one household's series: its visits stay unmet, rated_out for all near
        poor = [Rating(volunteer_id=v.id, series_id="S0", stars=1, at=p.ratings[0].at) for v in p.volunteers]
        mine, theirs, reasons = batch_and_one_by_one(p.replace(ratings=[*p.ratings, *poor]))
        assert mine == theirs
        seen |= reasons
    assert {"no_time_to_travel", "rated_out", "too_far", "busy"} <= seen


@pytest.mark.parametrize("seed", [3, 4])
def test_every_rule_and_many_ranges_match_explain_demand(seed: int) -> None:
    # teams, insurance, forbidden pairs, tight caps; ranges 1, 2 or 3 km
    mine, theirs, reasons = batch_and_one_by_one(tight_problem(seed, n_vol=150, n_dem=160), k=8)
    assert mine == theirs
    assert {"other_team", "not_insured", "tasks_used", "hours_used", "not_available"} <= reasons


def test_ranges_in_bands_match_explain_demand() -> None:
    # more distinct travel ranges than the grid keeps apart: volunteers are counted in bands of ranges
    problem = tight_problem(5, n_vol=150, n_dem=160)
    rng = np.random.default_rng(5)
    problem = problem.replace(validate=True, volunteers=tuple(
        v.model_copy(update={"max_travel_km": float(rng.uniform(0.5, 3.0))}) for v in problem.volunteers))
    mine, theirs, _ = batch_and_one_by_one(problem)
    assert mine == theirs


def test_tiny_problem(tiny: Problem) -> None:
    mine, theirs, _ = batch_and_one_by_one(tiny, k=50)
    assert mine == theirs and {m[0] for m in mine} == {"d2", "d4", "d5", "d6"}


@pytest.mark.parametrize("where", [(39.8, 116.3, 0.15, 0.2), (-33.9, 151.1, 0.1, 0.1), (69.6, 18.9, 0.1, 0.3)])
@pytest.mark.parametrize("n", [1, 40, 3000])
def test_reach_grid_counts_what_brute_force_counts(where: tuple[float, float, float, float], n: int) -> None:
    lat0, lon0, dlat, dlon = where
    rng = np.random.default_rng(n)
    lat, lon = lat0 + rng.random(n) * dlat, lon0 + rng.random(n) * dlon
    for reach in (np.full(n, 2.0), rng.uniform(0.5, 3.0, n)):
        grid = ReachGrid(lat, lon, reach)
        qlat = lat0 - 0.02 + rng.random(400) * (dlat + 0.04)
        qlon = lon0 - 0.02 + rng.random(400) * (dlon + 0.04)
        pick = rng.integers(0, n, 40)
        qlat[:40], qlon[:40] = lat[pick], lon[pick]  # on a point
        brute = [int((haversine_km(lat, lon, a, b) <= reach).sum()) for a, b in zip(qlat, qlon)]
        assert grid.count(qlat, qlon).tolist() == brute


def test_demands_not_searched_are_listed_bare_and_the_rest_as_before() -> None:
    problem = generate_problem("community", 3)
    solved = solve_keeping(problem, SolveOptions(time_limit_s=5, seed=0))
    arr = solved.arr
    rows = np.array(sorted({arr.demand_index[u.demand_id] for u in solved.solution.unmet}), dtype=np.int64)
    bare = rows[::3]  # as if the clock had left these unsearched
    got = explain_unmet(arr, solved.v, solved.d, rows, k=K, bare=bare)
    alone = explain_unmet(arr, solved.v, solved.d, np.setdiff1d(rows, bare), k=K)
    assert got.demands.tolist() == rows.tolist()
    at = np.searchsorted(rows, bare)
    assert not got.counts[at].any() and not np.isin(got.note_of, at).any()  # no count, no note
    kept = np.searchsorted(rows, alone.demands)
    assert np.array_equal(got.counts[kept], alone.counts)  # the others exactly as explained alone
    assert np.array_equal(got.note_of, kept[alone.note_of]) and np.array_equal(got.volunteer, alone.volunteer)
    assert np.array_equal(got.taken_start, alone.taken_start) and np.array_equal(got.taken, alone.taken)
    assert alone.counts.any() and len(bare) > 10
