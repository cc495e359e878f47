"""Synthetic crops for the reader: the embedded world's sign and light faces, as real
cameras see them.

Each crop draws a class's face (``sim/embedded/render/textures.py``, the faces the
world shows, after real designs) at its true shape, turns it (perspective), puts it
on a cluttered background with a pole, lights it (day to night, colour casts, glare),
hides part of it, and takes it through what a camera does: the crop is cut as the
detector would (square with context, box jitter), shrunk to the size a distant sign
has, blurred, noised and JPEG-compressed, then sized for the tower. ``not_a_sign``
crops are background alone. Crop ``i`` depends only on (seed, i).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw

from reasoning.reader_crops import CONTEXT, resize
from reasoning.reader_vocabulary import ReaderClass
from roadmind.messages import SignType
from sim.embedded.render import textures

CANVAS_PX = 160
# Speed limits come in 26 values: their label is drawn more often than the others.
GROUP_WEIGHT = {"speed_limit": 4.0}
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


def face_rgba(cls: ReaderClass, px: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 4) uint8 face of ``cls`` at its true aspect, alpha = its outline."""
    if cls.light_state is not None:
        lamp = None if cls.light_state.value == "off" else cls.light_state.value
        img = textures.draw_light_face(px, lamp).resize((px // 3, px))
        return _with_alpha(img, np.full((px, px // 3), 255, np.uint8))
    c = px / 2
    mask = Image.new("L", (px, px), 0)
    draw = ImageDraw.Draw(mask)
    if cls.sign_type is SignType.STOP:
        img = textures.draw_stop(px)
        draw.polygon([tuple(p) for p in textures.regular_polygon(8, c, math.pi / 8) + c], 255)
    elif cls.sign_type is SignType.SPEED_LIMIT:
        img = textures.draw_speed_limit(px, cls.value, cls.unit)
        draw.ellipse((0, 0, px - 1, px - 1), fill=255)
    elif cls.sign_type is SignType.YIELD:
        img = textures.draw_yield(px, word=rng.random() < 0.6)  # many real ones are bare
        h = px * math.sqrt(3) / 2
        top = (px - h) / 2
        draw.polygon([(0, top), (px - 1, top), (px / 2, top + h)], fill=255)
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
    yaw = math.radians(rng.uniform(-55, 55))
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
    """Day to night, colour casts, glare; lit lamps keep their glow."""
    img = rgb.astype(np.float32)
    gain = rng.choice([rng.uniform(0.85, 1.25), rng.uniform(0.45, 0.85), rng.uniform(0.25, 0.45)])
    cast = rng.uniform(0.82, 1.18, 3)
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


def _camera(crop: np.ndarray, rng: np.random.Generator, image_px: int) -> np.ndarray:
    """Distance (shrink), blur, noise and JPEG, then the tower's size."""
    far_px = int(rng.choice([rng.integers(10, 24), rng.integers(24, 48), rng.integers(48, 96)]))
    small = cv2.resize(crop, (far_px, far_px), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.6:
        small = small.astype(np.float32) + rng.normal(0, rng.uniform(1, 10), small.shape)
        small = np.clip(small, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 95))])
        decoded = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else None
        if decoded is not None:
            small = np.asarray(decoded)
    return resize(small, image_px)


def synth_crop(cls: ReaderClass, rng: np.random.Generator, image_px: int) -> np.ndarray:
    """(image_px, image_px, 3) uint8 RGB crop of ``cls`` as the reader would get it."""
    canvas = background(rng).astype(np.float32)
    if cls.label == "not_a_sign":
        if rng.random() < 0.3:  # a bare pole, or a corner of something
            x = int(rng.integers(20, CANVAS_PX - 20))
            canvas[:, x : x + int(rng.integers(3, 9))] = rng.uniform(60, 160)
        return _camera(_light(canvas, rng, None).astype(np.uint8), rng, image_px)
    # the detector's box around the face: side = canvas / (1 + context), jittered
    side = int(CANVAS_PX / (1.0 + CONTEXT) * rng.uniform(0.8, 1.05))
    face = face_rgba(cls, 256, rng)
    warped = _warp(face, side, rng).astype(np.float32)
    off = (CANVAS_PX - side) // 2 + rng.integers(-CANVAS_PX // 14, CANVAS_PX // 14 + 1, 2)
    y0, x0 = int(np.clip(off[0], 0, CANVAS_PX - side)), int(np.clip(off[1], 0, CANVAS_PX - side))
    if cls.light_state is None and rng.random() < 0.8:  # the pole under the face
        px = CANVAS_PX // 2 + int(off[1]) - (CANVAS_PX - side) // 2
        canvas[y0 + side // 2 :, px - 2 : px + 2] = rng.uniform(70, 150)
    alpha = warped[:, :, 3:4] / 255.0
    region = canvas[y0 : y0 + side, x0 : x0 + side]
    canvas[y0 : y0 + side, x0 : x0 + side] = region * (1 - alpha) + warped[:, :, :3] * alpha
    emissive = None
    if cls.light_state is not None:
        value = canvas.max(axis=2)
        emissive = value > 200
    img = _light(canvas, rng, emissive)
    if rng.random() < 0.2:  # something in front: up to a quarter of the face hidden
        w = int(side * rng.uniform(0.2, 0.5))
        h = int(side * rng.uniform(0.2, 0.5))
        oy = y0 + int(rng.integers(0, max(1, side - h)))
        ox = x0 + int(rng.integers(0, max(1, side - w)))
        img[oy : oy + h, ox : ox + w] = rng.uniform(20, 200, 3)
    return _camera(img.astype(np.uint8), rng, image_px)


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
        crops.append(synth_crop(classes[k], rng, image_px))
        labels.append(k)
    return np.stack(crops), np.array(labels, np.int64)
