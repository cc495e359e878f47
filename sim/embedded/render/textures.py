"""Sign and traffic-light faces drawn after real designs, as a mip-mapped texture atlas.

Every face is drawn at its true aspect ratio, then resampled to a square
``TEXTURE_PX`` tile; the ray caster maps hits on a face polygon to (u, v) in that
tile and picks the mip level from the pixel footprint, so a sign 30 m away is
filtered, not aliased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TEXTURE_PX = 256
MIP_LEVELS = 6  # 256 .. 8 px

RED = (200, 16, 30)
WHITE = (245, 245, 245)
BLACK = (15, 15, 15)
YELLOW_GREEN = (200, 225, 20)
BLUE = (20, 70, 170)
HOUSING = (30, 32, 30)
LAMP_ON = {"red": (255, 40, 30), "yellow": (255, 190, 20), "green": (40, 255, 110)}
LAMP_OFF = {"red": (70, 20, 18), "yellow": (70, 55, 15), "green": (15, 60, 30)}


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size_px: int) -> Font:
    return ImageFont.load_default(size=size_px)


def _fit_text(draw: ImageDraw.ImageDraw, text: str, max_w: float, max_h: float) -> Font:
    size = int(max_h)
    while size > 6:
        font = _font(size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_w and bottom - top <= max_h:
            return font
        size -= 2
    return _font(6)


def _centered_text(
    draw: ImageDraw.ImageDraw,
    text: str,
    center: tuple[float, float],
    max_w: float,
    max_h: float,
    fill: tuple[int, int, int],
) -> None:
    font = _fit_text(draw, text, max_w, max_h)
    draw.text(center, text, font=font, fill=fill, anchor="mm")


def regular_polygon(sides: int, radius: float, rotation_rad: float = 0.0) -> np.ndarray:
    """(sides, 2) vertices (u right, v up) of a regular polygon centred on the origin."""
    angles = rotation_rad + np.arange(sides) * 2.0 * math.pi / sides
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def draw_stop(px: int) -> Image.Image:
    img = Image.new("RGB", (px, px), WHITE)
    draw = ImageDraw.Draw(img)
    c = px / 2
    outer = regular_polygon(8, c, math.pi / 8) + c
    inner = regular_polygon(8, c * 0.9, math.pi / 8) + c
    draw.polygon([tuple(p) for p in outer], fill=WHITE)
    draw.polygon([tuple(p) for p in inner], fill=RED)
    _centered_text(draw, "STOP", (c, c), px * 0.78, px * 0.36, WHITE)
    return img


def draw_speed_limit(px: int, value: float, unit: str) -> Image.Image:
    img = Image.new("RGB", (px, px), WHITE)
    draw = ImageDraw.Draw(img)
    c = px / 2
    draw.ellipse((0, 0, px - 1, px - 1), fill=RED)
    ring = px * 0.13
    draw.ellipse((ring, ring, px - 1 - ring, px - 1 - ring), fill=WHITE)
    number = f"{value:g}"
    if unit.lower() == "mph":
        _centered_text(draw, number, (c, c * 0.9), px * 0.6, px * 0.4, BLACK)
        _centered_text(draw, "mph", (c, c * 1.42), px * 0.3, px * 0.14, BLACK)
    else:
        _centered_text(draw, number, (c, c), px * 0.62, px * 0.46, BLACK)
    return img


def draw_yield(px: int, word: bool = True) -> Image.Image:
    """The world's yield sign says YIELD; ``word=False``: the bare triangle many
    countries use."""
    img = Image.new("RGB", (px, px), WHITE)
    draw = ImageDraw.Draw(img)
    # Inverted equilateral triangle filling the tile width; v grows downwards in PIL.
    h = px * math.sqrt(3) / 2
    top = (px - h) / 2
    draw.polygon([(0, top), (px - 1, top), (px / 2, top + h)], fill=RED)
    b = px * 0.16
    inner_top = top + b * 0.55
    draw.polygon(
        [(b, inner_top), (px - 1 - b, inner_top), (px / 2, top + h - b * 1.15)], fill=WHITE
    )
    if word:
        _centered_text(draw, "YIELD", (px / 2, top + h * 0.33), px * 0.5, px * 0.14, RED)
    return img


def draw_no_entry(px: int) -> Image.Image:
    """After the Vienna Convention's C1: a red disc with a white bar."""
    img = Image.new("RGB", (px, px), WHITE)
    draw = ImageDraw.Draw(img)
    draw.ellipse((0, 0, px - 1, px - 1), fill=RED)
    draw.rectangle((px * 0.18, px * 0.41, px * 0.82, px * 0.59), WHITE)
    return img


