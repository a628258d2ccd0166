"""How many points lie within their own reach of each query point, without listing them.

:class:`ReachGrid` holds points (volunteers' homes) with a reach each (km),
all reaches within one band ``[lo, hi]``. :meth:`ReachGrid.count` answers, for
many query points (demands), ``#{i : haversine(query, point i) <= reach[i]}``
exactly, in time proportional to the grid rows a disk spans rather than the
points inside it:

- points are binned on a fine latitude/longitude grid, and each grid row keeps
  prefix counts over its columns;
- for a query and a row, the cells wholly inside the disk of radius ``lo``
  (over the row's whole latitude band) are counted by one difference of the
  prefix counts; cells that the disk of radius ``hi`` may touch but that are not
  wholly inside are *ambiguous*, and only their points are tested one by one
  with the same haversine as :mod:`matcher.engine.geometry`.

Rows are a 16th of the reach high and cells a quarter as wide (the best of the
sizes tried on the district), so the ambiguous ring holds a few percent of the
points. Longitudes are taken as they are: the points and
queries must not straddle the antimeridian (a district never does).
"""

from __future__ import annotations

import math

import numpy as np

from matcher.engine.geometry import haversine_km, unit_vectors
from matcher.engine.types import EARTH_RADIUS_KM, F64, I64

__all__ = ["ReachGrid"]

CELLS_PER_REACH = 16
"""Grid rows per largest reach (fewer when there are few points or a wide area)."""
_COLUMNS_PER_ROW = 4
"""Cells are this many times narrower than high: a row's ambiguous cells then hold fewer points."""
_ROWS_PER_CHUNK = 1_000_000
_TIE = 1e-12
"""Dot products of unit vectors this close to the cosine of the reach are decided by the haversine itself."""
"""At most this many (query, grid row) entries are held at once."""


