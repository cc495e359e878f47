"""The worlds a drive happens in, behind one small protocol.

A ``World`` is used as a context manager: ``reset(scenario, seed)`` builds the scenario
and returns the first ``SensorFrame``, ``step(control)`` advances one physics step
(``1 / PHYSICS_HZ``) and returns the next, ``close()`` releases everything. After a
reset, ``drive_map()`` says what the closed loop needs beyond the frames: the map,
the planned route, the ego's size and every sign and light (for the scorer's law).

The protocol imports no backend; ``loop.worlds`` picks one by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import carla
import numpy as np

from maps.landmarks import LightSpec, SignSpec
from maps.lane_path import LanePath
from roadmind.messages import SensorFrame, VehicleControl
from sim.rig import RigConfig
from sim.scenario import Scenario


@dataclass(frozen=True)
class DriveMap:
    """What a world just reset tells the loop, whichever world it is.

    ego_extent_m: (3,) half sizes of the ego's box.
    signs, lights: every sign and light of the world (map landmarks and scenario-added
    signs), with the stop lines the scorer's law places on the route.
    poles_xy: (N, 2) poles the metrics check for contact; empty where a collision
    sensor reports contacts with the static world.
    """

    carla_map: carla.Map
    route: LanePath
    ego_extent_m: np.ndarray
    signs: tuple[SignSpec, ...]
    lights: tuple[LightSpec, ...]
    poles_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))


class World(Protocol):
    """reset / step / close and a context manager; ``scenario`` and ``rig`` are set by
    ``reset``."""

    scenario: Scenario
    rig: RigConfig

    def reset(self, scenario: Scenario, seed: int | None = None) -> SensorFrame: ...

    def step(self, control: VehicleControl) -> SensorFrame: ...

    def close(self) -> None: ...

    def drive_map(self) -> DriveMap: ...

    def __enter__(self) -> World: ...

    def __exit__(self, *exc: object) -> None: ...
