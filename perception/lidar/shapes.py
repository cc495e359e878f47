"""Objects from the clusters' boxes: shape rules drop clutter (walls, guard rails,
buildings, ground remnants), keep structure (façades, trees, sign posts) as unknown,
give the rest a class by size, and grow partly seen vehicles to a prior size."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from perception.lidar.boxes import Boxes, fit_boxes
from perception.lidar.config import ObjectConfig, SizeRange
from roadmind.messages import LidarObject, ObjectClass

LOW_CELL_M = 0.3  # bird's-eye cells of the canopy rule
POLE_MIN_RETURNS = 2  # a post's lower half: returns of two rings at least, one above
# the other (one or two returns of a far object say nothing of its width)


def objects_from_clusters(
    xyz: np.ndarray,
    ground_z: np.ndarray,
    labels: np.ndarray,
    sensor_xy: np.ndarray,
    cfg: ObjectConfig,
    voxel_m: float = 0.0,
    high_xy: np.ndarray | None = None,
    ring_gap: float = 0.0,
    ceiling_m: float = math.inf,
    road: RoadPrior | None = None,
) -> tuple[LidarObject, ...]:
    """Boxes, shape rules and classes of the clusters in ``labels``; ``high_xy``: (H, 2)
    returns higher than ``cfg.high_m`` above the ground (façades, canopies); ``ring_gap``:
    the sensor's vertical angle between rings [rad] (an object's top return lies up to
    one gap below its top, so the classes' lowest heights allow that much less);
    ``ceiling_m``: the crop's height above the ground (higher returns were not clustered):
    a cluster reaching within ``cfg.ceiling_margin_m`` of it is cut off there and goes on
    up (a façade, a tree), never a road user; ``road``: the map's distances beyond the road's
    edge (``pipeline.RoadView``): a vehicle-shaped cluster farther off the road than
    ``cfg.off_road_max_m``, or a person-shaped one farther beyond the road and its
    sidewalks than ``cfg.off_walk_max_m``, is a piece of hedge, fence or façade, unknown."""
    member = np.flatnonzero(labels >= 0)  # the rules look at clustered points only
    xyz, ground_z, labels = xyz[member], ground_z[member], labels[member]
    boxes = fit_boxes(xyz, ground_z, labels, voxel_m, cfg.max_length_m, cfg.max_area_m2)
    if boxes is None:
        return ()
    height = boxes.top_z - boxes.ground_z
    keep = _not_clutter(boxes, height, cfg)
    # a flat layer near the sensor (one ring at most where any object spans two): ground
    # the local ground missed, e.g. the edge of a raised plaza
    near = np.hypot(*(boxes.center_xy - sensor_xy).T) <= cfg.layer_range_m
    keep &= ~(near & (boxes.top_z - boxes.low_z < cfg.min_span_m))
    structure = _structure(boxes, labels, xyz, sensor_xy, high_xy, cfg)
    # tall and flat: a piece of façade, garage or wall (a lorry's back is the one road
    # user like it; it stays an obstacle, and the camera may class it)
    structure |= (boxes.width_m <= cfg.flat_max_width_m) & (height >= cfg.tall_vehicle_height_m)
    structure |= _post_with_top(boxes, labels, xyz, cfg)
    structure |= (height >= cfg.tall_vehicle_height_m) & (
        _low_share(boxes, labels, xyz, ground_z, cfg.canopy_low_m) < cfg.canopy_max_low_share
    )
    structure |= _reaches_ceiling(boxes, labels, xyz, ground_z, ceiling_m - cfg.ceiling_margin_m)
    slack = np.hypot(*(boxes.center_xy - sensor_xy).T) * math.tan(ring_gap)
    hints = _class_hints(boxes, height, slack, cfg)
    rows = np.flatnonzero(keep)
    center = np.column_stack(
        [boxes.center_xy[rows], (boxes.top_z[rows] + boxes.ground_z[rows]) / 2.0]
    )
    extent = np.column_stack([boxes.length_m[rows], boxes.width_m[rows], height[rows]]) / 2.0
    yaw = boxes.yaw_rad[rows]
    kinds = [ObjectClass.UNKNOWN if structure[k] else hints[k] for k in rows]
    if road is not None:  # the measured box's centre: before growing it away from the sensor
        for kind, walkable, limit_m in (
            (ObjectClass.VEHICLE, False, cfg.off_road_max_m),
            (ObjectClass.PEDESTRIAN, True, cfg.off_walk_max_m),
        ):
            picked = np.array([i for i, k in enumerate(kinds) if k == kind], np.intp)
            if picked.size:
                off = road.outside_m(boxes.center_xy[rows[picked]], walkable)
                for i in picked[off > limit_m]:
                    kinds[i] = ObjectClass.UNKNOWN
    for i, k in enumerate(rows):
        if kinds[i] == ObjectClass.VEHICLE:
            xy, length, width, yaw[i] = _complete_vehicle(
                boxes.center_xy[k],
                float(boxes.length_m[k]),
                float(boxes.width_m[k]),
                float(boxes.yaw_rad[k]),
                float(height[k]),
                sensor_xy,
                cfg,
            )
            center[i, :2], extent[i, :2] = xy, (length / 2.0, width / 2.0)
    by_range = np.argsort(np.hypot(center[:, 0], center[:, 1]), kind="stable")
    return tuple(
        LidarObject(
            center_m=center[i].copy(),
            extent_m=extent[i].copy(),
            yaw_rad=float(yaw[i]),
            num_points=int(boxes.num_points[rows[i]]),
            class_hint=kinds[i],
        )
        for i in by_range
    )


class RoadPrior(Protocol):
    """The map's distances [m] of ego-frame bird's-eye points (K, 2) beyond the road's
    edge (``walkable``: beyond the road's and its sidewalks' edge)."""

    def outside_m(self, xy_ego: np.ndarray, walkable: bool = False) -> np.ndarray: ...


def _not_clutter(boxes: Boxes, height: np.ndarray, cfg: ObjectConfig) -> np.ndarray:
    """(K,) bool: enough points, tall enough, not a wall, guard rail, hedge or building."""
    thin = boxes.width_m <= cfg.wall_max_width_m
    wall = thin & (boxes.length_m >= cfg.wall_min_length_m)
    rail = (boxes.width_m <= cfg.rail_max_width_m) & (boxes.length_m >= cfg.vehicle_prior_length_m)
    rail &= height < cfg.rail_max_height_m
    return (
        (boxes.num_points >= cfg.min_points)
        & (height >= cfg.min_height_m)
        & (boxes.length_m <= cfg.max_length_m)
        & (boxes.length_m * boxes.width_m <= cfg.max_area_m2)
        & ~wall
        & ~rail
    )


def _structure(
    boxes: Boxes,
    labels: np.ndarray,
    xyz: np.ndarray,
    sensor_xy: np.ndarray,
    high_xy: np.ndarray | None,
    cfg: ObjectConfig,
) -> np.ndarray:
    """(K,) bool: façade, tree or porous vegetation: kept, but never a road user.

    High: a share of the cluster's footprint cells (its thinned points' cells) has
    returns above ``high_m`` over it (a building's face or a canopy goes on up; a car,
    truck or person does not). Porous: few points per occupied cell for the range."""
    out = np.zeros(boxes.num_points.size, bool)
    if high_xy is not None and high_xy.shape[0]:
        cell_m = 0.5
        member = np.flatnonzero(labels >= 0)
        ij = np.floor(xyz[member, :2] / cell_m).astype(np.int64)
        hij = np.floor(high_xy / cell_m).astype(np.int64)
        lo = np.minimum(ij.min(axis=0), hij.min(axis=0))
        ij -= lo
        hij -= lo
        width = int(max(ij[:, 1].max(), hij[:, 1].max())) + 1
        point_cell = ij[:, 0] * width + ij[:, 1]
        ncell = int(max(point_cell.max(), (hij[:, 0] * width + hij[:, 1]).max())) + 1
        high_grid = np.zeros(ncell, bool)
        high_grid[hij[:, 0] * width + hij[:, 1]] = True
        lab_m = labels[member].astype(np.int64)
        pairs = np.unique(lab_m * ncell + point_cell)  # each (cluster, cell) once
        lab, cell = np.divmod(pairs, ncell)
        high_pairs = np.bincount(lab, high_grid[cell], minlength=out.size)
        all_pairs = np.bincount(lab, minlength=out.size)
        share = high_pairs[boxes.label] / np.maximum(all_pairs[boxes.label], 1)
        out |= share > cfg.high_fraction
    if cfg.porous_points_per_cell_m > 0.0:
        rng = np.hypot(*(boxes.center_xy - sensor_xy).T)
        density = boxes.num_points / np.maximum(boxes.cells, 1) * rng
        out |= density < cfg.porous_points_per_cell_m
    return out


def _low_share(
    boxes: Boxes, labels: np.ndarray, xyz: np.ndarray, ground_z: np.ndarray, low_m: float
) -> np.ndarray:
    """(K,) share of each cluster's bird's-eye cells (``LOW_CELL_M``) holding a return
    lower than ``low_m`` above its local ground: a vehicle's body reaches down to its
    wheels over its whole footprint, a tree's crown stands on a thin trunk."""
    if labels.size == 0:
        return np.ones(boxes.label.size)
    ij = np.floor(xyz[:, :2] / LOW_CELL_M).astype(np.int64)
    ij -= ij.min(axis=0)
    cell = (labels.astype(np.int64) * (int(ij[:, 0].max()) + 1) + ij[:, 0]) * (
        int(ij[:, 1].max()) + 1
    ) + ij[:, 1]
    order = np.argsort(cell, kind="stable")
    cell, low = cell[order], (xyz[order, 2] - ground_z[order]) < low_m
    first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    any_low = np.maximum.reduceat(low, first)
    lab = labels[order][first]
    n = int(labels.max()) + 1
    share = np.bincount(lab, any_low, minlength=n) / np.maximum(np.bincount(lab, minlength=n), 1)
    return share[boxes.label]


