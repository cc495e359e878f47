"""Settings of the LiDAR pipeline (``configs/perception/lidar.yaml``), one model per stage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from roadmind.config import StrictModel, load_model
from roadmind.resources import configs_dir

DEFAULT_CONFIG_PATH = configs_dir() / "perception" / "lidar.yaml"


class CropConfig(StrictModel):
    min_range_m: float = Field(1.5, ge=0.0)  # bird's-eye distance from the sensor
    max_range_m: float = Field(60.0, gt=0.0, le=500.0)
    max_height_m: float = Field(4.0, gt=0.0)  # above the ground; drops overhanging structure
    voxel_m: float = Field(0.15, ge=0.0)  # box fitting thins points to one per voxel; 0: all

    @model_validator(mode="after")
    def _range_order(self) -> CropConfig:
        if self.min_range_m >= self.max_range_m:
            raise ValueError(
                f"min_range_m ({self.min_range_m}) must be below max_range_m ({self.max_range_m})"
            )
        return self


class GroundConfig(StrictModel):
    method: Literal["patchwork", "opening"] = "patchwork"
    margin_m: float = Field(4.0, ge=0.0)  # patchwork: ground estimated this far beyond range
    cell_m: float = Field(1.0, gt=0.0)  # grid of local ground heights (opening: lowest points)
    height_m: float = Field(0.25, gt=0.0)  # points this close above the local ground are ground
    # patchwork: a point of a bin's ground plane within this distance [m] (Patchwork++'s th_dist)
    plane_tolerance_m: float = Field(0.125, gt=0.0)
    # patchwork: a near ring's plane whose mean lies higher than this above the ground under
    # the sensor is not ground (rings 1-4 of Patchwork++'s concentric zones; the values of
    # the Patchwork paper, Lim et al. 2021): a car's roof beside the ego is not road
    max_rise_m: list[float] = Field(default_factory=lambda: [0.523, 0.746, 0.879, 1.125])
    window_m: float = Field(24.0, gt=0.0)  # opening: wider than any road user
    cell_tolerance_m: float = Field(0.15, ge=0.0)  # opening: a cell's own lowest point is
    # ground if this close to the opened surface (keeps sidewalk cells at their own height)


class OutlierConfig(StrictModel):
    range_m: float = Field(12.0, ge=0.0)  # non-ground returns this near are checked; 0: off
    cell_m: float = Field(0.25, gt=0.0)  # with fewer than min_neighbours other returns in
    min_neighbours: int = Field(3, ge=1)  # their voxel and the 26 around: dropped (drops
    # of rain or spray; a surface this near has returns every few centimetres)


class ClusterConfig(StrictModel):
    method: Literal["grid", "dbscan"] = "grid"
    grid_cell_m: float = Field(0.3, gt=0.0)  # occupancy cell; 8-connected cells join
    dbscan_eps_m: float = Field(0.5, gt=0.0)  # neighbour radius in the bird's-eye plane
    dbscan_min_points: int = Field(2, ge=1)
    warp_from_m: float = Field(0.0, ge=0.0)  # beyond this range, cluster in a plane
    warp_scale_m: float = Field(15.0, ge=0.0)  # warped radially by r0 ln(1 + (r - r1) / r0)
    # about the sensor: far gaps shrink as the rings spread (at 30 m the rings on a car's
    # front are 1.4 m apart); r1 > 0 keeps true distances nearer than r1; r0 = 0: off
    split_length_m: float = Field(8.0, gt=0.0)  # longer clusters are searched for walls
    line_tolerance_m: float = Field(0.3, gt=0.0)  # a wall's cells lie this close to its line
    line_gap_m: float = Field(1.5, gt=0.0)  # a run along a line ends at a wider gap
    wall_band_m: float = Field(1.0, ge=0.0)  # cells this near a wall's run go with it


class SizeRange(StrictModel):
    """Bird's-eye long side, short side and height above ground [m] of a class."""

    min_length_m: float = Field(ge=0.0)
    max_length_m: float = Field(gt=0.0)
    max_width_m: float = Field(gt=0.0)
    min_height_m: float = Field(ge=0.0)
    max_height_m: float = Field(gt=0.0)


