"""Polylines along lanes (routes, NPC paths): sampled from CARLA waypoints, with arc
length, lookup and projection."""

from __future__ import annotations

import math
from dataclasses import dataclass

import carla
import numpy as np

STEP_M = 1.0


@dataclass
class LanePath:
    """points (N, 3) world [m]; yaw (N,) [rad]; s (N,) arc length [m]; road, lane (N,);
    odr_s (N,) the OpenDRIVE s of each point on its road [m]; junction (N,) junction id or -1."""

    points: np.ndarray
    yaw: np.ndarray
    s: np.ndarray
    road: np.ndarray
    lane: np.ndarray
    odr_s: np.ndarray
    junction: np.ndarray

    @staticmethod
    def from_waypoints(wps: list[carla.Waypoint]) -> LanePath:
        pts = np.array(
            [[w.transform.location.x, w.transform.location.y, w.transform.location.z] for w in wps]
        )
        keep = np.ones(len(wps), bool)
        if len(wps) > 1:  # drop duplicates where consecutive segments meet
            keep[1:] = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1) > 1e-3
        pts = pts[keep]
        wps = [w for w, k in zip(wps, keep, strict=True) if k]
        seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
        return LanePath(
            pts,
            np.radians([w.transform.rotation.yaw for w in wps]),
            np.concatenate([[0.0], np.cumsum(seg)]),
            np.array([w.road_id for w in wps]),
            np.array([w.lane_id for w in wps]),
            np.array([w.s for w in wps]),
            np.array([w.junction_id if w.is_junction else -1 for w in wps]),
        )

    @staticmethod
    def straight(length_m: float, step_m: float = STEP_M) -> LanePath:
        """A straight path along +x from the origin (canned scenes, tests)."""
        s = np.arange(0.0, length_m + step_m / 2, step_m)
        points = np.stack([s, np.zeros_like(s), np.zeros_like(s)], axis=1)
        ids = np.zeros(len(s), dtype=int)
        return LanePath(points, np.zeros_like(s), s, ids, ids, s.copy(), ids - 1)

    @property
    def length_m(self) -> float:
        return float(self.s[-1])

    def at(self, s_m: float) -> tuple[np.ndarray, float]:
        """Interpolated point (3,) and heading [rad] at arc length ``s_m`` (clamped)."""
        s_m = min(max(s_m, 0.0), self.length_m)
        i = int(np.clip(np.searchsorted(self.s, s_m) - 1, 0, len(self.s) - 2))
        span = self.s[i + 1] - self.s[i]
        f = (s_m - self.s[i]) / span if span > 0 else 0.0
        point = self.points[i] * (1 - f) + self.points[i + 1] * f
        dyaw = math.atan2(
            math.sin(self.yaw[i + 1] - self.yaw[i]), math.cos(self.yaw[i + 1] - self.yaw[i])
        )
        return point, float(self.yaw[i] + f * dyaw)

    def project(
        self, xy: np.ndarray, s_hint: float | None = None, window_m: float = 30.0
    ) -> tuple[float, float]:
        """Arc length and signed lateral offset (right positive) of the closest point."""
        s, lateral = self.project_many(np.asarray(xy)[None, :2], s_hint, window_m)
        return float(s[0]), float(lateral[0])

    def project_many(
        self, xy: np.ndarray, s_hint: float | None = None, window_m: float = 30.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """``project`` for (M, 2) points at once: (M,) arc lengths and lateral offsets."""
        xy = np.asarray(xy, np.float64)[:, :2]
        lo, hi = 0, len(self.s) - 1
        if s_hint is not None:
            lo = max(0, int(np.searchsorted(self.s, s_hint - window_m)) - 1)
            hi = min(len(self.s) - 1, int(np.searchsorted(self.s, s_hint + window_m)) + 1)
        a = self.points[lo:hi, :2]
        b = self.points[lo + 1 : hi + 1, :2]
        if len(a) == 0:
            return np.full(len(xy), float(self.s[lo])), np.zeros(len(xy))
        ab = b - a
        denom = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-9)
        rel = xy[:, None, :] - a[None, :, :]  # (M, K, 2)
        f = np.clip(np.einsum("mkj,kj->mk", rel, ab) / denom, 0.0, 1.0)
        closest = a + ab * f[:, :, None]
        d = np.linalg.norm(closest - xy[:, None, :], axis=2)
        k = np.argmin(d, axis=1)
        rows = np.arange(len(xy))
        s = self.s[lo + k] + f[rows, k] * np.sqrt(denom[k])
        cross = ab[k, 0] * (xy[:, 1] - a[k, 1]) - ab[k, 1] * (xy[:, 0] - a[k, 0])
        return s, np.copysign(d[rows, k], cross)
