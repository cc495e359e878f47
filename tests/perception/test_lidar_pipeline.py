"""The LiDAR pipeline on real embedded-world scans (real Open3D, real carla.Map roads)."""

from __future__ import annotations

import json
import math

import numpy as np
import open3d as o3d
import pytest
from PIL import Image

from cli.main import main
from perception.lidar.config import ClusterConfig, LidarPipelineConfig, load_lidar_config
from perception.lidar.pipeline import LidarPipeline, detect_objects
from perception.point_cloud_io import read_kitti_bin, read_pcd, read_points, write_pcd
from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import LidarObject, ObjectClass, SensorFrame
from sim.embedded.world import EmbeddedWorld
from sim.rig import LidarConfig, RigConfig
from sim.scenario import Scenario

# the 32 x 1024 roof LiDAR of configs/rigs/default.yaml (2 m up, 2 % dropout)
RIG = RigConfig(cameras=[], lidars=[LidarConfig(dropout=0.02)])
PARKED_AHEAD_RIGHT = {"road": 1, "lane": -2, "s_m": 42}  # ego at s 30 in lane -1
PARKED_AHEAD = {"road": 1, "lane": -1, "s_m": 45}


def _scenario(*starts: dict) -> Scenario:
    actors = [
        {"kind": "vehicle", "start": start, "behaviour": "parked", "speed_kmh": 0}
        for start in starts
    ]
    return Scenario.model_validate(
        {
            "name": "lidar_test",
            "map": "straight_speed",  # sidewalks raised 15 cm behind curbs, a sign pole
            "seed": 1,
            "ego": {"start": {"road": 1, "lane": -1, "s_m": 30}},
            "actors": actors,
        }
    )


@pytest.fixture(scope="module")
def frames() -> dict[str, SensorFrame]:
    out = {}
    with EmbeddedWorld(RIG) as world:
        out["empty"] = world.reset(_scenario())
        out["ahead_right"] = world.reset(_scenario(PARKED_AHEAD_RIGHT))
        out["ahead"] = world.reset(_scenario(PARKED_AHEAD))
    return out


def _run(frame: SensorFrame, method: str = "dbscan") -> tuple[LidarObject, ...]:
    scan = frame.lidars[0]
    config = LidarPipelineConfig(cluster=ClusterConfig(method=method))
    return LidarPipeline(config).detect(scan.points_xyzi, scan.sensor_to_ego)


def _truth_in_ego(frame: SensorFrame) -> tuple[np.ndarray, np.ndarray]:
    assert frame.ground_truth is not None
    (actor,) = frame.ground_truth.actors
    center = frame.ego.pose.inverse_transform_points(actor.pose.translation[None, :])[0]
    return center, actor.extent_m


def _vehicles(objects: tuple[LidarObject, ...]) -> list[LidarObject]:
    return [o for o in objects if o.class_hint == ObjectClass.VEHICLE]


@pytest.mark.parametrize("method", ["grid", "dbscan"])
def test_parked_car_ahead_right_is_one_vehicle_box(frames, method):
    objects = _run(frames["ahead_right"], method)
    center, extent = _truth_in_ego(frames["ahead_right"])
    (car,) = _vehicles(objects)
    assert np.hypot(*(car.center_m[:2] - center[:2])) < 0.5
    assert np.allclose(car.extent_m[:2], extent[:2], atol=0.2)  # both sides seen: true size
    assert abs(car.extent_m[2] - extent[2]) < 0.15
    assert abs(math.sin(car.yaw_rad)) < math.sin(math.radians(5))  # parallel to the lane


def test_car_seen_from_behind_is_completed_away_from_the_sensor(frames):
    (car,) = _vehicles(_run(frames["ahead"]))
    center, extent = _truth_in_ego(frames["ahead"])
    assert np.hypot(*(car.center_m[:2] - center[:2])) < 0.5
    assert abs(car.extent_m[0] - extent[0]) < 0.3  # length from the prior, not the rear face
    assert abs(car.extent_m[1] - extent[1]) < 0.2


def test_empty_road_curbs_and_sidewalks_make_no_objects(frames):
    frame = frames["empty"]
    assert frame.ground_truth is not None
    result = LidarPipeline().run(frame.lidars[0].points_xyzi, frame.lidars[0].sensor_to_ego)
    poles = [
        frame.ego.pose.inverse_transform_points(s.pose.translation[None, :])[0, :2]
        for s in (*frame.ground_truth.signs, *frame.ground_truth.lights)
    ]
    assert result.counts["ground"] > 0.95 * result.counts["after_crop"]
    for obj in result.objects:  # only the sign poles stand out of the road
        assert obj.class_hint == ObjectClass.UNKNOWN
        assert min(np.hypot(*(obj.center_m[:2] - p)) for p in poles) < 1.0


def test_ground_follows_a_ramp(frames):
    """A 10 % ramp starting 10 m ahead (points lifted in the ego frame) stays ground."""
    scan = frames["empty"].lidars[0]
    ego_pts = scan.sensor_to_ego.transform_points(scan.points_xyzi[:, :3].astype(np.float64))
    ego_pts[:, 2] += 0.10 * np.clip(ego_pts[:, 0] - 10.0, 0.0, None)
    ramp = scan.points_xyzi.copy()
    ramp[:, :3] = scan.sensor_to_ego.inverse_transform_points(ego_pts)
    result = LidarPipeline().run(ramp, scan.sensor_to_ego)
    assert all(o.class_hint == ObjectClass.UNKNOWN for o in result.objects)
    assert len(result.objects) <= 1  # the sign pole
    assert result.counts["non_ground"] < 0.01 * result.counts["after_crop"]


