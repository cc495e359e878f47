"""``roadmind eval ...``: score perception against the embedded world (JSON out)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

from cli.common import (
    DATA_DIR,
    add_json_out,
    add_lidar_config,
    add_rig,
    add_scenarios,
    lidar_config,
    load_rig_arg,
    output_folder,
    scenario_names,
    seed_int,
)
from cli.detect import add_detector_flags
from cli.output import emit_json
from roadmind.errors import UserError


def cmd_eval_lidar(args: argparse.Namespace) -> int:
    from loop.eval_runs import eval_lidar
    from sim.lighting import LightingConfig

    progress = (lambda line: print(line, file=sys.stderr)) if sys.stderr.isatty() else None
    names = scenario_names(args.scenarios)
    report = eval_lidar(
        names,
        args.frames,
        args.stride,
        lidar_config(args),
        progress=progress,
        use_map=not args.no_map,
        weather=LightingConfig(preset=args.weather) if args.weather else None,
    )
    report["config"] = args.config or "configs/perception/lidar.yaml"
    report["command"] = "roadmind " + " ".join(sys.argv[1:])
    return emit_json(report, args.out)


def cmd_eval_fusion(args: argparse.Namespace) -> int:
    from fusion.config import load_fusion_config
    from loop.eval_runs import eval_fusion

    rig = load_rig_arg(args.rig)
    fusion = load_fusion_config(Path(args.config) if args.config else None)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        result = eval_fusion(
            scenario_names(args.scenarios),
            args.frames,
            args.stride,
            rig,
            progress=lambda msg: print(msg, file=sys.stderr),
            fusion=fusion,
        )
    result["rig"] = args.rig
    result["config"] = args.config or "configs/perception/fusion.yaml"
    return emit_json(result, args.out)


def cmd_eval_perception(args: argparse.Namespace) -> int:
    """Camera mAP on the held-out split and LiDAR precision/recall by range band."""
    from evaluation.camera import eval_camera
    from loop.eval_runs import eval_lidar
    from perception.lidar.config import load_lidar_config

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        camera = eval_camera(Path(args.weights), Path(args.data), args.runtime)
    result: dict[str, object] = {"camera": camera}
    if not args.camera_only:
        result["lidar"] = eval_lidar(scenario_names(None), args.frames, 5, load_lidar_config())
    return emit_json(result, args.out)


def cmd_eval_camera(args: argparse.Namespace) -> int:
    """The detector's 2D boxes on a KITTI object folder against its ``label_2``."""
    from cli.detect import detect_image, make_detector, read_bgra
    from evaluation.kitti import ImageBoxTally
    from perception.kitti_labels import read_image_boxes
    from roadmind.errors import UserError
    from roadmind.messages import ObjectClass

    folder = Path(args.kitti)
    images = sorted((folder / "image_2").glob("*.png"))
    if not images:
        raise UserError(f"{folder / 'image_2'}: no images (*.png); a KITTI object folder?")
    missing = [p.stem for p in images if not (folder / "label_2" / f"{p.stem}.txt").is_file()]
    if missing:
        raise UserError(f"{folder / 'label_2'}: no labels for {', '.join(missing[:5])}")
    detector = make_detector(args)
    tally = ImageBoxTally()
    per_image = {}
    for path in images:
        line = detect_image(detector, path, read_bgra(path))
        dets = [
            (ObjectClass(b["class"]), np.array(b["xyxy_px"], np.float64), b["score"])
            for b in line["boxes"]
        ]
        labels = read_image_boxes(folder / "label_2" / f"{path.stem}.txt")
        per_image[path.stem] = tally.add(labels, dets)
    result = {
        **tally.report(),
        "per_image": per_image,
        "weights": args.weights,
        "conf": args.conf,
        "command": "roadmind " + " ".join(sys.argv[1:]),
    }
    return emit_json(result, args.out)


def cmd_eval_reader(args: argparse.Namespace) -> int:
    from reasoning.reader_model import load_encoder
    from reasoning.sign_reader import SignReader
    from training.reader_eval import evaluate_reader

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        reader = SignReader(load_encoder(args.model))
        result = evaluate_reader(reader, args.frames, args.seed, progress=not args.quiet)
    return emit_json(result, args.out)


def cmd_eval_suite(args: argparse.Namespace) -> int:
    """Drive a suite (or rescore one) and print its Markdown table; JSON beside it."""
    import time

    from loop.suite import SuiteInterruptedError, load_suite, rescore, run_suite, suite_tasks

    if args.rescore is not None:
        if args.suite is not None:
            raise UserError("--rescore DIR scores recorded runs: give no suite file with it")
        out = Path(args.rescore)
        table = rescore(out)
        print((out / "suite_rescored.md").read_text(), end="")
        print(f"-> {out}/suite_rescored.json", file=sys.stderr)
        return 0
    if args.suite is None:
        raise UserError("give a suite file (configs/suites/NAME.yaml) or --rescore DIR")
    if args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be at least 1")
    suite, source = load_suite(args.suite)
    if args.seeds:
        suite = suite.model_copy(
            update={
                "seeds": args.seeds,
                "scenarios": [
                    s if isinstance(s, str) else s.model_copy(update={"seeds": None})
                    for s in suite.scenarios
                ],
            }
        )
    if args.scenarios:
        suite = suite.model_copy(update={"scenarios": _pick(suite.scenarios, args.scenarios)})
    default = Path("runs") / f"suite_{time.strftime('%Y%m%d-%H%M%S')}_{suite.name}"
    out = output_folder(Path(args.out) if args.out else default)
    tasks = suite_tasks(suite, source, out, args.perception, args.overwrite)
    from loop.suite import check_out_dir

    check_out_dir(out, tasks, args.overwrite)
    try:
        table = run_suite(tasks, suite.name, out, args.workers, args.ray, not args.quiet)
    except SuiteInterruptedError:
        print((out / "suite.md").read_text(), end="")
        print(f"roadmind: suite interrupted; the table of what ran -> {out}/", file=sys.stderr)
        return 130
    print((out / "suite.md").read_text(), end="")
    failed = sum(r["error"] is not None for r in table["runs"])
    print(
        f"{len(tasks)} runs, {failed} failed, {table['wall_s']} s -> {out}/suite.json",
        file=sys.stderr,
    )
    return 0


