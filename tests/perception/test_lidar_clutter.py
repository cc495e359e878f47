"""The LiDAR pipeline on ray-cast street clutter built in the test (Open3D ray casting):
a car parked along a wall or fence, a pedestrian on a raised plaza beside the road, a
car-sized hedge piece beside a real map's road, drops of rain near the sensor."""

from __future__ import annotations

import math
from pathlib import Path

import carla
import numpy as np
import open3d as o3d
import pytest

from maps.road_area import RoadArea
from perception.lidar.config import LidarPipelineConfig, OutlierConfig
from perception.lidar.pipeline import LidarPipeline, RoadView
from roadmind.frames import Pose
from roadmind.messages import LidarObject, ObjectClass
from sim.embedded.render.rain import droplet_returns

SENSOR_Z_M = 1.8
SENSOR = Pose(z_m=SENSOR_Z_M)
STRAIGHT_ROAD = Path(__file__).resolve().parents[2] / "configs" / "maps" / "straight_speed.xodr"


def _box(
    lo: tuple[float, float, float], hi: tuple[float, float, float]
) -> o3d.t.geometry.TriangleMesh:
    size = np.subtract(hi, lo)
    mesh = o3d.geometry.TriangleMesh.create_box(*size)
    mesh.translate(lo)
    return o3d.t.geometry.TriangleMesh.from_legacy(mesh)


def _scan(
    boxes: list[tuple[tuple[float, float, float], tuple[float, float, float]]],
    elevation_deg: tuple[float, float, int] = (2.0, -24.8, 64),
) -> np.ndarray:
    """A spinning scan of 1800 columns (default 64 rings, +2 to -24.8 degrees) from
    SENSOR_Z_M over a ground plane and the boxes (ego frame: x forward, y right, z up);
    (N, 4) float32 in the sensor frame."""
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(_box((-100.0, -100.0, -1.0), (100.0, 100.0, 0.0)))
    for lo, hi in boxes:
        scene.add_triangles(_box(lo, hi))
    elev = np.radians(np.linspace(*elevation_deg))
    azim = np.linspace(-math.pi, math.pi, 1800, endpoint=False)
    el, az = np.meshgrid(elev, azim, indexing="ij")
    dirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1).reshape(
        -1, 3
    )
    rays = np.concatenate([np.tile([0.0, 0.0, SENSOR_Z_M], (dirs.shape[0], 1)), dirs], 1)
    t = scene.cast_rays(o3d.core.Tensor(rays.astype(np.float32)))["t_hit"].numpy()
    hit = np.isfinite(t) & (t < 100.0)
    xyz = dirs[hit] * t[hit, None]  # sensor frame: the sensor at the origin
    rng = np.random.default_rng(0)
    xyz += rng.normal(0.0, 0.01, xyz.shape)  # 1 cm range noise
    return np.concatenate([xyz, np.zeros((xyz.shape[0], 1))], 1).astype(np.float32)


def _near(
    objects: tuple[LidarObject, ...], xy: tuple[float, float], radius_m: float
) -> list[LidarObject]:
    return [o for o in objects if math.dist(o.center_m[:2], xy) <= radius_m]


CAR = ((13.0, 5.0, 0.25), (17.5, 6.8, 1.5))  # 4.5 x 1.8 x 1.5 m, parked on the right


@pytest.mark.parametrize(
    "wall_height_m", [2.4, 1.2], ids=["wall_taller_than_the_car", "fence_lower_than_the_car"]
)
def test_car_parked_along_a_wall_is_one_vehicle_and_the_wall_none(wall_height_m):
    wall = ((-30.0, 7.2, 0.0), (40.0, 7.4, wall_height_m))  # 40 cm beside the car
    objects = LidarPipeline().detect(_scan([CAR, wall]), SENSOR)
    vehicles = [o for o in objects if o.class_hint == ObjectClass.VEHICLE]
    assert len(vehicles) == 1, [(o.center_m.round(1), o.extent_m.round(1)) for o in vehicles]
    (car,) = vehicles
    assert math.dist(car.center_m[:2], (15.25, 5.9)) < 0.5
    assert abs(math.sin(car.yaw_rad)) < math.sin(math.radians(5))
    assert np.allclose(2 * car.extent_m[:2], (4.5, 1.8), atol=0.4)


