"""The ego's dipped headlights at night: the road ahead is lit, the sky is not, a point
above the cut-off gets only the spill, nothing behind the car is lit, and by day they
change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from loop.rollout import rollout
from roadmind.frames import Pose
from sim.embedded.render.headlights import SPILL, headlight_light
from sim.embedded.render.materials import Material
from sim.lighting import Lighting, LightingConfig
from sim.scenario import load_scenario


def _frame(preset: str, headlights: bool) -> np.ndarray:
    scenario = load_scenario("default")  # a bare road: no street lamps
    lighting = LightingConfig(preset=preset, ego_headlights=headlights)
    scenario = scenario.model_copy(update={"lighting": lighting})
    (step,) = list(rollout(scenario, 1))
    return step.frame.cameras[0].bgra[:, :, :3].astype(np.float64)


@pytest.fixture(scope="module")
def night() -> tuple[np.ndarray, np.ndarray]:
    return _frame("night", True), _frame("night", False)


def test_the_beams_light_the_road_ahead_and_not_the_sky(night) -> None:
    lit, dark = night
    h, w = lit.shape[:2]
    road = (slice(int(0.7 * h), h), slice(int(0.35 * w), int(0.65 * w)))
    sky = (slice(0, int(0.2 * h)), slice(None))
    assert lit[road].mean() > 2.0 * dark[road].mean()
    assert lit[sky].mean() == pytest.approx(dark[sky].mean(), abs=0.5)


def test_by_day_the_headlights_are_off() -> None:
    assert not Lighting.from_config(LightingConfig(preset="day")).headlights
    assert Lighting.from_config(LightingConfig(preset="dusk")).headlights
    assert not Lighting.from_config(LightingConfig(preset="night", ego_headlights=False)).headlights


def test_beam_cone_cut_off_and_behind() -> None:
    ego = Pose(x_m=10.0, y_m=5.0)  # x forward; a wall facing the car 20 m ahead
    up = np.array([[0.0, 0.0, 1.0]])
    facing = np.array([[-1.0, 0.0, 0.0]])
    asphalt = np.array([Material.ASPHALT])

    def beam(point: tuple[float, float, float], normal: np.ndarray) -> float:
        return float(headlight_light(ego, np.array([point]), normal, asphalt)[0])

    on_axis = beam((32.2, 5.0, 0.2), facing)  # 20 m ahead, below the lamp: in the beam
    above = beam((32.2, 5.0, 3.0), facing)  # 2.3 m above the lamp: over the cut-off
    aside = beam((32.2, 25.0, 0.2), facing)  # 45 degrees off the axis
    assert on_axis > 0.1
    assert above == pytest.approx(SPILL * on_axis, rel=0.05)
    assert aside < 0.2 * on_axis
    assert beam((0.0, 5.0, 0.0), up) == 0.0  # behind the car
