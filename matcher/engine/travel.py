"""Travel times (SPEC v2): minutes from a volunteer's home to a demand, and between two demands' places.

With ``Problem.travel`` given, a trip of ``km`` straight-line kilometres takes
``km * detour / speed * 60`` minutes at the volunteer's ``speed_kmh`` (else the
default). With a road network, a trip walks to the node nearest its start
(straight line times detour), follows the shortest path through the network
(the edges' minutes, given at the network's speed, scaled to the volunteer's),
and walks from the node nearest its end. Shortest paths are computed once per
distinct demand place (:func:`scipy.sparse.csgraph.dijkstra`), not per pair.
Both kinds of trip satisfy the triangle inequality, so a volunteer's plan keeps
rule 7b when each pair of consecutive tasks does.

**The rounding rule.** A travel time becomes whole microseconds rounded up
(:func:`minutes_to_us`): a volunteer is never given less time than the trip
takes. Every tier, the plan check, explain and recommend use these integers.

Sources: E. W. Dijkstra, "A note on two problems in connexion with graphs",
Numerische Mathematik 1 (1959); SciPy's ``csgraph.dijkstra``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from matcher.engine.geometry import haversine_km, unit_vectors
from matcher.engine.types import EARTH_RADIUS_KM, F64, I64, US_PER_MINUTE, B
from matcher.model import Travel

__all__ = ["RoadPaths", "TravelModel", "minutes_to_us", "reach_km", "travel_model", "unreachable"]

def minutes_to_us(minutes: F64) -> I64:
    """Travel minutes as whole microseconds, rounded up (elementwise; int64)."""
    return np.ceil(np.asarray(minutes, dtype=np.float64) * US_PER_MINUTE).astype(np.int64)


@dataclass(frozen=True, eq=False)
class RoadPaths:
    """A road network's shortest paths between the nodes that matter, at the network's speed."""

    node_lat: F64
    node_lon: F64
    speed_kmh: float
    rows: dict[int, int]
    """Node -> row of :attr:`minutes` (the nodes demands snap to)."""
    minutes: F64
    """Shortest-path minutes from each row's node to every node, shape ``(len(rows), n_nodes)``."""

    def nearest(self, lat: F64, lon: F64) -> tuple[I64, F64]:
        """The node nearest each point and the straight-line km to it."""
        from scipy.spatial import cKDTree

        tree = cKDTree(unit_vectors(self.node_lat, self.node_lon))
        _, idx = tree.query(unit_vectors(lat, lon))
        idx = np.asarray(idx, dtype=np.int64)
        return idx, haversine_km(lat, lon, self.node_lat[idx], self.node_lon[idx])


