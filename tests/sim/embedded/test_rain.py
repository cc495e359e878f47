"""Rain in the embedded sensors: streaks and a wet, darker road in the camera; drops
returned near the sensor, lost weak far returns and noisier ranges in the LiDAR."""

from __future__ import annotations

import numpy as np
import pytest

from loop.rollout import rollout
from roadmind.messages import SensorFrame
from sim.embedded.render.rain import droplet_returns, rain_on_returns, streak_pixels
from sim.lighting import Lighting, LightingConfig
from sim.scenario import load_scenario


def _frame(lighting: LightingConfig) -> SensorFrame:
    scenario = load_scenario("default").model_copy(update={"lighting": lighting})
    (step,) = list(rollout(scenario, 1))
    return step.frame


@pytest.fixture(scope="module")
def frames() -> tuple[SensorFrame, SensorFrame]:
    # the same sun and sky; only the rain differs
    return _frame(LightingConfig(preset="rain")), _frame(LightingConfig(preset="rain", rain=0.0))


def test_rain_preset_and_levels() -> None:
    assert Lighting.from_config(LightingConfig(preset="rain")).rain == 0.7
    assert Lighting.from_config(LightingConfig(preset="rain")).visibility_m == 250.0
    assert Lighting.from_config(LightingConfig(preset="day")).rain == 0.0
    assert Lighting.from_config(LightingConfig(preset="night", rain=0.3)).rain == 0.3


def test_camera_sees_streaks_on_a_darker_road(frames) -> None:
    wet, dry = (f.cameras[0].bgra[:, :, :3].astype(np.float64) for f in frames)
    h, w = wet.shape[:2]
    changed = np.abs(wet - dry).sum(axis=2) > 30.0
    assert 0.01 < changed.mean() < 0.3  # streaks, not a wash over the whole frame
    road = (slice(int(0.8 * h), h), slice(int(0.4 * w), int(0.6 * w)))
    assert np.median(wet[road]) < 0.85 * np.median(dry[road])


def test_lidar_sees_drops_near_the_sensor_and_loses_far_ground(frames) -> None:
    wet, dry = (f.lidars[0].points_xyzi for f in frames)
    mount_z = frames[0].lidars[0].sensor_to_ego.translation[2]

    def in_air_near(points: np.ndarray) -> int:  # above the road, within 4 m, ahead
        rng = np.hypot(points[:, 0], points[:, 1])
        return int(((rng < 4.0) & (points[:, 2] > 0.5 - mount_z) & (points[:, 0] > 0.0)).sum())

    def far(points: np.ndarray) -> np.ndarray:
        return points[np.hypot(points[:, 0], points[:, 1]) > 40.0]

    assert in_air_near(dry) == 0 and in_air_near(wet) >= 5
    assert np.median(far(wet)[:, 3]) < 0.7 * np.median(far(dry)[:, 3])  # weaker far returns
    assert far(wet).shape[0] < far(dry).shape[0]  # and the weakest lost


def test_rain_on_returns_and_drops() -> None:
    rng = np.random.default_rng(0)
    range_m = np.array([5.0, 60.0, 60.0], np.float32)
    intensity = np.array([0.1, 0.02, 0.5])
    kept, noisy, weak = rain_on_returns(range_m, intensity, 1.0, rng)
    assert kept.tolist() == [0, 2]  # the weak far return is lost
    assert np.all(weak < intensity[kept])
    assert np.all(np.abs(noisy - range_m[kept]) < 0.2)
    hit_m = np.full(100_000, 3.0)
    beams, drop_m, _ = droplet_returns(hit_m.size, hit_m, 1.0, rng)
    assert 100 < beams.size < 400 and np.all(drop_m < 3.0)
    assert streak_pixels(640, 360, 0.0, rng).size == 0
    assert streak_pixels(640, 360, 1.0, rng).size > 5000
