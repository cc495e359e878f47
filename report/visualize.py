"""Pictures a person looks at: camera frames with ground-truth boxes, LiDAR bird's-eye."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from roadmind.frames import Pose
from roadmind.messages import ActorTruth, Box2DTruth, ObjectClass

CLASS_COLORS = {
    ObjectClass.VEHICLE: (0, 200, 255),
    ObjectClass.PEDESTRIAN: (255, 60, 200),
    ObjectClass.TRAFFIC_LIGHT: (255, 210, 0),
    ObjectClass.TRAFFIC_SIGN: (60, 255, 80),
    ObjectClass.UNKNOWN: (200, 200, 200),
}


def bgra_to_image(bgra: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(bgra[:, :, 2::-1]))


def draw_boxes(bgra: np.ndarray, boxes: tuple[Box2DTruth, ...]) -> Image.Image:
    img = bgra_to_image(bgra)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11)
    for box in boxes:
        color = CLASS_COLORS[box.object_class]
        x0, y0, x1, y1 = box.xyxy_px
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=color, width=2)
        label = f"{box.object_class.value} occ {box.occlusion:.2f}"
        draw.text((x0, max(0, y0 - 12)), label, fill=color, font=font)
    return img


def lidar_bev(
    points_xyzi: np.ndarray,
    sensor_to_ego: Pose,
    actors: tuple[ActorTruth, ...],
    ego_pose: Pose,
    extent_m: float = 50.0,
    px_per_m: float = 8.0,
) -> Image.Image:
    """Top view, ego at the centre facing up; points coloured by height, truth boxes drawn."""
    size = int(2 * extent_m * px_per_m)
    img = np.zeros((size, size, 3), dtype=np.uint8)
    pts = sensor_to_ego.transform_points(points_xyzi[:, :3].astype(np.float64))
    # ego x forward -> image up; ego y right -> image right
    u = (size / 2 + pts[:, 1] * px_per_m).astype(int)
    v = (size / 2 - pts[:, 0] * px_per_m).astype(int)
    ok = (u >= 0) & (u < size) & (v >= 0) & (v < size)
    height = np.clip((pts[ok, 2] + 0.5) / 3.0, 0.0, 1.0)
    colors = np.stack(
        [255 * height, 255 * (1 - np.abs(height - 0.5) * 2) * 0.8 + 50, 255 * (1 - height)], 1
    )
    img[v[ok], u[ok]] = np.clip(colors, 0, 255).astype(np.uint8)
    out = Image.fromarray(img)
    draw = ImageDraw.Draw(out)
    for actor in actors:
        corners = np.array([[sx, sy, 0.0] for sx, sy in ((1, 1), (1, -1), (-1, -1), (-1, 1))])
        corners *= actor.extent_m
        world = actor.pose.transform_points(corners)
        local = ego_pose.inverse_transform_points(world)
        poly = [(size / 2 + p[1] * px_per_m, size / 2 - p[0] * px_per_m) for p in local]
        draw.polygon(poly, outline=CLASS_COLORS[actor.object_class])
    draw.rectangle(
        (
            size / 2 - 0.9 * px_per_m,
            size / 2 - 2.3 * px_per_m,
            size / 2 + 0.9 * px_per_m,
            size / 2 + 2.3 * px_per_m,
        ),
        outline=(255, 255, 255),
    )
    return out
