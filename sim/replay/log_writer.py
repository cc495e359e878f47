"""Write a drive's sensor log (``log.mcap``) as it goes; the layout is in ``log_format``.

Crash-safe by construction: each frame's messages form one MCAP chunk (zstd), written
with one ``os.write`` when the frame ends, the frame's ``/roadmind/frame`` record last.
A kill (even SIGKILL) leaves every finished frame on disk and at most a partial chunk
after them, which the reader reports and stops at. ``close`` writes the summary
(indexes, statistics) that makes the file seekable for Foxglove.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.Color_pb2 import Color
from foxglove_schemas_protobuf.CubePrimitive_pb2 import CubePrimitive
from foxglove_schemas_protobuf.FrameTransform_pb2 import FrameTransform
from foxglove_schemas_protobuf.FrameTransforms_pb2 import FrameTransforms
from foxglove_schemas_protobuf.PackedElementField_pb2 import PackedElementField
from foxglove_schemas_protobuf.PointCloud_pb2 import PointCloud
from foxglove_schemas_protobuf.Pose_pb2 import Pose as PbPose
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from foxglove_schemas_protobuf.SceneEntity_pb2 import SceneEntity
from foxglove_schemas_protobuf.SceneEntityDeletion_pb2 import SceneEntityDeletion
from foxglove_schemas_protobuf.SceneUpdate_pb2 import SceneUpdate
from google.protobuf.timestamp_pb2 import Timestamp
from mcap.writer import CompressionType, Writer

from roadmind.frames import Pose
from roadmind.messages import (
    BevScene,
    CameraImage,
    Decision,
    LidarScan,
    LightState,
    ObjectClass,
    SensorFrame,
    VehicleControl,
)
from roadmind.serialize import to_dict
from sim.replay import log_format as fmt

# Foxglove colours (r, g, b, a) per class and light state
CLASS_RGBA = {
    ObjectClass.VEHICLE: (0.2, 0.6, 1.0, 0.6),
    ObjectClass.PEDESTRIAN: (1.0, 0.6, 0.1, 0.7),
    ObjectClass.TRAFFIC_LIGHT: (0.9, 0.9, 0.2, 0.6),
    ObjectClass.TRAFFIC_SIGN: (0.9, 0.2, 0.9, 0.6),
    ObjectClass.UNKNOWN: (0.6, 0.6, 0.6, 0.5),
}
LIGHT_RGBA = {
    LightState.RED: (1.0, 0.1, 0.1, 0.9),
    LightState.YELLOW: (1.0, 0.8, 0.1, 0.9),
    LightState.GREEN: (0.1, 0.9, 0.2, 0.9),
    LightState.OFF: (0.3, 0.3, 0.3, 0.9),
    LightState.UNKNOWN: (0.6, 0.6, 0.6, 0.9),
}
LIGHT_BOX_M = (0.4, 0.4, 1.0)  # a light's head as a box on its pole [m]
LIGHT_HEAD_Z_M = 3.0

_DECISION_SCHEMA = {
    "type": "object",
    "title": "roadmind.Decision",
    "properties": {
        "frame_id": {"type": "integer"},
        "time_s": {"type": "number"},
        "speed_mps": {"type": "number"},
        "decision": {"type": "object"},
        "control": {"type": "object"},
    },
}
_OPEN_SCHEMA = {"type": "object"}


class _Unbuffered:
    """The stream MCAP writes to: each ``write`` goes to the file whole, at once (no
    buffer that a kill would lose)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.position = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        os.close(self.fd)


