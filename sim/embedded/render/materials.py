"""Surface materials: camera albedo and LiDAR reflectivity, indexed by ``Material``."""

from __future__ import annotations

import enum

import numpy as np


class Material(enum.IntEnum):
    SKY = 0
    GRASS = 1
    ASPHALT = 2
    SIDEWALK = 3
    CURB = 4
    MARKING_WHITE = 5
    MARKING_YELLOW = 6
    SHOULDER = 7
    POLE = 8
    SIGN_BACK = 9
    SIGN_FACE = 10  # textured
    LIGHT_HOUSING = 11
    LIGHT_FACE = 12  # textured, emissive lamps
    VEHICLE_PAINT = 13  # coloured per actor
    GLASS = 14
    TYRE = 15
    CLOTHES = 16  # coloured per actor
    SKIN = 17
    BUILDING = 18  # façades, coloured per building
    WINDOW = 19
    ROOF = 20
    WALL = 21  # garden and boundary walls, coloured per wall
    FENCE = 22
    BARK = 23
    FOLIAGE = 24  # crowns and hedges, coloured per plant
    GUARD_RAIL = 25
    LAMP = 26  # street lamp heads: glow at night
    WINDOW_LIT = 27  # a window by day, a lit room at night


# Linear-ish RGB albedo in [0, 1].
ALBEDO = np.zeros((len(Material), 3), dtype=np.float32)
ALBEDO[Material.GRASS] = (0.28, 0.40, 0.18)
ALBEDO[Material.ASPHALT] = (0.22, 0.22, 0.23)
ALBEDO[Material.SIDEWALK] = (0.58, 0.56, 0.52)
ALBEDO[Material.CURB] = (0.66, 0.65, 0.62)
ALBEDO[Material.MARKING_WHITE] = (0.92, 0.92, 0.90)
ALBEDO[Material.MARKING_YELLOW] = (0.90, 0.70, 0.12)
ALBEDO[Material.SHOULDER] = (0.30, 0.30, 0.30)
ALBEDO[Material.POLE] = (0.52, 0.53, 0.55)
ALBEDO[Material.SIGN_BACK] = (0.60, 0.61, 0.62)
ALBEDO[Material.SIGN_FACE] = (1.0, 1.0, 1.0)
ALBEDO[Material.LIGHT_HOUSING] = (0.10, 0.11, 0.10)
ALBEDO[Material.LIGHT_FACE] = (1.0, 1.0, 1.0)
ALBEDO[Material.VEHICLE_PAINT] = (0.6, 0.6, 0.6)
ALBEDO[Material.GLASS] = (0.10, 0.13, 0.16)
ALBEDO[Material.TYRE] = (0.05, 0.05, 0.05)
ALBEDO[Material.CLOTHES] = (0.3, 0.3, 0.5)
ALBEDO[Material.SKIN] = (0.78, 0.60, 0.48)
ALBEDO[Material.BUILDING] = (0.62, 0.55, 0.48)
ALBEDO[Material.WINDOW] = (0.16, 0.17, 0.19)
ALBEDO[Material.ROOF] = (0.45, 0.22, 0.17)
ALBEDO[Material.WALL] = (0.55, 0.52, 0.48)
ALBEDO[Material.FENCE] = (0.42, 0.30, 0.20)
ALBEDO[Material.BARK] = (0.25, 0.18, 0.12)
ALBEDO[Material.FOLIAGE] = (0.16, 0.30, 0.11)
ALBEDO[Material.GUARD_RAIL] = (0.62, 0.64, 0.66)
ALBEDO[Material.LAMP] = (0.85, 0.84, 0.78)
ALBEDO[Material.WINDOW_LIT] = ALBEDO[Material.WINDOW]

# LiDAR reflectivity in [0, 1]: retro-reflective paint and sign sheeting are bright.
REFLECTIVITY = np.full(len(Material), 0.2, dtype=np.float32)
REFLECTIVITY[Material.GRASS] = 0.35
REFLECTIVITY[Material.ASPHALT] = 0.12
REFLECTIVITY[Material.SIDEWALK] = 0.25
REFLECTIVITY[Material.CURB] = 0.3
REFLECTIVITY[Material.MARKING_WHITE] = 0.6
REFLECTIVITY[Material.MARKING_YELLOW] = 0.55
REFLECTIVITY[Material.POLE] = 0.4
REFLECTIVITY[Material.SIGN_FACE] = 0.95
REFLECTIVITY[Material.LIGHT_FACE] = 0.5
REFLECTIVITY[Material.VEHICLE_PAINT] = 0.45
REFLECTIVITY[Material.GLASS] = 0.08
REFLECTIVITY[Material.TYRE] = 0.05
REFLECTIVITY[Material.CLOTHES] = 0.3
REFLECTIVITY[Material.SKIN] = 0.3
REFLECTIVITY[Material.BUILDING] = 0.35
REFLECTIVITY[Material.WINDOW] = 0.08
REFLECTIVITY[Material.ROOF] = 0.25
REFLECTIVITY[Material.WALL] = 0.35
REFLECTIVITY[Material.FENCE] = 0.3
REFLECTIVITY[Material.BARK] = 0.3
REFLECTIVITY[Material.FOLIAGE] = 0.4  # leaves are bright in the near infrared
REFLECTIVITY[Material.GUARD_RAIL] = 0.6
REFLECTIVITY[Material.LAMP] = 0.3
REFLECTIVITY[Material.WINDOW_LIT] = REFLECTIVITY[Material.WINDOW]

# Materials whose colour comes from a texture or the actor, not ALBEDO.
TEXTURED = (Material.SIGN_FACE, Material.LIGHT_FACE)
EMISSIVE = (Material.LIGHT_FACE,)
# Light on what glows once the lamps are on (dusk, night): lamp heads and lit windows;
# multiplied by the albedo like any light (a dark window times a warm 5: a lit room).
NIGHT_GLOW = {Material.LAMP: (1.25, 1.2, 1.0), Material.WINDOW_LIT: (5.2, 4.4, 2.9)}
