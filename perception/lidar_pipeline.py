"""LiDAR objects from one scan: crop, local ground, clustering, shape rules, boxes.

One sweep (N, 4) float32 x, y, z, intensity in the sensor frame plus the sensor's pose
in the ego frame -> ``LidarObject`` boxes in the ego frame (x forward, y right, z up):

1. crop: drop NaN rows, map into the ego frame, keep a bird's-eye range annulus;
2. ground (``ground.method``):
   ``patchwork`` (default): Patchwork++ (``pypatchworkpp``, Lee et al., RA-L 2022), a
   plane fitted per bin of concentric zones about the sensor, kept as ground when it is
   upright, low and flat enough; so the ground follows slopes, kerbs and raised areas
   (a plaza beside a lower road is ground at its own height). The ground points then
   give a local ground height per cell (empty cells: the nearest ground cell's), from
   which every point's height is measured (points this low are ground too).
   ``opening``: the lowest point per cell grey-opened with a wide window (the old
   method: exact on planes and smooth slopes, but a lower surface beside a raised one
   sets the level for both);
3. clustering (``cluster.method``):
   ``grid`` (default): 8-connected components of a bird's-eye occupancy grid
   (compressed with range, so the gaps between far rings of one car join). Clusters
   too long for any road user are then split: their longest straight thin runs
   (walls, fences, kerbside façades, found by RANSAC lines on the cells) are taken out
   and the rest labelled again, so a car parked along a fence comes out on its own;
   ``dbscan``: Open3D DBSCAN in the same plane, one point per ``crop.voxel_m`` cell;
4. per cluster a rectangle (all clusters at once, one angle sweep, on the non-ground
   points thinned to one per ``crop.voxel_m`` cell): the L-shape that the points hug
   for clusters of a car's length, the smallest one for shorter ones; z from the ground
   to the highest point; shape rules drop walls and guard rails (long and thin), huge
   footprints (buildings, hedges, vegetation) and low remnants; façades and trees
   (most cells reaching above ``objects.high_m``), posts carrying a sign or lamp and
   porous blobs (few points per occupied cell for their range) are kept as
   ``unknown``, never vehicles; the rest gets a class by length, width and height (the
   lowest heights allow one ring gap at the object's range, estimated from the scan);
   vehicles seen from one side grow to a prior size away from the sensor.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import open3d as o3d
from pydantic import Field, model_validator
from scipy import ndimage

from roadmind.config import StrictModel, load_model
from roadmind.frames import Pose
from roadmind.messages import LidarObject, ObjectClass
from roadmind.resources import configs_dir

DEFAULT_CONFIG_PATH = configs_dir() / "perception" / "lidar.yaml"
ANGLE_STEP_RAD = math.radians(2.0)  # box orientation search step (yaw error <= 1 deg)
CLOSENESS_M = 0.05  # box fitting: points this near an edge count as on it (range noise)
L_SHAPE_MIN_M = 1.3  # shorter clusters get the smallest rectangle, longer ones the L-shape
POLE_MIN_RETURNS = 2  # a post's lower half: returns of two rings at least, one above
# the other (one or two returns of a far object say nothing of its width)
RANSAC_TRIES = 48  # line hypotheses per long cluster
MAX_SPLIT_ROUNDS = 4  # lines taken out of one cluster at most

# --------------------------------------------------------------------------- config


class CropConfig(StrictModel):
    min_range_m: float = Field(1.5, ge=0.0)  # bird's-eye distance from the sensor
    max_range_m: float = Field(60.0, gt=0.0, le=500.0)
    max_height_m: float = Field(4.0, gt=0.0)  # above the ground; drops overhanging structure
    voxel_m: float = Field(0.15, ge=0.0)  # box fitting thins points to one per voxel; 0: all

    @model_validator(mode="after")
    def _range_order(self) -> CropConfig:
        if self.min_range_m >= self.max_range_m:
            raise ValueError(
                f"min_range_m ({self.min_range_m}) must be below max_range_m ({self.max_range_m})"
            )
        return self


class GroundConfig(StrictModel):
    method: Literal["patchwork", "opening"] = "patchwork"
    margin_m: float = Field(4.0, ge=0.0)  # patchwork: ground estimated this far beyond range
    cell_m: float = Field(1.0, gt=0.0)  # grid of local ground heights (opening: lowest points)
    height_m: float = Field(0.25, gt=0.0)  # points this close above the local ground are ground
    # patchwork: a point of a bin's ground plane within this distance [m] (Patchwork++'s th_dist)
    plane_tolerance_m: float = Field(0.125, gt=0.0)
    # patchwork: a near ring's plane whose mean lies higher than this above the ground under
    # the sensor is not ground (rings 1-4 of Patchwork++'s concentric zones; the values of
    # the Patchwork paper, Lim et al. 2021): a car's roof beside the ego is not road
    max_rise_m: list[float] = Field(default_factory=lambda: [0.523, 0.746, 0.879, 1.125])
    window_m: float = Field(24.0, gt=0.0)  # opening: wider than any road user
    cell_tolerance_m: float = Field(0.15, ge=0.0)  # opening: a cell's own lowest point is
    # ground if this close to the opened surface (keeps sidewalk cells at their own height)


class ClusterConfig(StrictModel):
    method: Literal["grid", "dbscan"] = "grid"
    grid_cell_m: float = Field(0.3, gt=0.0)  # occupancy cell; 8-connected cells join
    dbscan_eps_m: float = Field(0.5, gt=0.0)  # neighbour radius in the bird's-eye plane
    dbscan_min_points: int = Field(2, ge=1)
    warp_from_m: float = Field(0.0, ge=0.0)  # beyond this range, cluster in a plane
    warp_scale_m: float = Field(15.0, ge=0.0)  # warped radially by r0 ln(1 + (r - r1) / r0)
    # about the sensor: far gaps shrink as the rings spread (at 30 m the rings on a car's
    # front are 1.4 m apart); r1 > 0 keeps true distances nearer than r1; r0 = 0: off
    split_length_m: float = Field(8.0, gt=0.0)  # longer clusters are searched for walls
    line_tolerance_m: float = Field(0.3, gt=0.0)  # a wall's cells lie this close to its line
    line_gap_m: float = Field(1.5, gt=0.0)  # a run along a line ends at a wider gap
    wall_band_m: float = Field(1.0, ge=0.0)  # cells this near a wall's run go with it


class SizeRange(StrictModel):
    """Bird's-eye long side, short side and height above ground [m] of a class."""

    min_length_m: float = Field(ge=0.0)
    max_length_m: float = Field(gt=0.0)
    max_width_m: float = Field(gt=0.0)
    min_height_m: float = Field(ge=0.0)
    max_height_m: float = Field(gt=0.0)


