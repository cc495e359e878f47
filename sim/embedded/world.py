"""The embedded world: CARLA's OpenDRIVE roads through ``carla.Map``, actors moved
in Python, camera and LiDAR ray-cast with Open3D. No server; deterministic under a
seed. Implements the World protocol (reset / step / close, context manager)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import carla
import numpy as np

from maps.crosswalks import crosswalk_polygons
from maps.landmarks import LightSpec, SignSpec, map_landmarks
from maps.lane_path import LanePath
from maps.road_map import RoadMap, load_road_map, resolve_map_path
from maps.routes import RoutePlanner, random_lane_walk
from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import (
    ActorTruth,
    CameraImage,
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
from sim.embedded.actors import CLOTHES, Actor, Body, EgoCar, NpcCar, Walker
from sim.embedded.ground_truth import GtObject, boxes_2d
from sim.embedded.lane_driver import LaneDriver, Obstacle
from sim.embedded.lane_invasion import LaneInvasionSensor
from sim.embedded.render import props, road_mesh
from sim.embedded.render.camera import Camera
from sim.embedded.render.lidar import Lidar
from sim.embedded.render.mesh import Mesh, MeshBuilder, box_corners
from sim.embedded.render.raycast import RaycastWorld
from sim.embedded.render.textures import TextureAtlas
from sim.embedded.streetscape.layout import StreetLayout, plan_streetscape
from sim.embedded.streetscape.meshes import add_parked_car, add_streetscape
from sim.embedded.streetscape.terrain import add_terrain
from sim.embedded.traffic_lights import LightController
from sim.embedded.vehicle_dynamics import BicycleState
from sim.lighting import Lighting
from sim.placement import (
    NPC_PATH_M,
    PAINTS,
    check_clear_of_ego,
    check_route,
    crossing_path,
    footprint,
    footprints_overlap,
    plan_ego_route,
    pose_at,
    scenario_signs,
    triggered,
    waypoint_at,
)
from sim.rig import RigConfig
from sim.scenario import PedestrianActor, Scenario, VehicleActor
from sim.world import DriveMap

SIGN_ID_BASE = 1_000_000  # object ids: actors below, signs and lights above
LIGHT_ID_BASE = 2_000_000
PARKED_ID_BASE = 500_000  # the streetscape's parked cars: actors, after the scenario's


@dataclass
class StaticWorld:
    """Everything built once per (map, scenario signs): geometry, props, planner."""

    road_map: RoadMap
    signs: list[SignSpec]
    lights: list[LightSpec]
    raycast: RaycastWorld
    atlas: TextureAtlas
    light_tiles: dict[LightState, int]
    light_slots: dict[int, int]  # light id -> face slot
    prop_objects: list[GtObject]
    crosswalks: list[np.ndarray]
    planner: RoutePlanner
    skipped_landmarks: list[str]
    streetscape: StreetLayout | None = None
    parked_objects: list[tuple[GtObject, Pose]] = field(default_factory=list)
    parked_truth: tuple[ActorTruth, ...] = ()


def build_static_world(scenario: Scenario, seed: int | None = None) -> StaticWorld:
    """``seed``: the streetscape's when its config names none (default: the scenario's)."""
    base = scenario.source.parent if scenario.source else None
    road_map = load_road_map(resolve_map_path(scenario.map, base))
    signs, lights, skipped = map_landmarks(road_map)
    signs += scenario_signs(road_map, scenario)
    builder = MeshBuilder()
    strips = road_mesh.add_roads(builder, road_map)
    crosswalks = crosswalk_polygons(road_map.carla_map)
    road_mesh.add_crosswalks(builder, crosswalks)
    atlas = TextureAtlas()
    tiles = props.light_tiles(atlas)
    light_slots = {}
    for i, sign in enumerate(signs):
        props.add_sign(builder, atlas, sign, SIGN_ID_BASE + i)
    for i, light in enumerate(lights):
        light_slots[light.light_id] = props.add_light(
            builder, light, tiles[LightState.RED], LIGHT_ID_BASE + i
        )
    partial = builder.build()
    street = scenario.streetscape
    layout: StreetLayout | None = None
    parked: list[tuple[GtObject, Pose]] = []
    if street.enabled:
        street_seed = street_seed_of(scenario, seed)
        flat_z = float(partial.vertices[:, 2].min()) - road_mesh.GROUND_BELOW_M
        layout = plan_streetscape(strips, crosswalks, signs, lights, street, street_seed, flat_z)
        rng = np.random.default_rng([street_seed, 2])
        add_streetscape(builder, layout, rng)
        for i, car in enumerate(layout.parked):
            local = add_parked_car(builder, car, PARKED_ID_BASE + i)
            parked.append((_gt_actor(PARKED_ID_BASE + i, local, car.extent_m), car.pose))
        space = layout.space
        covered = None if space is None else lambda xy: space.covered(xy, "road")
        add_terrain(builder, layout.terrain, rng, layout.grass_rgb, covered)
    road_mesh.add_ground(builder, partial.vertices, None if layout is None else layout.grass_rgb)
    mesh = builder.build()
    prop_objects = [
        _prop_object(mesh, SIGN_ID_BASE + i, ObjectClass.TRAFFIC_SIGN) for i in range(len(signs))
    ] + [
        _prop_object(mesh, LIGHT_ID_BASE + i, ObjectClass.TRAFFIC_LIGHT) for i in range(len(lights))
    ]
    return StaticWorld(
        road_map,
        signs,
        lights,
        RaycastWorld(mesh, lamps=None if layout is None else layout.lamp_heads()),
        atlas,
        tiles,
        light_slots,
        prop_objects,
        crosswalks,
        RoutePlanner(road_map.carla_map),
        skipped,
        layout,
        parked,
        tuple(_parked_truth(obj, pose) for obj, pose in parked),
    )


def street_seed_of(scenario: Scenario, seed: int | None) -> int:
    """The streetscape's seed: its own, else the drive's, else the scenario's."""
    own = scenario.streetscape.seed
    return own if own is not None else (scenario.seed if seed is None else seed)


