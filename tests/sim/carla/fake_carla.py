"""A fake of the CARLA client API boundary, for testing sim.carla.backend without a server.

``FakeServer`` stands for one CARLA server; its ``client`` method is the
``carla.Client(host, port)`` factory the backend takes. Behind it: a world with
settings, a blueprint library, actors (vehicles, walkers, sensors, walker AI
controllers, traffic lights), a Traffic Manager and ticks that deliver sensor data in
CARLA's layouts. Only the calls the backend makes exist, with CARLA's names and
argument orders. Value types (Transform, Location, Vector3D, VehicleControl,
WorldSettings, WeatherParameters, Map and its Waypoints) are the real ``carla``
package's: they need no server.

Knobs for failures: ``unreachable_attempts`` (connection time-outs), ``version``,
``drop`` (sensor messages never delivered), ``on_tick`` (raise mid-drive),
``spawn_fails``, ``destroy_fails``, ``ctrl_c_on_destroy`` and ``gone`` (a dead
server: destroying and settings calls time out). ``log`` records calls in order.
"""

from __future__ import annotations

import fnmatch
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import carla

FAKE_DT_S = 0.05
MAX_STEER_DEG = 70.0
LIDAR_POINTS = 64


def copy_settings(s: carla.WorldSettings) -> carla.WorldSettings:
    out = carla.WorldSettings(
        synchronous_mode=s.synchronous_mode,
        no_rendering_mode=s.no_rendering_mode,
        fixed_delta_seconds=s.fixed_delta_seconds or 0.0,
    )
    out.fixed_delta_seconds = s.fixed_delta_seconds
    return out


def camera_bytes(width: int, height: int, frame: int) -> bytes:
    """BGRA row by row, each pixel packed on its own: B = column, G = row, R = frame,
    A = 255 (all mod 256)."""
    return b"".join(
        struct.pack("<4B", c % 256, r % 256, frame % 256, 255)
        for r in range(height)
        for c in range(width)
    )


def lidar_points(frame: int) -> list[tuple[float, float, float, float]]:
    return [(1.0 + i, -0.5 * i, 0.25 * frame, i / LIDAR_POINTS) for i in range(LIDAR_POINTS)]


def lidar_bytes(frame: int) -> bytes:
    return b"".join(struct.pack("<4f", *p) for p in lidar_points(frame))


# --------------------------------------------------------------------------- blueprints


class FakeAttribute:
    def __init__(self, value: str) -> None:
        self.value = value

    def as_int(self) -> int:
        return int(self.value)

    def as_str(self) -> str:
        return self.value

    def __str__(self) -> str:
        return self.value


class FakeBlueprint:
    def __init__(self, bp_id: str, **attributes: str) -> None:
        self.id = bp_id
        self.attributes = dict(attributes)

    def has_attribute(self, name: str) -> bool:
        return name in self.attributes

    def get_attribute(self, name: str) -> FakeAttribute:
        return FakeAttribute(self.attributes[name])

    def set_attribute(self, name: str, value: str) -> None:
        if name not in self.attributes:  # as CARLA: unknown attributes are an error
            raise IndexError(f"blueprint {self.id!r} has no attribute {name!r}")
        if not isinstance(value, str):
            raise TypeError("CARLA blueprint attributes are strings")
        self.attributes[name] = value

    def copy(self) -> FakeBlueprint:
        return FakeBlueprint(self.id, **self.attributes)


CAMERA_ATTRIBUTES = ("image_size_x", "image_size_y", "fov", "sensor_tick", "role_name")
LIDAR_ATTRIBUTES = (
    "channels",
    "range",
    "points_per_second",
    "rotation_frequency",
    "upper_fov",
    "lower_fov",
    "horizontal_fov",
    "noise_stddev",
    "dropoff_general_rate",
    "dropoff_intensity_limit",
    "dropoff_zero_intensity",
    "sensor_tick",
    "role_name",
)


