"""Ground (``ground.method``): Patchwork++ plane fits per bin of concentric zones, then a
local ground height per cell; or the old grey opening of the lowest points."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator

import numpy as np
from scipy import ndimage

from perception.lidar.config import GroundConfig
from roadmind.frames import Pose


def patchwork_ground(
    xyz: np.ndarray, sensor_to_ego: Pose, reach_m: float, min_range_m: float, cfg: GroundConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(M,) local ground height and (M,) bool ground of the ego-frame points: Patchwork++
    about the sensor (z up, level), then a local ground height per cell from its ground
    points.

    A fresh estimator per scan: Patchwork++ adapts its thresholds (and its idea of
    the sensor's height) from the scans it has seen, so one instance would make a
    scan's objects depend on the scans before it. The near rings' elevation limits
    are fixed instead (``GroundConfig.max_rise_m``) and the temporal ground revert,
    which turns flat patches rejected as too high back into ground, is off: near the
    sensor a flat patch that high is a car's roof, not road."""
    sensor = sensor_to_ego.translation
    is_ground = np.zeros(xyz.shape[0], bool)
    if xyz.shape[0] == 0:
        return np.zeros(0), is_ground
    import pypatchworkpp

    sensor_height = float(sensor[2])
    params = pypatchworkpp.Parameters()
    params.sensor_height = sensor_height
    params.min_range = max(min_range_m, 0.5)
    params.max_range = reach_m
    params.th_dist = cfg.plane_tolerance_m
    params.verbose = False
    params.enable_RNR = False  # needs intensities on one scale; sensors differ
    params.enable_TGR = False
    rise = cfg.max_rise_m
    params.num_rings_of_interest = len(rise)
    params.elevation_thr = [r - sensor_height for r in rise]  # plane mean z, sensor frame
    params.flatness_thr = [0.0] * len(rise)  # too high is too high, however flat
    with _quiet_stdout():  # the library prints a line on construction
        pw = pypatchworkpp.patchworkpp(params)
    # Patchwork++ takes a column-major float32 matrix: hand it one, not a copy to convert
    about_sensor = np.empty((3, xyz.shape[0]), np.float32)
    for i in range(3):
        np.subtract(xyz[:, i], sensor[i], out=about_sensor[i], casting="same_kind")
    pw.estimateGround(about_sensor.T)
    is_ground[np.asarray(pw.getGroundIndices(), np.int64)] = True
    return local_ground(xyz, is_ground, sensor[:2], reach_m, cfg.cell_m), is_ground


def _cells(
    xy: np.ndarray, center_xy: np.ndarray, half_size_m: float, cell_m: float
) -> tuple[np.ndarray, int]:
    """(M,) flat cell index of a square grid about ``center_xy`` and its side in cells."""
    n = math.ceil(2.0 * half_size_m / cell_m) + 1

    def index(axis: int) -> np.ndarray:  # column by column: no (M, 2) temporaries
        # truncation, not floor: they differ below 0 only, which the clip maps to 0 anyway
        i = ((xy[:, axis] - center_xy[axis] + half_size_m) / cell_m).astype(np.int64)
        return np.clip(i, 0, n - 1, out=i)

    return index(0) * n + index(1), n


def local_ground(
    xyz: np.ndarray, is_ground: np.ndarray, center_xy: np.ndarray, half_size_m: float, cell_m: float
) -> np.ndarray:
    """(M,) ground height under each point: the mean height of the ground points in its
    cell, or of the nearest cell that has some (under a car, beside a wall)."""
    flat, n = _cells(xyz[:, :2], center_xy, half_size_m, cell_m)
    if not is_ground.any():
        return np.full(xyz.shape[0], float(np.min(xyz[:, 2])) if xyz.size else 0.0)
    ground_cell = flat[is_ground]
    total = np.bincount(ground_cell, xyz[is_ground, 2], minlength=n * n)
    count = np.bincount(ground_cell, minlength=n * n)
    mean = (total / np.maximum(count, 1)).reshape(n, n)
    empty = (count == 0).reshape(n, n)
    if empty.any():
        idx = ndimage.distance_transform_edt(empty, return_distances=False, return_indices=True)
        mean = mean[idx[0], idx[1]]
    return np.asarray(mean.ravel()[flat])


def opening_ground(
    sample: np.ndarray,
    xyz: np.ndarray,
    center_xy: np.ndarray,
    half_size_m: float,
    cfg: GroundConfig,
) -> np.ndarray:
    """(M,) ground height under each of ``xyz``: the lowest point per cell of ``sample``,
    grey-opened with a window wider than any road user."""
    if xyz.shape[0] == 0:
        return np.zeros(0)
    cell = min(cfg.cell_m, 0.5)
    flat, n = _cells(sample[:, :2], center_xy, half_size_m, cell)
    lowest: np.ndarray = np.full(n * n, np.inf)
    np.minimum.at(lowest, flat, sample[:, 2])
    lowest = lowest.reshape(n, n)
    window = 2 * round(cfg.window_m / cell / 2.0) + 1
    # empty cells must not win either filter: +inf for the min, -inf for the max
    eroded = ndimage.minimum_filter(lowest, window, mode="constant", cval=np.inf)
    eroded[np.isinf(eroded)] = -np.inf
    opened = ndimage.maximum_filter(eroded, window, mode="constant", cval=-np.inf)
    surface = np.where(lowest - opened <= cfg.cell_tolerance_m, lowest, opened)
    flat_all, _ = _cells(xyz[:, :2], center_xy, half_size_m, cell)
    return np.asarray(surface.ravel()[flat_all])


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null: C++ code writes past ``sys.stdout``, and
    ``roadmind lidar`` prints its JSON there."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
