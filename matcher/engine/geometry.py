"""Distances on the sphere: the haversine distance every rule and report uses, and unit vectors for fast tests."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from matcher.engine.types import EARTH_RADIUS_KM, F64


class HasPlace(Protocol):
    """A record with a place in degrees (a volunteer, an area)."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...

__all__ = ["distance_km", "haversine_km", "unit_vectors"]


def unit_vectors(lat: F64, lon: F64) -> F64:
    """Points on the unit sphere, shape ``(n, 3)`` float64, for chord-distance tests (degrees in)."""
    p, q = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=1)


def haversine_km(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """Great-circle distance in km between points given in degrees (vectorised; arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: F64 = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


def distance_km(home: HasPlace, place: tuple[float, float]) -> float:
    """Haversine km from a record's ``(lat, lon)`` (a volunteer's home) to a place ``(lat, lon)``."""
    one = np.array([home.lat]), np.array([home.lon]), np.array([place[0]]), np.array([place[1]])
    return float(haversine_km(*one)[0])
