"""From chosen index pairs to a :class:`~matcher.model.Solution`: unmet reasons, secondary, KPIs.

Unmet reasons follow a ladder per demand, the skilled-stage rules taken in
SPEC's order (:data:`matcher.engine.candidates.SKILLED`). Let ``S1`` be the
volunteers who hold all required skills, ``S2`` those of them insured where the
demand requires it, ``S3`` those of them of the demand's team where it names
one, ``R`` those of them within their travel range, and ``A`` those of them also
free for the whole window with capacity for it and not forbidden (the
candidates). For a demand with headcount ``h`` and ``a`` seats filled, seat
``k`` (``a < k <= h``) is unmet because of ``no_skilled_volunteer`` when
``k > S1``, ``too_few_insured`` when ``S2 < k <= S1``, ``team_too_small`` when
``S3 < k <= S2``, ``none_in_range`` when ``R < k <= S3``, ``none_available``
when ``A < k <= R``, and ``capacity_taken`` when ``k <= A``: a candidate
existed but the optimum used it elsewhere (or the rules of its other tasks
ruled it out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.candidates import SKILLED, Pairs, candidate_pairs, qualified_counts
from matcher.engine.context import Clock, unliked
from matcher.engine.costs import priority_weights
from matcher.engine.geometry import haversine_km
from matcher.engine.limits import peak_memory_mib
from matcher.engine.types import I64, US_PER_HOUR
from matcher.model import AssignmentOut, Solution, SolveOptions, SolveStats, Status, Unmet, UnmetReason

__all__ = ["Ladder", "build_solution", "ladder_counts", "peak_memory_mib", "secondary_points", "series_volunteers",
           "unmet_reasons"]


def build_solution(
    arr: ProblemArrays,
    pairs: Pairs,
    v: I64,
    d: I64,
    opts: SolveOptions,
    status: Status,
    coverage: int,
    bound: int,
    stats: Mapping[str, Any],
    clock: Clock,
    unmet: tuple[Unmet, ...] | None = None,
    known: Mapping[int, AssignmentOut] | None = None,
    warnings: Sequence[str] = (),
    ladder: Ladder | None = None,
) -> Solution:
    """Assemble the Solution of chosen pairs ``(v[i], d[i])``, listed by demand, then volunteer.

    ``stats`` are the solve's statistics so far (the fields of
    :class:`~matcher.model.SolveStats`); the report adds the seconds per phase
    of ``clock``, the peak memory and the problem's size.

    A repair passes what it knows already: ``unmet``, the unmet seats (it reuses
    the reasons of the demands a change cannot have affected), and ``known``,
    assignments of the old plan that still hold, by :meth:`ProblemArrays.pair_key`.
    ``warnings`` go into the solution as they are. ``ladder``: the unmet ladder's counts, when the solve
    counted them already (:func:`ladder_counts`).
    """
    order = np.lexsort((v, d))
    v, d = v[order], d[order]
    km = haversine_km(arr.v_lat[v], arr.v_lon[v], arr.d_lat[d], arr.d_lon[d])
    known = known or {}
    assignments = tuple(
        known.get(key) or AssignmentOut(volunteer_id=arr.volunteer_ids[a], demand_id=arr.demand_ids[b],
                                        travel_km=round(float(k), 6))
        for a, b, k, key in zip(v.tolist(), d.tolist(), km.tolist(), arr.pair_key(v, d).tolist())
    )
    filled = np.bincount(d, minlength=arr.nd)
    if unmet is None:
        unmet = unmet_reasons(arr, pairs, filled, ladder=ladder)
    secondary, parts = secondary_points(arr, v, d, km, opts)
    clock.done("solution")  # (the solution built; a run's "report" is report.html)
    all_stats = SolveStats.model_validate({
        **stats,
        "seconds": dict(clock.seconds),
        "peak_memory_mib": round(peak_memory_mib(), 1),
        "volunteers": arr.nv,
        "demands": arr.nd,
        "headcount": int(arr.d_headcount.sum()),
    })
    return Solution(
        status=status,
        coverage=float(coverage),
        coverage_bound=float(bound),
        secondary=round(secondary, 6),
        assignments=assignments,
        unmet=unmet,
        kpis=_kpis(arr, v, d, km, filled, opts, parts),
        stats=all_stats,
        gap=(bound - coverage) / max(bound, 1),
        runtime_s=round(clock.elapsed(), 4),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, eq=False)
class Ladder:
    """The solution-independent counts of the unmet ladder, for the demands that have fewer candidates than seats.

    A demand with fewer candidates than seats is short in every plan, and only such a demand needs the counts
    below its candidates, so they can be counted as soon as the candidate pairs are known (the solve does that
    beside its tiers, :func:`ladder_counts`). Arrays of shape ``(len(demands),)`` (``qual``:
    ``(len(demands), len(SKILLED))``), int64.
    """

    demands: I64
    """Demand rows, sorted."""
    near: I64
    """Volunteers keeping the skilled-stage rules and within range, any time (the ``R`` pool), counted only as far
    as the ladder needs: a count at or above the headcount may be a lower bound (the nearest cells' count)."""
    qual: I64
    """Volunteers keeping the first 1, 2, ... skilled-stage rules, any place, any time (``S1``, ``S2``, ...), where
    ``near`` is below the headcount; elsewhere ``near`` repeated (the seats are all decided below it)."""


def ladder_counts(arr: ProblemArrays, pairs: Pairs, among: I64 | None = None) -> Ladder:
    """The :class:`Ladder` of the demands (of ``among``, default all) with fewer candidate ``pairs`` than seats."""
    n_cand = np.bincount(pairs.d, minlength=arr.nd)
    dem = np.flatnonzero(n_cand < arr.d_headcount)
    if among is not None:
        dem = np.intersect1d(dem, among)
    head = arr.d_headcount[dem]
    # deeper counts matter only for seats beyond the candidates, and only up to the
    # headcount: a count over the nearest cells (a lower bound) settles most demands
    n_near = n_cand[dem].copy()
    deeper = np.ones(len(dem), dtype=bool)
    for inner in (True, False):
        idx = np.flatnonzero(deeper)
        if len(idx) == 0:
            break
        near = candidate_pairs(arr, dem[idx], check_time=False, inner_only=inner, workers=1)  # (beside the solve)
        n_near[idx] = np.bincount(near.d, minlength=arr.nd)[dem[idx]]
        deeper &= n_near < head
    # per skilled-stage rule (skills; and insured; and of the team): how many keep the rules so far
    qual = np.repeat(n_near[:, None], len(SKILLED), axis=1)
    qual[deeper] = qualified_counts(arr, dem[deeper])
    return Ladder(dem, n_near, qual)


def unmet_reasons(arr: ProblemArrays, pairs: Pairs, filled: I64, among: I64 | None = None,
                  ladder: Ladder | None = None) -> tuple[Unmet, ...]:
    """The unmet seats of every demand (or of the demands ``among``) with their reasons, by the ladder above.

    ``ladder``: the counts of :func:`ladder_counts` for these ``pairs`` (of every demand they concern, or at
    least of those ``among``), when counted already; else they are counted here.
    """
    short = np.flatnonzero(filled < arr.d_headcount)
    if among is not None:
        short = np.intersect1d(short, among)
    if len(short) == 0:
        return ()
    head = arr.d_headcount[short]
    n_cand = np.bincount(pairs.d, minlength=arr.nd)[short]
    if ladder is None:
        ladder = ladder_counts(arr, pairs, short)
    # the counts of the demands with fewer candidates than seats; the others' seats are all capacity_taken
    at = np.minimum(np.searchsorted(ladder.demands, short), max(len(ladder.demands) - 1, 0))
    known = (n_cand < head) & (ladder.demands[at] == short) if len(ladder.demands) else np.zeros(len(short), bool)
    if not bool(known[n_cand < head].all()):
        raise ValueError("unmet_reasons: the ladder given does not cover every demand short of candidates")
    n_near = np.where(known, ladder.near[at] if len(ladder.demands) else 0, n_cand)
    qual = np.repeat(n_near[:, None], len(SKILLED), axis=1)
    qual[known] = ladder.qual[at[known]]
    out: list[Unmet] = []
    crews = arr.d_min_headcount.tolist() if arr.d_min_headcount is not None else None
    for j, dem in enumerate(short.tolist()):
        a, h = int(filled[dem]), int(arr.d_headcount[dem])
        # seat k in (a, h]; the thresholds split it into the reasons, narrowest pool first
        ladder_of = [
            (int(n_cand[j]), UnmetReason.CAPACITY_TAKEN),
            (int(n_near[j]), UnmetReason.NONE_AVAILABLE),
            (int(qual[j, 2]), UnmetReason.NONE_IN_RANGE),
            (int(qual[j, 1]), UnmetReason.TEAM_TOO_SMALL),
            (int(qual[j, 0]), UnmetReason.TOO_FEW_INSURED),
            (h, UnmetReason.NO_SKILLED_VOLUNTEER),
        ]
        if a == 0 and crews is not None and int(n_cand[j]) < crews[dem]:  # rule 11: too few for the crew
            ladder_of[0] = (int(n_cand[j]), UnmetReason.CREW_NOT_FORMED)
        low = a
        for top, reason in ladder_of:
            top = min(max(top, low), h)
            if top > low:
                out.append(Unmet(demand_id=arr.demand_ids[dem], missing=top - low, reason=reason))
                low = top
    return tuple(out)


def secondary_points(
    arr: ProblemArrays, v: I64, d: I64, km: npt.NDArray[np.float64], opts: SolveOptions
) -> tuple[float, dict[str, float]]:
    """The secondary objective of SPEC.md in points, and its parts."""
    tasks = np.bincount(v, minlength=arr.nv)
    keys = arr.pair_key(v, d)
    pref_dem = np.unique(arr.preferred[1])
    served_pref = np.unique(d[member(keys, arr.pair_key(*arr.preferred))])
    missed = len(pref_dem) - len(np.intersect1d(pref_dem, served_pref))
    dropped = int((~member(arr.pair_key(*arr.previous), keys)).sum())
    parts = {
        "travel": opts.travel_weight * float(km.sum()),
        "recent_hours": opts.recent_hours_weight * float(arr.v_recent_hours[v].sum()),
        "load": opts.load_weight * float((tasks.astype(np.float64) ** 2).sum()),
        "continuity": opts.continuity_weight * missed,
        "change": opts.change_weight * dropped,
    }
    counts = {"missed_continuity": missed, "previous_dropped": dropped}
    if arr.v_speed_kmh is not None:  # SPEC v2's terms (a v1 problem's parts stay as they were)
        off = unliked(arr, v, d)
        extra = series_volunteers(arr, v, d)
        parts.update(series=opts.series_weight * extra,
                     quality=opts.quality_weight * (float(arr.v_star_gap[v].sum()) if arr.v_star_gap is not None
                                                    else 0.0),
                     preference=opts.preference_weight * (int(off.sum()) if off is not None else 0))
        counts["series_extra_volunteers"] = extra
    return sum(parts.values()), {**parts, **counts}


def series_volunteers(arr: ProblemArrays, v: I64, d: I64) -> int:
    """Volunteers beyond the first serving each recurring series, summed over the series (SPEC v2)."""
    if arr.d_series is None:
        return 0
    s = arr.d_series[d]
    keep = s >= 0
    if not keep.any():
        return 0
    pairs = np.unique(s[keep] * max(arr.nv, 1) + v[keep])
    return len(pairs) - len(np.unique(pairs // max(arr.nv, 1)))


def _rates(keys: list[str], demanded: npt.NDArray[Any], got: npt.NDArray[Any]) -> dict[str, dict[str, float]]:
    return {
        k: {"demanded": int(a), "filled": int(b), "rate": round(float(b) / float(a), 6) if a else 1.0}
        for k, a, b in zip(keys, demanded.tolist(), got.tolist())
    }


def _kpis(
    arr: ProblemArrays, v: I64, d: I64, km: npt.NDArray[np.float64], filled: I64, opts: SolveOptions,
    parts: dict[str, float],
) -> dict[str, Any]:
    head = arr.d_headcount
    got = np.minimum(filled, head)
    by_p = [np.bincount(arr.d_priority, weights=x, minlength=6)[1:] for x in (head, got)]
    ncat = len(arr.categories)
    by_c = [np.bincount(arr.d_category, weights=x, minlength=ncat) for x in (head, got)]
    area = np.where(arr.d_area >= 0, arr.d_area, len(arr.area_ids))
    by_a = [np.bincount(area, weights=x, minlength=len(arr.area_ids) + 1) for x in (head, got)]
    area_names = [*arr.area_ids, "(no area)"]
    used_a = np.flatnonzero(by_a[0] > 0)
    weights = priority_weights(opts)
    tasks = np.bincount(v, minlength=arr.nv)
    used = tasks[tasks > 0]
    return {
        "headcount": int(head.sum()),
        "filled": int(got.sum()),
        "fill_rate": round(float(got.sum()) / max(int(head.sum()), 1), 6),
        "weighted_fill_rate": round(float((weights[arr.d_priority] * got).sum())
                                    / max(float((weights[arr.d_priority] * head).sum()), 1.0), 6),
        "coverage_by_priority": _rates([str(p) for p in range(1, 6)], *by_p),
        "coverage_by_category": _rates(arr.categories, *by_c),
        "coverage_by_area": _rates([area_names[i] for i in used_a], by_a[0][used_a], by_a[1][used_a]),
        "travel_km": {
            "total": round(float(km.sum()), 3),
            "mean": round(float(km.mean()), 4) if len(km) else 0.0,
            "max": round(float(km.max()), 4) if len(km) else 0.0,
        },
        "load": {
            "volunteers_used": len(used),
            "tasks_mean": round(float(used.mean()), 4) if len(used) else 0.0,
            "tasks_max": int(used.max()) if len(used) else 0,
            "tasks_std": round(float(used.std()), 4) if len(used) else 0.0,
            "hours_total": round(float(arr.d_duration_us[d].sum()) / US_PER_HOUR, 3),
        },
        "secondary_parts": {k: round(float(x), 6) for k, x in parts.items()},
        **_series_kpis(arr, v, d),
    }


def _series_kpis(arr: ProblemArrays, v: I64, d: I64) -> dict[str, Any]:
    """SPEC v2: how recurring series were served (``series``): only for problems that have series.

    ``served_by_one`` is the share of the series with any visit served whose served visits all went to one
    volunteer; ``volunteers_per_series`` the mean number of volunteers of a served series.
    """
    if arr.d_series is None or not arr.series_ids:
        return {}
    s = arr.d_series[d]
    keep = s >= 0
    n = max(arr.nv, 1)
    combos = np.unique(s[keep] * n + v[keep])
    per = np.bincount(combos // n, minlength=len(arr.series_ids))
    served = per > 0
    return {"series": {
        "series": len(arr.series_ids),
        "served": int(served.sum()),
        "served_by_one": round(float((per == 1).sum()) / max(int(served.sum()), 1), 6) if served.any() else 1.0,
        "volunteers_per_series": round(float(per[served].mean()), 4) if served.any() else 0.0,
    }}

