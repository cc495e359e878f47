"""Scene lighting and weather: sun direction and colour, sky, ambient, haze and rain
from a few knobs.

Presets: day, overcast, dusk, night (the sun 8 degrees under the horizon: street lamps
and lit windows are what light the street), fog (overcast, 70 m visibility) and rain
(overcast, 250 m visibility, rain 0.7: streaks and a wet road in the camera, droplet
returns, weaker far returns and more range noise in the LiDAR). Street
lamps, and the ego's dipped headlights, are on while the sun is less than 5 degrees up."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from roadmind.config import StrictModel

PRESETS = {
    # preset: (sun elevation, sun azimuth, overcast)
    "day": (50.0, 135.0, 0.0),
    "overcast": (45.0, 135.0, 0.85),
    "dusk": (3.0, 260.0, 0.15),
    "night": (-8.0, 260.0, 0.3),
    "fog": (35.0, 135.0, 0.95),
    "rain": (40.0, 135.0, 0.9),
}
CLEAR_VISIBILITY_M = 600.0
PRESET_VISIBILITY_M = {"fog": 70.0, "rain": 250.0}  # the others: CLEAR_VISIBILITY_M
PRESET_RAIN = {"rain": 0.7}  # the others: dry
LAMPS_ON_BELOW_DEG = 5.0  # sun elevation under which street lamps and windows glow


class LightingConfig(StrictModel):
    """``visibility_m`` not given: the preset's (70 m in fog, 250 m in rain, else 600 m);
    ``rain`` not given: the preset's (0.7 in rain, else 0)."""

    preset: Literal["day", "overcast", "dusk", "night", "fog", "rain"] = "day"
    sun_elevation_deg: float | None = Field(None, ge=-10.0, le=90.0)
    sun_azimuth_deg: float | None = Field(None, ge=-360.0, le=360.0)
    overcast: float | None = Field(None, ge=0.0, le=1.0)
    visibility_m: float = Field(CLEAR_VISIBILITY_M, gt=10.0)
    rain: float | None = Field(None, ge=0.0, le=1.0)  # 0 dry, 1 a downpour
    ego_headlights: bool = True  # the ego's dipped beams, on while the street lamps are

    def visibility(self) -> float:
        """The visibility in force [m]: the one given, else the preset's."""
        if "visibility_m" in self.model_fields_set:
            return self.visibility_m
        return PRESET_VISIBILITY_M.get(self.preset, self.visibility_m)

    def rain_level(self) -> float:
        """The rain in force, 0-1: the one given, else the preset's."""
        return self.rain if self.rain is not None else PRESET_RAIN.get(self.preset, 0.0)


@dataclass(frozen=True)
class Lighting:
    """Resolved lighting; colours are RGB float32 in [0, 1]."""

    sun_dir: np.ndarray  # (3,) unit, pointing towards the sun
    sun_rgb: np.ndarray
    ambient_rgb: np.ndarray
    sky_horizon_rgb: np.ndarray
    sky_zenith_rgb: np.ndarray
    visibility_m: float
    lamps_on: bool = False  # street lamps and lit windows glow
    headlights: bool = False  # the ego's dipped beams light the road ahead
    rain: float = 0.0  # 0 dry to 1 a downpour

    @staticmethod
    def from_config(cfg: LightingConfig) -> Lighting:
        elev0, azim0, over0 = PRESETS[cfg.preset]
        elev = math.radians(cfg.sun_elevation_deg if cfg.sun_elevation_deg is not None else elev0)
        azim = math.radians(cfg.sun_azimuth_deg if cfg.sun_azimuth_deg is not None else azim0)
        overcast = cfg.overcast if cfg.overcast is not None else over0
        sun_dir = np.array(
            [math.cos(elev) * math.cos(azim), math.cos(elev) * math.sin(azim), math.sin(elev)]
        )
        # Daylight fades in over the first 12 degrees of elevation; low sun is warm.
        day = float(np.clip((math.degrees(elev) + 2.0) / 14.0, 0.0, 1.0))
        # Below the horizon the sky and the ambient light fade to night's by -8 degrees.
        night = float(np.clip(-math.degrees(elev) / 8.0, 0.0, 1.0))
        warm = float(np.clip(1.0 - math.degrees(elev) / 25.0, 0.0, 1.0))
        sun_rgb = (
            (1.0 - 0.85 * overcast) * day * np.array([1.0, 1.0 - 0.3 * warm, 1.0 - 0.6 * warm])
        )
        ambient = (0.25 + 0.35 * day) * (0.55 + 0.45 * overcast) * (1.0 - 0.75 * night)
        ambient_rgb = ambient * np.array([0.95, 0.98, 1.05])
        clear_h, clear_z = np.array([0.78, 0.86, 0.95]), np.array([0.32, 0.52, 0.85])
        dusk_h, dusk_z = np.array([0.95, 0.55, 0.30]), np.array([0.15, 0.18, 0.38])
        grey = np.array([0.72, 0.73, 0.75])
        horizon = (1 - warm) * clear_h + warm * dusk_h
        zenith = (1 - warm) * clear_z + warm * dusk_z
        horizon = (1 - overcast) * horizon + overcast * grey * (0.4 + 0.6 * day)
        zenith = (1 - overcast) * zenith + overcast * grey * 0.9 * (0.4 + 0.6 * day)
        horizon = (1 - night) * horizon + night * np.array([0.06, 0.07, 0.11])
        zenith = (1 - night) * zenith + night * np.array([0.01, 0.015, 0.045])
        return Lighting(
            sun_dir.astype(np.float32),
            sun_rgb.astype(np.float32),
            ambient_rgb.astype(np.float32),
            horizon.astype(np.float32),
            zenith.astype(np.float32),
            cfg.visibility(),
            lamps_on := math.degrees(elev) < LAMPS_ON_BELOW_DEG,
            lamps_on and cfg.ego_headlights,
            cfg.rain_level(),
        )

    def sky(self, directions: np.ndarray) -> np.ndarray:
        """(N, 3) sky colour for (N, 3) unit view directions."""
        up = np.clip(directions[:, 2:3], 0.0, 1.0) ** 0.6
        return (1.0 - up) * self.sky_horizon_rgb + up * self.sky_zenith_rgb
