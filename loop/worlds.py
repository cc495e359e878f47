"""The worlds a drive can happen in, by name: a plain dict of factories, no registry.
The CARLA one is imported only when picked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sim.carla.server import CarlaServer
from sim.rig import RigConfig
from sim.world import World


@dataclass(frozen=True)
class WorldOptions:
    """What building a world needs: the rig (None: the scenario's) and, for CARLA, the
    server."""

    rig: RigConfig | None = None
    carla: CarlaServer = field(default_factory=CarlaServer)


def _embedded(options: WorldOptions) -> World:
    from sim.embedded.world import EmbeddedWorld

    return EmbeddedWorld(options.rig)


def _carla(options: WorldOptions) -> World:
    from sim.carla.backend import CarlaWorld

    return CarlaWorld(options.rig, options.carla)


WORLDS: dict[str, Callable[[WorldOptions], World]] = {"embedded": _embedded, "carla": _carla}
