"""Integer costs: the one place where points become integers.

The solvers work on int64 costs. The secondary objective (SPEC.md, objective 2)
is measured in *points* (see :class:`~matcher.model.SolveOptions`); one point is
``SCALE`` integer units, so a travel weight of 1 point/km resolves 1 m.

Coverage dominates lexicographically: one unit of coverage weight is worth
``big`` integer units, where ``big`` exceeds the largest possible difference of
the secondary objective between any two solutions (:func:`coverage_unit`).
So the combined integer objective ``-big * coverage + secondary`` never trades
coverage for secondary, however the secondary weights are set.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from matcher.model import SolveOptions

SCALE = 1000
"""Integer units per point of the secondary objective."""

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def pair_costs(options: SolveOptions, travel_km: F64, recent_hours: F64, is_previous: npt.NDArray[np.bool_]) -> I64:
    """Integer secondary cost of each candidate pair, in units of 1/SCALE point.

    Travel and the recent-hours fairness term are paid per assignment; a pair
    that was in the previous solution earns the change weight back (the change
    term counts previous assignments that are *not* kept).
    """
    points = options.travel_weight * travel_km + options.recent_hours_weight * recent_hours
    points = points - options.change_weight * is_previous
    return np.rint(points * SCALE).astype(np.int64)


def load_unit(options: SolveOptions) -> int:
    """Integer cost of one unit of ``tasks**2``; the k-th task of a volunteer costs ``(2k-1)`` units."""
    return int(round(options.load_weight * SCALE))


def continuity_unit(options: SolveOptions) -> int:
    """Integer bonus for a demand served by at least one of its preferred volunteers."""
    return int(round(options.continuity_weight * SCALE))


def coverage_unit(
    max_assignments: int,
    max_pair_cost: int,
    max_tasks: int,
    options: SolveOptions,
    n_continuity: int,
    n_previous: int,
) -> int:
    """The integer value of one unit of coverage weight (``big``).

    It exceeds the largest secondary difference between two solutions: each of
    at most ``max_assignments`` assignments moves the secondary by at most its
    pair cost plus its marginal load cost, each continuity demand by one bonus,
    each previous pair by one change weight.
    """
    per_assignment = abs(max_pair_cost) + load_unit(options) * (2 * max(max_tasks, 1) - 1)
    change = int(round(options.change_weight * SCALE))
    total = max_assignments * per_assignment + n_continuity * continuity_unit(options) + n_previous * change
    return total + 1


def points(units: float) -> float:
    """Convert integer units back to points."""
    return units / SCALE
