"""The CARLA backend: the World protocol on a CARLA 0.9.16 server.

The only module that talks to a server. ``CarlaWorld.reset`` connects (retrying with
backoff), loads the scenario's town or builds a standalone OpenDRIVE world from its
``.xodr``, switches the world and the Traffic Manager to synchronous mode with a
fixed ``1 / PHYSICS_HZ`` step, and spawns the ego with the rig (cameras, LiDARs, a
collision and a lane-invasion sensor), the scenario's vehicles and pedestrians.
``step`` applies the control, ticks once and gathers that tick's data from every
sensor's queue within a timeout: a dropped frame stops the drive with a clear error
instead of a hang. ``close`` (also on errors and Ctrl-C, through ``with``) stops the
sensors, restores the settings the server had, and destroys every actor it spawned.

The map the server loaded (``world.get_map()``) goes through the same code as the
embedded world's: lane points, route planning, landmarks, stop lines, map context.
"""

from __future__ import annotations

import math
import queue
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import carla
import numpy as np

from maps.crosswalks import crosswalk_polygons
from maps.landmarks import LightSpec, SignSpec, map_landmarks
from maps.lane_path import LanePath
from maps.road_map import load_road_map, resolve_map_path, road_map_of
from maps.routes import RoutePlanner, random_lane_walk
from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import (
    ActorTruth,
    CameraImage,
    CollisionTruth,
    EgoState,
    GroundTruth,
    LidarScan,
    LightState,
    ObjectClass,
    SensorFrame,
    VehicleControl,
)
from roadmind.rates import PHYSICS_HZ
from roadmind.units import kmh_to_mps
from roadmind.vehicle import CarLimits
from sim.carla.convert import (
    camera_attributes,
    image_to_bgra,
    lidar_attributes,
    lidar_to_xyzi,
    light_state,
    mount_to_transform,
    object_class,
    pose_to_transform,
    to_carla_control,
    transform_to_pose,
    vector_np,
    weather_for,
)
from sim.carla.server import CarlaServer
from sim.placement import (
    PAINTS,
    check_route,
    crossing_path,
    plan_ego_route,
    pose_at,
    scenario_signs,
    triggered,
    waypoint_at,
)
from sim.rig import MountPose, RigConfig
from sim.scenario import PedestrianActor, Scenario, VehicleActor
from sim.world import DriveMap

BACKOFF_FIRST_S = 1.0  # wait before the second connection attempt, doubling after
BACKOFF_MAX_S = 8.0
SPAWN_LIFT_M = 0.3  # cars spawn this far above the road and drop onto it
WALKER_LIFT_M = 1.0  # a walker's origin is at its middle, about 0.9 m up
SETTLE_TICKS = 10  # after spawning: cars land, walker controllers attach (0.5 s)
WALKER_REACHED_M = 1.0  # a walker this close to its leg's end goes on to the next
NPC_BRAKE = 1.0  # a scripted hard stop (lead-vehicle braking)
TEARDOWN_TIMEOUT_S = 5.0  # per server call while tearing down
TIMED_OUT = "time-out"  # in carla.Client's error when the server does not answer
HOST_NOT_FOUND = "resolve: Host not found"  # carla.Client: the host name does not resolve
TOWN_NAME = re.compile(r"^Town\d+\w*$")  # Town01, Town10HD_Opt: loaded by name
# Surfaces the car drives on are not collisions (singular and plural tag spellings).
GROUND_TYPES = frozenset(
    f"static.{tag}{plural}"
    for tag in ("road", "roadline", "ground", "terrain")
    for plural in ("", "s")
)
OPENDRIVE_PARAMETERS = dict(  # CARLA's defaults, walkers' navigation mesh included
    vertex_distance=2.0,
    max_road_length=50.0,
    wall_height=1.0,
    additional_width=0.6,
    smooth_junctions=True,
    enable_mesh_visibility=True,
    enable_pedestrian_navigation=True,
)
# Blueprints per scenario model, first available wins (ids of CARLA 0.9.16).
VEHICLE_BLUEPRINTS = {
    "compact": ("vehicle.mini.cooper_s_2021", "vehicle.mini.cooper_s"),
    "sedan": ("vehicle.lincoln.mkz_2020", "vehicle.tesla.model3"),
    "suv": ("vehicle.nissan.patrol_2021", "vehicle.audi.etron"),
    "van": ("vehicle.mercedes.sprinter", "vehicle.volkswagen.t2_2021"),
    "truck": ("vehicle.carlamotors.carlacola", "vehicle.carlamotors.european_hgv"),
}

