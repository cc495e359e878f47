"""Placing what only a camera saw: a detection's box becomes a point in the ego frame.

Three sources, best first: the LiDAR points inside the box's frustum (the nearest dense
group of them is the object's visible surface; a far, small object that caught only a
return or two takes the nearest one where the camera expects it); the ground plane
under the box's bottom edge; the size of the box against a size prior (an object of
known height h seen ``h_px`` pixels tall is ``f h / h_px`` away). The last two are
combined by their variances when both apply. Every placement carries a standard
deviation, which the tracker uses as the measurement noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fusion.associate import project_to_image
from fusion.config import SizePrior
from roadmind.messages import CameraImage, Detection2D

FRUSTUM_SHRINK = 0.15  # keep the inner part of the box: its edges catch the background
SURFACE_WINDOW_M = 1.5  # depth span of one object's visible surface
MIN_FRUSTUM_POINTS = 2
FRUSTUM_STD_M = 0.5
DENSE_SIGMAS = 3.0  # a dense surface this many camera sigmas off is something else
LONE_RETURN_SIGMAS = 2.0  # and so is a lone return this many
PITCH_STD_RAD = math.radians(1.0)  # ground-plane error: the car pitches, roads tilt
SIZE_STD = 0.15  # relative spread of the size prior
BOX_ERROR_PX = 4.0  # the detector boxes a tiny object a few px too big (a 4 px car in
# 9 px): the size estimate's error grows as the box shrinks, and so do the gates it sets


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a detection is: ego-frame point (3,) [m], its 1-sigma error [m], and how."""

    center_m: np.ndarray
    std_m: float
    source: str  # "lidar", "lidar-lone", "size", "ground" or "size+ground"


