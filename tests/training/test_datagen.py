"""Detector data from the embedded world: YOLO layout, sane labels, held-out maps for
validation, and a run that resumes where it stopped with the same files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from roadmind.errors import UserError
from sim.embedded.world import EmbeddedWorld
from sim.placement import PlacedOnEgoError
from sim.rig import RigConfig
from sim.scenario import load_scenario
from training.datagen import (
    CLASSES,
    TRAIN_CYCLE,
    TRAIN_MAPS,
    VAL_MAPS,
    generate,
    plan,
    reset_clear_of_ego,
)
from training.dataset_layout import label_stats


def test_plan_splits_groups_and_holds_out_maps() -> None:
    frames = plan(80)
    val = [p for p in frames if p.split == "val"]
    assert len(val) == 16  # one group of eight in five
    assert {p.group for p in val} == {4, 9}
    assert not set(TRAIN_MAPS) & set(VAL_MAPS)
    assert set(TRAIN_CYCLE) == set(TRAIN_MAPS)  # the cycle only weights the training maps


def test_dataset_layout_labels_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    counts = generate(out, 40, seed=3, progress=False)
    assert counts["train"] == 32 and counts["val"] == 8
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {i: c.value for i, c in enumerate(CLASSES)}
    assert data["roadmind"]["val_maps"] == list(VAL_MAPS)
    images = sorted((out / "images" / "train").glob("*.jpg"))
    labels = sorted((out / "labels" / "train").glob("*.txt"))
    assert len(images) == len(labels) == 32
    n_boxes = 0
    for path in labels:
        for line in path.read_text().splitlines():
            cls, cx, cy, w, h = line.split()
            assert int(cls) in range(len(CLASSES))
            assert all(0.0 <= float(v) <= 1.0 for v in (cx, cy, w, h))
            assert float(w) * 640 > 3.99 and float(h) * 360 > 3.99  # MIN_BOX_PX, 6 decimals
            n_boxes += 1
    assert n_boxes >= 32 * 2, "layouts put road users where the camera looks"
    stats = label_stats(out)
    assert stats["train"]["vehicle"] > 0 and stats["train"]["pedestrian"] > 0

    # interrupted: two frames lost their labels (not done); the rerun redoes exactly them
    before = {p.name: p.read_bytes() for p in labels}
    (out / "labels" / "train" / "000003.txt").unlink()
    (out / "labels" / "train" / "000017.txt").unlink()
    again = generate(out, 40, seed=3, progress=False)
    assert again == {"train": 2, "val": 0, "skipped_done": 38}
    after = {p.name: p.read_bytes() for p in sorted((out / "labels" / "train").glob("*.txt"))}
    assert after == before  # frame i depends only on (seed, i)

    # one folder, one dataset: another seed or fewer frames is refused, naming both
    with pytest.raises(UserError, match="seed 3 and 40 frames; asked for seed 4"):
        generate(out, 40, seed=4, progress=False)


def test_an_actor_drawn_on_the_ego_is_left_out(tmp_path: Path) -> None:
    """Random layouts draw actors around the lanes, not around the ego: one that lands
    on it is dropped (the world names it by index), the rest of the frame kept."""
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "name: t\nmap: four_way_stop\nego:\n  start: {road: 1, lane: 1, s_m: 50}\n"
        "actors:\n  - {kind: vehicle, start: {road: 1, lane: 1, s_m: 30}}\n"
        "  - {kind: vehicle, start: {road: 1, lane: 1, s_m: 52}, behaviour: parked}\n"
    )
    scenario = load_scenario(str(path))
    with EmbeddedWorld(RigConfig(cameras=[], lidars=[])) as world:
        with pytest.raises(PlacedOnEgoError) as refused:
            world.reset(scenario)
        assert refused.value.actor_index == 1
        frame = reset_clear_of_ego(world, scenario)
        assert len(world.npcs) == 1 and frame.ground_truth is not None