def test_grid_and_dbscan_agree(frames):
    for name in ("ahead_right", "ahead"):
        grid, dbscan = _vehicles(_run(frames[name], "grid")), _vehicles(_run(frames[name]))
        assert len(grid) == len(dbscan) == 1
        assert np.allclose(grid[0].center_m, dbscan[0].center_m, atol=0.3)
        assert np.allclose(grid[0].extent_m, dbscan[0].extent_m, atol=0.3)


def test_nan_rows_are_dropped(frames):
    scan = frames["ahead_right"].lidars[0]
    noisy = np.concatenate([scan.points_xyzi, np.full((100, 4), np.nan, np.float32)])
    noisy[::7, 1] = np.nan
    clean = scan.points_xyzi[np.isfinite(noisy[: len(scan.points_xyzi), 1])]
    result = LidarPipeline().run(noisy, scan.sensor_to_ego)
    assert result.counts["points_finite"] == len(clean)
    (car,) = _vehicles(result.objects)
    center, _ = _truth_in_ego(frames["ahead_right"])
    assert np.hypot(*(car.center_m[:2] - center[:2])) < 0.5


def test_empty_cloud_gives_no_objects():
    assert detect_objects(np.zeros((0, 4), np.float32), Pose(z_m=2.0)) == ()


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.full((10, 4), np.nan, np.float32), "all 10 rows have NaN"),
        (np.zeros((10, 4), np.float64), "got dtype float64"),
        (np.zeros((10, 3), np.float32), r"got shape \(10, 3\)"),
        ([[0.0, 0.0, 0.0, 0.0]], "got list"),
    ],
)
def test_bad_points_raise_clear_errors(points, message):
    with pytest.raises(ValueError, match=message) as err:
        detect_objects(points, Pose())
    assert "float32" in str(err.value) and "(N, 4)" in str(err.value)


def test_config_file_holds_the_defaults():
    assert load_lidar_config() == LidarPipelineConfig()


def test_truncated_kitti_bin_names_file_and_size(tmp_path):
    path = tmp_path / "scan.bin"
    path.write_bytes(np.zeros((3, 4), np.float32).tobytes()[:-5])
    with pytest.raises(UserError, match=r"scan\.bin: 43 bytes is not a multiple of 16"):
        read_kitti_bin(path)
    with pytest.raises(UserError, match="file not found"):
        read_points(tmp_path / "missing.bin")
    with pytest.raises(UserError, match=r"unknown point cloud format '\.las'"):
        read_points(tmp_path / "scan.las")


def test_pcd_round_trip_and_missing_intensity(tmp_path):
    points = np.random.default_rng(0).random((50, 4), dtype=np.float32)
    write_pcd(tmp_path / "a.pcd", points)
    np.testing.assert_allclose(read_pcd(tmp_path / "a.pcd"), points, atol=1e-6)
    legacy = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points[:, :3].astype(np.float64)))
    o3d.io.write_point_cloud(str(tmp_path / "b.pcd"), legacy)
    read = read_points(tmp_path / "b.pcd")  # a .pcd is taken as ROS axes: y left
    np.testing.assert_allclose(read[:, :3], points[:, :3] * [1, -1, 1], atol=1e-6)
    same = read_points(tmp_path / "b.pcd", y_left=False)
    np.testing.assert_allclose(same[:, :3], points[:, :3], atol=1e-6)
    assert not read[:, 3].any()
    (tmp_path / "c.pcd").write_text("not a point cloud")
    with pytest.raises(UserError, match=r"c\.pcd: not a PCD file"):
        read_pcd(tmp_path / "c.pcd")


def test_cli_lidar_writes_png_and_summary(frames, tmp_path, capsys):
    path = tmp_path / "scan.bin"
    frames["ahead_right"].lidars[0].points_xyzi.tofile(path)
    out = tmp_path / "bev.png"
    args = ["lidar", str(path), "--out", str(out), "--method", "grid", "--axes", "y-right"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["objects_by_class"]["vehicle"] == 1
    assert summary["ground"] > 0 and summary["after_crop"] <= summary["points_in"]
    image = np.asarray(Image.open(out))
    assert image.shape == (800, 800, 3) and len(np.unique(image.reshape(-1, 3), axis=0)) > 10


def test_cli_lidar_bad_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "cut.bin"
    path.write_bytes(b"\0" * 20)
    assert main(["lidar", str(path), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cut.bin: 20 bytes" in err


def test_result_views_line_up(frames):
    scan = frames["ahead_right"].lidars[0]
    result = LidarPipeline().run(scan.points_xyzi, scan.sensor_to_ego)
    m = result.points_m.shape[0]
    assert result.height_m.shape == result.is_ground.shape == result.labels.shape == (m,)
    assert not (result.is_ground & (result.labels >= 0)).any()
