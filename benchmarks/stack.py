"""``roadmind bench stack``: the stack's speed, stage by stage, on recorded frames, and
the real-time factor of a closed-loop drive.

1. **Recorded frames** — the scenario is driven once by the oracle and every frame is
   kept (rendering is not timed). The stack then runs over them in order, as in a
   drive, after a warm-up pass on the first frames (model sessions, the reader and its
   OCR engines load on first use): per frame the detector (only on frames a fusion
   cycle uses), the second look, the LiDAR pipeline, fusion (tracking, grid, landmarks;
   without the sign reads), the sign reader, the rules and controller (``Agent.step``
   on the stack's scene), and end to end. p50 and p95 per stage over the frames it ran
   on; end to end over every frame and over the frames with a LiDAR scan (a fusion
   cycle: the heavy ones, 10 Hz).
2. **Closed loop** — ``loop.drive.drive`` with the stack on the same rig, world
   rendering every sensor each step, the run folder written (decisions, metrics), with
   and without the run video: real-time factor = simulated seconds / wall seconds of
   the loop (world building excluded).

The closed-loop drives write the sensor log (``log.mcap``) as every drive does; its
writer's mean cost per frame is reported beside the real-time factor.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import cpu_count, cpu_name
from loop.drive import DriveOptions, drive
from loop.rollout import make_agent, rollout, stack_for
from loop.stack import PerceptionStack, StageTimes
from loop.worlds import WorldOptions
from roadmind.messages import SensorFrame
from roadmind.rates import PHYSICS_HZ
from sim.rig import RigConfig
from sim.scenario import load_scenario

WARMUP_FRAMES = 20
TARGET_P95_MS = 100.0  # full stack per frame, 2 CPU cores
TARGET_RTF = 1.0  # closed loop with rendering
STAGES = ("detector", "second_look", "lidar", "fusion", "reader", "rules")


def _stats(ms: Sequence[float]) -> dict[str, float | int]:
    if not len(ms):
        return {"frames": 0}
    a = np.asarray(ms, dtype=np.float64)
    return {
        "frames": int(a.size),
        "mean_ms": round(float(a.mean()), 2),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "max_ms": round(float(a.max()), 2),
    }


def _lengths(times: StageTimes) -> dict[str, int]:
    return {
        "detector": len(times.detector_ms),
        "second_look": len(times.second_look_ms),
        "lidar": len(times.lidar_ms),
        "fusion": len(times.fusion_ms),
        "reader": len(times.reader_ms),
    }


def _since(times: StageTimes, before: dict[str, int]) -> dict[str, float | None]:
    """Milliseconds each stage spent on one frame (None: it did not run)."""
    lists = {
        "detector": times.detector_ms,
        "second_look": times.second_look_ms,
        "lidar": times.lidar_ms,
        "fusion": times.fusion_ms,
        "reader": times.reader_ms,
    }
    return {k: (sum(v[before[k] :]) if len(v) > before[k] else None) for k, v in lists.items()}


def record_frames(
    scenario_name: str, rig: RigConfig | None, steps: int
) -> tuple[list[SensorFrame], PerceptionStack, PerceptionStack, object]:
    """The frames of an oracle drive, a warm stack (for its loaded detector), a fresh
    stack for the timed pass and the agent, built on the drive's world."""
    scenario = load_scenario(scenario_name)
    with rollout(scenario, steps, options=WorldOptions(rig)) as run:
        # built on the world just reset (the rollout closes it after its last step)
        warm = stack_for(run.world)
        timed = stack_for(run.world)  # a fresh tracker; the warm one's loaded models
        timed.detector, timed.lidar = warm.detector, warm.lidar
        agent = make_agent(run.world)
        frames = [s.frame for s in run]
    return frames, warm, timed, agent


def time_stages(
    frames: Sequence[SensorFrame], warm: PerceptionStack, stack: PerceptionStack, agent: object
) -> dict[str, Any]:
    for frame in frames[:WARMUP_FRAMES]:
        warm(frame)
    per_stage: dict[str, list[float]] = {k: [] for k in STAGES}
    fusion_only: list[float] = []
    end_to_end: list[float] = []
    cycles: list[float] = []
    for frame in frames:
        before = _lengths(stack.times)
        t0 = time.perf_counter()
        scene = stack(frame)
        t1 = time.perf_counter()
        agent.step(frame.ego, scene)  # type: ignore[attr-defined]
        t2 = time.perf_counter()
        spent = _since(stack.times, before)
        for name in ("detector", "second_look", "lidar", "reader"):
            value = spent[name]
            if value is not None:
                per_stage[name].append(value)
        fusion, reads = spent["fusion"] or 0.0, spent["reader"] or 0.0
        fusion_only.append(fusion - reads)
        per_stage["rules"].append((t2 - t1) * 1000.0)
        total = (t2 - t0) * 1000.0
        end_to_end.append(total)
        if frame.lidars:
            cycles.append(total)
    per_stage["fusion"] = fusion_only
    return {
        "stages": {name: _stats(per_stage[name]) for name in STAGES},
        "end_to_end_every_frame": _stats(end_to_end),
        "end_to_end_fusion_cycle": _stats(cycles),
    }


