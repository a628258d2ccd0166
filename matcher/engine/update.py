"""Update a problem's arrays and candidate pairs after a few records change, instead of rebuilding them.

A dispatch service repairs a district's plan many times a day. Rebuilding the
arrays and candidate pairs of 80,000 volunteers takes seconds, while a change
touches a handful of records. :func:`update_arrays` converts only the changed
volunteer and demand records (the problem-wide parts, such as the time ranks,
the categories and the given pairs, are cheap and are redone whole), and
:func:`update_pairs` drops the pairs of the changed records and tests those
records again against everyone (:func:`~matcher.engine.candidates.pairs_involving`).

The result equals a fresh :func:`~matcher.engine.arrays.build_arrays` and
:func:`~matcher.engine.candidates.candidate_pairs` of the new problem, up to the
numbering of skills, teams and time ranks (tests check it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.engine.arrays import (
    DEMAND_ROW_FIELDS,
    V1_DEFAULTS,
    ProblemArrays,
    demand_rows,
    given_pairs,
    time_ranks,
    uses_v2,
    v2_fields,
    volunteer_rows,
    with_indexes,
)
from matcher.engine.candidates import Pairs, pairs_involving
from matcher.engine.types import I64
from matcher.model import Demand, Problem

__all__ = ["ArraysUpdate", "update_arrays", "update_pairs"]

_VOLUNTEER_FIELDS = ("v_lat", "v_lon", "v_skills", "v_max_tasks", "v_hours_cap_us", "v_max_travel_km", "v_team",
                     "v_insured", "v_recent_hours")


@dataclass(frozen=True, eq=False)
class ArraysUpdate:
    """The new arrays, and how their rows relate to the old ones."""

    arr: ProblemArrays
    demand_to: I64
    """For each old demand row, its new row; -1 when the demand was withdrawn."""
    volunteers: I64
    """Rows of the volunteers whose records changed (volunteer rows never move)."""
    demands: I64
    """New rows of the demands that were changed or added."""
    same_demands: bool
    """No demand was added, changed or withdrawn: demand rows and records are as they were."""


def update_arrays(old: ProblemArrays, problem: Problem, volunteers: Collection[str],
                  demands: Collection[str]) -> ArraysUpdate:
    """The arrays of ``problem``, made from ``old`` by converting only the named records again.

    ``problem`` must have the same volunteers as ``old``, in the same order
    (changes never add or remove volunteers). ``volunteers`` names those whose
    record changed; ``demands`` names the demands that were changed or added,
    and those whose forbidden pairs changed. Demands absent from ``problem``
    are withdrawn. Demands keep their relative order.

    Raises
    ------
    ValueError
        When the volunteers differ from ``old``'s.

    """
    vols, dems = problem.volunteers, problem.demands
    if len(vols) != old.nv:
        raise ValueError(f"update_arrays: {len(vols)} volunteers, the arrays have {old.nv}")
    vidx = old.volunteer_index
    chg_v = np.array(sorted(vidx[v] for v in volunteers), dtype=np.int64)
    if any(vols[i].id != old.volunteer_ids[i] for i in chg_v.tolist()):
        raise ValueError("update_arrays: the volunteers are not in the arrays' order")
    ids = [d.id for d in dems]
    if ids == old.demand_ids:  # no demand added or withdrawn: the rows stay
        didx = old.demand_index
        demand_to = np.arange(old.nd, dtype=np.int64)
    else:
        didx = {d: j for j, d in enumerate(ids)}
        demand_to = np.fromiter((didx.get(d, -1) for d in old.demand_ids), dtype=np.int64, count=old.nd)
    src = np.full(len(dems), -1, dtype=np.int64)  # the old row of each new one; -1 for changed or added ones
    alive = np.flatnonzero(demand_to >= 0)
    src[demand_to[alive]] = alive
    src[[didx[d] for d in demands if d in didx]] = -1
    fresh = np.flatnonzero(src < 0)
    fresh_v = [vols[i] for i in chg_v.tolist()]
    fresh_d = [dems[j] for j in fresh.tolist()]

    # skills and teams new to the problem get the next numbers; the bitsets widen when needed
    skill_ids, team_ids = list(old.skill_ids), list(old.team_ids)
    sidx = {s: i for i, s in enumerate(skill_ids)}
    tidx = {t: i for i, t in enumerate(team_ids)}
    for s in [s for v in fresh_v for s in v.skills] + [s for d in fresh_d for s in d.required_skills]:
        if s not in sidx:
            sidx[s] = len(skill_ids)
            skill_ids.append(s)
    for t in [v.team_id for v in fresh_v] + [d.team_id for d in fresh_d]:
        if t and t not in tidx:
            tidx[t] = len(team_ids)
            team_ids.append(t)
    words = max(1, (len(skill_ids) + 63) // 64)

    def widen(bits: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        return np.pad(bits, ((0, 0), (0, words - bits.shape[1]))) if bits.shape[1] < words else bits.copy()

    fields: dict[str, object] = {}
    # volunteers: rows replaced in place; their windows dropped and added again, kept sorted by (volunteer, start)
    vrows = volunteer_rows(fresh_v, sidx, words, tidx)
    for name in _VOLUNTEER_FIELDS:
        col = widen(old.v_skills) if name == "v_skills" else getattr(old, name).copy()
        col[chg_v] = vrows[name]
        fields[name] = col
    drop = np.zeros(old.nv, dtype=bool)
    drop[chg_v] = True
    keep_w = ~drop[old.w_vol]
    w_vol = np.concatenate([old.w_vol[keep_w], chg_v[vrows["w_vol"]]])
    w_s = np.concatenate([old.w_start_us[keep_w], vrows["w_start_us"]])
    w_e = np.concatenate([old.w_end_us[keep_w], vrows["w_end_us"]])
    order = np.lexsort((w_s, w_vol))
    fields.update(w_vol=w_vol[order], w_start_us=w_s[order], w_end_us=w_e[order])

    # demands: kept rows copied (withdrawn ones drop out), changed and added ones converted
    drows = demand_rows(fresh_d, problem.areas, sidx, words, tidx)
    take = np.maximum(src, 0)
    for name in DEMAND_ROW_FIELDS:
        col = getattr(old, name)
        col = (widen(col) if name == "d_skills" else col)[take] if len(dems) else col[:0]
        col[fresh] = drows[name]
        fields[name] = col
    fields.update(_categories(old, src, fresh_d, fresh))
    fields["preferred"] = _preferred(old, demand_to, src, fresh_d, fresh, vidx)
    fields.update(given_pairs(problem, vidx, didx))
    fields.update(time_ranks(fields["w_start_us"], fields["w_end_us"], fields["d_start"],  # type: ignore[arg-type]
                             fields["d_end"]))  # type: ignore[arg-type]
    if uses_v2(problem) or old.v_speed_kmh is not None:  # SPEC v2: redone whole (series, ratings, travel model)
        fields.update(V1_DEFAULTS)
        fields.update(v2_fields(problem, vidx, fields["categories"], fields["d_lat"], fields["d_lon"],  # type: ignore[arg-type]
                                fields["v_max_travel_km"]))  # type: ignore[arg-type]
    arr = with_indexes(replace(old, demand_ids=ids, skill_ids=skill_ids, team_ids=team_ids,
                               **fields), vidx, didx)  # type: ignore[arg-type]
    return ArraysUpdate(arr, demand_to, chg_v, fresh, ids == old.demand_ids and len(fresh) == 0)


def _categories(old: ProblemArrays, src: I64, fresh_d: Sequence[Demand], fresh: I64) -> dict[str, Any]:
    """The categories in use, sorted as a fresh build sorts them, and each demand's number among them."""
    kept = src >= 0
    names = sorted({old.categories[c] for c in np.unique(old.d_category[src[kept]]).tolist()}
                   | {d.category for d in fresh_d})
    cidx = {c: i for i, c in enumerate(names)}
    renumber = np.array([cidx.get(c, -1) for c in old.categories], dtype=np.int64)
    col = np.empty(len(src), dtype=np.int64)
    col[kept] = renumber[old.d_category[src[kept]]]
    col[fresh] = [cidx[d.category] for d in fresh_d]
    return {"categories": names, "d_category": col}


