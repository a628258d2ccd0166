"""From chosen index pairs to a :class:`~matcher.model.Solution`: unmet reasons, secondary, KPIs.

The unmet reasons are :mod:`matcher.engine.ladder`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.engine.arrays import ProblemArrays, member
from matcher.engine.candidates import Pairs
from matcher.engine.context import Clock, unliked
from matcher.engine.costs import priority_weights
from matcher.engine.geometry import haversine_km
from matcher.engine.ladder import Ladder, unmet_reasons
from matcher.engine.limits import peak_memory_mib
from matcher.engine.types import I64, US_PER_HOUR
from matcher.model import AssignmentOut, Solution, SolveOptions, SolveStats, Status, Unmet

__all__ = ["build_solution", "peak_memory_mib", "secondary_points", "series_volunteers"]


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
    counted them already (:func:`matcher.engine.ladder.ladder_counts`).
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

