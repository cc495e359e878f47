"""Synthetic crops for the reader: sign and light faces as cameras see them.

Each crop draws a class's face at its true shape: the faces the world shows
(``sim/embedded/render/textures.py``) or, one in three for the signs real streets
have most, a variant with a bold condensed font, other reds and other proportions, as
real plates differ. It turns the face (perspective; a light head shows its side),
puts it on a cluttered background with a pole and, at times, a neighbouring sign at
the crop's edge, lights it (day to night, colour casts, glare), hides part of it, and
takes it through what a camera does: the crop is cut as the detector would (square
with context, box jitter) and shrunk to the size a distant sign has, most often the
20-40 px where reading is hard. Shrinking is either a lens's (area filter, then blur)
or a renderer's (one sample per pixel from a mip level: the hard, aliased edges and
strokes the embedded world's camera gives); then noise and JPEG, and the tower's
size. ``not_a_sign`` crops are background alone. Crop ``i`` depends only on
(seed, i).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from reasoning.reader_crops import CONTEXT, resize
from reasoning.reader_vocabulary import ReaderClass
from roadmind.messages import SignType
from sim.embedded.render import textures

CANVAS_PX = 160
# Speed limits come in 26 values: their label is drawn more often than the others;
# stop and no entry (red, a white band across) are told apart at 20 px only with
# practice.
GROUP_WEIGHT = {"speed_limit": 5.0, "stop": 1.5, "no_entry": 1.3}
REAL_DESIGN_P = 0.35  # signs drawn as a real-street variant instead of the world's face
NEIGHBOUR_P = 0.3  # another sign or light partly inside the crop, at its edge
OCCLUSION_P = 0.25  # something in front of a sign (lights: never, it could hide the lamp)
# round signs the world does not put up, drawn for the reader only
DISCS = {"no_entry": textures.draw_no_entry, "no_parking": textures.draw_no_parking}
HOURS = ("7-9 AM 2-4 PM", "7:30-9:30 AM", "8-10 AM 3-5 PM", "7 AM - 4 PM", "7-9 AM", "2-4 PM")
DAYS = ("MON-FRI", "SCHOOL DAYS", "MON-SAT", "")
WORKS = (["ROAD", "WORKS"], ["ROAD WORKS"], ["ROAD", "WORKS", "AHEAD"], ["ROADWORKS"])


def _school_lines(rng: np.random.Generator) -> list[str]:
    value = int(rng.choice([15, 20, 25, 30]))
    unit = "MPH" if rng.random() < 0.6 else "km/h"
    lines = ["SCHOOL", "ZONE", f"{value} {unit}"]
    if rng.random() < 0.7:
        lines.append(str(rng.choice(HOURS)))
    day = str(rng.choice(DAYS))
    if day and rng.random() < 0.5:
        lines.append(day)
    return lines


def _works_lines(rng: np.random.Generator) -> list[str]:
    lines = list(WORKS[int(rng.integers(len(WORKS)))])
    if rng.random() < 0.4:
        lines.append(f"{int(rng.choice([20, 30, 40, 50]))} km/h")
    return lines


@cache
def _bold_font(size_px: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Bold as matplotlib (a dependency) ships it: close to the bold
    grotesques of real plates, unlike the world's regular face."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), size_px)


def _bold_text(
    img: Image.Image,
    text: str,
    center: tuple[float, float],
    box: tuple[float, float],
    fill: tuple[int, int, int],
    squeeze: float,
) -> None:
    """``text`` in the bold font, narrowed to ``squeeze`` of its width (condensed), as
    large as fits ``box`` (w, h), centred on ``center``."""
    font = _bold_font(64)
    left, top, right, bottom = font.getbbox(text)
    layer = Image.new("L", (int(right - left), int(bottom - top)), 0)
    ImageDraw.Draw(layer).text((-left, -top), text, font=font, fill=255)
    w, h = layer.width * squeeze, layer.height
    scale = min(box[0] / w, box[1] / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    layer = layer.resize(size, Image.Resampling.LANCZOS)
    at = (round(center[0] - size[0] / 2), round(center[1] - size[1] / 2))
    img.paste(Image.new("RGB", size, fill), at, layer)


def _red(rng: np.random.Generator) -> tuple[int, int, int]:
    """Sign reds as paint and film differ: from bright to deep."""
    return (int(rng.integers(165, 235)), int(rng.integers(0, 40)), int(rng.integers(15, 55)))


def real_design(
    label: str, value: float, unit: str, px: int, rng: np.random.Generator
) -> Image.Image:
    """A variant of a stop, yield, speed-limit or no-entry face with the proportions,
    reds and bold condensed lettering real plates have (``px`` square, white outside)."""
    white = textures.WHITE
    img = Image.new("RGB", (px, px), white)
    draw = ImageDraw.Draw(img)
    c = px / 2
    red = _red(rng)
    squeeze = float(rng.uniform(0.7, 1.0))
    if label == "stop":
        outer = textures.regular_polygon(8, c, math.pi / 8) + c
        inner = textures.regular_polygon(8, c * float(rng.uniform(0.86, 0.95)), math.pi / 8) + c
        draw.polygon([tuple(p) for p in outer], fill=white)
        draw.polygon([tuple(p) for p in inner], fill=red)
        box = (px * float(rng.uniform(0.66, 0.8)), px * float(rng.uniform(0.24, 0.34)))
        _bold_text(img, "STOP", (c, c), box, white, squeeze)
    elif label == "speed_limit":
        rim = px * float(rng.uniform(0.0, 0.03))
        ring = rim + px * float(rng.uniform(0.08, 0.15))
        draw.ellipse((rim, rim, px - 1 - rim, px - 1 - rim), fill=red)
        draw.ellipse((ring, ring, px - 1 - ring, px - 1 - ring), fill=white)
        number = f"{value:g}"
        wide = 0.62 if len(number) < 3 else 0.68
        if unit.lower() == "mph":
            _bold_text(img, number, (c, c * 0.9), (px * wide, px * 0.38), textures.BLACK, squeeze)
            _bold_text(img, "mph", (c, c * 1.42), (px * 0.3, px * 0.12), textures.BLACK, 1.0)
        else:
            _bold_text(img, number, (c, c), (px * wide, px * 0.44), textures.BLACK, squeeze)
    elif label == "yield":
        h = px * math.sqrt(3) / 2
        top = (px - h) / 2
        draw.polygon([(0, top), (px - 1, top), (px / 2, top + h)], fill=red)
        b = px * float(rng.uniform(0.12, 0.2))
        inner_top = top + b * 0.55
        draw.polygon(
            [(b, inner_top), (px - 1 - b, inner_top), (px / 2, top + h - b * 1.15)], fill=white
        )
        if rng.random() < 0.4:
            _bold_text(img, "YIELD", (c, top + h * 0.32), (px * 0.46, px * 0.12), red, squeeze)
    else:  # no entry
        draw.ellipse((0, 0, px - 1, px - 1), fill=red)
        half_w, half_h = float(rng.uniform(0.29, 0.35)), float(rng.uniform(0.07, 0.11))
        bar = (px * (0.5 - half_w), px * (0.5 - half_h), px * (0.5 + half_w), px * (0.5 + half_h))
        draw.rectangle(bar, white)
    return img


def face_rgba(cls: ReaderClass, px: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 4) uint8 face of ``cls`` at its true aspect, alpha = its outline."""
    if cls.light_state is not None:
        lamp = None if cls.light_state.value == "off" else cls.light_state.value
        return _light_head(textures.draw_light_face(px, lamp).resize((px // 3, px)), rng)
    c = px / 2
    mask = Image.new("L", (px, px), 0)
    draw = ImageDraw.Draw(mask)
    real = rng.random() < REAL_DESIGN_P
    if cls.sign_type is SignType.STOP:
        img = real_design("stop", 0.0, "", px, rng) if real else textures.draw_stop(px)
        draw.polygon([tuple(p) for p in textures.regular_polygon(8, c, math.pi / 8) + c], 255)
    elif cls.sign_type is SignType.SPEED_LIMIT:
        img = (
            real_design("speed_limit", cls.value, cls.unit, px, rng)
            if real
            else textures.draw_speed_limit(px, cls.value, cls.unit)
        )
        draw.ellipse((0, 0, px - 1, px - 1), fill=255)
    elif cls.sign_type is SignType.YIELD:
        img = (
            real_design("yield", 0.0, "", px, rng)
            if real
            else textures.draw_yield(px, word=rng.random() < 0.6)  # many real ones are bare
        )
        h = px * math.sqrt(3) / 2
        top = (px - h) / 2
        draw.polygon([(0, top), (px - 1, top), (px / 2, top + h)], fill=255)
    elif cls.label == "no_entry" and real:
        img = real_design("no_entry", 0.0, "", px, rng)
        draw.ellipse((0, 0, px - 1, px - 1), fill=255)
    elif cls.label in DISCS:
        img = DISCS[cls.label](px)
        draw.ellipse((0, 0, px - 1, px - 1), fill=255)
    else:  # plates: school zone (yellow-green), road works (white)
        school = cls.sign_type is SignType.SCHOOL_ZONE
        lines = _school_lines(rng) if school else _works_lines(rng)
        aspect = 0.9 / 1.15 if school else 1.0 / 0.75
        color = textures.YELLOW_GREEN if school else textures.WHITE
        h = max(8, int(px / aspect))
        img = textures.draw_text_sign(px, lines, aspect, color).resize((px, h))
        return _with_alpha(img, np.full((h, px), 255, np.uint8))
    return _with_alpha(img, np.asarray(mask))


def _light_head(face: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """A light's face (RGB, 1:3) as its head is seen: seven times in ten turned enough to
    show one side of the housing box, a darker strip beside the face."""
    rgba = _with_alpha(face, np.full((face.height, face.width), 255, np.uint8))
    if rng.random() < 0.3:
        return rgba
    strip = max(1, int(face.width * rng.uniform(0.08, 0.5)))
    shade = np.array(textures.HOUSING, np.float32) * rng.uniform(0.4, 1.3)
    side = np.zeros((face.height, strip, 4), np.uint8)
    side[:, :, :3] = np.clip(shade, 0, 255).astype(np.uint8)
    side[:, :, 3] = 255
    return np.concatenate([side, rgba] if rng.random() < 0.5 else [rgba, side], axis=1)


def _with_alpha(img: Image.Image, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([np.asarray(img.convert("RGB")), alpha]).astype(np.uint8)


def background(rng: np.random.Generator, px: int = CANVAS_PX) -> np.ndarray:
    """(px, px, 3) uint8 street-like clutter: sky or façade gradient, blocks, foliage."""
    top = rng.uniform(40, 230, 3)
    bottom = rng.uniform(30, 200, 3)
    t = np.linspace(0.0, 1.0, px)[:, None, None]
    img = (top * (1 - t) + bottom * t) * np.ones((1, px, 1))
    for _ in range(int(rng.integers(0, 7))):
        x0, y0 = rng.integers(-px // 2, px, 2)
        w, h = rng.integers(px // 10, px, 2)
        color = rng.uniform(20, 235, 3)
        if rng.random() < 0.5:
            img[max(y0, 0) : y0 + h, max(x0, 0) : x0 + w] = color
        else:
            cv2.ellipse(
                img, (int(x0), int(y0)), (int(w // 2), int(h // 2)), 0, 0, 360, color.tolist(), -1
            )
    if rng.random() < 0.4:  # foliage / texture
        blobs = cv2.GaussianBlur(rng.normal(0, 1, (px, px)).astype(np.float32), (0, 0), 2.0)
        img += (blobs[:, :, None] * rng.uniform(10, 40)) * rng.uniform(0.5, 1.0, 3)
    img += rng.normal(0, rng.uniform(0, 6), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _warp(face: np.ndarray, side_px: int, rng: np.random.Generator) -> np.ndarray:
    """The face scaled to fit ``side_px``, turned about its pole (foreshortened, one
    side nearer), tilted a little; RGBA on a transparent square."""
    h, w = face.shape[:2]
    scale = side_px / max(h, w)
    # signs beside the road face it: mostly a little turned, at times much
    yaw = math.radians(rng.uniform(-30, 30) if rng.random() < 0.7 else rng.uniform(-55, 55))
    squeeze = max(0.35, math.cos(yaw))
    near = 1.0 + 0.25 * math.sin(yaw) * rng.uniform(0.5, 1.0)  # nearer edge looks taller
    tilt = math.radians(rng.uniform(-6, 6))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    fw, fh = w * scale * squeeze, h * scale
    left_h, right_h = fh / near, fh * near if near > 1 else fh
    if near < 1:
        left_h, right_h = fh, fh * near
    pts = np.array(
        [
            [-fw / 2, -left_h / 2],
            [fw / 2, -right_h / 2],
            [fw / 2, right_h / 2],
            [-fw / 2, left_h / 2],
        ],
        np.float32,
    )
    rot = np.array([[math.cos(tilt), -math.sin(tilt)], [math.sin(tilt), math.cos(tilt)]])
    dst = (pts @ rot.T + side_px / 2).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(face, matrix, (side_px, side_px), flags=cv2.INTER_AREA)


def _light(rgb: np.ndarray, rng: np.random.Generator, emissive: np.ndarray | None) -> np.ndarray:
    """Day to night, colour casts (dusk's warm one among them), glare; lit lamps keep
    their glow."""
    img = rgb.astype(np.float32)
    gain = rng.choice(
        [rng.uniform(0.85, 1.25), rng.uniform(0.45, 0.85), rng.uniform(0.25, 0.45)],
        p=[0.45, 0.35, 0.2],
    )
    cast = rng.uniform(0.82, 1.18, 3)
    if rng.random() < 0.15:  # low sun: red kept, blue lost
        cast = cast * np.array([1.0, rng.uniform(0.8, 0.95), rng.uniform(0.6, 0.85)])
    gamma = rng.uniform(0.8, 1.25)
    lit = 255.0 * (np.clip(img / 255.0, 0, 1) ** gamma) * gain * cast
    if emissive is not None:
        lit = np.where(emissive[:, :, None], np.maximum(lit, img * rng.uniform(0.85, 1.0)), lit)
    if rng.random() < 0.15:  # glare: a bright veil
        h, w = img.shape[:2]
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w]
        veil = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (rng.uniform(0.2, 0.6) * w) ** 2))
        lit += veil[:, :, None] * rng.uniform(60, 200)
    return np.clip(lit, 0, 255)


def shrink(crop: np.ndarray, far_px: int, rng: np.random.Generator) -> np.ndarray:
    """``crop`` at ``far_px`` square as a camera takes it: half the time through a lens
    (area filter, often blurred a little), half the time as a renderer samples it (one
    sample per pixel from a mip level between the size and twice it: hard, aliased
    edges and strokes, as the embedded world's ray-cast camera gives)."""
    if rng.random() < 0.5:
        small = cv2.resize(crop, (far_px, far_px), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 1.1))
        return small
    mip = max(far_px, min(crop.shape[0], round(far_px * 2 ** rng.uniform(0.0, 1.0))))
    level = cv2.resize(crop, (mip, mip), interpolation=cv2.INTER_AREA)
    # the sample point of each pixel: its centre, or anywhere in it (sub-pixel phase)
    phase = rng.uniform(-0.5, 0.5, 2) * mip / far_px
    grid = (np.arange(far_px) + 0.5) * mip / far_px - 0.5
    map_x = np.tile(grid + phase[0], (far_px, 1)).astype(np.float32)
    map_y = np.tile((grid + phase[1])[:, None], (1, far_px)).astype(np.float32)
    return cv2.remap(level, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def _camera(crop: np.ndarray, rng: np.random.Generator, image_px: int) -> np.ndarray:
    """Distance (shrink), noise and JPEG, then the tower's size. Nearly half the crops
    are 20-40 px, the sizes where reading is hardest; a fifth 8-22 px (far lights)."""
    band = rng.choice(3, p=[0.2, 0.45, 0.35])
    far_px = int((rng.integers(8, 22), rng.integers(22, 42), rng.integers(42, 100))[band])
    small = shrink(crop, far_px, rng)
    if rng.random() < 0.5:
        small = small.astype(np.float32) + rng.normal(0, rng.uniform(1, 14), small.shape)
        small = np.clip(small, 0, 255).astype(np.uint8)
    if rng.random() < 0.45:
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(10, 95))])
        decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else None
        if decoded is not None:
            small = np.asarray(decoded)
    return resize(small, image_px)


def synth_crop(
    cls: ReaderClass,
    rng: np.random.Generator,
    image_px: int,
    neighbours: Sequence[ReaderClass] = (),
) -> np.ndarray:
    """(image_px, image_px, 3) uint8 RGB crop of ``cls`` as the reader would get it;
    ``neighbours``: classes whose faces may stand partly inside the crop, at its edge."""
    canvas = background(rng).astype(np.float32)
    if cls.label == "not_a_sign":
        if rng.random() < 0.3:  # a bare pole, or a corner of something
            x = int(rng.integers(20, CANVAS_PX - 20))
            canvas[:, x : x + int(rng.integers(3, 9))] = rng.uniform(60, 160)
        if neighbours and rng.random() < NEIGHBOUR_P / 2:
            _neighbour(canvas, neighbours, rng)
        return _camera(_light(canvas, rng, None).astype(np.uint8), rng, image_px)
    if neighbours and rng.random() < NEIGHBOUR_P:  # behind the face, at the crop's edge
        _neighbour(canvas, neighbours, rng)
    # the detector's box around the face: side = canvas / (1 + context), jittered (the
    # world's boxes are tight: its faces fill 1 / (1 + context) of the crop)
    side = int(CANVAS_PX / (1.0 + CONTEXT) * rng.uniform(0.9, 1.05))
    face = face_rgba(cls, 256, rng)
    warped = _warp(face, side, rng).astype(np.float32)
    off = (CANVAS_PX - side) // 2 + rng.integers(-CANVAS_PX // 14, CANVAS_PX // 14 + 1, 2)
    y0, x0 = int(np.clip(off[0], 0, CANVAS_PX - side)), int(np.clip(off[1], 0, CANVAS_PX - side))
    if rng.random() < 0.8:  # the pole under the face (a light's head stands on one too)
        px = CANVAS_PX // 2 + int(off[1]) - (CANVAS_PX - side) // 2
        canvas[y0 + side // 2 :, px - 2 : px + 2] = rng.uniform(70, 150)
    _paste(canvas, warped, y0, x0)
    emissive = None
    if cls.light_state is not None:
        value = canvas.max(axis=2)
        emissive = value > 200
    img = _light(canvas, rng, emissive)
    if cls.light_state is None and rng.random() < OCCLUSION_P:
        # something in front: up to a quarter of the face hidden, often at a corner
        w = int(side * rng.uniform(0.2, 0.5))
        h = int(side * rng.uniform(0.2, 0.5))
        oy = y0 + int(rng.integers(0, max(1, side - h)))
        ox = x0 + int(rng.integers(0, max(1, side - w)))
        if rng.random() < 0.5:
            oy = y0 if rng.random() < 0.5 else y0 + side - h
            ox = x0 if rng.random() < 0.5 else x0 + side - w
        img[oy : oy + h, ox : ox + w] = rng.uniform(20, 200, 3)
    return _camera(img.astype(np.uint8), rng, image_px)


def _paste(canvas: np.ndarray, rgba: np.ndarray, y0: int, x0: int) -> None:
    """``rgba`` (float, alpha 0-255) over ``canvas`` at (y0, x0), clipped to it."""
    h, w = rgba.shape[:2]
    ys, xs = max(0, -y0), max(0, -x0)
    ye, xe = min(h, canvas.shape[0] - y0), min(w, canvas.shape[1] - x0)
    if ye <= ys or xe <= xs:
        return
    part = rgba[ys:ye, xs:xe]
    alpha = part[:, :, 3:4] / 255.0
    region = canvas[y0 + ys : y0 + ye, x0 + xs : x0 + xe]
    region[:] = region * (1 - alpha) + part[:, :, :3] * alpha


def _neighbour(
    canvas: np.ndarray, classes: Sequence[ReaderClass], rng: np.random.Generator
) -> None:
    """Another sign or light beside the one read, its centre outside the detector's
    box, so a third or less of it shows at the crop's edge (signs stand in groups)."""
    other = classes[int(rng.integers(len(classes)))]
    if other.label == "not_a_sign":
        return
    side = int(CANVAS_PX / (1.0 + CONTEXT) * rng.uniform(0.6, 1.1))
    warped = _warp(face_rgba(other, 128, rng), side, rng).astype(np.float32)
    edge = int(rng.integers(4))  # left, right, top, bottom
    reach = int(side * rng.uniform(0.15, 0.4))  # how far it comes in
    along = int(rng.integers(-side // 2, CANVAS_PX - side // 2))
    if edge == 0:
        y0, x0 = along, reach - side
    elif edge == 1:
        y0, x0 = along, CANVAS_PX - reach
    elif edge == 2:
        y0, x0 = reach - side, along
    else:
        y0, x0 = CANVAS_PX - reach, along
    _paste(canvas, warped, y0, x0)


def synth_batch(
    classes: list[ReaderClass], indices: np.ndarray, seed: int, image_px: int
) -> tuple[np.ndarray, np.ndarray]:
    """Crops ``indices`` of the stream ``seed``: (N, S, S, 3) uint8 and class indices."""
    groups = sorted({c.label for c in classes})
    weight = np.array([GROUP_WEIGHT.get(g, 1.0) for g in groups])
    members = {g: [k for k, c in enumerate(classes) if c.label == g] for g in groups}
    crops, labels = [], []
    for i in indices:
        rng = np.random.default_rng([seed, int(i)])
        group = groups[int(rng.choice(len(groups), p=weight / weight.sum()))]
        k = int(rng.choice(members[group]))
        crops.append(synth_crop(classes[k], rng, image_px, classes))
        labels.append(k)
    return np.stack(crops), np.array(labels, np.int64)
