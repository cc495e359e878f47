"""Read a sensor log back, frame by frame, up to where it ends or breaks.

The file is read as a stream of MCAP records (``mcap.stream_reader.StreamReader``, chunk
CRCs checked), never through its summary: a drive that was killed leaves no summary,
and a truncated or corrupt file gives every frame before the damage. Where it broke
(the byte, the last whole frame) is kept in ``LogReader.broke`` and said by replay.
A frame's sensors are kept until its ``/roadmind/frame`` record closes it; a frame
whose sensor message is missing ends the log there. A channel that a frame needs but
the log never declared (a filtered log) is a ``UserError`` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from foxglove_schemas_protobuf.PointCloud_pb2 import PointCloud
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from mcap.exceptions import EndOfFile
from mcap.records import Channel, Message
from mcap.stream_reader import StreamReader

from roadmind.errors import UserError
from roadmind.frames import Pose
from roadmind.messages import CameraImage, EgoState, GroundTruth, LidarScan, SensorFrame
from roadmind.serialize import from_dict
from sim.replay import log_format as fmt
from sim.rig import RigConfig
from sim.scenario import Scenario
from sim.world import DriveMap


@dataclass(frozen=True)
class LogHeader:
    """``/roadmind/run``: what the log was driven with."""

    scenario: Scenario
    rig: RigConfig
    backend: str
    perception: str
    drive_map_data: dict[str, Any]

    def drive_map(self) -> DriveMap:
        return fmt.drive_map_from_dict(self.drive_map_data)


@dataclass(frozen=True)
class LogBreak:
    """Where a log stops being readable: byte offset, file size, why, and the time of the
    last whole frame before it (None: no frame)."""

    offset: int
    size: int
    reason: str
    last_frame_s: float | None

    def describe(self, path: Path) -> str:
        after = (
            f"replayed up to its last whole frame at t={self.last_frame_s:.2f} s"
            if self.last_frame_s is not None
            else "no whole frame before it"
        )
        return f"{path}: log breaks at byte {self.offset} of {self.size} ({self.reason}); {after}"


class LogReader:
    """Iterate ``frames()`` (once per reader); ``header`` is read on opening."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such log file")
        self.size = self.path.stat().st_size
        self.broke: LogBreak | None = None
        self._file: BinaryIO = open(self.path, "rb")  # noqa: SIM115  (closed by close())
        self._topics: dict[int, str] = {}
        self._records = self._messages()
        self._last_frame_s: float | None = None
        self.header = self._read_header()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _messages(self) -> Iterator[tuple[str, Message]]:
        reader = StreamReader(self._file, validate_crcs=True)
        try:
            for record in reader.records:
                if isinstance(record, Channel):
                    self._topics[record.id] = record.topic
                elif isinstance(record, Message):
                    yield self._topics.get(record.channel_id, ""), record
        except Exception as exc:
            offset = min(self._file.tell(), self.size)
            if offset >= self.size and isinstance(exc, EndOfFile | EOFError):
                reason = "the file ends before its summary: a drive that was killed?"
            else:
                reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            self.broke = LogBreak(offset, self.size, reason, self._last_frame_s)

    def _read_header(self) -> LogHeader:
        for topic, message in self._records:
            if topic != fmt.RUN_TOPIC:
                break
            data = json.loads(message.data)
            if data.get("format") != fmt.FORMAT:
                raise UserError(f"{self.path}: not a roadmind sensor log ({fmt.RUN_TOPIC} format)")
            if data.get("version") != fmt.VERSION:
                raise UserError(
                    f"{self.path}: log format version {data.get('version')}, this roadmind "
                    f"reads version {fmt.VERSION}"
                )
            rig = RigConfig.model_validate(data["rig"])
            scenario = Scenario.model_validate({**data["scenario"], "rig": data["rig"]})
            return LogHeader(
                scenario, rig, str(data["backend"]), str(data["perception"]), data["drive_map"]
            )
        if self.broke is not None:
            raise UserError(self.broke.describe(self.path) + f": no {fmt.RUN_TOPIC} record")
        raise UserError(
            f"{self.path}: no channel {fmt.RUN_TOPIC} first (the run's header), which replay "
            "needs; is this a roadmind drive's log.mcap?"
        )

    def frames(self) -> Iterator[SensorFrame]:
        """The whole frames in order; stops at the end or the break (``self.broke``)."""
        for record, raw in self._frame_records():
            yield self._frame(record, raw)

    def frame_times(self) -> Iterator[float]:
        """The time of each whole frame [s], without decoding pixels or points: a first
        pass that counts what ``frames`` will give."""
        for record, _ in self._frame_records():
            yield float(record["timestamp_s"])

    def _frame_records(self) -> Iterator[tuple[dict[str, Any], dict[str, bytes]]]:
        raw: dict[str, bytes] = {}
        for topic, message in self._records:
            if topic == fmt.FRAME_TOPIC:
                record = json.loads(message.data)
                if not self._complete(record, raw):
                    return
                self._last_frame_s = float(record["timestamp_s"])
                yield record, raw
                raw = {}
            elif topic.startswith(("/camera/", "/lidar/")):
                raw[topic] = message.data

    def _complete(self, record: dict[str, Any], raw: dict[str, bytes]) -> bool:
        sensors = [(fmt.image_topic(c["name"]), f"camera {c['name']!r}") for c in record["cameras"]]
        sensors += [(fmt.lidar_topic(s["name"]), f"LiDAR {s['name']!r}") for s in record["lidars"]]
        for topic, what in sensors:
            self._needs(topic, what)
            if topic not in raw:
                self.broke = LogBreak(
                    self._file.tell(),
                    self.size,
                    f"frame {record['frame_id']} has no {topic} message",
                    self._last_frame_s,
                )
                return False
        return True

    def _frame(self, record: dict[str, Any], raw: dict[str, bytes]) -> SensorFrame:
        cameras = tuple(
            CameraImage(
                c["name"],
                _image(raw[fmt.image_topic(c["name"])]),
                float(c["fov_deg"]),
                from_dict(Pose, c["sensor_to_ego"]),
                float(c["timestamp_s"]),
            )
            for c in record["cameras"]
        )
        lidars = tuple(
            LidarScan(
                s["name"],
                _cloud(raw[fmt.lidar_topic(s["name"])]),
                from_dict(Pose, s["sensor_to_ego"]),
                float(s["timestamp_s"]),
            )
            for s in record["lidars"]
        )
        truth = record["ground_truth"]
        return SensorFrame(
            int(record["frame_id"]),
            float(record["timestamp_s"]),
            from_dict(EgoState, record["ego"]),
            cameras,
            lidars,
            None if truth is None else from_dict(GroundTruth, truth),
        )

    def _needs(self, topic: str, what: str) -> None:
        if topic not in self._topics.values():
            raise UserError(
                f"{self.path}: no channel {topic} ({what} of the logged rig), which replay needs"
            )


