"""Run-report outputs of a closed-loop drive: ``video.mp4`` and ``timeline.png``.

The video shows, per frame, the camera with labelled boxes and a decision HUD beside a
bird's-eye panel of the BEV scene (:func:`compose_frame`), encoded to H.264 by
:class:`VideoWriter`. The timeline plots speed against limit and target, the decided
action and the infractions over the whole drive (:func:`write_timeline`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from report.visualize import CLASS_COLORS
from roadmind.atomic import atomic_path
from roadmind.messages import (
    Action,
    BevScene,
    Decision,
    LidarObject,
    LightState,
    ObjectClass,
    SignType,
)
from roadmind.units import KMH_PER_MPS

ACTION_COLORS: dict[Action, tuple[int, int, int]] = {
    Action.CRUISE: (60, 200, 90),
    Action.FOLLOW: (60, 170, 255),
    Action.SLOW: (250, 200, 40),
    Action.STOP: (235, 50, 50),
    Action.YIELD: (255, 140, 30),
    Action.PROCEED: (150, 230, 120),
    Action.EMERGENCY_BRAKE: (255, 0, 200),
}

LIGHT_COLORS: dict[LightState, tuple[int, int, int]] = {
    LightState.RED: (255, 40, 40),
    LightState.YELLOW: (255, 210, 0),
    LightState.GREEN: (40, 230, 90),
    LightState.OFF: (90, 90, 90),
    LightState.UNKNOWN: (200, 200, 200),
}

STOP_LINE_COLOR = (255, 60, 60)
PLACEHOLDER_SIZE_PX = (960, 540)  # (width, height) when a frame has no camera image

_BEV_BACKGROUND = (18, 20, 26)
_GRID_COLOR = (55, 60, 70)
_GRID_STEP_M = 10.0
_ROUTE_COLOR = (90, 140, 255)
_EGO_COLOR = (255, 255, 255)
_EGO_HALF_WIDTH_M = 0.9
_ARROW_HORIZON_S = 1.0  # velocity arrows show where the object is in this many seconds
_MIN_ARROW_SPEED_MPS = 0.3
_HUD_MAX_LINES = 3


# --------------------------------------------------------------------------- video


class VideoWriter:
    """H.264 (yuv420p) mp4 writer; browsers play the result.

    The first frame fixes the size; odd sizes are padded to even with black at the right
    and bottom because yuv420p subsamples chroma by two. Use as a context manager: leaving
    the block, also by an exception or KeyboardInterrupt, flushes the encoder and closes the
    file, so it holds every frame written so far. No frame written -> no file.

    While it runs the file is a fragmented MP4 (a key frame and a fragment every
    ``keyframe_s``, handed to the OS as soon as it is cut), so a process killed outright
    leaves a playable prefix. ``close`` then copies the packets (no re-encoding) into a
    plain MP4 with its index in front, replacing the fragmented file atomically.
    """

    def __init__(
        self,
        path: Path,
        fps: float,
        crf: int = 23,
        preset: str = "veryfast",
        keyframe_s: float = 2.0,
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"VideoWriter fps must be positive and finite, got {fps}")
        if not (math.isfinite(keyframe_s) and keyframe_s > 0):
            raise ValueError(f"VideoWriter keyframe_s must be positive, got {keyframe_s}")
        self.path = Path(path)
        self.fps = fps
        # x264's quality/speed knobs; veryfast keeps encoding a few ms a frame on two cores.
        # g: frames between key frames, each one starts a fragment a killed run keeps
        gop = max(1, round(fps * keyframe_s))
        self._options = {"crf": str(crf), "preset": preset, "g": str(gop)}
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._size_hw: tuple[int, int] | None = None
        self._frames_written = 0
        self._closed = False

    @property
    def frames_written(self) -> int:
        return self._frames_written

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _open(self, height_px: int, width_px: int) -> tuple[int, int]:
        self._size_hw = (height_px, width_px)
        # fragments on key frames after an empty index, each flushed to the OS when cut
        container = av.open(
            str(self.path),
            "w",
            format="mp4",
            container_options={
                "movflags": "+frag_keyframe+empty_moov+default_base_moof",
                "flush_packets": "1",
            },
        )
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = container.add_stream("libx264", rate=rate, options=self._options)
        stream.width = width_px + width_px % 2
        stream.height = height_px + height_px % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / rate
        self._container, self._stream = container, stream
        return self._size_hw

    def write(self, rgb: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        if self._closed:
            raise ValueError(f"VideoWriter for {self.path} is closed")
        if not (
            isinstance(rgb, np.ndarray)
            and rgb.dtype == np.uint8
            and rgb.ndim == 3
            and rgb.shape[2] == 3
        ):
            got = (rgb.dtype, rgb.shape) if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"VideoWriter.write needs an (H, W, 3) uint8 array, got {got}")
        height_px, width_px = rgb.shape[:2]
        first_h, first_w = self._size_hw or self._open(height_px, width_px)
        if (height_px, width_px) != (first_h, first_w):
            raise ValueError(
                f"VideoWriter frame size {width_px}x{height_px} differs from the first frame's "
                f"{first_w}x{first_h} (width x height)"
            )
        if height_px % 2 or width_px % 2:
            padded = np.zeros((height_px + height_px % 2, width_px + width_px % 2, 3), np.uint8)
            padded[:height_px, :width_px] = rgb
            rgb = padded
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self._frames_written
        container, stream = self._container, self._stream
        assert container is not None and stream is not None  # set by _open
        for packet in stream.encode(frame):
            container.mux(packet)
        self._frames_written += 1

    def close(self) -> None:
        """Flush the encoder's delayed frames, then rewrite the file as a plain MP4 with
        its index in front; safe to call twice. Should the rewrite fail, the complete
        fragmented file stays."""
        if self._closed:
            return
        self._closed = True
        container, stream = self._container, self._stream
        if container is None or stream is None:
            return
        try:
            for packet in stream.encode(None):
                container.mux(packet)
        finally:
            container.close()
        _defragment(self.path)


def _defragment(path: Path) -> None:
    """Copy the packets of a fragmented MP4 into a plain one (faststart: the index first,
    so a browser can play before it has it all) and put it in the file's place."""
    faststart = {"movflags": "+faststart"}
    try:
        # left in reverse: dst is complete and closed before it replaces the source
        with (
            atomic_path(path) as tmp,
            av.open(str(path)) as src,
            av.open(str(tmp), "w", format="mp4", container_options=faststart) as dst,
        ):
            src_stream = src.streams.video[0]
            dst_stream = dst.add_stream_from_template(src_stream)
            for packet in src.demux(src_stream):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = dst_stream
                dst.mux(packet)
    except av.error.FFmpegError:
        pass  # the fragmented file plays as it is


