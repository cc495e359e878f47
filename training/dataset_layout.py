"""The detector dataset's layout: frame groups, the validation share, class names and
label counts. Light on purpose (no simulator): training on a GPU machine that has the
dataset but not the world needs it too."""

from __future__ import annotations

from pathlib import Path

from roadmind.config import read_yaml
from roadmind.errors import UserError

FRAMES_PER_GROUP = 8
VAL_EVERY_GROUPS = 5  # one group in five is validation: 20 %


def class_names(out: Path) -> list[str]:
    """The class names ``data.yaml`` lists, in label-index order."""
    path = out / "data.yaml"
    if not path.is_file():
        raise UserError(
            f"{path}: no dataset here (expected data.yaml from `roadmind datagen --out {out}`)"
        )
    doc = read_yaml(path)
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names or not all(isinstance(k, int) for k in names):
        raise UserError(f"{path}: field 'names' must map label indices to class names")
    return [str(names[i]) for i in sorted(names)]


def label_stats(out: Path) -> dict[str, dict[str, int]]:
    """Objects per class per split, from the label files."""
    names = class_names(out)
    stats: dict[str, dict[str, int]] = {}
    for split in ("train", "val"):
        counts = dict.fromkeys(names, 0)
        for path in (out / "labels" / split).glob("*.txt"):
            for line in path.read_text().splitlines():
                counts[names[int(line.split()[0])]] += 1
        stats[split] = counts
    return stats
