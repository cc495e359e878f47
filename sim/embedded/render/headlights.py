"""The ego's dipped headlights, per camera pixel: once the lamps are on (dusk, night) the
road ahead is lit in a cone that fades off the car's axis and with distance, and stops
at a cut-off just below the horizontal (a dipped beam does not dazzle), with a little
spill above it that retro-reflective sign faces send back brightly.

Lighting elsewhere is per triangle (``shading.py``); the beams move with the car, so
they are added per pixel, on what the camera's rays hit."""

from __future__ import annotations

import math

import numpy as np

from roadmind.frames import Pose
from sim.embedded.render.materials import EMISSIVE, NIGHT_GLOW, Material

LAMP_EGO_M = (2.2, 0.0, 0.7)  # the pair as one lamp, at the front of the car
BEAM_RGB = np.array([2.4, 2.3, 2.0], np.float32)  # warm white, at the lamp's axis and 0 m
HALF_REACH_M = 14.0  # light falls as 1 / (1 + (d / HALF_REACH_M)^2)
HALF_WIDTH_RAD = math.radians(22.0)  # Gaussian fall-off off the axis, sideways
CUTOFF_RAD = math.radians(-0.6)  # the beam's upper edge below the lamp's horizontal
CUTOFF_SOFT_RAD = math.radians(0.8)
SPILL = 0.08  # share of the beam above the cut-off (sign lights, scatter)
RETRO_GAIN = 6.0  # sign faces send the light back towards the camera beside the lamps
_UNLIT = np.array([*EMISSIVE, *NIGHT_GLOW], dtype=np.intp)


def headlight_light(
    ego_pose: Pose,
    points: np.ndarray,
    normals: np.ndarray,
    materials: np.ndarray,
) -> np.ndarray:
    """(N,) float32 beam strength on world points (N, 3) of surfaces with unit normals
    (N, 3) and materials (N,); multiply by ``BEAM_RGB`` and the albedo."""
    lamp = ego_pose.transform_points(np.array([LAMP_EGO_M]))[0]
    rot = ego_pose.rotation
    rel = points - lamp
    # the beam's frame: x along the car, y to its side, z up (the car's own axes)
    x, y, z = rel @ rot[:, 0], rel @ rot[:, 1], rel @ rot[:, 2]
    dist = np.sqrt(x * x + y * y + z * z) + 1e-6
    ahead = np.maximum(x, 1e-3)
    side = np.arctan2(np.abs(y), ahead)
    up = np.arctan2(z, np.hypot(ahead, y))
    vertical = np.clip((CUTOFF_RAD - up) / CUTOFF_SOFT_RAD + 0.5, 0.0, 1.0)
    vertical = SPILL + (1.0 - SPILL) * vertical
    cone = np.exp(-((side / HALF_WIDTH_RAD) ** 2)) * (x > 0.0)
    facing = np.abs(np.einsum("ij,ij->i", normals, rel)) / dist  # either side lit
    strength = cone * vertical * facing / (1.0 + (dist / HALF_REACH_M) ** 2)
    strength[materials == Material.SIGN_FACE] *= RETRO_GAIN
    strength[np.isin(materials, _UNLIT)] = 0.0
    return strength.astype(np.float32)
