"""The replay world: a drive's sensor log played back as the frames a world gives.

``reset`` opens the log and returns its first frame at or after ``from_s``; ``step``
returns the next one whatever the control (the logged car drove; replay re-runs
perception, fusion and reasoning on what it saw). ``drive_map`` is the one the drive
had, rebuilt from the log (its OpenDRIVE text, route, signs, lights), so neither the
map file nor a CARLA server is needed. ``realtime`` paces the frames at their logged
times; otherwise they come as fast as they are asked for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from roadmind.errors import UserError
from roadmind.messages import SensorFrame, VehicleControl
from sim.replay.log_reader import LogBreak, LogHeader, LogReader
from sim.replay.source import ReplaySource
from sim.rig import RigConfig
from sim.scenario import Scenario
from sim.world import DriveMap


@dataclass(frozen=True)
class LogIndex:
    """A first pass over a log: its header, the whole frames in the span, the break."""

    header: LogHeader
    frames: int
    first_s: float | None
    last_s: float | None
    broke: LogBreak | None


def index_log(source: ReplaySource) -> LogIndex:
    with LogReader(source.path) as reader:
        times = [t for t in reader.frame_times() if source.within(t)]
        return LogIndex(
            reader.header,
            len(times),
            times[0] if times else None,
            times[-1] if times else None,
            reader.broke,
        )


class LogEndedError(RuntimeError):
    """step() after the log's last frame in the span."""


class ReplayWorld:
    def __init__(self, source: ReplaySource) -> None:
        self.source = source
        self.reader: LogReader | None = None
        self._frames: Iterator[SensorFrame] | None = None
        self._map: DriveMap | None = None
        self._wall0 = 0.0
        self._t0 = 0.0

    @property
    def broke(self) -> LogBreak | None:
        return None if self.reader is None else self.reader.broke

    def __enter__(self) -> ReplayWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self, scenario: Scenario | None = None, seed: int | None = None) -> SensorFrame:
        """Open the log; ``scenario`` and ``seed`` are the log's (what is passed is not
        used: the drive happened already)."""
        self.close()
        self.reader = LogReader(self.source.path)
        header = self.reader.header
        self.scenario: Scenario = header.scenario
        self.rig: RigConfig = header.rig
        self._map = header.drive_map()
        self._frames = (f for f in self.reader.frames() if self.source.within(f.timestamp_s))
        first = next(self._frames, None)
        if first is None:
            span = f"from {self.source.from_s:g} s" + (
                f" to {self.source.to_s:g} s" if self.source.to_s is not None else ""
            )
            raise UserError(f"{self.source.path}: no whole frame {span}")
        self._wall0, self._t0 = time.perf_counter(), first.timestamp_s
        return first

    def step(self, control: VehicleControl) -> SensorFrame:
        if self._frames is None:
            raise RuntimeError("reset() first")
        frame = next(self._frames, None)
        if frame is None:
            raise LogEndedError(f"{self.source.path}: no frame after the last one replayed")
        if self.source.realtime:
            ahead = (frame.timestamp_s - self._t0) - (time.perf_counter() - self._wall0)
            if ahead > 0:
                time.sleep(ahead)
        return frame

    def drive_map(self) -> DriveMap:
        if self._map is None:
            raise RuntimeError("reset() first")
        return self._map

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
            self._frames = None
