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

__all__ = ["SCALE", "continuity_unit", "load_unit", "pair_costs", "priority_weights"]

SCALE = 1000
"""Integer units per point of the secondary objective."""


def pair_costs(options: SolveOptions, travel_km: F64, recent_hours: F64, is_previous: B) -> I64:
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
    return round(options.load_weight * SCALE)


def continuity_unit(options: SolveOptions) -> int:
    """Integer bonus for a demand served by at least one of its preferred volunteers."""
    return round(options.continuity_weight * SCALE)


def priority_weights(options: SolveOptions) -> I64:
    """Coverage weight w(p) indexed by priority ``p`` (index 0 unused)."""
    return np.array([0] + [options.priority_weights[p] for p in range(1, 6)], dtype=np.int64)
