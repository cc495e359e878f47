"""Train the camera detector from a committed recipe: embedded-world data (generated
if missing), ultralytics YOLO built from its yaml (random init: nothing is
downloaded), the final weights and the recipe copied beside each other.

The final epoch's weights ship, not ultralytics' ``best.pt``: best is picked on the
validation split, which ``roadmind eval perception`` then reports on."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from perception.camera_detector import WEIGHTS_NAME
from roadmind.config import StrictModel, load_model
from roadmind.errors import ConfigError
from roadmind.resources import models_dir
from training.dataset_layout import FRAMES_PER_GROUP, VAL_EVERY_GROUPS, class_names, label_stats


class DataRecipe(StrictModel):
    # at least one validation group: one group of FRAMES_PER_GROUP in VAL_EVERY_GROUPS
    frames: int = Field(ge=FRAMES_PER_GROUP * VAL_EVERY_GROUPS)
    seed: int = 0
    # street clutter around the frames: off, suburban, urban, or mixed (by group)
    streetscape: Literal["off", "suburban", "urban", "mixed"] = "off"


class TrainRecipe(StrictModel):
    imgsz: int = 416
    epochs: int = 40
    time_h: float | None = None  # ultralytics' wall-clock limit, overrides epochs
    batch: int = 16
    workers: int = 2
    seed: int = 0
    deterministic: bool = True
    optimizer: str = "AdamW"
    lr0: float = 0.002
    cos_lr: bool = True
    close_mosaic: int = 5
    mosaic: float = 1.0
    scale: float = 0.5
    translate: float = 0.1
    fliplr: float = 0.5
    hsv_h: float = 0.015
    hsv_s: float = 0.5
    hsv_v: float = 0.4
    patience: int = 100
    warmup_epochs: float = 3.0  # ultralytics' defaults; a fine-tune starts at its lr
    warmup_bias_lr: float = 0.1
    cache: bool = False  # decoded images in RAM: the data loader keeps up with a GPU


class DetectorRecipe(StrictModel):
    data: DataRecipe
    model: str = "yolo11n.yaml"
    # fine-tune: start from these weights (a path under models/, or absolute) instead
    # of the architecture's random init
    init: str | None = None
    train: TrainRecipe = TrainRecipe()


def train_detector(
    recipe_path: Path,
    data_dir: Path,
    out_dir: Path,
    device: str = "cpu",
    progress: bool = True,
    make_data: bool = True,
) -> dict[str, object]:
    """Train on ``data_dir``; with ``make_data`` its missing frames are generated first
    (resumable), without it the folder is used as it stands (a copy of the dataset on
    a machine that trains but has no simulator)."""
    recipe = load_model(DetectorRecipe, recipe_path)
    init = _init_weights(recipe, recipe_path)
    if make_data:
        from training.datagen import generate  # the world: Open3D, carla.Map

        generate(
            data_dir,
            recipe.data.frames,
            recipe.data.seed,
            progress=progress,
            streetscape=recipe.data.streetscape,
        )
    else:
        class_names(data_dir)  # a clear error when the folder holds no dataset
    from ultralytics import YOLO

    work = out_dir / "work"
    args = recipe.train.model_dump()
    time_h = args.pop("time_h")
    start = time.perf_counter()
    model = YOLO(str(init) if init else recipe.model)
    model.train(
        data=str(data_dir / "data.yaml"),
        device=device,
        pretrained=init is not None,  # ultralytics loads the .pt's weights only when True
        amp=False,
        plots=False,
        project=str(work.resolve()),
        name="train",
        exist_ok=True,
        verbose=progress,
        **({"time": time_h} if time_h else {}),
        **args,
    )
    wall_s = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "train" / "weights" / "last.pt", out_dir / WEIGHTS_NAME)
    shutil.copy(recipe_path, out_dir / "recipe.yaml")
    results = (work / "train" / "results.csv").read_text().splitlines()
    summary: dict[str, object] = {
        "weights": WEIGHTS_NAME,
        "recipe": "recipe.yaml",
        "init": recipe.init,
        "device": device,
        "device_name": _device_name(device),
        "train_wall_s": round(wall_s, 1),
        "epochs_done": len(results) - 1,
        "last_epoch": dict(
            zip(
                [h.strip() for h in results[0].split(",")],
                [v.strip() for v in results[-1].split(",")],
                strict=True,
            )
        ),
        "labels": label_stats(data_dir),
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _init_weights(recipe: DetectorRecipe, recipe_path: Path) -> Path | None:
    """The weights a fine-tune starts from, checked before any data is made."""
    if recipe.init is None:
        return None
    path = Path(recipe.init)
    if not path.is_absolute():
        path = models_dir() / path
    if not path.is_file() or path.suffix != ".pt":
        raise ConfigError(
            f"{recipe_path}: init: {recipe.init} is no weights file ({path}); give a .pt "
            "checkpoint under models/ (e.g. detector/base/roadmind_yolo11n.pt) or an "
            "absolute path"
        )
    return path


def _device_name(device: str) -> str:
    import os
    import platform

    import torch

    if device == "cpu":
        return f"{platform.machine()} CPU, {os.cpu_count()} cores"
    first = device.split(",")[0].removeprefix("cuda:")  # ultralytics takes 0, 0,1, cuda:0
    if first.isdigit() and torch.cuda.is_available():
        return torch.cuda.get_device_name(int(first))
    return device
