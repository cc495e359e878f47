"""Run-report outputs: the mp4 writer, the per-frame composition and the timeline PNG."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from report.run_report import (
    ACTION_COLORS,
    PLACEHOLDER_SIZE_PX,
    STOP_LINE_COLOR,
    LabeledBox,
    VideoWriter,
    compose_frame,
    write_timeline,
)
from report.visualize import CLASS_COLORS
from roadmind.messages import (
    Action,
    BevLight,
    BevObject,
    BevScene,
    BevSign,
    Decision,
    LightState,
    ObjectClass,
    Reason,
    SignType,
)


def _frames(n: int, height_px: int, width_px: int) -> list[np.ndarray]:
    # flat colours survive yuv420p's chroma subsampling, so decoded frames stay comparable
    return [
        np.full((height_px, width_px, 3), (40 + 20 * i, 200 - 15 * i, 100), dtype=np.uint8)
        for i in range(n)
    ]


def _decode(path: Path) -> tuple[list[np.ndarray], av.codec.context.CodecContext]:
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return frames, ctx


def test_video_writer_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    written = _frames(7, 48, 64)
    with VideoWriter(path, fps=10.0) as writer:
        for frame in written:
            writer.write(frame)
        assert writer.frames_written == 7
    decoded, ctx = _decode(path)
    assert len(decoded) == 7
    assert (ctx.name, ctx.pix_fmt, ctx.width, ctx.height) == ("h264", "yuv420p", 64, 48)
    for got, want in zip(decoded, written, strict=True):
        assert got.shape == (48, 64, 3)
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 6


def test_video_writer_pads_odd_size_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, fps=12.5) as writer:
        for frame in _frames(3, 21, 33):
            writer.write(frame)
    decoded, ctx = _decode(path)
    assert len(decoded) == 3
    assert (ctx.width, ctx.height) == (34, 22)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_video_writer_keeps_frames_after_interrupt(
    tmp_path: Path, error: type[BaseException]
) -> None:
    path = tmp_path / "interrupted.mp4"
    with pytest.raises(error), VideoWriter(path, fps=10.0) as writer:
        for frame in _frames(5, 32, 48):
            writer.write(frame)
        raise error("stop the drive")
    decoded, _ = _decode(path)
    assert len(decoded) == 5
    assert decoded[0].shape == (32, 48, 3)


def test_video_writer_rejects_other_size(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "v.mp4", fps=10.0) as writer:
        writer.write(_frames(1, 48, 64)[0])
        with pytest.raises(ValueError, match=r"32x48.*64x48"):
            writer.write(_frames(1, 48, 32)[0])
        with pytest.raises(ValueError, match="uint8"):
            writer.write(np.zeros((48, 64, 3), dtype=np.float32))
        assert writer.frames_written == 1


def test_video_writer_without_frames_writes_no_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    with VideoWriter(path, fps=10.0):
        pass
    assert not path.exists()


# --------------------------------------------------------------------------- compose_frame

CAM_H, CAM_W = 240, 320
EXTENT_M = 40.0


def _bev_px(x_m: float, y_m: float, panel_px: int = CAM_H) -> tuple[int, int]:
    """(row, column) in the composed frame of an ego-frame point, per the documented layout."""
    ppm = (2 * panel_px / 3) / EXTENT_M
    u = CAM_W + panel_px / 2 + y_m * ppm
    v = 2 * panel_px / 3 - x_m * ppm
    return round(v), round(u)


def _camera() -> np.ndarray:
    bgra = np.zeros((CAM_H, CAM_W, 4), dtype=np.uint8)
    bgra[..., :3] = 120
    bgra[..., 3] = 255
    return bgra


def _scene(objects: tuple[BevObject, ...] = ()) -> BevScene:
    return BevScene(
        frame_id=3,
        timestamp_s=0.3,
        objects=objects,
        signs=(BevSign(SignType.SPEED_LIMIT, 25.0, 5.0, 50.0, "km/h"),),
        lights=(BevLight(LightState.RED, 30.0, 3.0),),
    )


def _object(
    track_id: int,
    x_m: float,
    y_m: float,
    extent_xy_m: tuple[float, float],
    yaw_rad: float,
    object_class: ObjectClass = ObjectClass.PEDESTRIAN,
) -> BevObject:
    return BevObject(
        track_id=track_id,
        object_class=object_class,
        position_m=np.array([x_m, y_m, 0.0]),
        velocity_mps=np.zeros(3),
        extent_m=np.array([*extent_xy_m, 0.8]),
        yaw_rad=yaw_rad,
    )


def test_compose_frame_shape_and_placeholder() -> None:
    decision = Decision(0, Action.CRUISE, 13.9)
    frame = compose_frame(_camera(), [], _scene(), decision, None, [])
    assert frame.shape == (CAM_H, CAM_W + CAM_H, 3) and frame.dtype == np.uint8
    width_px, height_px = PLACEHOLDER_SIZE_PX
    frame = compose_frame(None, [], BevScene(0, 0.0), decision, None, [])
    assert frame.shape == (height_px, width_px + height_px, 3)


def test_compose_frame_draws_stop_line_objects_and_boxes() -> None:
    camera = _camera()
    before = camera.copy()
    stop_m = 17.0
    decision = Decision(
        3, Action.STOP, 0.0, stop_distance_m=stop_m, reasons=(Reason("light", "red"),)
    )
    objects = (
        _object(1, 15.0, -15.0, (2.0, 1.0), 0.0),
        # yaw 90 deg turns the long side towards ego +y (right)
        _object(2, -15.0, 15.0, (3.0, 0.5), math.pi / 2, ObjectClass.VEHICLE),
    )
    route = np.array([[0.0, 0.0], [20.0, 0.5], [40.0, 2.0]])
    box = LabeledBox(np.array([50.0, 100.0, 120.0, 180.0]), "vehicle #7", ObjectClass.VEHICLE)
    frame = compose_frame(
        camera, [box], _scene(objects), decision, route, ["red light ahead"], EXTENT_M, 5.0
    )
    assert np.array_equal(camera, before), "the caller's camera array must stay untouched"

    row, col = _bev_px(2.35 + stop_m, -25.0)  # measured from the front bumper
    assert tuple(frame[row, col]) == STOP_LINE_COLOR
    assert tuple(frame[_bev_px(15.0, -15.0)]) == CLASS_COLORS[ObjectClass.PEDESTRIAN]
    vehicle = CLASS_COLORS[ObjectClass.VEHICLE]
    assert tuple(frame[_bev_px(-15.0, 17.0)]) == vehicle  # inside the rotated long side
    assert tuple(frame[_bev_px(-12.8, 15.0)]) != vehicle  # would be inside if unrotated
    assert tuple(frame[140, 50]) == vehicle  # left edge of the camera box
    hud_strip = frame[:50, :CAM_W].reshape(-1, 3)
    assert np.any(np.all(hud_strip == ACTION_COLORS[Action.STOP], axis=1))


def test_labeled_box_checks_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        LabeledBox(np.zeros(3), "x", ObjectClass.UNKNOWN)


# --------------------------------------------------------------------------- timeline


def test_write_timeline_png(tmp_path: Path) -> None:
    time_s = np.arange(0.0, 30.0, 0.1)
    speed = 8.0 + 2.0 * np.sin(time_s / 4.0)
    limit = np.where(time_s < 10.0, np.nan, 13.9)
    target = np.full_like(time_s, 9.0)
    actions = [Action.CRUISE.value if t < 20 else Action.STOP.value for t in time_s]
    path = tmp_path / "timeline.png"
    write_timeline(path, time_s, speed, limit, target, actions, [(12.0, "ran_red_light")], "t")
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.width >= 800 and img.height >= 300
    with pytest.raises(ValueError, match="speed_mps"):
        write_timeline(path, time_s, speed[:-1], limit, target, actions, [], "t")
