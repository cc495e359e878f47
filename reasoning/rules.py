"""The rule engine: (BEV scene, map context, ego, clock) -> Decision, with state across
frames (remembered signs, light states, stop-sign progress) kept inside the rules.

Every rule is given the same ``Situation`` and returns a ``RuleResult`` (constraints:
an action, a speed cap, maybe a stop point, a reason citing its evidence). Adding a
rule is writing a module and listing it in ``default_rules``. Arbitration takes the
lowest cap and the nearest stop point; the action is the most urgent one; every rule
that spoke keeps its reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reasoning.map_context import MapContext, default_parser
from reasoning.map_text import NoteParser
from reasoning.rule_degraded import DegradedPerceptionRule
from reasoning.rule_junction import JunctionRule
from reasoning.rule_road_users import LeadVehicleRule, PedestrianRule
from reasoning.rule_route import EndOfRouteRule
from reasoning.rule_speed import SpeedRule
from reasoning.rule_types import (
    ACTION_PRIORITY,
    Constraint,
    EgoView,
    Rule,
    RuleParams,
    Situation,
    braking_speed_mps,
    kmh,
    to_route,
)
from roadmind.clock import Clock
from roadmind.messages import Action, BevScene, Decision, Reason


def default_rules(parser: NoteParser) -> list[Rule]:
    """The rules a drive obeys, fresh (no memories). Their order is the order of the
    reasons among equally urgent actions."""
    return [
        SpeedRule(parser),
        JunctionRule(),
        PedestrianRule(),
        LeadVehicleRule(),
        EndOfRouteRule(),
        DegradedPerceptionRule(),
    ]


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
        rules: Sequence[Rule] | None = None,
    ) -> None:
        self.context = context
        self.params = params or RuleParams()
        self.parser = parser or default_parser(context.speed_limits)
        self.rules = list(rules) if rules is not None else default_rules(self.parser)
        self._last_speed_mps = 0.0

    def decide(self, scene: BevScene, ego: EgoView, clock: Clock) -> Explained:
        p = self.params
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
        finite = [bool(np.all(np.isfinite(o.position_m))) for o in scene.objects]
        located = [o for o, ok in zip(scene.objects, finite, strict=True) if ok]
        if not all(finite):
            lost = [o.track_id for o, ok in zip(scene.objects, finite, strict=True) if not ok]
            notes.append(Reason("perception", f"ignored objects without a position: tracks {lost}"))
        objects = tuple(to_route(tuple(located), ego, self.context))
        now = Situation(scene, ego, v, objects, clock, self.context, p)
        limits: list[float] = []
        for rule in self.rules:
            said = rule.apply(now)
            constraints += said.constraints
            notes += said.notes
            if said.limit_mps is not None:
                limits.append(said.limit_mps)
        limit = min(limits) if limits else None
        return Explained(self._arbitrate(scene.frame_id, now.front_s_m, constraints, notes), limit)

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
