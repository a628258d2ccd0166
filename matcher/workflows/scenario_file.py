"""The scenario file's schema: the base, the variants, and the edits a planner can list.

Each model checks its own fields; :mod:`matcher.workflows.edits` applies the
edits, and :mod:`matcher.workflows.scenario` reads and builds a whole file.
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matcher.generate import PRESETS, WORLDS, World
from matcher.model import Count, Flag, Real, SolveOptions, Time

__all__ = ["EDITS", "AddEvent", "AddTeamBlock", "AddVolunteers", "Base", "ChangeTravel", "Places", "RemoveTeamBlock",
           "RemoveVolunteers", "ScaleDemand", "ScenarioFile", "SetOptions", "SetSpeed", "SetTravel", "Strict",
           "Variant"]


class Strict(BaseModel):
    """Base of the scenario file's models: immutable, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Places(Strict):
    """Where an edit applies; empty lists mean everywhere. A volunteer's place is the area nearest home."""

    areas: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()


class RemoveVolunteers(Places):
    """Take ``share`` of the matching volunteers away (drawn with ``seed``)."""

    share: Real = Field(gt=0.0, le=1.0)
    seed: Count = Field(default=0, ge=0)
    teams: tuple[str, ...] = ()
    skills: tuple[str, ...] = Field(default=(), description="volunteers holding any of these")


