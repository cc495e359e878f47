"""LiDAR objects from one scan: crop, local ground, clustering, boxes, shape rules.

One sweep (N, 4) float32 x, y, z, intensity in the sensor frame plus the sensor's pose
in the ego frame -> ``LidarObject`` boxes in the ego frame (x forward, y right, z up):

1. crop (``scan.py``): drop NaN rows, map into the ego frame, keep a bird's-eye range annulus;
2. ground (``ground.py``, ``ground.method``):
   ``patchwork`` (default): Patchwork++ (``pypatchworkpp``, Lee et al., RA-L 2022), a
   plane fitted per bin of concentric zones about the sensor, kept as ground when it is
   upright, low and flat enough; so the ground follows slopes, kerbs and raised areas
   (a plaza beside a lower road is ground at its own height). The ground points then
   give a local ground height per cell (empty cells: the nearest ground cell's), from
   which every point's height is measured (points this low are ground too).
   ``opening``: the lowest point per cell grey-opened with a wide window (the old
   method: exact on planes and smooth slopes, but a lower surface beside a raised one
   sets the level for both);
   Non-ground returns near the sensor with few others in their voxel and the 26 around
   it are dropped (``outliers.py``: drops of rain or spray);
3. clustering (``clusters.py``, ``cluster.method``):
   ``grid`` (default): 8-connected components of a bird's-eye occupancy grid
   (compressed with range, so the gaps between far rings of one car join). Clusters
   too long for any road user are then split: their longest straight thin runs
   (walls, fences, kerbside façades, found by RANSAC lines on the cells) are taken out
   and the rest labelled again, so a car parked along a fence comes out on its own;
   ``dbscan``: Open3D DBSCAN in the same plane, one point per ``crop.voxel_m`` cell;
4. per cluster a rectangle (``boxes.py``; all clusters at once, one angle sweep, on the non-ground
   points thinned to one per ``crop.voxel_m`` cell): the L-shape that the points hug
   for clusters of a car's length, the smallest one for shorter ones; z from the ground
   to the highest point;
5. shape rules (``shapes.py``) drop walls and guard rails (long and thin), huge
   footprints (buildings, hedges, vegetation) and low remnants; façades and trees
   (most cells reaching above ``objects.high_m``), posts carrying a sign or lamp and
   porous blobs (few points per occupied cell for their range) are kept as
   ``unknown``, never vehicles; the rest gets a class by length, width and height (the
   lowest heights allow one ring gap at the object's range, estimated from the scan);
   vehicles seen from one side grow to a prior size away from the sensor;
6. with a map (``RoadView``: the map's road area and the ego's pose), a vehicle-shaped
   cluster centred more than ``objects.off_road_max_m`` beyond the road's lanes, or a
   person-shaped one more than ``objects.off_walk_max_m`` beyond the road and its
   sidewalks, is unknown (a hedge, fence or façade piece; Apollo's HD-map ROI filter).
   Replays of recordings without a map skip it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from maps.road_area import WALKABLE_LANES, RoadArea
from perception.lidar.clusters import dbscan_clusters, wall_split_clusters, warp_bev
from perception.lidar.config import LidarPipelineConfig
from perception.lidar.ground import opening_ground, patchwork_ground
from perception.lidar.outliers import lone_returns
from perception.lidar.scan import clean_points, crop, ring_gap_rad, voxel_downsample
from perception.lidar.shapes import objects_from_clusters
from roadmind.frames import Pose
from roadmind.messages import LidarObject, ObjectClass


@dataclass(frozen=True, slots=True)
class LidarResult:
    """Objects plus what the stages saw, for views and statistics.

    points_m: (M, 3) float64 ego-frame points after the crop.
    height_m: (M,) float64 height above the estimated ground.
    is_ground: (M,) bool.
    labels: (M,) int32 cluster of each point; -1 for ground, too high or unclustered.
    """

    objects: tuple[LidarObject, ...]
    points_m: np.ndarray
    height_m: np.ndarray
    is_ground: np.ndarray
    labels: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    stage_ms: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        by_class = {c.value: 0 for c in (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN)}
        by_class[ObjectClass.UNKNOWN.value] = 0
        for obj in self.objects:
            by_class[obj.class_hint.value] = by_class.get(obj.class_hint.value, 0) + 1
        return {
            **self.counts,
            "objects": len(self.objects),
            "objects_by_class": by_class,
            "ms": {k: round(v, 2) for k, v in self.stage_ms.items()},
        }


@dataclass(frozen=True, slots=True)
class RoadView:
    """The map's road area and the ego's pose in its world at the scan."""

    area: RoadArea
    ego_pose: Pose

    def outside_m(self, xy_ego: np.ndarray, walkable: bool = False) -> np.ndarray:
        """(K,) metres beyond the road's edge of ego-frame bird's-eye points (K, 2);
        ``walkable``: beyond the road's and the sidewalks' edge."""
        xyz = np.column_stack([xy_ego, np.zeros(xy_ego.shape[0])])
        world = self.ego_pose.transform_points(xyz)
        lanes = WALKABLE_LANES if walkable else None
        return self.area.outside_m(world[:, :2], self.ego_pose.z_m, lanes)


def object_dict(obj: LidarObject, sensor_to_ego: Pose, y_left: bool = False) -> dict[str, Any]:
    """One object as plain JSON in the sensor's frame: class, centre, full size (length,
    width, height), yaw and points. ``y_left``: in a file's axes with y to the left (KITTI,
    ROS), as the scan came, rather than roadmind's (y right)."""
    center = sensor_to_ego.inverse_transform_points(obj.center_m[None, :])[0]
    rot = sensor_to_ego.rotation
    yaw = obj.yaw_rad - math.atan2(rot[1, 0], rot[0, 0])
    if y_left:
        center[1], yaw = -center[1], -yaw
    return {
        "class": obj.class_hint.value,
        "center_m": [round(float(v), 3) for v in center],
        "size_m": [round(float(v) * 2.0, 3) for v in obj.extent_m],
        "yaw_rad": round(math.remainder(yaw, 2.0 * math.pi), 4),
        "num_points": obj.num_points,
    }


