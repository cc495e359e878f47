"""The reader's dual encoder: an image tower and a text tower in one embedding space.

The project's model is a ``transformers`` ``VisionTextDualEncoderModel``: the text tower
is the pretrained all-MiniLM-L6-v2 (``reasoning/text_encoder.py``, frozen), the image
tower a small ConvNeXt trained by ``roadmind train reader`` together with both
projections. Only what training changed ships (``models/reader/``): tower config,
image tower and projections; the text tower comes from its package.

A public CLIP checkpoint (a local folder or a model id already in the local cache)
can take its place: ``ClipEncoder``. Both give unit vectors and a feature map of the
image tower for saliency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from reasoning.text_encoder import load_minilm, mean_pooled, require
from roadmind.config import StrictModel
from roadmind.errors import UserError
from roadmind.resources import models_dir

if TYPE_CHECKING:
    import torch
    from transformers import VisionTextDualEncoderModel

MODEL_DIR = models_dir() / "reader"
CONFIG_NAME = "reader.json"
WEIGHTS_NAME = "reader.safetensors"


class TowerConfig(StrictModel):
    """The image tower (ConvNeXt) and the shared embedding size."""

    image_px: int = Field(64, ge=16, le=512)
    stem_px: int = Field(2, ge=1)  # ConvNeXt patch: 64 px in -> 32 x 32 first stage
    hidden_sizes: list[int] = [24, 48, 96, 192]
    depths: list[int] = [1, 1, 3, 1]
    projection_dim: int = Field(256, ge=8)
    logit_scale_init: float = 2.6592  # log(1 / 0.07), CLIP's starting temperature


class Encoder(Protocol):
    image_px: int
    name: str

    def image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalised -> (N, D) unit vectors."""
        ...

    def image_features_and_map(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit vectors and the last feature map (N, C, h, w) they were pooled from."""
        ...

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        """(M, D) unit vectors of prompts."""
        ...

    def logit_scale(self) -> float: ...


class DualEncoder:
    """ConvNeXt image tower + MiniLM text tower (``VisionTextDualEncoderModel``)."""

    def __init__(self, model: VisionTextDualEncoderModel, tower: TowerConfig, name: str) -> None:
        self.model = model
        self.tower = tower
        self.image_px = tower.image_px
        self.name = name

    @classmethod
    def build(cls, tower: TowerConfig) -> DualEncoder:
        """A new encoder: random image tower and projections, pretrained text tower."""
        require("transformers", "transformers")
        import torch
        from transformers import ConvNextConfig, ConvNextModel, VisionTextDualEncoderModel

        vision_config = ConvNextConfig(
            num_channels=3,
            patch_size=tower.stem_px,
            hidden_sizes=tower.hidden_sizes,
            depths=tower.depths,
            image_size=tower.image_px,
        )
        vision_config.hidden_size = tower.hidden_sizes[-1]  # what the dual encoder reads
        text_model, _ = load_minilm()
        model = VisionTextDualEncoderModel(
            vision_model=ConvNextModel(vision_config), text_model=text_model
        )
        model.config.projection_dim = tower.projection_dim
        model.visual_projection = torch.nn.Linear(
            tower.hidden_sizes[-1], tower.projection_dim, bias=False
        )
        model.text_projection = torch.nn.Linear(
            text_model.config.hidden_size, tower.projection_dim, bias=False
        )
        with torch.no_grad():
            model.logit_scale.fill_(tower.logit_scale_init)
        for p in model.text_model.parameters():
            p.requires_grad_(False)  # the pretrained sentence encoder stays as it is
        return cls(model, tower, "roadmind")

    @classmethod
    def load(cls, folder: Path = MODEL_DIR) -> DualEncoder:
        """The trained encoder in ``folder`` (reader.json + reader.safetensors)."""
        config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.is_file():
                raise UserError(
                    f"{path}: reader weights not found (train them with 'roadmind train reader')"
                )
        try:
            tower = TowerConfig.model_validate(json.loads(config_path.read_text("utf-8")))
        except ValueError as err:
            raise UserError(f"{config_path}: not a reader config: {err}") from None
        encoder = cls.build(tower)
        from safetensors.torch import load_file

        try:
            state = load_file(str(weights_path))
        except Exception as err:  # safetensors raises its own types for bad files
            raise UserError(f"{weights_path}: not readable reader weights: {err}") from None
        missing, unexpected = encoder.model.load_state_dict(
            {k: v.float() for k, v in state.items()}, strict=False
        )
        trained = [k for k in missing if not k.startswith("text_model.")]
        if trained or unexpected:
            raise UserError(
                f"{weights_path}: weights do not fit {config_path} "
                f"(missing {trained[:3]}, unexpected {unexpected[:3]})"
            )
        encoder.model.eval()
        encoder.name = f"roadmind ({folder.name})"
        return encoder

    def save(self, folder: Path) -> None:
        """Tower config and the trained weights (fp16: a few MB), not the text tower."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        state = {
            k: v.detach().to("cpu").half().contiguous()
            for k, v in self.model.state_dict().items()
            if not k.startswith("text_model.")
        }
        save_file(state, str(folder / WEIGHTS_NAME))
        (folder / CONFIG_NAME).write_text(self.tower.model_dump_json(indent=1), "utf-8")

    def image_features_and_map(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        out = self.model.vision_model(pixel_values=pixels, output_hidden_states=True)
        feature_map = out.hidden_states[-1]
        embedded = self.model.visual_projection(out.pooler_output)
        return torch.nn.functional.normalize(embedded, dim=-1), feature_map

    def image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        import torch

        pooled = self.model.vision_model(pixel_values=pixels).pooler_output
        return torch.nn.functional.normalize(self.model.visual_projection(pooled), dim=-1)

    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """(M, 384) mean-pooled sentence vectors from the frozen tower (before projection)."""
        import torch

        with torch.no_grad():
            model, tokenizer = load_minilm()  # the same frozen tower the model holds
            return mean_pooled(model, tokenizer, texts)

    def project_text(self, pooled: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.normalize(self.model.text_projection(pooled), dim=-1)

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        return self.project_text(self.text_embeddings(texts))

    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp().clamp(max=100.0))


class ClipEncoder:
    """A public CLIP checkpoint in place of the project's encoder, loaded offline."""

    def __init__(self, source: str) -> None:
        require("transformers", "transformers")
        from transformers import AutoTokenizer, CLIPModel
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()
        try:
            self.model = CLIPModel.from_pretrained(source, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        except (OSError, ValueError) as err:
            raise UserError(
                f"cannot load the CLIP checkpoint {source!r} offline: give a local folder "
                f"with config.json, weights and tokenizer files, or a model id already in "
                f"the local cache ({str(err).splitlines()[0]})"
            ) from None
        self.model.eval()
        vision_config: Any = self.model.config.vision_config
        self.image_px = int(vision_config.image_size)
        self.name = f"clip ({source})"

    def image_features_and_map(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        vision = self.model.vision_model(pixel_values=pixels, output_hidden_states=True)
        tokens = vision.hidden_states[-1][:, 1:, :]  # patch tokens, class token dropped
        n, count, channels = tokens.shape
        side = round(count**0.5)
        feature_map = tokens.transpose(1, 2).reshape(n, channels, side, side)
        embedded = self.model.visual_projection(vision.pooler_output)
        return torch.nn.functional.normalize(embedded, dim=-1), feature_map

    def image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.image_features_and_map(pixels)[0]

    def text_features(self, texts: Sequence[str]) -> torch.Tensor:
        import torch

        batch = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            text = self.model.text_model(**batch)
            embedded = self.model.text_projection(text.pooler_output)
        return torch.nn.functional.normalize(embedded, dim=-1)

    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp().clamp(max=100.0))


def load_encoder(source: str | None = None) -> Encoder:
    """The shipped encoder (``None``), a trained folder of ours, or a CLIP checkpoint."""
    if source is None:
        return DualEncoder.load()
    path = Path(source)
    if (path / CONFIG_NAME).is_file():
        return DualEncoder.load(path)
    return ClipEncoder(source)
