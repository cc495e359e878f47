"""Bird's-eye rectangles of all clusters at once: L-shape fitting by one angle sweep."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ANGLE_STEP_RAD = math.radians(2.0)  # box orientation search step (yaw error <= 1 deg)
CLOSENESS_M = 0.05  # box fitting: points this near an edge count as on it (range noise)
L_SHAPE_MIN_M = 1.3  # shorter clusters get the smallest rectangle, longer ones the L-shape
SWEEP_CHUNK = 2048  # points per piece of the angle sweep (45 angles: 0.7 MB per array)
ANGLES = np.arange(0.0, math.pi / 2.0, ANGLE_STEP_RAD)
COS, SIN = np.cos(ANGLES)[:, None], np.sin(ANGLES)[:, None]


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
    xyz: np.ndarray,
    ground_z: np.ndarray,
    labels: np.ndarray,
    voxel_m: float = 0.0,
    max_length_m: float = math.inf,
    max_area_m2: float = math.inf,
) -> Boxes | None:
    """Bounding rectangles of all clusters at once, oriented so the points lie closest to
    their edges (L-shape fitting): one angle sweep, segment reductions,
    over one point per bird's-eye ``voxel_m`` cell of each cluster (heights and point
    counts over all of them).

    A cluster none of whose swept rectangles is within ``max_length_m`` and
    ``max_area_m2`` gets its smallest one without the L-shape search (the caller drops
    clusters that big whatever their rectangle)."""
    member = np.flatnonzero(labels >= 0)
    if member.size == 0:
        return None
    order, cell_first = _by_cluster_and_cell(xyz, labels, member, voxel_m)
    lab = labels[order]
    starts_all = np.flatnonzero(_first_of_runs(lab))
    counts = np.diff(np.append(starts_all, lab.size))
    bottom = np.minimum.reduceat(ground_z[order], starts_all)
    z = xyz[order, 2]
    top, low = np.maximum.reduceat(z, starts_all), np.minimum.reduceat(z, starts_all)
    order, lab = order[cell_first], lab[cell_first]  # one point per (cluster, cell)
    starts = np.flatnonzero(_first_of_runs(lab))
    sizes = np.diff(np.append(starts, lab.size))
    x, y = xyz[order, 0], xyz[order, 1]
    # the sweep over runs of whole clusters of about SWEEP_CHUNK points: its (angles,
    # points) arrays stay in cache and the allocator keeps reusing them
    ends = starts + sizes
    cuts = np.flatnonzero(np.diff(starts // SWEEP_CHUNK, prepend=-1))
    parts = []
    for k0, k1 in zip(cuts, np.append(cuts[1:], starts.size), strict=True):
        run = slice(starts[k0], ends[k1 - 1])
        parts.append(_sweep(x[run], y[run], sizes[k0:k1], (max_length_m, max_area_m2)))
    theta, du, dv, uc, vc = (np.concatenate(column) for column in zip(*parts, strict=True))
    center = np.stack(
        [
            x[starts] + (uc * np.cos(theta) - vc * np.sin(theta)),
            y[starts] + (uc * np.sin(theta) + vc * np.cos(theta)),
        ],
        1,
    )
    swap = dv > du
    length, width = np.where(swap, dv, du), np.where(swap, du, dv)
    yaw = np.where(swap, theta + math.pi / 2.0, theta)
    yaw = (yaw + math.pi / 2.0) % math.pi - math.pi / 2.0  # a box's heading is mod pi
    return Boxes(center, length, width, yaw, bottom, top, low, counts, lab[starts], sizes)


def _sweep(
    x: np.ndarray, y: np.ndarray, sizes: np.ndarray, limits: tuple[float, float]
) -> tuple[np.ndarray, ...]:
    """Consecutive clusters' (points ``sizes`` long, in order) best rectangles: angle,
    side along it, side across it and the centre along and across, about each cluster's
    first point (which keeps the sweep well conditioned). ``limits``: (length, area)
    beyond which no L-shape is searched."""
    starts = np.cumsum(sizes) - sizes
    local_x, local_y = x - np.repeat(x[starts], sizes), y - np.repeat(y[starts], sizes)
    # (A, M): angles by points, so the segment reductions run along contiguous rows
    u = COS * local_x + SIN * local_y
    v = COS * local_y - SIN * local_x
    u_lo, u_hi = np.minimum.reduceat(u, starts, 1), np.maximum.reduceat(u, starts, 1)
    v_lo, v_hi = np.minimum.reduceat(v, starts, 1), np.maximum.reduceat(v, starts, 1)
    u_span, v_span = (u_hi - u_lo).T, (v_hi - v_lo).T  # (K, A)
    area = u_span * v_span
    best = np.argmin(area, axis=1)
    rows = np.arange(starts.size)
    # a small blob (a person, a post) has no edges to hug: its smallest rectangle; others
    # (unless too big for any use) the one whose edges the points hug (closeness, Zhang
    # et al. 2017): the minimum area is fooled by a sparse side seen at a grazing angle
    usable = area.min(axis=1) <= limits[1]
    usable &= np.maximum(u_span, v_span).min(axis=1) <= limits[0]
    hug = usable & (np.maximum(u_span[rows, best], v_span[rows, best]) >= L_SHAPE_MIN_M)
    if hug.all():
        near = _near_edge(u, v, (u_lo, u_hi, v_lo, v_hi), sizes)
        best = np.argmax(np.add.reduceat(near, starts, 1), axis=0)
    elif hug.any():
        k = np.flatnonzero(hug)
        on = np.repeat(hug, sizes)
        near = _near_edge(
            u[:, on], v[:, on], (u_lo[:, k], u_hi[:, k], v_lo[:, k], v_hi[:, k]), sizes[k]
        )
        best[k] = np.argmax(np.add.reduceat(near, np.cumsum(sizes[k]) - sizes[k], 1), axis=0)
    uc, vc = (u_hi + u_lo)[best, rows] / 2.0, (v_hi + v_lo)[best, rows] / 2.0
    return ANGLES[best], u_span[rows, best], v_span[rows, best], uc, vc


def _first_of_runs(values: np.ndarray) -> np.ndarray:
    """(n,) bool: where a run of equal values starts."""
    out = np.empty(values.size, bool)
    out[:1] = True
    np.not_equal(values[1:], values[:-1], out=out[1:])
    return out


def _by_cluster_and_cell(
    xyz: np.ndarray, labels: np.ndarray, member: np.ndarray, voxel_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """The clustered points' indices sorted by (cluster, bird's-eye ``voxel_m`` cell,
    index), and the positions in that order of each (cluster, cell)'s first point (all
    positions when ``voxel_m`` is 0)."""
    key = labels[member].astype(np.int64)
    if voxel_m > 0.0:
        for axis in (0, 1):
            cell = np.floor(xyz[member, axis] / voxel_m).astype(np.int64)
            cell -= cell.min()
            key = key * (int(cell.max()) + 1) + cell
    # the index folded into the key makes every key unique: a plain sort, no stable one
    n = xyz.shape[0]
    if int(key.max()) < np.iinfo(np.int64).max // n - 1:
        key, order = np.divmod(np.sort(key * n + member), n)
    else:
        by_key = np.argsort(key, kind="stable")
        key, order = key[by_key], member[by_key]
    if voxel_m <= 0.0:
        return order, np.arange(order.size)
    return order, np.flatnonzero(np.r_[True, key[1:] != key[:-1]])


def _near_edge(
    u: np.ndarray,
    v: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    sizes: np.ndarray,
) -> np.ndarray:
    """(A, M) 1 / distance of each point to its cluster rectangle's nearest edge at each
    angle (at least ``CLOSENESS_M``), computed in place over few (A, M) buffers (``u``
    and ``v`` are kept)."""
    u_lo, u_hi, v_lo, v_hi = (np.repeat(b, sizes, axis=1) for b in bounds)
    near = np.subtract(u, u_lo, out=u_lo)  # from the low edge in u
    np.minimum(near, np.subtract(u_hi, u, out=u_hi), out=near)  # the high edge in u
    np.minimum(near, np.subtract(v, v_lo, out=v_lo), out=near)
    np.minimum(near, np.subtract(v_hi, v, out=v_hi), out=near)
    np.maximum(near, CLOSENESS_M, out=near)
    return np.divide(1.0, near, out=near)