def _image(data: bytes) -> np.ndarray:
    """RawImage bgr8/bgra8 -> (H, W, 4) uint8 BGRA (alpha 255 for bgr8)."""
    image = RawImage()
    image.ParseFromString(data)
    channels = {"bgr8": 3, "bgra8": 4}.get(image.encoding)
    if channels is None:
        raise UserError(f"camera image encoding {image.encoding!r}: replay reads bgr8 and bgra8")
    rows = np.frombuffer(image.data, np.uint8).reshape(image.height, image.step)
    pixels = rows[:, : image.width * channels].reshape(image.height, image.width, channels)
    out = np.full((image.height, image.width, 4), 255, np.uint8)
    out[..., :channels] = pixels
    return out


def _cloud(data: bytes) -> np.ndarray:
    """PointCloud x, y, z, intensity float32 (right-handed) -> (N, 4) float32 in CARLA axes."""
    cloud = PointCloud()
    cloud.ParseFromString(data)
    names = [f.name for f in cloud.fields]
    if names != ["x", "y", "z", "intensity"] or cloud.point_stride != 16:
        raise UserError(
            f"point cloud fields {names} (stride {cloud.point_stride}): replay reads "
            "x, y, z, intensity float32"
        )
    points = np.frombuffer(cloud.data, np.float32).reshape(-1, 4).copy()
    points[:, 1] = -points[:, 1]
    return points
