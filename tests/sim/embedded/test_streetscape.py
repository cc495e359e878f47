"""The streetscape: clutter placed from the map alone, seeded; never on a lane, a
crosswalk, a junction or a pole; parked cars in the ground truth where the LiDAR sees
them; buildings seen by both sensors; terrain at the roads' height. Where things may
stand is judged here from carla.Map, not from the placer's own grid."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import carla
import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath

from roadmind.errors import ConfigError, UserError
from roadmind.frames import Pose
from roadmind.messages import ObjectClass, VehicleControl
from sim.embedded.render.lidar import Lidar
from sim.embedded.render.materials import Material
from sim.embedded.render.raycast import RaycastWorld, fill_rays
from sim.embedded.world import PARKED_ID_BASE, EmbeddedWorld, StaticWorld, build_static_world
from sim.lighting import Lighting, LightingConfig
from sim.rig import LidarConfig
from sim.scenario import Scenario, load_scenario
from sim.streetscape import StreetscapeConfig

LANE_SLACK_M = 0.05  # float and sampling slack at a lane's edge


def _with(scenario: Scenario, **street: object) -> Scenario:
    return scenario.model_copy(update={"streetscape": StreetscapeConfig(**street)})


@cache
def _static(name: str, profile: str, seed: int = 0) -> StaticWorld:
    return build_static_world(_with(load_scenario(name), profile=profile), seed)


def _lane_under(carla_map: carla.Map, xy: np.ndarray) -> carla.Waypoint | None:
    """The lane of any type whose area holds the point, by the lane centres and widths
    around its projection (``get_waypoint(project_to_road=False)`` judges by the nearest
    lane centre only and misses the outer half of a wide lane beside a narrow one)."""
    wp = carla_map.get_waypoint(
        carla.Location(float(xy[0]), float(xy[1]), 0.0), lane_type=carla.LaneType.Any
    )
    if wp is None:
        return None
    seen, todo = set(), [wp]
    while todo:
        lane = todo.pop()
        if lane is None or (lane.road_id, lane.section_id, lane.lane_id) in seen:
            continue
        seen.add((lane.road_id, lane.section_id, lane.lane_id))
        if lane.lane_type != carla.LaneType.NONE:
            loc, right = lane.transform.location, lane.transform.get_right_vector()
            lateral = (xy[0] - loc.x) * right.x + (xy[1] - loc.y) * right.y
            if abs(lateral) <= lane.lane_width / 2 - LANE_SLACK_M:
                return lane
        todo += [lane.get_left_lane(), lane.get_right_lane()]
    return None


def _junction_boxes(carla_map: carla.Map) -> list[tuple[np.ndarray, np.ndarray]]:
    boxes = {}
    for wp in carla_map.generate_waypoints(2.0):
        if wp.is_junction:
            j = wp.get_junction()
            c, e = j.bounding_box.location, j.bounding_box.extent
            boxes[j.id] = (np.array([c.x - e.x, c.y - e.y]), np.array([c.x + e.x, c.y + e.y]))
    return list(boxes.values())


def _footprint(center: np.ndarray, yaw: float, half: tuple[float, float], n: int = 5) -> list:
    c, s = math.cos(yaw), math.sin(yaw)
    return [
        center[:2]
        + np.array([a * half[0] * c - b * half[1] * s, a * half[0] * s + b * half[1] * c])
        for a in np.linspace(-1, 1, n)
        for b in np.linspace(-1, 1, n)
    ]


def _standing_points(st: StaticWorld) -> list[tuple[str, np.ndarray]]:
    """Where the clutter touches the ground: building footprints, trunks, lamp posts,
    every point of a hedge, fence, wall or guard rail."""
    lay = st.streetscape
    assert lay is not None
    pts: list[tuple[str, np.ndarray]] = []
    for b in lay.buildings:
        pts += [("building", p) for p in _footprint(b.center, b.yaw_rad, b.half_m)]
    pts += [("tree", t.base[:2]) for t in lay.trees]
    pts += [("lamp", lamp.base[:2]) for lamp in lay.lamps]
    for line in lay.boundaries:
        pts += [(line.kind, p[:2]) for p in line.points]
    return pts


def test_streetscape_is_off_unless_asked_for() -> None:
    scenario = load_scenario("default")
    assert scenario.streetscape == StreetscapeConfig() and not scenario.streetscape.enabled
    st = build_static_world(scenario)
    assert st.streetscape is None and st.parked_truth == ()


def test_same_seed_same_streets_other_seed_other_streets() -> None:
    scenario = _with(load_scenario("urban_clutter"), profile="urban")
    a, b, c = (build_static_world(scenario, seed) for seed in (3, 3, 4))
    mesh_a, mesh_b, mesh_c = (w.raycast._mesh for w in (a, b, c))
    np.testing.assert_array_equal(mesh_a.vertices, mesh_b.vertices)
    np.testing.assert_array_equal(mesh_a.albedo, mesh_b.albedo)
    assert [car.pose for car in a.streetscape.parked] == [car.pose for car in b.streetscape.parked]
    assert mesh_a.vertices.shape != mesh_c.vertices.shape or not np.array_equal(
        mesh_a.vertices, mesh_c.vertices
    )
    # the streetscape's own seed wins over the drive's
    own = _with(load_scenario("urban_clutter"), profile="urban", seed=4)
    np.testing.assert_array_equal(
        build_static_world(own, 3).raycast._mesh.vertices, mesh_c.vertices
    )


def test_a_seed_gives_the_same_frames_byte_for_byte(small_rig) -> None:
    scenario = load_scenario("urban_clutter")

    def run() -> tuple[np.ndarray, np.ndarray]:
        with EmbeddedWorld(small_rig) as world:
            frame = world.reset(scenario)
            for _ in range(3):
                frame = world.step(VehicleControl(throttle=0.5))
        return frame.cameras[0].bgra, frame.lidars[0].points_xyzi

    (img_a, pts_a), (img_b, pts_b) = run(), run()
    np.testing.assert_array_equal(img_a, img_b)
    np.testing.assert_array_equal(pts_a, pts_b)


@pytest.mark.parametrize(
    ("name", "profile"),
    [
        ("default", "urban"),  # four_way_signals: a junction, lights, crosswalks
        ("default", "suburban"),
        ("urban_clutter", "urban"),  # hill_street: parking lanes, a crosswalk, a crest
        ("urban_clutter", "suburban"),
        ("stop_sign", "suburban"),
    ],
)
def test_nothing_stands_on_lanes_crosswalks_junctions_or_poles(name: str, profile: str) -> None:
    st = _static(name, profile)
    carla_map = st.road_map.carla_map
    points = _standing_points(st)
    assert len(points) > 200
    on_lane = [
        (k, p.round(1), str(w.lane_type)) for k, p in points if (w := _lane_under(carla_map, p))
    ]
    assert on_lane == []
    junctions = _junction_boxes(carla_map)
    in_junction = [
        (k, p) for k, p in points for lo, hi in junctions if np.all((p >= lo) & (p <= hi))
    ]
    assert in_junction == []
    for poly in st.crosswalks:
        inside = PolygonPath(poly[:, :2]).contains_points(np.array([p for _, p in points]))
        assert not inside.any()
    poles = np.array([s.position[:2] for s in st.signs] + [lt.position[:2] for lt in st.lights])
    near = np.linalg.norm(np.array([p for _, p in points])[:, None] - poles[None], axis=2)
    assert near.min() >= 1.4  # POLE_CLEAR_M, less a grid cell's diagonal share


@pytest.mark.parametrize("profile", ["urban", "suburban"])
def test_parked_cars_stand_on_parking_lanes_clear_of_crosswalks(profile: str) -> None:
    st = _static("urban_clutter", profile)
    lay = st.streetscape
    assert lay is not None and len(lay.parked) >= 20  # hill_street: 2 x 350 m of kerb
    carla_map = st.road_map.carla_map
    kerbside = (carla.LaneType.Parking, carla.LaneType.Shoulder)
    for car in lay.parked:
        center = np.array([car.pose.x_m, car.pose.y_m])
        for p in _footprint(center, car.pose.yaw_rad, tuple(car.extent_m[:2]), 3):
            lane = _lane_under(carla_map, p)
            assert lane is not None and lane.lane_type in kerbside, (car, p)
        for poly in st.crosswalks:  # nor beside a crosswalk, in the walkers' way
            mid = poly[:, :2].mean(axis=0)
            assert np.linalg.norm(center - mid) > 6.0


def _points_in_box(points_world: np.ndarray, pose: Pose, extent: np.ndarray, grow: float) -> int:
    local = pose.inverse_transform_points(points_world)
    return int(np.all(np.abs(local) <= extent + grow, axis=1).sum())


def test_parked_cars_are_vehicles_in_the_ground_truth_that_lidar_and_camera_see(small_rig) -> None:
    scenario = load_scenario("urban_clutter")
    with EmbeddedWorld(small_rig) as world:
        frame = world.reset(scenario)
        frame = world.step(VehicleControl())
        static = world.static
    assert static is not None and static.streetscape is not None
    truth = frame.ground_truth
    parked = [a for a in truth.actors if a.actor_id >= PARKED_ID_BASE]
    assert len(parked) == len(static.streetscape.parked) >= 20
    assert all(a.object_class is ObjectClass.VEHICLE and not a.velocity_mps.any() for a in parked)
    scan = frame.lidars[0]
    sensor = frame.ego.pose.compose(scan.sensor_to_ego)
    world_pts = sensor.transform_points(scan.points_xyzi[:, :3].astype(np.float64))
    ego_xy = np.array([frame.ego.pose.x_m, frame.ego.pose.y_m])
    near = [a for a in parked if np.hypot(a.pose.x_m - ego_xy[0], a.pose.y_m - ego_xy[1]) < 20.0]
    assert len(near) >= 3
    for car in near:
        inside = _points_in_box(world_pts, car.pose, car.extent_m, 0.05)
        shell = _points_in_box(world_pts, car.pose, car.extent_m, 0.4) - inside
        assert inside >= 10, car.actor_id
        # returns about the box are the box's: its side faces, not a shifted car
        assert shell <= 0.25 * inside, (car.actor_id, inside, shell)
    boxes = {b.object_id: b for b in truth.boxes_2d["front"]}
    seen = [a for a in parked if a.actor_id in boxes]
    assert seen and all(boxes[a.actor_id].object_class is ObjectClass.VEHICLE for a in seen)


def test_buildings_give_lidar_returns_and_pixels(small_rig) -> None:
    st = _static("urban_clutter", "urban")
    world = st.raycast
    with EmbeddedWorld(small_rig) as sim:
        frame = sim.reset(load_scenario("urban_clutter"))
        lidar, camera = sim.lidars[0], sim.cameras[0]
        ego = frame.ego.pose
    facades = (Material.BUILDING, Material.WINDOW, Material.WINDOW_LIT)
    pose = ego.compose(lidar.mount)
    rays = np.empty((lidar.dirs_sensor.shape[0], 6), np.float32)
    fill_rays(rays, pose.translation, pose.rotation, lidar._dirs_planar)
    t, rows = world.cast_rays(rays, range_m=lidar.config.range_m)
    assert np.isin(world.material[rows[np.isfinite(t)]], facades).sum() > 200
    render = camera.render(world, ego, sim.lighting, st.atlas, np.random.default_rng(0))
    pose = camera.world_pose(ego)
    rays = np.empty((camera.dirs_sensor.shape[0], 6), np.float32)
    fill_rays(rays, pose.translation.astype(np.float32), pose.rotation, camera._dirs_planar)
    _, rows = world.cast_rays(rays)
    share = np.isin(world.material[rows], facades).mean()
    assert share > 0.2  # a built-up street: a fifth of the image or more is façade
    assert render.bgra.shape[:2] == (270, 480)


def _down_hits(st: StaticWorld, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heights and materials where vertical rays from 50 m up first hit."""
    rays = np.zeros((xy.shape[0], 6), np.float32)
    rays[:, :2], rays[:, 2], rays[:, 5] = xy, 50.0, -1.0
    t, rows = st.raycast.cast_rays(rays)
    return 50.0 - t, st.raycast.material[rows]


