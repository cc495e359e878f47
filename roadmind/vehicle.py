"""The car's physical limits: what the agent's controllers plan with and what a world's
car model obeys. Shared vocabulary, so the agent never imports a world's car model."""

from __future__ import annotations

import math

from pydantic import Field

from roadmind.config import StrictModel


class CarLimits(StrictModel):
    """The agent reads them from ``car`` in configs/agent.yaml; the embedded world's car
    model uses these defaults."""

    wheelbase_m: float = Field(2.8, gt=0.0)
    max_steer_rad: float = Field(math.radians(35.0), gt=0.0)
    max_steer_rate_rps: float = Field(math.radians(180.0), gt=0.0)  # wheel angle rate
    max_accel_mps2: float = Field(3.5, gt=0.0)  # full throttle from standstill
    max_decel_mps2: float = Field(9.0, gt=0.0)  # full brake
    max_lat_accel_mps2: float = Field(8.0, gt=0.0)  # tyre limit caps the yaw rate
    top_speed_mps: float = Field(50.0, gt=0.0)
    rolling_decel_mps2: float = Field(0.15, ge=0.0)
    drag_per_mps2: float = Field(0.0004, ge=0.0)  # aerodynamic deceleration per (m/s)^2