def _preferred(old: ProblemArrays, demand_to: I64, src: I64, fresh_d: Sequence[Demand], fresh: I64,
               vidx: dict[str, int]) -> tuple[I64, I64]:
    """Preferred pairs: the old ones of kept demands, renumbered, and the fresh demands' own, by demand row."""
    pv, pd = old.preferred
    pd = demand_to[pd]
    ok = pd >= 0
    ok[ok] &= src[pd[ok]] >= 0
    v = np.concatenate([pv[ok], np.array([vidx[p] for d in fresh_d for p in d.preferred_volunteers], dtype=np.int64)])
    d = np.concatenate([pd[ok], np.array([j for j, dem in zip(fresh.tolist(), fresh_d)
                                          for _ in dem.preferred_volunteers], dtype=np.int64)])
    order = np.argsort(d, kind="stable")  # a demand's pairs all come from one side: their order stays
    return v[order], d[order]


def update_pairs(old: Pairs, update: ArraysUpdate) -> Pairs:
    """The candidate pairs of the updated arrays, from the old pairs (sorted by volunteer, demand)."""
    arr = update.arr
    if update.same_demands:  # only volunteers changed: replace their runs of pairs (pairs are sorted by volunteer)
        vols = update.volunteers
        new = pairs_involving(arr, vols)
        cut = np.searchsorted(old.v, np.stack([vols, vols + 1], axis=1).ravel())  # each volunteer's run
        put = np.searchsorted(new.v, np.stack([vols, vols + 1], axis=1).ravel())
        ends = [0, *cut.tolist(), len(old)]
        def pieces(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
            out = [a[ends[0]:ends[1]]]
            for k in range(len(vols)):
                out += [b[put[2 * k]:put[2 * k + 1]], a[ends[2 * k + 2]:ends[2 * k + 3]]]
            return np.concatenate(out)
        return Pairs(pieces(old.v, new.v), pieces(old.d, new.d), pieces(old.km, new.km))
    d = update.demand_to[old.d]
    keep = d >= 0
    changed_v = np.zeros(arr.nv, dtype=bool)
    changed_v[update.volunteers] = True
    changed_d = np.zeros(arr.nd, dtype=bool)
    changed_d[update.demands] = True
    keep &= ~changed_v[old.v]
    keep[keep] &= ~changed_d[d[keep]]
    v, d, km = old.v[keep], d[keep], old.km[keep]
    keys = arr.pair_key(v, d)
    if len(keys) > 1 and not bool((keys[1:] > keys[:-1]).all()):  # the demands' order moved: sort again
        order = np.argsort(keys, kind="stable")
        v, d, km, keys = v[order], d[order], km[order], keys[order]
    new = pairs_involving(arr, update.volunteers, update.demands)
    at = np.searchsorted(keys, arr.pair_key(new.v, new.d))
    return Pairs(np.insert(v, at, new.v), np.insert(d, at, new.d), np.insert(km, at, new.km))
