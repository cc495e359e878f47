"""``roadmind render``: one moment of a scenario as pictures and its ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import add_rig, add_scenario, load_rig_arg, nonnegative_int, output_folder


def cmd_render(args: argparse.Namespace) -> int:
    from loop.rollout import frames_at
    from loop.worlds import WorldOptions
    from report.snapshot import write_snapshot
    from sim.scenario import load_scenario

    out = output_folder(Path(args.out))
    scenario = load_scenario(args.scenario)
    rig = load_rig_arg(args.rig)
    camera, lidar = frames_at(scenario, args.steps, WorldOptions(rig))
    written = write_snapshot(camera, lidar, out)
    last = lidar or camera
    print(
        f"scenario {scenario.name!r} at t={last.timestamp_s:.2f} s -> {out}/: " + ", ".join(written)
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="write a camera frame, ground-truth boxes and a LiDAR BEV")
    add_scenario(p)
    add_rig(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--steps", type=nonnegative_int, default=0, help="world steps (20 Hz) to drive first"
    )
    p.set_defaults(func=cmd_render)
