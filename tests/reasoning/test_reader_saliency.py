"""Where the shipped reader looks: on signs pasted on clutter, the saliency's heat lies
on the sign more than around it (the gradient map, which the video shows; Grad-CAM on
the small tower's coarse last map does not place it, see reader_saliency.py)."""

from __future__ import annotations

import numpy as np
import pytest

from reasoning.reader_saliency import overlay, saliency
from reasoning.reader_vocabulary import load_vocabulary
from reasoning.sign_reader import SignReader
from training.reader_data import background, face_rgba


@pytest.mark.parametrize("name", ["stop", "speed_limit 60 km/h", "yield", "school_zone"])
def test_heat_lies_on_the_sign(name: str) -> None:
    vocabulary = load_vocabulary()
    cls = vocabulary.classes[vocabulary.index(name)]
    reader = SignReader(ocr=False)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        crop = background(rng, 96).astype(np.float32)
        face = face_rgba(cls, 48, rng).astype(np.float32)
        height, width = face.shape[:2]
        y0, x0 = (96 - height) // 2, (96 - width) // 2
        alpha = face[:, :, 3:4] / 255.0
        region = crop[y0 : y0 + height, x0 : x0 + width]
        crop[y0 : y0 + height, x0 : x0 + width] = region * (1 - alpha) + face[:, :, :3] * alpha
        on_sign = np.zeros((96, 96), bool)
        on_sign[y0 : y0 + height, x0 : x0 + width] = alpha[:, :, 0] > 0.5
        crop_u8 = crop.astype(np.uint8)
        heat = saliency(reader, crop_u8, name)
        assert heat.shape == (96, 96) and heat.min() >= 0.0 and heat.max() <= 1.0
        assert heat[on_sign].mean() > heat[~on_sign].mean()
        assert overlay(crop_u8, heat).shape == (96, 96, 3)


def test_gradcam_is_there_too() -> None:
    reader = SignReader(ocr=False)
    crop = background(np.random.default_rng(0), 64)
    heat = saliency(reader, crop, method="gradcam")
    assert heat.shape == (64, 64) and heat.min() >= 0.0 and heat.max() <= 1.0
