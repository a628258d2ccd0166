"""The records of SPEC.md's Problem: windows, areas, volunteers, demands and assignments.

Field names and meanings follow ``shared/SPEC.md`` exactly. Field-level rules
(ranges, types, ``start < end``) are checked by pydantic at construction.

Sizes are bounded, so that a slip in an export cannot exhaust the machine
(an *extension*: SPEC.md gives no upper limits): ids, codes and names at most
500 characters; a volunteer at most 200 skills and 1,000 availability windows,
``max_tasks`` <= 1,000, ``max_hours`` <= 10,000, ``max_travel_km`` <= 1,000,
``recent_hours`` <= 100,000; a demand at most 50 required skills and 100
preferred volunteers, ``headcount`` <= 100,000. NaN and infinite numbers are
refused everywhere.

Values are read strictly (:mod:`matcher.model.values`): a number is never a
time, ``true`` is never 1, an integer is never ``2.5``.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matcher.model.values import Count, Flag, Real, Time

__all__ = ["MAX_TEXT", "Area", "Assignment", "Demand", "Frozen", "Volunteer", "Window"]

MAX_TEXT = 500
"""Longest id, code or name accepted (characters)."""


class Frozen(BaseModel):
    """Base of the contract's models: immutable, unknown fields refused, no NaN or infinity, bounded text."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)


Latitude = Field(ge=-90.0, le=90.0, description="WGS84 latitude in degrees")
Longitude = Field(ge=-180.0, le=180.0, description="WGS84 longitude in degrees")


class Window(Frozen):
    """A time window ``[start, end]`` with time-zone offsets, ``start < end``."""

    start: Time
    end: Time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.start < self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        return self


class Area(Frozen):
    """A grid cell (网格) that demands come from."""

    id: str = Field(min_length=1)
    lat: Real = Latitude
    lon: Real = Longitude
    community: str | None = None
    street: str | None = None


class Volunteer(Frozen):
    """A registered person who can be dispatched."""

    id: str = Field(min_length=1)
    lat: Real = Latitude
    lon: Real = Longitude
    skills: tuple[str, ...] = Field(default=(), max_length=200)
    availability: tuple[Window, ...] = Field(default=(), max_length=1000)
    max_tasks: Count = Field(default=3, ge=0, le=1000)
    max_hours: Real = Field(default=8.0, ge=0.0, le=10_000.0,
                            description="hours as written (4.1 means 4.1); see matcher.engine.types")
    max_travel_km: Real = Field(default=2.0, gt=0.0, le=1000.0)
    team_id: str | None = None
    insured: Flag = True
    recent_hours: Real = Field(default=0.0, ge=0.0, le=100_000.0)


class Demand(Frozen):
    """One ordered service (点单) needing ``headcount`` volunteers."""

    id: str = Field(min_length=1)
    area_id: str | None = None
    lat: Real | None = Field(default=None, ge=-90.0, le=90.0)
    lon: Real | None = Field(default=None, ge=-180.0, le=180.0)
    category: str = Field(min_length=1)
    required_skills: tuple[str, ...] = Field(default=(), max_length=50)
    headcount: Count = Field(ge=1, le=100_000)
    start: Time
    end: Time
    priority: Count = Field(ge=1, le=5)
    requires_insured: Flag = False
    team_id: str | None = None
    preferred_volunteers: tuple[str, ...] = Field(default=(), max_length=100)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.start < self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.lat is None and self.area_id is None:
            raise ValueError("needs either area_id or lat/lon")
        return self


class Assignment(Frozen):
    """One volunteer sent to one demand (派单)."""

    volunteer_id: str
    demand_id: str
