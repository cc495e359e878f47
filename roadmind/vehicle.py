"""The car's physical limits: what the agent's controllers plan with and what a world's
car model obeys. Shared vocabulary, so the agent never imports a world's car model."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CarLimits:
    wheelbase_m: float = 2.8
    max_steer_rad: float = math.radians(35.0)
    max_steer_rate_rps: float = math.radians(180.0)  # wheel angle rate
    max_accel_mps2: float = 3.5  # full throttle from standstill
    max_decel_mps2: float = 9.0  # full brake
    max_lat_accel_mps2: float = 8.0  # tyre limit caps the yaw rate
    top_speed_mps: float = 50.0
    rolling_decel_mps2: float = 0.15
    drag_per_mps2: float = 0.0004  # aerodynamic deceleration per (m/s)^2