def catalog() -> list[FakeBlueprint]:
    car = {"number_of_wheels": "4", "color": "0,0,0", "role_name": "autopilot"}
    return [
        FakeBlueprint("vehicle.lincoln.mkz_2020", **car),
        FakeBlueprint("vehicle.mini.cooper_s_2021", **car),
        FakeBlueprint("vehicle.carlamotors.carlacola", **car),
        FakeBlueprint("vehicle.diamondback.century", number_of_wheels="2", role_name=""),
        FakeBlueprint("walker.pedestrian.0001", age="adult", is_invincible="true"),
        FakeBlueprint("walker.pedestrian.0011", age="child", is_invincible="true"),
        FakeBlueprint("sensor.camera.rgb", **{k: "0" for k in CAMERA_ATTRIBUTES}),
        FakeBlueprint("sensor.lidar.ray_cast", **{k: "0" for k in LIDAR_ATTRIBUTES}),
        FakeBlueprint("sensor.other.collision"),
        FakeBlueprint("sensor.other.lane_invasion"),
        FakeBlueprint("controller.ai.walker"),
    ]


class FakeBlueprintLibrary:
    def __init__(self, blueprints: list[FakeBlueprint]) -> None:
        self.blueprints = blueprints

    def filter(self, pattern: str) -> list[FakeBlueprint]:
        return [bp.copy() for bp in self.blueprints if fnmatch.fnmatchcase(bp.id, pattern)]

    def find(self, bp_id: str) -> FakeBlueprint:
        found = self.filter(bp_id)
        if not found:
            raise IndexError(f"no blueprint {bp_id!r}")
        return found[0]


# --------------------------------------------------------------------------- actors


class FakeActor:
    def __init__(
        self,
        world: FakeWorld,
        actor_id: int,
        blueprint: FakeBlueprint,
        transform: carla.Transform,
        parent: FakeActor | None = None,
    ) -> None:
        self.world = world
        self.id = actor_id
        self.type_id = blueprint.id
        self.attributes = dict(blueprint.attributes)
        self.transform = transform
        self.parent = parent
        self.velocity = carla.Vector3D()
        self.destroyed = False
        self.bounding_box = carla.BoundingBox(
            carla.Location(0, 0, 0.8), carla.Vector3D(0.3, 0.3, 0.8)
        )

    def _log(self, what: str) -> None:
        self.world.server.log.append(f"{what} {self.id} {self.type_id}")

    def get_transform(self) -> carla.Transform:
        if self.parent is not None:
            return self.parent.get_transform()
        return self.transform

    def get_location(self) -> carla.Location:
        return self.get_transform().location

    def get_velocity(self) -> carla.Vector3D:
        return self.velocity

    def get_acceleration(self) -> carla.Vector3D:
        return carla.Vector3D()

    def get_angular_velocity(self) -> carla.Vector3D:
        return carla.Vector3D()

    def set_target_velocity(self, velocity: carla.Vector3D) -> None:
        self.velocity = velocity
        self._log("set_target_velocity")

    def destroy(self) -> bool:
        self.world.server.answer()
        if self.id in self.world.server.destroy_fails:
            raise RuntimeError(f"failed to destroy actor {self.id}")
        if self.id == self.world.server.ctrl_c_on_destroy:
            self.world.server.ctrl_c_on_destroy = None
            raise KeyboardInterrupt
        if self.destroyed:
            raise RuntimeError(f"actor {self.id} destroyed twice")
        if isinstance(self, FakeSensor) and self.listening:
            self._log("destroy-while-listening")
        self.destroyed = True
        self.world.actors.pop(self.id, None)
        self._log("destroy")
        return True


@dataclass
class FakeWheel:
    max_steer_angle: float


@dataclass
class FakePhysicsControl:
    wheels: list[FakeWheel] = field(
        default_factory=lambda: [FakeWheel(MAX_STEER_DEG)] * 2 + [FakeWheel(0.0)] * 2
    )


