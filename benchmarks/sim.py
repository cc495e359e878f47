"""``roadmind bench sim``: world steps per second, rendering and ground truth included."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.timing import cpu_count, cpu_name, timing_ms
from loop.rollout import rollout
from loop.worlds import WorldOptions
from roadmind.rates import PHYSICS_HZ
from sim.rig import RigConfig
from sim.scenario import Scenario, load_scenario
from sim.streetscape import Profile


def bench_sim(
    scenario: str | Scenario,
    rig: RigConfig | None,
    steps: int,
    warmup: int,
    streetscape: Profile | None = None,
) -> dict[str, object]:
    """Time ``steps`` oracle-driven steps (world step, oracle scene, agent) after
    ``warmup`` untimed ones; ``scenario`` a name, a path or a scenario; ``rig`` None:
    the scenario's; ``streetscape`` a profile in place of the scenario's (None: its own)."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    if streetscape is not None:
        street = scenario.streetscape.model_copy(update={"profile": streetscape})
        scenario = scenario.model_copy(update={"streetscape": street})
    times = []
    with rollout(scenario, 1 + warmup + steps, options=WorldOptions(rig)) as run:
        ahead = iter(run)
        for _ in range(1 + warmup):  # the reset frame, then the warm-up steps
            next(ahead)
        for _ in range(steps):
            t0 = time.perf_counter()
            next(ahead)
            times.append(time.perf_counter() - t0)
        rig = run.world.rig
        static = getattr(run.world, "static", None)  # the embedded world's static scene
        triangles = static.raycast.num_static_triangles if static is not None else None
    ms = np.array(times) * 1000.0
    return {
        "benchmark": "sim",
        "scenario": scenario.name,
        "map": scenario.map,
        "vehicles": sum(1 for a in scenario.actors if a.kind == "vehicle"),
        "pedestrians": sum(1 for a in scenario.actors if a.kind == "pedestrian"),
        "cameras": [f"{c.width_px}x{c.height_px}@{c.rate_hz:g}Hz" for c in rig.cameras],
        "lidars": [f"{ld.channels}x{ld.columns}@{ld.rate_hz:g}Hz" for ld in rig.lidars],
        "physics_hz": PHYSICS_HZ,
        "streetscape": scenario.streetscape.profile,
        "static_triangles": triangles,
        "ground_truth": True,
        "steps": steps,
        "steps_per_s": round(float(1000.0 / ms.mean()), 2),
        "step": timing_ms(ms),
        "cpu": cpu_name(),
        "threads": cpu_count(),
    }
