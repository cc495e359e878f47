"""``roadmind bench stack``: milliseconds per stage of the perception stack in the loop
(the detector on every camera frame a fusion cycle uses, the second look, the LiDAR
pipeline, fusion and the sign reader), on one scenario driven by the stack's own scene."""

from __future__ import annotations

import time

import numpy as np

from loop.rollout import rollout, stack_for
from loop.stack import PerceptionStack
from loop.worlds import WorldOptions
from sim.rig import RigConfig
from sim.scenario import load_scenario


def _stats(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"calls": 0}
    return {
        "calls": len(ms),
        "mean_ms": round(float(np.mean(ms)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def bench_stack(
    scenario_name: str, rig: RigConfig | None, rig_label: str, steps: int
) -> dict[str, object]:
    """``steps`` steps of the stack driving; ``rig`` None: the scenario's."""
    scenario = load_scenario(scenario_name)
    with rollout(scenario, steps, perception=stack_for, options=WorldOptions(rig)) as run:
        stack = run.perceive
        assert isinstance(stack, PerceptionStack)
        start = time.perf_counter()
        for _ in run:
            pass
        wall_s = time.perf_counter() - start
    times = stack.times
    return {
        "scenario": scenario_name,
        "rig": rig_label,
        "steps": steps,
        "steps_per_s": round(steps / wall_s, 1),
        "detector": _stats(times.detector_ms),
        "second_look": _stats(times.second_look_ms),
        "lidar": _stats(times.lidar_ms),
        "fusion": _stats(times.fusion_ms),
        "reader": _stats(times.reader_ms),
        "reader_ms_per_step": round(sum(times.reader_ms) / steps, 2),
    }