class FakeVehicle(FakeActor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bounding_box = carla.BoundingBox(
            carla.Location(0.1, 0.0, 0.75), carla.Vector3D(2.4, 1.0, 0.75)
        )
        self.control = carla.VehicleControl()
        self.autopilot = False
        self.speed_mps = 0.0

    def apply_control(self, control: carla.VehicleControl) -> None:
        self.control = control

    def get_control(self) -> carla.VehicleControl:
        return self.control

    def set_autopilot(self, enabled: bool = True, port: int = 8000) -> None:
        self.autopilot = enabled
        self._log(f"set_autopilot({enabled}, {port})")

    def get_physics_control(self) -> FakePhysicsControl:
        return FakePhysicsControl()

    def set_target_velocity(self, velocity: carla.Vector3D) -> None:
        super().set_target_velocity(velocity)
        self.speed_mps = math.hypot(velocity.x, velocity.y)

    def advance(self, dt_s: float) -> None:
        """Kinematic bicycle on the last control (Traffic Manager cars hold still)."""
        if self.autopilot:
            return
        c = self.control
        accel = 3.5 * c.throttle - 9.0 * c.brake
        self.speed_mps = 0.0 if c.hand_brake else max(0.0, self.speed_mps + accel * dt_s)
        rot = self.transform.rotation
        yaw = math.radians(rot.yaw)
        steer = c.steer * math.radians(MAX_STEER_DEG)
        yaw += self.speed_mps / 2.8 * math.tan(steer) * dt_s
        loc = self.transform.location
        x = loc.x + self.speed_mps * math.cos(yaw) * dt_s
        y = loc.y + self.speed_mps * math.sin(yaw) * dt_s
        self.transform = carla.Transform(
            carla.Location(x, y, loc.z), carla.Rotation(pitch=0.0, yaw=math.degrees(yaw), roll=0.0)
        )
        self.velocity = carla.Vector3D(
            self.speed_mps * math.cos(yaw), self.speed_mps * math.sin(yaw), 0.0
        )


class FakeWalker(FakeActor):
    pass


class FakeSensor(FakeActor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.callback: Callable[[Any], None] | None = None
        self.listening = False

    def listen(self, callback: Callable[[Any], None]) -> None:
        self.callback = callback
        self.listening = True
        self._log("listen")

    def stop(self) -> None:
        self.listening = False
        self._log("stop")

    def is_listening(self) -> bool:
        return self.listening


class FakeWalkerController(FakeActor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = False
        self.destinations: list[carla.Location] = []
        self.max_speed_mps: float | None = None

    def start(self) -> None:
        self.started = True
        self._log("start")

    def stop(self) -> None:
        self.started = False
        self._log("stop")

    def go_to_location(self, destination: carla.Location) -> None:
        self.destinations.append(destination)

    def set_max_speed(self, speed: float = 1.4) -> None:
        self.max_speed_mps = speed


class FakeTrafficLight(FakeActor):
    def __init__(self, *args: Any, opendrive_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.opendrive_id = opendrive_id
        self.state = carla.TrafficLightState.Red
        self.times = {"green": 10.0, "yellow": 3.0, "red": 2.0}

    def get_opendrive_id(self) -> str:
        return self.opendrive_id

    def get_state(self) -> carla.TrafficLightState:
        return self.state

    def get_green_time(self) -> float:
        return self.times["green"]

    def get_yellow_time(self) -> float:
        return self.times["yellow"]

    def get_red_time(self) -> float:
        return self.times["red"]

    def set_green_time(self, value: float) -> None:
        self.times["green"] = value

    def set_yellow_time(self, value: float) -> None:
        self.times["yellow"] = value

    def set_red_time(self, value: float) -> None:
        self.times["red"] = value


class FakeActorList(list):
    def filter(self, pattern: str) -> FakeActorList:
        return FakeActorList(a for a in self if fnmatch.fnmatchcase(a.type_id, pattern))


# --------------------------------------------------------------------------- sensor data


@dataclass
class FakeImage:
    frame: int
    width: int
    height: int
    raw_data: bytes


@dataclass
class FakeLidarMeasurement:
    frame: int
    raw_data: bytes


@dataclass
class FakeCollisionEvent:
    frame: int
    other_actor: Any
    normal_impulse: carla.Vector3D


@dataclass
class FakeLaneMarking:
    type: carla.LaneMarkingType


@dataclass
class FakeLaneInvasionEvent:
    frame: int
    crossed_lane_markings: list[FakeLaneMarking]


@dataclass
class FakeStatic:
    """A piece of the static world as a collision's other actor."""

    id: int
    type_id: str


# --------------------------------------------------------------------------- world, server


class FakeTrafficManager:
    def __init__(self, server: FakeServer, port: int) -> None:
        self.server = server
        self.port = port
        self.synchronous = False
        self.seed: int | None = None
        self.desired_kmh: dict[int, float] = {}

    def get_port(self) -> int:
        return self.port

    def set_synchronous_mode(self, mode_switch: bool = True) -> None:
        self.server.answer()
        self.synchronous = mode_switch
        self.server.log.append(f"tm.set_synchronous_mode({mode_switch})")

    def set_random_device_seed(self, value: int) -> None:
        self.seed = value

    def set_desired_speed(self, actor: FakeActor, speed: float) -> None:
        self.desired_kmh[actor.id] = speed

    def auto_lane_change(self, actor: FakeActor, enable: bool) -> None:
        pass


class FakeWorld:
    def __init__(self, server: FakeServer, map_name: str, xodr: str) -> None:
        self.server = server
        self.map_name = map_name
        self.xodr = xodr
        self._map: carla.Map | None = None
        self.settings = carla.WorldSettings()
        self.frame = 1000  # server frames do not start at 0
        self.actors: dict[int, FakeActor] = {}
        self.next_id = 100
        self.weather: carla.WeatherParameters | None = None
        self.lights_reset = 0
        for lm in self.get_map().get_all_landmarks():
            if lm.type == "1000001" and not any(
                isinstance(a, FakeTrafficLight) and a.opendrive_id == lm.id
                for a in self.actors.values()
            ):
                self._add(
                    FakeTrafficLight,
                    FakeBlueprint("traffic.traffic_light"),
                    lm.transform,
                    opendrive_id=lm.id,
                )

    def _add(self, cls: type, bp: FakeBlueprint, transform: Any, parent: Any = None, **kw: Any):
        self.next_id += 1
        actor = cls(self, self.next_id, bp, transform, parent, **kw)
        self.actors[actor.id] = actor
        return actor

    def get_map(self) -> carla.Map:
        if self._map is None:
            self._map = carla.Map(self.map_name, self.xodr)
        return self._map

    def get_settings(self) -> carla.WorldSettings:
        return copy_settings(self.settings)

    def apply_settings(self, settings: carla.WorldSettings) -> int:
        self.server.answer()
        self.settings = copy_settings(settings)
        self.server.log.append(
            f"apply_settings(sync={settings.synchronous_mode}, dt={settings.fixed_delta_seconds})"
        )
        return self.frame

    def get_blueprint_library(self) -> FakeBlueprintLibrary:
        return FakeBlueprintLibrary(catalog())

    def spawn_actor(
        self,
        blueprint: FakeBlueprint,
        transform: carla.Transform,
        attach_to: FakeActor | None = None,
        attachment_type: Any = None,
    ) -> FakeActor:
        if self.server.spawn_fails(blueprint.id):
            raise RuntimeError("Spawn failed because of collision at spawn position")
        prefix = blueprint.id.split(".")[0]
        cls = {
            "vehicle": FakeVehicle,
            "walker": FakeWalker,
            "sensor": FakeSensor,
            "controller": FakeWalkerController,
        }[prefix]
        if attach_to is not None:
            assert attach_to.id in self.actors, "attached to an actor that is gone"
        actor = self._add(cls, blueprint, transform, attach_to)
        actor._log("spawn")
        return actor

    def get_actors(self) -> FakeActorList:
        return FakeActorList(self.actors.values())

    def tick(self, seconds: float = 10.0) -> int:
        if not self.settings.synchronous_mode:
            raise AssertionError("tick() in asynchronous mode")
        if self.server.on_tick is not None:
            self.server.on_tick(self.frame + 1)
        self.frame += 1
        for actor in list(self.actors.values()):
            if isinstance(actor, FakeVehicle):
                actor.advance(self.settings.fixed_delta_seconds or FAKE_DT_S)
        for actor in list(self.actors.values()):
            if isinstance(actor, FakeSensor) and actor.listening and actor.callback:
                data = self._sensor_data(actor)
                if data is not None and not self.server.drop(actor, self.frame):
                    actor.callback(data)
        return self.frame

    def _sensor_data(self, sensor: FakeSensor) -> Any:
        if sensor.type_id == "sensor.camera.rgb":
            w = int(sensor.attributes["image_size_x"])
            h = int(sensor.attributes["image_size_y"])
            return FakeImage(self.frame, w, h, camera_bytes(w, h, self.frame))
        if sensor.type_id == "sensor.lidar.ray_cast":
            return FakeLidarMeasurement(self.frame, lidar_bytes(self.frame))
        return None  # event sensors speak only when something happens

    def emit(self, type_id: str, event: Any) -> None:
        """Deliver an event from the ego's collision or lane-invasion sensor."""
        for actor in self.actors.values():
            if isinstance(actor, FakeSensor) and actor.type_id == type_id and actor.listening:
                assert actor.callback is not None
                actor.callback(event)

    def set_weather(self, weather: carla.WeatherParameters) -> None:
        self.weather = weather

    def set_pedestrians_seed(self, seed: int) -> None:
        pass

    def set_pedestrians_cross_factor(self, percentage: float) -> None:
        pass

    def freeze_all_traffic_lights(self, frozen: bool) -> None:
        pass

    def reset_all_traffic_lights(self) -> None:
        self.lights_reset += 1


class FakeClient:
    def __init__(self, server: FakeServer, host: str, port: int) -> None:
        self.server = server
        self.host = host
        self.port = port
        self.timeout_s = 5.0

    def set_timeout(self, seconds: float) -> None:
        self.timeout_s = seconds

    def get_server_version(self) -> str:
        self.server.attempts += 1
        if self.host in self.server.unknown_hosts:  # what carla.Client says, at once
            raise RuntimeError(
                "resolve: Host not found (authoritative) [asio.netdb:1 at "
                ".../boost/asio/detail/resolver_service.hpp:84:33 in function 'resolve']"
            )
        if self.server.attempts <= self.server.unreachable_attempts:
            raise RuntimeError(
                f"time-out of {round(self.timeout_s * 1000)}ms while waiting for the "
                f"simulator, make sure the simulator is ready and connected to "
                f"{self.host}:{self.port}"
            )
        return self.server.version

    def get_client_version(self) -> str:
        return "0.9.16"

    def get_world(self) -> FakeWorld:
        return self.server.world

    def get_available_maps(self) -> list[str]:
        return [f"/Game/Carla/Maps/{name}" for name in self.server.towns]

    def load_world(self, map_name: str, reset_settings: bool = True, map_layers: Any = None):
        name = map_name.rsplit("/", 1)[-1]
        self.server.log.append(f"load_world({name})")
        self.server.world = FakeWorld(self.server, name, self.server.towns[name])
        return self.server.world

    def generate_opendrive_world(
        self,
        opendrive: str,
        parameters: carla.OpendriveGenerationParameters | None = None,
        reset_settings: bool = True,
    ) -> FakeWorld:
        self.server.log.append("generate_opendrive_world")
        self.server.opendrive = (opendrive, parameters)
        self.server.world = FakeWorld(self.server, "OpenDriveMap", opendrive)
        return self.server.world

    def get_trafficmanager(self, client_connection: int = 8000) -> FakeTrafficManager:
        if self.server.tm is None or self.server.tm.port != client_connection:
            self.server.tm = FakeTrafficManager(self.server, client_connection)
        return self.server.tm


class FakeServer:
    """One fake CARLA server: ``FakeServer(...).client`` is the client factory."""

    def __init__(
        self,
        xodr: str,
        map_name: str = "OpenDriveMap",
        towns: dict[str, str] | None = None,
        version: str = "0.9.16",
        unreachable_attempts: int = 0,
    ) -> None:
        self.version = version
        self.towns = towns or {}
        self.unreachable_attempts = unreachable_attempts
        self.attempts = 0
        self.unknown_hosts: set[str] = set()  # host names that do not resolve
        self.log: list[str] = []
        self.tm: FakeTrafficManager | None = None
        self.opendrive: tuple[str, Any] | None = None
        self.on_tick: Callable[[int], None] | None = None
        self.spawn_fails: Callable[[str], bool] = lambda bp_id: False
        self.drop: Callable[[FakeSensor, int], bool] = lambda sensor, frame: False
        self.destroy_fails: set[int] = set()
        self.gone = False  # the server process died: every call times out
        self.ctrl_c_on_destroy: int | None = None  # Ctrl-C while destroying this actor
        self.calls_while_gone = 0
        self.world = FakeWorld(self, map_name, xodr)

    def answer(self) -> None:
        """Called by the fake's server calls: a dead server makes each one time out."""
        if self.gone:
            self.calls_while_gone += 1
            raise RuntimeError("time-out of 5000ms while waiting for the simulator")

    def client(self, host: str, port: int) -> FakeClient:
        return FakeClient(self, host, port)

    def live_spawned(self) -> list[FakeActor]:
        """Actors the backend spawned that are still in the world."""
        return [a for a in self.world.actors.values() if not isinstance(a, FakeTrafficLight)]
