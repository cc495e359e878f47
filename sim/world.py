"""The worlds a drive happens in, behind one small protocol.

A ``World`` is used as a context manager: ``reset(scenario, seed)`` builds the scenario
and returns the first ``SensorFrame``, ``step(control)`` advances one physics step
(``1 / PHYSICS_HZ``) and returns the next, ``close()`` releases everything. After a
reset, ``drive_map()`` says what the closed loop needs beyond the frames: the map,
the planned route, the ego's size and every sign and light (for the truth context).

``WORLDS`` picks a backend by name: a plain dict of factories, no registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import carla
import numpy as np

from reasoning.lane_path import LanePath
from roadmind.messages import SensorFrame, VehicleControl
from sim.landmarks import LightSpec, SignSpec
from sim.rig import RigConfig
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.drive import DriveOptions


@dataclass(frozen=True)
class DriveMap:
    """What a world just reset tells the loop, whichever world it is.

    ego_extent_m: (3,) half sizes of the ego's box.
    signs, lights: every sign and light of the world (map landmarks and scenario-added
    signs), with the stop lines the truth context places on the route.
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


@dataclass(frozen=True)
class CarlaServer:
    """Where the CARLA backend finds its server and how long it waits for it."""

    host: str = "127.0.0.1"
    port: int = 2000
    town: str | None = None  # default: the scenario's map when it names a CARLA town
    timeout_s: float = 20.0  # one server call, a world tick included
    load_timeout_s: float = 120.0  # loading a town or building an OpenDRIVE world
    sensor_timeout_s: float = 5.0  # one frame of sensor data, after the tick that made it
    connect_attempts: int = 5
    connect_timeout_s: float = 2.0  # one connection attempt; backoff between attempts
    tm_port: int = 8000  # Traffic Manager


def _embedded(options: DriveOptions) -> World:
    from sim.embedded import EmbeddedWorld

    return EmbeddedWorld(options.rig)


def _carla(options: DriveOptions) -> World:
    from sim.carla_backend import CarlaWorld

    return CarlaWorld(options.rig, options.carla)


# Backends by name; the CARLA one is imported only when picked.
WORLDS: dict[str, Callable[[DriveOptions], World]] = {"embedded": _embedded, "carla": _carla}
