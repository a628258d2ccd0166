"""The shapes of generated places (:class:`Preset`, :data:`PRESETS`) and the worlds they can be drawn in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PRESETS", "TRAVEL", "WORLDS", "Preset", "Tables", "World", "generated_settings"]

Tables = dict[str, dict[str, list[Any]]]
"""Columnar tables: table name -> column name -> values (``None`` = not given)."""

World = Literal["v1", "v2"]
WORLDS: tuple[World, ...] = ("v1", "v2")
"""``v1``: SPEC v1's fields only (the presets as they always were). ``v2``: the same place with travel times,
walking and cycling speeds, a 15-minute circle, households' weekly series, event crews, a history of ratings
and preferred categories (:mod:`matcher.generate.world`)."""

TRAVEL: dict[str, float] = {"speed_kmh": 4.5, "detour": 1.3}
"""``Problem.travel`` of a v2 world: walking at 4.5 km/h, routes 1.3 times the straight line."""


@dataclass(frozen=True)
class Preset:
    """The size and shape of a generated place.

    Attributes
    ----------
    volunteers, teams, demands
        Counts (demands over one week).
    streets, communities_per_street, grids_per_community
        The hierarchy district -> streets -> communities -> grid areas.
    extent_km
        Side of the square the streets tile.
    events
        Large events (50-150 staff each) in the week.
    hard_spots
        Communities with no nurse in range that still order home nursing.
    holiday
        A school-holiday week (students free on weekdays too).
    active_share
        Share of registered volunteers who give any availability this week
        (the rest are registered but inactive: an empty availability).

    """

    name: str
    volunteers: int
    teams: int
    demands: int
    streets: int
    communities_per_street: int
    grids_per_community: int
    extent_km: float
    events: int
    hard_spots: int
    holiday: bool = False
    active_share: float = 0.4


PRESETS: dict[str, Preset] = {
    "community": Preset("community", 1_000, 8, 250, 1, 1, 12, 2.0, 1, 0),
    "street": Preset("street", 10_000, 80, 2_500, 1, 12, 10, 5.0, 2, 1),
    "district": Preset("district", 80_000, 644, 20_000, 11, 10, 10, 16.0, 6, 3),
    "city": Preset("city", 1_200_000, 4_800, 300_000, 150, 11, 10, 60.0, 60, 20),
}
"""The shipped presets. ``district`` follows a real one: about 80,000 volunteers in 644 teams."""


def generated_settings(world: World = "v1") -> dict[str, Any]:
    """The settings (``settings.json``; the JSON problem's other fields) of a generated place of ``world``."""
    if world not in WORLDS:
        raise ValueError(f"unknown world {world!r} (known: {', '.join(WORLDS)})")
    return {"taxonomy": "builtin"} | ({"travel": dict(TRAVEL)} if world == "v2" else {})