def test_pedestrian_on_a_raised_plaza_is_found_at_its_own_ground():
    plaza = ((-40.0, 6.0, 0.0), (45.0, 45.0, 0.8))  # 80 cm above the road, a step on y = 6
    person = ((12.0, 12.0, 0.8), (12.5, 12.4, 2.55))  # 1.75 m tall on the plaza
    car = ((20.0, 2.0, 0.25), (24.5, 3.8, 1.5))
    result = LidarPipeline().run(_scan([plaza, person, car]), SENSOR)
    (ped,) = _near(result.objects, (12.25, 12.2), 1.0)
    assert ped.class_hint == ObjectClass.PEDESTRIAN
    assert abs(2 * ped.extent_m[2] - 1.75) < 0.3  # measured from the plaza, not the road
    (vehicle,) = [o for o in result.objects if o.class_hint == ObjectClass.VEHICLE]
    assert math.dist(vehicle.center_m[:2], (22.25, 2.9)) < 0.5  # its rear and a sparse side
    assert abs(math.sin(vehicle.yaw_rad)) < math.sin(math.radians(5))
    on_plaza = (result.points_m[:, 1] > 6.5) & (np.abs(result.points_m[:, 2] - 0.8) < 0.05)
    plaza_range = np.hypot(result.points_m[:, 0], result.points_m[:, 1])
    on_plaza &= (plaza_range > 10.0) & (plaza_range < 40.0)  # nearer: Patchwork++ bins hold
    # both levels and fail; the flat-layer rule drops what is left there
    assert result.is_ground[on_plaza].mean() > 0.9  # the plaza is ground at its own level
    assert len(result.objects) <= 4  # no plaza-sized cluster, few remnants at its edge


def test_tower_cut_by_the_crop_ceiling_is_no_vehicle_but_a_truck_is():
    # 32 rings up to +10 degrees: at 12 m the highest ring meets a face about 3.9 m up,
    # just under the 4 m crop and far under the 4.5 m "high" returns; the tower is about
    # a truck's footprint, so its height cut by the crop is all that tells it apart
    rings = (10.0, -20.0, 32)
    tower = ((12.0, 4.0, 0.0), (17.0, 6.0, 9.0))  # 5 x 2 m, 9 m tall
    truck = ((12.0, -7.0, 0.0), (19.0, -4.5, 3.2))  # 7 x 2.5 x 3.2 m
    objects = LidarPipeline().detect(_scan([tower, truck], rings), SENSOR)
    (near_tower,) = _near(objects, (14.5, 5.0), 2.5)
    assert 2 * near_tower.extent_m[2] > 3.7  # up to the crop's ceiling
    assert near_tower.class_hint == ObjectClass.UNKNOWN
    (near_truck,) = _near(objects, (15.5, -5.75), 2.5)
    assert near_truck.class_hint == ObjectClass.VEHICLE


def test_hedge_longer_than_a_car_is_no_vehicle():
    hedge = ((10.0, 6.0, 0.0), (17.0, 6.7, 1.5))  # 7 m long, 70 cm thick, 1.5 m tall
    objects = LidarPipeline().detect(_scan([hedge]), SENSOR)
    assert not [o for o in _near(objects, (13.5, 6.35), 4.0) if o.class_hint != ObjectClass.UNKNOWN]


def test_tree_crown_on_its_trunk_is_no_vehicle_but_a_box_truck_is():
    trunk = ((15.0, 6.0, 0.0), (15.3, 6.3, 2.0))
    crown = ((13.9, 5.0, 2.0), (16.5, 7.4, 3.4))  # 2.6 x 2.4 m, 2-3.4 m above the road
    truck = ((12.0, -7.0, 0.5), (19.0, -4.5, 3.2))  # its body 50 cm above the road
    rings = (10.0, -20.0, 32)  # up to +10 degrees: the crown's top is seen
    objects = LidarPipeline().detect(_scan([trunk, crown, truck], rings), SENSOR)
    near_tree = _near(objects, (15.2, 6.2), 2.5)
    assert not [o for o in near_tree if o.class_hint == ObjectClass.VEHICLE]
    tree = max(near_tree, key=lambda o: o.num_points)
    assert 2 * tree.extent_m[2] > 3.0  # the crown, up to its top
    assert tree.class_hint == ObjectClass.UNKNOWN
    (near_truck,) = _near(objects, (15.5, -5.75), 2.5)
    assert near_truck.class_hint == ObjectClass.VEHICLE


