"""The rule engine never crashes and always returns a valid decision, whatever the
scene: random objects, signs and lights, NaN speeds and positions, unknown types."""

from __future__ import annotations

import math

import numpy as np

from reasoning.canned import MapSpec, map_context
from reasoning.rule_types import EgoView
from reasoning.rules import RuleEngine
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import (
    BevLight,
    BevObject,
    BevScene,
    BevSign,
    LightState,
    ObjectClass,
    SignType,
)

MAP = MapSpec.model_validate(
    {
        "length_m": 400,
        "speed_limits": [{"from_m": 0, "to_m": 200, "value": 50}],
        "signs": [{"type": "stop", "at_m": 120, "landmark_id": 3}],
        "lights": [{"at_m": 250, "landmark_id": 9}],
        "crosswalks": [{"from_m": 60, "to_m": 64}],
        "junctions": [{"from_m": 122, "to_m": 140}],
        "notes": [
            {"from_m": 20, "to_m": 90, "text": "School zone 20 mph 7-9 am"},
            {"from_m": 150, "to_m": 180, "text": "Mind the gap"},
        ],
    }
)


def _random_scene(rng: np.random.Generator, frame_id: int) -> BevScene:
    def maybe_nan(x: float) -> float:
        return math.nan if rng.random() < 0.1 else x

    objects = tuple(
        BevObject(
            i,
            ObjectClass(rng.choice(list(ObjectClass))),
            np.array([maybe_nan(rng.uniform(-30, 80)), rng.uniform(-10, 10), 0.8]),
            np.array([maybe_nan(rng.uniform(-15, 15)), rng.uniform(-3, 3), 0.0]),
            np.array([rng.uniform(0.2, 3), rng.uniform(0.2, 1.2), 0.8]),
            rng.uniform(-3, 3),
        )
        for i in range(int(rng.integers(0, 12)))
    )
    kinds: list = [*SignType, "deer_crossing", "no_parking"]
    signs = tuple(
        BevSign(
            kinds[int(rng.integers(len(kinds)))],
            rng.uniform(-5, 70),
            rng.uniform(-8, 8),
            float(rng.choice([0, 20, 30, 50, -5])),
            str(rng.choice(["km/h", "mph", "", "furlongs"])),
            str(rng.choice(["", "SCHOOL ZONE 20 MPH", "garbage ###"])),
            int(rng.integers(0, 5)) if rng.random() < 0.5 else None,
        )
        for _ in range(int(rng.integers(0, 4)))
    )
    lights = tuple(
        BevLight(
            LightState(rng.choice(list(LightState))),
            rng.uniform(1, 90),
            4.0,
            int(rng.choice([9, 10])) if rng.random() < 0.7 else None,
        )
        for _ in range(int(rng.integers(0, 3)))
    )
    return BevScene(frame_id, frame_id * 0.05, objects, signs, lights)


def test_random_scenes_never_break_the_engine() -> None:
    rng = np.random.default_rng(0)
    for episode in range(20):
        engine = RuleEngine(map_context(MAP))
        s, speed = 0.0, 10.0
        for frame_id in range(60):
            ego_speed = math.nan if rng.random() < 0.05 else speed
            explained = engine.decide(
                _random_scene(rng, frame_id),
                EgoView(Pose(x_m=s), ego_speed, s),
                Clock.parse("08:00", "mon").after(frame_id * 0.05),
            )
            d = explained.decision
            assert math.isfinite(d.target_speed_mps) and d.target_speed_mps >= 0, episode
            assert d.stop_distance_m is None or math.isfinite(d.stop_distance_m)
            assert d.reasons, "a decision always says why"
            speed = max(0.0, min(d.target_speed_mps, speed + 0.1))
            s += speed * 0.05 + rng.uniform(0, 3)


def test_the_empty_scene_cruises_at_the_limit() -> None:
    engine = RuleEngine(map_context(MAP))
    d = engine.decide(BevScene(0, 0.0), EgoView(Pose(), 10.0, 0.0), Clock.parse("12:00", "sat"))
    assert d.decision.target_speed_mps * 3.6 == 40.0  # the driver's cruise speed, under 50
    assert d.limit_mps is not None and abs(d.limit_mps * 3.6 - 50.0) < 1e-6
