"""Controllers without a world: a PID that does not wind up, a braking profile that
stops within 1 m before the line, pure pursuit that converges onto a lane."""

from __future__ import annotations

import math

import pytest

from agent.control import (
    PID,
    LongitudinalController,
    lookahead_m,
    pure_pursuit_steer,
    stop_decel_mps2,
)
from roadmind.messages import VehicleControl
from roadmind.vehicle import CarLimits
from sim.embedded.vehicle_dynamics import BicycleState, step_bicycle

DT = 0.05


def test_pid_holds_its_integral_while_saturated() -> None:
    pid = PID(kp=1.0, ki=1.0, kd=0.0, out_min=-1.0, out_max=1.0)
    for _ in range(200):  # 10 s of a large error: output pinned at +1
        assert pid.step(5.0, DT) == 1.0
    assert pid.integral == 0.0  # nothing wound up
    assert pid.step(-0.5, DT) < 0.0  # so it reverses at once when the error does


def test_pid_integrates_small_errors_only_inside_its_zone() -> None:
    pid = PID(kp=0.0, ki=1.0, kd=0.0, out_min=-5, out_max=5, i_zone=0.3)
    pid.step(2.0, 1.0)
    assert pid.integral == 0.0
    pid.step(0.2, 1.0)
    assert pid.integral == pytest.approx(0.2)


def test_stop_decel() -> None:
    assert stop_decel_mps2(10.0, 20.0) == pytest.approx(2.5)
    assert stop_decel_mps2(0.0, 0.0) == 0.0
    assert math.isinf(stop_decel_mps2(1.0, 0.0))


def _drive_to_stop(speed_mps: float, line_m: float, target_mps: float) -> tuple[float, float]:
    """Run the controller on the bicycle model; the stop point moves closer as the car
    drives. Returns the front bumper's final distance to the line and the peak decel."""
    ctrl = LongitudinalController()
    state = BicycleState(0.0, 0.0, 0.0, speed_mps)
    peak = 0.0
    for _ in range(int(60 / DT)):
        distance = line_m - state.x_m
        throttle, brake = ctrl.pedals(target_mps, distance, state.speed_mps, DT)
        state = step_bicycle(state, VehicleControl(throttle=throttle, brake=brake), DT)
        if state.speed_mps > 0.3:  # the last step's snap to rest is not braking
            peak = max(peak, -state.accel_mps2)
        if state.speed_mps == 0.0 and distance < 5.0:
            break
    return line_m - state.x_m, peak


@pytest.mark.parametrize(
    ("speed_kmh", "line_m"), [(50, 60.0), (30, 25.0), (70, 90.0), (10, 8.0), (0, 30.0)]
)
def test_stops_within_one_metre_before_the_line(speed_kmh: float, line_m: float) -> None:
    left_m, peak = _drive_to_stop(speed_kmh / 3.6, line_m, target_mps=50 / 3.6)
    assert 0.0 <= left_m <= 1.0
    assert peak <= 4.0  # no slamming: planned stops stay near comfortable braking


def test_stands_still_at_the_stop_point() -> None:
    ctrl = LongitudinalController()
    for _ in range(40):
        throttle, brake = ctrl.pedals(0.0, 0.3, 0.0, DT)
        assert throttle == 0.0 and brake > 0.0


def test_emergency_is_full_brake() -> None:
    assert LongitudinalController().pedals(10.0, None, 15.0, DT, emergency=True) == (0.0, 1.0)


def test_cruise_reaches_target_without_overshoot() -> None:
    ctrl = LongitudinalController()
    state = BicycleState(0.0, 0.0, 0.0, 0.0)
    top = 0.0
    for _ in range(int(30 / DT)):
        throttle, brake = ctrl.pedals(50 / 3.6, None, state.speed_mps, DT)
        state = step_bicycle(state, VehicleControl(throttle=throttle, brake=brake), DT)
        top = max(top, state.speed_mps)
    assert state.speed_mps == pytest.approx(50 / 3.6, abs=0.05)
    assert top <= 50 / 3.6 + 0.1


def test_pure_pursuit_converges_onto_the_lane() -> None:
    limits = CarLimits()
    state = BicycleState(0.0, 2.0, 0.0, 10.0)  # 2 m right of a lane along +x... y right
    for _ in range(int(8 / DT)):
        ahead = lookahead_m(state.speed_mps)
        # target on the lane y = 0, ahead of the car, in the car's frame
        dx, dy = ahead, -state.y_m
        c, s = math.cos(state.yaw_rad), math.sin(state.yaw_rad)
        local_x, local_y = c * dx + s * dy, -s * dx + c * dy
        steer = pure_pursuit_steer(local_y, local_x, limits.wheelbase_m, limits.max_steer_rad)
        state = step_bicycle(state, VehicleControl(throttle=0.1, steer=steer), DT)
    assert abs(state.y_m) < 0.1
    assert abs(state.yaw_rad) < 0.05
