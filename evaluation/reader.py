"""Scores of the sign and light reader: what it said against what the crop shows.

Names are the vocabulary's class names (``speed_limit 30 km/h``, ``stop``,
``light_red``): a reading is right when type and value (and unit) are right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


def accuracy(truth: Sequence[str], said: Sequence[str]) -> dict[str, Any]:
    """Exact-match accuracy, per-class counts and the most common mistakes."""
    if len(truth) != len(said):
        raise ValueError(f"accuracy: {len(truth)} truths but {len(said)} readings")
    right = [t == s for t, s in zip(truth, said, strict=True)]
    per_class: dict[str, list[int]] = {}
    for t, ok in zip(truth, right, strict=True):
        entry = per_class.setdefault(t, [0, 0])
        entry[0] += 1
        entry[1] += int(ok)
    mistakes = Counter(f"{t} -> {s}" for t, s, ok in zip(truth, said, right, strict=True) if not ok)
    return {
        "n": len(truth),
        "accuracy": round(sum(right) / len(right), 4) if right else None,
        "per_class": {k: {"n": n, "right": r} for k, (n, r) in sorted(per_class.items())},
        "mistakes": dict(mistakes.most_common(8)),
    }


def rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None
