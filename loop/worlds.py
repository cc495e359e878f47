"""The worlds a drive can happen in, by name: a plain dict of factories, no registry.
The CARLA and replay ones are imported only when picked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sim.carla.server import CarlaServer
from sim.replay.source import ReplaySource
from sim.rig import RigConfig
from sim.world import World


@dataclass(frozen=True)
class WorldOptions:
    """What building a world needs: the rig (None: the scenario's), for CARLA the
    server, for replay the log."""

    rig: RigConfig | None = None
    carla: CarlaServer = field(default_factory=CarlaServer)
    replay: ReplaySource | None = None


def _embedded(options: WorldOptions) -> World:
    from sim.embedded.world import EmbeddedWorld

    return EmbeddedWorld(options.rig)


def _carla(options: WorldOptions) -> World:
    from sim.carla.backend import CarlaWorld

    return CarlaWorld(options.rig, options.carla)


def _replay(options: WorldOptions) -> World:
    from sim.replay.world import ReplayWorld

    if options.replay is None:
        raise ValueError("the replay world needs a log (WorldOptions.replay)")
    return ReplayWorld(options.replay)


WORLDS: dict[str, Callable[[WorldOptions], World]] = {
    "embedded": _embedded,
    "carla": _carla,
    "replay": _replay,
}
