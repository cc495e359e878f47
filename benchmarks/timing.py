"""What every benchmark reports: timing statistics and the machine it ran on."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

import numpy as np

from roadmind.errors import UserError


def timing_ms(samples_ms: Sequence[float] | np.ndarray, digits: int = 2) -> dict[str, float]:
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


def cpu_name() -> str:
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    """CPUs this process may run on (not the machine's: containers pin fewer)."""
    return len(os.sched_getaffinity(0))
