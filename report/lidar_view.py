"""Bird's-eye picture of one LiDAR pipeline run: ground grey, obstacles coloured by height,
boxes with class hints, range rings. Ego at the centre, x forward = up, y right = right."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from perception.lidar.pipeline import LidarResult
from report.visualize import CLASS_COLORS

GROUND_RGB = (105, 105, 105)
UNCLUSTERED_RGB = (170, 150, 90)  # above ground but in no kept object (too high, sparse)
RING_RGB = (45, 60, 45)


def _height_colors(height_m: np.ndarray, top_m: float = 3.0) -> np.ndarray:
    """(M, 3) uint8: blue low -> green -> red high above the ground."""
    t = np.clip(height_m / top_m, 0.0, 1.0)
    rgb = np.stack([255 * t, 255 * (1.0 - np.abs(t - 0.5) * 2.0) * 0.8 + 50, 255 * (1.0 - t)], 1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def lidar_result_bev(
    result: LidarResult, extent_m: float = 50.0, px_per_m: float = 8.0, ring_step_m: float = 10.0
) -> Image.Image:
    size = int(2 * extent_m * px_per_m)
    half = size / 2.0

    def to_px(x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return half + y_m * px_per_m, half - x_m * px_per_m

    img = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11)
    for k in range(1, int(math.hypot(extent_m, extent_m) // ring_step_m) + 1):
        r_px = k * ring_step_m * px_per_m
        draw.ellipse((half - r_px, half - r_px, half + r_px, half + r_px), outline=RING_RGB)
        draw.text((half + 3, half - r_px + 1), f"{k * ring_step_m:g} m", fill=RING_RGB, font=font)

    pixels = np.asarray(img).copy()
    u, v = to_px(result.points_m[:, 0], result.points_m[:, 1])
    u, v = u.astype(int), v.astype(int)
    ok = (u >= 0) & (u < size) & (v >= 0) & (v < size)
    colors = np.empty((result.points_m.shape[0], 3), np.uint8)
    colors[:] = UNCLUSTERED_RGB
    colors[result.is_ground] = GROUND_RGB
    clustered = result.labels >= 0
    colors[clustered] = _height_colors(result.height_m[clustered])
    draw_order = np.argsort(clustered, kind="stable")  # obstacles on top of ground
    sel = draw_order[ok[draw_order]]
    pixels[v[sel], u[sel]] = colors[sel]
    big = sel[clustered[sel]]  # obstacle points as 2 x 2 pixels so they read at a glance
    pixels[np.minimum(v[big] + 1, size - 1), u[big]] = colors[big]
    pixels[v[big], np.minimum(u[big] + 1, size - 1)] = colors[big]
    pixels[np.minimum(v[big] + 1, size - 1), np.minimum(u[big] + 1, size - 1)] = colors[big]
    img = Image.fromarray(pixels)
    draw = ImageDraw.Draw(img)

    for obj in result.objects:
        color = CLASS_COLORS[obj.class_hint]
        c, s = math.cos(obj.yaw_rad), math.sin(obj.yaw_rad)
        hl, hw = obj.extent_m[0], obj.extent_m[1]
        corners = [
            (obj.center_m[0] + c * a * hl - s * b * hw, obj.center_m[1] + s * a * hl + c * b * hw)
            for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))
        ]
        poly = [tuple(float(p) for p in to_px(np.array(x), np.array(y))) for x, y in corners]
        draw.polygon(poly, outline=color, width=2)
        x0, y0 = min(p[0] for p in poly), min(p[1] for p in poly)
        draw.text((x0, y0 - 12), obj.class_hint.value[:3], fill=color, font=font)
    ego_w, ego_l = 0.9 * px_per_m, 2.3 * px_per_m  # half sizes of the ego car
    draw.rectangle((half - ego_w, half - ego_l, half + ego_w, half + ego_l), outline="white")
    legend = "grey: ground  colour: obstacle height  boxes: veh / ped / unknown"
    draw.text((4, size - 14), legend, fill=(200, 200, 200), font=font)
    return img