class ObjectConfig(StrictModel):
    min_points: int = Field(5, ge=1)
    min_height_m: float = Field(0.4, ge=0.0)  # lower clusters: curb and ground remnants
    max_length_m: float = Field(15.0, gt=0.0)  # longer: walls, hedges, guard rails
    min_span_m: float = Field(0.15, ge=0.0)  # returns spanning less height, nearer than
    layer_range_m: float = Field(20.0, ge=0.0)  # this: a flat layer (ground remnant)
    max_area_m2: float = Field(40.0, gt=0.0)  # bigger footprint: vegetation, buildings
    wall_min_length_m: float = Field(6.0, gt=0.0)  # thin and longer than a car: wall, fence
    wall_max_width_m: float = Field(0.4, ge=0.0)
    rail_max_height_m: float = Field(1.2, gt=0.0)  # thin, this low and over a car's length
    # (wall_min_length_m): guard rail; a truck's side seen from beside it is taller
    flat_max_width_m: float = Field(0.6, ge=0.0)  # this thin and tall_vehicle_height_m
    # high: a façade, garage or wall piece, unknown
    high_m: float = Field(4.5, gt=0.0)  # cells with returns this high above the ground ...
    high_fraction: float = Field(0.3, ge=0.0, le=1.0)  # ... in this share of a cluster's
    # cells: façade, tree or pole structure, not a road user
    porous_points_per_cell_m: float = Field(0.0, ge=0.0)  # points per occupied cell times
    # range below this: scattered returns (vegetation); 0 turns the rule off
    # widths: no road vehicle is wider than 2.55-2.6 m (EU 96/53/EC, US 102 in) plus the
    # fit's slack; a wider footprint is a building, a garage, a hedge or merged things.
    # Heights: hardly anyone is taller than 2.1 m; sign posts are
    vehicle: SizeRange = SizeRange(
        min_length_m=1.3, max_length_m=13.0, max_width_m=2.8, min_height_m=0.5, max_height_m=4.3
    )
    pedestrian: SizeRange = SizeRange(
        min_length_m=0.2, max_length_m=1.2, max_width_m=1.2, min_height_m=0.9, max_height_m=2.1
    )
    pole_max_width_m: float = Field(0.15, ge=0.0)  # lower half this narrow (one column) ...
    pole_top_extra_m: float = Field(0.3, ge=0.0)  # ... and the upper half this much wider:
    # a post carrying a sign or a lamp, not a person (legs and body are about as wide)
    vehicle_prior_length_m: float = Field(4.2, gt=0.0)  # box completion of partial views
    vehicle_prior_width_m: float = Field(1.8, gt=0.0)
    tall_vehicle_height_m: float = Field(2.6, gt=0.0)  # taller: truck or bus, longer prior
    tall_vehicle_prior_length_m: float = Field(7.0, gt=0.0)
    vehicle_face_max_m: float = Field(2.7, gt=0.0)  # shorter long side: maybe one face only


