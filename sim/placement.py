"""Places a scenario names, read on whatever map a world loaded: lane points and world
points to waypoints and poses, a pedestrian's walk over a crosswalk, the scenario's
extra signs. Every world uses these, so a scenario means the same everywhere."""

from __future__ import annotations

import math

import carla
import numpy as np

from maps.landmarks import SignSpec
from maps.lane_path import LanePath
from maps.road_map import RoadMap
from maps.routes import RoutePlanner, random_lane_walk
from maps.stop_lines import StopLine
from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import SignType
from sim.scenario import EgoConfig, Place, Scenario, Trigger

SCENARIO_SIGN_ID_BASE = 900_000  # ids for scenario-added signs, clear of map landmark ids
NPC_PATH_M = 400.0  # how far ahead a driving car's lane path is planned
MIN_ROUTE_AHEAD_M = 5.0  # a route's goal lies at least this far past the ego's front bumper
# vehicle paints (RGB in [0, 1]) for cars whose scenario names no colour; the ego wears [1]
PAINTS = np.array(
    [
        (0.75, 0.08, 0.08),
        (0.08, 0.2, 0.6),
        (0.85, 0.85, 0.85),
        (0.1, 0.1, 0.1),
        (0.55, 0.57, 0.6),
        (0.9, 0.75, 0.1),
        (0.1, 0.45, 0.2),
        (0.35, 0.2, 0.12),
    ]
)


def scenario_signs(road_map: RoadMap, scenario: Scenario) -> list[SignSpec]:
    out = []
    for i, sign in enumerate(scenario.signs):
        field = f"signs.{i}.at"
        wp = waypoint_at(road_map, sign.at, field, carla.LaneType.Driving)
        tr = wp.transform
        yaw = math.radians(tr.rotation.yaw)
        right = np.array([-math.sin(yaw), math.cos(yaw), 0.0])
        center = np.array([tr.location.x, tr.location.y, tr.location.z])
        stop_lines = [StopLine(wp.road_id, wp.lane_id, center, yaw)]
        out.append(
            SignSpec(
                SCENARIO_SIGN_ID_BASE + i,
                SignType(sign.type),
                center + right * sign.side_offset_m,
                yaw,
                sign.value,
                sign.unit,
                sign.text,
                stop_lines,
                on_map=False,
            )
        )
    return out


def waypoint_at(
    road_map: RoadMap, place: Place, field: str, lane_type: carla.LaneType
) -> carla.Waypoint:
    if place.road is not None:
        assert place.lane is not None and place.s_m is not None
        return road_map.lane_point(place.road, place.lane, place.s_m, field)
    assert place.x_m is not None and place.y_m is not None
    snap = place.z_m is not None  # a keypoint: the nearest lane, as the Leaderboard does
    wp = road_map.carla_map.get_waypoint(
        carla.Location(place.x_m, place.y_m, place.z_m or 0.0),
        project_to_road=snap,
        lane_type=lane_type,
    )
    if wp is None:
        raise UserError(
            f"{field}: ({place.x_m}, {place.y_m}) is off the road "
            f"(not on a {str(lane_type).lower()} lane of map {road_map.name!r})"
        )
    return wp


def plan_ego_route(
    road_map: RoadMap,
    planner: RoutePlanner,
    ego: EgoConfig,
    start_wp: carla.Waypoint,
    rng: np.random.Generator,
) -> list[carla.Waypoint]:
    """The ego's lane path: through every ``route.via`` point in order to the goal, each
    leg planned on the lane graph every metre (the Leaderboard's ``interpolate_trajectory``
    traces each pair of keypoints with its route planner the same way); no route: a
    random lane walk."""
    if ego.route is None:
        return random_lane_walk(start_wp, NPC_PATH_M, rng)
    places = [*ego.route.via, ego.route.goal]
    fields = [f"ego.route.via.{i}" for i in range(len(ego.route.via))] + ["ego.route.goal"]
    route: list[carla.Waypoint] = []
    leg_start = start_wp
    for place, field in zip(places, fields, strict=True):
        target = waypoint_at(road_map, place, field, carla.LaneType.Driving)
        leg = planner.plan(leg_start, target, field)
        route += leg if not route else leg[1:]  # a leg starts where the last one ended
        leg_start = target
    return route


