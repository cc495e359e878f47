"""Matching located signs and lights to the map's landmarks.

A perceived sign or light, placed in the world frame, is matched to the nearest map
landmark of its kind inside a gate that widens with range (camera placements get
vaguer with distance). The landmark says which traffic it governs: one that governs
another direction is a sign seen from the side or the back, so the detection is not
for us. A matched sign takes its meaning from the map (type, value); an unmatched one
is kept, with what the camera alone can say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadmind.messages import ObjectClass, SignType

GATE_M = 3.0
GATE_PER_M = 0.1  # extra gate per metre of range
FACING_COS = math.cos(math.radians(50))  # landmark governs our direction of travel


@dataclass(frozen=True, slots=True)
class KnownLandmark:
    """A sign or light the map has. position_m: (3,) world foot of the pole [m];
    traffic_yaw_rad: driving direction of the traffic it governs (world)."""

    landmark_id: int
    kind: ObjectClass  # TRAFFIC_SIGN or TRAFFIC_LIGHT
    position_m: np.ndarray
    traffic_yaw_rad: float
    sign_type: SignType | None = None
    value: float = 0.0
    unit: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (ObjectClass.TRAFFIC_SIGN, ObjectClass.TRAFFIC_LIGHT):
            raise ValueError(f"KnownLandmark.kind must be a sign or a light, got {self.kind}")


@dataclass(frozen=True, slots=True)
class LandmarkMatch:
    landmark: KnownLandmark | None  # None: not on the map
    for_us: bool  # False: the map says it governs another direction


def match_landmark(
    kind: ObjectClass,
    position_world_m: np.ndarray,
    range_m: float,
    ego_yaw_rad: float,
    landmarks: Sequence[KnownLandmark],
) -> LandmarkMatch:
    """The nearest landmark of ``kind`` for our direction within the gate. Only when
    there is none, a landmark for another direction in the gate says the detection is
    its back or side (junction corners carry signs for every approach, and a camera
    placement is vague enough to land nearer a cross-street one)."""
    gate = GATE_M + GATE_PER_M * range_m
    ours, ours_d = None, gate
    theirs_seen = False
    for lm in landmarks:
        if lm.kind is not kind:
            continue
        d = float(np.hypot(*(lm.position_m[:2] - position_world_m[:2])))
        if d > gate:
            continue
        if math.cos(lm.traffic_yaw_rad - ego_yaw_rad) >= FACING_COS:
            if d <= ours_d:
                ours, ours_d = lm, d
        else:
            theirs_seen = True
    if ours is not None:
        return LandmarkMatch(ours, True)
    return LandmarkMatch(None, not theirs_seen)
