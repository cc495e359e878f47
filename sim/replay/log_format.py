"""What a roadmind sensor log holds: MCAP, Foxglove's protobuf schemas for what a viewer
shows, and two JSON channels for what replay needs exactly.

Channels (``log_time`` = the frame's simulated time [ns]):

    /roadmind/run                JSON, once, first: format version, scenario, rig, backend,
                                 perception, the drive map (OpenDRIVE text, route, signs,
                                 lights, poles, ego size)
    /camera/<name>/image         foxglove.RawImage bgr8 (bgra8 when alpha is not all 255)
    /camera/<name>/calibration   foxglove.CameraCalibration (K, P; frame <name>_optical)
    /lidar/<name>                foxglove.PointCloud x, y, z, intensity float32
    /tf                          foxglove.FrameTransforms world -> ego -> sensors -> optical
    /truth/boxes                 foxglove.SceneUpdate, the world's actors and lights
    /stack/scene                 foxglove.SceneUpdate, the scene the agent decided on
    /decision                    JSON: action, target speed, reasons, control
    /roadmind/frame              JSON, last of each frame: frame id, time, ego state, each
                                 sensor's name, time and pose, the ground truth

Foxglove's frames are right-handed (ROS: y left), so every Foxglove message has y, pitch
and yaw negated; negation is exact, and replay reads poses from /roadmind/frame and
negates the point clouds' y back. Everything is data: protobuf and JSON, read with
``json.loads`` and rebuilt field by field (``roadmind.serialize.from_dict``); nothing in a
log is executed or unpickled.
"""

from __future__ import annotations

import math
from typing import Any

import carla
import numpy as np
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.descriptor_pb2 import FileDescriptorSet

from maps.landmarks import LightSpec, SignSpec
from maps.lane_path import LanePath
from roadmind.frames import Pose
from roadmind.serialize import from_dict, to_dict
from sim.world import DriveMap

FORMAT = "roadmind-sensor-log"
VERSION = 1
LOG_NAME = "log.mcap"

RUN_TOPIC = "/roadmind/run"
FRAME_TOPIC = "/roadmind/frame"
TF_TOPIC = "/tf"
TRUTH_TOPIC = "/truth/boxes"
SCENE_TOPIC = "/stack/scene"
DECISION_TOPIC = "/decision"
WORLD_FRAME = "world"
EGO_FRAME = "ego"


def image_topic(camera: str) -> str:
    return f"/camera/{camera}/image"


def calibration_topic(camera: str) -> str:
    return f"/camera/{camera}/calibration"


def lidar_topic(lidar: str) -> str:
    return f"/lidar/{lidar}"


def optical_frame(camera: str) -> str:
    return f"{camera}_optical"


def time_ns(timestamp_s: float) -> int:
    return max(0, round(timestamp_s * 1e9))


def descriptor_set(message_class: Any) -> bytes:
    """The FileDescriptorSet of a protobuf class and its imports (MCAP's protobuf schema)."""
    files = FileDescriptorSet()
    seen: set[str] = set()

    def add(fd: FileDescriptor) -> None:
        for dep in fd.dependencies:
            if dep.name not in seen:
                add(dep)
        if fd.name not in seen:
            seen.add(fd.name)
            fd.CopyToProto(files.file.add())

    add(message_class.DESCRIPTOR.file)
    return files.SerializeToString()


# --------------------------------------------------------------------------- handedness


def rh_translation(x: float, y: float, z: float) -> tuple[float, float, float]:
    """CARLA's left-handed axes (y right) -> Foxglove's right-handed ones (y left)."""
    return x, -y, z


def rh_quaternion(pose: Pose) -> tuple[float, float, float, float]:
    """(x, y, z, w) of the pose's rotation in right-handed axes: roll kept, pitch and yaw
    negated (as CARLA's ROS bridge does), composed yaw-pitch-roll."""
    return quaternion_rpy(pose.roll_rad, -pose.pitch_rad, -pose.yaw_rad)


def quaternion_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


# optical frame (x right, y down, z forward) in a right-handed camera frame (x forward,
# y left, z up): ROS's rpy(-pi/2, 0, -pi/2)
OPTICAL_QUATERNION = (-0.5, 0.5, -0.5, 0.5)


# --------------------------------------------------------------------------- the drive map


def drive_map_to_dict(drive_map: DriveMap) -> dict[str, Any]:
    carla_map = drive_map.carla_map
    return {
        "map_name": carla_map.name,
        "opendrive": carla_map.to_opendrive(),
        "route": to_dict(drive_map.route),
        "ego_extent_m": to_dict(drive_map.ego_extent_m),
        "signs": [to_dict(s) for s in drive_map.signs],
        "lights": [to_dict(lt) for lt in drive_map.lights],
        "poles_xy": to_dict(drive_map.poles_xy),
    }


def drive_map_from_dict(data: dict[str, Any]) -> DriveMap:
    """The drive map the log was driven on: carla.Map parsed from the logged OpenDRIVE
    text (no map file or server needed), the rest rebuilt exactly."""
    return DriveMap(
        carla.Map(str(data["map_name"]), str(data["opendrive"])),
        from_dict(LanePath, data["route"]),
        from_dict(np.ndarray, data["ego_extent_m"]),
        tuple(from_dict(SignSpec, s) for s in data["signs"]),
        tuple(from_dict(LightSpec, lt) for lt in data["lights"]),
        from_dict(np.ndarray, data["poles_xy"]),
    )