def _gt_actor(
    object_id: int,
    mesh: Mesh,
    extent_m: np.ndarray,
    object_class: ObjectClass = ObjectClass.VEHICLE,
) -> GtObject:
    """A road user's ground-truth object: its mesh in its own frame and its box, from the
    ground under its centre to its roof."""
    ext = extent_m
    corners = box_corners(np.array([-ext[0], -ext[1], 0.0]), np.array([ext[0], ext[1], 2 * ext[2]]))
    return GtObject(object_id, object_class, mesh, corners)


def _parked_truth(obj: GtObject, pose: Pose) -> ActorTruth:
    half = (obj.local_corners.max(axis=0) - obj.local_corners.min(axis=0)) / 2
    return ActorTruth(
        obj.object_id,
        ObjectClass.VEHICLE,
        pose.compose(Pose(z_m=float(half[2]))),
        half.astype(np.float64),
        np.zeros(3),
    )


def _prop_object(mesh: Mesh, object_id: int, object_class: ObjectClass) -> GtObject:
    sel = mesh.object_id == object_id
    tris = mesh.triangles[sel]
    used, inverse = np.unique(tris, return_inverse=True)
    verts = mesh.vertices[used]
    local = Mesh(
        verts,
        inverse.reshape(-1, 3).astype(np.int32),
        mesh.material[sel],
        mesh.object_id[sel],
        mesh.face_slot[sel],
    )
    return GtObject(object_id, object_class, local, box_corners(verts.min(0), verts.max(0)))


