"""``roadmind bench ...``: speed of the world and each stage (JSON out)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from cli.common import (
    add_json_out,
    add_lidar_config,
    add_repeats,
    add_rig,
    add_routes,
    add_scenario,
    add_scenarios,
    add_streetscape,
    lidar_config,
    load_rig_arg,
    nonnegative_int,
    positive_int,
    scenario_names,
    scenario_or_route,
)
from cli.output import emit_json


def cmd_bench_sim(args: argparse.Namespace) -> int:
    from benchmarks.sim import bench_sim

    scenario, _ = scenario_or_route(args)
    result = bench_sim(scenario, load_rig_arg(args.rig), args.steps, args.warmup, args.streetscape)
    return emit_json(result, args.out)


def cmd_bench_decision(args: argparse.Namespace) -> int:
    from benchmarks.decision import bench_decision

    return emit_json(bench_decision(scenario_names(args.scenarios)), args.out)


def cmd_bench_lidar(args: argparse.Namespace) -> int:
    from benchmarks.lidar import bench_lidar

    realdata = Path(args.realdata) if args.realdata else None
    result = bench_lidar(args.scenario, args.steps, args.repeats, lidar_config(args), realdata)
    return emit_json(result, args.out)


def cmd_bench_perception(args: argparse.Namespace) -> int:
    from benchmarks.detector import bench_detector

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        detector = bench_detector(Path(args.weights), args.repeats)
    return emit_json({"benchmark": "perception", "detector": detector}, args.out)


def cmd_bench_fusion(args: argparse.Namespace) -> int:
    from benchmarks.fusion import bench_fusion
    from sim.rig import load_rig, resolve_rig_path

    rig = load_rig(resolve_rig_path(args.rig))
    return emit_json(bench_fusion(rig, args.rig, args.repeats), args.out)


def cmd_bench_stack(args: argparse.Namespace) -> int:
    from benchmarks.stack import bench_stack
    from sim.scenario import load_scenario

    label = args.rig
    if label == "scenario":  # the scenario's own rig, by its name when it has one
        own = load_scenario(args.scenario).rig
        label = own if isinstance(own, str) else "scenario"
    rig = None if args.rig == "scenario" else load_rig_arg(args.rig)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        result = bench_stack(args.scenario, rig, label, args.steps, args.loop_steps)
    if args.rows:
        Path(args.rows).write_text("\n".join(result["readme_rows"]) + "\n")
    return emit_json(result, args.out)


def cmd_bench_reader(args: argparse.Namespace) -> int:
    from benchmarks.reader import bench_reader

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        result = bench_reader(args.scenario, args.steps, args.batch, args.repeats)
    return emit_json(result, args.out)


def register(sub: argparse._SubParsersAction) -> None:
    from perception.camera_detector import DEFAULT_WEIGHTS

    p = sub.add_parser("bench", help="benchmarks (JSON out)")
    bench = p.add_subparsers(dest="target", required=True)

    b = bench.add_parser("sim", help="world steps per second, rendering and ground truth included")
    add_scenario(b)
    add_routes(b, "bench (a large town: Town04, Town10HD), with --scenario's ego and settings")
    add_rig(b, "bench", ": 640x360 + 32x1024, the rig the README's numbers were measured with")
    b.add_argument("--steps", type=int, default=200, help="timed world steps")
    b.add_argument("--warmup", type=int, default=10, help="untimed world steps first")
    add_streetscape(b, "bench")
    add_json_out(b)
    b.set_defaults(func=cmd_bench_sim)

    b = bench.add_parser("decision", help="rules + control time per step over the scenario suite")
    add_scenarios(b)
    add_json_out(b)
    b.set_defaults(func=cmd_bench_decision)

    b = bench.add_parser(
        "lidar",
        help="LiDAR pipeline ms on 32x1024 and 64x2048 scans and real ones (KITTI, VLS-128)",
    )
    add_scenario(b)
    b.add_argument("--steps", type=int, default=200, help="world steps driven before the scans")
    b.add_argument(
        "--realdata",
        default=None,
        help="folder with kitti/velodyne/*.bin and lidar_scans/velodyne_vls128.pcd "
        "(default: ../shared/realdata beside the checkout; absent: synthetic scans of their size)",
    )
    add_repeats(b, 50)
    add_json_out(b)
    add_lidar_config(b)
    b.set_defaults(func=cmd_bench_lidar)

    b = bench.add_parser(
        "perception", help="detector ms per 640x360 frame (ONNX, PyTorch) and 960x540 with crop"
    )
    b.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    add_repeats(b, 30)
    add_json_out(b)
    b.set_defaults(func=cmd_bench_perception)

    b = bench.add_parser("fusion", help="fusion + tracking + grid ms per cycle, 30 objects")
    add_repeats(b, 100)
    add_rig(b, "default", ", the default scenario's: whose cameras see the objects")
    add_json_out(b)
    b.set_defaults(func=cmd_bench_fusion)

    b = bench.add_parser(
        "stack",
        help="p50/p95 ms per stage (detector, second look, LiDAR, fusion, reader, rules) and "
        "end to end on recorded frames, and the closed loop's real-time factor",
    )
    add_scenario(b)
    add_rig(
        b,
        "bench",
        ": 640x360 camera + 32-channel LiDAR, the targets' rig; 'scenario': the scenario's own",
    )
    b.add_argument("--steps", type=positive_int, default=400, help="frames recorded, then timed")
    b.add_argument(
        "--loop-steps",
        type=nonnegative_int,
        default=None,
        help="steps of each closed-loop drive (default --steps; 0: skip the drives)",
    )
    b.add_argument("--rows", default=None, help="also write the README table rows to this file")
    add_json_out(b)
    b.set_defaults(func=cmd_bench_stack)

    b = bench.add_parser(
        "reader",
        help="sign reader: ms per crop batched, OCR ms, and what it adds per step in the loop",
    )
    b.add_argument(
        "--scenario",
        default="speed_limits",
        help="scenario the stack drives (default: speed_limits, signs all along)",
    )
    b.add_argument(
        "--steps", type=int, default=800, help="world steps per drive, with and without reader"
    )
    b.add_argument("--batch", type=int, default=32, help="crops per encoder batch")
    add_repeats(b, 20)
    add_json_out(b)
    b.set_defaults(func=cmd_bench_reader)
