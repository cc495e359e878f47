"""``roadmind replay``: re-run perception, fusion and reasoning on a drive's sensor log
(or a KITTI-format folder) offline, into a run folder."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from cli.common import SCENARIO_HELP, add_rig, finite_float, output_folder, positive_int
from roadmind.errors import UserError


def _log_path(path: Path) -> Path:
    """A log file, or a run folder holding log.mcap."""
    if path.is_dir():
        if (path / "log.mcap").is_file():
            return path / "log.mcap"
        raise UserError(
            f"{path}: a folder without log.mcap (a drive's run folder) nor KITTI's velodyne/ "
            "and image_2/"
        )
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    return path


def cmd_replay(args: argparse.Namespace) -> int:
    from loop.run_folder import fresh_run_dir
    from loop.stop_signals import StopSignals

    source_path = Path(args.log)
    if args.to_s is not None and args.to_s < args.from_s:
        raise UserError(f"--to {args.to_s:g} is before --from {args.from_s:g}")
    if source_path.is_dir() and (source_path / "velodyne").is_dir():
        return _replay_kitti(args, source_path)
    from loop.replay import replay_log
    from sim.replay.source import ReplaySource

    source = ReplaySource(_log_path(source_path), args.from_s, args.to_s, args.realtime)
    default = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}_replay"
    out = output_folder(Path(args.out) if args.out else fresh_run_dir(default))
    with StopSignals(linger=True) as stop:
        try:
            outcome = replay_log(
                source,
                out,
                perception=args.perception,
                video=not args.no_video,
                overwrite=args.overwrite,
                signals=stop,
            )
        except KeyboardInterrupt:
            print(
                f"roadmind: stopped by {stop.name or 'SIGINT'} before the replay", file=sys.stderr
            )
            return 128 + (stop.signum or signal.SIGINT)
    result = outcome.result
    if outcome.broke:
        print(f"roadmind: warning: {outcome.broke}", file=sys.stderr)
    m = result.metrics
    ended = " (interrupted)" if result.interrupted else ""
    print(
        f"replayed {result.steps} of {outcome.frames} frames{ended} of {source.path}: "
        f"driving score {m['driving_score']} -> {out}/"
    )
    return 128 + (result.signal or signal.SIGINT) if result.interrupted else 0


def _replay_kitti(args: argparse.Namespace, folder: Path) -> int:
    from loop.kitti import replay_kitti
    from loop.run_folder import fresh_run_dir

    default = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}_kitti"
    out = output_folder(Path(args.out) if args.out else fresh_run_dir(default))
    report = replay_kitti(folder, out)
    if "vehicle" not in report:
        print(f"{report['frames']} KITTI frames (no label_2/: not scored) -> {out}/")
        return 0
    parts = []
    for cls in ("vehicle", "pedestrian"):
        bands = report[cls]
        assert isinstance(bands, dict)
        tp = sum(b["tp"] for b in bands.values())
        gt = tp + sum(b["fn"] for b in bands.values())
        fp = sum(b["fp"] for b in bands.values())
        parts.append(f"{cls} {tp}/{gt} found, {fp} false")
    print(f"{report['frames']} KITTI frames: {', '.join(parts)} (BEV <= 2 m) -> {out}/")
    return 0


def cmd_export_kitti(args: argparse.Namespace) -> int:
    from cli.common import load_rig_arg
    from loop.kitti import export_kitti
    from sim.scenario import load_scenario

    out = output_folder(Path(args.out))
    scenario = load_scenario(args.scenario)
    n = export_kitti(scenario, out, args.frames, args.stride, load_rig_arg(args.rig))
    print(f"{n} KITTI frames of {scenario.name} -> {out}/ (velodyne, image_2, calib, label_2)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="re-run perception, fusion and reasoning on a drive's log.mcap (or a KITTI folder)",
    )
    p.add_argument(
        "log",
        help="a drive's log.mcap, its run folder, or a KITTI-format folder (velodyne/, "
        "image_2/, calib/, optional label_2/)",
    )
    p.add_argument(
        "--from",
        dest="from_s",
        type=finite_float,
        default=0.0,
        help="first simulated time to replay [s] (default 0)",
    )
    p.add_argument(
        "--to",
        dest="to_s",
        type=finite_float,
        default=None,
        help="last simulated time to replay [s] (default: the log's end)",
    )
    p.add_argument("--out", default=None, help="run folder (default: runs/<time>_replay)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace the outputs of an earlier run in --out"
    )
    p.add_argument(
        "--realtime",
        action="store_true",
        help="pace frames at their logged times (default: as fast as it runs)",
    )
    p.add_argument(
        "--perception",
        choices=["stack", "oracle"],
        default="stack",
        help="stack (default): the detector, LiDAR pipeline and fusion on the logged "
        "sensors; oracle: the logged ground truth",
    )
    p.add_argument("--no-video", action="store_true", help="skip video.mp4 (faster)")
    p.set_defaults(func=cmd_replay)

    export = sub.add_parser("export", help="write embedded-world frames in other layouts")
    formats = export.add_subparsers(dest="format", required=True)
    k = formats.add_parser(
        "kitti", help="embedded-world frames as a KITTI object folder, with labels"
    )
    k.add_argument("--scenario", default="default", help=SCENARIO_HELP)
    add_rig(k)
    k.add_argument("--frames", type=positive_int, default=20, help="frames to write (default 20)")
    k.add_argument(
        "--stride", type=positive_int, default=5, help="one LiDAR frame in N (default 5)"
    )
    k.add_argument("--out", required=True, help="the KITTI folder (frames are numbered on)")
    k.set_defaults(func=cmd_export_kitti)