class AddVolunteers(Strict):
    """``count`` new volunteers living around a place (an area, community or street)."""

    count: Count = Field(ge=1, le=100_000)
    area: str | None = None
    community: str | None = None
    street: str | None = None
    spread_km: Real = Field(default=0.6, gt=0.0, le=20.0, description="how far from the place's centre they live")
    skills: tuple[str, ...] = Field(default=(), description="every new volunteer holds these (and general)")
    skill_mix: dict[str, Real] = Field(default_factory=dict,
                                        description="skill -> share of the new volunteers who also hold it")
    days: Literal["weekdays", "weekend", "all"] = "all"
    hours: str = Field(default="09:00-17:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    team: str | None = None
    id_prefix: str = Field(default="NEW", min_length=1)
    max_tasks: Count = Field(default=3, ge=0)
    max_hours: Real = Field(default=8.0, ge=0.0)
    max_travel_km: Real = Field(default=1.5, gt=0.0)
    insured: Flag = True
    seed: Count = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_place(self) -> AddVolunteers:
        if sum(x is not None for x in (self.area, self.community, self.street)) != 1:
            raise ValueError("name exactly one of area, community, street")
        a, b = self.hours.split("-")
        if not (time.fromisoformat(a) < time.fromisoformat(b)):
            raise ValueError("hours must be 'HH:MM-HH:MM' with the start before the end")
        if any(not 0.0 <= s <= 1.0 for s in self.skill_mix.values()):
            raise ValueError("skill_mix shares must be between 0 and 1")
        return self


class ScaleDemand(Places):
    """Multiply the matching orders by ``factor``: whole twins, and a drawn share for the fraction."""

    factor: Real = Field(ge=0.0, le=20.0)
    categories: tuple[str, ...] = Field(default=(), description="category or subcategory codes")
    priorities: tuple[Count, ...] = ()
    seed: Count = Field(default=0, ge=0)


class AddEvent(Strict):
    """A large event: ``headcount`` volunteers at one place or split over several (posts along a route)."""

    id: str = Field(min_length=1)
    area: str | None = None
    areas: tuple[str, ...] = ()
    lat: Real | None = Field(default=None, ge=-90.0, le=90.0)
    lon: Real | None = Field(default=None, ge=-180.0, le=180.0)
    start: Time
    end: Time
    headcount: Count = Field(ge=1, le=100_000)
    skills: tuple[str, ...] = ("general",)
    category: str = "events"
    priority: Count = Field(default=3, ge=1, le=5)
    requires_insured: Flag = True

    @model_validator(mode="after")
    def _place_and_time(self) -> AddEvent:
        places = (self.area is not None) + bool(self.areas) + (self.lat is not None or self.lon is not None)
        if places != 1 or (self.lat is None) != (self.lon is None):
            raise ValueError("give exactly one of: area, areas, or lat and lon")
        if not self.start < self.end:
            raise ValueError("start must be before end")
        if len(self.areas) > self.headcount:
            raise ValueError("more areas than headcount")
        return self


class ChangeTravel(Places):
    """Scale (``factor``) or set (``km``, ``minutes``) the matching volunteers' reach; 15 to 20 minutes is 1.333.

    ``factor`` scales ``max_travel_km`` and, where set, ``max_travel_minutes``. ``minutes`` sets
    ``max_travel_minutes`` (a problem with travel times only) and keeps ``max_travel_km`` in step: the straight
    line those minutes reach at the volunteer's speed and the problem's detour.
    """

    factor: Real | None = Field(default=None, gt=0.0, le=10.0)
    km: Real | None = Field(default=None, gt=0.0, le=100.0)
    minutes: Real | None = Field(default=None, gt=0.0, le=1440.0)
    teams: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one(self) -> ChangeTravel:
        if sum(x is not None for x in (self.factor, self.km, self.minutes)) != 1:
            raise ValueError("give exactly one of factor, km, minutes")
        return self


class SetSpeed(Places):
    """``speed_kmh`` for a ``share`` of the matching volunteers (drawn with ``seed``): walking 4.5, cycling 13.

    In a problem with travel times, a volunteer with ``max_travel_minutes`` keeps ``max_travel_km`` in step.
    """

    speed_kmh: Real = Field(gt=0.0, le=200.0)
    share: Real = Field(default=1.0, gt=0.0, le=1.0)
    seed: Count = Field(default=0, ge=0)
    teams: tuple[str, ...] = ()


class SetTravel(Strict):
    """``Problem.travel``'s default ``speed_kmh`` and ``detour`` (a problem without travel times gets them).

    Volunteers with ``max_travel_minutes`` keep ``max_travel_km`` in step with the new speed and detour.
    """

    speed_kmh: Real | None = Field(default=None, gt=0.0, le=200.0)
    detour: Real | None = Field(default=None, ge=1.0, le=10.0)

    @model_validator(mode="after")
    def _some(self) -> SetTravel:
        if self.speed_kmh is None and self.detour is None:
            raise ValueError("give speed_kmh, detour or both")
        return self


class AddTeamBlock(Places):
    """Bind ``share`` of the orders from these places (not bound to a team yet) to ``team``."""

    team: str = Field(min_length=1)
    share: Real = Field(default=1.0, gt=0.0, le=1.0)
    seed: Count = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _somewhere(self) -> AddTeamBlock:
        if not (self.areas or self.communities or self.streets):
            raise ValueError("name the block: areas, communities or streets")
        return self


class RemoveTeamBlock(Places):
    """Release the orders bound to ``team`` (in these places, or everywhere)."""

    team: str = Field(min_length=1)


class SetOptions(SolveOptions):
    """Solve options for this variant (any :class:`~matcher.model.SolveOptions` field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


EDITS: dict[str, type[BaseModel]] = {
    "remove_volunteers": RemoveVolunteers,
    "add_volunteers": AddVolunteers,
    "scale_demand": ScaleDemand,
    "add_event": AddEvent,
    "change_travel": ChangeTravel,
    "set_speed": SetSpeed,
    "set_travel": SetTravel,
    "add_team_block": AddTeamBlock,
    "remove_team_block": RemoveTeamBlock,
    "set_options": SetOptions,
}
"""The edits a variant can list, by the key that names them in the file."""


class Base(Strict):
    """The place a scenario starts from: a generator preset, or data (a folder of tables or a problem JSON)."""

    preset: str | None = None
    seed: Count = Field(default=0, ge=0)
    scale: Real = Field(default=1.0, gt=0.0, le=10.0)
    holiday: Flag | None = None
    world: World | None = Field(default=None, description="a preset's world: v1 (default) or v2 (travel times, "
                                "series, crews, ratings)")
    data: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Base:
        if (self.preset is None) == (self.data is None):
            raise ValueError("give exactly one of preset, data")
        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r} (known: {', '.join(PRESETS)})")
        if self.world is not None and self.preset is None:
            raise ValueError(f"world is a preset's ({', '.join(WORLDS)}); data brings its own fields")
        return self


class Variant(Strict):
    """A named list of edits to the base."""

    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    edits: tuple[dict[str, Any], ...] = Field(min_length=1)


class ScenarioFile(Strict):
    """The whole file, as written (edits checked separately, each against :data:`EDITS`)."""

    name: str = Field(min_length=1)
    description: str = ""
    base: Base
    options: dict[str, Any] = Field(default_factory=dict)
    variants: tuple[Variant, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> ScenarioFile:
        names = [v.name for v in self.variants]
        dup = sorted({n for n in names if names.count(n) > 1 or n == "base"})
        if dup:
            raise ValueError(f"variant names must be unique and not 'base': {', '.join(dup)}")
        return self
