"""Shared vocabulary of the rules: parameters, the ego and scene seen along the route,
the situation every rule is given and the constraints it returns for arbitration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import Field

from maps.route_map import RouteSign
from reasoning.map_context import MapContext
from roadmind.clock import Clock
from roadmind.config import StrictModel
from roadmind.frames import Pose
from roadmind.messages import Action, BevObject, BevScene, BevSign, Reason, SignType
from roadmind.units import mps_to_kmh

# Higher wins when several rules speak at once.
ACTION_PRIORITY = {
    Action.CRUISE: 0,
    Action.PROCEED: 1,
    Action.SLOW: 2,
    Action.FOLLOW: 3,
    Action.YIELD: 4,
    Action.STOP: 5,
    Action.EMERGENCY_BRAKE: 6,
}


class RuleParams(StrictModel):
    """The rules' settings; a drive reads them from ``rules`` in configs/agent.yaml."""

    # desired speed where the limit allows more (a drive takes the scenario's)
    cruise_speed_mps: float = Field(40 / 3.6, gt=0.0)
    ego_half_length_m: float = Field(2.35, gt=0.0)  # a drive takes the world's car
    comfort_decel_mps2: float = Field(2.5, gt=0.0)  # planned stops, slow-downs before a lower limit
    stop_margin_m: float = Field(0.5, ge=0.0)  # aim this far before a stop line (front bumper)
    full_stop_mps: float = Field(0.1, gt=0.0)  # below this counts as a full stop
    stop_zone_m: float = Field(3.0, ge=0.0)  # a full stop counts this close to the line
    stop_hold_s: float = Field(0.5, ge=0.0)  # stand still this long before going on
    max_wait_s: float = Field(8.0, ge=0.0)  # after a full stop, go once nothing is in the junction
    light_horizon_m: float = Field(70.0, gt=0.0)
    light_stale_s: float = Field(1.0, gt=0.0)  # a light not seen for longer is unknown
    yield_speed_mps: float = Field(15 / 3.6, gt=0.0)  # approach speed at a yield line
    yield_gap_s: float = Field(4.5, ge=0.0)  # crossing traffic closer than this in time has the way
    conflict_radius_m: float = Field(12.0, gt=0.0)  # around the junction centre
    # an object centre closer to the route than this is in our lane
    lane_half_width_m: float = Field(1.6, gt=0.0)
    # our half width plus a margin: a footprint inside is in the path
    corridor_half_m: float = Field(1.25, gt=0.0)
    # pedestrians this much beyond the lane edge count as in it
    ped_margin_m: float = Field(1.0, ge=0.0)
    # pedestrians within this of the route may be entering it
    ped_band_m: float = Field(7.0, ge=0.0)
    ped_clearance_m: float = Field(3.0, ge=0.0)  # stop this far before a pedestrian
    ped_horizon_m: float = Field(45.0, gt=0.0)
    time_gap_s: float = Field(1.8, ge=0.0)  # following
    min_gap_m: float = Field(4.0, ge=0.0)  # bumper to bumper when stopped behind a vehicle
    follow_gain_per_s: float = Field(0.4, gt=0.0)  # speed correction per metre of gap error
    ttc_emergency_s: float = Field(1.5, ge=0.0)
    follow_horizon_m: float = Field(60.0, gt=0.0)
    sign_zone_m: float = Field(200.0, gt=0.0)  # reach of a zone sign (school zone) with no map note
    caution_speed_mps: float = Field(20 / 3.6, gt=0.0)
    # a sign read below this confidence is noted, never obeyed (unless it confirms the map)
    min_reading_confidence: float = Field(0.6, ge=0.0, le=1.0)
    # a school-zone sign read before its plate is legible: this cap until the plate is read
    unread_school_cap_kmh: float = Field(30.0, gt=0.0, le=200.0)


@dataclass(frozen=True, slots=True)
class EgoView:
    """The ego as the rules see it; speed may be NaN (a sensor fault the rules survive)."""

    pose: Pose
    speed_mps: float
    route_s_m: float  # progress of the ego centre along the route