class EmbeddedWorld:
    """``with EmbeddedWorld(rig) as world: frame = world.reset(scenario, seed)``."""

    def __init__(self, rig: RigConfig | None = None, ground_truth: bool = True) -> None:
        self.rig_override = rig
        self.want_ground_truth = ground_truth
        self.static: StaticWorld | None = None
        self._static_key: tuple | None = None

    def __enter__(self) -> EmbeddedWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.static = None
        self._static_key = None

    def drive_map(self) -> DriveMap:
        st = self.static
        assert st is not None, "reset() first"
        poles = [s.position[:2] for s in st.signs] + [lt.position[:2] for lt in st.lights]
        if st.streetscape is not None:  # lamp posts and tree trunks
            poles += list(st.streetscape.poles_xy())
        return DriveMap(
            st.road_map.carla_map,
            self.route,
            self.ego.body.extent_m.copy(),
            tuple(st.signs),
            tuple(st.lights),
            np.array(poles).reshape(-1, 2),
        )

    # ------------------------------------------------------------------ setup
    def reset(self, scenario: Scenario, seed: int | None = None) -> SensorFrame:
        self.seed = scenario.seed if seed is None else seed
        key: tuple = (
            str(scenario.source),
            scenario.map,
            tuple(s.model_dump_json() for s in scenario.signs),
        )
        if scenario.streetscape.enabled:  # built for its seed too
            key += (scenario.streetscape.model_dump_json(), street_seed_of(scenario, self.seed))
        if self.static is None or self._static_key != key:
            self.static = build_static_world(scenario, self.seed)
            self._static_key = key
        self.scenario = scenario
        self.rng = np.random.default_rng(self.seed)
        self.rig = self.rig_override or scenario.resolve_rig()
        self.cameras = [Camera(c) for c in self.rig.cameras]
        self.lidars = [Lidar(c) for c in self.rig.lidars]
        self.lighting = Lighting.from_config(scenario.lighting)
        self.light_controller = LightController(self.static.lights, scenario.traffic_lights)
        self.frame_id = 0
        self.time_s = 0.0
        self._spawn()
        self.lane_invasion = LaneInvasionSensor(
            self.static.road_map.carla_map, self.ego.body.extent_m
        )
        self._invasions = self.lane_invasion.tick(self.ego.pose)
        return self._observe()

    def _spawn(self) -> None:
        st = self.static
        assert st is not None
        rm = st.road_map
        ego_cfg = self.scenario.ego
        start_wp = waypoint_at(rm, ego_cfg.start, "ego.start", carla.LaneType.Driving)
        route = plan_ego_route(rm, st.planner, ego_cfg, start_wp, self.rng)
        self.route = LanePath.from_waypoints(route)
        pose = pose_at(start_wp, ego_cfg.start)
        speed = kmh_to_mps(ego_cfg.speed_kmh)
        self.ego = EgoCar(
            0,
            Body.vehicle(ego_cfg.model, np.array(PAINTS[1])),
            pose,
            speed,
            state=BicycleState(pose.x_m, pose.y_m, pose.yaw_rad, speed),
        )
        if ego_cfg.route is not None:
            check_route(self.route, float(self.ego.body.extent_m[0]), "ego.route.goal")
        self.npcs: list[NpcCar] = []
        self.walkers: list[Walker] = []
        self._actor_gt: dict[int, GtObject] = {}
        for i, actor in enumerate(self.scenario.actors):
            field = f"actors.{i}.start"
            if isinstance(actor, VehicleActor):
                self.npcs.append(self._spawn_vehicle(i + 1, actor, field))
            else:
                self.walkers.append(self._spawn_walker(i + 1, actor, field))
        movers = [*self.npcs, *self.walkers]
        check_clear_of_ego(
            (self.ego.pose, self.ego.body.extent_m),
            [(m.actor_id - 1, m.body.object_class.value, m.pose, m.body.extent_m) for m in movers],
        )
        _check_clear_of_parked(st.parked_truth, movers)
        for mover in movers:
            body = mover.body
            self._actor_gt[mover.actor_id] = _gt_actor(
                mover.actor_id, body.mesh, body.extent_m, body.object_class
            )

    def _spawn_vehicle(self, actor_id: int, cfg: VehicleActor, field: str) -> NpcCar:
        st = self.static
        assert st is not None
        wp = waypoint_at(st.road_map, cfg.start, field, carla.LaneType.Driving)
        path = LanePath.from_waypoints(random_lane_walk(wp, NPC_PATH_M, self.rng))
        paint = np.array(cfg.color) if cfg.color else PAINTS[int(self.rng.integers(len(PAINTS)))]
        driver = LaneDriver.on_path(path, kmh_to_mps(cfg.speed_kmh), st.signs, st.lights)
        npc = NpcCar(
            actor_id,
            Body.vehicle(cfg.model, np.asarray(paint, float)),
            pose_at(wp, cfg.start),
            0.0,
            driver=driver,
            trigger=cfg.trigger,
            brake_at_s=cfg.brake_at_s,
            brake_for_s=cfg.brake_for_s,
            active=cfg.behaviour == "drive" and cfg.trigger is None,
            parked=cfg.behaviour == "parked",
        )
        npc.speed_mps = kmh_to_mps(cfg.speed_kmh) if npc.active else 0.0
        npc.place()
        return npc

    def _spawn_walker(self, actor_id: int, cfg: PedestrianActor, field: str) -> Walker:
        st = self.static
        assert st is not None
        any_lane = carla.LaneType.Sidewalk | carla.LaneType.Driving | carla.LaneType.Shoulder
        wp = waypoint_at(st.road_map, cfg.start, field, any_lane)
        start = pose_at(wp, cfg.start)
        origin = start.translation
        if cfg.behaviour == "cross":
            path = crossing_path(
                st.crosswalks,
                origin,
                cfg.crosswalk,
                field.replace("start", "crosswalk"),
                st.road_map.name,
            )
        elif cfg.behaviour == "walk":
            lane_wps = random_lane_walk(wp, 200.0, self.rng)
            path = np.array(
                [
                    [w.transform.location.x, w.transform.location.y, w.transform.location.z]
                    for w in lane_wps
                ]
            )
            path[0] = origin
        else:
            path = np.array([origin, origin])
        path[:, 2] += road_mesh.SIDEWALK_HEIGHT_M * (wp.lane_type == carla.LaneType.Sidewalk)
        clothes = CLOTHES[int(self.rng.integers(len(CLOTHES)))]
        walker = Walker(
            actor_id,
            Body.pedestrian(cfg.size, clothes),
            start,
            0.0,
            path=path,
            walk_speed_mps=cfg.speed_mps,
            trigger=cfg.trigger,
        )
        x, y, z = (float(v) for v in path[0])
        walker.pose = Pose(x, y, z, 0.0, 0.0, start.yaw_rad)
        return walker

    # ------------------------------------------------------------------ stepping
    def step(self, control: VehicleControl) -> SensorFrame:
        st = self.static
        assert st is not None, "reset() first"
        dt = 1.0 / PHYSICS_HZ
        self.time_s += dt
        self.frame_id += 1
        ground = st.road_map.carla_map.get_waypoint(
            carla.Location(self.ego.state.x_m, self.ego.state.y_m, self.ego.pose.z_m),
            project_to_road=True,
        )
        ground_z = ground.transform.location.z if ground is not None else self.ego.pose.z_m
        self.ego.apply(control, dt, ground_z)
        states = self.light_controller.states(self.time_s)
        self._move_npcs(dt, states)
        for walker in self.walkers:
            walker.advance(dt, self.time_s, self.ego.xy)
        self._invasions = self.lane_invasion.tick(self.ego.pose)
        return self._observe()

    def _move_npcs(self, dt: float, states: dict[int, LightState]) -> None:
        others = [self.ego, *self.npcs, *self.walkers]
        for npc in self.npcs:
            if npc.parked:
                continue
            if not npc.active:
                npc.active = triggered(npc.trigger, self.time_s, self.ego.xy, npc.xy)
                if not npc.active:
                    continue
                assert npc.driver is not None
                npc.speed_mps = npc.driver.desired_speed_mps if npc.trigger is None else 0.0
            assert npc.driver is not None
            if _braking(npc, self.time_s):
                accel = -6.0
            else:
                obstacles = [
                    Obstacle(o.xy, o.speed_mps, float(o.body.extent_m[0]))
                    for o in others
                    if o is not npc
                ]
                accel = npc.driver.accel(
                    npc.s_m,
                    npc.speed_mps,
                    self.time_s,
                    states,
                    obstacles,
                    float(npc.body.extent_m[0]),
                )
            accel = max(accel, -8.0)
            npc.speed_mps = max(0.0, npc.speed_mps + accel * dt)
            npc.s_m += npc.speed_mps * dt
            npc.place()

    # ------------------------------------------------------------------ sensing
    def _observe(self) -> SensorFrame:
        st = self.static
        assert st is not None
        states = self.light_controller.states(self.time_s)
        for light_id, slot in st.light_slots.items():
            st.raycast.faces[slot].tile = st.light_tiles[states[light_id]]
        movers: list[NpcCar | Walker] = [*self.npcs, *self.walkers]
        st.raycast.set_actors([m.world_mesh() for m in movers], [m.body.albedo for m in movers])
        cams, boxes = [], {}
        gt_objects = self._gt_objects(movers) if self.want_ground_truth else []
        for cam in self.cameras:
            if not self._due(cam.config.rate_hz):
                continue
            render = cam.render(st.raycast, self.ego.pose, self.lighting, st.atlas, self.rng)
            cams.append(
                CameraImage(
                    cam.config.name, render.bgra, cam.config.fov_deg, cam.mount, self.time_s
                )
            )
            if self.want_ground_truth:
                boxes[cam.config.name] = boxes_2d(
                    cam, cam.world_pose(self.ego.pose), render.object_id, gt_objects
                )
        scans = [
            LidarScan(
                lidar.config.name,
                lidar.scan(st.raycast, self.ego.pose, self.rng, self.lighting.rain),
                lidar.mount,
                self.time_s,
            )
            for lidar in self.lidars
            if self._due(lidar.config.rate_hz)
        ]
        truth = None
        if self.want_ground_truth:
            truth = GroundTruth(
                tuple(m.truth() for m in movers) + st.parked_truth,
                boxes,
                tuple(s.truth() for s in st.signs),
                tuple(lt.truth(states[lt.light_id]) for lt in st.lights),
                lane_invasions=self._invasions,
            )
        e = self.ego.state
        ego = EgoState(self.ego.pose, e.speed_mps, e.accel_mps2, e.yaw_rate_rps, e.steer_rad)
        return SensorFrame(self.frame_id, self.time_s, ego, tuple(cams), tuple(scans), truth)

    def _due(self, rate_hz: float) -> bool:
        every = max(1, round(PHYSICS_HZ / rate_hz))
        return self.frame_id % every == 0

    def _gt_objects(self, movers: list[NpcCar | Walker]) -> list[tuple[GtObject, Pose]]:
        assert self.static is not None
        props = [(o, Pose()) for o in self.static.prop_objects]
        movers_gt = [(self._actor_gt[m.actor_id], m.pose) for m in movers]
        return props + self.static.parked_objects + movers_gt


def _check_clear_of_parked(parked: tuple[ActorTruth, ...], movers: Sequence[Actor]) -> None:
    """UserError naming the first scenario actor that starts on a parked car of the
    streetscape (a pedestrian placed on a parking lane or a shoulder)."""
    for mover in movers:
        box = footprint(mover.pose, mover.body.extent_m)
        for car in parked:
            if footprints_overlap(box, footprint(car.pose, car.extent_m)):
                raise UserError(
                    f"actors.{mover.actor_id - 1}.start: the {mover.body.object_class.value} "
                    f"stands on a parked car of the streetscape at ({car.pose.x_m:.1f}, "
                    f"{car.pose.y_m:.1f}); move it, or set streetscape.parked_cars: false"
                )


def _braking(npc: NpcCar, time_s: float) -> bool:
    """Inside a scripted hard stop (lead-vehicle braking)."""
    if npc.brake_at_s is None or time_s < npc.brake_at_s:
        return False
    return npc.brake_for_s is None or time_s < npc.brake_at_s + npc.brake_for_s
