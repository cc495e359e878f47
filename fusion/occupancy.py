"""Occupancy grid in the ego frame from non-ground LiDAR points.

Row 0 is the far edge ahead, column 0 the left edge, so the grid reads like the
bird's-eye pictures (x forward = up, y right = right). A cell is occupied (1) when at
least ``min_points`` obstacle points fall in it; everything else is 0 (free or unseen:
the grid does not ray-trace free space)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from roadmind.config import StrictModel


class GridSpec(StrictModel):
    """The grid's settings: ``grid`` in configs/perception/fusion.yaml (ego frame)."""

    ahead_m: float = Field(60.0, ge=0.0)
    behind_m: float = Field(20.0, ge=0.0)
    side_m: float = Field(30.0, ge=0.0)  # to each side
    resolution_m: float = Field(0.5, gt=0.0)
    min_points: int = Field(2, ge=1)  # obstacle points that make a cell occupied
    max_height_m: float = Field(2.5, gt=0.0)  # above ground: higher returns do not block

    @property
    def shape(self) -> tuple[int, int]:
        rows = round((self.ahead_m + self.behind_m) / self.resolution_m)
        cols = round(2 * self.side_m / self.resolution_m)
        return rows, cols

    def cell_of(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of ego-frame points (may fall outside the grid)."""
        rows = np.floor((self.ahead_m - x_m) / self.resolution_m).astype(np.int64)
        cols = np.floor((y_m + self.side_m) / self.resolution_m).astype(np.int64)
        return rows, cols


def occupancy(points_ego_m: np.ndarray, spec: GridSpec | None = None) -> np.ndarray:
    """(rows, cols) uint8 grid from (N, 3) obstacle points in the ego frame."""
    spec = spec or GridSpec()
    grid_shape = spec.shape
    if points_ego_m.size == 0:
        return np.zeros(grid_shape, np.uint8)
    finite = np.all(np.isfinite(points_ego_m[:, :2]), axis=1)
    rows, cols = spec.cell_of(points_ego_m[finite, 0], points_ego_m[finite, 1])
    inside = (rows >= 0) & (rows < grid_shape[0]) & (cols >= 0) & (cols < grid_shape[1])
    counts = np.bincount(
        rows[inside] * grid_shape[1] + cols[inside], minlength=grid_shape[0] * grid_shape[1]
    )
    return (counts >= spec.min_points).astype(np.uint8).reshape(grid_shape)
