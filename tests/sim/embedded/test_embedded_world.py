"""The embedded world end to end on the project's maps, with the real carla.Map and Open3D."""

from __future__ import annotations

import numpy as np
import pytest

from roadmind.messages import LightState, ObjectClass, VehicleControl
from sim.embedded.render.textures import RED
from sim.embedded.world import EmbeddedWorld
from sim.scenario import SCENARIOS_DIR, load_scenario


@pytest.fixture(scope="module")
def default_frames(small_rig):
    with EmbeddedWorld(small_rig) as world:
        first = world.reset(load_scenario("default"))
        frames = [first] + [world.step(VehicleControl(throttle=0.4)) for _ in range(10)]
    return frames


def test_sensor_layouts_match_carla(default_frames) -> None:
    frame = default_frames[-1]
    cam = frame.cameras[0]
    assert cam.bgra.shape == (270, 480, 4) and cam.bgra.dtype == np.uint8
    assert np.all(cam.bgra[:, :, 3] == 255)
    pts = frame.lidars[0].points_xyzi
    assert pts.dtype == np.float32 and pts.ndim == 2 and pts.shape[1] == 4
    ranges = np.linalg.norm(pts[:, :3], axis=1)
    assert 0.3 * 16 * 512 < len(pts) <= 16 * 512
    assert ranges.max() <= 80.0 + 0.2
    assert np.all((pts[:, 3] >= 0) & (pts[:, 3] <= 1))


def test_lidar_ground_lies_at_mount_height(default_frames) -> None:
    pts = default_frames[-1].lidars[0].points_xyzi
    near = pts[np.linalg.norm(pts[:, :2], axis=1) < 8.0]
    ground = near[near[:, 2] < -1.5]
    assert len(ground) > 100
    assert np.median(ground[:, 2]) == pytest.approx(-2.0, abs=0.1)  # road surface 2 m below


def test_ego_moves_under_throttle(default_frames) -> None:
    first, last = default_frames[0], default_frames[-1]
    accel = 0.4 * 3.5 - 0.15  # throttle x max accel - rolling resistance [m/s^2]
    assert last.ego.speed_mps - first.ego.speed_mps == pytest.approx(accel * 0.5, rel=0.05)
    moved = np.hypot(last.ego.pose.x_m - first.ego.pose.x_m, last.ego.pose.y_m - first.ego.pose.y_m)
    assert moved == pytest.approx(0.5 * accel * 0.5**2, rel=0.1)
    assert last.frame_id == 10 and last.timestamp_s == pytest.approx(0.5)


def test_ground_truth_boxes_cover_actor_pixels(default_frames) -> None:
    truth = default_frames[-1].ground_truth
    assert truth is not None
    assert {a.object_class for a in truth.actors} == {ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN}
    boxes = truth.boxes_2d["front"]
    classes = {b.object_class for b in boxes}
    assert {ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN, ObjectClass.TRAFFIC_SIGN} <= classes
    ids = {a.actor_id for a in truth.actors}
    for box in boxes:
        x0, y0, x1, y1 = box.xyxy_px
        assert 0 <= x0 < x1 <= 480 and 0 <= y0 < y1 <= 270
        assert box.visible_px <= (x1 - x0) * (y1 - y0)
        if box.object_class in (ObjectClass.VEHICLE, ObjectClass.PEDESTRIAN):
            assert box.object_id in ids


def test_speed_limit_sign_is_drawn_red_ring_white_face(default_frames) -> None:
    frame = default_frames[0]
    truth = frame.ground_truth
    sign = next(b for b in truth.boxes_2d["front"] if b.object_class is ObjectClass.TRAFFIC_SIGN)
    x0, y0, x1, y1 = sign.xyxy_px.astype(int)
    rgb = frame.cameras[0].bgra[y0:y1, x0:x1, 2::-1].reshape(-1, 3).astype(int)
    red = (rgb[:, 0] > 140) & (rgb[:, 1] < 80) & (rgb[:, 2] < 90)
    white = (rgb.min(axis=1) > 150) & (rgb.max(axis=1) - rgb.min(axis=1) < 30)
    assert red.mean() > 0.15 and white.mean() > 0.15
    assert RED[0] > 150


def test_lights_cycle_through_states() -> None:
    from sim.embedded.traffic_lights import LightController

    with EmbeddedWorld() as world:
        world.reset(load_scenario("default"))
        controller = world.light_controller
    lights = world_lights = controller.lights
    assert len(world_lights) == 4
    seen = {controller.state(lights[0], t) for t in np.arange(0.0, 60.0, 0.5)}
    assert seen == {LightState.GREEN, LightState.YELLOW, LightState.RED}
    for t in np.arange(0.0, 60.0, 0.25):  # never two crossing directions green at once
        greens = {lt.phase for lt in lights if controller.state(lt, t) is LightState.GREEN}
        assert len(greens) <= 1
    assert isinstance(controller, LightController)


def test_same_seed_same_world(small_rig) -> None:
    def run() -> tuple[np.ndarray, np.ndarray, list]:
        with EmbeddedWorld(small_rig) as world:
            frame = world.reset(load_scenario("pedestrian_crossing"))
            for _ in range(6):
                frame = world.step(VehicleControl(throttle=0.5, steer=0.05))
        return (
            frame.cameras[0].bgra,
            frame.lidars[0].points_xyzi,
            [a.pose for a in frame.ground_truth.actors],
        )

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]


@pytest.mark.parametrize("path", sorted(SCENARIOS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_resets_and_steps(path, small_rig) -> None:
    with EmbeddedWorld(small_rig) as world:
        frame = world.reset(load_scenario(str(path)))
        frame = world.step(VehicleControl())
    assert frame.cameras and frame.lidars and frame.ground_truth is not None
