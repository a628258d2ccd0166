"""The settings of one solve (:class:`SolveOptions`), each checking its own range.

Reading options from a TOML, YAML or JSON file is :func:`matcher.io.load_options`'s job.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from matcher.model.records import Frozen
from matcher.model.values import Count, Real

__all__ = ["DEFAULT_PRIORITY_WEIGHTS", "SolveOptions"]

DEFAULT_PRIORITY_WEIGHTS: dict[int, int] = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16}
"""SPEC.md's default coverage weights w(priority)."""


class SolveOptions(Frozen):
    """Settings of one solve; each checks its own range.

    Secondary weights are in *points*; the integer scale used by the solvers
    is documented in :mod:`matcher.engine.costs`.
    """

    time_limit_s: Real = Field(default=30.0, gt=0.0, le=86_400.0, description="wall-clock budget of the solve")
    seed: Count = Field(
        default=0, ge=0, le=2**31 - 1, description="random seed; same input and seed give the same output"
    )
    threads: Count = Field(default=1, ge=1, le=256, description="CP-SAT workers")
    priority_weights: dict[int, Count] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_WEIGHTS),
        description="coverage weight w(priority) for priorities 1..5",
    )
    travel_weight: Real = Field(default=1.0, ge=0.0, le=1e6, description="points per km travelled")
    recent_hours_weight: Real = Field(
        default=0.05, ge=0.0, le=1e6, description="points per assignment per hour the volunteer served recently"
    )
    load_weight: Real = Field(
        default=0.5, ge=0.0, le=1e6, description="points per volunteer per (tasks assigned)^2: piling up costs more"
    )
    continuity_weight: Real = Field(
        default=5.0, ge=0.0, le=1e6, description="points per demand served by none of its preferred_volunteers"
    )
    max_memory_mb: Real | None = Field(
        default=None, gt=0.0, le=1e9,
        description="refuse a problem whose estimated peak memory exceeds this (default: 90% of what is available)",
    )
    series_weight: Real = Field(
        default=3.0, ge=0.0, le=1e6,
        description="v2: points per volunteer beyond the first who serves a recurring series (one face per household)")
    quality_weight: Real = Field(
        default=1.0, ge=0.0, le=1e6,
        description="v2: points per assignment per star a volunteer's recent mean rating falls short of 5")
    preference_weight: Real = Field(
        default=1.0, ge=0.0, le=1e6,
        description="v2: points per assignment outside the categories a volunteer said they like (when they said)")
    change_weight: Real = Field(
        default=10.0, ge=0.0, le=1e6, description="points per assignment of Problem.previous that is not kept"
    )

    @field_validator("priority_weights")
    @classmethod
    def _weights(cls, value: dict[int, int]) -> dict[int, int]:
        if sorted(value) != [1, 2, 3, 4, 5]:
            raise ValueError("must give a weight for each priority 1..5")
        if any(w < 1 or w > 1_000_000 for w in value.values()):
            raise ValueError("weights must be integers from 1 to 1000000")
        return value
