"""Driving metrics as the CARLA Leaderboard computes them, from the world's truth.

Route completion, an infraction penalty that multiplies one coefficient per
infraction (pedestrian collision 0.50, vehicle 0.60, static 0.65, red light 0.70,
stop sign 0.80), driving score = completion x penalty. Beyond the leaderboard:
speeding (time and distance above the limit in force, by how much) and school-zone
violations, each also per km driven.

The limit in force comes from ``evaluation.law``: the map, every sign in the world
(scenario-added ones too) and the zones the scenario states, in force at the time: what
the law says, not what the car saw, read by code that shares nothing with the car's rules.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from evaluation.law import RouteLaw
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import ActorTruth, CollisionTruth, LightState, ObjectClass
from roadmind.units import mps_to_kmh


class Infraction(enum.StrEnum):
    COLLISION_PEDESTRIAN = "collision_pedestrian"
    COLLISION_VEHICLE = "collision_vehicle"
    COLLISION_STATIC = "collision_static"
    RED_LIGHT = "red_light"
    STOP_SIGN = "stop_sign"


PENALTY = {
    Infraction.COLLISION_PEDESTRIAN: 0.50,
    Infraction.COLLISION_VEHICLE: 0.60,
    Infraction.COLLISION_STATIC: 0.65,
    Infraction.RED_LIGHT: 0.70,
    Infraction.STOP_SIGN: 0.80,
}
SPEEDING_TOLERANCE_MPS = 1.0 / 3.6  # 1 km/h: below it is measurement noise, not speeding
STOP_CHECK_M = 5.0  # the full stop must happen within this distance before the line
FULL_STOP_MPS = 0.1
GOAL_TOLERANCE_M = 1.5  # the front this close to the route's end completes it
ON_ROUTE_M = 4.0  # progress counts only this close to the route
POLE_RADIUS_M = 0.15
CONTACT_GAP_S = 1.0  # a sensor-reported contact with the same object within this is the same one


@dataclass(frozen=True, slots=True)
class InfractionEvent:
    kind: Infraction
    time_s: float
    route_s_m: float
    detail: str


@dataclass
class Excess:
    """Time and distance spent above a cap, and by how much."""

    time_s: float = 0.0
    distance_m: float = 0.0
    max_over_mps: float = 0.0
    over_time_mps_s: float = 0.0  # integral of the excess, for its mean
    episodes: int = 0
    active: bool = False

    def add(self, over_mps: float, dt_s: float, speed_mps: float) -> None:
        if over_mps > SPEEDING_TOLERANCE_MPS:
            self.episodes += 0 if self.active else 1
            self.active = True
            self.time_s += dt_s
            self.distance_m += speed_mps * dt_s
            self.max_over_mps = max(self.max_over_mps, over_mps)
            self.over_time_mps_s += over_mps * dt_s
        else:
            self.active = False

    def summary(self, km: float) -> dict[str, float | int | None]:
        return {
            "episodes": self.episodes,
            "time_s": round(self.time_s, 2),
            "distance_m": round(self.distance_m, 1),
            "max_over_kmh": round(mps_to_kmh(self.max_over_mps), 1),
            "mean_over_kmh": round(mps_to_kmh(self.over_time_mps_s / self.time_s), 1)
            if self.time_s
            else 0.0,
            "episodes_per_km": round(self.episodes / km, 2) if km > 0 else None,
        }


@dataclass
class DrivingMetrics:
    """Feed every physics step with ``update``; ``summary()`` gives metrics.json."""

    law: RouteLaw  # the truth along the route
    start_clock: Clock
    ego_extent_m: np.ndarray  # (3,) half sizes
    poles_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # signs and lights
    infractions: list[InfractionEvent] = field(default_factory=list)
    best_front_s_m: float = 0.0
    distance_m: float = 0.0
    time_s: float = 0.0
    speeding: Excess = field(default_factory=Excess)
    school_zone: Excess = field(default_factory=Excess)
    limit_mps: float | None = None
    _prev_front_s: float | None = None
    _stop_min_speed: dict[float, float] = field(default_factory=dict)
    _touching: set[int] = field(default_factory=set)
    _static_contact_s: dict[int, float] = field(default_factory=dict)
    lane_invasions: int | None = None  # None: the world has no lane-invasion sensor

    def update(
        self,
        time_s: float,
        ego_pose: Pose,
        speed_mps: float,
        route_s_m: float,
        lateral_m: float,
        actors: tuple[ActorTruth, ...],
        light_states: dict[int, LightState],
        collisions: tuple[CollisionTruth, ...] | None = None,
        lane_invasions: tuple[str, ...] | None = None,
    ) -> None:
        """``collisions``/``lane_invasions``: this frame's sensor events, None without sensors."""
        dt = max(0.0, time_s - self.time_s)
        self.time_s = time_s
        self.distance_m += speed_mps * dt
        front = route_s_m + float(self.ego_extent_m[0])
        if abs(lateral_m) < ON_ROUTE_M:
            self.best_front_s_m = max(self.best_front_s_m, front)
        clock = self.start_clock.after(time_s)
        self._collisions(time_s, ego_pose, front, actors)
        if collisions is not None:
            self._static_collisions(time_s, front, collisions)
        if lane_invasions is not None:
            self.lane_invasions = (self.lane_invasions or 0) + len(lane_invasions)
        self._lines(time_s, front, speed_mps, light_states)
        self._speed(front, speed_mps, dt, clock)
        self._prev_front_s = front

    # ------------------------------------------------------------------ infractions
    def _collisions(
        self, time_s: float, ego_pose: Pose, front: float, actors: tuple[ActorTruth, ...]
    ) -> None:
        ego_box = _footprint(ego_pose, self.ego_extent_m)
        touching = set()
        for actor in actors:
            if _overlap(ego_box, _footprint(actor.pose, actor.extent_m)):
                touching.add(actor.actor_id)
                if actor.actor_id not in self._touching:  # once per contact
                    kind = (
                        Infraction.COLLISION_PEDESTRIAN
                        if actor.object_class is ObjectClass.PEDESTRIAN
                        else Infraction.COLLISION_VEHICLE
                    )
                    self._add(kind, time_s, front, f"{actor.object_class.value} {actor.actor_id}")
        for i, pole in enumerate(self.poles_xy):
            key = -1 - i
            if _point_in_box(pole, ego_box, POLE_RADIUS_M):
                touching.add(key)
                if key not in self._touching:
                    self._add(Infraction.COLLISION_STATIC, time_s, front, f"pole {i}")
        self._touching = touching

    def _static_collisions(
        self, time_s: float, front: float, collisions: tuple[CollisionTruth, ...]
    ) -> None:
        """Contacts with the static world (poles, lights, buildings, props) from a collision
        sensor. Road users are judged by their footprints above in every world, so they
        are not counted twice here."""
        for event in collisions:
            if event.other_class in (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN):
                continue
            last = self._static_contact_s.get(event.other_id)
            self._static_contact_s[event.other_id] = time_s
            if last is None or time_s - last > CONTACT_GAP_S:
                self._add(Infraction.COLLISION_STATIC, time_s, front, event.other_type)

    def _lines(
        self, time_s: float, front: float, speed_mps: float, states: dict[int, LightState]
    ) -> None:
        prev = self._prev_front_s
        for light in self.law.lights:
            crossed = prev is not None and prev < light.s_m <= front
            if crossed and states.get(light.landmark_id) is LightState.RED:
                self._add(Infraction.RED_LIGHT, time_s, front, f"light {light.landmark_id}")
        for sign in self.law.stop_signs:
            if sign.s_m - STOP_CHECK_M <= front <= sign.s_m:
                low = self._stop_min_speed.get(sign.s_m, math.inf)
                self._stop_min_speed[sign.s_m] = min(low, speed_mps)
            crossed = prev is not None and prev < sign.s_m <= front
            if crossed and self._stop_min_speed.get(sign.s_m, math.inf) >= FULL_STOP_MPS:
                self._add(Infraction.STOP_SIGN, time_s, front, sign.label())

    def _add(self, kind: Infraction, time_s: float, front: float, detail: str) -> None:
        self.infractions.append(InfractionEvent(kind, round(time_s, 2), round(front, 1), detail))

    # ------------------------------------------------------------------ speed
    def _speed(self, front: float, speed_mps: float, dt: float, clock: Clock) -> None:
        limit, school = self.law.caps_mps(front, clock)
        self.limit_mps = limit
        self.speeding.add(speed_mps - limit if limit is not None else 0.0, dt, speed_mps)
        self.school_zone.add(speed_mps - school if school is not None else 0.0, dt, speed_mps)

    # ------------------------------------------------------------------ results
    @property
    def route_completion(self) -> float:
        length = self.law.length_m
        if self.best_front_s_m >= length - GOAL_TOLERANCE_M:
            return 1.0
        return max(0.0, min(1.0, self.best_front_s_m / length))

    @property
    def penalty(self) -> float:
        return float(np.prod([PENALTY[e.kind] for e in self.infractions]))

    def summary(self) -> dict[str, object]:
        km = self.distance_m / 1000.0
        counts = {kind.value: 0 for kind in Infraction}
        for e in self.infractions:
            counts[e.kind.value] += 1
        return {
            "driving_score": round(100.0 * self.route_completion * self.penalty, 2),
            "route_completion_pct": round(100.0 * self.route_completion, 2),
            "infraction_penalty": round(self.penalty, 4),
            "infraction_counts": counts,
            "infractions": [
                {
                    "kind": e.kind.value,
                    "time_s": e.time_s,
                    "route_s_m": e.route_s_m,
                    "detail": e.detail,
                }
                for e in self.infractions
            ],
            "infractions_per_km": round(len(self.infractions) / km, 2) if km > 0 else None,
            "speeding": self.speeding.summary(km),
            "school_zone_violations": self.school_zone.summary(km),
            "distance_km": round(km, 4),
            "sim_time_s": round(self.time_s, 2),
            "route_length_m": round(self.law.length_m, 1),
            "lane_invasions": self.lane_invasions,
        }


def _footprint(pose: Pose, extent_m: np.ndarray) -> np.ndarray:
    """(4, 2) corners of a box's bird's-eye footprint in the world."""
    c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
    ex, ey = float(extent_m[0]), float(extent_m[1])
    local = np.array([[ex, ey], [ex, -ey], [-ex, -ey], [-ex, ey]])
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([pose.x_m, pose.y_m])


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test of two convex quadrilaterals."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


def _point_in_box(point: np.ndarray, box: np.ndarray, radius_m: float) -> bool:
    centre = box.mean(axis=0)
    ax = box[0] - box[3]  # along the length
    ay = box[0] - box[1]  # along the width
    rel = point - centre
    half_x, half_y = np.linalg.norm(ax) / 2, np.linalg.norm(ay) / 2
    return bool(
        abs(rel @ ax) / (2 * half_x) <= half_x + radius_m
        and abs(rel @ ay) / (2 * half_y) <= half_y + radius_m
    )