class SensorLogWriter:
    """``write_run`` once, then ``write_frame`` per step, then ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stream = _Unbuffered(self.path)
        # chunk_size: a frame's chunk is closed at its end (below), never before
        self._mcap = Writer(
            self._stream,  # type: ignore[arg-type]  # write and tell are all it uses
            chunk_size=1 << 40,
            compression=CompressionType.ZSTD,
        )
        self._mcap.start(profile="", library="roadmind")
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self.frames = 0
        self._closed = False

    # ------------------------------------------------------------------ channels
    def _channel(self, topic: str, message_class: Any | None) -> int:
        if topic not in self._channels:
            if message_class is None:  # JSON
                schema = _DECISION_SCHEMA if topic == fmt.DECISION_TOPIC else _OPEN_SCHEMA
                name = schema.get("title", topic.strip("/").replace("/", "."))
                sid = self._schemas.get(str(name))
                if sid is None:
                    sid = self._mcap.register_schema(
                        str(name), "jsonschema", json.dumps(schema).encode()
                    )
                    self._schemas[str(name)] = sid
                self._channels[topic] = self._mcap.register_channel(topic, "json", sid)
            else:
                name = message_class.DESCRIPTOR.full_name
                sid = self._schemas.get(name)
                if sid is None:
                    sid = self._mcap.register_schema(
                        name, "protobuf", fmt.descriptor_set(message_class)
                    )
                    self._schemas[name] = sid
                self._channels[topic] = self._mcap.register_channel(topic, "protobuf", sid)
        return self._channels[topic]

    def _proto(self, topic: str, message: Any, log_ns: int) -> None:
        channel = self._channel(topic, type(message))
        self._mcap.add_message(channel, log_ns, message.SerializeToString(), log_ns)

    def _json(self, topic: str, data: dict[str, Any], log_ns: int) -> None:
        channel = self._channel(topic, None)
        self._mcap.add_message(channel, log_ns, json.dumps(data).encode(), log_ns)

    def _end_chunk(self) -> None:
        # mcap's Writer closes a chunk when it outgrows chunk_size; one chunk per frame
        # is what makes a killed drive's log end on a frame boundary (mcap pinned: 1.6.0)
        self._mcap._Writer__finalize_chunk()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ records
    def write_run(self, header: dict[str, Any]) -> None:
        """The run's header (``/roadmind/run``): what replay rebuilds the drive from."""
        self._json(fmt.RUN_TOPIC, {"format": fmt.FORMAT, "version": fmt.VERSION, **header}, 0)
        self._end_chunk()

    def write_frame(
        self,
        frame: SensorFrame,
        scene: BevScene | None,
        decision: Decision | None,
        control: VehicleControl | None,
    ) -> None:
        """One step: sensors, transforms, boxes, decision, then the frame record."""
        ns = fmt.time_ns(frame.timestamp_s)
        stamp = _timestamp(ns)
        for cam in frame.cameras:
            self._camera(cam, stamp, ns)
        for scan in frame.lidars:
            self._proto(fmt.lidar_topic(scan.name), _point_cloud(scan, stamp), ns)
        self._proto(fmt.TF_TOPIC, _transforms(frame, stamp), ns)
        if frame.ground_truth is not None:
            self._proto(fmt.TRUTH_TOPIC, _truth_update(frame, stamp), ns)
        if scene is not None:
            self._proto(fmt.SCENE_TOPIC, _scene_update(scene, stamp), ns)
        if decision is not None:
            self._json(
                fmt.DECISION_TOPIC,
                {
                    "frame_id": frame.frame_id,
                    "time_s": frame.timestamp_s,
                    "speed_mps": frame.ego.speed_mps,
                    "decision": _finite(to_dict(decision)),
                    "control": to_dict(control) if control is not None else None,
                },
                ns,
            )
        self._json(fmt.FRAME_TOPIC, frame_record(frame), ns)
        self._end_chunk()
        self.frames += 1

    def _camera(self, cam: CameraImage, stamp: Timestamp, ns: int) -> None:
        height, width = cam.bgra.shape[:2]
        opaque = bool(np.all(cam.bgra[..., 3] == 255))
        pixels = cv2.cvtColor(cam.bgra, cv2.COLOR_BGRA2BGR) if opaque else cam.bgra
        channels = 3 if opaque else 4
        image = RawImage(
            timestamp=stamp,
            frame_id=fmt.optical_frame(cam.name),
            width=width,
            height=height,
            encoding="bgr8" if opaque else "bgra8",
            step=width * channels,
            data=pixels.tobytes(),
        )
        self._proto(fmt.image_topic(cam.name), image, ns)
        k = cam.intrinsics
        p = np.hstack([k, np.zeros((3, 1))])
        calibration = CameraCalibration(
            timestamp=stamp,
            frame_id=fmt.optical_frame(cam.name),
            width=width,
            height=height,
            distortion_model="",
            K=k.ravel().tolist(),
            R=np.eye(3).ravel().tolist(),
            P=p.ravel().tolist(),
        )
        self._proto(fmt.calibration_topic(cam.name), calibration, ns)

    def close(self) -> None:
        """The summary section; the file is complete and indexed."""
        if self._closed:
            return
        self._closed = True
        try:
            self._mcap.finish()
        finally:
            self._stream.close()


def frame_record(frame: SensorFrame) -> dict[str, Any]:
    """``/roadmind/frame``: everything of a frame but the pixels and points, exactly."""
    return {
        "frame_id": frame.frame_id,
        "timestamp_s": frame.timestamp_s,
        "ego": to_dict(frame.ego),
        "cameras": [
            {
                "name": c.name,
                "fov_deg": c.fov_deg,
                "sensor_to_ego": to_dict(c.sensor_to_ego),
                "timestamp_s": c.timestamp_s,
            }
            for c in frame.cameras
        ],
        "lidars": [
            {
                "name": s.name,
                "sensor_to_ego": to_dict(s.sensor_to_ego),
                "timestamp_s": s.timestamp_s,
                "points": int(s.points_xyzi.shape[0]),
            }
            for s in frame.lidars
        ],
        "ground_truth": None if frame.ground_truth is None else to_dict(frame.ground_truth),
    }


