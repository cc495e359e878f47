"""``roadmind scene``: canned rule scenes (YAML) run and checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roadmind.units import mps_to_kmh


def cmd_scene(args: argparse.Namespace) -> int:
    """Every file is run; one that cannot be loaded is reported and the rest go on."""
    from reasoning.canned import check_scene, load_scene, run_scene
    from roadmind.errors import UserError

    failed, unloadable = 0, 0
    for name in args.files:
        path = Path(name)
        try:
            scene = load_scene(path)
        except UserError as exc:
            unloadable += 1
            print(f"roadmind: error: {exc}", file=sys.stderr)
            continue
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
    bad = f", {unloadable} not loaded" if unloadable else ""
    print(f"{len(args.files) - failed - unloadable}/{len(args.files)} scenes ok{bad}")
    if unloadable:
        return 2
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scene", help="run canned rule scenes (YAML) and check their expectations")
    p.add_argument("files", nargs="+", help="scene files, e.g. tests/reasoning/scenes/*.yaml")
    p.set_defaults(func=cmd_scene)
