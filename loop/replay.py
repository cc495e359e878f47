"""Replay a drive's sensor log: perception, fusion and reasoning re-run offline on the
logged frames (the replay world, ``sim/replay/``), written to a run folder like a drive's.

With the same models the decisions are the drive's, frame for frame: the frames are the
logged bytes, the agent starts from the same map, route and scenario, and the world
gives the next logged frame whatever the control. A log that was cut short (a killed
drive, a truncated copy) is replayed up to its last whole frame, and the metrics say
where it broke.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from loop.drive import DriveOptions, DriveResult, drive
from loop.stop_signals import StopSignals
from roadmind.atomic import write_text_atomic
from roadmind.errors import UserError
from roadmind.rates import PHYSICS_HZ
from sim.replay.source import ReplaySource


@dataclass(frozen=True)
class ReplayOutcome:
    result: DriveResult
    frames: int  # whole frames in the span
    broke: str | None  # where the log broke, in words; None: read to its end


def replay_log(
    source: ReplaySource,
    out_dir: Path,
    perception: str = "stack",
    video: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    signals: StopSignals | None = None,
) -> ReplayOutcome:
    """Replay ``source`` into the run folder ``out_dir`` (metrics.json gains ``replay``:
    the log, the span, the frames and where the log broke)."""
    from sim.replay.world import index_log

    index = index_log(source)
    if index.frames == 0:
        why = f"; {index.broke.describe(source.path)}" if index.broke else ""
        raise UserError(f"{source.path}: no whole frame to replay in the span{why}")
    options = DriveOptions(
        perception=perception,
        duration_s=index.frames / PHYSICS_HZ,  # scenario_steps() gives index.frames back
        video=video,
        progress=progress,
        backend="replay",
        overwrite=overwrite,
        log=False,  # the log is the input; a replay writes no new one
        replay=source,
    )
    result = drive(index.header.scenario, out_dir, options, signals)
    broke: str | None = None if index.broke is None else index.broke.describe(source.path)
    result.metrics["replay"] = {
        "log": str(source.path),
        "logged_backend": index.header.backend,
        "logged_perception": index.header.perception,
        "from_s": index.first_s,
        "to_s": index.last_s,
        "frames": index.frames,
        "broke": broke,
    }
    write_text_atomic(out_dir / "metrics.json", json.dumps(result.metrics, indent=1) + "\n")
    return ReplayOutcome(result, index.frames, broke)
