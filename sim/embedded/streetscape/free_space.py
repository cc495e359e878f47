"""Where street clutter may stand: a 0.5 m grid over the map.

Layers: ``taken``, nothing may stand there (every lane of every type, junctions,
crosswalks, the poles of signs and lights, what was placed already); ``view``, nothing
tall (the sight lines to signs and lights, the corners of junctions); ``no_parking``, no
parked car (crosswalks and the kerb beside them, junctions, signs and lights, cars
parked already); ``road``, the lanes alone (the terrain leaves out what they cover).
Polygons are drawn with Pillow once; the rectangles of placed things are tested and
claimed cell by cell.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CELL_M = 0.5
LAYERS = ("taken", "view", "no_parking", "road")


class FreeSpace:
    def __init__(self, lo_xy: np.ndarray, hi_xy: np.ndarray) -> None:
        self.origin = np.floor(np.asarray(lo_xy, float))
        size = np.ceil((np.asarray(hi_xy, float) - self.origin) / CELL_M).astype(int) + 1
        self.shape = (int(size[1]), int(size[0]))  # rows (y), columns (x)
        self._images = {name: Image.new("1", (self.shape[1], self.shape[0]), 0) for name in LAYERS}
        self._draw = {name: ImageDraw.Draw(img) for name, img in self._images.items()}
        self._grids: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ drawing
    def _px(self, xy: np.ndarray) -> list[tuple[float, float]]:
        cells = (np.asarray(xy, float)[:, :2] - self.origin) / CELL_M
        return [(float(c), float(r)) for c, r in cells]

    def forbid_polygon(self, xy: np.ndarray, layer: str = "taken") -> None:
        """A polygon (N, 2+) of the map that nothing (``view``: nothing tall) may cover."""
        self._draw[layer].polygon(self._px(xy), fill=1, outline=1)

    def forbid_strip(self, left: np.ndarray, right: np.ndarray, layer: str = "taken") -> None:
        """A lane strip between two (N, 2+) polylines, quad by quad (a curved strip's
        outline may cross itself; its quads do not)."""
        draw = self._draw[layer]
        lp, rp = self._px(left), self._px(right)
        for i in range(len(lp) - 1):
            draw.polygon([lp[i], lp[i + 1], rp[i + 1], rp[i]], fill=1, outline=1)

    def forbid_line(self, a: np.ndarray, b: np.ndarray, width_m: float, layer: str) -> None:
        draw = self._draw[layer]
        draw.line(self._px(np.array([a, b])), fill=1, width=max(1, round(width_m / CELL_M)))

    def forbid_disc(self, center: np.ndarray, radius_m: float, layer: str = "taken") -> None:
        (c, r), rad = self._px(np.asarray(center)[None, :2])[0], radius_m / CELL_M
        self._draw[layer].ellipse((c - rad, r - rad, c + rad, r + rad), fill=1, outline=1)

    def freeze(self) -> None:
        """Done drawing: the grids become arrays that placing tests and claims."""
        self._grids = {name: np.array(img, dtype=bool) for name, img in self._images.items()}

    # ------------------------------------------------------------------ placing
    def _cells(
        self, center: np.ndarray, yaw_rad: float, half_m: tuple[float, float]
    ) -> tuple[slice, slice, np.ndarray] | None:
        """The grid window around a rectangle (centre xy, yaw, half length and width) and
        the mask of its cells inside it; None when it leaves the grid."""
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        reach = abs(c) * half_m[0] + abs(s) * half_m[1], abs(s) * half_m[0] + abs(c) * half_m[1]
        lo = np.floor((center[:2] - reach - self.origin) / CELL_M).astype(int)
        hi = np.ceil((center[:2] + reach - self.origin) / CELL_M).astype(int) + 1
        if lo.min() < 0 or hi[0] > self.shape[1] or hi[1] > self.shape[0]:
            return None
        cols = self.origin[0] + (np.arange(lo[0], hi[0]) + 0.5) * CELL_M - center[0]
        rows = self.origin[1] + (np.arange(lo[1], hi[1]) + 0.5) * CELL_M - center[1]
        dx, dy = cols[None, :], rows[:, None]
        along = np.abs(dx * c + dy * s) <= half_m[0]
        across = np.abs(-dx * s + dy * c) <= half_m[1]
        return slice(lo[1], hi[1]), slice(lo[0], hi[0]), along & across

    def is_free(
        self,
        center: np.ndarray,
        yaw_rad: float,
        half_m: tuple[float, float],
        layers: tuple[str, ...] = ("taken",),
    ) -> bool:
        """Whether the rectangle lies on the grid and on no cell of ``layers``."""
        assert self._grids, "freeze() first"
        found = self._cells(center, yaw_rad, half_m)
        if found is None:
            return False
        rows, cols, mask = found
        return not any(np.any(self._grids[name][rows, cols] & mask) for name in layers)

    def claim(
        self,
        center: np.ndarray,
        yaw_rad: float,
        half_m: tuple[float, float],
        layer: str = "taken",
    ) -> None:
        """Take the rectangle's cells of ``layer``: nothing else will stand there."""
        assert self._grids, "freeze() first"
        found = self._cells(center, yaw_rad, half_m)
        if found is not None:
            rows, cols, mask = found
            self._grids[layer][rows, cols] |= mask

    def covered(self, xy: np.ndarray, layer: str) -> np.ndarray:
        """(N,) bool: whether each (N, 2) point lies on a cell of ``layer`` (off the grid:
        no)."""
        cell = np.floor((np.asarray(xy, float) - self.origin) / CELL_M).astype(np.int64)
        inside = (
            (cell >= 0).all(axis=1) & (cell[:, 0] < self.shape[1]) & (cell[:, 1] < self.shape[0])
        )
        out = np.zeros(cell.shape[0], dtype=bool)
        out[inside] = self._grids[layer][cell[inside, 1], cell[inside, 0]]
        return out
