"""Unit conversions, applied once at the edges (map text, CARLA APIs, user input)."""

from __future__ import annotations

import math

KMH_PER_MPS = 3.6
MPH_PER_MPS = 2.2369362920544
SPEED_UNITS = ("km/h", "mph", "m/s")
MAX_SPEED_VALUE = 200.0  # a posted speed as written, either unit; above it is a typo


def kmh_to_mps(speed_kmh: float) -> float:
    return speed_kmh / KMH_PER_MPS


def mph_to_mps(speed_mph: float) -> float:
    return speed_mph / MPH_PER_MPS


def mps_to_kmh(speed_mps: float) -> float:
    return speed_mps * KMH_PER_MPS


def speed_to_mps(value: float, unit: str) -> float:
    """Convert a speed with an OpenDRIVE-style unit string ("km/h", "mph", "m/s")."""
    normalized = unit.strip().lower().replace("kmh", "km/h").replace("kph", "km/h")
    if normalized == "km/h":
        return kmh_to_mps(value)
    if normalized == "mph":
        return mph_to_mps(value)
    if normalized in ("m/s", "mps"):
        return float(value)
    raise ValueError(f"unknown speed unit {unit!r}; expected one of {', '.join(SPEED_UNITS)}")


def deg_to_rad(angle_deg: float) -> float:
    return math.radians(angle_deg)


def rad_to_deg(angle_rad: float) -> float:
    return math.degrees(angle_rad)


def wrap_angle_rad(angle_rad: float) -> float:
    """Wrap to [-pi, pi)."""
    return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi
