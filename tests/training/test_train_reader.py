"""``roadmind train reader`` end to end on a tiny recipe, the synthetic crops it learns
from, and the world crops it is scored on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from reasoning.reader_model import DualEncoder, load_encoder
from reasoning.reader_vocabulary import load_vocabulary
from reasoning.sign_reader import SignReader
from roadmind.errors import ConfigError, UserError
from roadmind.resources import configs_dir
from training.reader_data import real_design, shrink, synth_batch
from training.reader_world import world_crops
from training.train_reader import train_reader


def _tiny_recipe(tmp_path: Path, **changes: object) -> Path:
    recipe = yaml.safe_load((configs_dir() / "training" / "reader.yaml").read_text())
    recipe.update(crops=192, epochs=1, batch=32, workers=1, warmup_steps=2)
    recipe["tower"].update(hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1])
    recipe.update(changes)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_tiny_recipe_trains_and_the_reader_loads_it(tmp_path: Path) -> None:
    out = tmp_path / "reader"
    summary = train_reader(_tiny_recipe(tmp_path), out, progress=False)
    assert summary["steps"] == 6 and summary["crops"] == 192
    assert summary["held_out_labels"] == ["no_parking"]
    for name in ("reader.json", "reader.safetensors", "recipe.yaml", "training.json"):
        assert (out / name).is_file()
    assert json.loads((out / "training.json").read_text())["final_loss"] > 0
    encoder = load_encoder(str(out))
    assert isinstance(encoder, DualEncoder)
    reading = SignReader(encoder, ocr=False).read([np.zeros((30, 30, 3), np.uint8)])[0]
    assert 0.0 <= reading.confidence <= 1.0


def test_unknown_held_out_label_names_the_recipe(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="held_out_labels"):
        train_reader(_tiny_recipe(tmp_path, held_out_labels=["warp_drive"]), tmp_path / "o")


def test_weights_that_do_not_fit_are_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "reader"
    train_reader(_tiny_recipe(tmp_path), out, progress=False)
    (out / "reader.safetensors").write_bytes(b"garbage")
    with pytest.raises(UserError, match="not readable reader weights"):
        DualEncoder.load(out)


def test_synthetic_crops_are_deterministic_and_cover_the_classes() -> None:
    classes = list(load_vocabulary().classes)
    a, la = synth_batch(classes, np.arange(40), 3, 64)
    b, lb = synth_batch(classes, np.arange(40), 3, 64)
    assert a.shape == (40, 64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert len(set(la.tolist())) > 10


def test_crops_shrink_as_a_lens_or_as_a_renderer_samples() -> None:
    """Both ways give the far size; the renderer's keeps hard edges (no colour between
    the two of a sharp split), the lens's blends them."""
    split = np.zeros((160, 160, 3), np.uint8)
    split[:, 81:] = 255
    kinds = set()
    for i in range(40):
        small = shrink(split, 23, np.random.default_rng(i))
        assert small.shape == (23, 23, 3)
        kinds.add(bool(np.isin(small, [0, 255]).all()))
    assert kinds == {True, False}


@pytest.mark.parametrize("label", ["stop", "yield", "speed_limit", "no_entry"])
def test_real_designs_draw_a_red_face(label: str) -> None:
    face = np.asarray(real_design(label, 60.0, "mph", 128, np.random.default_rng(0)))
    assert face.shape == (128, 128, 3)
    red = (face[:, :, 0] > 150) & (face[:, :, 1] < 60)
    assert red.mean() > 0.1


def test_world_crops_are_labelled_with_vocabulary_names() -> None:
    names = {c.name for c in load_vocabulary().classes}
    crops = list(world_crops(3, 5))
    assert crops, "three frames with six signs each ahead give crops"
    assert all(c.truth in names for c in crops)
    assert all(c.rgb.shape[0] == c.rgb.shape[1] for c in crops)
