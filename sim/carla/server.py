"""Where the CARLA backend finds its server and how long it waits for it."""

from __future__ import annotations

from dataclasses import dataclass


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