def draw_no_parking(px: int) -> Image.Image:
    """After C18: a blue disc in a red ring, struck through in red."""
    img = Image.new("RGB", (px, px), WHITE)
    draw = ImageDraw.Draw(img)
    draw.ellipse((0, 0, px - 1, px - 1), fill=RED)
    ring = px * 0.12
    draw.ellipse((ring, ring, px - 1 - ring, px - 1 - ring), fill=BLUE)
    draw.line((px * 0.2, px * 0.2, px * 0.8, px * 0.8), fill=RED, width=int(px * 0.11))
    return img


def draw_text_sign(
    px: int, lines: list[str], aspect_w_over_h: float, color: tuple[int, int, int]
) -> Image.Image:
    """A rectangular sign (school zone, road works, custom) with up to four lines of text."""
    width, height = px, max(8, int(px / aspect_w_over_h))
    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    border = max(2, px // 40)
    draw.rectangle(
        (border, border, width - 1 - border, height - 1 - border), outline=BLACK, width=border
    )
    n = max(1, len(lines))
    line_h = (height - 4 * border) / n
    for i, line in enumerate(lines):
        cy = 2 * border + line_h * (i + 0.5)
        _centered_text(draw, line, (width / 2, cy), width * 0.86, line_h * 0.8, BLACK)
    return img.resize((px, px), Image.Resampling.LANCZOS)


def draw_light_face(px: int, lit: str | None) -> Image.Image:
    """Three-lamp head, red on top; drawn 1:3 then squeezed into the square tile."""
    width, height = px // 3, px
    img = Image.new("RGB", (width, height), HOUSING)
    draw = ImageDraw.Draw(img)
    r = width * 0.36
    for i, color in enumerate(("red", "yellow", "green")):
        cy = height * (i + 0.5) / 3
        fill = LAMP_ON[color] if lit == color else LAMP_OFF[color]
        draw.ellipse((width / 2 - r, cy - r, width / 2 + r, cy + r), fill=fill)
    return img.resize((px, px), Image.Resampling.LANCZOS)


@dataclass
class TextureAtlas:
    """Square RGB tiles with mip levels; tiles are added once, looked up by index."""

    px: int = TEXTURE_PX
    tiles: list[np.ndarray] = field(default_factory=list)
    _keys: dict[tuple, int] = field(default_factory=dict)
    _mips: list[np.ndarray] | None = None

    def add(self, key: tuple, image: Image.Image) -> int:
        if key in self._keys:
            return self._keys[key]
        self.tiles.append(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
        self._keys[key] = len(self.tiles) - 1
        self._mips = None
        return self._keys[key]

    def mips(self) -> list[np.ndarray]:
        """Per level: (K, px >> level, px >> level, 3) float32, box-filtered."""
        if self._mips is None:
            level0 = (
                np.stack(self.tiles)
                if self.tiles
                else np.zeros((1, self.px, self.px, 3), np.float32)
            )
            levels = [level0]
            for _ in range(1, MIP_LEVELS):
                prev = levels[-1]
                k, h, w, c = prev.shape
                levels.append(prev.reshape(k, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4)))
            self._mips = levels
        return self._mips

    def sample(
        self, tile: np.ndarray, u: np.ndarray, v: np.ndarray, footprint: np.ndarray
    ) -> np.ndarray:
        """Colours (N, 3) at (u, v) in [0, 1] (v down) of ``tile`` (N,), footprint in texels."""
        mips = self.mips()
        level = np.clip(np.log2(np.maximum(footprint, 1.0)).astype(np.int64), 0, MIP_LEVELS - 1)
        out = np.empty((tile.shape[0], 3), dtype=np.float32)
        for lvl in np.unique(level):
            sel = level == lvl
            tex = mips[lvl]
            size = tex.shape[1]
            iu = np.clip((u[sel] * size).astype(np.int64), 0, size - 1)
            iv = np.clip((v[sel] * size).astype(np.int64), 0, size - 1)
            out[sel] = tex[tile[sel], iv, iu]
        return out