def test_car_and_person_sized_clutter_beyond_the_sidewalk_are_no_road_users_with_the_map():
    # the ego on the project's straight road (lane -1, 1.75 m right of the centre line);
    # the road's lanes and shoulder end 6.25 m to its right, the sidewalk 2.5 m further
    road_map = carla.Map("straight_speed", STRAIGHT_ROAD.read_text())
    road = RoadView(RoadArea(road_map), Pose(x_m=100.0, y_m=1.75))
    car = ((15.0, -3.0, 0.0), (19.5, -1.2, 1.5))  # in the next lane
    parked = ((20.0, 4.5, 0.0), (24.5, 6.2, 1.5))  # on the shoulder, partly on the sidewalk
    hedge = ((14.0, 11.0, 0.0), (16.5, 11.8, 1.3))  # 2.5 m of hedge behind the sidewalk
    walker = ((10.0, -11.25, 0.0), (10.5, -10.75, 1.75))  # on the left sidewalk
    shrub = ((25.0, -15.25, 0.0), (25.5, -14.75, 1.6))  # person-sized, 2.75 m behind it
    scan = _scan([car, parked, hedge, walker, shrub])
    alone = LidarPipeline().detect(scan, SENSOR)
    (piece,) = _near(alone, (15.25, 11.4), 2.5)
    assert piece.class_hint == ObjectClass.VEHICLE  # its shape alone says car
    with_map = LidarPipeline().detect(scan, SENSOR, road)
    (piece,) = _near(with_map, (15.25, 11.4), 2.5)
    assert piece.class_hint == ObjectClass.UNKNOWN
    for xy in ((17.25, -2.1), (22.25, 5.35)):
        (vehicle,) = _near(with_map, xy, 2.0)
        assert vehicle.class_hint == ObjectClass.VEHICLE
    ((alone_shrub,), (mapped_shrub,)) = (
        _near(objs, (25.25, -15.0), 1.0) for objs in (alone, with_map)
    )
    assert alone_shrub.class_hint == ObjectClass.PEDESTRIAN  # its shape alone says person
    assert mapped_shrub.class_hint == ObjectClass.UNKNOWN
    (person,) = _near(with_map, (10.25, -11.0), 1.0)
    assert person.class_hint == ObjectClass.PEDESTRIAN


def test_rain_drops_near_the_sensor_make_no_road_users():
    # the embedded world's rain model (0.7, its preset) on a scan of a car and a person:
    # beams returned by drops in the air, mostly within a few metres
    car = ((8.0, -3.5, 0.0), (12.5, -1.7, 1.5))
    person = ((6.0, 2.0, 0.0), (6.5, 2.5, 1.75))
    dry = _scan([car, person])
    hit_m = np.linalg.norm(dry[:, :3], axis=1)
    road_users = (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN)
    phantoms = {True: 0, False: 0}
    for seed in range(10):
        beams, drop_m, intensity = droplet_returns(
            dry.shape[0], hit_m, 0.7, np.random.default_rng(seed)
        )
        wet = dry.copy()
        wet[beams, :3] *= (drop_m / hit_m[beams])[:, None]
        wet[beams, 3] = intensity
        for filtered in (True, False):
            outliers = OutlierConfig(range_m=12.0 if filtered else 0.0)
            objects = LidarPipeline(LidarPipelineConfig(outliers=outliers)).detect(wet, SENSOR)
            near = [o for o in objects if math.hypot(*o.center_m[:2]) < 5.0]
            phantoms[filtered] += sum(o.class_hint in road_users for o in near)
            if filtered:
                (walker,) = _near(objects, (6.25, 2.25), 1.0)
                assert walker.class_hint == ObjectClass.PEDESTRIAN
                (vehicle,) = _near(objects, (10.25, -2.6), 1.0)
                assert vehicle.class_hint == ObjectClass.VEHICLE
    assert phantoms[False] >= 30  # drops clustered into 'road users' around the car
    assert phantoms[True] <= 3
