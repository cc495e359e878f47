"""A scan's first steps: checks, the ego frame, the range crop, and what the scan says of
its sensor (the vertical gap between rings)."""

from __future__ import annotations

import math

import numpy as np
import open3d as o3d

from roadmind.frames import Pose

CROP_CHUNK = 1 << 16  # points mapped into the ego frame at a time


def clean_points(points_xyzi: np.ndarray) -> np.ndarray:
    """Check a scan and drop rows with NaN/inf coordinates; (N, 4) float32 in and out."""
    expected = "expected a float32 array of shape (N, 4): x, y, z [m], intensity"
    if not isinstance(points_xyzi, np.ndarray):
        raise ValueError(f"points: {expected}; got {type(points_xyzi).__name__}")
    if points_xyzi.dtype != np.float32:
        raise ValueError(f"points: {expected}; got dtype {points_xyzi.dtype}")
    if points_xyzi.ndim != 2 or points_xyzi.shape[1] != 4:
        raise ValueError(f"points: {expected}; got shape {points_xyzi.shape}")
    if np.isfinite(points_xyzi).all():  # the usual scan: one fast pass, no row mask
        return points_xyzi
    finite = np.isfinite(points_xyzi[:, :3]).all(axis=1)
    if points_xyzi.shape[0] and not finite.any():
        raise ValueError(
            f"points: all {points_xyzi.shape[0]} rows have NaN or infinite coordinates; "
            f"{expected}, finite"
        )
    return points_xyzi if finite.all() else points_xyzi[finite]


def crop(
    points: np.ndarray, sensor_to_ego: Pose, min_range_m: float, max_range_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) sensor-frame points -> (M, 3) float64 ego-frame points inside the range
    annulus and their (M,) squared bird's-eye range from the sensor [m^2].

    Columns are mapped and masked one by one (masking rows of an (N, 3) array costs ten
    times more than three contiguous columns), ``CROP_CHUNK`` points at a time: the
    temporaries stay in cache and small enough for the allocator to reuse."""
    parts = [
        _crop_part(points[i : i + CROP_CHUNK], sensor_to_ego, min_range_m**2, max_range_m**2)
        for i in range(0, max(points.shape[0], 1), CROP_CHUNK)
    ]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _crop_part(
    points: np.ndarray, sensor_to_ego: Pose, min_sq_m2: float, max_sq_m2: float
) -> tuple[np.ndarray, np.ndarray]:
    x, y, z = to_ego_columns(points, sensor_to_ego)
    sensor = sensor_to_ego.translation
    dx, dy = x - sensor[0], y - sensor[1]
    r2 = dx * dx + dy * dy
    keep = (r2 >= min_sq_m2) & (r2 <= max_sq_m2)
    xyz = np.empty((int(np.count_nonzero(keep)), 3))
    for i, column in enumerate((x, y, z)):
        xyz[:, i] = column[keep]
    return xyz, r2[keep]


def to_ego_columns(
    points: np.ndarray, sensor_to_ego: Pose
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ego-frame x, y, z: three (N,) float64 arrays, rotated element-wise: a BLAS matmul's
    worker threads would fight Open3D's OpenMP threads on two cores (30 ms for 110k
    points). Terms with a zero factor are left out and unit factors not multiplied (a
    level sensor's rotation is mostly zeros and ones); the sums are the same."""
    rot, shift = sensor_to_ego.rotation, sensor_to_ego.translation
    columns = [points[:, i].astype(np.float64) for i in range(3)]
    out = []
    for i in range(3):
        total: np.ndarray | None = None
        for column, factor in zip(columns, rot[i], strict=True):
            if factor == 0.0:
                continue
            term = column if factor == 1.0 else column * factor
            total = term if total is None else total + term
        out.append((np.zeros(points.shape[0]) if total is None else total) + shift[i])
    return out[0], out[1], out[2]


def ring_gap_rad(points: np.ndarray, sample: int = 8) -> float:
    """The sensor's typical vertical angle between neighbouring rings [rad], from the
    scan: elevation angles of every ``sample``-th return binned at 0.05 degrees, runs of
    occupied bins as rings, the median step between the rings' mean angles. 0 when the
    scan shows fewer than two rings."""
    x, y, z = (points[::sample, i].astype(np.float64) for i in range(3))
    flat = np.hypot(x, y)
    far = flat > 1.0
    if np.count_nonzero(far) < 2:
        return 0.0
    elev = np.degrees(np.arctan2(z[far], flat[far]))
    lo = float(elev.min())
    counts = np.bincount(((elev - lo) / 0.05).astype(np.int64))
    occupied = counts >= max(2, elev.size // 5000)  # a ring, not a stray return
    edges = np.diff(np.r_[0, occupied.astype(np.int8), 0])
    first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if first.size < 2:
        return 0.0
    # each ring's count-weighted mean bin, from running sums (integers: exact)
    weighted = np.r_[0, np.cumsum(np.arange(counts.size) * counts)]
    returns = np.r_[0, np.cumsum(counts)]
    centre = (weighted[last] - weighted[first]) / (returns[last] - returns[first])
    return math.radians(float(np.median(np.diff(centre))) * 0.05)


def voxel_downsample(xyz: np.ndarray, voxel_m: float) -> np.ndarray:
    """(K, 3) points, one per ``voxel_m`` voxel (Open3D's mean of each voxel's points)."""
    if voxel_m <= 0.0 or xyz.shape[0] == 0:
        return xyz
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    return np.asarray(cloud.voxel_down_sample(voxel_m).points)