def pose_at(wp: carla.Waypoint, place: Place) -> Pose:
    loc = wp.transform.location
    yaw = wp.transform.rotation.yaw if place.yaw_deg is None else place.yaw_deg
    if place.x_m is not None and place.y_m is not None and place.z_m is None:
        return Pose.from_carla_degrees(place.x_m, place.y_m, loc.z, 0.0, 0.0, yaw)
    return Pose.from_carla_degrees(loc.x, loc.y, loc.z, 0.0, 0.0, yaw)


def crossing_path(
    crosswalks: list[np.ndarray], origin: np.ndarray, index: int | None, field: str, map_name: str
) -> np.ndarray:
    """(4, 3) walk from ``origin`` to the near end of a crosswalk, across it and 1.5 m on;
    the nearest crosswalk when ``index`` is None."""
    if not crosswalks:
        raise UserError(f"{field}: map {map_name!r} has no crosswalks")
    if index is None:
        index = int(np.argmin([np.linalg.norm(p[:, :2].mean(0) - origin[:2]) for p in crosswalks]))
    if index >= len(crosswalks):
        raise UserError(
            f"{field}: crosswalk {index} does not exist "
            f"(map has {len(crosswalks)}: 0..{len(crosswalks) - 1})"
        )
    poly = crosswalks[index]
    center = poly[:, :2].mean(0)
    _, _, vt = np.linalg.svd(poly[:, :2] - center)
    along = (poly[:, :2] - center) @ vt[0]
    ends = [center + vt[0] * along.min(), center + vt[0] * along.max()]
    if np.linalg.norm(ends[1] - origin[:2]) < np.linalg.norm(ends[0] - origin[:2]):
        ends.reverse()
    z = float(poly[:, 2].mean())
    beyond = ends[1] + vt[0] * np.sign((ends[1] - ends[0]) @ vt[0]) * 1.5
    return np.array([origin, [*ends[0], z], [*ends[1], z], [*beyond, z]])


def triggered(
    trigger: Trigger | None, time_s: float, ego_xy: np.ndarray, own_xy: np.ndarray
) -> bool:
    if trigger is None:
        return True
    if trigger.time_s is not None and time_s >= trigger.time_s:
        return True
    return (
        trigger.ego_within_m is not None
        and float(np.linalg.norm(ego_xy - own_xy)) <= trigger.ego_within_m
    )


def check_route(route: LanePath, ego_half_length_m: float, field: str) -> None:
    """UserError when the goal does not lie ``MIN_ROUTE_AHEAD_M`` past the ego's front
    bumper: a goal on the start (or just ahead of it) would be reached at once."""
    need = ego_half_length_m + MIN_ROUTE_AHEAD_M
    if route.length_m < need:
        raise UserError(
            f"{field}: the route from the start to the goal is {route.length_m:.1f} m long; "
            f"the goal must lie at least {need:.1f} m ahead of the start "
            f"({MIN_ROUTE_AHEAD_M:g} m past the car's front)"
        )


def footprint(pose: Pose, extent_m: np.ndarray) -> np.ndarray:
    """(4, 2) corners of a box's bird's-eye footprint in the world."""
    c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
    ex, ey = float(extent_m[0]), float(extent_m[1])
    local = np.array([[ex, ey], [ex, -ey], [-ex, -ey], [-ex, ey]])
    return local @ np.array([[c, s], [-s, c]]) + np.array([pose.x_m, pose.y_m])


def footprints_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test of two convex quadrilaterals (4, 2)."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


class PlacedOnEgoError(UserError):
    """An actor whose footprint overlaps the ego's at t = 0; ``actor_index`` is its
    place in the scenario's ``actors`` list."""

    def __init__(self, actor_index: int, message: str) -> None:
        super().__init__(message)
        self.actor_index = actor_index


def check_clear_of_ego(
    ego: tuple[Pose, np.ndarray], actors: list[tuple[int, str, Pose, np.ndarray]]
) -> None:
    """PlacedOnEgoError naming the first actor (index in ``actors``, kind, pose, half
    sizes) whose footprint overlaps the ego's at t = 0: it would collide before the car
    could do anything."""
    ego_box = footprint(*ego)
    for index, kind, pose, extent_m in actors:
        if footprints_overlap(ego_box, footprint(pose, extent_m)):
            raise PlacedOnEgoError(
                index,
                f"actors.{index}: the {kind} is placed on the ego (at ({pose.x_m:.1f}, "
                f"{pose.y_m:.1f}), overlapping it at t = 0); move it clear of ego.start",
            )