def closed_loop(
    scenario_name: str, rig: RigConfig | None, steps: int, video: bool
) -> dict[str, Any]:
    scenario = load_scenario(scenario_name)
    options = DriveOptions(
        perception="stack", duration_s=steps / PHYSICS_HZ, video=video, progress=False, rig=rig
    )
    with tempfile.TemporaryDirectory(prefix="roadmind-bench-") as tmp:
        result = drive(scenario, Path(tmp) / "run", options)
    sim_s = result.steps / PHYSICS_HZ
    return {
        "video": video,
        "steps": result.steps,
        "sim_s": round(sim_s, 2),
        "wall_s": round(result.wall_s, 2),
        "real_time_factor": round(sim_s / result.wall_s, 3),
        "driving_score": result.metrics["driving_score"],
        "log_write_ms_mean": _log_ms(result.metrics.get("log")),
    }


def _log_ms(log: object) -> float | None:
    """The sensor log writer's mean ms per frame from metrics.json's ``log``."""
    return log.get("write_ms_mean") if isinstance(log, dict) else None


def bench_stack(
    scenario_name: str,
    rig: RigConfig | None,
    rig_label: str,
    steps: int,
    loop_steps: int | None = None,
) -> dict[str, Any]:
    """Stages on ``steps`` recorded frames, then closed-loop drives of ``loop_steps``
    (default ``steps``; 0: none). ``rig`` None: the scenario's."""
    frames, warm, stack, agent = record_frames(scenario_name, rig, steps)
    frame = frames[0]
    sensors = {
        "cameras": [f"{c.name} {c.bgra.shape[1]}x{c.bgra.shape[0]}" for c in frame.cameras],
        "lidars": [ld.name for ld in next((f.lidars for f in frames if f.lidars), ())],
    }
    timing = time_stages(frames, warm, stack, agent)
    del frames
    loop_steps = steps if loop_steps is None else loop_steps
    loops = (
        [closed_loop(scenario_name, rig, loop_steps, v) for v in (True, False)]
        if loop_steps
        else []
    )
    cycle_p95 = timing["end_to_end_fusion_cycle"].get("p95_ms")
    rtf = loops[0]["real_time_factor"] if loops else None
    out: dict[str, Any] = {
        "benchmark": "stack",
        "scenario": scenario_name,
        "rig": rig_label,
        "sensors": sensors,
        "recorded_frames": steps,
        "warmup_frames": WARMUP_FRAMES,
        **timing,
        "closed_loop": loops,
        "log_writer_ms_per_frame": loops[0]["log_write_ms_mean"] if loops else None,
        "targets": {
            "fusion_cycle_p95_ms": cycle_p95,
            "p95_at_most_100_ms": cycle_p95 is not None and cycle_p95 <= TARGET_P95_MS,
            "real_time_factor_with_video": rtf,
            "real_time_factor_at_least_1": rtf is not None and rtf >= TARGET_RTF,
        },
        "machine": {"cpu": cpu_name(), "cpus": cpu_count()},
        "date": time.strftime("%Y-%m-%d"),
    }
    out["readme_rows"] = readme_rows(out)
    return out


def readme_rows(result: dict[str, Any]) -> list[str]:
    """Rows for the README's performance table."""
    stages = result["stages"]
    cmd = "`roadmind bench stack`"
    date = result["date"]
    rows = []
    for name in STAGES:
        s = stages[name]
        if s.get("frames"):
            rows.append(
                f"| stack stage `{name}`, {result['rig']} rig, `{result['scenario']}` "
                f"({s['frames']} of {result['recorded_frames']} frames) "
                f"| p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms ({date}) | {cmd} |"
            )
    for key, what in (
        ("end_to_end_fusion_cycle", "frames with a LiDAR scan (10 Hz)"),
        ("end_to_end_every_frame", "every 20 Hz frame"),
    ):
        s = result[key]
        rows.append(
            f"| stack end to end (perception + rules), {what} | p50 {s.get('p50_ms')} ms, "
            f"p95 {s.get('p95_ms')} ms (target p95 <= 100 ms) ({date}) | {cmd} |"
        )
    for loop in result["closed_loop"]:
        video = "with the run video" if loop["video"] else "without video"
        rows.append(
            f"| closed loop with the stack, rendering, run folder, {video}, "
            f"{loop['steps']} steps | real-time factor {loop['real_time_factor']} "
            f"(target >= 1.0; sensor log written) ({date}) | {cmd} |"
        )
    return rows