class LidarPipeline:
    """``LidarPipeline(config).run(points_xyzi, sensor_to_ego).objects``."""

    def __init__(self, config: LidarPipelineConfig | None = None) -> None:
        self.config = config or LidarPipelineConfig()

    def detect(
        self, points_xyzi: np.ndarray, sensor_to_ego: Pose, road: RoadView | None = None
    ) -> tuple[LidarObject, ...]:
        return self.run(points_xyzi, sensor_to_ego, road).objects

    def run(
        self, points_xyzi: np.ndarray, sensor_to_ego: Pose, road: RoadView | None = None
    ) -> LidarResult:
        cfg = self.config
        ms: dict[str, float] = {}
        t0 = time.perf_counter()
        points = clean_points(points_xyzi)
        counts = {"points_in": int(points_xyzi.shape[0]), "points_finite": int(points.shape[0])}
        sensor_xy = sensor_to_ego.translation[:2]
        if cfg.ground.method == "opening":
            reach_m = cfg.crop.max_range_m + cfg.ground.window_m / 2.0
        else:
            reach_m = cfg.crop.max_range_m + cfg.ground.margin_m
        xyz, range_sq_m2 = crop(points, sensor_to_ego, cfg.crop.min_range_m, reach_m)
        counts["after_crop"] = int(xyz.shape[0])
        ms["crop"] = _lap(t0)

        t1 = time.perf_counter()
        if cfg.ground.method == "opening":
            thin = voxel_downsample(xyz, cfg.crop.voxel_m)  # the old method's cost
            ground_z = opening_ground(thin, xyz, sensor_xy, reach_m, cfg.ground)
            is_ground = xyz[:, 2] - ground_z <= cfg.ground.height_m
        else:
            ground_z, is_ground = patchwork_ground(
                xyz, sensor_to_ego, reach_m, cfg.crop.min_range_m, cfg.ground
            )
        height = xyz[:, 2] - ground_z
        is_ground |= height <= cfg.ground.height_m
        in_range = range_sq_m2 <= cfg.crop.max_range_m**2
        above = (~is_ground) & (height <= cfg.crop.max_height_m) & in_range
        high = (~is_ground) & (height > cfg.objects.high_m) & in_range
        counts["ground"] = int(is_ground.sum())
        ms["ground"] = _lap(t1)

        t_out = time.perf_counter()
        if cfg.outliers.range_m > 0.0:
            out = cfg.outliers
            band_m = out.range_m + 2.0 * out.cell_m  # the neighbours of the farthest checked
            near = np.flatnonzero(above & (range_sq_m2 <= band_m**2))
            checked = range_sq_m2[near] <= out.range_m**2
            lone = near[lone_returns(xyz[near], out.cell_m, out.min_neighbours, checked)]
            above[lone] = False
            counts["lone_returns"] = int(lone.size)
        counts["non_ground"] = int(above.sum())
        ms["outliers"] = _lap(t_out)

        t2 = time.perf_counter()
        labels = np.full(xyz.shape[0], -1, np.int32)
        picked = np.flatnonzero(above)
        xy_true = xyz[picked, :2]
        xy = warp_bev(xy_true, sensor_xy, cfg.cluster.warp_from_m, cfg.cluster.warp_scale_m)
        if cfg.cluster.method == "grid":
            labels[picked] = wall_split_clusters(xy, xy_true, cfg.cluster)
        else:
            labels[picked] = dbscan_clusters(xy, cfg.cluster, cfg.crop.voxel_m)
        counts["clusters"] = int(labels.max()) + 1 if labels.size else 0
        ms["cluster"] = _lap(t2)

        t3 = time.perf_counter()
        ring_gap = ring_gap_rad(points)
        objects = objects_from_clusters(
            xyz,
            ground_z,
            labels,
            sensor_xy,
            cfg.objects,
            cfg.crop.voxel_m,
            xyz[high, :2],
            ring_gap,
            cfg.crop.max_height_m,
            road,
        )
        ms["boxes"] = _lap(t3)
        ms["total"] = _lap(t0)
        return LidarResult(objects, xyz, height, is_ground, labels, counts, ms)


def detect_objects(
    points_xyzi: np.ndarray, sensor_to_ego: Pose, config: LidarPipelineConfig | None = None
) -> tuple[LidarObject, ...]:
    return LidarPipeline(config).detect(points_xyzi, sensor_to_ego)


def _lap(start_s: float) -> float:
    return (time.perf_counter() - start_s) * 1000.0
