"""Options several commands share, so that a flag means one thing everywhere.

--scenario  a name in configs/scenarios or a path to a YAML file (default: default)
--rig       a sensor rig, a name in configs/rigs or a path; without it a command uses
            the scenario's own rig unless its help names another it measures with
--out       a path: what it names (file or folder) is said per command
--steps     world steps at the 20 Hz physics rate
--frames    frames (scans, images) a command produces or scores
--repeats   timed repetitions of a benchmark
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # --help stays light: heavy modules load inside commands
    from perception.lidar.config import LidarPipelineConfig
    from sim.leaderboard_routes import LeaderboardRoute
    from sim.rig import RigConfig
    from sim.scenario import Scenario

SCENARIO_HELP = "scenario name in configs/scenarios or a path to a YAML file"
RIG_HELP = "sensor rig: a name in configs/rigs or a path"
JSON_OUT_HELP = "also write the JSON to this file"
DATA_DIR = Path("datasets") / "detector"  # generated data goes under the working directory


def finite_float(text: str) -> float:
    """argparse type: a finite number (no NaN, no infinity)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number, 1 or more."""
    value = nonnegative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def seed_int(text: str) -> int:
    """argparse type: a seed, 0 to 2**32 - 1 (CARLA's seeds are unsigned 32-bit)."""
    value = nonnegative_int(text)
    if value > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at most {2**32 - 1}")
    return value


def port_int(text: str) -> int:
    """argparse type: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 1-65535")
    return value


def output_folder(path: Path, flag: str = "--out") -> Path:
    """``path`` when it can be a folder to write in: not a file, and its nearest existing
    folder writable. UserError otherwise, before any work is done."""
    from roadmind.errors import UserError

    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: is a file, not a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{flag} {path}: {existing} is a file, so no folder can be made there")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot write in {existing} (permission denied)")
    return path


def add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default="default", help=SCENARIO_HELP + " (default: default)")


def add_streetscape(p: argparse.ArgumentParser, what: str) -> None:
    """``--streetscape PROFILE``: street clutter in place of the scenario's own."""
    p.add_argument(
        "--streetscape",
        choices=("off", "suburban", "urban"),
        default=None,
        help=f"{what} with this streetscape profile (buildings, trees, walls, lamps, parked "
        "cars, terrain) in place of the scenario's own (default: the scenario's, mostly off)",
    )


def add_routes(p: argparse.ArgumentParser, what: str = "drive") -> None:
    """``--routes FILE.xml --route-id ID``: a Leaderboard route instead of a scenario."""
    p.add_argument(
        "--routes",
        default=None,
        help="a CARLA Leaderboard route file (1.0 or 2.0 XML); the town resolves like "
        "a scenario's map (--maps-dir)",
    )
    p.add_argument("--route-id", default=None, help=f"the <route id> of --routes to {what}")


def scenario_or_route(args: argparse.Namespace) -> tuple[Scenario, LeaderboardRoute | None]:
    """The scenario ``--scenario`` names, or, with ``--routes``, the one that drives the
    route (``--scenario`` then gives its ego, rig and settings)."""
    from roadmind.errors import UserError
    from sim.scenario import load_scenario

    if args.routes is None:
        if args.route_id is not None:
            raise UserError("--route-id goes with --routes FILE.xml")
        return load_scenario(args.scenario or "default"), None
    from sim.leaderboard_routes import read_route, route_scenario

    if args.route_id is None:
        raise UserError("--routes needs --route-id (the <route id> to drive)")
    route = read_route(Path(args.routes), args.route_id)
    return route_scenario(route, load_scenario(args.scenario) if args.scenario else None), route


def add_scenarios(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenarios", nargs="*", default=None, help="scenario names (default: every project one)"
    )


def add_rig(p: argparse.ArgumentParser, default: str | None = None, why: str = "") -> None:
    """``--rig``; ``default`` None means the scenario's own rig."""
    if default is None:
        p.add_argument("--rig", default=None, help=RIG_HELP + " (default: the scenario's)")
    else:
        p.add_argument("--rig", default=default, help=f"{RIG_HELP} (default: {default}{why})")


def add_json_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=None, help=JSON_OUT_HELP)


def add_repeats(p: argparse.ArgumentParser, default: int) -> None:
    p.add_argument(
        "--repeats", "--reps", dest="repeats", type=int, default=default, help="timed repetitions"
    )


def load_rig_arg(name: str | None) -> RigConfig | None:
    """The rig ``--rig`` names; None (the scenario's own) when not given."""
    from sim.rig import load_rig, resolve_rig_path

    return load_rig(resolve_rig_path(name)) if name else None


def scenario_names(given: list[str] | None) -> list[str]:
    """``--scenarios`` as given, or every scenario the project ships."""
    from sim.scenario import SCENARIOS_DIR

    return given or sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))


def add_lidar_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="default: configs/perception/lidar.yaml")
    p.add_argument("--method", choices=["grid", "dbscan"], default=None, help="clustering")


def lidar_config(args: argparse.Namespace) -> LidarPipelineConfig:
    from pathlib import Path

    from perception.lidar.config import load_lidar_config

    config = load_lidar_config(Path(args.config) if args.config else None)
    if args.method:
        cluster = config.cluster.model_copy(update={"method": args.method})
        config = config.model_copy(update={"cluster": cluster})
    return config
