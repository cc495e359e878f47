"""Crosswalk outlines of a map, as ``carla.Map.get_crosswalks()`` lists them."""

from __future__ import annotations

import carla
import numpy as np


def crosswalk_polygons(carla_map: carla.Map) -> list[np.ndarray]:
    """CARLA lists crosswalk outlines back to back, each closed by repeating its first point."""
    polygons: list[np.ndarray] = []
    current: list[tuple[float, float, float]] = []
    for loc in carla_map.get_crosswalks():
        point = (loc.x, loc.y, loc.z)
        if current and np.allclose(point, current[0], atol=1e-3):
            polygons.append(np.array(current))
            current = []
        else:
            current.append(point)
    if len(current) >= 3:
        polygons.append(np.array(current))
    return [p for p in polygons if len(p) >= 3]
