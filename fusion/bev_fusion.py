"""Camera + LiDAR -> one bird's-eye scene: tracked objects, located signs and lights,
and an occupancy grid, as the ``BevScene`` the rules decide on.

A fusion cycle runs when a new LiDAR scan arrives (or, with no recent scan, when a
camera frame does). In a cycle:

1. each camera's vehicle and pedestrian boxes pair with the LiDAR boxes projected into
   it (``fusion.associate``); a pair takes its class from the camera and its geometry
   from LiDAR; LiDAR objects no camera claims stay, with class unknown;
2. camera-only boxes are placed by the LiDAR points in their frustum, else by the
   ground plane and a size prior (``fusion.locate``), with an uncertainty; placements
   that land on an unclaimed LiDAR object give it their class instead; one placed
   near with no obstacle return in its box is dropped while the scan is fresh (the
   LiDAR would have hit it: ``lidar_veto_m``);
3. all of them update the tracker (world frame, ego pose of the scan), which gives
   ids and velocities;
4. signs and lights are placed the same way, matched to map landmarks
   (``fusion.landmarks``), lights read from their pixels and signs by the injected
   reader (``fusion.sign_readings``): a sign's meaning is its reading, the matched
   landmark (if any) rides along as evidence for the rules.

Between cycles the tracks are extrapolated and signs, lights and obstacle points are
re-expressed in the moving ego frame. Stale or missing sensors degrade the scene and
say so in ``BevScene.degraded``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fusion.associate import PAIRABLE, associate
from fusion.config import FusionConfig
from fusion.landmarks import KnownLandmark, match_landmark
from fusion.locate import Placement, ProjectedPoints, camera_range, place, whole_in_image
from fusion.occupancy import occupancy
from fusion.sign_readings import HeldReading, ReadLight, ReadSign, SignReadings
from fusion.tracking import Detection, Tracker
from perception.lidar.pipeline import LidarResult
from perception.light_state import read_light_state
from roadmind.frames import Pose
from roadmind.messages import (
    BevLight,
    BevObject,
    BevScene,
    BevSign,
    CameraImage,
    Detection2D,
    LidarObject,
    LightState,
    ObjectClass,
    SignType,
)

PAIR_RANGE_RATIO = 2.5  # a box the camera reads this many times nearer or farther than
# a LiDAR object is not that object (a half-hidden car reads twice as far)


@dataclass(frozen=True, slots=True)
class CameraView:
    """One camera's latest frame and what the detector found in it."""

    image: CameraImage
    detections: tuple[Detection2D, ...]


@dataclass(frozen=True, slots=True)
class LidarView:
    """The latest scan through the LiDAR pipeline, with the ego pose when it was taken."""

    result: LidarResult
    ego_pose: Pose
    timestamp_s: float


@dataclass(frozen=True, slots=True)
class CameraRay:
    """A camera-only object's line of sight, for pictures: world-frame (3,) points [m]
    from the camera to where the object was placed."""

    camera: str
    object_class: ObjectClass
    origin_m: np.ndarray
    end_m: np.ndarray
    std_m: float
    source: str


