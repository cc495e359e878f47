"""The driving agent: route (planned on the lane graph) -> rules -> controllers.

Layered like CARLA's agents (agent -> planner -> controller) without their habit of
querying the simulator: the agent gets the BEV scene and the ego state, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.control import (
    LongitudinalController,
    LongitudinalParams,
    PursuitParams,
    lookahead_m,
    pure_pursuit_steer,
)
from reasoning.map_context import MapContext
from reasoning.rule_types import EgoView, RuleParams
from reasoning.rules import Explained, RuleEngine
from roadmind.clock import Clock
from roadmind.messages import Action, BevScene, EgoState, VehicleControl
from roadmind.vehicle import CarLimits

ROUTE_SEARCH_M = 15.0  # the ego moves less than this between steps


@dataclass(frozen=True, slots=True)
class AgentStep:
    control: VehicleControl
    explained: Explained
    route_s_m: float  # ego centre along the route
    lateral_m: float  # ego centre off the route, right positive


class Agent:
    def __init__(
        self,
        context: MapContext,
        start_clock: Clock,
        params: RuleParams | None = None,
        limits: CarLimits | None = None,
        longitudinal: LongitudinalParams | None = None,
        pursuit: PursuitParams | None = None,
    ) -> None:
        self.context = context
        self.path = context.path
        self.start_clock = start_clock
        self.params = params or RuleParams()
        self.limits = limits or CarLimits()
        self.engine = RuleEngine(context, self.params)
        self.longitudinal = LongitudinalController(longitudinal, self.limits)
        self.pursuit = pursuit or PursuitParams()
        self.s_m = 0.0
        self._last_time_s: float | None = None

    def step(self, ego: EgoState, scene: BevScene) -> AgentStep:
        pose = ego.pose
        xy = np.array([pose.x_m, pose.y_m])
        self.s_m, lateral = self.path.project(xy, s_hint=self.s_m, window_m=ROUTE_SEARCH_M)
        clock = self.start_clock.after(scene.timestamp_s)
        explained = self.engine.decide(scene, EgoView(pose, ego.speed_mps, self.s_m), clock)
        decision = explained.decision
        dt = 0.0 if self._last_time_s is None else scene.timestamp_s - self._last_time_s
        self._last_time_s = scene.timestamp_s
        throttle, brake = self.longitudinal.pedals(
            decision.target_speed_mps,
            decision.stop_distance_m,
            ego.speed_mps,
            dt,
            emergency=decision.action is Action.EMERGENCY_BRAKE,
        )
        target, _ = self.path.at(self.s_m + lookahead_m(ego.speed_mps, self.pursuit))
        local = pose.inverse_transform_points(target[None, :])[0]
        steer = pure_pursuit_steer(
            float(local[1]), float(local[0]), self.limits.wheelbase_m, self.limits.max_steer_rad
        )
        return AgentStep(VehicleControl(throttle, steer, brake), explained, self.s_m, lateral)
