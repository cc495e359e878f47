"""The embedded world's lane-invasion sensor, after CARLA's (client-side in LibCarla:
``carla/client/LaneInvasionSensor.cpp`` and ``carla/road/element/LaneCrossingCalculator.cpp``).

Every tick it takes the four corners of the car's box and, for each corner, where it was
the tick before. A corner that moved from one lane to another of the same road and lane
section outside junctions, or between a lane and off the road, crossed a marking: the
right or left marking of the lane it left (the side it moved to), or of the lane it
entered when it came from off the road. Markings of type NONE count, as in CARLA. A tick
with crossings is one event, its markings joined by ``+`` (what the CARLA backend
reports), so ``GroundTruth.lane_invasions`` reads the same in both worlds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

from roadmind.frames import Pose

# LaneCrossingCalculator's FLAGS: the lane types where markings are looked for
_FLAGS = (
    carla.LaneType.Driving
    | carla.LaneType.Bidirectional
    | carla.LaneType.Biking
    | carla.LaneType.Parking
)
_MOVED_M = 1e-5  # a corner that moved less did not move (CARLA: 10 float epsilons)


@dataclass(frozen=True, slots=True)
class _Corner:
    xy: np.ndarray  # (2,)
    waypoint: carla.Waypoint | None  # the nearest lane centre of _FLAGS type
    offroad: bool  # not on a lane of _FLAGS type


class LaneInvasionSensor:
    """``tick(pose)`` -> this tick's events (empty or one string of markings)."""

    def __init__(self, carla_map: carla.Map, extent_m: np.ndarray) -> None:
        self.carla_map = carla_map
        self.extent_m = np.asarray(extent_m, float)
        self._prev: list[_Corner] | None = None

    def tick(self, pose: Pose) -> tuple[str, ...]:
        corners = [self._corner(xy, pose.z_m) for xy in _corners(pose, self.extent_m)]
        prev, self._prev = self._prev, corners
        if prev is None:
            return ()
        if any(np.linalg.norm(c.xy - p.xy) < _MOVED_M for c, p in zip(corners, prev, strict=True)):
            self._prev = prev  # CARLA keeps the old bounds while the car stands
            return ()
        crossed = [m for p, c in zip(prev, corners, strict=True) for m in _crossed(p, c)]
        return ("+".join(crossed),) if crossed else ()

    def _corner(self, xy: np.ndarray, z_m: float) -> _Corner:
        loc = carla.Location(float(xy[0]), float(xy[1]), z_m)
        wp = self.carla_map.get_waypoint(loc, project_to_road=True, lane_type=_FLAGS)
        on = self.carla_map.get_waypoint(loc, project_to_road=False, lane_type=_FLAGS)
        return _Corner(xy, wp, on is None)


def _crossed(a: _Corner, b: _Corner) -> list[str]:
    w0, w1 = a.waypoint, b.waypoint
    if w0 is None or w1 is None:
        return []
    if w0.road_id != w1.road_id or w0.section_id != w1.section_id:
        return []
    if w0.is_junction or w1.is_junction:
        return []
    if a.offroad and b.offroad:
        return []
    if w0.lane_id == w1.lane_id and not a.offroad and not b.offroad:
        return []
    yaw = math.radians(w0.transform.rotation.yaw)
    move = b.xy - a.xy
    # CARLA's frame is left-handed (y right): the move is to the right when it turns
    # clockwise from the lane's forward vector as seen from above, i.e. cross > 0 here
    right = math.cos(yaw) * move[1] - math.sin(yaw) * move[0] > 0
    if a.offroad:
        marking = w1.left_lane_marking if right else w1.right_lane_marking
    else:
        marking = w0.right_lane_marking if right else w0.left_lane_marking
    return [str(marking.type)] if marking is not None else []


def _corners(pose: Pose, extent_m: np.ndarray) -> np.ndarray:
    """(4, 2) corners of the box's footprint in the world."""
    c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
    ex, ey = float(extent_m[0]), float(extent_m[1])
    local = np.array([[ex, ey], [-ex, ey], [ex, -ey], [-ex, -ey]])
    return local @ np.array([[c, s], [-s, c]]) + np.array([pose.x_m, pose.y_m])
