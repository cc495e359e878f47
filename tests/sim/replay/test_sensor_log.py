"""log.mcap written frame by frame and read back: the exact frames, Foxglove's schemas,
a truncated or corrupt file read up to its damage, a missing channel named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap.writer import Writer

from loop.rollout import rollout
from loop.worlds import WorldOptions
from roadmind.errors import UserError
from roadmind.serialize import to_dict
from sim.replay.log_format import drive_map_to_dict
from sim.replay.log_reader import LogReader
from sim.replay.log_writer import SensorLogWriter
from sim.rig import RigConfig
from sim.scenario import load_scenario
from sim.world import World

STEPS = 6


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, small_rig: RigConfig) -> tuple[Path, list]:
    """A log of STEPS oracle-driven frames, and the frames themselves."""
    path = tmp_path_factory.mktemp("log") / "log.mcap"
    scenario = load_scenario("stop_sign")
    frames = []
    with rollout(scenario, STEPS, options=WorldOptions(small_rig)) as run:
        writer = SensorLogWriter(path)
        writer.write_run(_header(scenario, run.world))
        for s in run:
            writer.write_frame(s.frame, s.scene, s.step.explained.decision, s.step.control)
            frames.append(s.frame)
        writer.close()
    return path, frames


def _header(scenario, world: World) -> dict:
    return {
        "scenario": scenario.model_dump(mode="json"),
        "rig": world.rig.model_dump(mode="json"),
        "backend": "embedded",
        "perception": "oracle",
        "drive_map": drive_map_to_dict(world.drive_map()),
    }


def test_frames_come_back_exactly(logged: tuple[Path, list]) -> None:
    path, frames = logged
    with LogReader(path) as log:
        back = list(log.frames())
        assert log.broke is None
        assert log.header.scenario.name == "stop_sign"
        drive_map = log.header.drive_map()
    assert len(back) == STEPS
    for a, b in zip(frames, back, strict=True):
        assert [c.name for c in a.cameras] == [c.name for c in b.cameras]
        for ca, cb in zip(a.cameras, b.cameras, strict=True):
            assert np.array_equal(ca.bgra, cb.bgra) and ca.sensor_to_ego == cb.sensor_to_ego
        for la, lb in zip(a.lidars, b.lidars, strict=True):
            assert la.points_xyzi.tobytes() == lb.points_xyzi.tobytes()
        # everything else (ego, poses, ground truth) is equal to the last bit
        strip = lambda f: {**to_dict(f), "cameras": None, "lidars": None}  # noqa: E731
        assert json.dumps(strip(a)) == json.dumps(strip(b))
    assert drive_map.route.points.shape[0] > 10 and drive_map.signs


def test_foxglove_schemas_and_channels(logged: tuple[Path, list]) -> None:
    path, _ = logged
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    assert summary is not None
    topics = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
    assert topics["/camera/front/image"] == "foxglove.RawImage"
    assert topics["/camera/front/calibration"] == "foxglove.CameraCalibration"
    assert topics["/lidar/top"] == "foxglove.PointCloud"
    assert topics["/tf"] == "foxglove.FrameTransforms"
    assert topics["/truth/boxes"] == topics["/stack/scene"] == "foxglove.SceneUpdate"
    assert {"/decision", "/roadmind/frame", "/roadmind/run"} <= set(topics)
    assert summary.statistics is not None and summary.statistics.chunk_count == STEPS + 1


@pytest.mark.parametrize("keep", [0.35, 0.7, 0.999])
def test_truncated_log_gives_its_whole_frames(
    logged: tuple[Path, list], tmp_path: Path, keep: float
) -> None:
    path, frames = logged
    data = path.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: int(len(data) * keep)])
    with LogReader(cut) as log:
        back = list(log.frames())
        broke = log.broke
    assert broke is not None and broke.offset <= broke.size == len(cut.read_bytes())
    assert 0 < len(back) <= STEPS and back[-1].frame_id == frames[len(back) - 1].frame_id
    assert f"log breaks at byte {broke.offset}" in broke.describe(cut)


def test_corrupt_chunk_stops_there(logged: tuple[Path, list], tmp_path: Path) -> None:
    path, _ = logged
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # zeros over a chunk's compressed bytes
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(bytes(data))
    with LogReader(bad) as log:
        back = list(log.frames())
        assert log.broke is not None and log.broke.offset <= middle + (1 << 20)
    assert 0 < len(back) < STEPS


def test_a_missing_channel_is_named(logged: tuple[Path, list], tmp_path: Path) -> None:
    path, _ = logged
    filtered = tmp_path / "no_lidar.mcap"
    with open(path, "rb") as f, open(filtered, "wb") as out:
        reader = make_reader(f)
        writer = Writer(out)
        writer.start()
        schemas: dict[int, int] = {}
        channels: dict[int, int] = {}
        for schema, channel, message in reader.iter_messages():
            if channel.topic == "/lidar/top":
                continue
            if channel.id not in channels:
                if schema is not None and schema.id not in schemas:
                    schemas[schema.id] = writer.register_schema(
                        schema.name, schema.encoding, schema.data
                    )
                sid = schemas[schema.id] if schema is not None else 0
                channels[channel.id] = writer.register_channel(
                    channel.topic, channel.message_encoding, sid
                )
            writer.add_message(channels[channel.id], message.log_time, message.data, 0)
        writer.finish()
    with LogReader(filtered) as log, pytest.raises(UserError, match="no channel /lidar/top"):
        list(log.frames())


def test_not_a_log(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not an mcap file at all")
    with pytest.raises(UserError, match="no /roadmind/run"):
        LogReader(junk)
    with pytest.raises(UserError, match="no such log"):
        LogReader(tmp_path / "absent.mcap")
