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

import math
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matcher.model.values import Count, Flag, Real, Time

__all__ = ["MAX_TEXT", "Area", "Assignment", "Demand", "Edge", "Frozen", "Node", "Rating", "RoadNetwork", "Travel",
           "Volunteer", "Window"]

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
    max_travel_minutes: Real | None = Field(
        default=None, gt=0.0, le=1440.0,
        description="v2: how far from home by travel time (with Problem.travel): rule 3 in minutes")
    speed_kmh: Real | None = Field(
        default=None, gt=0.0, le=200.0, description="v2: this volunteer's speed (walks, cycles, drives)")
    preferred_categories: tuple[str, ...] = Field(
        default=(), max_length=50, description="v2: what they like to do (a preference, not a rule)")


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
    series_id: str | None = Field(
        default=None, description="v2: the visits of one recurring service (a household's weekly visits)")
    min_headcount: Count | None = Field(
        default=None, ge=1, le=100_000, description="v2: send nobody, or at least this many (a crew)")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.start < self.end:
            raise ValueError(f"start ({self.start.isoformat()}) must be before end ({self.end.isoformat()})")
        if self.min_headcount is not None and self.min_headcount > self.headcount:
            raise ValueError(f"min_headcount ({self.min_headcount}) must be at most headcount ({self.headcount})")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.lat is None and self.area_id is None:
            raise ValueError("needs either area_id or lat/lon")
        return self


class Assignment(Frozen):
    """One volunteer sent to one demand (派单)."""

    volunteer_id: str
    demand_id: str


class Rating(Frozen):
    """A resident's rating after a service (评单): of a volunteer, on a demand and/or a recurring series (v2)."""

    volunteer_id: str = Field(min_length=1)
    demand_id: str | None = None
    series_id: str | None = None
    stars: Count = Field(ge=1, le=5)
    at: Time


class Node(Frozen):
    """A node of a road network (v2)."""

    id: str = Field(min_length=1)
    lat: Real = Latitude
    lon: Real = Longitude


class Edge(Frozen):
    """A road between two nodes, and the minutes it takes at the network's speed (both ways, v2)."""

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    minutes: Real = Field(ge=0.0, le=10_000.0)


class RoadNetwork(Frozen):
    """An optional road network: shortest paths replace the detour over the straight line (v2)."""

    nodes: tuple[Node, ...] = Field(min_length=1, max_length=1_000_000)
    edges: tuple[Edge, ...] = Field(default=(), max_length=5_000_000)
    speed_kmh: Real = Field(default=4.5, gt=0.0, le=200.0,
                            description="the speed the edges' minutes are at (a volunteer's own speed scales them)")

    @model_validator(mode="after")
    def _known_nodes(self) -> Self:
        ids = {n.id for n in self.nodes}
        if len(ids) != len(self.nodes):
            raise ValueError("node ids must be unique")
        bad = [e for e in self.edges if e.source not in ids or e.target not in ids]
        if bad:
            raise ValueError(f"edge {bad[0].source!r} -> {bad[0].target!r} names an unknown node "
                             f"({len(bad)} such edges)")
        # an edge faster than the network's speed over the straight line would let a trip beat the straight
        # line, and reach (the candidate search's radius) could no longer be bounded by it
        place = {n.id: (n.lat, n.lon) for n in self.nodes}
        for e in self.edges:
            km = _straight_km(*place[e.source], *place[e.target])
            if e.minutes * self.speed_kmh < km * 60.0 * (1 - 1e-9):
                raise ValueError(f"edge {e.source!r} -> {e.target!r}: {e.minutes:g} min for {km:.3f} km in a "
                                 f"straight line is faster than the network's speed_kmh {self.speed_kmh:g}")
        # every trip must exist: a volunteer cannot be sent between places the roads do not join
        root = {n.id: n.id for n in self.nodes}

        def find(x: str) -> str:
            while root[x] != x:
                root[x] = root[root[x]]
                x = root[x]
            return x

        for e in self.edges:
            root[find(e.source)] = find(e.target)
        parts = {find(n.id) for n in self.nodes}
        if len(parts) > 1:
            first = self.nodes[0].id
            away = next(n.id for n in self.nodes if find(n.id) != find(first))
            raise ValueError(f"the road network is not connected ({len(parts)} parts): no road joins node "
                             f"{first!r} to node {away!r}")
        return self


class Travel(Frozen):
    """Travel times (v2): reach and the time between tasks by minutes, not straight-line kilometres.

    A trip of ``km`` straight-line kilometres takes ``km * detour / speed * 60`` minutes at the
    volunteer's ``speed_kmh`` (else this default); with a ``network``, the shortest path between the
    nodes nearest the two places replaces ``km * detour`` (its minutes scaled from the network's speed
    to the volunteer's).
    """

    speed_kmh: Real = Field(default=4.5, gt=0.0, le=200.0, description="default speed (4.5: walking)")
    detour: Real = Field(default=1.3, ge=1.0, le=10.0, description="route km per straight-line km")
    network: RoadNetwork | None = None


def _straight_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine km (the same sphere as matcher.engine.geometry; here for a record's own check)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, max(0.0, h))))

