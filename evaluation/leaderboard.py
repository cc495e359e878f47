"""The CARLA Leaderboard's infractions, penalty coefficients and route criteria.

Read from the Leaderboard's own sources (carla-simulator/leaderboard and
carla-simulator/scenario_runner, branches ``leaderboard-1.0`` and ``leaderboard-2.0``):

- ``leaderboard/utils/statistics_manager.py``: the coefficients. 1.0 (final): pedestrian
  collision 0.50, vehicle 0.60, static 0.65, red light 0.70, stop sign 0.80, and
  outside-route-lanes ``x (1 - pct / 100)``. 2.0 (``PENALTY_VALUE_DICT`` and
  ``PENALTY_PERC_DICT``): the same five, plus scenario timeout 0.70 and failing to yield to
  an emergency vehicle 0.70; outside-route-lanes ``[0, 'increases']``, i.e.
  ``x (1 - pct / 100)`` again, and minimum speed ``[0.7, 'decreases']``, i.e.
  ``x (1 - 0.3 (1 - pct / 100))`` per failed checkpoint. (The 1.0 beta had 0.80, 0.70,
  0.50, 0.90, 0.95 for static, vehicle, pedestrian, light, stop; not modelled.) Route
  deviation, agent blocked and route timeout carry no coefficient: they end the route,
  and the completion reached is what scores.
- ``leaderboard/scenarios/route_scenario.py``: the criteria every route gets:
  ``InRouteTest(offroad_max=30)`` (route deviation), the agent-blocked test (1.0
  ``ActorSpeedAboveThresholdTest(speed_threshold=0.1, below_threshold_max_time=180)``,
  2.0 ``ActorBlockedTest(min_speed=0.1, max_time=180)``), both ending the route, and
  (2.0) ``MinimumSpeedRouteTest(checkpoints=4)``.
- ``srunner/scenariomanager/scenarioatomics/atomic_criteria.py``: what each criterion
  measures (``OutsideRouteLanesTest``, ``InRouteTest``, ``ActorBlockedTest``,
  ``MinimumSpeedRouteTest``, ``RouteCompletionTest``), mirrored by the classes below.

1.0 is the default version; a drive of a Leaderboard route file is scored by the version
of the file's layout (``<waypoint>``: 1.0, ``<waypoints>``: 2.0), and the summary reports
both. Why 1.0: the two share the five fixed coefficients and the outside-lanes rule, and
differ where roadmind would be judged on what it does not stage (2.0's scenario timeouts
and emergency vehicles) or on its scripted traffic rather than its driving: 2.0's
minimum speed compares the car with the cars around it, and roadmind's scenarios start the
ego from rest among cars already at speed, behind a car that brakes to a stop, and end
with the ego stopped at its goal (a perfect oracle scores 80-92 under 2.0 on the project
scenarios with traffic). The towns roadmind reads (Town01-10) are 1.0's towns too.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import carla


class Infraction(enum.StrEnum):
    COLLISION_PEDESTRIAN = "collision_pedestrian"
    COLLISION_VEHICLE = "collision_vehicle"
    COLLISION_STATIC = "collision_static"
    RED_LIGHT = "red_light"
    STOP_SIGN = "stop_sign"
    OUTSIDE_ROUTE_LANES = "outside_route_lanes"  # percentage: of the completed route
    MIN_SPEED = "min_speed"  # percentage: ego speed / traffic's (2.0)
    SCENARIO_TIMEOUT = "scenario_timeout"  # 2.0; roadmind stages no Leaderboard scenario
    YIELD_TO_EMERGENCY_VEHICLE = "yield_to_emergency_vehicle"  # 2.0; likewise never staged
    ROUTE_DEVIATION = "route_deviation"  # ends the route
    AGENT_BLOCKED = "agent_blocked"  # ends the route


VERSIONS = ("1.0", "2.0")
DEFAULT_VERSION = "1.0"

_FIVE = {
    Infraction.COLLISION_PEDESTRIAN: 0.50,
    Infraction.COLLISION_VEHICLE: 0.60,
    Infraction.COLLISION_STATIC: 0.65,
    Infraction.RED_LIGHT: 0.70,
    Infraction.STOP_SIGN: 0.80,
}
FIXED_PENALTY: dict[str, dict[Infraction, float]] = {
    "1.0": dict(_FIVE),
    "2.0": {
        **_FIVE,
        Infraction.SCENARIO_TIMEOUT: 0.70,
        Infraction.YIELD_TO_EMERGENCY_VEHICLE: 0.70,
    },
}
# (value, how): "increases": x (1 - (1 - value) pct / 100); "decreases": the ideal is 100 %,
# x (1 - (1 - value) (1 - pct / 100)) (statistics_manager.py's set_score_penalty)
PERCENT_PENALTY: dict[str, dict[Infraction, tuple[float, str]]] = {
    "1.0": {Infraction.OUTSIDE_ROUTE_LANES: (0.0, "increases")},
    "2.0": {
        Infraction.OUTSIDE_ROUTE_LANES: (0.0, "increases"),
        Infraction.MIN_SPEED: (0.7, "decreases"),
    },
}
ROUTE_ENDING = frozenset({Infraction.ROUTE_DEVIATION, Infraction.AGENT_BLOCKED})

# route_scenario.py and atomic_criteria.py
OFF_ROUTE_MAX_M = 30.0  # InRouteTest offroad_max: this far from the route ends it
OFF_ROUTE_MIN_M = 15.0  # half of it: beyond, progress counts as off route
OFF_ROUTE_MAX_PCT = 30.0  # InRouteTest.MAX_ROUTE_PERCENTAGE of the route driven that far off
BLOCKED_MPS = 0.1  # below this speed ...
BLOCKED_S = 180.0  # ... for longer than this, the agent is blocked
ALLOWED_OUT_M = 0.5  # OutsideRouteLanesTest.ALLOWED_OUT_DISTANCE beyond half a lane's width
WRONG_LANE_DEG = 120.0  # OutsideRouteLanesTest.MAX_VEHICLE_ANGLE
MIN_SPEED_CHECKPOINTS = 4  # MinimumSpeedRouteTest(checkpoints=4)
MIN_SPEED_LAST_PCT = 95.0  # the last checkpoint is scored when the route ends past this
MOVING_MPS = 0.1  # a car that has moved faster than this is traffic (never: parked)


def coefficient(kind: Infraction, percentage: float | None, version: str) -> float:
    """The factor one infraction multiplies the penalty by under ``version``; 1.0 for
    an infraction that version does not score (and for the route-ending ones)."""
    fixed = FIXED_PENALTY[version].get(kind)
    if fixed is not None:
        return fixed
    perc = PERCENT_PENALTY[version].get(kind)
    if perc is None or percentage is None:
        return 1.0
    value, how = perc
    if how == "decreases":
        return 1.0 - (1.0 - value) * (1.0 - percentage / 100.0)
    return 1.0 - (1.0 - value) * percentage / 100.0


def scored_kinds(version: str) -> list[Infraction]:
    """The infractions ``version`` lists, in ``Infraction`` order."""
    known = {*FIXED_PENALTY[version], *PERCENT_PENALTY[version], *ROUTE_ENDING}
    return [kind for kind in Infraction if kind in known]


# --------------------------------------------------------------------------- criteria


@dataclass
class OutsideRouteLanes:
    """Route distance covered while outside the driving lanes or in a lane of the
    opposite direction, as a share of the route completed (OutsideRouteLanesTest). A
    neighbouring lane of the same direction is not an infraction, as in the Leaderboard."""

    total_m: float = 0.0
    outside_m: float = 0.0

    def add(self, progress_m: float, outside: bool) -> None:
        self.total_m += progress_m
        if outside:
            self.outside_m += progress_m

    @property
    def percentage(self) -> float:
        return 100.0 * self.outside_m / self.total_m if self.total_m > 0 else 0.0


def lane_status(
    carla_map: carla.Map, x_m: float, y_m: float, z_m: float, yaw_rad: float
) -> tuple[bool, bool]:
    """(outside the driving lanes, in a lane of the opposite direction) for a car centred
    at x, y, z heading yaw. Outside: farther from the nearest driving or parking lane's
    centre than half its width + 0.5 m. Opposite: outside junctions, the nearest driving
    lane runs more than 120 degrees off the car's heading (the Leaderboard tracks the same
    through jumps in the lane's direction). Distances are in the ground plane: worlds
    differ in where a car's z sits."""
    loc = carla.Location(x_m, y_m, z_m)
    nearest = []
    for lane_type in (carla.LaneType.Driving, carla.LaneType.Parking):
        wp = carla_map.get_waypoint(loc, project_to_road=True, lane_type=lane_type)
        if wp is not None:
            at = wp.transform.location
            nearest.append((math.hypot(at.x - x_m, at.y - y_m), wp))
    if not nearest:
        return True, False
    distance, wp = min(nearest, key=lambda d: d[0])
    outside = distance > wp.lane_width / 2.0 + ALLOWED_OUT_M
    driving = next((w for _, w in nearest if w.lane_type == carla.LaneType.Driving), None)
    wrong = False
    if driving is not None and not driving.is_junction:
        lane_yaw = math.radians(driving.transform.rotation.yaw)
        off = abs(
            math.degrees(math.atan2(math.sin(yaw_rad - lane_yaw), math.cos(yaw_rad - lane_yaw)))
        )
        wrong = off > WRONG_LANE_DEG
    return outside, wrong


