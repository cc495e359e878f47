"""What every JSON-printing command shares: timing statistics and the printing itself."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from roadmind.errors import UserError


def timing_ms(samples_ms: Sequence[float], digits: int = 2) -> dict[str, float]:
    """mean, p50, p95, p99 and max of a list of durations [ms]."""
    ms = np.asarray(samples_ms, dtype=np.float64)
    if ms.size == 0:
        raise UserError("no timings to summarise: give a repetition count of at least 1")
    return {
        "mean_ms": round(float(ms.mean()), digits),
        "p50_ms": round(float(np.median(ms)), digits),
        "p95_ms": round(float(np.percentile(ms, 95)), digits),
        "p99_ms": round(float(np.percentile(ms, 99)), digits),
        "max_ms": round(float(ms.max()), digits),
    }


def emit_json(result: dict[str, object], out: str | None) -> int:
    """Print ``result`` as JSON on stdout, and write it to ``out`` too when given."""
    text = json.dumps(result, indent=1)
    if out:
        Path(out).write_text(text + "\n")
    print(text)
    return 0
