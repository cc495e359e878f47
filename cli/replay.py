"""``roadmind replay``: re-run perception, fusion and reasoning on a drive's sensor log
(or a KITTI-format folder) offline, into a run folder."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from cli.common import finite_float, output_folder
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
    raise UserError("KITTI replay is not implemented yet")


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