def _pick(entries: list, names: list[str]) -> list:
    def name_of(entry: object) -> str:
        return Path(entry if isinstance(entry, str) else entry.scenario).stem  # type: ignore[attr-defined]

    picked = [e for e in entries if name_of(e) in names]
    missing = set(names) - {name_of(e) for e in picked}
    if missing:
        raise UserError(f"--scenarios: not in the suite: {', '.join(sorted(missing))}")
    return picked


def register(sub: argparse._SubParsersAction) -> None:
    from perception.camera_detector import BACKENDS, DEFAULT_WEIGHTS
    from sim.lighting import PRESETS  # the presets a scenario may name

    p = sub.add_parser("eval", help="score perception against the embedded world (JSON out)")
    evals = p.add_subparsers(dest="target", required=True)

    e = evals.add_parser("lidar", help="LiDAR objects vs ground truth: precision/recall by range")
    add_scenarios(e)
    e.add_argument("--frames", type=int, default=40, help="scans scored per scenario")
    e.add_argument("--stride", type=int, default=5, help="score one scan in this many (10 Hz)")
    e.add_argument(
        "--no-map",
        action="store_true",
        help="the pipeline alone, without the map's road area (as on a recording with no map)",
    )
    e.add_argument(
        "--weather",
        choices=tuple(PRESETS),
        help="every scenario in this lighting and weather preset instead of its own",
    )
    add_json_out(e)
    add_lidar_config(e)
    e.set_defaults(func=cmd_eval_lidar)

    e = evals.add_parser(
        "fusion",
        help="nuScenes-style AP (0.5/1/2/4 m), velocity error and ID switches of the fused scene",
    )
    add_scenarios(e)
    e.add_argument(
        "--frames", type=int, default=None, help="at most this many scored frames per scenario"
    )
    e.add_argument("--stride", type=int, default=2, help="score one scan in this many")
    add_rig(e, "surround", ", the rig the README's scores were measured with")
    e.add_argument("--config", default=None, help="fusion settings (default: the shipped)")
    add_json_out(e)
    e.set_defaults(func=cmd_eval_fusion)

    e = evals.add_parser(
        "perception", help="camera mAP per class (held-out maps) and LiDAR precision/recall"
    )
    e.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    e.add_argument(
        "--runtime",
        "--backend",  # its old name; --backend elsewhere picks the world
        dest="runtime",
        choices=list(BACKENDS),
        default="openvino",
        help="detector runtime",
    )
    e.add_argument("--data", default=str(DATA_DIR), help="dataset made by `roadmind datagen`")
    e.add_argument(
        "--frames",
        "--lidar-frames",
        dest="frames",
        type=int,
        default=40,
        help="LiDAR scans scored per scenario",
    )
    e.add_argument("--camera-only", action="store_true")
    add_json_out(e)
    e.set_defaults(func=cmd_eval_perception)

    e = evals.add_parser(
        "camera",
        help="detector boxes on a KITTI object folder vs label_2: found/missed/false per class",
    )
    e.add_argument("--kitti", required=True, help="KITTI object folder (image_2/, label_2/)")
    add_detector_flags(e)
    add_json_out(e)
    e.set_defaults(func=cmd_eval_camera)

    e = evals.add_parser(
        "reader",
        help="sign and light reader on world crops it never trained on: accuracy, "
        "robustness, zero-shot",
    )
    e.add_argument("--frames", type=int, default=300, help="embedded-world frames to cut")
    e.add_argument("--seed", type=int, default=2026, help="layouts, lighting and corruptions")
    e.add_argument("--model", default=None, help="a trained folder or a CLIP checkpoint")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json_out(e)
    e.set_defaults(func=cmd_eval_reader)

    e = evals.add_parser(
        "suite",
        help="drive every scenario and seed of a suite in parallel, stack beside oracle: "
        "one table (Markdown on stdout, suite.json and suite.md in --out)",
    )
    e.add_argument(
        "suite", nargs="?", default=None, help="suite file: configs/suites/NAME.yaml or a name"
    )
    e.add_argument(
        "--workers", type=int, default=2, help="runs at a time, one process each (default 2)"
    )
    e.add_argument(
        "--out", default=None, help="folder for the runs and the table (default: runs/suite_...)"
    )
    e.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="run on a Ray cluster (ray.init(address)); 'local' starts one here "
        "(needs the cluster extra: pip install -e '.[cluster]')",
    )
    e.add_argument(
        "--rescore",
        default=None,
        metavar="DIR",
        help="score a suite folder's recorded runs again, without driving",
    )
    e.add_argument(
        "--perception",
        nargs="+",
        choices=["stack", "oracle"],
        default=None,
        help="only these (default: the suite's)",
    )
    e.add_argument("--seeds", nargs="+", type=seed_int, default=None, help="replace the seeds")
    e.add_argument("--scenarios", nargs="+", default=None, help="only these of the suite")
    e.add_argument(
        "--overwrite", action="store_true", help="replace an earlier suite's runs in --out"
    )
    e.add_argument("--quiet", action="store_true", help="no progress display")
    e.set_defaults(func=cmd_eval_suite)
