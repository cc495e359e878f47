"""``roadmind bench decision``: rules + control time per step over whole drives."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.timing import cpu_count, cpu_name, timing_ms
from loop.drive import DriveOptions, drive
from sim.rig import RigConfig
from sim.scenario import load_scenario


def bench_decision(scenarios: Sequence[str]) -> dict[str, object]:
    """Agent.step (rules and controllers) per step over whole drives of ``scenarios``
    with oracle perception and no sensors."""
    per_scenario = {}
    every: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios:
            options = DriveOptions(
                video=False, progress=False, rig=RigConfig(cameras=[], lidars=[])
            )
            result = drive(load_scenario(name), Path(tmp) / name, options)
            ms = np.array(result.decision_ms)
            every += result.decision_ms
            per_scenario[name] = {"steps": len(ms), **timing_ms(ms, 3)}
    return {
        "benchmark": "decision",
        "what": "Agent.step: map context lookup, rules, arbitration, PID and pure pursuit",
        "steps": len(every),
        **timing_ms(every, 3),
        "target_ms": 2.0,
        "scenarios": per_scenario,
        "cpu": cpu_name(),
        "threads": cpu_count(),
    }
