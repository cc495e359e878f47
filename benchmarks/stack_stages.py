"""Milliseconds per stage of the perception stack in the loop: the detector on every
camera frame a fusion cycle uses, the second look, the LiDAR pipeline and fusion, on
one scenario driven by the stack's own scene. Prints JSON.

    python benchmarks/stack_stages.py [--scenario default] [--rig default] [--steps 400]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

import numpy as np

from loop.drive import make_agent, stack_for
from sim.embedded.world import EmbeddedWorld
from sim.rig import load_rig, resolve_rig_path
from sim.scenario import load_scenario


def _stats(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"calls": 0}
    return {
        "calls": len(ms),
        "mean_ms": round(float(np.mean(ms)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--rig", default="default")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    # stdout carries the JSON only: libraries' messages go to stderr
    with (
        contextlib.redirect_stdout(sys.stderr),
        EmbeddedWorld(load_rig(resolve_rig_path(args.rig))) as world,
    ):
        frame = world.reset(load_scenario(args.scenario))
        agent, stack = make_agent(world), stack_for(world)
        start = time.perf_counter()
        for _ in range(args.steps):
            scene = stack(frame)
            frame = world.step(agent.step(frame.ego, scene).control)
        wall_s = time.perf_counter() - start
    times = stack.times
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "rig": args.rig,
                "steps": args.steps,
                "steps_per_s": round(args.steps / wall_s, 1),
                "detector": _stats(times.detector_ms),
                "second_look": _stats(times.second_look_ms),
                "lidar": _stats(times.lidar_ms),
                "fusion": _stats(times.fusion_ms),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
