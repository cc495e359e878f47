"""Per-triangle lighting, computed once per lighting instead of once per pixel.

The sun and the static geometry do not change during an episode, so the Lambert term
of every triangle is fixed for each of its two sides; a camera only has to pick the
side it sees, and that depends on its position, not on the pixel.
"""

from __future__ import annotations

import numpy as np

from sim.embedded.render.materials import EMISSIVE, Material
from sim.lighting import Lighting

SIGN_MIN_LIGHT = 0.75  # retro-reflective sheeting: signs stay readable in low light


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (T, 3) float32, same orientation as Open3D's hit normals, and each
    triangle's plane offset n . v0 (T,) float64."""
    v = vertices.astype(np.float64)
    v0, v1, v2 = v[triangles[:, 0]], v[triangles[:, 1]], v[triangles[:, 2]]
    n = np.cross(v1 - v0, v2 - v0)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n /= np.where(length > 0, length, 1.0)
    return n.astype(np.float32), np.einsum("ij,ij->i", n, v0)


def side_light(normal: np.ndarray, material: np.ndarray, lighting: Lighting) -> np.ndarray:
    """(2, T, 3) float32 light on each triangle's side its normal points to ([0]) and on
    its other side ([1]): ambient plus the sun where that side faces it."""
    cos_sun = normal @ lighting.sun_dir
    lambert = np.clip(np.stack([cos_sun, -cos_sun]), 0.0, None)
    light = lighting.ambient_rgb + lambert[..., None] * lighting.sun_rgb
    signs = material == Material.SIGN_FACE
    light[:, signs] = np.maximum(light[:, signs], SIGN_MIN_LIGHT)
    light[:, np.isin(material, EMISSIVE)] = 1.0  # lamps are not lit, they glow
    return light.astype(np.float32)