@dataclass
class FusionDebug:
    """What the last cycle saw, in the world frame: for the video's BEV panel."""

    lidar_objects_world: list[LidarObject] = field(default_factory=list)
    rays_world: list[CameraRay] = field(default_factory=list)
    detections: dict[str, tuple[Detection2D, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Located:
    """A sign or light placed in the world frame during a cycle."""

    position_world_m: np.ndarray
    entry: BevSign | BevLight


class BevFusion:
    """``fusion.update(frame_id, time_s, ego_pose, cameras, lidar) -> BevScene``,
    called every step with the latest view of each sensor."""

    def __init__(
        self,
        config: FusionConfig | None = None,
        landmarks: Sequence[KnownLandmark] = (),
        camera_names: Sequence[str] = (),
        lidar_expected: bool = True,
        read_sign: ReadSign | None = None,
        read_light: ReadLight | None = None,
    ) -> None:
        self.config = config or FusionConfig()
        self.readings = SignReadings(read_sign) if read_sign is not None else None
        self.read_light = read_light
        self.landmarks = tuple(landmarks)
        self.camera_names = tuple(camera_names)
        self.lidar_expected = lidar_expected
        self.tracker = Tracker(self.config.tracking)
        self.debug = FusionDebug()
        self._last_lidar_s: float | None = None
        self._last_cycle_s: float | None = None
        self._last_camera_s: dict[str, float] = {}
        self._located: list[_Located] = []
        self._obstacles_world = np.zeros((0, 3))
        self._cycle_degraded: tuple[str, ...] = ()

    # ------------------------------------------------------------------ per step
    def update(
        self,
        frame_id: int,
        time_s: float,
        ego_pose: Pose,
        cameras: Mapping[str, CameraView],
        lidar: LidarView | None,
    ) -> BevScene:
        timing = self.config.timing
        degraded = list(self._missing_sensors(time_s, cameras, lidar))
        lidar_fresh = lidar is not None and time_s - lidar.timestamp_s <= timing.max_lidar_age_s
        new_scan = lidar_fresh and lidar is not None and lidar.timestamp_s != self._last_lidar_s
        new_camera = any(
            self._last_camera_s.get(name) != view.image.timestamp_s
            for name, view in cameras.items()
        )
        if new_scan or (not lidar_fresh and new_camera):
            self._cycle(frame_id, ego_pose, time_s, cameras, lidar if lidar_fresh else None)
            self._last_cycle_s = time_s
        age_s = math.inf if self._last_cycle_s is None else time_s - self._last_cycle_s
        if age_s > timing.max_scene_age_s:
            # nothing has refreshed the scene for too long: what it held is no longer
            # known to be there (or not there); an empty scene that says so is honest
            self._located, self._obstacles_world = [], np.zeros((0, 3))
            objects: tuple[BevObject, ...] = ()
            if self._last_cycle_s is not None:
                degraded.append(f"no usable sensor data for {age_s:.2f} s: scene emptied")
        else:
            objects = self.tracker.extrapolate(ego_pose, time_s)
        degraded += self._cycle_degraded
        return BevScene(
            frame_id,
            time_s,
            tuple(
                o for o in objects if math.hypot(*o.position_m[:2]) <= self.config.object_range_m
            ),
            *self._landmarks_now(ego_pose),
            self._grid_now(ego_pose),
            self.config.grid.resolution_m,
            tuple(dict.fromkeys(degraded)),
            self.config.grid.behind_m,
        )

    def _missing_sensors(
        self, time_s: float, cameras: Mapping[str, CameraView], lidar: LidarView | None
    ) -> list[str]:
        timing = self.config.timing
        out = []
        for name in self.camera_names:
            view = cameras.get(name)
            if view is None:
                out.append(f"camera {name}: no frame yet")
            elif time_s - view.image.timestamp_s > timing.max_camera_age_s:
                out.append(f"camera {name}: no frame for {time_s - view.image.timestamp_s:.2f} s")
        if self.lidar_expected:
            fresh = [
                name
                for name, view in cameras.items()
                if time_s - view.image.timestamp_s <= timing.max_camera_age_s
            ]
            then = "objects placed by camera alone" if fresh else "and no camera either"
            if lidar is None:
                out.append(f"LiDAR: no scan yet; {then}")
            elif time_s - lidar.timestamp_s > timing.max_lidar_age_s:
                out.append(f"LiDAR: no scan for {time_s - lidar.timestamp_s:.2f} s; {then}")
        return out

    # ------------------------------------------------------------------ one cycle
    def _cycle(
        self,
        frame_id: int,
        ego_now: Pose,
        time_s: float,
        cameras: Mapping[str, CameraView],
        lidar: LidarView | None,
    ) -> None:
        cfg = self.config
        pose = lidar.ego_pose if lidar is not None else ego_now
        cycle_s = lidar.timestamp_s if lidar is not None else time_s
        objects: tuple[LidarObject, ...] = lidar.result.objects if lidar is not None else ()
        obstacles = (
            _obstacle_points(lidar.result, cfg.grid.max_height_m) if lidar else np.zeros((0, 3))
        )
        degraded: list[str] = []
        usable: list[CameraView] = []
        for name, view in cameras.items():
            self._last_camera_s[name] = view.image.timestamp_s
            lag = cycle_s - view.image.timestamp_s
            if abs(lag) > cfg.timing.max_camera_lag_s:
                when = "older" if lag > 0 else "newer"
                degraded.append(
                    f"camera {name}: frame {abs(lag):.2f} s {when} than the scan, not fused"
                )
            else:
                usable.append(view)
        if lidar is not None:
            self._last_lidar_s = lidar.timestamp_s

        claimed: dict[int, tuple[ObjectClass, float]] = {}  # LiDAR object -> camera class
        loose: list[tuple[CameraView, Detection2D]] = []
        projected = {v.image.name: ProjectedPoints.of(obstacles, v.image) for v in usable}
        for view in usable:
            dets = view.detections
            assoc = associate(dets, objects, view.image, cfg.min_iou)
            unpaired = list(assoc.camera_only)
            for i, j in assoc.pairs:
                if not self._plausible(dets[i].object_class, objects[j].extent_m) or (
                    not box_range_agrees(dets[i], objects[j], view.image, cfg)
                ):
                    unpaired.append(i)
                elif j not in claimed or claimed[j][1] < dets[i].score:
                    claimed[j] = (dets[i].object_class, dets[i].score)
            loose += [(view, dets[i]) for i in unpaired if dets[i].object_class in PAIRABLE]

        tracked = [
            Detection(
                claimed[j][0] if j in claimed else ObjectClass.UNKNOWN,
                obj.center_m,
                obj.extent_m,
                obj.yaw_rad,
                claimed[j][1] if j in claimed else cfg.lidar_only_score,
            )
            for j, obj in enumerate(objects)
        ]
        rays: list[CameraRay] = []
        for view, det in sorted(loose, key=lambda vd: -vd[1].score):
            prior = getattr(cfg.priors, det.object_class.value)
            if det.score < cfg.camera_only_min_score:
                continue
            placed = place(det, view.image, projected[view.image.name], prior)
            if placed is None or math.hypot(*placed.center_m[:2]) > cfg.object_range_m:
                continue
            if lidar is not None and self._lidar_vetoes(det.object_class, placed):
                continue
            if self._absorb(tracked, det, placed, view.image.sensor_to_ego.translation):
                continue
            extent = _prior_extent(det.object_class, prior.height_m)
            yaw = math.atan2(placed.center_m[1], placed.center_m[0])
            tracked.append(
                Detection(
                    det.object_class,
                    placed.center_m,
                    extent,
                    yaw,
                    det.score * cfg.camera_only_score_factor,
                    placed.std_m,
                )
            )
            rays.append(
                CameraRay(
                    view.image.name,
                    det.object_class,
                    pose.transform_points(view.image.sensor_to_ego.translation[None, :])[0],
                    pose.transform_points(placed.center_m[None, :])[0],
                    placed.std_m,
                    placed.source,
                )
            )
        self.tracker.step(tracked, pose, cycle_s)
        self._located = self._locate_landmarks(usable, projected, pose, frame_id)
        self._obstacles_world = pose.transform_points(obstacles) if obstacles.size else obstacles
        self._cycle_degraded = tuple(degraded)
        self.debug = FusionDebug(
            [_to_world(o, pose) for o in objects],
            rays,
            {v.image.name: v.detections for v in cameras.values()},
        )

    def _lidar_vetoes(self, object_class: ObjectClass, placed: Placement) -> bool:
        """A camera-only road user placed near, where this scan put no obstacle return
        in its box: the LiDAR would have seen it (``FusionConfig.lidar_veto_m``)."""
        if placed.source.startswith("lidar"):
            return False
        veto_m = getattr(self.config.lidar_veto_m, object_class.value, 0.0)
        return math.hypot(*placed.center_m[:2]) < veto_m

    def _plausible(self, object_class: ObjectClass, extent_m: np.ndarray) -> bool:
        """Whether a LiDAR box of these half sizes can be a road user of this class."""
        limits = getattr(self.config.plausible, object_class.value)
        height_m, length_m = 2.0 * extent_m[2], 2.0 * float(extent_m[:2].max())
        return height_m <= limits.max_height_m and length_m <= limits.max_length_m

    def _absorb(
        self, tracked: list[Detection], det: Detection2D, placed: Placement, eye_m: np.ndarray
    ) -> bool:
        """True when the placement is an object already in ``tracked``: an unclassed
        LiDAR object takes the camera's class; a same-class neighbour just stays.
        The camera knows the bearing well and the range poorly, so "near" is measured
        across the line of sight (``merge_m``) and along it (the placement's 2 sigma)."""
        sight = placed.center_m[:2] - eye_m[:2]
        sight = sight / max(float(np.linalg.norm(sight)), 1e-6)
        along_reach = max(self.config.merge_m, 2.0 * placed.std_m)
        best, best_d = None, math.inf
        for k, other in enumerate(tracked):
            if other.object_class not in (det.object_class, ObjectClass.UNKNOWN):
                continue
            offset = other.center_m[:2] - placed.center_m[:2]
            along = abs(float(offset @ sight))
            across = abs(float(offset[0] * sight[1] - offset[1] * sight[0]))
            if across <= self.config.merge_m and along <= along_reach and along + across < best_d:
                best, best_d = k, along + across
        if best is None:
            return False
        old = tracked[best]
        if old.object_class is ObjectClass.UNKNOWN:
            if not self._plausible(det.object_class, old.extent_m):
                return True  # a pole or a wall the camera took for a road user
            tracked[best] = Detection(
                det.object_class, old.center_m, old.extent_m, old.yaw_rad, det.score
            )
        return True

    # ------------------------------------------------------------------ signs and lights
    def _locate_landmarks(
        self,
        views: Sequence[CameraView],
        projected: Mapping[str, ProjectedPoints],
        pose: Pose,
        frame_id: int,
    ) -> list[_Located]:
        """Signs and lights seen by any camera; one per landmark when several cameras
        see it (a readable light beats an unreadable one, then the surer box wins)."""
        cfg = self.config
        by_landmark: dict[int, tuple[tuple[bool, float], _Located]] = {}
        unmatched: list[tuple[tuple[bool, float], _Located]] = []
        wanted = (ObjectClass.TRAFFIC_SIGN, ObjectClass.TRAFFIC_LIGHT)
        for view in views:
            for det in view.detections:
                if det.object_class not in wanted:
                    continue
                prior = getattr(cfg.priors, det.object_class.value)
                placed = place(det, view.image, projected[view.image.name], prior, on_ground=False)
                if placed is None:
                    continue
                ahead, right = float(placed.center_m[0]), float(placed.center_m[1])
                is_light = det.object_class is ObjectClass.TRAFFIC_LIGHT
                range_m = math.hypot(ahead, right)
                if ahead <= 0.0 or range_m > (cfg.light_range_m if is_light else cfg.sign_range_m):
                    continue
                world = pose.transform_points(placed.center_m[None, :])[0]
                match = match_landmark(
                    det.object_class, world, range_m, pose.yaw_rad, self.landmarks
                )
                if not match.for_us:
                    continue  # the back or side of another direction's sign
                lm = match.landmark
                if lm is None and det.score < cfg.camera_only_min_score:
                    continue  # off the map, only the camera's word for it: must be sure
                lm_id = lm.landmark_id if lm is not None else None
                readable = True
                if is_light:
                    state, _ = read_light_state(view.image.bgra, det.xyxy_px)
                    unsure = state is LightState.UNKNOWN and lm is not None
                    if unsure and self.read_light is not None:
                        # lamps the pixel reader cannot tell apart, on a mapped light
                        # that faces us: the dual encoder reads the crop
                        state = self.read_light(view.image, det.xyxy_px, frame_id)
                    readable = state not in (LightState.OFF, LightState.UNKNOWN)
                    if not readable and (lm is None or not whole_in_image(det, view.image)):
                        # unlit and off the map (a head seen from behind), or cut by the
                        # image edge: the lamps cannot be told, so it says nothing
                        continue
                    item = _Located(world, BevLight(state, ahead, right, lm_id))
                else:
                    held = None
                    if self.readings is not None:
                        key = ("landmark", lm_id) if lm_id is not None else _place_key(world)
                        held = self.readings.get(key, view.image, det, frame_id)
                    item = _Located(world, _sign(held, lm, ahead, right))
                rank = (readable, det.score)
                if lm_id is None:
                    unmatched.append((rank, item))
                elif lm_id not in by_landmark or by_landmark[lm_id][0] < rank:
                    by_landmark[lm_id] = (rank, item)
        return [item for _, item in by_landmark.values()] + _distinct(unmatched, cfg.merge_m)

    # ------------------------------------------------------------------ re-expressed now
    def _landmarks_now(self, ego: Pose) -> tuple[tuple[BevSign, ...], tuple[BevLight, ...]]:
        """The cycle's signs and lights still ahead, in the current ego frame."""
        signs: list[BevSign] = []
        lights: list[BevLight] = []
        for item in self._located:
            x, y = _in_ego(item.position_world_m, ego)
            if x <= 0.0:
                continue
            entry = dataclasses.replace(item.entry, distance_m=x, lateral_m=y)
            if isinstance(entry, BevSign):
                signs.append(entry)
            else:
                lights.append(entry)
        return tuple(signs), tuple(lights)

    def _grid_now(self, ego: Pose) -> np.ndarray:
        local = (
            ego.inverse_transform_points(self._obstacles_world)
            if self._obstacles_world.size
            else np.zeros((0, 3))
        )
        return occupancy(local, self.config.grid)


def _distinct(items: list[tuple[tuple[bool, float], _Located]], merge_m: float) -> list[_Located]:
    """The best-ranked of items that lie within ``merge_m`` of each other (one sign
    seen by two cameras)."""
    kept: list[_Located] = []
    for _, item in sorted(items, key=lambda ri: ri[0], reverse=True):
        if all(
            np.hypot(*(item.position_world_m[:2] - k.position_world_m[:2])) > merge_m for k in kept
        ):
            kept.append(item)
    return kept


def box_range_agrees(
    det: Detection2D, obj: LidarObject, camera: CameraImage, cfg: FusionConfig
) -> bool:
    """Whether a box overlapping a LiDAR object's projection can be that object: the
    range the camera reads from the box (size and ground, ``camera_range``) is within
    PAIR_RANGE_RATIO of the object's. A far car's box over a near pole is not the pole.
    The box's size alone (pinhole) lost near vehicles: vehicle AP at 2 m fell 0.857 ->
    0.812 in `eval fusion`."""
    prior = getattr(cfg.priors, det.object_class.value, None)
    guess = camera_range(det, camera, prior) if prior is not None else None
    if guess is None:
        return True
    lidar_m = float(np.linalg.norm(obj.center_m - camera.sensor_to_ego.translation))
    ratio = guess[0] / max(lidar_m, 1e-3)
    return 1.0 / PAIR_RANGE_RATIO <= ratio <= PAIR_RANGE_RATIO


def _obstacle_points(result: LidarResult, max_height_m: float) -> np.ndarray:
    """(N, 3) ego-frame points above the ground and below ``max_height_m``."""
    keep = (~result.is_ground) & (result.height_m <= max_height_m)
    return result.points_m[keep]


def _prior_extent(object_class: ObjectClass, height_m: float) -> np.ndarray:
    half = {ObjectClass.VEHICLE: (2.2, 0.9), ObjectClass.PEDESTRIAN: (0.3, 0.3)}
    hx, hy = half.get(object_class, (0.5, 0.5))
    return np.array([hx, hy, height_m / 2.0])


def _to_world(obj: LidarObject, pose: Pose) -> LidarObject:
    center = pose.transform_points(obj.center_m[None, :])[0]
    return LidarObject(
        center, obj.extent_m, obj.yaw_rad + pose.yaw_rad, obj.num_points, obj.class_hint
    )


def _in_ego(world: np.ndarray, ego: Pose) -> tuple[float, float]:
    local = ego.inverse_transform_points(world[None, :])[0]
    return float(local[0]), float(local[1])


def _place_key(world_m: np.ndarray) -> tuple[str, int, int]:
    """An off-map sign's key for its reading: its place on a 4 m grid."""
    return ("place", int(world_m[0] // 4.0), int(world_m[1] // 4.0))


def _sign(
    held: HeldReading | None,
    lm: KnownLandmark | None,
    ahead_m: float,
    right_m: float,
) -> BevSign:
    """The sign's meaning: the reading's where it says one; else the map landmark's;
    else a sign of unknown meaning (the rules name it and act on nothing)."""
    lm_id = lm.landmark_id if lm is not None else None
    reading = held.reading if held is not None else None
    if held is not None and reading is not None and reading.sign_type is not None:
        return BevSign(
            reading.sign_type,
            ahead_m,
            right_m,
            reading.value,
            reading.unit,
            reading.text,
            lm_id,
            reading.confidence,
            held.frame_id,
        )
    if lm is not None and lm.sign_type is not None:
        return BevSign(lm.sign_type, ahead_m, right_m, lm.value, lm.unit, lm.text, lm_id)
    return BevSign(SignType.TEXT, ahead_m, right_m, landmark_id=lm_id, confidence=0.0)
