"""The ``roadmind`` command line."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cli import fusion as cli_fusion
from cli import perception as cli_perception
from cli.output import emit_json, timing_ms
from roadmind.errors import UserError
from roadmind.rates import PHYSICS_HZ
from roadmind.serialize import to_dict
from roadmind.units import mps_to_kmh

if TYPE_CHECKING:
    from agent.agent import Agent
    from perception.lidar_pipeline import LidarPipelineConfig
    from roadmind.frames import Pose
    from roadmind.messages import SensorFrame
    from sim.embedded.world import EmbeddedWorld
    from sim.scenario import Scenario


def _world_and_agent(
    scenario_name: str, rig_name: str | None = None
) -> tuple[Scenario, EmbeddedWorld, Agent, SensorFrame]:
    """Load, build and reset; the heavy imports wait until a command needs them."""
    from loop.drive import make_agent
    from sim.embedded.world import EmbeddedWorld
    from sim.rig import load_rig, resolve_rig_path
    from sim.scenario import load_scenario

    scenario = load_scenario(scenario_name)
    world = EmbeddedWorld(load_rig(resolve_rig_path(rig_name)) if rig_name else None)
    frame = world.reset(scenario)
    return scenario, world, make_agent(world), frame


def _oracle_step(world: EmbeddedWorld, agent: Agent, frame: SensorFrame) -> SensorFrame:
    from loop.oracle import oracle_scene

    return world.step(agent.step(frame.ego, oracle_scene(frame)).control)


def cmd_render(args: argparse.Namespace) -> int:
    from report.visualize import bgra_to_image, draw_boxes, lidar_bev

    scenario, world, agent, frame = _world_and_agent(args.scenario, args.rig)
    with world:
        for _ in range(args.steps):
            frame = _oracle_step(world, agent, frame)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        truth = frame.ground_truth
        assert truth is not None
        written = []
        for cam in frame.cameras:
            bgra_to_image(cam.bgra).save(out / f"camera_{cam.name}.png")
            draw_boxes(cam.bgra, truth.boxes_2d.get(cam.name, ())).save(out / f"gt_{cam.name}.png")
            written += [f"camera_{cam.name}.png", f"gt_{cam.name}.png"]
        while not frame.lidars:  # LiDARs slower than the physics rate skip some steps
            frame = _oracle_step(world, agent, frame)
        assert frame.ground_truth is not None
        for scan in frame.lidars:
            actors = frame.ground_truth.actors
            lidar_bev(scan.points_xyzi, scan.sensor_to_ego, actors, frame.ego.pose).save(
                out / f"lidar_{scan.name}_bev.png"
            )
            written.append(f"lidar_{scan.name}_bev.png")
        gt = {
            "frame_id": frame.frame_id,
            "timestamp_s": frame.timestamp_s,
            "ego": to_dict(frame.ego),
            "ground_truth": to_dict(truth),
        }
        (out / "ground_truth.json").write_text(json.dumps(gt, indent=1))
        written.append("ground_truth.json")
    print(
        f"scenario {scenario.name!r} at t={frame.timestamp_s:.2f} s -> {out}/: "
        + ", ".join(written)
    )
    return 0


def cmd_drive(args: argparse.Namespace) -> int:
    from loop.drive import DriveOptions, default_run_dir, drive
    from sim.carla.server import CarlaServer
    from sim.rig import load_rig, resolve_rig_path
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    out = Path(args.out) if args.out else default_run_dir(scenario)
    options = DriveOptions(
        perception=args.perception,
        duration_s=args.duration_s,
        video=not args.no_video,
        rig=load_rig(resolve_rig_path(args.rig)) if args.rig else None,
        backend=args.backend,
        carla=CarlaServer(host=args.host, port=args.port, town=args.town, tm_port=args.tm_port),
    )
    result = drive(scenario, out, options)
    m = result.metrics
    for note in m["map_notes"]:  # type: ignore[union-attr]
        if "error" in note:
            print(f"roadmind: warning: {note['error']}", file=sys.stderr)
    for problem in m["map_problems"]:  # type: ignore[union-attr]
        print(f"roadmind: warning: map {scenario.map}: {problem}", file=sys.stderr)
    ended = " (interrupted: scored up to Ctrl-C)" if result.interrupted else ""
    print(
        f"{scenario.name}{ended}: driving score {m['driving_score']} "
        f"(route {m['route_completion_pct']}%, penalty {m['infraction_penalty']}), "
        f"infractions {sum(m['infraction_counts'].values())}, "  # type: ignore[union-attr]
        f"speeding {m['speeding']['time_s']} s -> {out}/"  # type: ignore[index]
    )
    return 130 if result.interrupted else 0


def cmd_scene(args: argparse.Namespace) -> int:
    from reasoning.canned import check_scene, load_scene, run_scene

    failed = 0
    for name in args.files:
        path = Path(name)
        scene = load_scene(path)
        print(f"{path}: {scene.description}")
        results = run_scene(scene)
        for index, explained in results:
            d = explained.decision
            stop = f", stop in {d.stop_distance_m:.1f} m" if d.stop_distance_m is not None else ""
            speed_kmh = mps_to_kmh(d.target_speed_mps)
            print(f"  frame {index}: {d.action.value} at {speed_kmh:.1f} km/h{stop}")
            for reason in d.reasons:
                print(f"    [{reason.rule}] {reason.text}")
        failures = check_scene(scene, results)
        failed += bool(failures)
        print("  " + ("FAIL: " + "; ".join(failures) if failures else "ok"))
    print(f"{len(args.files) - failed}/{len(args.files)} scenes ok")
    return 1 if failed else 0


def cmd_bench_sim(args: argparse.Namespace) -> int:
    scenario, world, agent, frame = _world_and_agent(args.scenario, args.rig)
    with world:
        for _ in range(args.warmup):
            frame = _oracle_step(world, agent, frame)
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            frame = _oracle_step(world, agent, frame)
            times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000.0
    rig = world.rig
    result = {
        "benchmark": "sim",
        "scenario": scenario.name,
        "map": scenario.map,
        "vehicles": sum(1 for a in scenario.actors if a.kind == "vehicle"),
        "pedestrians": sum(1 for a in scenario.actors if a.kind == "pedestrian"),
        "cameras": [f"{c.width_px}x{c.height_px}@{c.rate_hz:g}Hz" for c in rig.cameras],
        "lidars": [f"{ld.channels}x{ld.columns}@{ld.rate_hz:g}Hz" for ld in rig.lidars],
        "physics_hz": PHYSICS_HZ,
        "ground_truth": True,
        "steps": args.steps,
        "steps_per_s": round(float(1000.0 / ms.mean()), 2),
        "step": timing_ms(ms),
        "cpu": platform.processor() or platform.machine(),
        "threads": _cpu_count(),
    }
    return emit_json(result, args.out)


def cmd_bench_decision(args: argparse.Namespace) -> int:
    """Decision + control time per step (Agent.step: rules and controllers) over whole
    drives of the scenario suite with oracle perception."""
    import tempfile

    from loop.drive import DriveOptions, drive
    from sim.rig import RigConfig
    from sim.scenario import SCENARIOS_DIR, load_scenario

    names = args.scenarios or sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))
    per_scenario = {}
    every: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            options = DriveOptions(
                video=False, progress=False, rig=RigConfig(cameras=[], lidars=[])
            )
            result = drive(load_scenario(name), Path(tmp) / name, options)
            ms = np.array(result.decision_ms)
            every += result.decision_ms
            per_scenario[name] = {"steps": len(ms), **timing_ms(ms, 3)}
    result_json = {
        "benchmark": "decision",
        "what": "Agent.step: map context lookup, rules, arbitration, PID and pure pursuit",
        "steps": len(every),
        **timing_ms(every, 3),
        "target_ms": 2.0,
        "scenarios": per_scenario,
        "cpu": platform.processor() or platform.machine(),
        "threads": _cpu_count(),
    }
    return emit_json(result_json, args.out)


# --------------------------------------------------------------------------- LiDAR pipeline


def _lidar_config(args: argparse.Namespace) -> LidarPipelineConfig:
    from perception.lidar_pipeline import load_lidar_config

    config = load_lidar_config(Path(args.config) if args.config else None)
    if args.method:
        cluster = config.cluster.model_copy(update={"method": args.method})
        config = config.model_copy(update={"cluster": cluster})
    return config


def cmd_lidar(args: argparse.Namespace) -> int:
    """One scan file -> objects, a bird's-eye PNG and a JSON summary line."""
    from perception.lidar_pipeline import LidarPipeline
    from perception.point_cloud_io import read_points
    from report.lidar_view import lidar_result_bev
    from roadmind.frames import Pose

    y_left = {"auto": None, "y-left": True, "y-right": False}[args.axes]
    points = read_points(Path(args.file), y_left)
    try:
        result = LidarPipeline(_lidar_config(args)).run(points, Pose(z_m=args.sensor_z_m))
    except ValueError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lidar_result_bev(result, extent_m=args.extent_m).save(out)
    print(json.dumps({"file": args.file, **result.summary(), "out": str(out)}))
    return 0