ClientFactory = Callable[[str, int], Any]  # carla.Client, or a fake of it in tests
Attempt = Callable[[str, Callable[[], object]], None]  # runs one teardown step


def _now(what: str, action: Callable[[], object]) -> None:
    action()


class CarlaServerError(UserError):
    """The CARLA server cannot be reached, does not match the client, lacks what the
    scenario needs or stopped answering: one line for the user, like every UserError."""


# --------------------------------------------------------------------------- connection


def connect(
    server: CarlaServer,
    client_factory: ClientFactory = carla.Client,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """A client of a server that answered and runs the client's CARLA release.

    Tries ``connect_attempts`` times, waiting 1, 2, 4, ... (at most 8) s in between,
    then gives up with one message naming the host and port, the time it really
    waited (``clock``) and what to check. A host name that does not resolve is not a
    server still starting: it stops at once."""
    last_error = ""
    started_s = clock()
    for attempt in range(1, server.connect_attempts + 1):
        try:
            client = client_factory(server.host, server.port)
            client.set_timeout(server.connect_timeout_s)
            server_version = client.get_server_version()
        except RuntimeError as exc:  # carla.Client's time-out, or a name it cannot resolve
            last_error = str(exc)
            if HOST_NOT_FOUND in last_error:
                detail = last_error.split(" [")[0].removeprefix("resolve: ")
                raise CarlaServerError(
                    f"--host {server.host!r}: the name does not resolve ({detail}); "
                    "give the server's host name or IP address"
                ) from None
            if attempt < server.connect_attempts:
                sleep(min(BACKOFF_FIRST_S * 2 ** (attempt - 1), BACKOFF_MAX_S))
            continue
        client.set_timeout(server.timeout_s)
        check_versions(client.get_client_version(), server_version)
        return client
    raise CarlaServerError(
        f"no CARLA server answered at {server.host}:{server.port} "
        f"({server.connect_attempts} attempts over {clock() - started_s:.0f} s; "
        f"last: {last_error}). "
        f"Check that the server is running (CarlaUE4.sh), that --host and --port match its "
        f"-carla-rpc-port (default 2000; it also uses the next port), and that no "
        f"firewall blocks them"
    )


def _release(version: str) -> str:
    """'0.9.16' of '0.9.16', '0.9.16-dirty' or '0.9.16-3-gabc': builds of one release."""
    found = re.match(r"\d+(\.\d+)*", version.strip())
    return found.group(0) if found else version.strip()


def check_versions(client_version: str, server_version: str) -> None:
    if _release(client_version) != _release(server_version):
        raise CarlaServerError(
            f"CARLA client {client_version} and server {server_version} differ: install "
            f"the client of the server's release (pip install carla=={_release(server_version)}) "
            f"or run a CARLA {_release(client_version)} server"
        )


def town_for(scenario: Scenario, server: CarlaServer) -> str | None:
    """The CARLA town to load: ``--town``, else the scenario's map when it names a town
    (``Town01`` or ``.../Town01.xodr``); None: build the ``.xodr`` as a standalone world."""
    if server.town:
        return server.town
    stem = scenario.map.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".xodr")
    return stem if TOWN_NAME.match(stem) else None


def _basename(map_path: str) -> str:
    return map_path.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- sensors


class SensorStream:
    """One sensor's messages, put by CARLA's callback thread, taken per tick."""

    def __init__(self, name: str, type_id: str, timeout_s: float) -> None:
        self.name = name
        self.type_id = type_id
        self.timeout_s = timeout_s
        self._queue: queue.Queue[Any] = queue.Queue()

    def put(self, data: Any) -> None:
        self._queue.put(data)

    def take(self, frame: int, deadline_s: float) -> Any:
        """The message of server frame ``frame``; older ones (from settling) are dropped.
        Raises CarlaServerError when none comes by ``deadline_s`` (time.monotonic)."""
        while True:
            remaining = deadline_s - time.monotonic()
            try:
                data = self._queue.get(timeout=max(remaining, 1e-3))
            except queue.Empty:
                raise CarlaServerError(
                    f"sensor {self.name!r} ({self.type_id}) sent nothing for server frame "
                    f"{frame} within {self.timeout_s:g} s: the frame was dropped (a busy "
                    f"server or GPU, or a lost connection); the drive stops here"
                ) from None
            if data.frame == frame:
                return data
            if data.frame > frame:
                raise CarlaServerError(
                    f"sensor {self.name!r} ({self.type_id}) skipped server frame {frame} "
                    f"(its next message is frame {data.frame}): a dropped frame"
                )


