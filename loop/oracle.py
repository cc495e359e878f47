"""Oracle perception: the BEV scene straight from a world's ground truth (embedded or CARLA).

The upper bound the perception stack is compared against. It sees every road user
within range (through walls: the truth has no occlusion), and the signs and lights
that govern traffic going the ego's way. A light governs us when its pole or one of its
stop lines lies ahead facing our way: in CARLA's towns a light's OpenDRIVE position can be
60-90 m from the stop lines it controls (Town04, Town10HD), where its pole alone would
never count as ahead of the car that must stop for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from maps.stop_lines import StopLine
from roadmind.frames import Pose
from roadmind.messages import BevLight, BevObject, BevScene, BevSign, SensorFrame
from roadmind.units import wrap_angle_rad

OBJECT_RANGE_M = 80.0
SIGN_RANGE_M = 60.0
LIGHT_RANGE_M = 150.0  # a comfortable stop from 90 km/h needs 125 m
FACING_COS = math.cos(math.radians(50))  # governs our direction of travel
MAX_LATERAL_M = 15.0


def oracle_scene(
    frame: SensorFrame, light_lines: Mapping[int, Sequence[StopLine]] | None = None
) -> BevScene:
    """``light_lines``: each light's stop lines (``DriveMap.lights``), by light id."""
    truth = frame.ground_truth
    if truth is None:
        raise ValueError(
            f"frame {frame.frame_id} has no ground truth; the oracle needs a world that knows it"
        )
    ego = frame.ego.pose
    inv_rot = ego.rotation.T
    objects = []
    for actor in truth.actors:
        local = ego.inverse_transform_points(actor.pose.translation[None, :])[0]
        if float(np.linalg.norm(local[:2])) > OBJECT_RANGE_M:
            continue
        objects.append(
            BevObject(
                actor.actor_id,
                actor.object_class,
                local,
                inv_rot @ actor.velocity_mps,
                actor.extent_m.copy(),
                wrap_angle_rad(actor.pose.yaw_rad - ego.yaw_rad),
            )
        )
    signs = []
    for sign in truth.signs:
        where = _ahead_facing(ego, sign.pose, SIGN_RANGE_M)
        if where is not None:
            signs.append(
                BevSign(
                    sign.sign_type,
                    *where,
                    value=sign.value,
                    unit=sign.unit,
                    text=sign.text,
                    landmark_id=sign.sign_id if sign.on_map else None,
                )
            )
    lights = []
    for light in truth.lights:
        where = _ahead_facing(ego, light.pose, LIGHT_RANGE_M)
        for line in (light_lines or {}).get(light.light_id, ()) if where is None else ():
            x, y, z = (float(v) for v in line.position)
            where = where or _ahead_facing(
                ego, Pose(x, y, z, 0.0, 0.0, line.yaw_rad), LIGHT_RANGE_M
            )
        if where is not None:
            lights.append(BevLight(light.state, *where, landmark_id=light.light_id))
    return BevScene(frame.frame_id, frame.timestamp_s, tuple(objects), tuple(signs), tuple(lights))


def _ahead_facing(ego: Pose, pose: Pose, range_m: float) -> tuple[float, float] | None:
    """(distance ahead, lateral right) of a sign governing our direction, else None."""
    local = ego.inverse_transform_points(pose.translation[None, :])[0]
    if not 0.0 < local[0] <= range_m or abs(local[1]) > MAX_LATERAL_M:
        return None
    if math.cos(pose.yaw_rad - ego.yaw_rad) < FACING_COS:
        return None
    return float(local[0]), float(local[1])
