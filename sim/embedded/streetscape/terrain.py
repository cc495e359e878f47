"""Ground that follows the roads: beside a road the terrain lies just under the road's
own height (embankments up to a crest and down again), away from the roads it blends
their heights and rises into hills. It never covers a road: near any lane it stays
below the lowest lane surface there (a bridge stands on an embankment that ends at the
road beneath it).

The ground is the flat grass plane (just under the lowest road, as without a
streetscape) plus a grid of cells wherever the terrain rises above it. The terrain
never dips below the plane, so the plane is hidden wherever cells stand. A ray that
meets the plane costs one triangle test, one that meets a grid of cells many more (on
a flat map with hills that was 5 ms of a 640x360 frame's 20): only what rises is
triangulated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial import cKDTree

from sim.embedded.render.materials import Material
from sim.embedded.render.mesh import MeshBuilder
from sim.embedded.render.road_mesh import GROUND_BELOW_M, LaneStrip

CLEAR_M = 4.0  # within this of a lane point the terrain stays under that lane
NEIGHBOURS = 8
HILLS_FROM_M = 30.0  # hills start this far from the nearest road ...
HILLS_RAMP_M = 80.0  # ... and reach their height this much farther
STEP_M = 5.0  # grid cell over the roads' box and its margin
CORE_MARGIN_M = 80.0
OUTER_MARGIN_M = 300.0  # as far as the flat plane reaches
RAISED_M = 0.01  # a cell with a corner this far above the plane is drawn


class Terrain:
    """``height(xy)`` of the ground, never below ``base_z`` (the grass plane's height);
    ``flat``: the plane alone (a streetscape without terrain)."""

    def __init__(
        self,
        strips: list[LaneStrip],
        rng: np.random.Generator,
        hill_m: float,
        base_z: float,
        flat: bool = False,
    ) -> None:
        points = np.concatenate(
            [np.concatenate([s.left, s.center, s.right]) for s in strips]
        ).astype(np.float64)
        self.lo_xy = points[:, :2].min(axis=0)
        self.hi_xy = points[:, :2].max(axis=0)
        self._tree = cKDTree(points[:, :2])
        self._z = points[:, 2]
        self.hill_m = hill_m
        self.base_z = base_z
        self.flat = flat
        # Hills: the crests of a few long waves in random directions (90-300 m).
        n = 6
        angle = rng.uniform(0.0, 2.0 * np.pi, n)
        wavelength = rng.uniform(90.0, 300.0, n)
        self._k = np.stack([np.cos(angle), np.sin(angle)], 1) * (2.0 * np.pi / wavelength)[:, None]
        self._phase = rng.uniform(0.0, 2.0 * np.pi, n)
        self._amp = rng.uniform(0.5, 1.0, n)
        self._amp /= self._amp.sum() / 1.6  # the waves' sum reaches about +-1

    def height(self, xy: np.ndarray) -> np.ndarray:
        """(N,) ground height at (N, 2) points."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        if self.flat:
            return np.full(xy.shape[0], self.base_z)
        d, i = self._tree.query(xy, k=NEIGHBOURS)
        z = self._z[i]
        w = 1.0 / (d * d + 4.0)
        blend = (w * z).sum(axis=1) / w.sum(axis=1)
        under = np.where(d < CLEAR_M, z, np.inf).min(axis=1)
        ground = np.minimum(blend, under) - GROUND_BELOW_M
        if self.hill_m > 0:
            t = np.clip((d[:, 0] - HILLS_FROM_M) / HILLS_RAMP_M, 0.0, 1.0)
            ramp = t * t * (3.0 - 2.0 * t)
            waves = (np.sin(xy @ self._k.T + self._phase) * self._amp).sum(axis=1)
            ground = ground + self.hill_m * ramp * np.maximum(waves, 0.0)
        return np.maximum(ground, self.base_z)


def _axis(lo: float, hi: float) -> np.ndarray:
    """Grid lines: every STEP_M over [lo, hi] and its margin, then doubling steps out to
    the plane's edge."""
    core = np.arange(lo - CORE_MARGIN_M, hi + CORE_MARGIN_M + STEP_M, STEP_M)
    outer_lo, outer_hi = [], []
    step, a, b = STEP_M, core[0], core[-1]
    while a > lo - OUTER_MARGIN_M:
        step *= 2.0
        a, b = a - step, b + step
        outer_lo.append(a)
        outer_hi.append(b)
    return np.concatenate([outer_lo[::-1], core, outer_hi])


def _covered_cells(
    xy: np.ndarray, quads: np.ndarray, under_road: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """(Q,) whether lanes cover each core cell whole, tested every 0.5 m (the free space
    grid's cell) across it; wider cells are kept."""
    lo, hi = xy[quads[:, 0]], xy[quads[:, 2]]
    small = np.flatnonzero(np.all(hi - lo <= STEP_M + 1e-6, axis=1))
    out = np.zeros(quads.shape[0], dtype=bool)
    if small.size == 0:
        return out
    f = np.linspace(0.0, 1.0, int(STEP_M / 0.5) + 1)
    fx, fy = (g.ravel() for g in np.meshgrid(f, f))
    pts = lo[small, None, :] + np.stack([fx, fy], 1)[None] * (hi - lo)[small, None, :]
    out[small] = under_road(pts.reshape(-1, 2)).reshape(small.size, -1).all(axis=1)
    return out


def add_terrain(
    builder: MeshBuilder,
    terrain: Terrain,
    rng: np.random.Generator,
    grass_rgb: np.ndarray,
    under_road: Callable[[np.ndarray], np.ndarray] | None = None,
) -> None:
    """The cells that rise above the grass plane, grass tinted per triangle.
    ``under_road``: (N, 2) points -> (N,) whether a lane covers them; cells a lane covers
    whole are left out too (a ray that reaches one hits the road first)."""
    if terrain.flat:
        return
    xs = _axis(terrain.lo_xy[0], terrain.hi_xy[0])
    ys = _axis(terrain.lo_xy[1], terrain.hi_xy[1])
    gx, gy = np.meshgrid(xs, ys)
    xy = np.stack([gx.ravel(), gy.ravel()], 1)
    z = terrain.height(xy)
    nx = xs.size
    r, c = np.meshgrid(np.arange(ys.size - 1), np.arange(nx - 1), indexing="ij")
    v0 = (r * nx + c).ravel()
    quads = np.stack([v0, v0 + 1, v0 + nx + 1, v0 + nx], 1)
    quads = quads[(z[quads] > terrain.base_z + RAISED_M).any(axis=1)]
    if under_road is not None and quads.size:
        quads = quads[~_covered_cells(xy, quads, under_road)]
    if quads.size == 0:
        return
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    shade = rng.uniform(0.85, 1.12, (tris.shape[0], 1)) * rng.uniform(0.95, 1.05, (1, 3))
    verts = np.column_stack([xy, z])
    builder.add(verts, tris, Material.GRASS, colour=np.clip(grass_rgb * shade, 0.0, 1.0))
