"""The ``roadmind`` command line: each command group registers its own subcommands
(``cli/<group>.py``); commands parse options and call the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import bench, drive, lidar, read, render, scene, train
from cli import eval as eval_cmds
from roadmind.errors import UserError

GROUPS = (render, drive, scene, read, train, bench, lidar, eval_cmds)  # the order --help lists


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roadmind",
        description=(
            "Drive scenarios in the embedded simulator or a CARLA server and see what the car sees."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"roadmind: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the system refused: unreadable, unwritable, full
        if exc.filename is None:
            raise
        print(f"roadmind: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
