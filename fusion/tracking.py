"""Multi-object tracking in the bird's-eye plane.

Each track is a constant-velocity Kalman filter (state x, y, vx, vy in the world
frame, white-noise acceleration), so velocities are absolute whatever the ego does.
Detections, given in the ego frame with the ego pose, are associated to predicted
tracks by the Hungarian method (scipy) on centre distance, in units of a gate that
widens for vaguely placed detections; classes must agree unless one side is unknown,
and such a pairing costs ``unclassed_cost_m`` more. The assignment minimises the total
cost with leaving a pair unmatched as an option, rather than making as many pairs as
it can: a pedestrian track keeps its pedestrian detection, instead of swapping to the
pole beside it so that a young unclassed track 2.4 m away can take the pedestrian. A
track is confirmed after ``min_hits`` updates and dropped after ``max_misses`` frames
without one; ids are never reused.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

import numpy as np
from pydantic import Field
from scipy.optimize import linear_sum_assignment

from roadmind.config import StrictModel
from roadmind.frames import Pose
from roadmind.messages import BevObject, ObjectClass
from roadmind.units import wrap_angle_rad


class TrackerConfig(StrictModel):
    """The tracker's settings: ``tracking`` in configs/perception/fusion.yaml."""

    # a detection farther than this from a prediction is not its track
    gate_m: float = Field(2.5, gt=0.0)
    min_hits: int = Field(2, ge=1)  # updates before a track is reported
    max_misses: int = Field(5, ge=0)  # frames without an update before a track is dropped
    # process noise: unmodelled acceleration (braking, turning)
    accel_std_mps2: float = Field(3.0, gt=0.0)
    position_std_m: float = Field(0.3, gt=0.0)  # measurement noise of a detection's centre
    initial_speed_std_mps: float = Field(10.0, gt=0.0)  # a new track's velocity is unknown
    class_hold: int = Field(10, ge=0)  # unclassed updates a track keeps its last class through
    unclassed_cost_m: float = Field(1.0, ge=0.0)  # added distance of a classed-unknown pairing


@dataclass(frozen=True, slots=True)
class Detection:
    """One object seen this frame, in the ego frame. center_m, extent_m: (3,)."""

    object_class: ObjectClass
    center_m: np.ndarray
    extent_m: np.ndarray
    yaw_rad: float
    score: float = 1.0
    position_std_m: float | None = None  # None: the tracker's LiDAR-grade default


@dataclass
class Track:
    track_id: int
    state: np.ndarray  # (4,) x, y, vx, vy in the world frame [m, m/s]
    cov: np.ndarray  # (4, 4)
    object_class: ObjectClass
    z_m: float
    extent_m: np.ndarray
    yaw_rad: float  # world frame
    score: float
    hits: int = 1
    misses: int = 0
    unclassed: int = 0  # updates in a row without a class
    lidar_shape: bool = False  # extent and heading measured by LiDAR, not a prior


