"""Rules about other road users: pedestrians in or entering the path or a crosswalk,
the lead vehicle (time-gap following), and emergency braking on a short time to
collision."""

from __future__ import annotations

import math
from collections.abc import Sequence

from reasoning.map_context import MapContext
from reasoning.rule_types import (
    Constraint,
    RouteObject,
    RuleParams,
    RuleResult,
    Situation,
    braking_speed_mps,
    kmh,
)
from roadmind.messages import Action, ObjectClass, Reason

ENTER_MARGIN_S = 3.0  # yield if a pedestrian enters the path up to this long after we arrive
WALKING_MPS = 0.3  # slower than this towards the path is standing
EMERGENCY_DECEL_MPS2 = 4.0  # a pedestrian in the path that needs more: emergency brake


class PedestrianRule:
    """Pedestrians in or entering the path or a crosswalk ahead."""

    def apply(self, now: Situation) -> RuleResult:
        found = pedestrian_rules(now.front_s_m, now.v_mps, now.objects, now.context, now.params)
        return RuleResult(tuple(found))


class LeadVehicleRule:
    """Time-gap following and emergency braking behind the road user ahead in the lane."""

    def apply(self, now: Situation) -> RuleResult:
        return RuleResult(
            tuple(lead_vehicle_rules(now.front_s_m, now.v_mps, now.objects, now.params))
        )


def pedestrian_rules(
    front_s_m: float,
    v_mps: float,
    objects: Sequence[RouteObject],
    ctx: MapContext,
    params: RuleParams,
) -> list[Constraint]:
    out = []
    in_lane = params.lane_half_width_m + params.ped_margin_m
    for ob in objects:
        if ob.obj.object_class is not ObjectClass.PEDESTRIAN:
            continue
        ahead = ob.s_m - front_s_m
        if ahead < -1.0 or ahead > params.ped_horizon_m:
            continue
        side = abs(ob.lateral_m)
        crosswalk = next(
            (c for c in ctx.crosswalks if c.s_from_m - 2.0 <= ob.s_m <= c.s_to_m + 2.0), None
        )
        towards = -math.copysign(1.0, ob.lateral_m) * ob.v_lateral_mps if ob.velocity_known else 0
        if side < in_lane:
            why = f"{ob.label()} in the path {ahead:.0f} m ahead"
            action = Action.STOP
        elif side < params.ped_band_m and towards > WALKING_MPS:
            t_enter = (side - in_lane) / towards
            t_reach = ahead / max(v_mps, 1.0)
            if t_enter > t_reach + ENTER_MARGIN_S and crosswalk is None:
                continue
            where = "the crosswalk" if crosswalk is not None else "the path"
            why = f"{ob.label()} entering {where} in {t_enter:.1f} s, {ahead:.0f} m ahead"
            action = Action.YIELD
        else:
            continue
        body_s = ob.s_m - ob.half_length_m
        stop_s = body_s - params.ped_clearance_m
        evidence: tuple[str, ...] = (f"object:{ob.label()}",)
        if crosswalk is not None and crosswalk.s_from_m - 1.0 >= front_s_m:
            stop_s = min(stop_s, crosswalk.s_from_m - 1.0)
            evidence += (f"crosswalk:{crosswalk.ident}",)
        if action is Action.YIELD and stop_s - front_s_m < -params.stop_margin_m and v_mps > 0.5:
            continue  # past the point to wait for someone not yet in the path: clear it
        gap = body_s - front_s_m
        if action is Action.STOP and v_mps**2 / (2 * max(gap - 0.5, 0.01)) > EMERGENCY_DECEL_MPS2:
            why += f": cannot stop gently in {gap:.1f} m"
            out.append(Constraint(Action.EMERGENCY_BRAKE, Reason("emergency", why, evidence), 0.0))
            continue
        stop_s = max(stop_s, front_s_m)  # too close for the clearance: stop now
        cap = braking_speed_mps(
            stop_s - front_s_m - params.stop_margin_m, params.comfort_decel_mps2
        )
        out.append(Constraint(action, Reason("pedestrian", why, evidence), cap, stop_s))
    return out


def lead_vehicle_rules(
    front_s_m: float,
    v_mps: float,
    objects: Sequence[RouteObject],
    params: RuleParams,
) -> list[Constraint]:
    """Time-gap following of the nearest road user ahead in the lane; emergency braking
    when the time to collision with it is short."""
    lead = None
    for ob in objects:
        gap = ob.s_m - ob.half_length_m - front_s_m
        if ob.obj.object_class is ObjectClass.PEDESTRIAN or gap < -1.0:
            continue
        if abs(ob.lateral_m) - ob.half_width_m > params.corridor_half_m:
            continue
        if gap > params.follow_horizon_m:
            continue
        if lead is None or gap < lead[0]:
            lead = (gap, ob)
    if lead is None:
        return []
    gap, ob = lead
    v_along = ob.v_along_mps if ob.velocity_known else 0.0  # negative: coming towards us
    v_lead = max(v_along, 0.0)
    unknown = "" if ob.velocity_known else " (speed unknown: taken as standing)"
    oncoming = " oncoming" if v_along < -0.5 else ""
    evidence = (f"object:{ob.label()} gap {gap:.1f} m speed {kmh(v_along)}{oncoming}",)
    closing = v_mps - v_along
    ttc = gap / closing if closing > 0.1 else math.inf
    if ttc < params.ttc_emergency_s or gap < 0.5:
        text = f"{ob.label()}{oncoming} {gap:.1f} m ahead, time to collision {ttc:.1f} s{unknown}"
        return [Constraint(Action.EMERGENCY_BRAKE, Reason("emergency", text, evidence), 0.0, None)]
    desired = params.min_gap_m + v_mps * params.time_gap_s
    cap = max(0.0, v_lead + params.follow_gain_per_s * (gap - desired))
    # A standing leader is a stop point; a moving one only caps the speed.
    stop_s = front_s_m + gap - params.min_gap_m if v_lead < 1.0 else None
    if cap >= params.cruise_speed_mps and gap > desired:
        return []  # far and fast enough ahead not to matter
    text = (
        f"following {ob.label()} {gap:.0f} m ahead at {kmh(v_lead)}{unknown}, "
        f"keeping {params.time_gap_s:g} s"
    )
    return [Constraint(Action.FOLLOW, Reason("lead_vehicle", text, evidence), cap, stop_s)]