@dataclass(frozen=True, eq=False)
class TravelModel:
    """Travel minutes for a problem's places, in the arrays' rows (see the module docstring)."""

    detour: float
    roads: RoadPaths | None
    d_node: I64
    """Each demand's nearest node (with a network; empty otherwise)."""
    d_access_km: F64
    """Each demand's straight-line km to its node (with a network; empty otherwise)."""
    d_lat: F64
    """The demands' places (degrees)."""
    d_lon: F64

    def home_minutes(self, v_lat: F64, v_lon: F64, speed: F64, d: I64) -> F64:
        """Minutes from homes ``(v_lat, v_lon)`` at ``speed`` (km/h) to demands ``d`` (arrays of one length)."""
        if self.roads is None:
            km = haversine_km(v_lat, v_lon, self.d_lat[d], self.d_lon[d]) * self.detour
            out: F64 = km / speed * 60.0
            return out
        node, access = self.roads.nearest(v_lat, v_lon)
        return self._via_roads(node, access, d, speed)

    def between_minutes(self, d1: I64, d2: I64, speed: F64) -> F64:
        """Minutes from demand ``d1``'s place to ``d2``'s at ``speed`` (km/h), elementwise."""
        if self.roads is None:
            km = haversine_km(self.d_lat[d1], self.d_lon[d1], self.d_lat[d2], self.d_lon[d2]) * self.detour
            out: F64 = km / speed * 60.0
            return out
        return self._via_roads(self.d_node[d1], self.d_access_km[d1], d2, speed)

    def longest_minutes(self, speed: float) -> float:
        """An upper bound on any trip between two demands at ``speed`` (km/h): what can never conflict (pruning).

        Without a network: twice the largest distance from the first demand (triangle inequality). With one:
        the longest shortest path plus the longest walks at both ends.
        """
        if len(self.d_lat) == 0:
            return 0.0
        if self.roads is None:
            reach = float(haversine_km(self.d_lat[:1], self.d_lon[:1], self.d_lat, self.d_lon).max())
            return 2 * reach * self.detour / speed * 60.0 * (1 + 1e-9)
        paths = self.roads.minutes
        path = float(paths[np.isfinite(paths)].max(initial=0.0)) * self.roads.speed_kmh / speed
        walk = 2 * float(self.d_access_km.max(initial=0.0)) * self.detour / speed * 60.0
        return (path + walk) * (1 + 1e-9)

    def between_minutes_one(self, d1: int, d2: int, speed: float) -> float:
        """:meth:`between_minutes` for one trip, in plain Python (for the greedy's loops).

        It may differ from the vectorised form in the last bit; callers that must agree with it
        (:class:`matcher.engine.sequencing.Sequencer`) keep a microsecond's margin.
        """
        if self.roads is None:
            p1, p2 = math.radians(float(self.d_lat[d1])), math.radians(float(self.d_lat[d2]))
            dl = math.radians(float(self.d_lon[d2])) - math.radians(float(self.d_lon[d1]))
            h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
            km = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))
            return km * self.detour / speed * 60.0
        roads = self.roads
        path = float(roads.minutes[roads.rows[int(self.d_node[d2])], int(self.d_node[d1])]) * (roads.speed_kmh / speed)
        return path + (float(self.d_access_km[d1]) + float(self.d_access_km[d2])) * self.detour / speed * 60.0

    def _via_roads(self, node: I64, access_km: F64, d: I64, speed: F64) -> F64:
        roads = self.roads
        assert roads is not None
        rows = np.fromiter((roads.rows[int(n)] for n in self.d_node[d]), dtype=np.int64, count=len(d))
        path = roads.minutes[rows, node] * (roads.speed_kmh / speed)
        walk = (access_km + self.d_access_km[d]) * self.detour / speed * 60.0
        out: F64 = path + walk
        return out


def travel_model(travel: Travel | None, d_lat: F64, d_lon: F64) -> TravelModel | None:
    """The travel model of a problem's ``travel`` for demands at ``(d_lat, d_lon)``; ``None`` without travel."""
    if travel is None:
        return None
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    if travel.network is None:
        return TravelModel(travel.detour, None, empty_i, empty_f, d_lat, d_lon)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    net = travel.network
    index = {n.id: i for i, n in enumerate(net.nodes)}
    lat = np.array([n.lat for n in net.nodes], dtype=np.float64)
    lon = np.array([n.lon for n in net.nodes], dtype=np.float64)
    src = np.array([index[e.source] for e in net.edges], dtype=np.int64)
    dst = np.array([index[e.target] for e in net.edges], dtype=np.int64)
    minutes = np.array([e.minutes for e in net.edges], dtype=np.float64)
    graph = coo_matrix((minutes, (src, dst)), shape=(len(lat), len(lat))).tocsr()
    probe = RoadPaths(lat, lon, net.speed_kmh, {}, np.zeros((0, len(lat))))
    d_node, d_access = probe.nearest(d_lat, d_lon) if len(d_lat) else (empty_i, empty_f)
    sources = np.unique(d_node)
    # zero-length edges are kept: a tiny epsilon is not needed, scipy treats explicit zeros as edges
    paths = dijkstra(graph, directed=False, indices=sources) if len(sources) else np.zeros((0, len(lat)))
    roads = RoadPaths(lat, lon, net.speed_kmh, {int(n): r for r, n in enumerate(sources.tolist())},
                      np.asarray(paths, dtype=np.float64).reshape(len(sources), len(lat)))
    return TravelModel(travel.detour, roads, d_node, d_access, d_lat, d_lon)


def reach_km(max_km: F64, max_minutes: F64, speed: F64, model: TravelModel | None) -> F64:
    """The straight-line km that bounds each volunteer's reach (the candidate search's radius).

    Without travel, or without ``max_travel_minutes`` (NaN), it is ``max_travel_km``. With minutes, a trip
    can never cover more straight-line km than ``minutes * speed / 60`` (divided by the detour without a
    network; a network's edges are never faster than its speed, which the model checks).
    """
    if model is None:
        return max_km
    bound = max_minutes * speed / 60.0 / (model.detour if model.roads is None else 1.0)
    out: F64 = np.where(np.isnan(max_minutes), max_km, bound)
    return out


def unreachable(minutes: F64) -> B:
    """Trips the network cannot make (no path)."""
    out: B = ~np.isfinite(minutes)
    return out