@dataclass
class Tracker:
    config: TrackerConfig = field(default_factory=TrackerConfig)
    tracks: list[Track] = field(default_factory=list)
    last_time_s: float | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def step(
        self, detections: list[Detection], ego_pose: Pose, time_s: float
    ) -> tuple[BevObject, ...]:
        """Predict to ``time_s``, associate, update, manage tracks; confirmed tracks out."""
        dt = 0.0 if self.last_time_s is None else max(0.0, time_s - self.last_time_s)
        # a late measurement never winds the filters' clock back
        self.last_time_s = time_s if self.last_time_s is None else max(self.last_time_s, time_s)
        for track in self.tracks:
            self._predict(track, dt)
        world = [d for d in detections if np.all(np.isfinite(d.center_m))]
        centers = (
            ego_pose.transform_points(np.array([d.center_m for d in world]))
            if world
            else np.zeros((0, 3))
        )
        rows, cols = self._associate(world, centers)
        matched_tracks, matched_dets = set(rows), set(cols)
        for r, c in zip(rows, cols, strict=True):
            self._update(self.tracks[r], world[c], centers[c], ego_pose)
        for i, track in enumerate(self.tracks):
            if i not in matched_tracks:
                track.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.config.max_misses]
        for j, det in enumerate(world):
            if j not in matched_dets:
                self.tracks.append(self._birth(det, centers[j], ego_pose))
        return tuple(
            self._to_bev(t, ego_pose)
            for t in self.tracks
            if t.hits >= self.config.min_hits and t.misses == 0
        )

    def extrapolate(self, ego_pose: Pose, time_s: float) -> tuple[BevObject, ...]:
        """The reported tracks moved on to ``time_s`` at their velocities, without
        changing any track: the scene between two scans."""
        dt = 0.0 if self.last_time_s is None else max(0.0, time_s - self.last_time_s)
        out = []
        for t in self.tracks:
            if t.hits < self.config.min_hits or t.misses:
                continue
            ahead = dataclasses.replace(t, state=t.state + np.r_[t.state[2:] * dt, 0.0, 0.0])
            out.append(self._to_bev(ahead, ego_pose))
        return tuple(out)

    # ------------------------------------------------------------------ filter
    def _predict(self, track: Track, dt: float) -> None:
        if dt <= 0.0:
            return
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q = self.config.accel_std_mps2**2
        g = np.array([[dt * dt / 2, 0], [0, dt * dt / 2], [dt, 0], [0, dt]])
        track.state = f @ track.state
        track.cov = f @ track.cov @ f.T + g @ g.T * q

    def _update(self, track: Track, det: Detection, center: np.ndarray, ego: Pose) -> None:
        h = np.zeros((2, 4))
        h[0, 0] = h[1, 1] = 1.0
        r = np.eye(2) * self._std(det) ** 2
        innovation = center[:2] - h @ track.state
        s = h @ track.cov @ h.T + r
        gain = track.cov @ h.T @ np.linalg.inv(s)
        track.state = track.state + gain @ innovation
        track.cov = (np.eye(4) - gain @ h) @ track.cov
        if det.position_std_m is None or not track.lidar_shape:
            # a camera placement's box is a prior: a LiDAR-seen shape is kept over it
            track.z_m = float(center[2])
            track.extent_m = det.extent_m.astype(np.float64)
            track.yaw_rad = wrap_angle_rad(ego.yaw_rad + det.yaw_rad)
            track.lidar_shape = det.position_std_m is None
        if det.object_class is not ObjectClass.UNKNOWN:
            track.object_class = det.object_class
            track.score = det.score
            track.unclassed = 0
        else:
            # a class seen stays a while when only LiDAR sees the object (a car the
            # camera has passed), not for ever (the track may have jumped to a pole)
            track.unclassed += 1
            if track.unclassed > self.config.class_hold:
                track.object_class = ObjectClass.UNKNOWN
            if track.object_class is ObjectClass.UNKNOWN:
                track.score = det.score
        track.hits += 1
        track.misses = 0

    def _birth(self, det: Detection, center: np.ndarray, ego: Pose) -> Track:
        cfg = self.config
        cov = np.diag([self._std(det) ** 2] * 2 + [cfg.initial_speed_std_mps**2] * 2)
        return Track(
            next(self._ids),
            np.array([center[0], center[1], 0.0, 0.0]),
            cov,
            det.object_class,
            float(center[2]),
            det.extent_m.astype(np.float64),
            wrap_angle_rad(ego.yaw_rad + det.yaw_rad),
            det.score,
            lidar_shape=det.position_std_m is None,
        )

    def _std(self, det: Detection) -> float:
        return self.config.position_std_m if det.position_std_m is None else det.position_std_m

    # ------------------------------------------------------------------ association
    def _associate(self, dets: list[Detection], centers: np.ndarray) -> tuple[list, list]:
        if not self.tracks or not dets:
            return [], []
        predicted = np.array([t.state[:2] for t in self.tracks])
        dist = np.linalg.norm(predicted[:, None, :] - centers[None, :, :2], axis=2)
        track_cls = np.array([t.object_class.value for t in self.tracks])
        det_cls = np.array([d.object_class.value for d in dets])
        same = track_cls[:, None] == det_cls[None, :]
        unknown = ObjectClass.UNKNOWN.value
        unclassed = (track_cls == unknown)[:, None] | (det_cls == unknown)[None, :]
        # a vaguely placed detection (camera-only, far) may land farther from its track
        gate = np.maximum(self.config.gate_m, 2.0 * np.array([self._std(d) for d in dets]))
        # Costs in units of each detection's gate, so a vague detection is no cheaper
        # for being vague; a classed-unknown pair pays the penalty on top. A pair left
        # unmatched costs 1 + penalty, so any allowed pair beats leaving both alone;
        # the assignment maximises each pair's gain over that (0: not a pair).
        penalty = self.config.unclassed_cost_m / self.config.gate_m
        cost = dist / gate[None, :] + np.where(same, 0.0, penalty)
        allowed = (dist <= gate[None, :]) & (same | unclassed)
        gain = np.where(allowed, np.maximum(1.0 + penalty - cost, 1e-9), 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        keep = gain[rows, cols] > 0.0
        return [int(r) for r in rows[keep]], [int(c) for c in cols[keep]]

    # ------------------------------------------------------------------ output
    def _to_bev(self, track: Track, ego: Pose) -> BevObject:
        world = np.array([track.state[0], track.state[1], track.z_m])
        local = ego.inverse_transform_points(world[None, :])[0]
        velocity = ego.rotation.T @ np.array([track.state[2], track.state[3], 0.0])
        return BevObject(
            track.track_id,
            track.object_class,
            local,
            velocity,
            track.extent_m.copy(),
            wrap_angle_rad(track.yaw_rad - ego.yaw_rad),
            float(min(1.0, max(0.0, track.score))),
        )
