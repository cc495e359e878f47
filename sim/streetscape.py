"""A scenario's ``streetscape``: the clutter of real streets the embedded world builds
along the roads (buildings with windows, walls, fences, hedges, guard rails, trees,
street lamps, parked cars) and terrain that follows the roads' height. Off by default.

The CARLA backend ignores it: CARLA's towns bring their own buildings and props."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from roadmind.config import StrictModel

# suburban: detached houses set back behind front gardens (hedges, fences, low walls),
#   many trees, parked cars here and there;
# urban: terraces of 3-7 storeys close behind the sidewalk, street trees, walls, lamps,
#   parking lanes mostly full.
Profile = Literal["off", "suburban", "urban"]


class StreetscapeConfig(StrictModel):
    """``profile`` off: roads on a flat grass plane, as without the field. ``density``
    scales how much of everything the profile places (0: none of it, terrain only).
    ``seed``: the clutter's own seed; absent, the drive's seed (so a suite's seeds give
    different streets)."""

    profile: Profile = "off"
    density: float = Field(1.0, ge=0.0, le=2.0)
    parked_cars: bool = True  # along kerbs: parking lanes and shoulders 2 m wide or more
    terrain: bool = True  # ground at the roads' height, hills away from them
    seed: int | None = Field(None, ge=0, le=2**32 - 1)

    @property
    def enabled(self) -> bool:
        return self.profile != "off"
