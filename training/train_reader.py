"""Train the reader's image tower from a committed recipe (configs/training/reader.yaml).

Crops come from ``training/reader_data.py`` (drawn once, in worker processes). Each
step scores a batch of crops against one random description of every class (the
vocabulary's prompts and the recipe's descriptions, read by the frozen text tower)
and minimises cross-entropy over the classes: CLIP's image-to-text loss with the
text side fixed per class. The encoder, the recipe copy and ``training.json`` (the
figures of the run) are written to the output folder.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from pydantic import Field

from reasoning.reader_crops import normalise
from reasoning.reader_model import DualEncoder, TowerConfig
from reasoning.reader_vocabulary import UNIT_WORDS, ReaderClass, load_vocabulary, number_words
from roadmind.config import StrictModel, load_model
from roadmind.errors import ConfigError
from roadmind.progress import progress as progress_bar
from training.reader_data import synth_batch

CHUNK = 500  # crops per worker task


class ReaderRecipe(StrictModel):
    seed: int = 0
    crops: int = Field(40000, ge=100)
    epochs: int = Field(8, ge=1)
    batch: int = Field(96, ge=2)
    lr: float = Field(0.003, gt=0)
    weight_decay: float = Field(0.05, ge=0)
    warmup_steps: int = Field(100, ge=0)
    workers: int = Field(2, ge=1)
    held_out_labels: list[str] = []
    tower: TowerConfig = TowerConfig()
    descriptions: dict[str, list[str]] = {}


def descriptions_of(cls: ReaderClass, recipe: ReaderRecipe) -> list[str]:
    """The class's vocabulary prompts and the recipe's descriptions, values filled in."""
    fill = {"value": "", "value_words": "", "unit": "", "unit_words": ""}
    if cls.unit:
        value = round(cls.value)
        fill = {
            "value": str(value),
            "value_words": number_words(value),
            "unit": cls.unit,
            "unit_words": UNIT_WORDS[cls.unit],
        }
    extra = [d.format(**fill) for d in recipe.descriptions.get(cls.label, [])]
    return [*cls.prompts, *extra]


def draw_crops(
    classes: list[ReaderClass], count: int, seed: int, image_px: int, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    chunks = [np.arange(i, min(i + CHUNK, count)) for i in range(0, count, CHUNK)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(
            pool.map(
                synth_batch,
                [classes] * len(chunks),
                chunks,
                [seed] * len(chunks),
                [image_px] * len(chunks),
            )
        )
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def train_reader(recipe_path: Path, out_dir: Path, progress: bool = True) -> dict:
    import torch

    recipe = load_model(ReaderRecipe, recipe_path)
    vocabulary = load_vocabulary()
    unknown = set(recipe.held_out_labels) - {c.label for c in vocabulary.classes}
    if unknown:
        raise ConfigError(f"{recipe_path}: held_out_labels: not in the vocabulary: {unknown}")
    classes = list(vocabulary.without(set(recipe.held_out_labels)).classes)
    torch.manual_seed(recipe.seed)
    start = time.perf_counter()
    crops, labels = draw_crops(
        classes, recipe.crops, recipe.seed, recipe.tower.image_px, recipe.workers
    )
    drawn_s = time.perf_counter() - start
    encoder = DualEncoder.build(recipe.tower)
    texts = [descriptions_of(c, recipe) for c in classes]
    flat = [t for ts in texts for t in ts]
    pooled = encoder.text_embeddings(flat)  # frozen tower: once
    counts = np.array([len(ts) for ts in texts])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # each class's first description
    params = [p for p in encoder.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = len(crops) // recipe.batch
    total = steps_per_epoch * recipe.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda k: (
            min(1.0, (k + 1) / max(1, recipe.warmup_steps))
            * 0.5
            * (1.0 + np.cos(np.pi * min(k, total) / total))
        ),
    )
    rng = np.random.default_rng(recipe.seed)
    encoder.model.train()
    encoder.model.text_model.eval()
    bar = progress_bar(total, "train reader", "step") if progress else None
    losses: list[float] = []
    correct = seen = 0
    for epoch in range(recipe.epochs):
        order = rng.permutation(len(crops))
        for step in range(steps_per_epoch):
            idx = order[step * recipe.batch : (step + 1) * recipe.batch]
            pixels = torch.from_numpy(normalise(crops[idx]))
            target = torch.from_numpy(labels[idx])
            pick = first + rng.integers(0, counts)  # one description per class
            text = encoder.project_text(pooled[pick])
            image = encoder.image_features(pixels)
            logits = encoder.model.logit_scale.exp().clamp(max=100.0) * image @ text.T
            loss = torch.nn.functional.cross_entropy(logits, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            if epoch == recipe.epochs - 1:
                correct += int((logits.argmax(1) == target).sum())
                seen += len(idx)
            if bar is not None:
                bar.update()
                bar.set_postfix_str(f"loss={np.mean(losses[-50:]):.3f}")
    if bar is not None:
        bar.close()
    encoder.model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.save(out_dir)
    if recipe_path.resolve() != (out_dir / "recipe.yaml").resolve():
        shutil.copyfile(recipe_path, out_dir / "recipe.yaml")
    summary = {
        "classes": len(classes),
        "held_out_labels": recipe.held_out_labels,
        "crops": len(crops),
        "steps": total,
        "draw_crops_s": round(drawn_s, 1),
        "train_s": round(time.perf_counter() - start - drawn_s, 1),
        "final_loss": round(float(np.mean(losses[-50:])), 4),
        "last_epoch_train_accuracy": round(correct / max(seen, 1), 4),
        "logit_scale": round(encoder.logit_scale(), 2),
        "weights_bytes": (out_dir / "reader.safetensors").stat().st_size,
        "torch_threads": torch.get_num_threads(),
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=1) + "\n", "utf-8")
    return summary
