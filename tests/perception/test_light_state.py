"""Reading a traffic light's state from its pixels: the head the embedded world draws,
at several sizes and brightnesses, and heads rendered in the world against the truth."""

from __future__ import annotations

import numpy as np
import pytest

from loop.rollout import rollout
from perception.light_state import read_light_state
from roadmind.messages import LightState, ObjectClass
from sim.embedded.render.textures import draw_light_face
from sim.embedded.world import LIGHT_ID_BASE, EmbeddedWorld
from sim.scenario import load_scenario

LAMPS = {LightState.RED: "red", LightState.YELLOW: "yellow", LightState.GREEN: "green"}


def _frame_with_head(lit: str | None, height_px: int, gain: float) -> tuple[np.ndarray, np.ndarray]:
    """A grey frame with a light head pasted in; returns BGRA and the head's box."""
    face = draw_light_face(96, lit).resize((max(2, height_px // 3), height_px))
    rgb = np.full((200, 200, 3), 120, np.uint8)
    head = np.clip(np.asarray(face, np.float32) * gain, 0, 255).astype(np.uint8)
    rgb[50 : 50 + height_px, 90 : 90 + head.shape[1]] = head
    bgra = np.dstack([rgb[:, :, ::-1], np.full((200, 200), 255, np.uint8)])
    return bgra, np.array([90.0, 50.0, 90.0 + head.shape[1], 50.0 + height_px])


@pytest.mark.parametrize("state", list(LAMPS))
@pytest.mark.parametrize("height_px", [12, 24, 90])
@pytest.mark.parametrize("gain", [0.7, 1.0])
def test_lit_lamp_is_read(state: LightState, height_px: int, gain: float) -> None:
    bgra, box = _frame_with_head(LAMPS[state], height_px, gain)
    got, confidence = read_light_state(bgra, box)
    assert got is state and confidence > 0.5


def test_dark_head_reads_off_and_tiny_box_reads_unknown() -> None:
    bgra, box = _frame_with_head(None, 60, 1.0)
    assert read_light_state(bgra, box)[0] is LightState.OFF
    bgra, box = _frame_with_head("red", 60, 1.0)
    assert read_light_state(bgra, np.array([90.0, 50.0, 100.0, 54.0]))[0] is LightState.UNKNOWN


def test_lamp_in_the_wrong_place_is_not_trusted() -> None:
    # a green glow at the top of a head is not a green lamp: something else is lit
    bgra, box = _frame_with_head("red", 60, 1.0)
    top = bgra[50:70, 90:110]
    top[top[:, :, 2] > 200] = [110, 255, 40, 255]  # repaint the red lamp green (BGRA)
    assert read_light_state(bgra, box)[0] is LightState.UNKNOWN


def test_rendered_heads_facing_the_camera_read_as_the_world_says() -> None:
    read = 0
    with EmbeddedWorld() as world, rollout(load_scenario("default"), 301, world=world) as run:
        assert world.static is not None
        for s in run:  # the approach to the signalised junction
            frame = s.frame
            if s.index == 0 or (s.index - 1) % 5 or frame.ground_truth is None:
                continue
            states = {lt.light_id: lt.state for lt in frame.ground_truth.lights}
            for cam in frame.cameras:
                for box in frame.ground_truth.boxes_2d[cam.name]:
                    if box.object_class is not ObjectClass.TRAFFIC_LIGHT:
                        continue
                    light = world.static.lights[box.object_id - LIGHT_ID_BASE]
                    facing = np.cos(light.traffic_yaw_rad - frame.ego.pose.yaw_rad) > 0.8
                    if not facing or box.xyxy_px[3] - box.xyxy_px[1] < 12 or box.occlusion > 0.1:
                        continue
                    assert read_light_state(cam.bgra, box.xyxy_px)[0] is states[light.light_id]
                    read += 1
    assert read >= 5