def _terrain_follows_roads(st: StaticWorld, carla_map: carla.Map, min_rise_m: float) -> None:
    """Beside elevated roads the ground is at the road's height; on the lanes the road
    is what a ray from above hits first."""
    wps = [
        w
        for w in carla_map.generate_waypoints(4.0)
        if not w.is_junction
        and w.transform.location.z >= min_rise_m
        and w.s > 1.0  # not on the seam where a road meets the next one
        and all(n.road_id == w.road_id for n in w.next(1.0))
    ]
    assert len(wps) > 10
    on_road, beside, road_z = [], [], []
    for w in wps:
        loc, right = w.transform.location, w.transform.get_right_vector()
        edge = w
        while (nxt := edge.get_right_lane()) is not None and nxt.lane_type != carla.LaneType.NONE:
            if nxt.lane_id * w.lane_id < 0:
                break
            edge = nxt
        off = (edge.transform.location.x - loc.x) * right.x + (
            edge.transform.location.y - loc.y
        ) * right.y
        out = off + edge.lane_width / 2 + 2.0  # 2 m beyond the road's outer edge
        on_road.append([loc.x, loc.y])
        beside.append([loc.x + right.x * out, loc.y + right.y * out])
        road_z.append(loc.z)
    z_road, mat_road = _down_hits(st, np.array(on_road))
    assert not np.isin(mat_road, (Material.GRASS,)).any()  # the terrain never covers a road
    np.testing.assert_allclose(z_road, road_z, atol=0.1)
    z_beside, mat_beside = _down_hits(st, np.array(beside))
    ground = np.isin(mat_beside, (Material.GRASS,))
    assert ground.mean() > 0.5
    # no road floats over a flat plane: the ground beside it is at its height
    assert np.median(np.abs(z_beside[ground] - np.array(road_z)[ground])) < 0.3
    assert np.percentile(np.abs(z_beside[ground] - np.array(road_z)[ground]), 90) < 1.0