class EventQueue:
    """Events of a collision or lane-invasion sensor; drained once per tick."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()

    def put(self, event: Any) -> None:
        self._queue.put(event)

    def drain(self) -> list[Any]:
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events


# --------------------------------------------------------------------------- actors


@dataclass
class _Car:
    actor: Any
    cfg: VehicleActor
    active: bool = False  # driving (Traffic Manager) or braking on script
    braking: bool = False


@dataclass
class _Pedestrian:
    actor: Any
    controller: Any | None  # walker AI controller; None for those who stand
    cfg: PedestrianActor
    legs: list[np.ndarray] = field(default_factory=list)  # (3,) ends of the walk's legs
    active: bool = False


def vehicle_blueprint(
    library: Any, model: str, color_rgb: tuple[float, float, float] | None, role: str
) -> Any:
    """The blueprint standing for a scenario's model; any four-wheeled car otherwise."""
    for bp_id in VEHICLE_BLUEPRINTS[model]:
        found = [bp for bp in library.filter(bp_id) if bp.id == bp_id]
        if found:
            bp = found[0]
            break
    else:
        cars = sorted(
            (
                bp
                for bp in library.filter("vehicle.*")
                if bp.has_attribute("number_of_wheels")
                and bp.get_attribute("number_of_wheels").as_int() == 4
            ),
            key=lambda b: b.id,
        )
        if not cars:
            raise CarlaServerError("the CARLA server offers no four-wheeled vehicle blueprint")
        bp = cars[0]
    if color_rgb is not None and bp.has_attribute("color"):
        bp.set_attribute("color", ",".join(str(round(255 * c)) for c in color_rgb))
    if bp.has_attribute("role_name"):
        bp.set_attribute("role_name", role)
    return bp


def walker_blueprint(library: Any, size: str, rng: np.random.Generator) -> Any:
    walkers = sorted(library.filter("walker.pedestrian.*"), key=lambda b: b.id)
    if not walkers:
        raise CarlaServerError("the CARLA server offers no pedestrian blueprint")

    def is_child(bp: Any) -> bool:
        return bp.has_attribute("age") and bp.get_attribute("age").as_str() == "child"

    fitting = [bp for bp in walkers if is_child(bp) == (size == "child")] or walkers
    bp = fitting[int(rng.integers(len(fitting)))]
    if bp.has_attribute("is_invincible"):
        bp.set_attribute("is_invincible", "false")  # a car that hits one must feel it
    return bp


def _braking(cfg: VehicleActor, time_s: float) -> bool:
    """Inside a scripted hard stop (lead-vehicle braking)."""
    if cfg.brake_at_s is None or time_s < cfg.brake_at_s:
        return False
    return cfg.brake_for_s is None or time_s < cfg.brake_at_s + cfg.brake_for_s


def _xy(actor: Any) -> np.ndarray:
    loc = actor.get_location()
    return np.array([loc.x, loc.y])


# --------------------------------------------------------------------------- the world