def pixel_ray(camera: CameraImage, u_px: float, v_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Origin (3,) and unit direction (3,) in the ego frame of the ray through a pixel."""
    k = camera.intrinsics
    direction_cam = np.array([1.0, (u_px - k[0, 2]) / k[0, 0], -(v_px - k[1, 2]) / k[1, 1]])
    pose = camera.sensor_to_ego
    direction = pose.rotation @ direction_cam
    return pose.translation, direction / np.linalg.norm(direction)


@dataclass(frozen=True, slots=True)
class ProjectedPoints:
    """Obstacle points seen by one camera: (N, 2) pixels and (N,) camera-axis depths."""

    px: np.ndarray
    depth_m: np.ndarray

    @staticmethod
    def of(points_ego: np.ndarray, camera: CameraImage) -> ProjectedPoints:
        if points_ego.shape[0] == 0:
            return ProjectedPoints(np.zeros((0, 2)), np.zeros(0))
        return ProjectedPoints(*project_to_image(points_ego, camera))


def frustum_depth(box_xyxy: np.ndarray, points: ProjectedPoints) -> float | None:
    """Camera-axis depth [m] of the nearest dense group of obstacle points inside the
    box, or None when too few points fall in it."""
    depth = points.depth_m
    depths = np.sort(depth[_in_box(box_xyxy, points) & (depth > 0.5)])
    if depths.size < MIN_FRUSTUM_POINTS:
        return None
    # The first window of SURFACE_WINDOW_M holding enough points: nearer strays (rain
    # of single returns) are skipped, the background behind the object never reached.
    ends = np.searchsorted(depths, depths + SURFACE_WINDOW_M, side="right")
    dense = np.flatnonzero(ends - np.arange(depths.size) >= MIN_FRUSTUM_POINTS)
    if dense.size == 0:
        return None
    first = int(dense[0])
    return float(np.median(depths[first : ends[first]]))


def lone_return_depth(
    box_xyxy: np.ndarray, points: ProjectedPoints, expected_m: float, window_m: float
) -> float | None:
    """Camera-axis depth [m] of the nearest obstacle return inside the box within
    ``window_m`` of the depth the camera expects, or None. A far, small object catches
    one or two returns, too few for ``frustum_depth``; in a frustum this narrow, one
    that agrees with the camera's own estimate is the object."""
    depth = points.depth_m
    inside = _in_box(box_xyxy, points) & (np.abs(depth - expected_m) <= window_m)
    return float(depth[inside].min()) if inside.any() else None


def _in_box(box_xyxy: np.ndarray, points: ProjectedPoints) -> np.ndarray:
    """(N,) bool: points inside the box's inner part (FRUSTUM_SHRINK off each side)."""
    px = points.px
    x0, y0, x1, y1 = box_xyxy
    dx, dy = (x1 - x0) * FRUSTUM_SHRINK, (y1 - y0) * FRUSTUM_SHRINK
    return (
        (px[:, 0] >= x0 + dx)
        & (px[:, 0] <= x1 - dx)
        & (px[:, 1] >= y0 + dy)
        & (px[:, 1] <= y1 - dy)
    )


def place(
    det: Detection2D,
    camera: CameraImage,
    points: ProjectedPoints,
    prior: SizePrior,
    on_ground: bool = True,
) -> Placement | None:
    """Centre of a detected object: its surface point pushed back along the ray by the
    object's prior half depth. ``on_ground``: the box's bottom edge is on the road
    (road users; not signs or lights). None when nothing places it."""
    x0, y0, x1, y1 = det.xyxy_px
    origin, ray = pixel_ray(camera, (x0 + x1) / 2.0, (y0 + y1) / 2.0)
    depth = frustum_depth(det.xyxy_px, points)
    source = "lidar"
    guess = camera_range(det, camera, prior, on_ground)
    if guess is not None:
        along_axis = _along_axis(camera, ray)
        expected_m, std_m = guess[0] * along_axis, guess[1] * along_axis
        if depth is not None and abs(depth - expected_m) > DENSE_SIGMAS * std_m:
            depth = None  # a surface far from where the camera puts it: what lies behind
        if depth is None:
            depth = lone_return_depth(det.xyxy_px, points, expected_m, LONE_RETURN_SIGMAS * std_m)
            source = "lidar-lone"
    if depth is not None:
        surface = origin + ray * _range_for_depth(camera, ray, depth)
        center, depth_std = _behind(surface, ray, prior)
        return Placement(center, math.hypot(FRUSTUM_STD_M, depth_std), source)
    if guess is None:
        return None
    rng, std, source = guess
    center, depth_std = _behind(origin + ray * rng, ray, prior)
    return Placement(center, math.hypot(std, depth_std), source)


def camera_range(
    det: Detection2D, camera: CameraImage, prior: SizePrior, on_ground: bool = True
) -> tuple[float, float, str] | None:
    """Range [m] along the ray through the box centre from the camera alone, its 1-sigma
    error [m] and how ("size", "ground" or "size+ground"); None when neither applies."""
    x0, y0, x1, y1 = det.xyxy_px
    u = (x0 + x1) / 2.0
    focal = float(camera.intrinsics[1, 1])
    _, ray = pixel_ray(camera, u, (y0 + y1) / 2.0)
    estimates: dict[str, tuple[float, float]] = {}  # source: (range along the ray [m], var)
    height_px, width_px = y1 - y0, x1 - x0
    image_h, image_w = camera.bgra.shape[:2]
    # a box cut by the image's edge understates the object's size on that axis
    if height_px > 2.0 and y0 > 1.0 and y1 < image_h - 1.0:
        rng = _range_for_depth(camera, ray, focal * prior.height_m / height_px)
        estimates["size"] = (rng, (_size_std(height_px) * rng) ** 2)
    elif width_px > 2.0 and x0 > 1.0 and x1 < image_w - 1.0:
        rng = _range_for_depth(camera, ray, focal * prior.width_m / width_px)
        estimates["size"] = (rng, (_size_std(width_px) * rng) ** 2)
    if on_ground and y1 < image_h - 1.0:
        g_origin, g_ray = pixel_ray(camera, u, y1)
        if g_ray[2] < -1e-3:
            ground_rng = -g_origin[2] / g_ray[2]
            # d(range)/d(pitch) = range^2 / camera height on flat ground
            std = ground_rng**2 * PITCH_STD_RAD / max(g_origin[2], 0.5)
            # the bottom edge is the near face; the centre ray meets it at the same
            # bird's-eye distance
            horizontal = ground_rng * _flat_norm(g_ray)
            estimates["ground"] = (horizontal / max(_flat_norm(ray), 1e-6), std**2)
    if not estimates:
        return None
    weights = np.array([1.0 / var for _, var in estimates.values()])
    ranges = np.array([rng for rng, _ in estimates.values()])
    rng = float(np.sum(weights * ranges) / weights.sum())
    return rng, float(math.sqrt(1.0 / weights.sum())), "+".join(estimates)


def _size_std(size_px: float) -> float:
    """Relative 1-sigma error of a range read from a box side of ``size_px``."""
    return math.hypot(SIZE_STD, BOX_ERROR_PX / size_px)


def _behind(surface: np.ndarray, ray: np.ndarray, prior: SizePrior) -> tuple[np.ndarray, float]:
    """The object's centre behind its seen surface, and the error of that guess."""
    flat = _flat(ray)
    depth, depth_std = prior.half_depth_m(math.atan2(flat[1], flat[0]))
    return surface + flat * depth, depth_std


def _range_for_depth(camera: CameraImage, ray_ego: np.ndarray, depth_m: float) -> float:
    """Distance along an ego-frame ray at which the camera-axis depth is ``depth_m``."""
    return depth_m / max(_along_axis(camera, ray_ego), 1e-3)


def _along_axis(camera: CameraImage, ray_ego: np.ndarray) -> float:
    """Cosine between an ego-frame unit ray and the camera's optical axis."""
    return float(camera.sensor_to_ego.forward @ ray_ego)


def _flat(ray: np.ndarray) -> np.ndarray:
    flat = np.array([ray[0], ray[1], 0.0])
    return flat / max(float(np.linalg.norm(flat)), 1e-9)


def _flat_norm(ray: np.ndarray) -> float:
    return float(math.hypot(ray[0], ray[1]))


def whole_in_image(det: Detection2D, image: CameraImage) -> bool:
    """The box is not cut by the image's edges."""
    height, width = image.bgra.shape[:2]
    x0, y0, x1, y1 = det.xyxy_px
    return x0 > 1.0 and y0 > 1.0 and x1 < width - 1.0 and y1 < height - 1.0
