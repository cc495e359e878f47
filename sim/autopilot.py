"""Ground-truth autopilot: follows the route with pure pursuit and the lane driver's
IDM speed (lights, stop signs, lead vehicles). It stands in for the decision stack
in demos and benchmarks, and stays as the 'oracle' baseline."""

from __future__ import annotations

import numpy as np

from reasoning.lane_path import LanePath
from roadmind.messages import SensorFrame, VehicleControl
from sim.control import lookahead_m, pedals_for_accel, pure_pursuit_steer
from sim.landmarks import LightSpec, SignSpec
from sim.lane_driver import LaneDriver, Obstacle
from sim.vehicle_dynamics import CarLimits


class Autopilot:
    def __init__(
        self,
        route: LanePath,
        cruise_speed_mps: float,
        signs: list[SignSpec],
        lights: list[LightSpec],
        limits: CarLimits | None = None,
        ego_half_length_m: float = 2.35,
    ) -> None:
        self.route = route
        self.ego_half_length_m = ego_half_length_m
        self.limits = limits or CarLimits()
        self.driver = LaneDriver.on_path(route, cruise_speed_mps, signs, lights)
        self.s_m = 0.0

    def control(self, frame: SensorFrame) -> VehicleControl:
        truth = frame.ground_truth
        if truth is None:
            raise ValueError("the autopilot drives on ground truth; the frame has none")
        pose = frame.ego.pose
        xy = np.array([pose.x_m, pose.y_m])
        self.s_m, _ = self.route.project(xy, s_hint=self.s_m, window_m=15.0)
        v = frame.ego.speed_mps
        obstacles = [
            Obstacle(
                a.pose.translation[:2],
                float(np.linalg.norm(a.velocity_mps[:2])),
                float(a.extent_m[0]),
            )
            for a in truth.actors
        ]
        states = {light.light_id: light.state for light in truth.lights}
        accel = self.driver.accel(
            self.s_m, v, frame.timestamp_s, states, obstacles, self.ego_half_length_m
        )
        throttle, brake = pedals_for_accel(accel, v, self.limits)
        if self.route.length_m - self.s_m < 1.0:
            throttle, brake = 0.0, 1.0
        lookahead = lookahead_m(v)
        target, _ = self.route.at(self.s_m + lookahead)
        local = pose.inverse_transform_points(target[None, :])[0]
        steer = pure_pursuit_steer(
            float(local[1]), float(local[0]), self.limits.wheelbase_m, self.limits.max_steer_rad
        )
        return VehicleControl(throttle=throttle, steer=steer, brake=brake)

    @property
    def finished(self) -> bool:
        return self.route.length_m - self.s_m < 1.5