def test_terrain_follows_hill_street_over_its_crest() -> None:
    st = _static("urban_clutter", "suburban")
    _terrain_follows_roads(st, st.road_map.carla_map, 1.5)


def test_terrain_follows_town04_ramps(carla_town) -> None:
    path: Path = carla_town("Town04")
    scenario = Scenario.model_validate(
        {
            "name": "town04",
            "map": str(path),
            "ego": {"start": {"road": 38, "lane": -1, "s_m": 100.0}},
            "streetscape": {"profile": "suburban", "density": 0.3},
        }
    )
    st = build_static_world(scenario)
    _terrain_follows_roads(st, st.road_map.carla_map, 4.0)


def _refused(tmp_path: Path, street: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nmap: four_way_stop\nego:\n  start: {road: 1, lane: 1, s_m: 50}\n"
        f"streetscape: {street}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_scenario(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    return message


@pytest.mark.parametrize(
    ("street", "field", "says"),
    [
        ("{profile: dense}", "streetscape.profile", "'off', 'suburban' or 'urban'"),
        ("{profile: urban, density: 3}", "streetscape.density", "less than or equal to 2"),
        ("{profile: urban, density: -0.5}", "streetscape.density", "greater than or equal to 0"),
        ("{profile: urban, density: .nan}", "streetscape.density", "finite number"),
        (
            "{profile: urban, trees: 5}",
            "streetscape.trees",
            "unknown key; allowed keys: density, parked_cars",
        ),
        ("{profile: urban, seed: -1}", "streetscape.seed", "greater than or equal to 0"),
        ("{profile: urban, parked_cars: maybe}", "streetscape.parked_cars", "valid boolean"),
        ("urban", "streetscape", "valid dictionary"),
    ],
)
def test_bad_streetscape_values_are_refused(
    tmp_path: Path, street: str, field: str, says: str
) -> None:
    message = _refused(tmp_path, street)
    assert f"{field}:" in message and says in message, message


def test_a_pedestrian_placed_on_a_parked_car_is_refused() -> None:
    scenario = load_scenario("urban_clutter")
    st = build_static_world(scenario)
    car = st.streetscape.parked[5]
    lane = st.road_map.carla_map.get_waypoint(
        carla.Location(car.pose.x_m, car.pose.y_m, car.pose.z_m), lane_type=carla.LaneType.Parking
    )
    walker = {
        "kind": "pedestrian",
        "start": {"road": lane.road_id, "lane": lane.lane_id, "s_m": lane.s},
        "behaviour": "stand",
    }
    on_car = Scenario.model_validate({**scenario.model_dump(), "actors": [walker]})
    with (
        EmbeddedWorld() as world,
        pytest.raises(UserError, match=r"actors\.0\.start: the pedestrian stands on a parked car"),
    ):
        world.reset(on_car)


def test_lamps_light_the_street_at_night_and_fog_hides_the_distance() -> None:
    night, day = (Lighting.from_config(LightingConfig(preset=p)) for p in ("night", "day"))
    assert night.lamps_on and not day.lamps_on
    assert Lighting.from_config(LightingConfig(preset="dusk")).lamps_on
    assert Lighting.from_config(LightingConfig(preset="fog")).visibility_m == 70.0
    assert Lighting.from_config(LightingConfig(preset="fog", visibility_m=200)).visibility_m == 200
    world = _static("urban_clutter", "urban").raycast
    lamp = _static("urban_clutter", "urban").streetscape.lamps[3]
    under = lamp.head[:2] + lamp.toward_road * 1.5  # the road under its head
    rays = np.array([[under[0], under[1], 50.0, 0.0, 0.0, -1.0]], np.float32)
    _, rows = world.cast_rays(rays)
    eye = np.array([under[0], under[1], 50.0])

    def light_under(lamps: np.ndarray | None) -> float:
        world.lamps = lamps
        world.set_lighting(night)
        return float(world.view_shading(eye, rows)[1][rows[0]].sum())

    lamps = world.lamps
    try:
        lit, dark = light_under(lamps), light_under(None)
        heads = np.flatnonzero(world.material == Material.LAMP)
        assert heads.size and np.all(world._lit[0][:, heads] >= 1.0)  # they glow
    finally:
        world.lamps = lamps
    assert lit > 3.0 * dark


def test_lidar_culling_gives_the_whole_cluttered_map_s_answer() -> None:
    st = _static("urban_clutter", "urban")
    mesh = st.raycast._mesh
    culled, whole = RaycastWorld(mesh), RaycastWorld(mesh, cull=False)
    lidar = Lidar(LidarConfig(channels=16, columns=512, range_m=40.0, dropout=0.1))
    carla_map = st.road_map.carla_map
    for s_m in (20.0, 110.0, 200.0, 300.0):  # up the crest and down: scenes rebuilt
        tr = carla_map.get_waypoint_xodr(1, -1, s_m).transform
        loc = tr.location
        pose = Pose.from_carla_degrees(loc.x, loc.y, loc.z, 0.0, 0.0, tr.rotation.yaw)
        a = lidar.scan(culled, pose, np.random.default_rng(3))
        b = lidar.scan(whole, pose, np.random.default_rng(3))
        np.testing.assert_array_equal(a, b)
        assert a.shape[0] > 1000
    assert culled._culled[40.0].ids.size < 0.6 * culled.num_static_triangles