# --------------------------------------------------------------------------- frame


@dataclass(frozen=True, slots=True)
class LabeledBox:
    """A 2D box to draw on the camera image. xyxy_px: (4,) x_min, y_min, x_max, y_max."""

    xyxy_px: np.ndarray
    label: str
    object_class: ObjectClass

    def __post_init__(self) -> None:
        shape = np.shape(self.xyxy_px)
        if shape != (4,):
            raise ValueError(f"LabeledBox.xyxy_px must have shape (4,), got {shape}")


@dataclass(frozen=True, slots=True)
class BevLayers:
    """What the perception stack saw beyond its tracks, in the ego frame, for the panel:
    raw LiDAR boxes and the lines of sight of objects only a camera placed."""

    lidar_objects: Sequence[LidarObject] = ()
    rays: Sequence[tuple[np.ndarray, np.ndarray, ObjectClass]] = ()  # (origin, end) (3,) [m]


_OCCUPIED_COLOR = np.array([70, 62, 40], np.uint8)
_LIDAR_BOX_COLOR = (150, 150, 150)


@functools.cache
def _font(size_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # loading a font costs milliseconds; every frame reuses the same few sizes
    return ImageFont.load_default(size=size_px)


@functools.lru_cache(maxsize=4096)
def _text_mask(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, anchor: str | None
) -> tuple[Image.Image, int, int]:
    """A text's antialiased coverage (mode L) and its offset from the anchor point:
    rasterised once, since most labels repeat from frame to frame."""
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor=anchor))
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font, anchor=anchor)
    return mask, left, top


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    fill: tuple[int, int, int],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    anchor: str | None = None,
) -> None:
    """``draw.text`` from the cached mask (positions rounded to whole pixels)."""
    mask, left, top = _text_mask(text, font, anchor)
    draw.bitmap((round(xy[0]) + left, round(xy[1]) + top), mask, fill=fill)


def _fit(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max(0, max_chars - 1)] + "…"