class CarlaWorld:
    """``with CarlaWorld(rig, CarlaServer(host, port)) as world: frame = world.reset(s)``.

    ``client_factory`` builds the client (``carla.Client``; tests pass a fake of it) and
    ``sleep`` waits between connection attempts.
    """

    def __init__(
        self,
        rig: RigConfig | None = None,
        server: CarlaServer | None = None,
        client_factory: ClientFactory | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rig_override = rig
        self.server = server or CarlaServer()
        self._client_factory = client_factory or carla.Client
        self._sleep = sleep
        self.client: Any = None
        self.world: Any = None
        self.tm: Any = None
        self._original_settings: Any = None  # the server's, restored on close
        self._light_times: dict[int, tuple[Any, float, float, float]] = {}
        self._actors: list[Any] = []  # everything spawned, in order
        self._sensors: list[Any] = []
        self._controllers: list[Any] = []
        self._streams: list[SensorStream] = []
        self._collisions = EventQueue()
        self._invasions = EventQueue()
        self._cars: list[_Car] = []
        self._walkers: list[_Pedestrian] = []
        self._light_actors: dict[int, Any] = {}
        self.ego: Any = None

    def __enter__(self) -> CarlaWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ setup
    def reset(self, scenario: Scenario, seed: int | None = None) -> SensorFrame:
        if self.client is None:
            self.client = connect(self.server, self._client_factory, self._sleep)
        self._stop_sensors()  # a second reset starts from an empty scene
        self._destroy_actors()
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.rng = np.random.default_rng(self.seed)
        self.rig = self.rig_override or scenario.resolve_rig()
        self._load_world(scenario)
        self._go_synchronous()
        self.road_map = road_map_of(self.world.get_map(), self.map_name)
        signs, lights, _ = map_landmarks(self.road_map)
        self.signs: list[SignSpec] = signs + scenario_signs(self.road_map, scenario)
        self.lights: list[LightSpec] = lights
        self.world.set_weather(weather_for(scenario.lighting))
        self._library = self.world.get_blueprint_library()
        self._spawn_ego()
        self._spawn_rig()
        for i, actor in enumerate(scenario.actors):
            if isinstance(actor, VehicleActor):
                self._spawn_car(actor, f"actors.{i}.start")
            else:
                self._spawn_pedestrian(actor, f"actors.{i}.start")
        self._time_lights()
        for _ in range(SETTLE_TICKS):
            self._tick()
        self._collisions.drain()  # landing on the road is no contact
        self._invasions.drain()
        self.frame_id = 0
        self.time_s = 0.0
        self._start_actors()
        return self._observe(self._tick())

    def _load_world(self, scenario: Scenario) -> None:
        world = self.world = self.client.get_world()
        if self._original_settings is None:
            self._original_settings = world.get_settings()
        town = town_for(scenario, self.server)
        where = f"{self.server.host}:{self.server.port}"
        if town is not None:
            available = list(self.client.get_available_maps())
            found = [m for m in available if m == town or _basename(m).lower() == town.lower()]
            if not found:
                names = ", ".join(sorted({_basename(m) for m in available}))
                raise CarlaServerError(
                    f"town {town!r} is not available on the CARLA server at {where}; "
                    f"available: {names}"
                )
            self.map_name = _basename(found[0])
            if _basename(world.get_map().name) == self.map_name:
                return
        else:
            # Parsed here first: a broken map fails with the embedded world's clear errors.
            base = scenario.source.parent if scenario.source else None
            road_map = load_road_map(resolve_map_path(scenario.map, base))
            self.map_name = road_map.name
        self._asynchronous(world)  # a synchronous world would wait for ticks while loading
        self.client.set_timeout(self.server.load_timeout_s)
        try:
            if town is not None:
                self.client.load_world(found[0])
            else:
                text = road_map.path.read_text(encoding="utf-8", errors="replace")
                self.client.generate_opendrive_world(
                    text, carla.OpendriveGenerationParameters(**OPENDRIVE_PARAMETERS)
                )
        except RuntimeError as exc:
            raise CarlaServerError(
                f"the CARLA server at {where} could not load map {self.map_name!r}: {exc}"
            ) from None
        finally:
            self.client.set_timeout(self.server.timeout_s)
        self.world = self.client.get_world()

    def _asynchronous(self, world: Any) -> None:
        settings = world.get_settings()
        if settings.synchronous_mode:
            settings.synchronous_mode = False
            world.apply_settings(settings)

    def _go_synchronous(self) -> None:
        """Fixed step, server waits for our ticks; the Traffic Manager first, as CARLA's
        own examples do, so it never runs against a world it cannot follow."""
        self.tm = self.client.get_trafficmanager(self.server.tm_port)
        self.tm.set_synchronous_mode(True)
        settings = self.world.get_settings()
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = 1.0 / PHYSICS_HZ
        if self.rig.cameras:
            settings.no_rendering_mode = False  # cameras get nothing without rendering
        self.world.apply_settings(settings)
        self.tm.set_random_device_seed(self.seed)
        self.world.set_pedestrians_seed(self.seed)
        self.world.set_pedestrians_cross_factor(1.0)  # crossing walkers may use the road

    def _blueprint(self, type_id: str) -> Any:
        found = [bp for bp in self._library.filter(type_id) if bp.id == type_id]
        if not found:
            raise CarlaServerError(f"the CARLA server has no blueprint {type_id!r}")
        return found[0]

    def _spawn(
        self,
        blueprint: Any,
        transform: carla.Transform,
        field: str,
        what: str,
        attach_to: Any = None,
    ) -> Any:
        try:
            if attach_to is None:
                actor = self.world.spawn_actor(blueprint, transform)
            else:
                actor = self.world.spawn_actor(blueprint, transform, attach_to=attach_to)
        except RuntimeError as exc:  # e.g. a collision at the spawn point
            loc = transform.location
            raise UserError(
                f"{field}: CARLA could not spawn {what} at ({loc.x:.1f}, {loc.y:.1f}): {exc}"
            ) from None
        self._actors.append(actor)
        return actor

    def _spawn_ego(self) -> None:
        rm, ego_cfg = self.road_map, self.scenario.ego
        start_wp = waypoint_at(rm, ego_cfg.start, "ego.start", carla.LaneType.Driving)
        planner = RoutePlanner(rm.carla_map)
        self.route = LanePath.from_waypoints(
            plan_ego_route(rm, planner, ego_cfg, start_wp, self.rng)
        )
        bp = vehicle_blueprint(self._library, ego_cfg.model, tuple(PAINTS[1]), "hero")
        pose = pose_at(start_wp, ego_cfg.start)
        self.ego = self._spawn(bp, pose_to_transform(pose, SPAWN_LIFT_M), "ego.start", "the ego")
        self.ego.apply_control(carla.VehicleControl(brake=1.0, hand_brake=True))
        box = self.ego.bounding_box
        self._ego_box_xy = (float(box.location.x), float(box.location.y))
        self._ego_extent_m = np.maximum(vector_np(box.extent), 0.05)
        if ego_cfg.route is not None:
            check_route(self.route, float(self._ego_extent_m[0]), "ego.route.goal")
        wheels = self.ego.get_physics_control().wheels
        max_steer_deg = max((w.max_steer_angle for w in wheels), default=0.0)
        self._vehicle_max_steer_rad = math.radians(max_steer_deg)
        # The agent steers a car with CarLimits' range; CARLA's steer is a fraction of
        # the vehicle's own.
        self._steer_scale = (
            CarLimits().max_steer_rad / self._vehicle_max_steer_rad if max_steer_deg > 0 else 1.0
        )

    def _spawn_rig(self) -> None:
        for cam in self.rig.cameras:
            self._spawn_sensor("sensor.camera.rgb", camera_attributes(cam), cam.name, cam.pose)
        for lidar in self.rig.lidars:
            self._spawn_sensor(
                "sensor.lidar.ray_cast", lidar_attributes(lidar), lidar.name, lidar.pose
            )
        for type_id, events in (
            ("sensor.other.collision", self._collisions),
            ("sensor.other.lane_invasion", self._invasions),
        ):
            sensor = self._spawn(
                self._blueprint(type_id), carla.Transform(), "rig", type_id, attach_to=self.ego
            )
            self._sensors.append(sensor)
            sensor.listen(events.put)

    def _spawn_sensor(
        self, type_id: str, attributes: dict[str, str], name: str, mount: MountPose
    ) -> None:
        bp = self._blueprint(type_id)
        for key, value in attributes.items():
            if bp.has_attribute(key):
                bp.set_attribute(key, value)
        sensor = self._spawn(
            bp, mount_to_transform(mount), f"rig sensor {name!r}", type_id, attach_to=self.ego
        )
        self._sensors.append(sensor)
        stream = SensorStream(name, type_id, self.server.sensor_timeout_s)
        sensor.listen(stream.put)
        self._streams.append(stream)

    def _spawn_car(self, cfg: VehicleActor, field: str) -> None:
        wp = waypoint_at(self.road_map, cfg.start, field, carla.LaneType.Driving)
        paint = cfg.color or tuple(PAINTS[int(self.rng.integers(len(PAINTS)))])
        bp = vehicle_blueprint(self._library, cfg.model, paint, "roadmind_npc")
        pose = pose_at(wp, cfg.start)
        actor = self._spawn(bp, pose_to_transform(pose, SPAWN_LIFT_M), field, f"a {cfg.model}")
        actor.apply_control(carla.VehicleControl(brake=1.0, hand_brake=True))
        self._cars.append(_Car(actor, cfg))

    def _spawn_pedestrian(self, cfg: PedestrianActor, field: str) -> None:
        any_lane = carla.LaneType.Sidewalk | carla.LaneType.Driving | carla.LaneType.Shoulder
        wp = waypoint_at(self.road_map, cfg.start, field, any_lane)
        start = pose_at(wp, cfg.start)
        origin = start.translation
        if cfg.behaviour == "cross":
            crosswalks = crosswalk_polygons(self.road_map.carla_map)
            path = crossing_path(
                crosswalks,
                origin,
                cfg.crosswalk,
                field.replace("start", "crosswalk"),
                self.road_map.name,
            )
        elif cfg.behaviour == "walk":
            end = random_lane_walk(wp, 200.0, self.rng)[-1].transform.location
            path = np.array([origin, [end.x, end.y, end.z]])
        else:
            path = np.array([origin])
        bp = walker_blueprint(self._library, cfg.size, self.rng)
        actor = self._spawn(bp, pose_to_transform(start, WALKER_LIFT_M), field, "a pedestrian")
        controller = None
        if cfg.behaviour != "stand":
            controller = self._spawn(
                self._blueprint("controller.ai.walker"),
                carla.Transform(),
                field,
                "a walker AI controller",
                attach_to=actor,
            )
            self._controllers.append(controller)
        self._walkers.append(_Pedestrian(actor, controller, cfg, list(path[1:])))

    def _time_lights(self) -> None:
        """The scenario's timing on every light (CARLA's red time is the all-red gap
        after a pole's yellow); the old timing is put back on close."""
        timing = self.scenario.traffic_lights
        self._light_actors = {}
        for actor in self.world.get_actors().filter("traffic.traffic_light*"):
            if actor.id not in self._light_times:
                self._light_times[actor.id] = (
                    actor,
                    actor.get_green_time(),
                    actor.get_yellow_time(),
                    actor.get_red_time(),
                )
            actor.set_green_time(timing.green_s)
            actor.set_yellow_time(timing.yellow_s)
            actor.set_red_time(timing.all_red_s)
            try:
                self._light_actors[int(actor.get_opendrive_id())] = actor
            except ValueError:
                continue  # a light the map's landmarks cannot name
        self.world.freeze_all_traffic_lights(False)

    def _start_actors(self) -> None:
        """At t = 0: light cycles restart, cars without a trigger drive off at their
        speed, walkers without one set out."""
        self.world.reset_all_traffic_lights()
        self.ego.apply_control(carla.VehicleControl())
        if self.scenario.ego.speed_kmh > 0:
            forward = self.ego.get_transform().get_forward_vector()
            self.ego.set_target_velocity(forward * kmh_to_mps(self.scenario.ego.speed_kmh))
        for car in self._cars:
            if car.cfg.behaviour == "drive" and car.cfg.trigger is None:
                self._drive_on(car, at_speed=True)
        for walker in self._walkers:
            if walker.controller is not None and walker.cfg.trigger is None:
                self._walk_on(walker)

    def _drive_on(self, car: _Car, at_speed: bool = False) -> None:
        """Hand a car to the Traffic Manager at its scenario speed."""
        actor, port = car.actor, self.tm.get_port()
        actor.apply_control(carla.VehicleControl())
        actor.set_autopilot(True, port)
        self.tm.set_desired_speed(actor, car.cfg.speed_kmh)  # km/h
        self.tm.auto_lane_change(actor, False)
        if at_speed:
            forward = actor.get_transform().get_forward_vector()
            actor.set_target_velocity(forward * kmh_to_mps(car.cfg.speed_kmh))
        car.active = True
        car.braking = False

    def _walk_on(self, walker: _Pedestrian) -> None:
        assert walker.controller is not None
        walker.controller.start()
        walker.controller.set_max_speed(walker.cfg.speed_mps)
        walker.controller.go_to_location(carla.Location(*map(float, walker.legs[0])))
        walker.active = True

    # ------------------------------------------------------------------ stepping
    def step(self, control: VehicleControl) -> SensorFrame:
        if self.ego is None:
            raise RuntimeError("reset() first")
        self.ego.apply_control(to_carla_control(control, self._steer_scale))
        self.frame_id += 1
        self.time_s = self.frame_id / PHYSICS_HZ
        self._script(self.time_s)
        return self._observe(self._tick())

    def _tick(self) -> int:
        try:
            return int(self.world.tick(self.server.timeout_s))
        except RuntimeError as exc:
            raise CarlaServerError(
                f"the CARLA server at {self.server.host}:{self.server.port} did not finish a "
                f"step within {self.server.timeout_s:g} s ({exc}); it may have crashed or "
                f"another client may be ticking it"
            ) from None

    def _script(self, time_s: float) -> None:
        """Triggers, scripted hard stops and walkers' next legs."""
        ego_xy = _xy(self.ego)
        port = self.tm.get_port()
        for car in self._cars:
            cfg = car.cfg
            if cfg.behaviour == "parked":
                continue
            if not car.active:
                if triggered(cfg.trigger, time_s, ego_xy, _xy(car.actor)):
                    self._drive_on(car)
                continue
            braking = _braking(cfg, time_s)
            if braking and not car.braking:
                car.actor.set_autopilot(False, port)
                car.actor.apply_control(carla.VehicleControl(brake=NPC_BRAKE))
                car.braking = True
            elif car.braking and not braking:
                self._drive_on(car)
        for walker in self._walkers:
            if walker.controller is None:
                continue
            if not walker.active:
                if triggered(walker.cfg.trigger, time_s, ego_xy, _xy(walker.actor)):
                    self._walk_on(walker)
                continue
            near = np.linalg.norm(_xy(walker.actor) - walker.legs[0][:2]) < WALKER_REACHED_M
            if near and len(walker.legs) > 1:
                walker.legs.pop(0)
                walker.controller.go_to_location(carla.Location(*map(float, walker.legs[0])))

    # ------------------------------------------------------------------ sensing
    def _observe(self, server_frame: int) -> SensorFrame:
        deadline = time.monotonic() + self.server.sensor_timeout_s
        data = {s.name: s.take(server_frame, deadline) for s in self._streams}
        cams = []
        for cfg in self.rig.cameras:
            if self._due(cfg.rate_hz):
                image = data[cfg.name]
                bgra = image_to_bgra(image.raw_data, image.width, image.height)
                cams.append(
                    CameraImage(cfg.name, bgra, cfg.fov_deg, cfg.pose.to_pose(), self.time_s)
                )
        scans = [
            LidarScan(
                cfg.name, lidar_to_xyzi(data[cfg.name].raw_data), cfg.pose.to_pose(), self.time_s
            )
            for cfg in self.rig.lidars
            if self._due(cfg.rate_hz)
        ]
        ego = self._ego_state()
        return SensorFrame(
            self.frame_id, self.time_s, ego, tuple(cams), tuple(scans), self._truth()
        )

    def _due(self, rate_hz: float) -> bool:
        every = max(1, round(PHYSICS_HZ / rate_hz))
        return self.frame_id % every == 0

    def _ego_state(self) -> EgoState:
        body = transform_to_pose(self.ego.get_transform())
        # The ground point under the box centre, as the embedded world reports its ego.
        pose = body.compose(Pose(*self._ego_box_xy, 0.0))
        velocity = vector_np(self.ego.get_velocity())
        accel = vector_np(self.ego.get_acceleration())
        return EgoState(
            pose,
            float(np.linalg.norm(velocity)),
            float(accel @ pose.forward),
            math.radians(self.ego.get_angular_velocity().z),
            float(self.ego.get_control().steer) * self._vehicle_max_steer_rad,
        )

    def _truth(self) -> GroundTruth:
        actors = []
        for actor in self.world.get_actors():
            cls = object_class(actor.type_id)
            if actor.id == self.ego.id or cls not in (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN):
                continue
            box = actor.bounding_box
            body = transform_to_pose(actor.get_transform())
            center = body.compose(Pose(box.location.x, box.location.y, box.location.z))
            actors.append(
                ActorTruth(
                    actor.id,
                    cls,
                    center,
                    np.maximum(vector_np(box.extent), 0.05),
                    vector_np(actor.get_velocity()),
                )
            )
        signs = tuple(s.truth() for s in self.signs)
        lights = tuple(lt.truth(self._light_state(lt.light_id)) for lt in self.lights)
        return GroundTruth(
            tuple(actors),
            {},  # CARLA's RGB camera carries no per-pixel object ids
            signs,
            lights,
            tuple(self._contacts()),
            tuple(
                "+".join(str(m.type) for m in event.crossed_lane_markings)
                for event in self._invasions.drain()
            ),
        )

    def _light_state(self, light_id: int) -> LightState:
        actor = self._light_actors.get(light_id)
        return LightState.UNKNOWN if actor is None else light_state(actor.get_state())

    def _contacts(self) -> list[CollisionTruth]:
        out = []
        for event in self._collisions.drain():
            other = event.other_actor
            type_id = other.type_id if other is not None else "static.world"
            if type_id in GROUND_TYPES:
                continue
            out.append(
                CollisionTruth(
                    int(other.id) if other is not None else 0,
                    object_class(type_id),
                    type_id,
                    float(np.linalg.norm(vector_np(event.normal_impulse))),
                )
            )
        return out

    def drive_map(self) -> DriveMap:
        if self.ego is None:
            raise RuntimeError("reset() first")
        return DriveMap(
            self.road_map.carla_map,
            self.route,
            self._ego_extent_m.copy(),
            tuple(self.signs),
            tuple(self.lights),
        )

    # ------------------------------------------------------------------ teardown
    def close(self) -> None:
        """Sensors stopped, the server's settings (world, Traffic Manager, light timings)
        restored, every spawned actor destroyed. Each step is tried even when one before
        failed; failures are warnings. A server that stops answering is not waited on
        once per actor: after its first time-out the remaining steps are skipped. A
        Ctrl-C during teardown lets it finish, then is raised."""
        problems: list[str] = []
        interrupted = False
        skipped = 0

        def attempt(what: str, action: Callable[[], object]) -> None:
            nonlocal interrupted, skipped
            if any(TIMED_OUT in p for p in problems):
                skipped += 1
                return
            try:
                action()
            except KeyboardInterrupt:
                interrupted = True
                problems.append(f"{what}: interrupted")
            except Exception as exc:
                problems.append(f"{what}: {exc}")

        if self.client is not None:
            client = self.client
            attempt("shortening the time-out", lambda: client.set_timeout(TEARDOWN_TIMEOUT_S))
        self._stop_sensors(attempt)
        self._restore(attempt)
        self._destroy_actors(attempt)
        if self.client is not None:
            attempt("restoring the time-out", lambda: client.set_timeout(self.server.timeout_s))
        if skipped:
            problems.append(
                f"the server at {self.server.host}:{self.server.port} stopped answering; "
                f"{skipped} more teardown steps skipped (restart it to clear its state)"
            )
        for problem in problems:
            print(f"roadmind: warning: CARLA teardown: {problem}", file=sys.stderr)
        if interrupted:
            raise KeyboardInterrupt

    def _stop_sensors(self, attempt: Attempt = _now) -> None:
        for sensor in self._sensors:
            attempt(f"stopping sensor {sensor.id}", sensor.stop)

    def _restore(self, attempt: Attempt) -> None:
        """Before actors are destroyed, as CARLA's examples do: the server runs free again
        even if destroying fails."""
        original, world, tm = self._original_settings, self.world, self.tm
        if original is not None and world is not None:
            if tm is not None:
                attempt(
                    "restoring the Traffic Manager's mode",
                    lambda: tm.set_synchronous_mode(original.synchronous_mode),
                )
            attempt("restoring the world settings", lambda: world.apply_settings(original))
        self._original_settings = None
        for actor, green_s, yellow_s, red_s in self._light_times.values():
            attempt(
                f"restoring light {actor.id}'s timing",
                partial(_set_light_times, actor, green_s, yellow_s, red_s),
            )
        self._light_times = {}

    def _destroy_actors(self, attempt: Attempt = _now) -> None:
        """Walker controllers stopped, then everything destroyed, newest first (sensors
        and controllers before what they are attached to)."""
        for controller in self._controllers:
            attempt(f"stopping walker controller {controller.id}", controller.stop)
        for actor in reversed(self._actors):
            attempt(f"destroying actor {actor.id} ({actor.type_id})", actor.destroy)
        self._actors, self._sensors, self._controllers, self._streams = [], [], [], []
        self._cars, self._walkers = [], []
        self._collisions, self._invasions = EventQueue(), EventQueue()
        self.ego = None


def _set_light_times(actor: Any, green_s: float, yellow_s: float, red_s: float) -> None:
    actor.set_green_time(green_s)
    actor.set_yellow_time(yellow_s)
    actor.set_red_time(red_s)