class ObjectConfig(StrictModel):
    min_points: int = Field(5, ge=1)
    min_height_m: float = Field(0.4, ge=0.0)  # lower clusters: curb and ground remnants
    max_length_m: float = Field(15.0, gt=0.0)  # longer: walls, hedges, guard rails
    min_span_m: float = Field(0.15, ge=0.0)  # returns spanning less height, nearer than
    layer_range_m: float = Field(20.0, ge=0.0)  # this: a flat layer (ground remnant)
    max_area_m2: float = Field(40.0, gt=0.0)  # bigger footprint: vegetation, buildings
    wall_min_length_m: float = Field(6.0, gt=0.0)  # thin and longer than a car: wall, fence
    wall_max_width_m: float = Field(0.8, ge=0.0)  # a hedge is 0.4-1 m thick; a car's
    # side seen along it is a car's length, shorter than wall_min_length_m
    rail_max_width_m: float = Field(0.4, ge=0.0)  # a guard rail: this thin, ...
    rail_max_height_m: float = Field(1.2, gt=0.0)  # thin, this low and over a car's length
    # (wall_min_length_m): guard rail; a truck's side seen from beside it is taller
    flat_max_width_m: float = Field(0.6, ge=0.0)  # this thin and tall_vehicle_height_m
    # high: a façade, garage or wall piece, unknown
    high_m: float = Field(4.5, gt=0.0)  # cells with returns this high above the ground ...
    high_fraction: float = Field(0.3, ge=0.0, le=1.0)  # ... in this share of a cluster's
    # cells: façade, tree or pole structure, not a road user
    canopy_low_m: float = Field(1.0, ge=0.0)  # a cluster at least tall_vehicle_height_m
    canopy_max_low_share: float = Field(0.5, ge=0.0, le=1.0)  # high with returns lower than
    # canopy_low_m in under this share of its cells: a crown on a trunk, unknown
    ceiling_margin_m: float = Field(0.3, ge=0.0)  # a cluster with returns this near the
    # crop's ceiling (crop.max_height_m) is cut off there: it goes on up (a façade or a tree
    # near the sensor, whose upper part no ring reaches), unknown
    porous_points_per_cell_m: float = Field(0.0, ge=0.0)  # points per occupied cell times
    # range below this: scattered returns (vegetation); 0 turns the rule off
    # widths: no road vehicle is wider than 2.55-2.6 m (EU 96/53/EC, US 102 in) plus the
    # fit's slack; a wider footprint is a building, a garage, a hedge or merged things.
    # Heights: hardly anyone is taller than 2.1 m; sign posts are
    vehicle: SizeRange = SizeRange(
        min_length_m=1.3, max_length_m=13.0, max_width_m=2.8, min_height_m=0.5, max_height_m=4.3
    )
    pedestrian: SizeRange = SizeRange(
        min_length_m=0.2, max_length_m=1.2, max_width_m=1.2, min_height_m=0.9, max_height_m=2.1
    )
    pole_max_width_m: float = Field(0.15, ge=0.0)  # lower half this narrow (one column) ...
    pole_top_extra_m: float = Field(0.3, ge=0.0)  # ... and the upper half this much wider:
    # a post carrying a sign or a lamp, not a person (legs and body are about as wide)
    vehicle_prior_length_m: float = Field(4.2, gt=0.0)  # box completion of partial views
    vehicle_prior_width_m: float = Field(1.8, gt=0.0)
    tall_vehicle_height_m: float = Field(2.6, gt=0.0)  # taller: truck or bus, longer prior
    tall_vehicle_prior_length_m: float = Field(7.0, gt=0.0)
    vehicle_face_max_m: float = Field(2.7, gt=0.0)  # shorter long side: maybe one face only
    off_road_max_m: float = Field(1.0, ge=0.0)  # with a map: a vehicle-shaped cluster whose
    # centre lies farther beyond the road's lanes is a hedge, fence or façade piece, unknown
    off_walk_max_m: float = Field(1.5, ge=0.0)  # with a map: a person-shaped cluster this
    # far beyond the road and its sidewalks (in a garden, a hedge, a façade), unknown


class LidarPipelineConfig(StrictModel):
    crop: CropConfig = CropConfig()
    ground: GroundConfig = GroundConfig()
    outliers: OutlierConfig = OutlierConfig()
    cluster: ClusterConfig = ClusterConfig()
    objects: ObjectConfig = ObjectConfig()


def load_lidar_config(path: Path | None = None) -> LidarPipelineConfig:
    """The YAML config (default: configs/perception/lidar.yaml); errors name file and field."""
    return load_model(LidarPipelineConfig, path or DEFAULT_CONFIG_PATH)
