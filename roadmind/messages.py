"""Messages at every stage boundary.

SensorFrame -> PerceptionResult -> BevScene -> Decision -> VehicleControl.
Frozen dataclasses; numpy arrays inside with shapes in docstrings; SI units in
field names; ``__post_init__`` raises ``ValueError`` on anything malformed.
Round-trip to plain dicts with :mod:`roadmind.serialize`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from roadmind.frames import Pose


def _check_finite(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{owner}.{name} must be finite, got {value}")


def _check_array(owner: str, name: str, array: np.ndarray, dtype: type, shape: tuple) -> None:
    """Check dtype and shape; ``-1`` in ``shape`` accepts any length."""
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{owner}.{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != np.dtype(dtype):
        raise ValueError(f"{owner}.{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    ok = array.ndim == len(shape) and all(
        want in (-1, got) for want, got in zip(shape, array.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("N" if s == -1 else str(s) for s in shape) + ")"
        raise ValueError(f"{owner}.{name} must have shape {want}, got {array.shape}")


class ObjectClass(enum.StrEnum):
    """Detector classes (the camera dataset's label set) plus unknown for LiDAR-only."""

    VEHICLE = "vehicle"
    PEDESTRIAN = "pedestrian"
    TRAFFIC_LIGHT = "traffic_light"
    TRAFFIC_SIGN = "traffic_sign"
    UNKNOWN = "unknown"


class SignType(enum.StrEnum):
    SPEED_LIMIT = "speed_limit"  # OpenDRIVE 274
    STOP = "stop"  # OpenDRIVE 206
    YIELD = "yield"  # OpenDRIVE 205
    SCHOOL_ZONE = "school_zone"  # scenario-added text sign
    TEXT = "text"  # any other text sign a scenario adds


class LightState(enum.StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    OFF = "off"
    UNKNOWN = "unknown"


class Action(enum.StrEnum):
    CRUISE = "cruise"
    FOLLOW = "follow"
    SLOW = "slow"
    STOP = "stop"
    YIELD = "yield"
    PROCEED = "proceed"
    EMERGENCY_BRAKE = "emergency_brake"


# --------------------------------------------------------------------------- sensors


@dataclass(frozen=True, slots=True)
class CameraImage:
    """One camera frame in CARLA's layout.

    bgra: (H, W, 4) uint8, B, G, R, A channels.
    fov_deg: horizontal field of view of the pinhole camera.
    sensor_to_ego: camera pose in the ego frame (camera axes: x forward, y right, z up).
    """

    name: str
    bgra: np.ndarray
    fov_deg: float
    sensor_to_ego: Pose
    timestamp_s: float

    def __post_init__(self) -> None:
        _check_array("CameraImage", "bgra", self.bgra, np.uint8, (-1, -1, 4))
        _check_finite("CameraImage", fov_deg=self.fov_deg, timestamp_s=self.timestamp_s)
        if not 0.0 < self.fov_deg < 180.0:
            raise ValueError(f"CameraImage.fov_deg must be in (0, 180), got {self.fov_deg}")

    @property
    def intrinsics(self) -> np.ndarray:
        """(3, 3) pinhole matrix K for image axes u right, v down."""
        height, width = self.bgra.shape[:2]
        return camera_intrinsics(width, height, self.fov_deg)


def camera_intrinsics(width_px: int, height_px: int, fov_deg: float) -> np.ndarray:
    """(3, 3) K of a CARLA pinhole camera: square pixels, horizontal FOV."""
    focal_px = width_px / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
    return np.array(
        [[focal_px, 0.0, width_px / 2.0], [0.0, focal_px, height_px / 2.0], [0.0, 0.0, 1.0]]
    )


@dataclass(frozen=True, slots=True)
class LidarScan:
    """One sweep in the sensor frame (CARLA axes: x forward, y right, z up) [m].

    points_xyzi: (N, 4) float32 x, y, z [m] and intensity [0, 1].
    """

    name: str
    points_xyzi: np.ndarray
    sensor_to_ego: Pose
    timestamp_s: float

    def __post_init__(self) -> None:
        _check_array("LidarScan", "points_xyzi", self.points_xyzi, np.float32, (-1, 4))
        _check_finite("LidarScan", timestamp_s=self.timestamp_s)


@dataclass(frozen=True, slots=True)
class EgoState:
    """Ego vehicle state in the world frame."""

    pose: Pose
    speed_mps: float
    accel_mps2: float
    yaw_rate_rps: float
    steer_rad: float = 0.0

    def __post_init__(self) -> None:
        _check_finite(
            "EgoState",
            speed_mps=self.speed_mps,
            accel_mps2=self.accel_mps2,
            yaw_rate_rps=self.yaw_rate_rps,
            steer_rad=self.steer_rad,
        )


# --------------------------------------------------------------------------- ground truth


@dataclass(frozen=True, slots=True)
class ActorTruth:
    """A road user as the world knows it.

    pose: box centre and heading in the world frame.
    extent_m: (3,) float64 half sizes along the box's x, y, z (CARLA's BoundingBox.extent).
    velocity_mps: (3,) float64 in the world frame.
    """

    actor_id: int
    object_class: ObjectClass
    pose: Pose
    extent_m: np.ndarray
    velocity_mps: np.ndarray

    def __post_init__(self) -> None:
        _check_array("ActorTruth", "extent_m", self.extent_m, np.float64, (3,))
        _check_array("ActorTruth", "velocity_mps", self.velocity_mps, np.float64, (3,))
        if np.any(self.extent_m <= 0):
            raise ValueError(f"ActorTruth.extent_m must be positive, got {self.extent_m}")


@dataclass(frozen=True, slots=True)
class Box2DTruth:
    """Visible 2D box of one object in one camera, from ray-cast instance ids.

    xyxy_px: (4,) float64 x_min, y_min, x_max, y_max of the visible pixels.
    occlusion: fraction of the object's unoccluded silhouette hidden by other geometry.
    truncation: fraction of the projected 3D box outside the image.
    """

    object_id: int
    object_class: ObjectClass
    xyxy_px: np.ndarray
    visible_px: int
    occlusion: float
    truncation: float

    def __post_init__(self) -> None:
        _check_array("Box2DTruth", "xyxy_px", self.xyxy_px, np.float64, (4,))
        x0, y0, x1, y1 = self.xyxy_px
        if not (x1 > x0 and y1 > y0):
            raise ValueError(
                f"Box2DTruth.xyxy_px must have x1 > x0 and y1 > y0, got {x0, y0, x1, y1}"
            )
        for name in ("occlusion", "truncation"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Box2DTruth.{name} must be in [0, 1], got {value}")


@dataclass(frozen=True, slots=True)
class SignTruth:
    """A sign the world shows: map landmark or scenario-added. value in ``unit``.

    pose: foot of the pole; its yaw is the driving direction of the traffic it governs.
    on_map: the sign is a landmark of the map (False: the scenario put it up).
    """

    sign_id: int
    sign_type: SignType
    pose: Pose
    value: float = 0.0
    unit: str = ""
    text: str = ""
    on_map: bool = True


@dataclass(frozen=True, slots=True)
class LightTruth:
    """pose: foot of the pole; yaw as for SignTruth. group: the signal phase it belongs to."""

    light_id: int
    state: LightState
    pose: Pose
    group: int = 0


@dataclass(frozen=True, slots=True)
class CollisionTruth:
    """One contact the ego's collision sensor reported during a frame.

    other_class: the other's class; UNKNOWN for the static world (buildings, poles,
    fences, props), TRAFFIC_LIGHT or TRAFFIC_SIGN for those actors.
    other_type: the simulator's type of the other actor (CARLA's ``type_id``).
    impulse_ns: magnitude of the normal impulse [N s].
    """

    other_id: int
    other_class: ObjectClass
    other_type: str
    impulse_ns: float = 0.0


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """Everything the world knows at one frame; boxes_2d keyed by camera name.

    collisions and lane_invasions come from collision and lane-invasion sensors on the
    ego: events of this frame, lane invasions as the crossed marking types (joined by
    ``+``; CARLA's sensor, or the embedded world's copy of it). None where the world has
    no such sensor (the embedded world has no collision sensor: it judges contact by
    footprints).
    """

    actors: tuple[ActorTruth, ...] = ()
    boxes_2d: dict[str, tuple[Box2DTruth, ...]] = field(default_factory=dict)
    signs: tuple[SignTruth, ...] = ()
    lights: tuple[LightTruth, ...] = ()
    collisions: tuple[CollisionTruth, ...] | None = None
    lane_invasions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SensorFrame:
    """All sensor data of one world step; ground truth only where the world knows it."""

    frame_id: int
    timestamp_s: float
    ego: EgoState
    cameras: tuple[CameraImage, ...] = ()
    lidars: tuple[LidarScan, ...] = ()
    ground_truth: GroundTruth | None = None

    def __post_init__(self) -> None:
        if self.frame_id < 0:
            raise ValueError(f"SensorFrame.frame_id must be >= 0, got {self.frame_id}")
        _check_finite("SensorFrame", timestamp_s=self.timestamp_s)
        names = [c.name for c in self.cameras] + [s.name for s in self.lidars]
        if len(set(names)) != len(names):
            raise ValueError(f"SensorFrame sensor names must be unique, got {names}")

    def camera(self, name: str) -> CameraImage:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"no camera {name!r} in frame; have {[c.name for c in self.cameras]}")


# --------------------------------------------------------------------------- perception


@dataclass(frozen=True, slots=True)
class Detection2D:
    """xyxy_px: (4,) float64 box in pixels; score in [0, 1]."""

    camera: str
    object_class: ObjectClass
    xyxy_px: np.ndarray
    score: float

    def __post_init__(self) -> None:
        _check_array("Detection2D", "xyxy_px", self.xyxy_px, np.float64, (4,))
        if not np.all(np.isfinite(self.xyxy_px)):
            raise ValueError(f"Detection2D.xyxy_px must be finite, got {self.xyxy_px}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Detection2D.score must be in [0, 1], got {self.score}")


@dataclass(frozen=True, slots=True)
class LidarObject:
    """A LiDAR cluster's box in the ego frame. center_m, extent_m (half sizes): (3,) float64."""

    center_m: np.ndarray
    extent_m: np.ndarray
    yaw_rad: float
    num_points: int
    class_hint: ObjectClass = ObjectClass.UNKNOWN

    def __post_init__(self) -> None:
        _check_array("LidarObject", "center_m", self.center_m, np.float64, (3,))
        _check_array("LidarObject", "extent_m", self.extent_m, np.float64, (3,))
        _check_finite("LidarObject", yaw_rad=self.yaw_rad)


@dataclass(frozen=True, slots=True)
class PerceptionResult:
    frame_id: int
    timestamp_s: float
    detections: tuple[Detection2D, ...] = ()
    lidar_objects: tuple[LidarObject, ...] = ()


# --------------------------------------------------------------------------- BEV scene


@dataclass(frozen=True, slots=True)
class BevObject:
    """A tracked object in the ego frame; position_m, velocity_mps, extent_m: (3,) float64."""

    track_id: int
    object_class: ObjectClass
    position_m: np.ndarray
    velocity_mps: np.ndarray
    extent_m: np.ndarray
    yaw_rad: float
    score: float = 1.0

    def __post_init__(self) -> None:
        for name in ("position_m", "velocity_mps", "extent_m"):
            _check_array("BevObject", name, getattr(self, name), np.float64, (3,))
        _check_finite("BevObject", yaw_rad=self.yaw_rad, score=self.score)


@dataclass(frozen=True, slots=True)
class SignReading:
    """What the reader says a sign or light crop shows.

    label: the vocabulary entry that won (``speed_limit``, ``stop``, ``light_red``, ...).
    sign_type: its meaning for the rules; None for lights and for labels the rules do
    not know. value/unit: the limit where the sign has one; text: what OCR read on the
    plate. confidence in [0, 1]; runner_up: the best other label (with its value) and
    its confidence. light_state: set for light crops.
    """

    label: str
    sign_type: SignType | None = None
    value: float = 0.0
    unit: str = ""
    text: str = ""
    confidence: float = 0.0
    runner_up: str = ""
    runner_up_confidence: float = 0.0
    light_state: LightState | None = None

    def __post_init__(self) -> None:
        _check_finite(
            "SignReading",
            value=self.value,
            confidence=self.confidence,
            runner_up_confidence=self.runner_up_confidence,
        )
        for name in ("confidence", "runner_up_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"SignReading.{name} must be in [0, 1], got {getattr(self, name)}")

    def describe(self) -> str:
        """``speed_limit 30 km/h`` or ``stop``: the label with its value."""
        if self.value > 0 and self.unit:
            return f"{self.label} {self.value:g} {self.unit}"
        return self.label


@dataclass(frozen=True, slots=True)
class BevSign:
    """A located sign; distance ahead and lateral offset (right positive) in the ego frame.

    Meaning (type, value, unit, text) comes from the reader where ``read_frame`` is set
    (the frame it was read in, with ``confidence``); else from the map landmark or the
    ground truth (confidence 1). landmark_id: the map landmark it matched, if any.
    """

    sign_type: SignType
    distance_m: float
    lateral_m: float
    value: float = 0.0
    unit: str = ""
    text: str = ""
    landmark_id: int | None = None
    confidence: float = 1.0
    read_frame: int | None = None


@dataclass(frozen=True, slots=True)
class BevLight:
    state: LightState
    distance_m: float
    lateral_m: float
    landmark_id: int | None = None


@dataclass(frozen=True, slots=True)
class BevScene:
    """The scene the rules decide on.

    occupancy: (H, W) uint8 grid in the ego frame or None; row 0 is the far edge ahead,
    column 0 the left edge, the ego ``occupancy_behind_m`` above the bottom edge and
    centred across. degraded: what the scene lacks (stale or missing sensors), in words.
    """

    frame_id: int
    timestamp_s: float
    objects: tuple[BevObject, ...] = ()
    signs: tuple[BevSign, ...] = ()
    lights: tuple[BevLight, ...] = ()
    occupancy: np.ndarray | None = None
    occupancy_resolution_m: float = 0.5
    degraded: tuple[str, ...] = ()
    occupancy_behind_m: float = 0.0

    def __post_init__(self) -> None:
        if self.occupancy is not None:
            _check_array("BevScene", "occupancy", self.occupancy, np.uint8, (-1, -1))
        _check_finite(
            "BevScene",
            occupancy_resolution_m=self.occupancy_resolution_m,
            occupancy_behind_m=self.occupancy_behind_m,
        )
        if self.occupancy_resolution_m <= 0:
            raise ValueError(
                f"BevScene.occupancy_resolution_m must be > 0, got {self.occupancy_resolution_m}"
            )


# --------------------------------------------------------------------------- decision, control


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: the rule, a sentence, and the evidence it cites (sign id, landmark, note, object)."""

    rule: str
    text: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    frame_id: int
    action: Action
    target_speed_mps: float
    stop_distance_m: float | None = None
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        _check_finite("Decision", target_speed_mps=self.target_speed_mps)
        if self.target_speed_mps < 0:
            raise ValueError(f"Decision.target_speed_mps must be >= 0, got {self.target_speed_mps}")


@dataclass(frozen=True, slots=True)
class VehicleControl:
    """CARLA's control: throttle and brake in [0, 1], steer in [-1, 1] (positive right)."""

    throttle: float = 0.0
    steer: float = 0.0
    brake: float = 0.0
    hand_brake: bool = False
    reverse: bool = False

    def __post_init__(self) -> None:
        _check_finite("VehicleControl", throttle=self.throttle, steer=self.steer, brake=self.brake)
        for name, lo in (("throttle", 0.0), ("brake", 0.0), ("steer", -1.0)):
            value = getattr(self, name)
            if not lo <= value <= 1.0:
                raise ValueError(f"VehicleControl.{name} must be in [{lo}, 1], got {value}")
