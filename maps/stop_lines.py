"""Where traffic stops for a sign or light, and where a path crosses such a line.

A landmark governs the lanes in its validity records at its ``s``; a light
referenced inside a junction stops cars at the junction's entry instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

from maps.lane_path import LanePath

ON_LINE_M = 1.5  # a path point this close to a stop line crosses it
SAME_WAY_COS = 0.7  # path heading within ~45 degrees of the lane direction


@dataclass(frozen=True, slots=True)
class StopLine:
    """Where traffic in one lane stops for a sign or light: position (3,), lane direction yaw."""

    road_id: int
    lane_id: int
    position: np.ndarray
    yaw_rad: float


def landmark_lanes(landmark: carla.Landmark) -> list[int]:
    lanes = []
    for a, b in landmark.get_lane_validities():
        lanes += [i for i in range(min(a, b), max(a, b) + 1) if i != 0]
    return lanes


def landmark_stop_lines(carla_map: carla.Map, landmark: carla.Landmark) -> list[StopLine]:
    """One stop line per driving lane the landmark governs."""
    lines = []
    for lane_id in landmark_lanes(landmark):
        wp = carla_map.get_waypoint_xodr(landmark.road_id, lane_id, landmark.s)
        if wp is None or wp.lane_type != carla.LaneType.Driving:
            continue
        if wp.is_junction:
            wp = wp.previous_until_lane_start(0.5)[-1]
        loc = wp.transform.location
        lines.append(
            StopLine(
                landmark.road_id,
                lane_id,
                np.array([loc.x, loc.y, loc.z]),
                math.radians(wp.transform.rotation.yaw),
            )
        )
    return lines


def line_on_path(path: LanePath, lines: list[StopLine]) -> float | None:
    """Arc length where the path crosses one of the stop lines (same lane, same way)."""
    for line in lines:
        d = np.linalg.norm(path.points[:, :2] - line.position[:2], axis=1)
        i = int(np.argmin(d))
        heading = math.cos(path.yaw[i] - line.yaw_rad)
        if d[i] < ON_LINE_M and heading > SAME_WAY_COS:
            s, _ = path.project(line.position, s_hint=float(path.s[i]), window_m=5.0)
            return s
    return None