class ReachGrid:
    """Points with their reach on a fine grid, for counting the points that reach each query point."""

    def __init__(self, lat: F64, lon: F64, reach_km: F64) -> None:
        """``lat``, ``lon`` in degrees and ``reach_km`` in km, one each per point (shape ``(n,)``)."""
        self.lat, self.lon, self.reach = (np.asarray(x, dtype=np.float64) for x in (lat, lon, reach_km))
        n = len(self.lat)
        self.theta_lo = float(self.reach.min()) / EARTH_RADIUS_KM if n else 0.0
        self.theta_hi = float(self.reach.max()) / EARTH_RADIUS_KM if n else 0.0
        phi, lam = np.radians(self.lat), np.radians(self.lon)
        self.phi0 = float(phi.min()) if n else 0.0
        self.lam0 = float(lam.min()) if n else 0.0
        span_phi = (float(phi.max()) - self.phi0) if n else 0.0
        cos_mid = max(math.cos(self.phi0 + span_phi / 2), 0.05)
        span_lam = (float(lam.max()) - self.lam0) * cos_mid if n else 0.0
        # rows of a 16th of the reach, but no more than ~8 cells per point (and 4 million in all)
        budget = min(4_000_000, 8 * n + 1024)
        g = max(self.theta_hi / CELLS_PER_REACH, math.sqrt((span_phi + 1e-9) * (span_lam + 1e-9) / budget), 1e-9)
        self.g_phi, self.g_lam = g, g / cos_mid / 8
        rows = np.floor((phi - self.phi0) / self.g_phi).astype(np.int64)
        cols = np.floor((lam - self.lam0) / self.g_lam).astype(np.int64)
        self.nrows = int(rows.max()) + 1 if n else 1
        self.ncols = int(cols.max()) + 1 if n else 1
        order = np.lexsort((cols, rows))
        self.lat, self.lon, self.reach = self.lat[order], self.lon[order], self.reach[order]
        self.xyz = unit_vectors(self.lat, self.lon).T.copy()  # (3, n): one contiguous array per axis
        self.cos_reach = np.cos(np.minimum(self.reach / EARTH_RADIUS_KM, math.pi))
        self.order: I64 = order.astype(np.int64)
        """Point ``i`` of the grid is point ``order[i]`` as given."""
        per_cell = np.bincount(rows * self.ncols + cols, minlength=self.nrows * self.ncols)
        cum = np.zeros((self.nrows, self.ncols + 1), dtype=np.int64)
        np.cumsum(per_cell.reshape(self.nrows, self.ncols), axis=1, out=cum[:, 1:])
        self.cum = cum
        self.row_start = np.concatenate([[0], np.cumsum(cum[:, -1])[:-1]]).astype(np.int64)

    def count(self, lat: F64, lon: F64) -> I64:
        """For each query point (degrees, shape ``(m,)``), how many points reach it; int64, shape ``(m,)``."""
        m = len(lat)
        out = np.zeros(m, dtype=np.int64)
        if m == 0 or len(self.lat) == 0:
            return out
        k = math.ceil(2 * self.theta_hi / self.g_phi) + 3
        step = max(1, _ROWS_PER_CHUNK // k)
        for a in range(0, m, step):
            out[a:a + step] = self._count_chunk(np.asarray(lat[a:a + step]), np.asarray(lon[a:a + step]), k)
        return out

    def _count_chunk(self, lat: F64, lon: F64, k: int) -> I64:
        m = len(lat)
        phi_q, lam_q = np.radians(lat)[:, None], np.radians(lon)[:, None]
        first = np.floor((phi_q - self.theta_hi - self.phi0) / self.g_phi).astype(np.int64)
        edge = first + np.arange(k + 1)[None, :]  # (m, k + 1): row r lies between edges r and r + 1
        phi_e = self.phi0 + edge * self.g_phi
        # the disk's half-width in longitude at each edge: hav(dlam) = (hav(theta) - hav(dphi)) / (cos phi_q cos phi)
        hav_d = np.sin((phi_e - phi_q) / 2.0) ** 2
        scale = np.maximum(np.cos(phi_q) * np.cos(phi_e), 1e-300)
        w_lo = _width((_hav(self.theta_lo) - hav_d) / scale)
        w_hi = w_lo if self.theta_hi == self.theta_lo else _width((_hav(self.theta_hi) - hav_d) / scale)
        w_centre = _width(_hav(self.theta_hi) / np.maximum(np.cos(phi_q) ** 2, 1e-300))
        r = edge[:, :-1]
        holds_q = (phi_e[:, :-1] <= phi_q) & (phi_q < phi_e[:, 1:])
        # wholly inside: smallest reach, narrower edge of the row (a disk is widest at its centre's latitude);
        # possibly touched: largest reach, at the row's widest point
        w_in = np.minimum(w_lo[:, :-1], w_lo[:, 1:])  # NaN (outside) wins
        w_in = np.where(np.isnan(w_in), -1.0, w_in * (1 - 1e-6) - 1e-12)
        w_out = np.fmax(w_hi[:, :-1], w_hi[:, 1:])
        w_out = np.where(holds_q, np.fmax(w_out, w_centre), w_out)
        live = (r >= 0) & (r < self.nrows) & ~np.isnan(w_out)
        w_out = np.where(live, w_out * (1 + 1e-4) + 1e-12, 0.0)
        r = np.clip(r, 0, self.nrows - 1)
        out_a = np.clip(np.floor((lam_q - w_out - self.lam0) / self.g_lam), 0, self.ncols).astype(np.int64)
        out_b = np.clip(np.floor((lam_q + w_out - self.lam0) / self.g_lam), -1, self.ncols - 1).astype(np.int64)
        in_a = np.clip(np.ceil((lam_q - w_in - self.lam0) / self.g_lam), 0, self.ncols).astype(np.int64)
        in_b = np.clip(np.floor((lam_q + w_in - self.lam0) / self.g_lam) - 1, -1, self.ncols - 1).astype(np.int64)
        empty_out = ~live | (out_a > out_b)
        out_a[empty_out], out_b[empty_out] = 0, -1
        in_a, in_b = np.maximum(in_a, out_a), np.minimum(in_b, out_b)
        empty_in = (w_in < 0) | (in_a > in_b)
        in_a[empty_in], in_b[empty_in] = out_b[empty_in] + 1, out_b[empty_in]
        # points before (row, column) = the row's start + the row's prefix count
        flat, at, base = self.cum.ravel(), r * (self.ncols + 1), self.row_start[r]
        c_out_a, c_in_a = flat[at + out_a], flat[at + in_a]
        c_in_b, c_out_b = flat[at + in_b + 1], flat[at + out_b + 1]
        counts = (c_in_b - c_in_a).sum(axis=1)
        # the ambiguous cells, left and right of the inside ones: test their points one by one
        starts = np.concatenate([(base + c_out_a).ravel(), (base + c_in_b).ravel()])
        n = np.concatenate([(c_in_a - c_out_a).ravel(), (c_out_b - c_in_b).ravel()])
        q = np.repeat(np.tile(np.repeat(np.arange(m), k), 2), n)
        pts = np.repeat(starts - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
        # cos of the angle between the two points against cos of the reach; haversine decides near equality
        qx, qy, qz = unit_vectors(lat, lon).T
        px, py, pz = self.xyz
        dot = px[pts] * qx[q] + py[pts] * qy[q] + pz[pts] * qz[q]
        margin = dot - self.cos_reach[pts]
        hit = margin > _TIE
        close = np.flatnonzero(np.abs(margin) <= _TIE)
        p, qq = pts[close], q[close]
        hit[close] = haversine_km(self.lat[p], self.lon[p], lat[qq], lon[qq]) <= self.reach[p]
        total: I64 = counts + np.bincount(q[hit], minlength=m)
        return total


def _hav(x: float) -> float:
    return math.sin(x / 2.0) ** 2


def _width(h: F64) -> F64:
    """Longitude half-width (radians) from its haversine ``h``: NaN where ``h < 0`` (outside), pi where ``h >= 1``."""
    out: F64 = 2.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.where(h < 0, np.nan, out)
