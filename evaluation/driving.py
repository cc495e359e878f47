"""Driving metrics as the CARLA Leaderboard computes them, from the world's truth.

Route completion, an infraction penalty that multiplies one coefficient per
infraction (pedestrian collision 0.50, vehicle 0.60, static 0.65, red light 0.70,
stop sign 0.80; outside the route's lanes x (1 - pct / 100); in 2.0 minimum speed
x (1 - 0.3 (1 - pct / 100)) per checkpoint), driving score = completion x penalty; route
deviation and agent blocked end the route. The tables, versions 1.0 and 2.0 and the
sources they come from are in ``evaluation.leaderboard``. Beyond the leaderboard:
speeding (time and distance above the limit in force, by how much), school-zone
violations, each also per km driven, and lane invasions (marking crossings, as CARLA's
lane-invasion sensor reports them; not penalised by the Leaderboard).

The limit in force comes from ``evaluation.law``: the map, every sign in the world
(scenario-added ones too) and the zones the scenario states, in force at the time: what
the law says, not what the car saw, read by code that shares nothing with the car's rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import carla
import numpy as np

from evaluation.law import RouteLaw
from evaluation.leaderboard import (
    DEFAULT_VERSION,
    FIXED_PENALTY,
    MOVING_MPS,
    PERCENT_PENALTY,
    ROUTE_ENDING,
    VERSIONS,
    Blocked,
    Infraction,
    InRoute,
    MinimumSpeed,
    OutsideRouteLanes,
    coefficient,
    lane_status,
    scored_kinds,
)
from maps.lane_path import LanePath
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import ActorTruth, CollisionTruth, LightState, ObjectClass
from roadmind.units import mps_to_kmh
from sim.placement import footprint, footprints_overlap

__all__ = ["PENALTY", "DrivingMetrics", "Infraction", "InfractionEvent"]

PENALTY = FIXED_PENALTY[DEFAULT_VERSION]  # the default version's fixed coefficients
SPEEDING_TOLERANCE_MPS = 1.0 / 3.6  # 1 km/h: below it is measurement noise, not speeding
STOP_CHECK_M = 5.0  # the full stop must happen within this distance before the line
FULL_STOP_MPS = 0.1
GOAL_TOLERANCE_M = 1.5  # the front this close to the route's end completes it
# RouteCompletionTest: past 99 % of the route with the car within 10 m of its end is 100 %
LB_COMPLETE_FRACTION = 0.99
LB_COMPLETE_M = 10.0
ON_ROUTE_M = 4.0  # progress counts only this close to the route
POLE_RADIUS_M = 0.15
CONTACT_GAP_S = 1.0  # a sensor-reported contact with the same object within this is the same one


@dataclass(frozen=True, slots=True)
class InfractionEvent:
    kind: Infraction
    time_s: float
    route_s_m: float
    detail: str
    percentage: float | None = None  # outside route lanes, minimum speed


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
    lane_invasion_markings: dict[str, int] = field(default_factory=dict)
    # The Leaderboard's route criteria (evaluation.leaderboard): route deviation needs the
    # route, outside-route-lanes the map; without them those two are not judged.
    carla_map: carla.Map | None = None
    route: LanePath | None = None
    route_end: Infraction | None = None  # route deviation or agent blocked ended the route
    version: str = DEFAULT_VERSION  # the Leaderboard version whose coefficients score
    _centre_s_m: float = 0.0  # the car's centre on the route, the scorer's own projection
    _best_centre_s_m: float = 0.0
    _outside: OutsideRouteLanes = field(default_factory=OutsideRouteLanes)
    _outside_since_s: float | None = None
    _in_route: InRoute | None = None
    _blocked: Blocked = field(default_factory=Blocked)
    _min_speed: MinimumSpeed | None = None
    _traffic: set[int] = field(default_factory=set)  # vehicles seen moving
    _end_m: float = math.inf  # the car's centre to the route's end

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"Leaderboard version must be one of {VERSIONS}, got {self.version!r}")
        length = max(self.law.length_m, 1e-6)
        self._in_route = InRoute(length)
        self._min_speed = MinimumSpeed(length)

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
        """``collisions``/``lane_invasions``: this frame's sensor events, None without sensors.
        ``route_s_m``, ``lateral_m``: the car's centre on the route. Once route deviation or
        agent blocked has ended the route, later frames change nothing."""
        if self.route_end is not None:
            return
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
            for event in lane_invasions:
                for marking in event.split("+"):
                    n = self.lane_invasion_markings.get(marking, 0)
                    self.lane_invasion_markings[marking] = n + 1
        self._lines(time_s, front, speed_mps, light_states)
        self._speed(front, speed_mps, dt, clock)
        self._prev_front_s = front
        self._route_criteria(time_s, ego_pose, speed_mps, route_s_m, lateral_m, front, actors)

    # ------------------------------------------------------------------ Leaderboard route
    def _route_criteria(
        self,
        time_s: float,
        ego_pose: Pose,
        speed_mps: float,
        route_s_m: float,
        lateral_m: float,
        front: float,
        actors: tuple[ActorTruth, ...],
    ) -> None:
        """Outside route lanes, minimum speed, route deviation and agent blocked, each as
        its Leaderboard criterion measures it (evaluation.leaderboard)."""
        assert self._in_route is not None and self._min_speed is not None
        distance_m = abs(lateral_m)
        centre_s = route_s_m
        if self.route is not None:  # the scorer's own projection, not the agent's
            xy = np.array([ego_pose.x_m, ego_pose.y_m])
            centre_s, lateral = self.route.project(xy, self._centre_s_m, window_m=40.0)
            distance_m = abs(lateral)
            end = self.route.points[-1]
            self._end_m = math.hypot(end[0] - ego_pose.x_m, end[1] - ego_pose.y_m)
        self._centre_s_m = centre_s
        progress = max(0.0, centre_s - self._best_centre_s_m)
        self._best_centre_s_m = max(self._best_centre_s_m, centre_s)
        if self.carla_map is not None:
            off, wrong = lane_status(
                self.carla_map, ego_pose.x_m, ego_pose.y_m, ego_pose.z_m, ego_pose.yaw_rad
            )
            self._outside.add(progress, off or wrong)
            if (off or wrong) and self._outside_since_s is None:
                self._outside_since_s = time_s
        for actor in actors:
            moving = float(np.linalg.norm(actor.velocity_mps[:2])) > MOVING_MPS
            if actor.object_class is ObjectClass.VEHICLE and moving:
                self._traffic.add(actor.actor_id)
        traffic = [
            float(np.linalg.norm(a.velocity_mps[:2])) for a in actors if a.actor_id in self._traffic
        ]
        failed = self._min_speed.update(self._best_centre_s_m, speed_mps, traffic)
        if failed is not None:
            self._add(Infraction.MIN_SPEED, time_s, front, "speed vs traffic, checkpoint", failed)
        if self._in_route.deviated(distance_m, progress):
            self.route_end = Infraction.ROUTE_DEVIATION
            self._add(self.route_end, time_s, front, f"{distance_m:.1f} m from the route")
        elif self._blocked.blocked(time_s, speed_mps):
            self.route_end = Infraction.AGENT_BLOCKED
            self._add(
                self.route_end,
                time_s,
                front,
                f"below 0.1 m/s since {self._blocked.last_moving_s} s",
            )

    # ------------------------------------------------------------------ infractions
    def _collisions(
        self, time_s: float, ego_pose: Pose, front: float, actors: tuple[ActorTruth, ...]
    ) -> None:
        ego_box = footprint(ego_pose, self.ego_extent_m)
        touching = set()
        for actor in actors:
            if footprints_overlap(ego_box, footprint(actor.pose, actor.extent_m)):
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

    def _add(
        self,
        kind: Infraction,
        time_s: float,
        front: float,
        detail: str,
        percentage: float | None = None,
    ) -> None:
        self.infractions.append(
            InfractionEvent(kind, round(time_s, 2), round(front, 1), detail, percentage)
        )

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
        fraction = max(0.0, min(1.0, self.best_front_s_m / length))
        if fraction > LB_COMPLETE_FRACTION and self._end_m < LB_COMPLETE_M:
            return 1.0
        return fraction

    def events(self, version: str | None = None) -> list[InfractionEvent]:
        """Every infraction so far that ``version`` (default: the scorer's) knows, in time
        order: the discrete ones, the one outside-route-lanes event (its percentage of the
        route completed so far) and the last minimum-speed checkpoint (scored as if the
        route ended now)."""
        known = scored_kinds(version or self.version)
        out = [e for e in self.infractions if e.kind in known]
        if self._outside.outside_m > 0 and self._outside_since_s is not None:
            pct = round(self._outside.percentage, 2)
            out.append(
                InfractionEvent(
                    Infraction.OUTSIDE_ROUTE_LANES,
                    round(self._outside_since_s, 2),
                    round(self.best_front_s_m, 1),
                    f"outside its route lanes for {self._outside.outside_m:.1f} m "
                    f"({pct}% of the completed route)",
                    pct,
                )
            )
        assert self._min_speed is not None
        last = self._min_speed.finish(self._best_centre_s_m)
        if last is not None:
            out.append(
                InfractionEvent(
                    Infraction.MIN_SPEED,
                    round(self.time_s, 2),
                    round(self.best_front_s_m, 1),
                    "speed vs traffic, last checkpoint",
                    last,
                )
            )
        return sorted((e for e in out if e.kind in known), key=lambda e: e.time_s)

    def penalty_of(self, version: str) -> float:
        events = self.events(version)
        return float(np.prod([coefficient(e.kind, e.percentage, version) for e in events]))

    def counts(self, version: str | None = None) -> dict[str, int]:
        counts = {kind.value: 0 for kind in scored_kinds(version or self.version)}
        for e in self.events(version):
            counts[e.kind.value] += 1
        return counts

    @property
    def penalty(self) -> float:
        return self.penalty_of(self.version)

    def summary(self) -> dict[str, object]:
        km = self.distance_m / 1000.0
        events = self.events()
        completion = self.route_completion
        assert self._min_speed is not None
        return {
            "driving_score": round(100.0 * completion * self.penalty, 2),
            "route_completion_pct": round(100.0 * completion, 2),
            "infraction_penalty": round(self.penalty, 4),
            "infraction_counts": self.counts(),
            "infractions": [_event_dict(e) for e in events],
            "infractions_per_km": round(len(events) / km, 2) if km > 0 else None,
            "leaderboard": {
                "version": self.version,
                "route_end": None if self.route_end is None else self.route_end.value,
                "outside_route_lanes_m": round(self._outside.outside_m, 1),
                "outside_route_lanes_pct": round(self._outside.percentage, 2),
                "min_speed_checkpoints_pct": self._min_speed.checkpoints_pct(self._best_centre_s_m),
                "judged": {
                    "outside_route_lanes": self.carla_map is not None,
                    "route_deviation_by": "route" if self.route is not None else "agent",
                },
                "by_version": {
                    v: {
                        "driving_score": round(100.0 * completion * self.penalty_of(v), 2),
                        "infraction_penalty": round(self.penalty_of(v), 4),
                        "infraction_counts": self.counts(v),
                        **(
                            {"infractions": [_event_dict(e) for e in self.events(v)]}
                            if v != self.version
                            else {}
                        ),
                    }
                    for v in VERSIONS
                },
                "coefficients": {
                    v: {
                        **{k.value: c for k, c in FIXED_PENALTY[v].items()},
                        **{k.value: _formula(c, how) for k, (c, how) in PERCENT_PENALTY[v].items()},
                        **{k.value: "ends the route" for k in ROUTE_ENDING},
                    }
                    for v in VERSIONS
                },
            },
            "speeding": self.speeding.summary(km),
            "school_zone_violations": self.school_zone.summary(km),
            "distance_km": round(km, 4),
            "sim_time_s": round(self.time_s, 2),
            "route_length_m": round(self.law.length_m, 1),
            "lane_invasions": self.lane_invasions,
            "lane_invasion_markings": dict(self.lane_invasion_markings),
        }


def _event_dict(e: InfractionEvent) -> dict[str, object]:
    out: dict[str, object] = {
        "kind": e.kind.value,
        "time_s": e.time_s,
        "route_s_m": e.route_s_m,
        "detail": e.detail,
    }
    if e.percentage is not None:
        out["percentage"] = e.percentage
    return out


def _formula(value: float, how: str) -> str:
    share = "(1 - pct/100)" if how == "decreases" else "pct/100"
    return f"x (1 - {1 - value:g} {share})"


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
