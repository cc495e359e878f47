"""Lane-following driver: IDM car-following along a LanePath that stops for red and
yellow lights and at stop signs, and gives way to what stands in its lane.

Pure logic over plain numbers: the world hands it the obstacles it sees."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from maps.landmarks import LightSpec, SignSpec
from maps.lane_path import LanePath
from maps.stop_lines import line_on_path
from roadmind.messages import LightState, SignType

IDM_MAX_ACCEL_MPS2 = 1.5
IDM_COMFORT_DECEL_MPS2 = 2.5
IDM_MIN_GAP_M = 2.0
IDM_TIME_GAP_S = 1.5
STOP_HOLD_S = 1.5  # full stop duration at a stop sign
LOOKAHEAD_M = 60.0
LANE_HALF_WIDTH_M = 1.5


def idm_accel(v_mps: float, v0_mps: float, gap_m: float | None, dv_mps: float = 0.0) -> float:
    """Intelligent Driver Model acceleration; ``dv`` = own speed minus leader speed."""
    v0 = max(v0_mps, 0.1)
    free = 1.0 - (max(v_mps, 0.0) / v0) ** 4
    if gap_m is None:
        return IDM_MAX_ACCEL_MPS2 * free
    s_star = IDM_MIN_GAP_M + max(
        0.0,
        v_mps * IDM_TIME_GAP_S
        + v_mps * dv_mps / (2 * math.sqrt(IDM_MAX_ACCEL_MPS2 * IDM_COMFORT_DECEL_MPS2)),
    )
    return IDM_MAX_ACCEL_MPS2 * (free - (s_star / max(gap_m, 0.1)) ** 2)


@dataclass
class ControlPoint:
    """A stop line on the path: s along the path and what governs it."""

    s_m: float
    light: LightSpec | None = None
    sign: SignSpec | None = None
    done: bool = False  # stop sign already served


@dataclass
class Obstacle:
    """Something another road user is: position (2,), speed along its heading, half length."""

    position: np.ndarray
    speed_mps: float
    half_length_m: float


@dataclass
class LaneDriver:
    path: LanePath
    desired_speed_mps: float
    controls: list[ControlPoint] = field(default_factory=list)
    stopped_since_s: float | None = None

    @staticmethod
    def on_path(
        path: LanePath, desired_speed_mps: float, signs: list[SignSpec], lights: list[LightSpec]
    ) -> LaneDriver:
        controls: list[ControlPoint] = []
        for light in lights:
            s = line_on_path(path, light.stop_lines)
            if s is not None:
                controls.append(ControlPoint(s, light=light))
        for sign in signs:
            if sign.sign_type is not SignType.STOP:
                continue
            s = line_on_path(path, sign.stop_lines)
            if s is not None:
                controls.append(ControlPoint(s, sign=sign))
        controls.sort(key=lambda c: c.s_m)
        return LaneDriver(path, desired_speed_mps, controls)

    def accel(
        self,
        s_m: float,
        v_mps: float,
        time_s: float,
        light_states: dict[int, LightState],
        obstacles: list[Obstacle],
        own_half_length_m: float,
    ) -> float:
        gap, dv = self._leader(s_m, v_mps, obstacles, own_half_length_m)
        stop_gap = self._stop_gap(s_m, v_mps, time_s, light_states, own_half_length_m)
        if stop_gap is not None and (gap is None or stop_gap < gap):
            gap, dv = stop_gap, v_mps
        end_gap = self.path.length_m - s_m
        if end_gap < LOOKAHEAD_M and (gap is None or end_gap < gap):
            gap, dv = max(end_gap, 0.0) + IDM_MIN_GAP_M, v_mps
        return idm_accel(v_mps, self.desired_speed_mps, gap, dv)

    def _leader(
        self, s_m: float, v_mps: float, obstacles: list[Obstacle], own_half: float
    ) -> tuple[float | None, float]:
        here, _ = self.path.at(s_m)
        best: tuple[float | None, float] = (None, 0.0)
        near = [ob for ob in obstacles if np.linalg.norm(ob.position - here[:2]) <= LOOKAHEAD_M]
        if not near:
            return best
        s_obs, laterals = self.path.project_many(
            np.array([ob.position[:2] for ob in near]),
            s_hint=s_m + LOOKAHEAD_M / 2,
            window_m=LOOKAHEAD_M / 2 + 5.0,
        )
        for ob, s_ob, lateral in zip(near, s_obs, laterals, strict=True):
            if abs(lateral) > LANE_HALF_WIDTH_M or s_ob <= s_m:
                continue
            gap = float(s_ob) - s_m - own_half - ob.half_length_m
            if best[0] is None or gap < best[0]:
                best = (gap, v_mps - ob.speed_mps)
        return best

    def _stop_gap(
        self,
        s_m: float,
        v_mps: float,
        time_s: float,
        light_states: dict[int, LightState],
        own_half: float,
    ) -> float | None:
        front = s_m + own_half
        for cp in self.controls:
            dist = cp.s_m - front
            if dist < -1.0 or dist > LOOKAHEAD_M:
                continue
            if cp.light is not None:
                state = light_states.get(cp.light.light_id, LightState.UNKNOWN)
                comfortable = v_mps * v_mps / (2 * IDM_COMFORT_DECEL_MPS2) < max(dist, 0.0) + 1.0
                must_stop = state is LightState.RED or (state is LightState.YELLOW and comfortable)
                if must_stop and dist >= -0.5:
                    return max(dist, 0.0) + IDM_MIN_GAP_M * 0.6
            elif cp.sign is not None and not cp.done:
                if dist < 1.5 and v_mps < 0.1:
                    if self.stopped_since_s is None:
                        self.stopped_since_s = time_s
                    if time_s - self.stopped_since_s >= STOP_HOLD_S:
                        cp.done = True
                        self.stopped_since_s = None
                        continue
                return max(dist, 0.0) + IDM_MIN_GAP_M * 0.6
        return None