def _reaches_ceiling(
    boxes: Boxes, labels: np.ndarray, xyz: np.ndarray, ground_z: np.ndarray, level_m: float
) -> np.ndarray:
    """(K,) bool: a return of the cluster lies at least ``level_m`` above its own local
    ground (the crop cut the cluster there: it goes on up)."""
    if not math.isfinite(level_m) or labels.size == 0:
        return np.zeros(boxes.label.size, bool)
    top = np.full(int(labels.max()) + 1, -np.inf)
    np.maximum.at(top, labels, xyz[:, 2] - ground_z)
    return top[boxes.label] >= level_m


def _post_with_top(
    boxes: Boxes, labels: np.ndarray, xyz: np.ndarray, cfg: ObjectConfig
) -> np.ndarray:
    """(K,) bool: a post carrying something wider on top (a sign, a lamp): the returns
    in the lower half of the cluster's height span at most ``pole_max_width_m`` along the
    box's long side, those of the upper half at least ``pole_top_extra_m`` more."""
    member = np.flatnonzero(labels >= 0)
    if member.size == 0:
        return np.zeros(boxes.label.size, bool)
    row = np.searchsorted(boxes.label, labels[member])
    bottom = boxes.ground_z[row]
    upper = xyz[member, 2] - bottom >= 0.5 * (boxes.top_z[row] - bottom)
    # each box's cos and sin handed to its points (numpy computes every element alike,
    # so these are the values of cos and sin taken per point)
    cos, sin = np.cos(boxes.yaw_rad)[row], np.sin(boxes.yaw_rad)[row]
    u = xyz[member, 0] * cos + xyz[member, 1] * sin
    group = row * 2 + upper
    count = np.bincount(group, minlength=2 * boxes.label.size)
    hi, lo = np.full(count.size, -np.inf), np.full(count.size, np.inf)
    np.maximum.at(hi, group, u)  # unbuffered per-group extremes: cheaper than sorting
    np.minimum.at(lo, group, u)
    extent = np.where(count > 0, hi - lo, 0.0)
    lower, top = extent[0::2], extent[1::2]
    column = (count[0::2] >= POLE_MIN_RETURNS) & (lower <= cfg.pole_max_width_m)
    return column & (top >= lower + cfg.pole_top_extra_m)


