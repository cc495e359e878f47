"""Kinematic bicycle model of a passenger car, driven by CARLA-style controls."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from roadmind.messages import VehicleControl
from roadmind.units import wrap_angle_rad
from roadmind.vehicle import CarLimits

DEFAULT_LIMITS = CarLimits()


@dataclass(frozen=True, slots=True)
class BicycleState:
    """Rear-free kinematic state: position of the body centre [m], yaw [rad], speed [m/s]."""

    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    steer_rad: float = 0.0
    accel_mps2: float = 0.0
    yaw_rate_rps: float = 0.0


def step_bicycle(
    state: BicycleState, control: VehicleControl, dt_s: float, limits: CarLimits = DEFAULT_LIMITS
) -> BicycleState:
    """Advance ``dt_s``; never reverses (reverse gear is not modelled) and never exceeds
    the steering-rate, yaw-rate (lateral acceleration) or speed limits."""
    if not math.isfinite(state.speed_mps):
        raise ValueError(f"speed must be finite, got {state.speed_mps}")
    target_steer = control.steer * limits.max_steer_rad
    max_delta = limits.max_steer_rate_rps * dt_s
    steer = state.steer_rad + max(-max_delta, min(max_delta, target_steer - state.steer_rad))
    v = state.speed_mps
    drive = control.throttle * limits.max_accel_mps2 * max(0.0, 1.0 - v / limits.top_speed_mps)
    resist = (limits.rolling_decel_mps2 + limits.drag_per_mps2 * v * v) if v > 0 else 0.0
    brake = control.brake * limits.max_decel_mps2 + (
        limits.max_decel_mps2 if control.hand_brake else 0.0
    )
    accel = drive - resist - brake
    v_new = max(0.0, v + accel * dt_s)
    if v_new == 0.0 and v > 0.0:
        accel = -v / dt_s
    elif v_new == 0.0:
        accel = 0.0
    v_mid = 0.5 * (v + v_new)
    yaw_rate = v_mid * math.tan(steer) / limits.wheelbase_m
    if v_mid > 0.1:
        cap = limits.max_lat_accel_mps2 / v_mid
        yaw_rate = max(-cap, min(cap, yaw_rate))
    yaw_mid = state.yaw_rad + 0.5 * yaw_rate * dt_s
    return replace(
        state,
        x_m=state.x_m + v_mid * math.cos(yaw_mid) * dt_s,
        y_m=state.y_m + v_mid * math.sin(yaw_mid) * dt_s,
        yaw_rad=wrap_angle_rad(state.yaw_rad + yaw_rate * dt_s),
        speed_mps=v_new,
        steer_rad=steer,
        accel_mps2=accel,
        yaw_rate_rps=yaw_rate,
    )
