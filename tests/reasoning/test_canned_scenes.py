"""Golden canned scenes: every YAML file under scenes/ is one test case."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning.canned import check_scene, load_scene, run_scene
from roadmind.messages import Action

SCENES = sorted((Path(__file__).parent / "scenes").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_scene(path: Path) -> None:
    failures = check_scene(load_scene(path))
    assert not failures, f"{path.name}:\n" + "\n".join(failures)


def test_the_scenes_exercise_every_rule_action_light_state_and_zone() -> None:
    """Counted from the decisions the scenes lead to, not from words in their files."""
    assert len(SCENES) >= 40
    rules, actions, lights, zones = set(), set(), set(), set()
    for path in SCENES:
        for _, explained in run_scene(load_scene(path)):
            actions.add(explained.decision.action)
            for reason in explained.decision.reasons:
                rules.add(reason.rule)
                if reason.rule == "traffic_light":
                    lights |= {evidence.rsplit(" ", 1)[-1] for evidence in reason.evidence}
                if reason.rule == "zone":
                    zones |= {k for k in ("school zone", "road works") if reason.text.startswith(k)}
    assert set(Action) - actions == set(), "actions no scene reaches"
    every_rule = {"speed_limit", "zone", "stop_sign", "yield", "traffic_light", "pedestrian"}
    every_rule |= {"lead_vehicle", "emergency"}
    assert every_rule - rules == set(), "rules that decide in no scene"
    assert {"red", "yellow", "green"} - lights == set(), "light states no scene shows"
    assert zones == {"school zone", "road works"}
