"""Sensors with a range cast against the map near them only, with the whole map's answer."""

from __future__ import annotations

import numpy as np
import pytest

from roadmind.frames import Pose
from sim.embedded.render.camera import Camera
from sim.embedded.render.lidar import Lidar
from sim.embedded.render.raycast import RaycastWorld
from sim.embedded.world import build_static_world
from sim.lighting import Lighting, LightingConfig
from sim.rig import CameraConfig, LidarConfig, MountPose
from sim.scenario import Scenario

RANGE_M = 60.0


@pytest.fixture(scope="module")
def town01(carla_town):
    scenario = Scenario.model_validate(
        {
            "name": "town01",
            "map": str(carla_town("Town01")),
            "ego": {"start": {"road": 15, "lane": -1, "s_m": 20.0}},
        }
    )
    st = build_static_world(scenario)
    mesh = st.raycast._mesh
    return st, RaycastWorld(mesh), RaycastWorld(mesh, cull=False)


def _poses(st) -> list[Pose]:
    """Along road 15, far enough apart that the culled scene is rebuilt."""
    out = []
    for s_m in (20.0, 70.0, 140.0):
        tr = st.road_map.carla_map.get_waypoint_xodr(15, -1, s_m).transform
        loc, yaw = tr.location, tr.rotation.yaw
        out.append(Pose.from_carla_degrees(loc.x, loc.y, loc.z, 0.0, 0.0, yaw))
    return out


def test_ranged_camera_equals_whole_map_render(town01) -> None:
    st, culled, whole = town01
    lighting = Lighting.from_config(LightingConfig())
    mount = MountPose(x_m=0.8, z_m=1.6, pitch_deg=-2.0)
    ranged = Camera(CameraConfig(width_px=320, height_px=180, pose=mount, range_m=RANGE_M))
    unranged = Camera(CameraConfig(width_px=320, height_px=180, pose=mount))
    rng = np.random.default_rng(0)
    for pose in _poses(st):
        a = ranged.render(culled, pose, lighting, st.atlas, rng)
        b = ranged.render(whole, pose, lighting, st.atlas, rng)
        np.testing.assert_array_equal(a.object_id, b.object_id)
        np.testing.assert_array_equal(a.depth_m, b.depth_m)
        np.testing.assert_array_equal(a.bgra, b.bgra)
        # the far plane matters here: without it some pixels see the map beyond range
        far = unranged.render(whole, pose, lighting, st.atlas, rng).depth_m
        assert np.sum(np.isfinite(far) & (far >= RANGE_M)) > 100
        assert np.all(~np.isfinite(a.depth_m) | (a.depth_m < RANGE_M))
    scene = culled._culled[RANGE_M]
    # the culled scene leaves most of the town out, and was rebuilt as the car moved
    assert scene.ids.size < 0.5 * culled.num_static_triangles
    assert np.hypot(*(scene.centre - _poses(st)[-1].translation[:2])) < 1.0  # the mount


def test_lidar_scan_equals_whole_map_scan(town01) -> None:
    st, culled, whole = town01
    lidar = Lidar(LidarConfig(channels=16, columns=512, range_m=RANGE_M, dropout=0.1))
    for pose in _poses(st):
        a = lidar.scan(culled, pose, np.random.default_rng(3))
        b = lidar.scan(whole, pose, np.random.default_rng(3))
        np.testing.assert_array_equal(a, b)
        assert a.shape[0] > 1000
    assert culled._culled[RANGE_M].ids.size < 0.5 * culled.num_static_triangles
