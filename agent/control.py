"""Pure controllers: error and dt in, command out; no vehicle or world handles.

Longitudinal: a PID on speed (with anti-windup) reaches the decision's target speed
at comfortable rates, and a braking profile takes over when a stop point needs more:
the constant deceleration that ends exactly at the point, so the car stops within the
stop margin before the line. Lateral: pure pursuit on the route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from roadmind.config import StrictModel
from roadmind.vehicle import CarLimits


@dataclass
class PID:
    """PID with conditional integration: the integrator holds while the output is
    saturated in the direction the error pushes (no windup), and outside ``i_zone``
    (large errors are the proportional term's job; integrating them overshoots)."""

    kp: float
    ki: float
    kd: float
    out_min: float
    out_max: float
    i_zone: float = math.inf
    integral: float = 0.0
    prev_error: float | None = None

    def step(self, error: float, dt_s: float) -> float:
        deriv = 0.0 if self.prev_error is None or dt_s <= 0 else (error - self.prev_error) / dt_s
        self.prev_error = error
        trial = self.integral + (error * dt_s if abs(error) <= self.i_zone else 0.0)
        raw = self.kp * error + self.ki * trial + self.kd * deriv
        out = min(max(raw, self.out_min), self.out_max)
        if out == raw or (raw > self.out_max and error < 0) or (raw < self.out_min and error > 0):
            self.integral = trial
        return out

    def reset(self) -> None:
        self.integral = 0.0
        self.prev_error = None


def stop_decel_mps2(speed_mps: float, distance_m: float) -> float:
    """Constant deceleration that stops from ``speed_mps`` in ``distance_m`` (inf if none)."""
    if distance_m <= 0.0:
        return math.inf if speed_mps > 0.0 else 0.0
    return speed_mps * speed_mps / (2.0 * distance_m)


class LongitudinalParams(StrictModel):
    """``longitudinal`` in configs/agent.yaml."""

    comfort_decel_mps2: float = Field(2.5, gt=0.0)
    max_accel_mps2: float = Field(2.0, gt=0.0)
    max_decel_mps2: float = Field(8.0, gt=0.0)  # a stop point that demands more gets it
    stop_margin_m: float = Field(0.5, ge=0.0)  # aim this far before the stop point
    hold_brake: float = Field(0.6, ge=0.0, le=1.0)  # standing at a stop point
    profile_engage_mps2: float = Field(1.2, gt=0.0)  # brake for a stop point once it needs this
    # Speed PID, acceleration [m/s²] per speed error [m/s]. The integral only trims what
    # the pedal model misses (drag, slope): small, and only near zero error.
    speed_kp_per_s: float = Field(0.8, ge=0.0)
    speed_ki_per_s2: float = Field(0.05, ge=0.0)
    speed_kd: float = Field(0.0, ge=0.0)
    speed_i_zone_mps: float = Field(0.3, gt=0.0)  # integrate only errors smaller than this


class LongitudinalController:
    def __init__(
        self, params: LongitudinalParams | None = None, limits: CarLimits | None = None
    ) -> None:
        self.params = params or LongitudinalParams()
        self.limits = limits or CarLimits()
        p = self.params
        self.pid = PID(
            p.speed_kp_per_s,
            p.speed_ki_per_s2,
            p.speed_kd,
            -p.comfort_decel_mps2,
            p.max_accel_mps2,
            i_zone=p.speed_i_zone_mps,
        )
        self._prev_target_mps: float | None = None
        self._on_profile = False  # hysteresis: once braking for a point, keep to it

    def accel(
        self, target_mps: float, stop_distance_m: float | None, speed_mps: float, dt_s: float
    ) -> float:
        """Acceleration command [m/s²] from the target speed and an optional stop point."""
        p = self.params
        # Feed the target's own slope forward: a falling target (a lower limit ahead)
        # is then tracked without the lag a PID alone has on a ramp.
        slope = 0.0
        if self._prev_target_mps is not None and dt_s > 0:
            slope = (target_mps - self._prev_target_mps) / dt_s
        self._prev_target_mps = target_mps
        feed = min(max(slope, -p.comfort_decel_mps2), 0.0) if target_mps < speed_mps + 1 else 0.0
        accel = max(
            -p.comfort_decel_mps2,
            min(p.max_accel_mps2, feed + self.pid.step(target_mps - speed_mps, dt_s)),
        )
        if stop_distance_m is not None:
            room = stop_distance_m - p.stop_margin_m
            if room <= 0.05 and speed_mps < 0.3:
                self.pid.reset()
                return -p.max_decel_mps2  # at the point: hold
            needed = stop_decel_mps2(speed_mps, max(room, 0.01))
            engage = p.profile_engage_mps2 * (0.3 if self._on_profile else 1.0)
            self._on_profile = needed >= engage and -needed < accel
            if self._on_profile:
                accel = -min(needed, p.max_decel_mps2)
                self.pid.reset()
        else:
            self._on_profile = False
        return accel

    def pedals(
        self,
        target_mps: float,
        stop_distance_m: float | None,
        speed_mps: float,
        dt_s: float,
        emergency: bool = False,
    ) -> tuple[float, float]:
        """Throttle and brake in [0, 1]."""
        if emergency:
            self.pid.reset()
            return 0.0, 1.0
        accel = self.accel(target_mps, stop_distance_m, speed_mps, dt_s)
        if stop_distance_m is not None and accel <= -self.params.max_decel_mps2 and speed_mps < 0.3:
            return 0.0, self.params.hold_brake
        if target_mps < 0.05 and speed_mps < 0.3:
            return 0.0, self.params.hold_brake  # standing still on purpose
        return pedals_for_accel(accel, speed_mps, self.limits)


def pedals_for_accel(accel_mps2: float, speed_mps: float, limits: CarLimits) -> tuple[float, float]:
    """Throttle and brake that give ``accel_mps2`` on the bicycle model."""
    if accel_mps2 >= 0.0:
        resist = limits.rolling_decel_mps2 + limits.drag_per_mps2 * speed_mps**2
        headroom = max(0.05, 1.0 - speed_mps / limits.top_speed_mps)
        throttle = (accel_mps2 + resist) / (limits.max_accel_mps2 * headroom)
        return float(np.clip(throttle, 0.0, 1.0)), 0.0
    return 0.0, float(np.clip(-accel_mps2 / limits.max_decel_mps2, 0.0, 1.0))


class PursuitParams(StrictModel):
    """``pursuit`` in configs/agent.yaml: how far ahead on the route pure pursuit aims."""

    min_lookahead_m: float = Field(4.0, gt=0.0)
    lookahead_time_s: float = Field(0.8, ge=0.0)  # farther at speed: smoother, cuts corners


DEFAULT_PURSUIT = PursuitParams()


def pure_pursuit_steer(
    lateral_m: float, ahead_m: float, wheelbase_m: float, max_steer_rad: float
) -> float:
    """Steer command in [-1, 1] towards a target ``ahead_m`` forward, ``lateral_m`` right."""
    dist_sq = ahead_m * ahead_m + lateral_m * lateral_m
    if dist_sq < 1e-6:
        return 0.0
    curvature = 2.0 * lateral_m / dist_sq
    return float(np.clip(math.atan(curvature * wheelbase_m) / max_steer_rad, -1.0, 1.0))


def lookahead_m(speed_mps: float, params: PursuitParams = DEFAULT_PURSUIT) -> float:
    return max(params.min_lookahead_m, params.lookahead_time_s * speed_mps)
