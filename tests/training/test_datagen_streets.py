"""Detector data with a streetscape: one street per group of frames, its seed shared by
the group (one static world), some night and fog; a dataset keeps its streetscape."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from roadmind.errors import UserError
from sim.scenario import load_scenario
from training.datagen import STREETS_TRAIN_CYCLE, TRAIN_CYCLE, FramePlan, _with_streets, generate


def test_a_group_shares_its_street_and_frames_vary_the_weather() -> None:
    base = load_scenario("default")
    group = [_with_streets(base, "mixed", 3, FramePlan(i, "train", 2)) for i in range(16, 24)]
    assert len({s.streetscape for s in group}) == 1  # one static world for the group
    other = _with_streets(base, "mixed", 3, FramePlan(24, "train", 3)).streetscape
    assert other.seed != group[0].streetscape.seed
    profiles = {
        _with_streets(base, "mixed", 3, FramePlan(8 * g, "train", g)).streetscape.profile
        for g in range(40)
    }
    assert profiles == {"off", "suburban", "urban"}
    presets = [
        _with_streets(base, "urban", 3, FramePlan(i, "train", i // 8)).lighting.preset
        for i in range(200)
    ]
    assert 0.05 < presets.count("night") / 200 < 0.3 and presets.count("fog") > 5
    assert set(STREETS_TRAIN_CYCLE) == {*TRAIN_CYCLE, "hill_street"}


def test_cluttered_frames_are_written_and_the_dataset_keeps_its_streetscape(
    tmp_path: Path,
) -> None:
    out = tmp_path / "ds"
    counts = generate(out, 8, seed=5, progress=False, streetscape="urban")
    assert counts["train"] == 8
    made = yaml.safe_load((out / "data.yaml").read_text())["roadmind"]
    assert made["streetscape"] == "urban" and "hill_street" in made["train_maps"]
    assert len(list((out / "images" / "train").glob("*.jpg"))) == 8
    with pytest.raises(UserError, match="made with streetscape urban; asked for off"):
        generate(out, 8, seed=5, progress=False)
