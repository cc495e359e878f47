"""``roadmind drive``: a scenario in the closed loop, scored, written to a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.common import (
    add_rig,
    add_scenario,
    load_rig_arg,
    output_folder,
    port_int,
    positive_float,
    seed_int,
)


def cmd_drive(args: argparse.Namespace) -> int:
    from loop.drive import DriveOptions, default_run_dir, drive
    from sim.carla.server import CarlaServer
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    out = output_folder(Path(args.out) if args.out else default_run_dir(scenario))
    options = DriveOptions(
        perception=args.perception,
        duration_s=args.duration_s,
        video=not args.no_video,
        rig=load_rig_arg(args.rig),
        backend=args.backend,
        carla=CarlaServer(host=args.host, port=args.port, town=args.town, tm_port=args.tm_port),
    )
    result = drive(scenario, out, options)
    m: dict[str, Any] = result.metrics  # metrics.json's content, keys as documented
    for note in m["map_notes"]:
        if "error" in note:
            print(f"roadmind: warning: {note['error']}", file=sys.stderr)
    for problem in m["map_problems"]:
        print(f"roadmind: warning: map {scenario.map}: {problem}", file=sys.stderr)
    ended = " (interrupted: scored up to Ctrl-C)" if result.interrupted else ""
    print(
        f"{scenario.name}{ended}: driving score {m['driving_score']} "
        f"(route {m['route_completion_pct']}%, penalty {m['infraction_penalty']}), "
        f"infractions {sum(m['infraction_counts'].values())}, "
        f"speeding {m['speeding']['time_s']} s -> {out}/"
    )
    return 130 if result.interrupted else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drive", help="drive a scenario in the closed loop and score it (writes a run folder)"
    )
    add_scenario(p)
    add_rig(p)
    p.add_argument(
        "--perception",
        choices=["oracle", "stack"],  # loop.rollout.PERCEPTION; listed so --help stays light
        default="oracle",
        help="where the BEV scene comes from: oracle = the world's ground truth; "
        "stack = camera detector + LiDAR pipeline + fusion",
    )
    p.add_argument("--out", default=None, help="run folder (default: runs/<time>_<scenario>)")
    p.add_argument(
        "--duration-s", type=positive_float, default=None, help="override the scenario length"
    )
    p.add_argument(
        "--seed", type=seed_int, default=None, help="override the scenario's seed (0 to 2^32-1)"
    )
    p.add_argument("--no-video", action="store_true", help="skip video.mp4 (faster)")
    p.add_argument(
        "--backend",
        choices=["embedded", "carla"],  # loop.worlds.WORLDS; listed so --help stays light
        default="embedded",
        help="the world: embedded simulator (no server) or a CARLA 0.9.16 server",
    )
    carla = p.add_argument_group("CARLA server (--backend carla)")
    carla.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    carla.add_argument("--port", type=port_int, default=2000, help="server RPC port (default 2000)")
    carla.add_argument(
        "--town",
        default=None,
        help="town to load (default: the scenario's map when it names one, like Town01; "
        "otherwise its .xodr becomes a standalone OpenDRIVE world)",
    )
    carla.add_argument("--tm-port", type=port_int, default=8000, help="Traffic Manager port")
    p.set_defaults(func=cmd_drive)
