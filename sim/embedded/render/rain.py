"""Rain in the embedded sensors, ``rain`` from 0 (dry) to 1 (a downpour).

Camera: the road darkens as it wets (``shading.py``) and falling drops streak the
frame, slanting with one wind per frame. LiDAR, as real spinning sensors behave in rain:
some beams return from a drop in the air a few metres out instead of a surface, far
returns weaken (two-way extinction) and the weakest are lost, and ranges get noisier."""

from __future__ import annotations

import numpy as np

from sim.embedded.render.materials import Material

WET_GROUND = np.array(
    [Material.ASPHALT, Material.SIDEWALK, Material.SHOULDER, Material.CURB, Material.GRASS]
)
WET_DARKEN = 0.35  # share of the light a soaked road loses (at rain 1)
STREAKS_PER_PX = 0.004  # drops in view per pixel at rain 1
STREAK_LENGTH = 0.04  # of the image height
STREAK_ALPHA = 0.3
DROPLET_SHARE = 0.004  # beams returned by a drop at rain 1
DROPLET_MEAN_M = 4.0  # drops hit near the sensor: range 0.8 m + exponential with this mean
EXTINCTION_PER_M = 0.012  # at rain 1, each way
MIN_INTENSITY = 0.02  # at rain 1: weaker returns are lost
EXTRA_NOISE_M = 0.02  # range noise added at rain 1


def streak_pixels(
    width_px: int, height_px: int, rain: float, rng: np.random.Generator
) -> np.ndarray:
    """Flat pixel indices the frame's rain streaks cover (repeats allowed)."""
    count = int(STREAKS_PER_PX * rain * width_px * height_px)
    length = max(3, round(STREAK_LENGTH * height_px))
    slope = rng.normal(0.15, 0.1)  # px sideways per px down: the wind
    x0 = rng.uniform(0.0, width_px, count)
    y0 = rng.uniform(-length, height_px, count)
    step = np.arange(length)
    xs = (x0[:, None] + slope * step).astype(np.intp)
    ys = (y0[:, None] + step).astype(np.intp)
    inside = (xs >= 0) & (xs < width_px) & (ys >= 0) & (ys < height_px)
    return (ys * width_px + xs)[inside]


def rain_on_returns(
    range_m: np.ndarray, intensity: np.ndarray, rain: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surface returns in rain: (kept (K,) indices into the inputs, their noisier
    ranges, their weaker intensities)."""
    weak = intensity * np.exp(-2.0 * EXTINCTION_PER_M * rain * range_m)
    kept = np.flatnonzero(weak >= MIN_INTENSITY * rain)
    noisy = range_m[kept] + rng.normal(0.0, EXTRA_NOISE_M * rain, kept.size).astype(np.float32)
    return kept, noisy, weak[kept]


def droplet_returns(
    beams: int, hit_range_m: np.ndarray, rain: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beams returned by a drop: (beam indices, ranges, intensities); ``hit_range_m``
    (beams,): each beam's surface range (inf for the sky); a drop lies before it."""
    beam = np.flatnonzero(rng.random(beams) < DROPLET_SHARE * rain)
    drop_m = 0.8 + rng.exponential(DROPLET_MEAN_M, beam.size)
    before = drop_m < hit_range_m[beam]
    beam, drop_m = beam[before], drop_m[before]
    return beam, drop_m.astype(np.float32), rng.uniform(0.0, 0.05, beam.size)
