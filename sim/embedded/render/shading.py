"""Per-triangle lighting, computed once per lighting instead of once per pixel.

The sun and the static geometry do not change during an episode, so the Lambert term
of every triangle is fixed for each of its two sides; a camera only has to pick the
side it sees, and that depends on its position, not on the pixel.

Once the lamps are on (dusk, night), lamp heads and lit windows glow and each street
lamp lights what lies around it, also per triangle (from its centre): pools of light
on the road, in 1 m bands as the road is meshed.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from sim.embedded.render.materials import EMISSIVE, NIGHT_GLOW, Material
from sim.embedded.render.rain import WET_DARKEN, WET_GROUND
from sim.lighting import Lighting

SIGN_MIN_LIGHT = 0.75  # retro-reflective sheeting: signs stay readable in low light
LAMP_RGB = np.array([1.0, 0.82, 0.55], np.float32)  # warm white
LAMP_REACH_M = 24.0  # a lamp lights triangles whose centre is this close
LAMP_HALF_M = 8.0  # its light is half as strong at this distance


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (T, 3) float32, same orientation as Open3D's hit normals, and each
    triangle's plane offset n . v0 (T,) float64."""
    v = vertices.astype(np.float64)
    v0, v1, v2 = v[triangles[:, 0]], v[triangles[:, 1]], v[triangles[:, 2]]
    n = np.cross(v1 - v0, v2 - v0)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n /= np.where(length > 0, length, 1.0)
    return n.astype(np.float32), np.einsum("ij,ij->i", n, v0)


def side_light(
    normal: np.ndarray,
    material: np.ndarray,
    lighting: Lighting,
    centroid: np.ndarray | None = None,
    lamps: np.ndarray | None = None,
) -> np.ndarray:
    """(2, T, 3) float32 light on each triangle's side its normal points to ([0]) and on
    its other side ([1]): ambient plus the sun where that side faces it, plus, with the
    lamps on, the street lamps at ``lamps`` (L, 3) on triangles centred at ``centroid``
    (T, 3)."""
    cos_sun = normal @ lighting.sun_dir
    lambert = np.clip(np.stack([cos_sun, -cos_sun]), 0.0, None)
    light = lighting.ambient_rgb + lambert[..., None] * lighting.sun_rgb
    if lighting.lamps_on and lamps is not None and centroid is not None and len(lamps):
        light += _lamp_light(normal, centroid, lamps)
    if lighting.rain > 0.0:  # a wet road is darker
        light[:, np.isin(material, WET_GROUND)] *= 1.0 - WET_DARKEN * lighting.rain
    signs = material == Material.SIGN_FACE
    light[:, signs] = np.maximum(light[:, signs], SIGN_MIN_LIGHT)
    light[:, np.isin(material, EMISSIVE)] = 1.0  # lamps are not lit, they glow
    if lighting.lamps_on:
        for glowing, rgb in NIGHT_GLOW.items():
            light[:, material == glowing] = rgb
    return light.astype(np.float32)


def _lamp_light(normal: np.ndarray, centroid: np.ndarray, lamps: np.ndarray) -> np.ndarray:
    """(2, T, 3) light the lamps throw on each side of each triangle: Lambert on the
    side facing the lamp, falling off as 1 / (1 + (d / LAMP_HALF_M)^2)."""
    out = np.zeros((2, centroid.shape[0], 3), np.float32)
    tree = cKDTree(centroid)
    for lamp, near in zip(lamps, tree.query_ball_point(lamps, LAMP_REACH_M), strict=True):
        if not near:
            continue
        idx = np.asarray(near)
        d = lamp - centroid[idx]
        dist = np.maximum(np.linalg.norm(d, axis=1), 0.3)
        cos = np.einsum("ij,ij->i", normal[idx], d) / dist
        strength = 1.0 / (1.0 + (dist / LAMP_HALF_M) ** 2)
        out[0, idx] += (np.clip(cos, 0.0, None) * strength)[:, None] * LAMP_RGB
        out[1, idx] += (np.clip(-cos, 0.0, None) * strength)[:, None] * LAMP_RGB
    return out
