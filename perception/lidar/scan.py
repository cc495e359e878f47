"""A scan's first steps: checks, the ego frame, the range crop, and what the scan says of
its sensor (the vertical gap between rings)."""

from __future__ import annotations

import math

import numpy as np
import open3d as o3d

from roadmind.frames import Pose


def clean_points(points_xyzi: np.ndarray) -> np.ndarray:
    """Check a scan and drop rows with NaN/inf coordinates; (N, 4) float32 in and out."""
    expected = "expected a float32 array of shape (N, 4): x, y, z [m], intensity"
    if not isinstance(points_xyzi, np.ndarray):
        raise ValueError(f"points: {expected}; got {type(points_xyzi).__name__}")
    if points_xyzi.dtype != np.float32:
        raise ValueError(f"points: {expected}; got dtype {points_xyzi.dtype}")
    if points_xyzi.ndim != 2 or points_xyzi.shape[1] != 4:
        raise ValueError(f"points: {expected}; got shape {points_xyzi.shape}")
    finite = np.isfinite(points_xyzi[:, :3]).all(axis=1)
    if points_xyzi.shape[0] and not finite.any():
        raise ValueError(
            f"points: all {points_xyzi.shape[0]} rows have NaN or infinite coordinates; "
            f"{expected}, finite"
        )
    return points_xyzi if finite.all() else points_xyzi[finite]


def crop(
    points: np.ndarray, sensor_to_ego: Pose, min_range_m: float, max_range_m: float
) -> np.ndarray:
    """(N, 4) sensor-frame points -> (M, 3) float64 ego-frame points inside the range annulus."""
    xyz = to_ego(points, sensor_to_ego)
    r2 = range_sq(xyz, sensor_to_ego.translation[:2])
    return xyz[(r2 >= min_range_m**2) & (r2 <= max_range_m**2)]


def to_ego(points: np.ndarray, sensor_to_ego: Pose) -> np.ndarray:
    """(N, 3) float64 ego-frame points, rotated element-wise: a BLAS matmul's worker
    threads would fight Open3D's OpenMP threads on two cores (30 ms for 110k points)."""
    rot, shift = sensor_to_ego.rotation, sensor_to_ego.translation
    x, y, z = (points[:, i].astype(np.float64) for i in range(3))
    out = np.empty((points.shape[0], 3))
    for i in range(3):
        out[:, i] = x * rot[i, 0] + y * rot[i, 1] + z * rot[i, 2] + shift[i]
    return out


def range_sq(xyz: np.ndarray, sensor_xy: np.ndarray) -> np.ndarray:
    """(M,) squared bird's-eye distance from the sensor [m^2]."""
    d = xyz[:, :2] - sensor_xy
    return np.einsum("ij,ij->i", d, d)


def ring_gap_rad(points: np.ndarray, sample: int = 8) -> float:
    """The sensor's typical vertical angle between neighbouring rings [rad], from the
    scan: elevation angles of every ``sample``-th return binned at 0.05 degrees, runs of
    occupied bins as rings, the median step between the rings' mean angles. 0 when the
    scan shows fewer than two rings."""
    pts = points[::sample, :3].astype(np.float64)
    flat = np.hypot(pts[:, 0], pts[:, 1])
    pts, flat = pts[flat > 1.0], flat[flat > 1.0]
    if pts.shape[0] < 2:
        return 0.0
    elev = np.degrees(np.arctan2(pts[:, 2], flat))
    lo = float(elev.min())
    counts = np.bincount(((elev - lo) / 0.05).astype(np.int64))
    occupied = counts >= max(2, pts.shape[0] // 5000)  # a ring, not a stray return
    edges = np.diff(np.r_[0, occupied.astype(np.int8), 0])
    first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if first.size < 2:
        return 0.0
    index = np.arange(counts.size)
    centre = np.array(
        [np.average(index[a:b], weights=counts[a:b]) for a, b in zip(first, last, strict=True)]
    )
    return math.radians(float(np.median(np.diff(centre))) * 0.05)


def voxel_downsample(xyz: np.ndarray, voxel_m: float) -> np.ndarray:
    """(K, 3) points, one per ``voxel_m`` voxel (Open3D's mean of each voxel's points)."""
    if voxel_m <= 0.0 or xyz.shape[0] == 0:
        return xyz
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    return np.asarray(cloud.voxel_down_sample(voxel_m).points)