@dataclass(frozen=True, slots=True)
class RouteObject:
    """A BEV object in route coordinates: centre s along the route and lateral offset
    (right +), velocity along the route and towards its right [m/s], and the half
    extents of its footprint along and across the route (heading taken into account)."""

    obj: BevObject
    s_m: float
    lateral_m: float
    v_along_mps: float
    v_lateral_mps: float
    velocity_known: bool
    half_length_m: float
    half_width_m: float

    def label(self) -> str:
        return f"{self.obj.object_class.value} track {self.obj.track_id}"


@dataclass(frozen=True, slots=True)
class Constraint:
    """What one rule demands: an action, a speed cap now, and optionally a stop point."""

    action: Action
    reason: Reason
    cap_mps: float = math.inf
    stop_s_m: float | None = None  # route s the front bumper must not pass


@dataclass(frozen=True, slots=True)
class Situation:
    """What every rule is given in one decision step; the engine builds it once."""

    scene: BevScene
    ego: EgoView
    v_mps: float  # ego speed to plan with: the last valid one when the sensor gave none
    objects: tuple[RouteObject, ...]  # the scene's located objects, along the route
    clock: Clock
    context: MapContext
    params: RuleParams

    @property
    def front_s_m(self) -> float:
        """Route s of the front bumper."""
        return self.ego.route_s_m + self.params.ego_half_length_m


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What one rule says in one step."""

    constraints: tuple[Constraint, ...] = ()
    notes: tuple[Reason, ...] = ()  # listed after every constraint's reason (ignored input)
    limit_mps: float | None = None  # the speed limit in force at the front bumper, if known


class Rule(Protocol):
    """One traffic rule. A rule that remembers (signs seen, a stop made) keeps its memory
    in its own object; the engine holds one object per rule for the whole drive."""

    def apply(self, now: Situation) -> RuleResult: ...


def to_route(objects: tuple[BevObject, ...], ego: EgoView, ctx: MapContext) -> list[RouteObject]:
    """Express ego-frame objects along the route (ego frame: x forward, y right)."""
    out = []
    rot = ego.pose.rotation[:2, :2]
    for obj in objects:
        world = ego.pose.transform_points(obj.position_m[None, :])[0]
        s, lateral = ctx.path.project(world[:2], s_hint=ego.route_s_m, window_m=80.0)
        _, yaw = ctx.path.at(s)
        tangent = np.array([math.cos(yaw), math.sin(yaw)])
        normal = np.array([-tangent[1], tangent[0]])  # right of the route (CARLA y right)
        known = bool(np.all(np.isfinite(obj.velocity_mps[:2])))
        v_world = rot @ obj.velocity_mps[:2] if known else np.zeros(2)
        rel = ego.pose.yaw_rad + obj.yaw_rad - yaw
        ex, ey = float(obj.extent_m[0]), float(obj.extent_m[1])
        c, s_ = abs(math.cos(rel)), abs(math.sin(rel))
        out.append(
            RouteObject(
                obj,
                s,
                lateral,
                float(v_world @ tangent),
                float(v_world @ normal),
                known,
                ex * c + ey * s_,
                ex * s_ + ey * c,
            )
        )
    return out


def braking_speed_mps(distance_m: float, decel_mps2: float, end_speed_mps: float = 0.0) -> float:
    """Highest speed from which ``decel_mps2`` reaches ``end_speed_mps`` within ``distance_m``."""
    return math.sqrt(end_speed_mps**2 + 2.0 * decel_mps2 * max(distance_m, 0.0))


def kmh(speed_mps: float) -> str:
    return f"{mps_to_kmh(speed_mps):.0f} km/h"


def _meaning(kind: SignType | str, value: float, unit: str, text: str) -> str:
    what = kind.value if isinstance(kind, SignType) else str(kind)
    if value > 0 and unit:
        return f"{what} {value:g} {unit}"
    return f"{what} {' '.join(text.split())!r}" if text else what


def reading_evidence(sign: BevSign) -> str:
    """``sign:speed_limit 30 km/h read at 0.97 in frame 412``: what was read, how surely."""
    what = _meaning(sign.sign_type, sign.value, sign.unit, sign.text)
    return f"sign:{what} read at {sign.confidence:.2f} in frame {sign.read_frame}"


def landmark_evidence(sign: RouteSign) -> str:
    """``map:landmark 17 speed_limit 50 km/h``: what the map says the landmark means."""
    return f"map:landmark {sign.landmark_id} {_meaning(sign.sign_type, sign.value, sign.unit, '')}"
