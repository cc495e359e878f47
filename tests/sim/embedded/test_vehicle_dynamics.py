"""Physics of the ego car with no world at all."""

from __future__ import annotations

import math

import pytest

from agent.control import pedals_for_accel, pure_pursuit_steer
from roadmind.messages import VehicleControl
from roadmind.vehicle import CarLimits
from sim.embedded.lane_driver import idm_accel
from sim.embedded.vehicle_dynamics import BicycleState, step_bicycle

DT = 0.05
LIMITS = CarLimits()


def _run(state: BicycleState, control: VehicleControl, seconds: float) -> BicycleState:
    for _ in range(round(seconds / DT)):
        state = step_bicycle(state, control, DT)
    return state


def test_full_throttle_from_rest_is_bounded_by_max_accel() -> None:
    s = _run(BicycleState(0, 0, 0, 0), VehicleControl(throttle=1.0), 1.0)
    assert 0.9 * LIMITS.max_accel_mps2 * 0.9 < s.speed_mps < LIMITS.max_accel_mps2
    assert s.x_m == pytest.approx(0.5 * s.speed_mps * 1.0, rel=0.1)
    assert abs(s.y_m) < 1e-9


def test_full_brake_stops_within_physics_distance_and_never_reverses() -> None:
    v0 = 20.0
    s = _run(BicycleState(0, 0, 0, v0), VehicleControl(brake=1.0), 5.0)
    assert s.speed_mps == 0.0
    assert s.x_m == pytest.approx(v0 * v0 / (2 * LIMITS.max_decel_mps2), rel=0.08)


def test_yaw_rate_capped_by_lateral_acceleration() -> None:
    v = 25.0
    s = _run(BicycleState(0, 0, 0, v), VehicleControl(throttle=0.3, steer=1.0), 0.5)
    assert abs(s.yaw_rate_rps) <= LIMITS.max_lat_accel_mps2 / v * 1.01


def test_steering_rate_limited() -> None:
    s = step_bicycle(BicycleState(0, 0, 0, 5.0), VehicleControl(steer=1.0), DT)
    assert s.steer_rad == pytest.approx(LIMITS.max_steer_rate_rps * DT)


def test_positive_steer_turns_right_in_carla_frame() -> None:
    s = _run(BicycleState(0, 0, 0, 8.0), VehicleControl(throttle=0.2, steer=0.3), 1.0)
    assert s.yaw_rad > 0 and s.y_m > 0  # y is right in CARLA's frame


def test_nan_speed_is_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        step_bicycle(BicycleState(0, 0, 0, float("nan")), VehicleControl(), DT)


def test_idm_free_road_and_standstill_gap() -> None:
    assert idm_accel(0.0, 10.0, None) == pytest.approx(1.5)
    assert idm_accel(10.0, 10.0, None) == pytest.approx(0.0)
    assert idm_accel(10.0, 10.0, 5.0, 10.0) < -5.0  # closing fast on a stopped car


def test_pure_pursuit_and_pedals() -> None:
    assert pure_pursuit_steer(0.0, 10.0, 2.8, math.radians(35)) == 0.0
    assert pure_pursuit_steer(1.0, 10.0, 2.8, math.radians(35)) > 0.0
    throttle, brake = pedals_for_accel(-4.5, 10.0, LIMITS)
    assert throttle == 0.0 and brake == pytest.approx(0.5)
