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
    dx, dy = d[:, 0], d[:, 1]
    r = np.maximum(np.hypot(dx, dy), 1e-6)
    beyond = np.maximum(r - from_m, 0.0)
    ratio = (np.minimum(r, from_m) + scale_m * np.log1p(beyond / scale_m)) / r
    d[:, 0] = dx * ratio
    d[:, 1] = dy * ratio
    return d


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
    i, j = (
        np.floor((xy_warped[:, k] - xy_warped[:, k].min()) / cfg.grid_cell_m).astype(np.int64)
        for k in (0, 1)
    )
    shape = (int(i.max()) + 1, int(j.max()) + 1)
    cells, point_cell = _occupied_cells(i * shape[1] + j, shape[0] * shape[1])
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
        # the kept cells grouped by component, ascending within each (a stable sort)
        kept = np.flatnonzero(keep)
        lab = cell_label[kept]
        kept = kept[np.argsort(lab.astype(_small_int(n)), kind="stable")]
        starts = np.r_[0, np.cumsum(np.bincount(lab, minlength=n))]
        lo = np.minimum.reduceat(cxy[kept], starts[:-1], axis=0)
        hi = np.maximum.reduceat(cxy[kept], starts[:-1], axis=0)
        long = np.flatnonzero(np.hypot(*(hi - lo).T) >= cfg.split_length_m)
        found = False
        for k in long:
            members = kept[starts[k] : starts[k + 1]]
            wall = _wall_cells(cxy[members], rng, cfg)
            if wall is not None:
                keep[members[wall]] = False
                found = True
        if not found:
            break
    return cell_label[point_cell].astype(np.int32)


def _occupied_cells(flat: np.ndarray, ncells: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(flat, return_inverse=True)`` for cell indices in [0, ncells): a lookup
    table instead of a sort when the grid is not much larger than the point set."""
    if ncells > 16 * flat.size + 65536:
        cells, inverse = np.unique(flat, return_inverse=True)
        return cells, inverse.ravel()
    present = np.zeros(ncells, bool)
    present[flat] = True
    cells = np.flatnonzero(present)
    rank = np.zeros(ncells, np.int64)
    rank[cells] = np.arange(cells.size)
    return cells, rank[flat]


def _small_int(n: int) -> type[np.signedinteger]:
    """The narrowest signed type for values below ``n``: numpy sorts 16-bit keys stably by
    radix, wider ones by merging."""
    return np.int16 if n <= np.iinfo(np.int16).max else np.int64


def _wall_cells(pts: np.ndarray, rng: np.random.Generator, cfg: ClusterConfig) -> np.ndarray | None:
    """(n,) bool over ``pts``: the longest straight run (>= split_length_m) and what lies
    within ``wall_band_m`` of it; None when there is no such run."""
    n = pts.shape[0]
    pairs = rng.integers(0, n, size=(RANSAC_TRIES, 2))
    start = pts[pairs[:, 0]]
    d = pts[pairs[:, 1]] - start
    norm = np.hypot(d[:, 0], d[:, 1])
    ok = norm > 0.5
    if not ok.any():
        return None
    direction = d[ok] / norm[ok, None]
    origin = start[ok]
    # offsets from each hypothesis' origin, x and y apart: (H, n) each
    rel_x = pts[:, 0] - origin[:, :1]
    rel_y = pts[:, 1] - origin[:, 1:]
    across = rel_x * direction[:, 1:]
    across -= rel_y * direction[:, :1]
    np.abs(across, out=across)
    best = int(np.argmax(np.count_nonzero(across <= cfg.line_tolerance_m, axis=1)))
    across = across[best]
    along = np.stack([rel_x[best], rel_y[best]], 1) @ direction[best]
    ranks = np.sort(along[across <= cfg.line_tolerance_m])
    # runs along the line split at wide gaps; the last of the longest wins
    breaks = np.flatnonzero(np.diff(ranks) > cfg.line_gap_m)
    first = np.concatenate(((0,), breaks + 1))
    last = np.concatenate((breaks, (ranks.size - 1,)))
    length = ranks[last] - ranks[first]
    k = length.size - 1 - int(np.argmax(length[::-1]))
    if length[k] < cfg.split_length_m:
        return None
    band = cfg.wall_band_m
    lo, hi = ranks[first[k]] - band, ranks[last[k]] + band
    return (across <= band) & (along >= lo) & (along <= hi)


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
