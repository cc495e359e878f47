"""Clusters of the non-ground points in the bird's-eye plane (``cluster.method``): an
occupancy grid with walls split off long components, or Open3D DBSCAN."""

from __future__ import annotations

import numpy as np
import open3d as o3d
from scipy import ndimage

from perception.lidar.config import ClusterConfig

RANSAC_TRIES = 48  # line hypotheses per long cluster
MAX_SPLIT_ROUNDS = 4  # lines taken out of one cluster at most
EIGHT = np.ones((3, 3), bool)  # 8-connected cells join


def warp_bev(xy: np.ndarray, sensor_xy: np.ndarray, from_m: float, scale_m: float) -> np.ndarray:
    """Bird's-eye points about the sensor with ranges beyond ``from_m`` compressed
    (radially by 1 / (1 + (r - r1) / r0), sideways less), so one fixed gap threshold
    bridges the wider gaps far away, where rings and columns spread out."""
    d = xy - sensor_xy
    if scale_m <= 0.0 or xy.shape[0] == 0:
        return d
    r = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)
    beyond = np.maximum(r - from_m, 0.0)
    warped = np.minimum(r, from_m) + scale_m * np.log1p(beyond / scale_m)
    return d * (warped / r)[:, None]


def wall_split_clusters(
    xy_warped: np.ndarray, xy_true: np.ndarray, cfg: ClusterConfig
) -> np.ndarray:
    """(M,) int32 labels: 8-connected components of the (warped) bird's-eye occupancy
    grid, with straight thin runs taken out of the components longer than
    ``split_length_m`` (walls, fences, kerbside façades) and the rest joined again.
    Points of a wall run: -1.

    In a long component, straight runs that long (RANSAC lines on the cells' true
    centres, runs split at gaps over ``line_gap_m``) are wall, with every cell within
    ``wall_band_m`` of the run (a wall's thickness, its pillars, the bushes along it);
    the rest is labelled again and searched again. A car parked along a fence shows the
    sensor its far side from the fence, a car's width away: it stays."""
    if xy_warped.shape[0] == 0:
        return np.zeros(0, np.int32)
    ij = np.floor((xy_warped - xy_warped.min(axis=0)) / cfg.grid_cell_m).astype(np.int64)
    shape = (int(ij[:, 0].max()) + 1, int(ij[:, 1].max()) + 1)
    cells, point_cell = np.unique(ij[:, 0] * shape[1] + ij[:, 1], return_inverse=True)
    ci, cj = np.divmod(cells, shape[1])
    # per cell: mean true xy (lines are straight only in the true plane)
    count = np.bincount(point_cell, minlength=cells.size).astype(np.float64)
    cxy = np.stack(
        [np.bincount(point_cell, xy_true[:, k], minlength=cells.size) / count for k in (0, 1)], 1
    )
    keep = np.ones(cells.size, bool)
    rng = np.random.default_rng(0)  # deterministic: the same scan gives the same objects
    for round_ in range(MAX_SPLIT_ROUNDS + 1):
        occupied = np.zeros(shape, bool)
        occupied[ci[keep], cj[keep]] = True
        grid, n = ndimage.label(occupied, structure=EIGHT)
        cell_label = np.where(keep, grid[ci, cj] - 1, -1)
        if round_ == MAX_SPLIT_ROUNDS or n == 0:
            break
        kept = np.flatnonzero(keep)
        lab = cell_label[kept]
        lo = np.full((n, 2), np.inf)
        hi = np.full((n, 2), -np.inf)
        np.minimum.at(lo, lab, cxy[kept])
        np.maximum.at(hi, lab, cxy[kept])
        long = np.flatnonzero(np.hypot(*(hi - lo).T) >= cfg.split_length_m)
        found = False
        for k in long:
            members = kept[lab == k]
            wall = _wall_cells(cxy[members], rng, cfg)
            if wall is not None:
                keep[members[wall]] = False
                found = True
        if not found:
            break
    return cell_label[point_cell].astype(np.int32)


def _wall_cells(pts: np.ndarray, rng: np.random.Generator, cfg: ClusterConfig) -> np.ndarray | None:
    """(n,) bool over ``pts``: the longest straight run (>= split_length_m) and what lies
    within ``wall_band_m`` of it; None when there is no such run."""
    n = pts.shape[0]
    pairs = rng.integers(0, n, size=(RANSAC_TRIES, 2))
    d = pts[pairs[:, 1]] - pts[pairs[:, 0]]
    norm = np.hypot(d[:, 0], d[:, 1])
    ok = norm > 0.5
    if not ok.any():
        return None
    direction = d[ok] / norm[ok, None]
    origin = pts[pairs[ok, 0]]
    rel = pts[None, :, :] - origin[:, None, :]  # (H, n, 2)
    across = np.abs(rel[..., 0] * direction[:, None, 1] - rel[..., 1] * direction[:, None, 0])
    best = int(np.argmax((across <= cfg.line_tolerance_m).sum(axis=1)))
    along = rel[best] @ direction[best]
    on_line = across[best] <= cfg.line_tolerance_m
    ranks = np.sort(along[on_line])
    breaks = np.flatnonzero(np.diff(ranks) > cfg.line_gap_m) + 1
    best_run: tuple[float, float] | None = None
    best_len = cfg.split_length_m
    for chunk in np.split(ranks, breaks):
        if chunk[-1] - chunk[0] >= best_len:
            best_len, best_run = float(chunk[-1] - chunk[0]), (float(chunk[0]), float(chunk[-1]))
    if best_run is None:
        return None
    lo, hi = best_run
    band = cfg.wall_band_m
    return (across[best] <= band) & (along >= lo - band) & (along <= hi + band)


def dbscan_clusters(xy: np.ndarray, cfg: ClusterConfig, thin_m: float = 0.0) -> np.ndarray:
    """(M,) int32 labels from Open3D DBSCAN on the flattened points, clustered one point per
    ``thin_m`` cell (a real sweep's 20,000 non-ground points would take seconds); -1 =
    noise."""
    if xy.shape[0] == 0:
        return np.zeros(0, np.int32)
    inverse = np.arange(xy.shape[0])
    if thin_m > 0.0:
        cell = np.floor(xy / thin_m).astype(np.int64)
        cell -= cell.min(axis=0)
        _, first, inverse = np.unique(
            cell[:, 0] * (cell[:, 1].max() + 1) + cell[:, 1], return_index=True, return_inverse=True
        )
        xy = xy[first]
    flat = np.zeros((xy.shape[0], 3))
    flat[:, :2] = xy
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(flat))
    labels = cloud.cluster_dbscan(cfg.dbscan_eps_m, cfg.dbscan_min_points, print_progress=False)
    return np.asarray(labels, np.int32)[inverse.ravel()]
