"""Integer costs: the one place where points become integers.

The solvers work on int64 costs. The secondary objective (SPEC.md, objective 2)
is measured in *points* (see :class:`~matcher.model.SolveOptions`); one point is
``SCALE`` integer units, so a travel weight of 1 point/km resolves 1 m.

Coverage dominates lexicographically: in the flow, one unit of coverage weight
is worth ``big`` integer units, where ``big`` exceeds the largest possible
difference of the secondary objective between any two solutions (computed from
the actual costs in :mod:`matcher.engine.solvers.flow`). So the combined objective
``-big * coverage + secondary`` never trades coverage for secondary. CP-SAT
solves the two levels in two stages instead.
"""

from __future__ import annotations

import numpy as np

from matcher.engine.types import F64, I64, B
from matcher.model import SolveOptions

__all__ = ["SCALE", "continuity_unit", "load_unit", "pair_costs", "priority_weights", "series_unit"]

SCALE = 1000
"""Integer units per point of the secondary objective."""


def pair_costs(options: SolveOptions, travel_km: F64, recent_hours: F64, is_previous: B,
               star_gap: F64 | None = None, unliked: B | None = None) -> I64:
    """Integer secondary cost of each candidate pair, in units of 1/SCALE point; arrays of one length.

    Travel and the recent-hours fairness term are paid per assignment; a pair
    that was in the previous solution earns the change weight back (the change
    term counts previous assignments that are *not* kept). SPEC v2 adds, per
    assignment, ``quality_weight`` per star the volunteer's mean rating falls
    short of 5 (``star_gap``) and ``preference_weight`` when the demand is
    outside the categories the volunteer said they like (``unliked``).
    """
    points = options.travel_weight * travel_km + options.recent_hours_weight * recent_hours
    points = points - options.change_weight * is_previous
    if star_gap is not None:
        points = points + options.quality_weight * star_gap
    if unliked is not None:
        points = points + options.preference_weight * unliked
    return np.rint(points * SCALE).astype(np.int64)


def series_unit(options: SolveOptions) -> int:
    """Integer cost of each volunteer beyond the first who serves a recurring series (SPEC v2)."""
    return round(options.series_weight * SCALE)


def load_unit(options: SolveOptions) -> int:
    """Integer cost of one unit of ``tasks**2``; the k-th task of a volunteer costs ``(2k-1)`` units."""
    return round(options.load_weight * SCALE)


def continuity_unit(options: SolveOptions) -> int:
    """Integer bonus for a demand served by at least one of its preferred volunteers."""
    return round(options.continuity_weight * SCALE)


def priority_weights(options: SolveOptions) -> I64:
    """Coverage weight w(p) indexed by priority ``p`` (index 0 unused)."""
    return np.array([0] + [options.priority_weights[p] for p in range(1, 6)], dtype=np.int64)