@dataclass
class InRoute:
    """Route deviation (InRouteTest): the car is farther than 30 m from the route, or has
    covered more than 30 % of the route's length while more than 15 m from it."""

    route_length_m: float
    off_route_m: float = 0.0

    def deviated(self, distance_m: float, progress_m: float) -> bool:
        if distance_m >= OFF_ROUTE_MAX_M:
            return True
        if distance_m >= OFF_ROUTE_MIN_M:
            self.off_route_m += progress_m
            return 100.0 * self.off_route_m / self.route_length_m > OFF_ROUTE_MAX_PCT
        return False


@dataclass
class Blocked:
    """Agent blocked (ActorBlockedTest): slower than 0.1 m/s for more than 180 s."""

    last_moving_s: float | None = None

    def blocked(self, time_s: float, speed_mps: float) -> bool:
        if speed_mps < BLOCKED_MPS and self.last_moving_s is not None:
            return time_s - self.last_moving_s > BLOCKED_S
        self.last_moving_s = time_s
        return False


@dataclass
class MinimumSpeed:
    """Minimum speed (2.0, MinimumSpeedRouteTest): the route is cut into 4 checkpoints;
    in each, the car's mean speed over the frames with traffic around is compared with the
    traffic's mean speed; below 100 % it is an infraction of that percentage. Without
    traffic a checkpoint scores 100 %. Traffic: the other vehicles (the Leaderboard's
    background vehicles), from the frame they first move (parked cars never count)."""

    route_length_m: float
    checkpoint_start_m: float = 0.0
    ego_sum: float = 0.0
    traffic_sum: float = 0.0
    points: int = 0
    values: list[float] = field(default_factory=list)

    def update(self, progress_s_m: float, ego_mps: float, traffic_mps: list[float]) -> float | None:
        """A failed checkpoint's percentage when this frame closes one, else None."""
        failed = None
        if progress_s_m - self.checkpoint_start_m > self.route_length_m / MIN_SPEED_CHECKPOINTS:
            failed = self._close()
            self.checkpoint_start_m = progress_s_m
        if traffic_mps:
            self.traffic_sum += sum(traffic_mps) / len(traffic_mps)
            self.ego_sum += ego_mps
            self.points += 1
        return failed

    def finish(self, progress_s_m: float) -> float | None:
        """The last checkpoint's failed percentage were the route to end now (the
        Leaderboard scores it when the route ends past 95 % of its length); changes
        nothing."""
        if 100.0 * progress_s_m / self.route_length_m > MIN_SPEED_LAST_PCT:
            value = self._value()
            return value if value < 100.0 else None
        return None

    def checkpoints_pct(self, progress_s_m: float) -> list[float]:
        """Every checkpoint's percentage, the last one as ``finish`` scores it."""
        last = 100.0 * progress_s_m / self.route_length_m > MIN_SPEED_LAST_PCT
        return [*self.values, self._value()] if last else list(self.values)

    def _value(self) -> float:
        if self.points and self.traffic_sum > 0:
            return round(100.0 * self.ego_sum / self.traffic_sum, 2)
        return 100.0

    def _close(self) -> float | None:
        value = self._value()
        self.values.append(value)
        self.ego_sum = self.traffic_sum = 0.0
        self.points = 0
        return value if value < 100.0 else None
