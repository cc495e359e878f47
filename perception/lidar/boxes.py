"""Bird's-eye rectangles of all clusters at once: L-shape fitting by one angle sweep."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ANGLE_STEP_RAD = math.radians(2.0)  # box orientation search step (yaw error <= 1 deg)
CLOSENESS_M = 0.05  # box fitting: points this near an edge count as on it (range noise)
L_SHAPE_MIN_M = 1.3  # shorter clusters get the smallest rectangle, longer ones the L-shape


@dataclass(frozen=True, slots=True)
class Boxes:
    """K clusters' bird's-eye rectangles; length >= width, yaw along the length."""

    center_xy: np.ndarray  # (K, 2)
    length_m: np.ndarray  # (K,) full sizes
    width_m: np.ndarray
    yaw_rad: np.ndarray
    ground_z: np.ndarray  # (K,) bottom
    top_z: np.ndarray
    low_z: np.ndarray  # (K,) lowest return
    num_points: np.ndarray  # all points of the cluster
    label: np.ndarray  # (K,) the cluster's label
    cells: np.ndarray  # (K,) occupied bird's-eye voxels (thinned points)


def fit_boxes(
    xyz: np.ndarray, ground_z: np.ndarray, labels: np.ndarray, voxel_m: float = 0.0
) -> Boxes | None:
    """Bounding rectangles of all clusters at once, oriented so the points lie closest to
    their edges (L-shape fitting): one angle sweep, segment reductions,
    over one point per bird's-eye ``voxel_m`` cell of each cluster (heights and point
    counts over all of them)."""
    member = np.flatnonzero(labels >= 0)
    if member.size == 0:
        return None
    order = member[np.argsort(labels[member], kind="stable")]
    lab = labels[order]
    starts_all = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    counts = np.diff(np.r_[starts_all, lab.size])
    bottom = np.minimum.reduceat(ground_z[order], starts_all)
    top = np.maximum.reduceat(xyz[order, 2], starts_all)
    low = np.minimum.reduceat(xyz[order, 2], starts_all)
    if voxel_m > 0.0:  # one point per (cluster, bird's-eye cell)
        cell = np.floor(xyz[order, :2] / voxel_m).astype(np.int64)
        cell -= cell.min(axis=0)
        key = (lab.astype(np.int64) * (cell[:, 0].max() + 1) + cell[:, 0]) * (
            cell[:, 1].max() + 1
        ) + cell[:, 1]
        _, first = np.unique(key, return_index=True)
        order, lab = order[first], lab[first]  # unique keys sort by label first
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    sizes = np.diff(np.r_[starts, lab.size])
    xy = xyz[order, :2]
    anchor = np.repeat(xy[starts], sizes, axis=0)  # keeps the sweep well conditioned
    local = xy - anchor
    angles = np.arange(0.0, math.pi / 2.0, ANGLE_STEP_RAD)
    cos, sin = np.cos(angles), np.sin(angles)
    u = local[:, :1] * cos + local[:, 1:] * sin  # (M, A)
    v = local[:, 1:] * cos - local[:, :1] * sin
    u_lo, u_hi = np.minimum.reduceat(u, starts), np.maximum.reduceat(u, starts)
    v_lo, v_hi = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
    # closeness (Zhang et al. 2017, L-shape fitting): the rectangle whose edges the points
    # hug; the minimum area is fooled by a sparse side seen at a grazing angle
    edge_u = np.minimum(u - np.repeat(u_lo, sizes, 0), np.repeat(u_hi, sizes, 0) - u)
    edge_v = np.minimum(v - np.repeat(v_lo, sizes, 0), np.repeat(v_hi, sizes, 0) - v)
    near_edge = 1.0 / np.maximum(np.minimum(edge_u, edge_v), CLOSENESS_M)
    best = np.argmax(np.add.reduceat(near_edge, starts), axis=1)
    # a small blob (a person, a post) has no edges to hug: its smallest rectangle
    area = (u_hi - u_lo) * (v_hi - v_lo)
    smallest = np.argmin(area, axis=1)
    rows = np.arange(starts.size)
    small = np.maximum((u_hi - u_lo)[rows, smallest], (v_hi - v_lo)[rows, smallest])
    best = np.where(small < L_SHAPE_MIN_M, smallest, best)
    du, dv = (u_hi - u_lo)[rows, best], (v_hi - v_lo)[rows, best]
    uc, vc = (u_hi + u_lo)[rows, best] / 2.0, (v_hi + v_lo)[rows, best] / 2.0
    theta = angles[best]
    center = xy[starts] + np.stack(
        [uc * np.cos(theta) - vc * np.sin(theta), uc * np.sin(theta) + vc * np.cos(theta)], 1
    )
    swap = dv > du
    length, width = np.where(swap, dv, du), np.where(swap, du, dv)
    yaw = np.where(swap, theta + math.pi / 2.0, theta)
    yaw = (yaw + math.pi / 2.0) % math.pi - math.pi / 2.0  # a box's heading is mod pi
    return Boxes(center, length, width, yaw, bottom, top, low, counts, lab[starts], sizes)
