"""``roadmind datagen`` and ``roadmind train``: the camera detector's data and weights."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli.common import DATA_DIR
from roadmind.resources import configs_dir, models_dir

RECIPE = configs_dir() / "training" / "detector.yaml"
MODEL_DIR = models_dir() / "detector"
READER_RECIPE = configs_dir() / "training" / "reader.yaml"
READER_DIR = models_dir() / "reader"


def cmd_datagen(args: argparse.Namespace) -> int:
    from training.datagen import generate
    from training.dataset_layout import label_stats

    counts = generate(
        Path(args.out), args.frames, args.seed, not args.quiet, streetscape=args.streetscape
    )
    stats = label_stats(Path(args.out))
    if not any(stats["val"].values()):
        print(
            "roadmind: warning: no validation labels (one group of 8 frames in 5 is "
            "validation: give --frames 40 or more to train on this dataset)",
            file=sys.stderr,
        )
    print(json.dumps({"written": counts, "labels": stats}))
    return 0


def cmd_train_detector(args: argparse.Namespace) -> int:
    from perception.camera_detector import export_onnx
    from training.train_detector import WEIGHTS_NAME, train_detector

    out = Path(args.out)
    summary = train_detector(
        Path(args.recipe), Path(args.data), out, args.device, make_data=not args.no_datagen
    )
    onnx = export_onnx(out / WEIGHTS_NAME)
    print(json.dumps({**summary, "onnx": str(onnx)}, indent=1))
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from training.train_reader import train_reader

    summary = train_reader(Path(args.recipe), Path(args.out), progress=not args.quiet)
    print(json.dumps(summary, indent=1))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datagen", help="write a YOLO dataset from the embedded world (resumable)")
    p.add_argument("--out", default=str(DATA_DIR), help=f"dataset folder (default {DATA_DIR})")
    p.add_argument("--frames", type=int, required=True, help="frames in all (train + val)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--streetscape",
        choices=("off", "suburban", "urban", "mixed"),
        default="off",
        help="street clutter around the frames (buildings, trees, walls, lamps, parked cars, "
        "terrain, some night and fog); mixed: each group of 8 frames bare, suburban or urban "
        "(default: off)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_datagen)

    p = sub.add_parser("train", help="train a model from a committed recipe")
    train = p.add_subparsers(dest="target", required=True)
    t = train.add_parser("detector", help="YOLO11n camera detector; exports ONNX")
    t.add_argument("--recipe", default=str(RECIPE))
    t.add_argument("--data", default=str(DATA_DIR), help="dataset folder (generated if missing)")
    t.add_argument("--out", default=str(MODEL_DIR), help="weights, recipe copy, training.json")
    t.add_argument("--device", default="cpu", help="cpu, or a CUDA device such as 0")
    t.add_argument(
        "--no-datagen",
        action="store_true",
        help="train on --data as it stands (e.g. a copied dataset on a GPU machine)",
    )
    t.set_defaults(func=cmd_train_detector)

    t = train.add_parser(
        "reader", help="the sign and light reader's image tower (contrastive, synthetic crops)"
    )
    t.add_argument("--recipe", default=str(READER_RECIPE))
    t.add_argument(
        "--out",
        default=str(READER_DIR),
        help="reader.json, reader.safetensors, recipe copy, training.json",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train_reader)