def _draw_camera(
    camera_bgra: np.ndarray | None,
    boxes: Sequence[LabeledBox],
    decision: Decision,
    hud: Sequence[str],
    ego_speed_mps: float | None,
    inset: Inset | None = None,
) -> Image.Image:
    if camera_bgra is None:
        width_px, height_px = PLACEHOLDER_SIZE_PX
        rgb = np.full((height_px, width_px, 3), 28, dtype=np.uint8)
    else:
        # BGRA -> RGB as report.visualize.bgra_to_image does; dropping alpha always copies,
        # so darkening the HUD strip below never touches the caller's array
        rgb = np.ascontiguousarray(camera_bgra[:, :, 2::-1])
        height_px, width_px = rgb.shape[:2]
    hud_lines = [line for line in hud if line][:_HUD_MAX_LINES]
    hud_h = min(height_px, 52 + 18 * len(hud_lines))
    # darken the strip in place rather than alpha-compositing: a shift costs ~0.1 ms
    rgb[:hud_h] >>= 2
    img = Image.fromarray(rgb)
    draw = ImageDraw.Draw(img)
    if camera_bgra is None:
        _text(
            draw,
            (width_px / 2, height_px / 2),
            "no camera",
            fill=(120, 120, 120),
            font=_font(28),
            anchor="mm",
        )

    label_font = _font(13)
    for box in boxes:
        color = CLASS_COLORS[box.object_class]
        x0, y0, x1, y1 = (float(v) for v in box.xyxy_px)
        draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=color, width=2)
        if box.label:
            _text(draw, (x0, max(0.0, y0 - 15)), box.label, fill=color, font=label_font)

    # HUD: the action big in its colour, then the numbers, then the first reasons
    action_font = _font(34)
    action_text = decision.action.value.replace("_", " ").upper()
    _text(draw, (12, 8), action_text, fill=ACTION_COLORS[decision.action], font=action_font)
    x_px = 12 + draw.textlength(action_text, font=action_font) + 24
    numbers = [f"target {decision.target_speed_mps * KMH_PER_MPS:.0f} km/h"]
    if ego_speed_mps is not None:
        numbers.append(f"speed {ego_speed_mps * KMH_PER_MPS:.0f} km/h")
    if decision.stop_distance_m is not None:
        numbers.append(f"stop in {decision.stop_distance_m:.1f} m")
    _text(draw, (x_px, 18), "   ".join(numbers), fill=(235, 235, 235), font=_font(20))
    line_font = _font(15)
    max_chars = max(8, (width_px - 24) // 8)
    for i, line in enumerate(hud_lines):
        # Pillow's bundled font has no superscripts: "m/s²" in a reason would show a box
        text = _fit(line.replace("²", "^2"), max_chars)
        _text(draw, (12, 50 + 18 * i), text, fill=(210, 210, 210), font=line_font)
    if inset is not None:
        _draw_inset(img, inset)
    return img


@dataclass(frozen=True, slots=True)
class Inset:
    """A small picture in the camera panel's bottom-left corner, with a caption above
    it: the sign that drives the decision, and where the reader looked on it."""

    rgb: np.ndarray  # (H, W, 3) uint8
    caption: str


INSET_PX = 128


def _draw_inset(img: Image.Image, inset: Inset) -> None:
    width_px, height_px = img.size
    side = min(INSET_PX, height_px // 3, width_px // 3)
    if side < 16 or inset.rgb.ndim != 3 or inset.rgb.size == 0:
        return
    picture = Image.fromarray(np.ascontiguousarray(inset.rgb[:, :, :3])).resize(
        (side, side), Image.Resampling.NEAREST
    )
    x0, y0 = 8, height_px - side - 8
    img.paste(picture, (x0, y0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((x0 - 1, y0 - 1, x0 + side, y0 + side), outline=(255, 255, 255), width=1)
    _text(draw, (x0, y0 - 16), _fit(inset.caption, 60), fill=(255, 255, 255), font=_font(13))


def _sign_label(sign_type: SignType, value: float, unit: str, text: str) -> str:
    if sign_type is SignType.SPEED_LIMIT:
        return f"{value:g} {unit}".strip()
    if sign_type in (SignType.STOP, SignType.YIELD):
        return sign_type.value.upper()
    return _fit(text or sign_type.value, 16)


def _draw_bev(
    scene: BevScene,
    decision: Decision,
    route_ego_xy: np.ndarray | None,
    size_px: int,
    extent_m: float,
    ego_half_length_m: float,
    layers: BevLayers | None = None,
) -> Image.Image:
    # ego centre at (S/2, 2S/3); extent_m ahead fills the 2S/3 pixels above it
    cu, cv = size_px / 2.0, size_px * 2.0 / 3.0
    ppm = cv / extent_m
    img = Image.fromarray(_occupancy_layer(scene, size_px, cu, cv, ppm))
    draw = ImageDraw.Draw(img)

    def to_px(x_m: float, y_m: float) -> tuple[float, float]:
        return cu + y_m * ppm, cv - x_m * ppm

    small = _font(12)
    # grid lines at multiples of 10 m from the ego in both axes
    step_px = _GRID_STEP_M * ppm
    for k in range(-int(cv // step_px), int((size_px - cv) // step_px) + 1):
        v = cv - k * step_px
        draw.line((0, v, size_px, v), fill=_GRID_COLOR)
        if k:
            _text(draw, (3, v - 13), f"{k * _GRID_STEP_M:g} m", fill=_GRID_COLOR, font=small)
    for k in range(-int(cu // step_px), int(cu // step_px) + 1):
        u = cu + k * step_px
        draw.line((u, 0, u, size_px), fill=_GRID_COLOR)

    if route_ego_xy is not None and len(route_ego_xy) >= 2:
        pts = np.asarray(route_ego_xy, dtype=np.float64)[:, :2]
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        uv = np.stack([cu + pts[:, 1] * ppm, cv - pts[:, 0] * ppm], axis=1)
        if len(uv) >= 2:
            draw.line([tuple(p) for p in uv.tolist()], fill=_ROUTE_COLOR, width=3, joint="curve")

    if decision.stop_distance_m is not None:
        _, v = to_px(ego_half_length_m + decision.stop_distance_m, 0.0)  # from the bumper
        draw.line((0, v, size_px, v), fill=STOP_LINE_COLOR, width=3)
        _text(
            draw,
            (size_px - 4, v - 3),
            f"stop {decision.stop_distance_m:.1f} m",
            fill=STOP_LINE_COLOR,
            font=small,
            anchor="rb",
        )

    corners_unit = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
    if layers is not None:
        for box in layers.lidar_objects:
            cos_y, sin_y = math.cos(box.yaw_rad), math.sin(box.yaw_rad)
            local = corners_unit * box.extent_m[:2]
            x_m = box.center_m[0] + local[:, 0] * cos_y - local[:, 1] * sin_y
            y_m = box.center_m[1] + local[:, 0] * sin_y + local[:, 1] * cos_y
            poly = list(zip((cu + y_m * ppm).tolist(), (cv - x_m * ppm).tolist(), strict=True))
            draw.polygon(poly, outline=_LIDAR_BOX_COLOR)
        for origin, end, object_class in layers.rays:
            draw.line(
                (*to_px(origin[0], origin[1]), *to_px(end[0], end[1])),
                fill=CLASS_COLORS[object_class],
                width=1,
            )
    for obj in scene.objects:
        color = CLASS_COLORS[obj.object_class]
        cos_y, sin_y = math.cos(obj.yaw_rad), math.sin(obj.yaw_rad)
        local = corners_unit * obj.extent_m[:2]
        x_m = obj.position_m[0] + local[:, 0] * cos_y - local[:, 1] * sin_y
        y_m = obj.position_m[1] + local[:, 0] * sin_y + local[:, 1] * cos_y
        poly = list(zip((cu + y_m * ppm).tolist(), (cv - x_m * ppm).tolist(), strict=True))
        draw.polygon(poly, fill=color, outline=(255, 255, 255))
        u0, v0 = to_px(obj.position_m[0], obj.position_m[1])
        vx, vy = float(obj.velocity_mps[0]), float(obj.velocity_mps[1])
        if math.hypot(vx, vy) >= _MIN_ARROW_SPEED_MPS:
            u1, v1 = to_px(
                obj.position_m[0] + vx * _ARROW_HORIZON_S, obj.position_m[1] + vy * _ARROW_HORIZON_S
            )
            draw.line((u0, v0, u1, v1), fill=(255, 255, 255), width=2)
            ang = math.atan2(v1 - v0, u1 - u0)
            head = [(u1 + 7 * math.cos(ang + s), v1 + 7 * math.sin(ang + s)) for s in (2.6, -2.6)]
            draw.polygon([(u1, v1), *head], fill=(255, 255, 255))
        radius_px = float(np.max(obj.extent_m[:2])) * ppm
        _text(draw, (u0 + radius_px + 3, v0 - 6), f"#{obj.track_id}", fill=color, font=small)

    sign_color = CLASS_COLORS[ObjectClass.TRAFFIC_SIGN]
    for sign in scene.signs:
        u, v = to_px(sign.distance_m, sign.lateral_m)
        draw.rectangle((u - 4, v - 4, u + 4, v + 4), fill=sign_color, outline=(0, 0, 0))
        label = _sign_label(sign.sign_type, sign.value, sign.unit, sign.text)
        _text(draw, (u + 7, v - 7), label, fill=sign_color, font=small)

    for light in scene.lights:
        u, v = to_px(light.distance_m, light.lateral_m)
        draw.ellipse(
            (u - 5, v - 5, u + 5, v + 5), fill=LIGHT_COLORS[light.state], outline=(255, 255, 255)
        )

    eu0, ev0 = to_px(ego_half_length_m, -_EGO_HALF_WIDTH_M)
    eu1, ev1 = to_px(-ego_half_length_m, _EGO_HALF_WIDTH_M)
    draw.rectangle((eu0, ev0, eu1, ev1), outline=_EGO_COLOR, width=2)

    _text(
        draw,
        (4, size_px - 4),
        f"frame {scene.frame_id}  t {scene.timestamp_s:.1f} s",
        fill=(170, 170, 170),
        font=small,
        anchor="lb",
    )
    if scene.degraded:
        _text(
            draw,
            (size_px - 4, size_px - 4),
            "degraded: " + ", ".join(scene.degraded),
            fill=(255, 150, 60),
            font=small,
            anchor="rb",
        )
    return img


def _occupancy_layer(scene: BevScene, size_px: int, cu: float, cv: float, ppm: float) -> np.ndarray:
    """(S, S, 3) background with the scene's occupied cells tinted."""
    rgb = np.empty((size_px, size_px, 3), np.uint8)
    rgb[:] = _BEV_BACKGROUND
    grid = scene.occupancy
    if grid is None or not grid.any():
        return rgb
    res = scene.occupancy_resolution_m
    rows, cols = grid.shape
    ahead_m = rows * res - scene.occupancy_behind_m
    # each panel pixel looks up the cell under its centre
    x_m = (cv - (np.arange(size_px) + 0.5)) / ppm
    y_m = ((np.arange(size_px) + 0.5) - cu) / ppm
    r = np.floor((ahead_m - x_m) / res).astype(np.int64)
    c = np.floor((y_m + cols * res / 2.0) / res).astype(np.int64)
    r_ok, c_ok = (r >= 0) & (r < rows), (c >= 0) & (c < cols)
    occupied = np.zeros((size_px, size_px), bool)
    occupied[np.ix_(r_ok, c_ok)] = grid[np.ix_(r[r_ok], c[c_ok])] > 0
    rgb[occupied] = _OCCUPIED_COLOR
    return rgb


def compose_frame(
    camera_bgra: np.ndarray | None,
    boxes: Sequence[LabeledBox],
    scene: BevScene,
    decision: Decision,
    route_ego_xy: np.ndarray | None,
    hud: Sequence[str],
    bev_extent_m: float = 40.0,
    ego_speed_mps: float | None = None,
    ego_half_length_m: float = 2.35,
    layers: BevLayers | None = None,
    inset: Inset | None = None,
) -> np.ndarray:
    """One video frame, (H, W + H, 3) uint8 RGB for an (H, W) camera image.

    Left: the camera (a dark 960x540 placeholder when None) with ``boxes`` and a HUD strip
    at the top: the action, target speed, ``ego_speed_mps`` when given, the stop distance
    when set, and the first three lines of ``hud``.
    The stop line is drawn ``stop_distance_m`` ahead of the front bumper
    (``ego_half_length_m`` ahead of the ego centre).
    Right: an H x H bird's-eye panel in the ego frame (x forward -> up, y right -> right),
    ego centre at (H/2, 2H/3) and ``bev_extent_m`` metres ahead of it filling the 2H/3
    pixels above; route_ego_xy: (M, 2) route points in the ego frame [m]. The scene's
    occupancy grid tints the background; ``layers`` adds raw LiDAR boxes and camera rays.
    ``inset``: a picture in the camera's bottom-left corner (the reader's saliency).
    """
    if not (math.isfinite(bev_extent_m) and bev_extent_m > 0):
        raise ValueError(f"compose_frame bev_extent_m must be positive, got {bev_extent_m}")
    camera = _draw_camera(camera_bgra, boxes, decision, hud, ego_speed_mps, inset)
    width_px, height_px = camera.size
    bev = _draw_bev(
        scene, decision, route_ego_xy, height_px, bev_extent_m, ego_half_length_m, layers
    )
    out = np.empty((height_px, width_px + height_px, 3), dtype=np.uint8)
    out[:, :width_px] = np.asarray(camera)
    out[:, width_px:] = np.asarray(bev)
    return out


# --------------------------------------------------------------------------- timeline


def write_timeline(
    path: Path,
    time_s: np.ndarray,
    speed_mps: np.ndarray,
    limit_mps: np.ndarray,
    target_mps: np.ndarray,
    actions: Sequence[str],
    infractions: Sequence[tuple[float, str]],
    title: str,
) -> None:
    """PNG of speed, target and limit (NaN where unknown) in km/h over time.

    A colour band under the plot shows each step's action (Action values); infractions
    (time [s], kind) are red vertical lines. All arrays: (N,) per time step.
    """
    # imported here: matplotlib costs ~0.5 s to import and only runs once per drive
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    time_s = np.asarray(time_s, dtype=np.float64)
    n = len(time_s)
    series = {
        "speed_mps": speed_mps,
        "limit_mps": limit_mps,
        "target_mps": target_mps,
        "actions": actions,
    }
    for name, values in series.items():
        if len(values) != n:
            raise ValueError(f"write_timeline {name} has {len(values)} entries, time_s has {n}")
    series_mps = (speed_mps, limit_mps, target_mps)
    parsed = [Action(a) for a in actions]  # raises ValueError on an unknown action

    fig = Figure(figsize=(12, 5), dpi=100, layout="constrained")
    ax, band = fig.subplots(2, 1, sharex=True, height_ratios=[12, 1])
    ax.plot(time_s, np.asarray(speed_mps) * KMH_PER_MPS, color="tab:blue", lw=1.6, label="speed")
    ax.plot(
        time_s,
        np.asarray(target_mps) * KMH_PER_MPS,
        color="tab:green",
        lw=1.0,
        ls="--",
        label="target",
    )
    ax.step(
        time_s,
        np.asarray(limit_mps, dtype=np.float64) * KMH_PER_MPS,
        where="post",
        color="black",
        lw=1.2,
        label="limit",
    )
    ax.set_ylabel("km/h")
    kmh = np.concatenate([np.asarray(a, dtype=np.float64) for a in series_mps]) * KMH_PER_MPS
    top_kmh = float(np.nanmax(kmh)) if np.any(np.isfinite(kmh)) else 0.0
    ax.set_ylim(0, max(10.0, 1.15 * top_kmh))  # headroom for the legend and labels
    ax.grid(alpha=0.3)
    ax.set_title(title)

    # one bar per run of equal actions; a step lasts until the next sample
    if n:
        dt_s = float(np.median(np.diff(time_s))) if n > 1 else 0.1
        ends = np.append(time_s[1:], time_s[-1] + dt_s)
        start = 0
        for i in range(1, n + 1):
            if i == n or parsed[i] is not parsed[start]:
                rgb = tuple(c / 255 for c in ACTION_COLORS[parsed[start]])
                band.broken_barh([(time_s[start], ends[i - 1] - time_s[start])], (0, 1), color=rgb)
                start = i
    band.set_yticks([])
    band.set_ylim(0, 1)
    band.set_xlabel("time [s]")

    for t_s, kind in infractions:
        for axis in (ax, band):
            axis.axvline(t_s, color="red", lw=1.0)
        ax.text(
            t_s,
            0.98,
            f" {kind}",
            transform=ax.get_xaxis_transform(),
            color="red",
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
        )

    ax.legend(loc="upper left", fontsize=8)
    seen = list(dict.fromkeys(parsed))
    handles = [Patch(color=_rgb01(ACTION_COLORS[a]), label=a.value) for a in seen]
    if handles:
        # below the band, outside the axes, so it never hides speeds or infraction labels
        fig.legend(handles=handles, loc="outside lower center", fontsize=8, ncols=len(handles))
    with atomic_path(Path(path)) as tmp:  # a stop mid-save leaves no half-written PNG
        fig.savefig(tmp, format="png")
    fig.clear()  # a Figure without pyplot is never registered, so clearing frees it all


def _rgb01(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """0-255 colour -> matplotlib's 0-1."""
    return (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)