def _finite(value: Any) -> Any:
    """JSON a viewer can parse: infinities and NaN as null."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _timestamp(ns: int) -> Timestamp:
    return Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def _pb_pose(pose: Pose) -> PbPose:
    x, y, z = fmt.rh_translation(pose.x_m, pose.y_m, pose.z_m)
    qx, qy, qz, qw = fmt.rh_quaternion(pose)
    out = PbPose()
    out.position.x, out.position.y, out.position.z = x, y, z
    out.orientation.x, out.orientation.y, out.orientation.z, out.orientation.w = qx, qy, qz, qw
    return out


def _transform(parent: str, child: str, pose: Pose, stamp: Timestamp) -> FrameTransform:
    pb = _pb_pose(pose)
    return FrameTransform(
        timestamp=stamp,
        parent_frame_id=parent,
        child_frame_id=child,
        translation=pb.position,
        rotation=pb.orientation,
    )


def _transforms(frame: SensorFrame, stamp: Timestamp) -> FrameTransforms:
    out = FrameTransforms()
    out.transforms.append(_transform(fmt.WORLD_FRAME, fmt.EGO_FRAME, frame.ego.pose, stamp))
    for cam in frame.cameras:
        out.transforms.append(_transform(fmt.EGO_FRAME, cam.name, cam.sensor_to_ego, stamp))
        optical = FrameTransform(
            timestamp=stamp, parent_frame_id=cam.name, child_frame_id=fmt.optical_frame(cam.name)
        )
        (
            optical.rotation.x,
            optical.rotation.y,
            optical.rotation.z,
            optical.rotation.w,
        ) = fmt.OPTICAL_QUATERNION
        out.transforms.append(optical)
    for scan in frame.lidars:
        out.transforms.append(_transform(fmt.EGO_FRAME, scan.name, scan.sensor_to_ego, stamp))
    return out


def _point_cloud(scan: LidarScan, stamp: Timestamp) -> PointCloud:
    points = scan.points_xyzi.copy()
    points[:, 1] = -points[:, 1]  # right-handed (exact: a sign flip)
    fields = [
        PackedElementField(name=name, offset=4 * i, type=PackedElementField.FLOAT32)
        for i, name in enumerate(("x", "y", "z", "intensity"))
    ]
    cloud = PointCloud(timestamp=stamp, frame_id=scan.name, point_stride=16, data=points.tobytes())
    cloud.pose.orientation.w = 1.0
    cloud.fields.extend(fields)
    return cloud


def _cube(pose: Pose, size: tuple[float, float, float], rgba: tuple[float, ...]) -> CubePrimitive:
    cube = CubePrimitive(
        pose=_pb_pose(pose), color=Color(r=rgba[0], g=rgba[1], b=rgba[2], a=rgba[3])
    )
    cube.size.x, cube.size.y, cube.size.z = size
    return cube


def _entity(frame_id: str, entity_id: str, stamp: Timestamp, cube: CubePrimitive) -> SceneEntity:
    entity = SceneEntity(timestamp=stamp, frame_id=frame_id, id=entity_id, frame_locked=True)
    entity.cubes.append(cube)
    return entity


def _update(stamp: Timestamp, entities: list[SceneEntity]) -> SceneUpdate:
    update = SceneUpdate()
    update.deletions.append(SceneEntityDeletion(timestamp=stamp, type=SceneEntityDeletion.ALL))
    update.entities.extend(entities)
    return update


def _truth_update(frame: SensorFrame, stamp: Timestamp) -> SceneUpdate:
    truth = frame.ground_truth
    assert truth is not None
    entities = [
        _entity(
            fmt.WORLD_FRAME,
            f"actor/{a.actor_id}",
            stamp,
            _cube(a.pose, tuple(2.0 * a.extent_m), CLASS_RGBA[a.object_class]),  # type: ignore[arg-type]
        )
        for a in truth.actors
    ]
    for light in truth.lights:
        p = light.pose
        head = Pose(p.x_m, p.y_m, p.z_m + LIGHT_HEAD_Z_M, 0.0, 0.0, p.yaw_rad)
        entities.append(
            _entity(
                fmt.WORLD_FRAME,
                f"light/{light.light_id}",
                stamp,
                _cube(head, LIGHT_BOX_M, LIGHT_RGBA[light.state]),
            )
        )
    return _update(stamp, entities)


def _scene_update(scene: BevScene, stamp: Timestamp) -> SceneUpdate:
    entities = [
        _entity(
            fmt.EGO_FRAME,
            f"track/{o.track_id}",
            stamp,
            _cube(
                Pose(
                    float(o.position_m[0]),
                    float(o.position_m[1]),
                    float(o.position_m[2]),
                    yaw_rad=o.yaw_rad,
                ),
                tuple(2.0 * o.extent_m),  # type: ignore[arg-type]
                CLASS_RGBA[o.object_class],
            ),
        )
        for o in scene.objects
    ]
    return _update(stamp, entities)
