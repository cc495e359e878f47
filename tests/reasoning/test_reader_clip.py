"""A public CLIP checkpoint in place of the project's encoder: a tiny randomly
initialised CLIP saved as a checkpoint folder (config, weights, tokenizer) stands in
for ``openai/clip-vit-base-patch32``; loading, reading and saliency must all work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reasoning.reader_model import ClipEncoder, load_encoder
from reasoning.reader_saliency import saliency
from reasoning.sign_reader import SignReader
from roadmind.errors import UserError


def _tiny_clip(folder: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    chars = "abcdefghijklmnopqrstuvwxyz0123456789-,'/"
    tokens = ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokens),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "bos_token_id": 0,
            "eos_token_id": 1,
        },
        vision_config={
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_clip(tmp_path_factory.mktemp("tiny_clip"))


def test_clip_checkpoint_reads_crops_and_gives_saliency(clip_dir: Path) -> None:
    encoder = load_encoder(str(clip_dir))
    assert isinstance(encoder, ClipEncoder)
    assert encoder.image_px == 32
    reader = SignReader(encoder, ocr=False)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (40, 40, 3), dtype=np.uint8) for _ in range(3)]
    readings = reader.read(crops, ["sign", "light", None])
    names = {c.label for c in reader.classes}
    assert all(r.label in names for r in readings)
    assert readings[1].light_state is not None  # a light crop is read as a light
    assert all(0.0 <= r.confidence <= 1.0 for r in readings)
    heat = saliency(reader, crops[0])
    assert heat.shape == (40, 40)
    assert heat.min() >= 0.0 and heat.max() <= 1.0


def test_missing_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot load the CLIP checkpoint"):
        load_encoder(str(tmp_path / "nowhere"))
