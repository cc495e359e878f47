"""The rule engine: (BEV scene, map context, ego, clock) -> Decision, with state across
frames (remembered signs, light states, stop-sign progress).

Each rule returns constraints (an action, a speed cap, maybe a stop point, a reason
citing its evidence). Arbitration takes the lowest cap and the nearest stop point;
the action is the most urgent one; every rule that spoke keeps its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reasoning.map_context import MapContext
from reasoning.map_text import NoteParser, RuleBasedNoteParser
from reasoning.rule_junction import JunctionMemory, junction_rules
from reasoning.rule_road_users import lead_vehicle_rules, pedestrian_rules
from reasoning.rule_speed import SpeedMemory, observe_signs, speed_limit_rule, zone_rules
from reasoning.rule_types import (
    ACTION_PRIORITY,
    Constraint,
    EgoView,
    RuleParams,
    braking_speed_mps,
    kmh,
    to_route,
)
from roadmind.clock import Clock
from roadmind.messages import Action, BevScene, Decision, Reason


@dataclass(frozen=True, slots=True)
class Explained:
    """A decision plus what the log and the HUD show beside it."""

    decision: Decision
    limit_mps: float | None  # speed limit in force at the front bumper (signs, map, zones)


class RuleEngine:
    """One per drive: ``engine.decide(scene, ego, clock)`` every decision step."""

    def __init__(
        self,
        context: MapContext,
        params: RuleParams | None = None,
        parser: NoteParser | None = None,
    ) -> None:
        self.context = context
        self.params = params or RuleParams()
        self.parser = parser or RuleBasedNoteParser()
        self.speeds = SpeedMemory()
        self.junctions = JunctionMemory()
        self._last_speed_mps = 0.0

    def decide(self, scene: BevScene, ego: EgoView, clock: Clock) -> Explained:
        p = self.params
        ctx = self.context
        notes: list[Reason] = []
        constraints: list[Constraint] = []
        v = ego.speed_mps
        if not math.isfinite(v):
            v = self._last_speed_mps
            why = Reason(
                "ego",
                f"ego speed is {ego.speed_mps}: assuming the last valid {kmh(v)}, going slowly",
                ("ego:speed",),
            )
            constraints.append(Constraint(Action.SLOW, why, min(p.caution_speed_mps, v + 1.0)))
        self._last_speed_mps = v
        front = ego.route_s_m + p.ego_half_length_m
        finite = [bool(np.all(np.isfinite(o.position_m))) for o in scene.objects]
        located = [o for o, ok in zip(scene.objects, finite, strict=True) if ok]
        if not all(finite):
            lost = [o.track_id for o, ok in zip(scene.objects, finite, strict=True) if not ok]
            notes.append(Reason("perception", f"ignored objects without a position: tracks {lost}"))
        objects = to_route(tuple(located), ego, ctx)

        notes += observe_signs(scene.signs, ego, self.speeds, self.parser)
        limit_c, limit = speed_limit_rule(ego, v, ctx, self.speeds, p)
        zones, zone_notes, zone_cap = zone_rules(ego, v, clock, ctx, self.speeds, p)
        notes += zone_notes
        constraints += [limit_c, *zones]
        constraints += junction_rules(
            ego, v, scene.timestamp_s, scene.lights, scene.signs, objects, ctx, self.junctions, p
        )
        constraints += pedestrian_rules(front, v, objects, ctx, p)
        constraints += lead_vehicle_rules(front, v, objects, p)
        to_goal = ctx.path.length_m - front
        if to_goal < v * v / (2 * p.comfort_decel_mps2) + 2 * v + 10.0:
            constraints.append(
                Constraint(
                    Action.STOP,
                    Reason("route", f"end of the route in {to_goal:.0f} m"),
                    stop_s_m=ctx.path.length_m,
                )
            )
        if scene.degraded:
            constraints.append(
                Constraint(
                    Action.SLOW,
                    Reason("perception", "degraded: " + "; ".join(scene.degraded)),
                    p.caution_speed_mps,
                )
            )
        if limit is not None or zone_cap is not None:
            limit = min(x for x in (limit, zone_cap) if x is not None)
        return Explained(self._arbitrate(scene.frame_id, front, constraints, notes), limit)

    def _arbitrate(
        self, frame_id: int, front_s_m: float, constraints: list[Constraint], notes: list[Reason]
    ) -> Decision:
        p = self.params
        target = min(c.cap_mps for c in constraints)
        stops = [c.stop_s_m for c in constraints if c.stop_s_m is not None]
        stop_distance = min(stops) - front_s_m if stops else None
        if stop_distance is not None:
            target = min(
                target, braking_speed_mps(stop_distance - p.stop_margin_m, p.comfort_decel_mps2)
            )
        ranked = sorted(constraints, key=lambda c: -ACTION_PRIORITY[c.action])
        action = ranked[0].action
        reasons = tuple(c.reason for c in ranked) + tuple(notes)
        return Decision(frame_id, action, max(0.0, target), stop_distance, reasons)