def cmd_eval_lidar(args: argparse.Namespace) -> int:
    from evaluation.lidar import evaluate
    from sim.scenario import SCENARIOS_DIR

    names = args.scenarios or sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))
    progress = (lambda line: print(line, file=sys.stderr)) if sys.stderr.isatty() else None
    report = evaluate(names, args.frames, args.stride, _lidar_config(args), progress=progress)
    report["config"] = args.config or "configs/perception/lidar.yaml"
    report["command"] = "roadmind " + " ".join(sys.argv[1:])
    return emit_json(report, args.out)


def _bench_scans(scenario_name: str, steps: int) -> dict[str, tuple[np.ndarray, Pose]]:
    """Scans of the bench rig's 32 x 1024 LiDAR and of a 64 x 2048 HDL-64-like one, taken
    together after ``steps`` oracle-driven steps (traffic around the car)."""
    from loop.drive import make_agent
    from sim.embedded.world import EmbeddedWorld
    from sim.rig import LidarConfig, MountPose, RigConfig
    from sim.scenario import load_scenario

    mount = MountPose(z_m=2.0)
    lidars = [
        LidarConfig(name="32x1024", channels=32, columns=1024, pose=mount, dropout=0.02),
        LidarConfig(
            name="64x2048",
            channels=64,
            columns=2048,
            upper_fov_deg=2.0,
            lower_fov_deg=-24.8,
            range_m=120.0,
            pose=mount,
            dropout=0.02,
        ),
    ]
    with EmbeddedWorld(RigConfig(cameras=[], lidars=lidars)) as world:
        frame = world.reset(load_scenario(scenario_name))
        agent = make_agent(world)
        for _ in range(steps):
            frame = _oracle_step(world, agent, frame)
        while not frame.lidars:
            frame = _oracle_step(world, agent, frame)
    return {scan.name: (scan.points_xyzi, scan.sensor_to_ego) for scan in frame.lidars}