def _class_hints(
    boxes: Boxes, height: np.ndarray, slack_m: np.ndarray, cfg: ObjectConfig
) -> list[ObjectClass]:
    """Class by size; ``slack_m`` (K,): how far below its top an object's highest return
    may lie (one ring gap at its range)."""

    def fits(size: SizeRange) -> np.ndarray:
        return (
            (boxes.length_m >= size.min_length_m)
            & (boxes.width_m <= size.max_width_m)
            & (boxes.length_m <= size.max_length_m)
            & (height + slack_m >= size.min_height_m)
            & (height <= size.max_height_m)
        )

    vehicle, pedestrian = fits(cfg.vehicle), fits(cfg.pedestrian)
    return [
        ObjectClass.VEHICLE if v else ObjectClass.PEDESTRIAN if p else ObjectClass.UNKNOWN
        for v, p in zip(vehicle, pedestrian, strict=True)
    ]


def _complete_vehicle(
    center: np.ndarray,
    length_m: float,
    width_m: float,
    yaw_rad: float,
    height_m: float,
    sensor_xy: np.ndarray,
    cfg: ObjectConfig,
) -> tuple[np.ndarray, float, float, float]:
    """Grow a partly seen vehicle to the prior size, away from the sensor.

    The faces nearest the sensor are the ones measured; the far ones are hidden. A short
    cluster may be one end face only: then the car's length runs along the line of sight.
    """
    axis = np.array([math.cos(yaw_rad), math.sin(yaw_rad)])
    ray = center - sensor_xy
    ray_dir = ray / max(float(np.linalg.norm(ray)), 1e-6)
    if length_m < cfg.vehicle_face_max_m and abs(axis @ ray_dir) < math.sqrt(0.5):
        # long side across the line of sight and short: an end face; turn the box
        length_m, width_m = width_m, length_m
        yaw_rad += math.pi / 2.0
        axis = np.array([math.cos(yaw_rad), math.sin(yaw_rad)])
    side = np.array([-axis[1], axis[0]])
    out = center.astype(np.float64).copy()
    tall = height_m >= cfg.tall_vehicle_height_m
    prior_length_m = cfg.tall_vehicle_prior_length_m if tall else cfg.vehicle_prior_length_m
    for direction, size, prior in (
        (axis, length_m, prior_length_m),
        (side, width_m, cfg.vehicle_prior_width_m),
    ):
        grow = prior - size
        if grow > 0.0:
            away = 1.0 if float(direction @ ray) >= 0.0 else -1.0
            out += direction * away * grow / 2.0
    length_m = max(length_m, prior_length_m)
    width_m = max(width_m, cfg.vehicle_prior_width_m)
    yaw_rad = (yaw_rad + math.pi / 2.0) % math.pi - math.pi / 2.0
    return out, length_m, width_m, yaw_rad
