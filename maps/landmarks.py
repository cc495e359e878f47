"""Signs and traffic lights of a world: the map's landmarks plus scenario-added signs.

CARLA reports a landmark's yaw as the driving direction of the lanes it governs,
so a sign's face looks the other way, towards the traffic that approaches it.
A landmark id can appear once per road it references; props are placed once,
stop lines gathered from every reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import carla
import numpy as np

from maps.carla_towns import landmark_unit
from maps.opendrive import SIGN_TYPES, SIGNAL_TRAFFIC_LIGHT
from maps.road_map import RoadMap
from maps.stop_lines import StopLine, landmark_stop_lines
from roadmind.frames import Pose
from roadmind.messages import LightState, LightTruth, SignTruth, SignType


@dataclass
class SignSpec:
    sign_id: int
    sign_type: SignType
    position: np.ndarray  # (3,) ground point of the pole, world [m]
    traffic_yaw_rad: float  # driving direction of the governed lanes
    value: float = 0.0
    unit: str = ""
    text: str = ""
    stop_lines: list[StopLine] = field(default_factory=list)
    on_map: bool = True  # False: put up by the scenario, unknown to the map

    def truth(self) -> SignTruth:
        return SignTruth(
            self.sign_id,
            self.sign_type,
            _pole_pose(self.position, self.traffic_yaw_rad),
            self.value,
            self.unit,
            self.text,
            self.on_map,
        )


@dataclass
class LightSpec:
    light_id: int
    position: np.ndarray
    traffic_yaw_rad: float
    junction_id: int = -1
    phase: int = 0
    stop_lines: list[StopLine] = field(default_factory=list)

    def truth(self, state: LightState) -> LightTruth:
        return LightTruth(
            self.light_id, state, _pole_pose(self.position, self.traffic_yaw_rad), self.phase
        )


def _pole_pose(position: np.ndarray, traffic_yaw_rad: float) -> Pose:
    x, y, z = (float(v) for v in position)
    return Pose(x, y, z, 0.0, 0.0, traffic_yaw_rad)


def map_landmarks(road_map: RoadMap) -> tuple[list[SignSpec], list[LightSpec], list[str]]:
    """Signs and lights from the map; third item: landmark types roadmind does not draw."""
    signs: dict[int, SignSpec] = {}
    lights: dict[int, LightSpec] = {}
    skipped: list[str] = []
    for lm in road_map.carla_map.get_all_landmarks():
        loc = lm.transform.location
        ground = road_map.carla_map.get_waypoint(
            loc, project_to_road=True, lane_type=carla.LaneType.Any
        )
        z = ground.transform.location.z if ground is not None else loc.z
        position = np.array([loc.x, loc.y, z])
        yaw = math.radians(lm.transform.rotation.yaw)
        lm_id = int(lm.id)
        if lm.type == SIGNAL_TRAFFIC_LIGHT:
            light = lights.setdefault(lm_id, LightSpec(lm_id, position, yaw))
            junction, phase = road_map.light_phases.get(lm_id, (-1, -1))
            light.junction_id, light.phase = junction, phase
            light.stop_lines += landmark_stop_lines(road_map.carla_map, lm)
        elif lm.type in SIGN_TYPES:
            spec = signs.get(lm_id)
            if spec is None:
                spec = signs[lm_id] = SignSpec(
                    lm_id,
                    SIGN_TYPES[lm.type],
                    position,
                    yaw,
                    float(lm.value),
                    landmark_unit(lm, ""),
                    lm.text or "",
                )
            spec.stop_lines += landmark_stop_lines(road_map.carla_map, lm)
        else:
            skipped.append(f"{lm.id}:{lm.type}")
    assign_light_phases(list(lights.values()))
    return list(signs.values()), list(lights.values()), sorted(set(skipped))


def assign_light_phases(lights: list[LightSpec], cluster_radius_m: float = 40.0) -> None:
    """Lights without controller groups: cluster by proximity into junctions, and
    give approaches along the same axis (parallel or opposite) the same phase."""
    loose = [light for light in lights if light.phase < 0]
    next_junction = max([light.junction_id for light in lights] + [0]) + 1000
    while loose:
        seed = loose.pop(0)
        group = [seed] + [
            lt
            for lt in loose
            if np.linalg.norm(lt.position[:2] - seed.position[:2]) < cluster_radius_m
        ]
        loose = [lt for lt in loose if lt not in group]
        axes: list[float] = []
        for light in group:
            axis = light.traffic_yaw_rad % math.pi
            for i, known in enumerate(axes):
                diff = abs(axis - known)
                if min(diff, math.pi - diff) < math.radians(30):
                    light.phase = i
                    break
            else:
                axes.append(axis)
                light.phase = len(axes) - 1
            light.junction_id = next_junction
        next_junction += 1