def cmd_bench_lidar(args: argparse.Namespace) -> int:
    from perception.lidar_pipeline import LidarPipeline

    base = _lidar_config(args)
    runs = []
    for name, (points, mount) in _bench_scans(args.scenario, args.steps).items():
        for method in ("grid", "dbscan"):
            cluster = base.cluster.model_copy(update={"method": method})
            pipeline = LidarPipeline(base.model_copy(update={"cluster": cluster}))
            for _ in range(3):
                result = pipeline.run(points, mount)
            stages: dict[str, list[float]] = {}
            for _ in range(args.reps):
                result = pipeline.run(points, mount)
                for key, value in result.stage_ms.items():
                    stages.setdefault(key, []).append(value)
            ms = np.array(stages.pop("total"))
            runs.append(
                {
                    "scan": name,
                    "method": method,
                    "points_in": result.counts["points_in"],
                    "after_downsample": result.counts["after_downsample"],
                    "non_ground": result.counts["non_ground"],
                    "objects": len(result.objects),
                    **timing_ms(ms),
                    "stage_ms_mean": {k: round(float(np.mean(v)), 2) for k, v in stages.items()},
                }
            )
    target = [r["mean_ms"] for r in runs if r["scan"] == "32x1024"]
    result_json = {
        "benchmark": "lidar",
        "what": "LidarPipeline.run: crop, voxel downsample, ground, clustering, boxes",
        "scenario": args.scenario,
        "reps": args.reps,
        "voxel_m": base.crop.voxel_m,
        "max_range_m": base.crop.max_range_m,
        "runs": runs,
        "target_ms_32k": 25.0,
        "target_met": bool(target) and max(target) <= 25.0,
        "cpu": platform.processor() or platform.machine(),
        "threads": _cpu_count(),
    }
    return emit_json(result_json, args.out)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roadmind",
        description=(
            "Drive scenarios in the embedded simulator or a CARLA server and see what the car sees."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def scenario_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--scenario",
            default="default",
            help="scenario name in configs/scenarios or a path to a YAML file",
        )
        p.add_argument(
            "--rig",
            default=None,
            help="override the scenario's sensor rig (name in configs/rigs or path)",
        )

    p = sub.add_parser("render", help="write a camera frame, ground-truth boxes and a LiDAR BEV")
    scenario_args(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--steps", type=int, default=0, help="world steps (20 Hz) to drive first")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "drive", help="drive a scenario in the closed loop and score it (writes a run folder)"
    )
    scenario_args(p)
    p.add_argument(
        "--perception",
        choices=["oracle", "stack"],  # loop.drive.PERCEPTION; listed here so --help stays light
        default="oracle",
        help="where the BEV scene comes from: oracle = the world's ground truth; "
        "stack = camera detector + LiDAR pipeline + fusion",
    )
    p.add_argument("--out", default=None, help="run folder (default: runs/<time>_<scenario>)")
    p.add_argument("--duration-s", type=float, default=None, help="override the scenario length")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--no-video", action="store_true", help="skip video.mp4 (faster)")
    p.add_argument(
        "--backend",
        choices=["embedded", "carla"],  # sim.world.WORLDS; listed here so --help stays light
        default="embedded",
        help="the world: embedded simulator (no server) or a CARLA 0.9.16 server",
    )
    carla = p.add_argument_group("CARLA server (--backend carla)")
    carla.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    carla.add_argument("--port", type=int, default=2000, help="server RPC port (default 2000)")
    carla.add_argument(
        "--town",
        default=None,
        help="town to load (default: the scenario's map when it names one, like Town01; "
        "otherwise its .xodr becomes a standalone OpenDRIVE world)",
    )
    carla.add_argument("--tm-port", type=int, default=8000, help="Traffic Manager port")
    p.set_defaults(func=cmd_drive)

    p = sub.add_parser("scene", help="run canned rule scenes (YAML) and check their expectations")
    p.add_argument("files", nargs="+", help="scene files, e.g. tests/reasoning/scenes/*.yaml")
    p.set_defaults(func=cmd_scene)

    cli_perception.add_commands(sub)

    p = sub.add_parser("bench", help="benchmarks (JSON out)")
    bench = p.add_subparsers(dest="target", required=True)
    b = bench.add_parser("sim", help="world steps per second, rendering and ground truth included")
    b.add_argument("--scenario", default="default")
    b.add_argument("--rig", default="bench", help="sensor rig (default: 640x360 + 32x1024)")
    b.add_argument("--steps", type=int, default=200)
    b.add_argument("--warmup", type=int, default=10)
    b.add_argument("--out", default=None, help="also write the JSON to this file")
    b.set_defaults(func=cmd_bench_sim)
    b = bench.add_parser("decision", help="rules + control time per step over the scenario suite")
    b.add_argument("--scenarios", nargs="*", default=None, help="default: every project scenario")
    b.add_argument("--out", default=None, help="also write the JSON to this file")
    b.set_defaults(func=cmd_bench_decision)

    # LiDAR pipeline: one file, scores against the embedded world, speed
    def lidar_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", default=None, help="default: configs/perception/lidar.yaml")
        p.add_argument("--method", choices=["grid", "dbscan"], default=None, help="clustering")

    p = sub.add_parser("lidar", help="LiDAR objects from a .bin/.pcd/.npy scan, bird's-eye PNG")
    p.add_argument("file", help="KITTI .bin, .pcd or .npy (N, 3|4) scan in the sensor frame")
    p.add_argument("--out", required=True, help="bird's-eye PNG to write")
    p.add_argument("--sensor-z-m", type=float, default=2.0, help="sensor height in the ego frame")
    p.add_argument(
        "--axes",
        choices=["auto", "y-left", "y-right"],
        default="auto",
        help="the file's y axis; auto: .bin (KITTI) and .pcd (ROS) y-left, .npy y-right",
    )
    p.add_argument("--extent-m", type=float, default=50.0, help="half width of the picture [m]")
    lidar_args(p)
    p.set_defaults(func=cmd_lidar)
    p = sub.add_parser("eval", help="score perception against the embedded world (JSON out)")
    evals = p.add_subparsers(dest="target", required=True)
    e = evals.add_parser("lidar", help="LiDAR objects vs ground truth: precision/recall by range")
    e.add_argument("--scenarios", nargs="*", default=None, help="default: every project scenario")
    e.add_argument("--frames", type=int, default=40, help="scans scored per scenario")
    e.add_argument("--stride", type=int, default=5, help="score every n-th scan (10 Hz LiDAR)")
    e.add_argument("--out", default=None, help="also write the JSON to this file")
    lidar_args(e)
    e.set_defaults(func=cmd_eval_lidar)
    b = bench.add_parser("lidar", help="LiDAR pipeline ms on 32x1024 and 64x2048 scans")
    b.add_argument("--scenario", default="default")
    b.add_argument("--steps", type=int, default=200, help="world steps driven before the scans")
    b.add_argument("--reps", type=int, default=50)
    b.add_argument("--out", default=None, help="also write the JSON to this file")
    lidar_args(b)
    b.set_defaults(func=cmd_bench_lidar)
    cli_perception.add_eval_and_bench(evals, bench)
    cli_fusion.add_commands(evals, bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"roadmind: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
