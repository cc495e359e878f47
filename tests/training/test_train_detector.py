"""The training command end to end on a tiny recipe: data generated, YOLO trained from
its yaml, weights and recipe side by side, and the weights load in the detector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from perception.camera_detector import CameraDetector
from roadmind.errors import ConfigError, UserError
from roadmind.messages import ObjectClass
from roadmind.resources import configs_dir, models_dir
from training.train_detector import WEIGHTS_NAME, train_detector

TINY_RECIPE = """
data: {frames: 40, seed: 1}
model: yolo11n.yaml
train: {imgsz: 64, epochs: 1, batch: 8, workers: 0, close_mosaic: 0, patience: 5}
"""


def test_tiny_recipe_trains_and_ships(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(TINY_RECIPE)
    out = tmp_path / "model"
    summary = train_detector(recipe, tmp_path / "data", out, "cpu", progress=False)
    assert (out / WEIGHTS_NAME).stat().st_size > 1_000_000
    assert (out / "recipe.yaml").read_text() == TINY_RECIPE
    saved = json.loads((out / "training.json").read_text())
    assert saved["epochs_done"] == summary["epochs_done"] == 1
    assert saved["labels"]["train"]["vehicle"] > 0
    detector = CameraDetector(out / WEIGHTS_NAME, "torch", imgsz=64)
    assert set(detector.class_of.values()) == {
        ObjectClass.VEHICLE,
        ObjectClass.PEDESTRIAN,
        ObjectClass.TRAFFIC_LIGHT,
        ObjectClass.TRAFFIC_SIGN,
    }
    assert isinstance(detector.detect(np.zeros((360, 640, 4), np.uint8)), tuple)


def test_a_recipe_without_validation_frames_is_refused(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(TINY_RECIPE.replace("frames: 40", "frames: 16"))
    with pytest.raises(
        ConfigError, match=r"data.frames: Input should be greater than or equal to 40"
    ):
        train_detector(recipe, tmp_path / "data", tmp_path / "model", "cpu", progress=False)


def test_no_datagen_names_the_missing_dataset(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(TINY_RECIPE)
    with pytest.raises(UserError, match=r"data\.yaml.*roadmind datagen --out"):
        train_detector(
            recipe, tmp_path / "none", tmp_path / "model", "cpu", progress=False, make_data=False
        )
    assert not (tmp_path / "model").exists()


def test_the_shipped_weights_were_trained_by_a_committed_recipe() -> None:
    import torch

    shipped = yaml.safe_load((models_dir() / "detector" / "recipe.yaml").read_text())
    committed = [yaml.safe_load(p.read_text()) for p in (configs_dir() / "training").glob("*.yaml")]
    assert shipped in committed, "models/detector/recipe.yaml is no committed recipe"
    # the weights themselves say how they were trained: the recipe's settings
    weights = models_dir() / "detector" / WEIGHTS_NAME
    args = torch.load(weights, map_location="cpu", weights_only=False)["train_args"]
    train = dict(shipped["train"])
    assert args["time"] == train.pop("time_h", None)
    train.pop("epochs")  # an upper bound: time_h re-plans it
    train.pop("workers")  # ultralytics loads data in the main process on the CPU (0 saved)
    assert {k: args[k] for k in train} == train
    made = json.loads((models_dir() / "detector" / "training.json").read_text())
    assert made["weights"] == WEIGHTS_NAME and 0 < made["epochs_done"] <= args["epochs"]
    if shipped.get("init"):  # a fine-tune: its starting weights ship too, with their recipe
        init = models_dir() / shipped["init"]
        assert init.is_file() and (init.parent / "recipe.yaml").is_file()
        assert made["init"] == shipped["init"] and Path(args["model"]).name == init.name
    else:
        assert args["model"] == shipped["model"]


def test_a_fine_tune_starts_from_its_init_weights(tmp_path: Path) -> None:
    """With a tiny learning rate the fine-tuned weights stay by the ones it started
    from; a recipe naming weights that are not there is refused before any data."""
    import torch

    def weights(path: Path) -> torch.Tensor:
        model = torch.load(path, map_location="cpu", weights_only=False)["model"]
        return torch.cat([p.detach().float().flatten() for p in model.parameters()])

    def moved(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).norm() / b.norm())

    base = tmp_path / "base"
    recipe = tmp_path / "recipe.yaml"
    # another seed than the fine-tune's: a fine-tune that ignored its init would start
    # from a random init far from the base's
    recipe.write_text(TINY_RECIPE.replace("patience: 5}", "patience: 5, seed: 7}"))
    train_detector(recipe, tmp_path / "data", base, "cpu", progress=False)
    tuned_recipe = tmp_path / "tuned.yaml"
    tuned_recipe.write_text(
        TINY_RECIPE.replace("patience: 5}", "patience: 5, lr0: 1.0e-7, warmup_epochs: 0}")
        + f"init: {base / WEIGHTS_NAME}\n"
    )
    tuned = tmp_path / "tuned"
    train_detector(tuned_recipe, tmp_path / "data", tuned, "cpu", progress=False)
    start = weights(base / WEIGHTS_NAME)
    assert moved(weights(tuned / WEIGHTS_NAME), start) < 0.1  # 0.03 measured
    assert moved(weights(models_dir() / "detector" / WEIGHTS_NAME), start) > 0.5  # other: 0.9

    tuned_recipe.write_text(TINY_RECIPE + "init: detector/none.pt\n")
    with pytest.raises(ConfigError, match=r"init: detector/none\.pt is no weights file"):
        train_detector(tuned_recipe, tmp_path / "nodata", tmp_path / "x", "cpu", progress=False)
    assert not (tmp_path / "nodata").exists()
