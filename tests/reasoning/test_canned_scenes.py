"""Golden canned scenes: every YAML file under scenes/ is one test case."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoning.canned import check_scene, load_scene

SCENES = sorted((Path(__file__).parent / "scenes").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
def test_scene(path: Path) -> None:
    failures = check_scene(load_scene(path))
    assert not failures, f"{path.name}:\n" + "\n".join(failures)


def test_the_scene_set_covers_every_rule() -> None:
    assert len(SCENES) >= 40
    text = " ".join(p.read_text() for p in SCENES)
    for rule_word in (
        "speed_limit",
        "stop",
        "yield",
        "red",
        "yellow",
        "green",
        "pedestrian",
        "vehicle",
        "School zone",
        "Road works",
        "emergency_brake",
    ):
        assert rule_word in text, f"no canned scene mentions {rule_word!r}"
