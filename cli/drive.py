"""``roadmind drive``: a scenario in the closed loop, scored, written to a run folder."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import (
    SCENARIO_HELP,
    add_rig,
    add_routes,
    load_rig_arg,
    output_folder,
    port_int,
    positive_float,
    scenario_or_route,
    seed_int,
)

if TYPE_CHECKING:
    from loop.drive import DriveResult
    from sim.scenario import Scenario


def cmd_drive(args: argparse.Namespace) -> int:
    from loop.drive import DriveOptions, default_run_dir, drive
    from loop.run_folder import fresh_run_dir
    from loop.stop_signals import StopSignals
    from sim.carla.server import CarlaServer

    scenario, route = scenario_or_route(args)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    out = output_folder(Path(args.out) if args.out else fresh_run_dir(default_run_dir(scenario)))
    options = DriveOptions(
        perception=args.perception,
        duration_s=args.duration_s,
        video=not args.no_video,
        rig=load_rig_arg(args.rig),
        backend=args.backend,
        carla=CarlaServer(host=args.host, port=args.port, town=args.town, tm_port=args.tm_port),
        overwrite=args.overwrite,
        route_file=route,
        log=not args.no_log,
    )
    # Ctrl-C, SIGTERM and SIGHUP stop alike; after the loop none cuts the run folder, the
    # summary line or the exit short (loop/stop_signals.py)
    with StopSignals(linger=True) as stop:
        try:
            result = drive(scenario, out, options, stop)
        except KeyboardInterrupt:  # before the loop began: nothing to keep
            print(f"roadmind: stopped by {stop.name or 'SIGINT'} before the drive", file=sys.stderr)
            return 128 + (stop.signum or signal.SIGINT)
        return _summary_line(result, scenario, out)


def _summary_line(result: DriveResult, scenario: Scenario, out: Path) -> int:
    m: dict[str, Any] = result.metrics  # metrics.json's content, keys as documented
    for note in m["map_notes"]:
        if "error" in note:
            print(f"roadmind: warning: {note['error']}", file=sys.stderr)
    for problem in m["map_problems"]:
        print(f"roadmind: warning: map {scenario.map}: {problem}", file=sys.stderr)
    stopped_by = "Ctrl-C" if result.signal in (None, signal.SIGINT) else m["interrupted_by"]
    ended = f" (interrupted: scored up to {stopped_by})" if result.interrupted else ""
    print(
        f"{scenario.name}{ended}: driving score {m['driving_score']} "
        f"(route {m['route_completion_pct']}%, penalty {m['infraction_penalty']}), "
        f"infractions {sum(m['infraction_counts'].values())}, "
        f"speeding {m['speeding']['time_s']} s -> {out}/"
    )
    if not result.interrupted:
        return 0
    return 128 + (result.signal or signal.SIGINT)  # the shell's code for a death by signal


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drive", help="drive a scenario in the closed loop and score it (writes a run folder)"
    )
    p.add_argument(
        "--scenario",
        default=None,
        help=SCENARIO_HELP + " (default: default; with --routes: the ego, rig and "
        "settings the route is driven with, its own places dropped)",
    )
    add_routes(p)
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
        "--overwrite",
        action="store_true",
        help="replace the outputs of an earlier run in --out (without it such a folder is "
        "refused; other files in it are kept)",
    )
    p.add_argument(
        "--duration-s", type=positive_float, default=None, help="override the scenario length"
    )
    p.add_argument(
        "--seed", type=seed_int, default=None, help="override the scenario's seed (0 to 2^32-1)"
    )
    p.add_argument("--no-video", action="store_true", help="skip video.mp4 (faster)")
    p.add_argument(
        "--no-log",
        action="store_true",
        help="skip log.mcap (the sensor log that Foxglove opens and `roadmind replay` reads)",
    )
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
