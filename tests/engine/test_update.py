"""Updating the arrays and pairs after changes equals building them again from the new problem."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from instances import tight_problem
from oracle import pair_ok

from matcher import Demand, Problem, apply_changes
from matcher.engine.arrays import ProblemArrays, build_arrays
from matcher.engine.candidates import Pairs, candidate_pairs, pairs_involving
from matcher.engine.update import update_arrays, update_pairs
from matcher.model import (
    Change,
    DemandAdded,
    DemandChanged,
    DemandWithdrawn,
    PairForbidden,
    VolunteerUnavailable,
)

RANKS = {"w_start", "w_end", "d_start_rank", "d_end_rank"}
BITS = {"v_skills", "d_skills"}
NUMBERED = {"v_team", "d_team"}  # team numbers may differ: compared as names


def skill_sets(arr: ProblemArrays, bits: np.ndarray) -> list[frozenset[str]]:
    return [frozenset(s for k, s in enumerate(arr.skill_ids) if (int(row[k // 64]) >> (k % 64)) & 1) for row in bits]


def team_names(arr: ProblemArrays, col: np.ndarray) -> list[str | None]:
    return [arr.team_ids[t] if t >= 0 else None for t in col.tolist()]


def assert_same_arrays(got: ProblemArrays, want: ProblemArrays) -> None:
    for f in fields(ProblemArrays):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if f.name in RANKS or f.name in {"skill_ids", "team_ids"}:
            continue
        if f.name in BITS:
            assert skill_sets(got, a) == skill_sets(want, b), f.name
        elif f.name in NUMBERED:
            assert team_names(got, a) == team_names(want, b), f.name
        elif isinstance(a, tuple):
            assert all(np.array_equal(x, y) for x, y in zip(a, b)), f.name
        elif isinstance(a, list):
            assert a == b, f.name
        else:
            assert np.array_equal(a, b), f.name
    # ranks may be numbered differently, but they must order every time exactly as the microseconds do
    times = np.concatenate([got.w_start_us, got.w_end_us, got.d_start, got.d_end])
    ranks = np.concatenate([got.w_start, got.w_end, got.d_start_rank, got.d_end_rank])
    order = np.argsort(times, kind="stable")
    assert (np.diff(ranks[order]) >= 0).all()
    assert ((np.diff(ranks[order]) == 0) == (np.diff(times[order]) == 0)).all()


def random_changes(p: Problem, seed: int) -> list[Change]:
    """Two to five changes of every kind, including a demand with a new skill and a new team."""
    rng = np.random.default_rng(seed)
    out: list[Change] = []
    dems = list(p.demands)
    for kind in rng.choice(["cancel", "cut", "add", "change", "withdraw", "forbid"], size=int(rng.integers(2, 6))):
        v = p.volunteers[int(rng.integers(len(p.volunteers)))]
        d = dems[int(rng.integers(len(dems)))]
        if kind == "cancel":
            out.append(VolunteerUnavailable(volunteer_id=v.id))
        elif kind == "cut" and v.availability:
            w = v.availability[0]
            out.append(VolunteerUnavailable(volunteer_id=v.id, start=w.start + (w.end - w.start) / 3,
                                            end=w.end - (w.end - w.start) / 3))
        elif kind == "add":
            new = d.model_copy(update={"id": f"new{seed}-{len(out)}", "preferred_volunteers": (v.id,)[: len(out) % 2],
                                       "required_skills": (*d.required_skills, "brand-new-skill")[: 1 + len(out) % 2],
                                       "team_id": "T-new" if len(out) % 3 == 0 else d.team_id})
            out.append(DemandAdded(demand=new))
        elif kind == "change" and not d.id.startswith("new"):
            moved = {"headcount": d.headcount + 1, "lat": (d.lat or 0) + 0.001, "category": "brand_new_category"}
            out.append(DemandChanged(demand=d.model_copy(update=moved)))
        elif kind == "withdraw" and len(dems) > 5 and not d.id.startswith("new"):
            out.append(DemandWithdrawn(demand_id=d.id))
            dems.remove(d)
        elif kind == "forbid" and not d.id.startswith("new"):
            out.append(PairForbidden(volunteer_id=v.id, demand_id=d.id))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_updated_arrays_and_pairs_equal_a_fresh_build(seed: int) -> None:
    p = tight_problem(seed, n_vol=150, n_dem=90)
    arr = build_arrays(p)
    pairs = candidate_pairs(arr)
    for step in range(3):  # changes on changes, as a dispatcher sees them
        changes = random_changes(p, 100 * seed + step)
        new, touched_v, touched_d = apply_changes(p, changes)
        up = update_arrays(arr, new, touched_v, touched_d)
        got = update_pairs(pairs, up)
        fresh = build_arrays(new)
        assert_same_arrays(up.arr, fresh)
        want = candidate_pairs(fresh)
        assert np.array_equal(got.v, want.v) and np.array_equal(got.d, want.d)
        assert np.allclose(got.km, want.km, rtol=0, atol=1e-9)
        p, arr, pairs = new, up.arr, got


@pytest.mark.parametrize("seed", range(3))
def test_pairs_involving_a_few_records_equal_the_rules(seed: int) -> None:
    p = tight_problem(seed, n_vol=120, n_dem=80)
    arr = build_arrays(p)
    rng = np.random.default_rng(seed)
    vols = rng.choice(arr.nv, size=7, replace=False)
    dems = rng.choice(arr.nd, size=5, replace=False)
    got = pairs_involving(arr, vols, dems)
    keys = list(zip(got.v.tolist(), got.d.tolist()))
    assert keys == sorted(set(keys))  # sorted, each pair once
    by_id = {v.id: v for v in p.volunteers}
    d_by_id = {d.id: d for d in p.demands}
    want = {(i, j) for i in range(arr.nv) for j in range(arr.nd) if (i in vols or j in dems)
            and pair_ok(p, by_id[arr.volunteer_ids[i]], d_by_id[arr.demand_ids[j]])
            and by_id[arr.volunteer_ids[i]].max_tasks > 0
            and hours_fit(by_id[arr.volunteer_ids[i]].max_hours, d_by_id[arr.demand_ids[j]])}
    assert set(keys) == want and len(want) > 20


def hours_fit(max_hours: float, d: Demand) -> bool:
    return (d.end - d.start).total_seconds() / 3600 <= max_hours


def test_the_volunteers_must_be_the_same() -> None:
    p = tight_problem(1, n_vol=30, n_dem=10)
    arr = build_arrays(p)
    with pytest.raises(ValueError, match="volunteers"):
        update_arrays(arr, p.replace(volunteers=p.volunteers[1:]), set(), set())


@pytest.mark.parametrize("seed", range(3))
def test_volunteer_only_changes_take_the_short_way_to_the_same_pairs(seed: int) -> None:
    p = tight_problem(seed, n_vol=150, n_dem=90)
    arr = build_arrays(p)
    pairs = candidate_pairs(arr)
    rng = np.random.default_rng(seed)
    picked = [p.volunteers[i] for i in rng.choice(len(p.volunteers), size=4, replace=False)]
    changes: list[Change] = [VolunteerUnavailable(volunteer_id=picked[0].id)]
    for v in picked[1:]:
        if v.availability:
            w = v.availability[0]
            changes.append(VolunteerUnavailable(volunteer_id=v.id, start=w.start, end=w.start + (w.end - w.start) / 2))
    new, touched_v, touched_d = apply_changes(p, changes)
    up = update_arrays(arr, new, touched_v, touched_d)
    assert up.same_demands
    got = update_pairs(pairs, up)
    want = candidate_pairs(build_arrays(new))
    assert np.array_equal(got.v, want.v) and np.array_equal(got.d, want.d) and np.array_equal(got.km, want.km)
    assert len(got) < len(pairs)  # the cancellation took pairs away


def test_pair_lookups_by_volunteer_runs() -> None:
    pairs = Pairs(np.array([0, 0, 1, 3, 3, 3]), np.array([0, 1, 0, 1, 2, 4]), np.zeros(6))
    assert pairs.rows_of(np.array([0, 2, 3])).tolist() == [0, 1, 3, 4, 5]
    # demand numbers past the pairs' own largest must not alias another volunteer's pair
    got = pairs.contains(np.array([0, 0, 1, 2, 3, 3, 0]), np.array([1, 2, 0, 0, 4, 5, 5]))
    assert got.tolist() == [True, False, True, False, True, False, False]
