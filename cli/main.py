"""The ``roadmind`` command line: each command group registers its own subcommands
(``cli/<group>.py``); commands parse options and call the library."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cli import bench, detect, drive, lidar, read, render, replay, scene, train
from cli import eval as eval_cmds
from roadmind.errors import UserError
from roadmind.resources import MAPS_DIR_ENV

MAPS_DIR_HELP = (
    f"a folder of .xodr maps whose bare names (map: Town04) resolve, searched before "
    f"${MAPS_DIR_ENV} (which may list several, separated by {os.pathsep!r})"
)

# the order --help lists
GROUPS = (render, drive, replay, scene, read, detect, train, bench, lidar, eval_cmds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roadmind",
        description=(
            "Drive scenarios in the embedded simulator or a CARLA server and see what the car sees."
        ),
    )
    parser.add_argument("--maps-dir", default=None, help=MAPS_DIR_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    _add_maps_dir(sub)  # also after the command: roadmind bench sim --maps-dir DIR
    return parser


def _add_maps_dir(sub: argparse._SubParsersAction) -> None:
    for command in sub.choices.values():
        command.add_argument("--maps-dir", default=argparse.SUPPRESS, help=MAPS_DIR_HELP)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_maps_dir(action)


def use_maps_dir(folder: str | None) -> None:
    """``--maps-dir``: first among the maps folders, for this process and its children."""
    if folder:
        os.environ[MAPS_DIR_ENV] = os.pathsep.join(
            p for p in (folder, os.environ.get(MAPS_DIR_ENV, "")) if p
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_maps_dir(args.maps_dir)
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