class LidarPipelineConfig(StrictModel):
    crop: CropConfig = CropConfig()
    ground: GroundConfig = GroundConfig()
    cluster: ClusterConfig = ClusterConfig()
    objects: ObjectConfig = ObjectConfig()


def load_lidar_config(path: Path | None = None) -> LidarPipelineConfig:
    """The YAML config (default: configs/perception/lidar.yaml); errors name file and field."""
    return load_model(LidarPipelineConfig, path or DEFAULT_CONFIG_PATH)


# --------------------------------------------------------------------------- result


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


# --------------------------------------------------------------------------- input


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


# --------------------------------------------------------------------------- pipeline


class LidarPipeline:
    """``LidarPipeline(config).run(points_xyzi, sensor_to_ego).objects``."""

    def __init__(self, config: LidarPipelineConfig | None = None) -> None:
        self.config = config or LidarPipelineConfig()

    def detect(self, points_xyzi: np.ndarray, sensor_to_ego: Pose) -> tuple[LidarObject, ...]:
        return self.run(points_xyzi, sensor_to_ego).objects

    def run(self, points_xyzi: np.ndarray, sensor_to_ego: Pose) -> LidarResult:
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
        xyz = crop(points, sensor_to_ego, cfg.crop.min_range_m, reach_m)
        counts["after_crop"] = int(xyz.shape[0])
        ms["crop"] = _lap(t0)

        t1 = time.perf_counter()
        if cfg.ground.method == "opening":
            thin = voxel_downsample(xyz, cfg.crop.voxel_m)  # the old method's cost
            ground_z = opening_ground(thin, xyz, sensor_xy, reach_m, cfg.ground)
            is_ground = xyz[:, 2] - ground_z <= cfg.ground.height_m
        else:
            ground_z, is_ground = self._patchwork_ground(xyz, sensor_to_ego, reach_m)
        height = xyz[:, 2] - ground_z
        is_ground |= height <= cfg.ground.height_m
        in_range = _range_sq(xyz, sensor_xy) <= cfg.crop.max_range_m**2
        above = (~is_ground) & (height <= cfg.crop.max_height_m) & in_range
        high = (~is_ground) & (height > cfg.objects.high_m) & in_range
        counts["ground"] = int(is_ground.sum())
        counts["non_ground"] = int(above.sum())
        ms["ground"] = _lap(t1)

        t2 = time.perf_counter()
        labels = np.full(xyz.shape[0], -1, np.int32)
        picked = np.flatnonzero(above)
        xy = warp_bev(xyz[picked, :2], sensor_xy, cfg.cluster.warp_from_m, cfg.cluster.warp_scale_m)
        if cfg.cluster.method == "grid":
            labels[picked] = wall_split_clusters(xy, xyz[picked, :2], cfg.cluster)
        else:
            labels[picked] = dbscan_clusters(xy, cfg.cluster, cfg.crop.voxel_m)
        counts["clusters"] = int(labels.max()) + 1 if labels.size else 0
        ms["cluster"] = _lap(t2)

        t3 = time.perf_counter()
        ring_gap = ring_gap_rad(points)
        objects = boxes_from_clusters(
            xyz,
            ground_z,
            labels,
            sensor_xy,
            cfg.objects,
            cfg.crop.voxel_m,
            xyz[high, :2],
            ring_gap,
        )
        ms["boxes"] = _lap(t3)
        ms["total"] = _lap(t0)
        return LidarResult(objects, xyz, height, is_ground, labels, counts, ms)

    def _patchwork_ground(
        self, xyz: np.ndarray, sensor_to_ego: Pose, reach_m: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Patchwork++ on the ego-frame points about the sensor (z up, level), then a
        local ground height per cell from its ground points.

        A fresh estimator per scan: Patchwork++ adapts its thresholds (and its idea of
        the sensor's height) from the scans it has seen, so one instance would make a
        scan's objects depend on the scans before it. The near rings' elevation limits
        are fixed instead (``GroundConfig.max_rise_m``) and the temporal ground revert,
        which turns flat patches rejected as too high back into ground, is off: near the
        sensor a flat patch that high is a car's roof, not road."""
        cfg = self.config
        sensor = sensor_to_ego.translation
        is_ground = np.zeros(xyz.shape[0], bool)
        if xyz.shape[0] == 0:
            return np.zeros(0), is_ground
        import pypatchworkpp

        sensor_height = float(sensor[2])
        params = pypatchworkpp.Parameters()
        params.sensor_height = sensor_height
        params.min_range = max(cfg.crop.min_range_m, 0.5)
        params.max_range = reach_m
        params.th_dist = cfg.ground.plane_tolerance_m
        params.verbose = False
        params.enable_RNR = False  # needs intensities on one scale; sensors differ
        params.enable_TGR = False
        rise = cfg.ground.max_rise_m
        params.num_rings_of_interest = len(rise)
        params.elevation_thr = [r - sensor_height for r in rise]  # plane mean z, sensor frame
        params.flatness_thr = [0.0] * len(rise)  # too high is too high, however flat
        with _quiet_stdout():  # the library prints a line on construction
            pw = pypatchworkpp.patchworkpp(params)
        pw.estimateGround(xyz - sensor)
        is_ground[np.asarray(pw.getGroundIndices(), np.int64)] = True
        return local_ground(xyz, is_ground, sensor[:2], reach_m, cfg.ground.cell_m), is_ground


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


def detect_objects(
    points_xyzi: np.ndarray, sensor_to_ego: Pose, config: LidarPipelineConfig | None = None
) -> tuple[LidarObject, ...]:
    return LidarPipeline(config).detect(points_xyzi, sensor_to_ego)


def _lap(start_s: float) -> float:
    return (time.perf_counter() - start_s) * 1000.0


def crop(
    points: np.ndarray, sensor_to_ego: Pose, min_range_m: float, max_range_m: float
) -> np.ndarray:
    """(N, 4) sensor-frame points -> (M, 3) float64 ego-frame points inside the range annulus."""
    xyz = _to_ego(points, sensor_to_ego)
    r2 = _range_sq(xyz, sensor_to_ego.translation[:2])
    return xyz[(r2 >= min_range_m**2) & (r2 <= max_range_m**2)]


def _to_ego(points: np.ndarray, sensor_to_ego: Pose) -> np.ndarray:
    """(N, 3) float64 ego-frame points, rotated element-wise: a BLAS matmul's worker
    threads would fight Open3D's OpenMP threads on two cores (30 ms for 110k points)."""
    rot, shift = sensor_to_ego.rotation, sensor_to_ego.translation
    x, y, z = (points[:, i].astype(np.float64) for i in range(3))
    out = np.empty((points.shape[0], 3))
    for i in range(3):
        out[:, i] = x * rot[i, 0] + y * rot[i, 1] + z * rot[i, 2] + shift[i]
    return out


def _range_sq(xyz: np.ndarray, sensor_xy: np.ndarray) -> np.ndarray:
    """(M,) squared bird's-eye distance from the sensor [m^2]."""
    d = xyz[:, :2] - sensor_xy
    return np.einsum("ij,ij->i", d, d)


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
    if voxel_m <= 0.0 or xyz.shape[0] == 0:
        return xyz
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    return np.asarray(cloud.voxel_down_sample(voxel_m).points)


# --------------------------------------------------------------------------- ground


def _cells(
    xy: np.ndarray, center_xy: np.ndarray, half_size_m: float, cell_m: float
) -> tuple[np.ndarray, int]:
    """(M,) flat cell index of a square grid about ``center_xy`` and its side in cells."""
    n = math.ceil(2.0 * half_size_m / cell_m) + 1
    ij = np.floor((xy - center_xy + half_size_m) / cell_m).astype(np.int64)
    np.clip(ij, 0, n - 1, out=ij)
    return ij[:, 0] * n + ij[:, 1], n


def local_ground(
    xyz: np.ndarray, is_ground: np.ndarray, center_xy: np.ndarray, half_size_m: float, cell_m: float
) -> np.ndarray:
    """(M,) ground height under each point: the mean height of the ground points in its
    cell, or of the nearest cell that has some (under a car, beside a wall)."""
    flat, n = _cells(xyz[:, :2], center_xy, half_size_m, cell_m)
    if not is_ground.any():
        return np.full(xyz.shape[0], float(np.min(xyz[:, 2])) if xyz.size else 0.0)
    total = np.bincount(flat[is_ground], xyz[is_ground, 2], minlength=n * n)
    count = np.bincount(flat[is_ground], minlength=n * n)
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


# --------------------------------------------------------------------------- clustering


def grid_clusters(xy: np.ndarray, cell_m: float) -> np.ndarray:
    """(M,) int32 labels: 8-connected components of the bird's-eye occupancy grid."""
    if xy.shape[0] == 0:
        return np.zeros(0, np.int32)
    ij = np.floor((xy - xy.min(axis=0)) / cell_m).astype(np.int64)
    occupied = np.zeros(tuple(ij.max(axis=0) + 1), bool)
    occupied[ij[:, 0], ij[:, 1]] = True
    grid, _ = ndimage.label(occupied, structure=np.ones((3, 3), bool))
    return (grid[ij[:, 0], ij[:, 1]] - 1).astype(np.int32)


EIGHT = np.ones((3, 3), bool)  # 8-connected cells join


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


# --------------------------------------------------------------------------- boxes


@dataclass(frozen=True, slots=True)
class _Boxes:
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


def boxes_from_clusters(
    xyz: np.ndarray,
    ground_z: np.ndarray,
    labels: np.ndarray,
    sensor_xy: np.ndarray,
    cfg: ObjectConfig,
    voxel_m: float = 0.0,
    high_xy: np.ndarray | None = None,
    ring_gap: float = 0.0,
) -> tuple[LidarObject, ...]:
    """Boxes, shape rules and classes of the clusters in ``labels``; ``high_xy``: (H, 2)
    returns higher than ``cfg.high_m`` above the ground (façades, canopies); ``ring_gap``:
    the sensor's vertical angle between rings [rad] (an object's top return lies up to
    one gap below its top, so the classes' lowest heights allow that much less)."""
    boxes = fit_boxes(xyz, ground_z, labels, voxel_m)
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
    slack = np.hypot(*(boxes.center_xy - sensor_xy).T) * math.tan(ring_gap)
    hints = _class_hints(boxes, height, slack, cfg)
    objects = []
    for k in np.flatnonzero(keep):
        hint = ObjectClass.UNKNOWN if structure[k] else hints[k]
        center = boxes.center_xy[k]
        length, width, yaw = float(boxes.length_m[k]), float(boxes.width_m[k]), boxes.yaw_rad[k]
        if hint == ObjectClass.VEHICLE:
            center, length, width, yaw = _complete_vehicle(
                center, length, width, float(yaw), float(height[k]), sensor_xy, cfg
            )
        objects.append(
            LidarObject(
                center_m=np.array(
                    [center[0], center[1], (boxes.top_z[k] + boxes.ground_z[k]) / 2.0]
                ),
                extent_m=np.array([length / 2.0, width / 2.0, height[k] / 2.0]),
                yaw_rad=float(yaw),
                num_points=int(boxes.num_points[k]),
                class_hint=hint,
            )
        )
    objects.sort(key=lambda o: float(np.hypot(*o.center_m[:2])))
    return tuple(objects)


def fit_boxes(
    xyz: np.ndarray, ground_z: np.ndarray, labels: np.ndarray, voxel_m: float = 0.0
) -> _Boxes | None:
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
    return _Boxes(center, length, width, yaw, bottom, top, low, counts, lab[starts], sizes)


def _not_clutter(boxes: _Boxes, height: np.ndarray, cfg: ObjectConfig) -> np.ndarray:
    """(K,) bool: enough points, tall enough, not a wall, guard rail, hedge or building."""
    thin = boxes.width_m <= cfg.wall_max_width_m
    wall = thin & (boxes.length_m >= cfg.wall_min_length_m)
    rail = thin & (boxes.length_m >= cfg.vehicle_prior_length_m) & (height < cfg.rail_max_height_m)
    return (
        (boxes.num_points >= cfg.min_points)
        & (height >= cfg.min_height_m)
        & (boxes.length_m <= cfg.max_length_m)
        & (boxes.length_m * boxes.width_m <= cfg.max_area_m2)
        & ~wall
        & ~rail
    )


def _structure(
    boxes: _Boxes,
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


def _post_with_top(
    boxes: _Boxes, labels: np.ndarray, xyz: np.ndarray, cfg: ObjectConfig
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
    yaw = boxes.yaw_rad[row]
    u = xyz[member, 0] * np.cos(yaw) + xyz[member, 1] * np.sin(yaw)
    group = row * 2 + upper
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    extent = np.zeros(2 * boxes.label.size)
    extent[g[starts]] = np.maximum.reduceat(u[order], starts) - np.minimum.reduceat(
        u[order], starts
    )
    count = np.bincount(group, minlength=2 * boxes.label.size)
    lower, top = extent[0::2], extent[1::2]
    column = (count[0::2] >= POLE_MIN_RETURNS) & (lower <= cfg.pole_max_width_m)
    return column & (top >= lower + cfg.pole_top_extra_m)


def _class_hints(
    boxes: _Boxes, height: np.ndarray, slack_m: np.ndarray, cfg: ObjectConfig
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
