"""What each streetscape profile builds and how much: sizes and spacings drawn
uniformly from the ranges below, shares scaled by the scenario's density."""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class ProfileParams:
    building_share: float  # chance a frontage plot gets a building
    building_setback_m: Range  # façade behind the road's outer edge (the sidewalk's)
    building_width_m: Range  # along the street
    building_depth_m: Range
    building_gap_m: Range
    storeys: tuple[int, int]
    pitched_roof_share: float
    shopfront_share: float  # ground floors with wide windows
    boundary_share: float  # chance a plot's front gets a hedge, fence or wall
    boundary_weights: tuple[float, float, float]  # hedge, fence, wall
    tree_spacing_m: Range
    tree_offset_m: Range  # trunk behind the road's outer edge
    conifer_share: float
    lamp_spacing_m: float
    parked_fill: float  # share of kerb slots with a car
    hill_m: float  # hills' height away from the roads


PROFILES: dict[str, ProfileParams] = {
    "suburban": ProfileParams(
        building_share=0.75,
        building_setback_m=(6.0, 11.0),
        building_width_m=(8.0, 14.0),
        building_depth_m=(8.0, 12.0),
        building_gap_m=(5.0, 14.0),
        storeys=(1, 2),
        pitched_roof_share=0.8,
        shopfront_share=0.0,
        boundary_share=0.7,
        boundary_weights=(0.5, 0.3, 0.2),
        tree_spacing_m=(7.0, 16.0),
        tree_offset_m=(2.5, 6.0),
        conifer_share=0.3,
        lamp_spacing_m=38.0,
        parked_fill=0.4,
        hill_m=6.0,
    ),
    "urban": ProfileParams(
        building_share=0.92,
        building_setback_m=(0.6, 2.0),
        building_width_m=(10.0, 24.0),
        building_depth_m=(10.0, 18.0),
        building_gap_m=(0.5, 4.0),
        storeys=(3, 7),
        pitched_roof_share=0.15,
        shopfront_share=0.6,
        boundary_share=0.35,
        boundary_weights=(0.2, 0.35, 0.45),
        tree_spacing_m=(11.0, 22.0),
        tree_offset_m=(1.2, 2.0),
        conifer_share=0.05,
        lamp_spacing_m=28.0,
        parked_fill=0.7,
        hill_m=0.0,  # a town's streets hide any hills; triangles no one sees cost rays
    ),
}
