"""Fusion settings (configs/perception/fusion.yaml), strict like every config file."""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import Field

from fusion.occupancy import GridSpec
from fusion.tracking import TrackerConfig
from roadmind.config import StrictModel, load_model
from roadmind.resources import configs_dir

DEFAULT_FUSION_CONFIG = configs_dir() / "perception" / "fusion.yaml"


class SizePrior(StrictModel):
    """What the camera assumes of a class it places alone."""

    height_m: float = Field(gt=0.0)  # of the detected box's object (a sign: its face)
    width_m: float = Field(gt=0.0)  # used when the box is cut at the top or bottom
    # visible surface to centre: half its length seen end-on, half its width from the side
    half_length_m: float = Field(0.0, ge=0.0)
    half_width_m: float = Field(0.0, ge=0.0)

    def half_depth_m(self, bearing_rad: float) -> tuple[float, float]:
        """Surface-to-centre distance [m] along a line of sight ``bearing_rad`` off the
        ego's axis, for a road user heading along the road, and its 1-sigma error (the
        heading is a guess: half the spread between end-on and side-on)."""
        c, s = abs(math.cos(bearing_rad)), abs(math.sin(bearing_rad))
        depth = self.half_length_m * c + self.half_width_m * s
        return depth, (self.half_length_m - self.half_width_m) / 2.0


class ShapeLimits(StrictModel):
    """The largest LiDAR box a camera class may take: a pedestrian box on a 3.5 m
    light pole is a detector mistake, not a pedestrian."""

    max_height_m: float = Field(gt=0.0)
    max_length_m: float = Field(gt=0.0)


class PlausibleConfig(StrictModel):
    vehicle: ShapeLimits = ShapeLimits(max_height_m=4.5, max_length_m=14.0)
    pedestrian: ShapeLimits = ShapeLimits(max_height_m=2.4, max_length_m=1.5)


class LidarVetoConfig(StrictModel):
    """Within these ranges [m] a fresh scan would have hit a road user with dozens of
    returns (a car at 30 m: ~20 on 32 channels; a pedestrian at 15 m: ~20): a box the
    camera alone places there, with no obstacle return in it, is a picture of something
    else (a raised road, a facade) and is dropped. 0 turns the check off for a class."""

    vehicle: float = Field(30.0, ge=0.0)
    pedestrian: float = Field(15.0, ge=0.0)


class PriorsConfig(StrictModel):
    vehicle: SizePrior = SizePrior(height_m=1.5, width_m=1.8, half_length_m=2.2, half_width_m=0.9)
    pedestrian: SizePrior = SizePrior(
        height_m=1.7, width_m=0.5, half_length_m=0.25, half_width_m=0.25
    )
    traffic_sign: SizePrior = SizePrior(height_m=0.85, width_m=0.85)
    traffic_light: SizePrior = SizePrior(height_m=1.0, width_m=0.36)


class SensorTimingConfig(StrictModel):
    max_camera_lag_s: float = Field(0.06, ge=0.0)  # camera frame older than the scan
    max_lidar_age_s: float = Field(0.25, gt=0.0)  # no newer scan: positions from cameras
    max_camera_age_s: float = Field(0.25, gt=0.0)  # no newer frame: that camera is missing
    max_scene_age_s: float = Field(0.5, gt=0.0)  # no fusion cycle for longer: scene emptied


class SecondLookConfig(StrictModel):
    enabled: bool = True
    max_box_px: float = Field(40.0, gt=0.0)  # taller projections the frame already resolves
    max_range_m: float = Field(60.0, gt=0.0)
    max_looks: int = Field(6, ge=0)  # crops per scan, nearest objects first: bounds the cost
    crop_px: int = Field(256, ge=32)  # the crop's side once scaled up (run at 1.3x)
    min_crop_px: int = Field(64, ge=16)  # so at most crop_px / min_crop_px times larger
    context: float = Field(5.0, ge=1.0)  # crop side in projected-box heights
    probe_min_range_m: float = Field(20.0, ge=0.0)  # sparse returns nearer than this: no probe


class FusionConfig(StrictModel):
    min_iou: float = Field(0.25, ge=0.0, le=1.0)  # camera box vs projected LiDAR box
    object_range_m: float = Field(80.0, gt=0.0)
    sign_range_m: float = Field(60.0, gt=0.0)
    light_range_m: float = Field(150.0, gt=0.0)
    merge_m: float = Field(1.5, gt=0.0)  # camera-only placements this close are one object
    lidar_only_score: float = Field(0.3, ge=0.0, le=1.0)
    camera_only_score_factor: float = Field(0.8, ge=0.0, le=1.0)
    camera_only_min_score: float = Field(0.5, ge=0.0, le=1.0)
    lidar_veto_m: LidarVetoConfig = LidarVetoConfig()
    priors: PriorsConfig = PriorsConfig()
    plausible: PlausibleConfig = PlausibleConfig()
    timing: SensorTimingConfig = SensorTimingConfig()
    tracking: TrackerConfig = TrackerConfig()  # defined beside the tracker
    grid: GridSpec = GridSpec()  # defined beside the grid
    second_look: SecondLookConfig = SecondLookConfig()


def load_fusion_config(path: Path | None = None) -> FusionConfig:
    return load_model(FusionConfig, path or DEFAULT_FUSION_CONFIG)
