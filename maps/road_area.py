"""Where the map's roads are: how far a bird's-eye point lies beyond the nearest lane that
vehicles use (driving, parking, shoulder, ...), as ``carla.Map.get_waypoint`` finds it.

The LiDAR pipeline asks it of vehicle-shaped clusters, as Apollo's HD-map ROI filter and
Autoware's lanelet object filter do: a car-sized piece of hedge, fence or façade beside
the sidewalk is no vehicle on the road."""

from __future__ import annotations

import math

import carla
import numpy as np

# lanes a vehicle may stand on; sidewalks and verges are not among them
VEHICLE_LANES = (
    carla.LaneType.Driving
    | carla.LaneType.Bidirectional
    | carla.LaneType.Parking
    | carla.LaneType.Shoulder
    | carla.LaneType.Stop
    | carla.LaneType.Restricted
    | carla.LaneType.Biking
)
WALKABLE_LANES = VEHICLE_LANES | carla.LaneType.Sidewalk  # where people walk: and sidewalks


class RoadArea:
    """``RoadArea(carla_map).outside_m(points_xy, z_m)``: metres beyond the road's edge."""

    def __init__(self, carla_map: carla.Map, lane_types: carla.LaneType = VEHICLE_LANES) -> None:
        self.carla_map = carla_map
        self.lane_types = lane_types

    def outside_m(
        self, points_xy: np.ndarray, z_m: float, lane_types: carla.LaneType | None = None
    ) -> np.ndarray:
        """(N,) distance [m] of each world point (N, 2) beyond the nearest lane's edge (of
        ``lane_types``, default the area's); 0 on a lane (junctions included); inf where
        the map has no such lane at all."""
        types = self.lane_types if lane_types is None else lane_types
        out = np.zeros(points_xy.shape[0])
        for i, (x, y) in enumerate(points_xy):
            loc = carla.Location(float(x), float(y), float(z_m))
            if self.carla_map.get_waypoint(loc, project_to_road=False, lane_type=types):
                continue
            nearest = self.carla_map.get_waypoint(loc, project_to_road=True, lane_type=types)
            if nearest is None:
                out[i] = math.inf
                continue
            at = nearest.transform.location
            out[i] = max(0.0, math.hypot(at.x - x, at.y - y) - nearest.lane_width / 2.0)
        return out
