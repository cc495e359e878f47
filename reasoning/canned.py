"""Canned scenes: a YAML file (map context along a straight route, perceived scene,
ego state, clock) -> the decisions the rules must reach.

The ego drives along +x from the origin; ``s_m`` is its route position. Objects are
given in the ego frame (``at: [ahead_m, right_m]``, heading 0 = the ego's direction,
90 = moving to the ego's right). Frames run in order through one engine, so state
(remembered signs, stop-sign progress) carries across them. See
``tests/reasoning/scenes/README.md`` for the format.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from maps.lane_path import LanePath
from maps.route_map import RouteLight, RouteSign, RouteSpan, SpeedSegment
from reasoning.map_context import MapContext, RouteNote, default_parser
from reasoning.map_text import MapTextError
from reasoning.rule_types import EgoView, RuleParams
from reasoning.rules import Explained, RuleEngine
from roadmind.clock import Clock
from roadmind.config import NanAllowed, StrictModel, load_model
from roadmind.frames import Pose
from roadmind.messages import (
    Action,
    BevLight,
    BevObject,
    BevScene,
    BevSign,
    LightState,
    ObjectClass,
    SignType,
)
from roadmind.units import kmh_to_mps, mps_to_kmh, speed_to_mps

SIZES_M = {"vehicle": (4.6, 1.9, 1.5), "pedestrian": (0.5, 0.6, 1.75), "unknown": (1.0, 1.0, 1.0)}


class Stretch(StrictModel):
    """A stretch of the route, ``from_m`` before ``to_m`` (route s) [m]."""

    from_m: float
    to_m: float

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> Stretch:
        if self.from_m >= self.to_m:
            raise ValueError(
                f"from_m ({self.from_m:g}) must lie before to_m ({self.to_m:g}) on the route"
            )
        return self


class SpeedLimitSpec(Stretch):
    value: float = Field(gt=0)
    unit: Literal["km/h", "mph"] = "km/h"


class MapSignSpec(StrictModel):
    type: Literal["speed_limit", "stop", "yield"]  # zones come from map notes
    at_m: float  # stop line (stop, yield) or where it takes effect
    landmark_id: int | None = None
    value: float = 0.0
    unit: Literal["", "km/h", "mph"] = ""  # speed_limit: km/h when not given, as on maps
    text: str = ""

    @model_validator(mode="after")
    def _limit_has_value(self) -> MapSignSpec:
        if self.type == "speed_limit" and self.value <= 0:
            raise ValueError("a speed_limit sign needs a value > 0")
        return self


class MapLightSpec(StrictModel):
    at_m: float  # stop line
    landmark_id: int


class SpanSpec(Stretch):
    id: int = 0


class NoteSpec(Stretch):
    text: str


class MapSpec(StrictModel):
    length_m: float = Field(1000.0, gt=0)
    speed_limits: list[SpeedLimitSpec] = []
    signs: list[MapSignSpec] = []
    lights: list[MapLightSpec] = []
    crosswalks: list[SpanSpec] = []
    junctions: list[SpanSpec] = []
    notes: list[NoteSpec] = []


class ObjectSpec(StrictModel):
    kind: Literal["vehicle", "pedestrian", "unknown"] = Field(alias="class")
    id: int = 0
    at: tuple[NanAllowed, NanAllowed]  # ahead, right of the ego centre [m]; NaN: unknown
    speed_kmh: NanAllowed = 0.0  # NaN allowed: an unknown velocity
    heading_deg: NanAllowed = 0.0
    size_m: tuple[float, float, float] | None = None  # length, width, height


class SignSpec(StrictModel):
    type: str  # a SignType value; anything else is an unknown sign the rules must ignore
    distance_m: float
    lateral_m: float = 4.0
    value: float = 0.0
    unit: str = ""
    text: str = ""
    landmark_id: int | None = None
    confidence: float = Field(1.0, ge=0.0, le=1.0)  # of the reading, where read_frame is set
    read_frame: int | None = Field(None, ge=0)  # read from pixels in this frame; None: truth


class LightSpec(StrictModel):
    state: Literal["red", "yellow", "green", "off", "unknown"]
    distance_m: float
    lateral_m: float = 4.0
    landmark_id: int | None = None


class Expect(StrictModel):
    action: Action | list[Action]
    speed_kmh: tuple[float, float] | None = None  # target speed range, inclusive
    stop_m: tuple[float, float] | None = None  # stop distance range
    no_stop: bool = False  # there must be no stop point
    reason: str | list[str] | None = None  # substrings that must appear in the reasons

    @field_validator("speed_kmh", "stop_m")
    @classmethod
    def _low_then_high(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"range [{value[0]:g}, {value[1]:g}] is reversed: give [low, high]")
        return value


class EgoSpec(StrictModel):
    s_m: float | None = None  # default: advanced from the previous frame
    speed_kmh: NanAllowed  # NaN allowed: the ego's speedometer failed


class FrameSpec(StrictModel):
    time_s: float | None = None  # default: previous + dt_s
    ego: EgoSpec
    objects: list[ObjectSpec] = []
    signs: list[SignSpec] = []
    lights: list[LightSpec] = []
    degraded: list[str] = []
    repeat: int = Field(1, ge=1, le=2000)  # run this frame this many times, dt_s apart
    expect: Expect | None = None  # checked after the frame's last repetition


class CannedScene(StrictModel):
    description: str
    clock: str = "12:00"
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "wed"
    cruise_speed_kmh: float = Field(50.0, gt=0)
    dt_s: float = Field(0.1, gt=0)
    map: MapSpec = MapSpec()
    frames: list[FrameSpec] = Field(min_length=1)

    @field_validator("clock")
    @classmethod
    def _clock_is_hhmm(cls, value: str) -> str:
        Clock.parse(value, "mon")  # ValueError names the bad text
        return value

    @field_validator("frames")
    @classmethod
    def _last_frame_expects(cls, frames: list[FrameSpec]) -> list[FrameSpec]:
        if frames and frames[-1].expect is None:
            raise ValueError(f"the last frame (frames.{len(frames) - 1}) needs an 'expect'")
        return frames


def load_scene(path: Path) -> CannedScene:
    return load_model(CannedScene, path)


def map_context(spec: MapSpec) -> MapContext:
    records = tuple(
        SpeedSegment(
            sl.from_m,
            sl.to_m,
            speed_to_mps(sl.value, sl.unit),
            sl.value,
            sl.unit,
            "map speed record",
        )
        for sl in spec.speed_limits
    )
    parser = default_parser(records)  # the reader a drive uses
    notes = []
    for n in spec.notes:
        try:
            notes.append(RouteNote(n.from_m, n.to_m, n.text, parser.parse(n.text)))
        except MapTextError as exc:
            notes.append(RouteNote(n.from_m, n.to_m, n.text, None, str(exc)))
    return MapContext(
        LanePath.straight(spec.length_m),
        records,
        tuple(
            RouteSign(
                SignType(g.type),
                g.at_m,
                g.landmark_id,
                g.value,
                g.unit or ("km/h" if g.type == "speed_limit" else ""),
                g.text,
            )
            for g in sorted(spec.signs, key=lambda g: g.at_m)
        ),
        tuple(RouteLight(lt.landmark_id, lt.at_m) for lt in spec.lights),
        tuple(RouteSpan(c.id, c.from_m, c.to_m) for c in spec.crosswalks),
        tuple(RouteSpan(j.id, j.from_m, j.to_m) for j in spec.junctions),
        tuple(notes),
    )


def _scene(frame: FrameSpec, frame_id: int, time_s: float) -> BevScene:
    objects = []
    for i, ob in enumerate(frame.objects):
        length, width, height = ob.size_m or SIZES_M[ob.kind]
        heading = math.radians(ob.heading_deg)
        speed = kmh_to_mps(ob.speed_kmh)
        objects.append(
            BevObject(
                ob.id or i + 1,
                ObjectClass(ob.kind),
                np.array([ob.at[0], ob.at[1], height / 2]),
                np.array([math.cos(heading) * speed, math.sin(heading) * speed, 0.0]),
                np.array([length / 2, width / 2, height / 2]),
                heading,
            )
        )
    signs = []
    for g in frame.signs:
        kind: SignType | str = SignType(g.type) if g.type in set(SignType) else g.type
        signs.append(
            BevSign(
                kind,  # type: ignore[arg-type]
                g.distance_m,
                g.lateral_m,
                g.value,
                g.unit,
                g.text,
                g.landmark_id,
                g.confidence,
                g.read_frame,
            )
        )
    lights = [
        BevLight(LightState(lt.state), lt.distance_m, lt.lateral_m, lt.landmark_id)
        for lt in frame.lights
    ]
    return BevScene(
        frame_id,
        time_s,
        tuple(objects),
        tuple(signs),
        tuple(lights),
        degraded=tuple(frame.degraded),
    )


def run_scene(scene: CannedScene) -> list[tuple[int, Explained]]:
    """Decisions after each frame's last repetition: (frame index, decision)."""
    engine = RuleEngine(
        map_context(scene.map), RuleParams(cruise_speed_mps=kmh_to_mps(scene.cruise_speed_kmh))
    )
    start = Clock.parse(scene.clock, scene.weekday)
    time_s, s_m, speed = -scene.dt_s, 0.0, 0.0
    out = []
    frame_id = 0
    for index, frame in enumerate(scene.frames):
        for rep in range(frame.repeat):
            step_s = scene.dt_s
            time_s = frame.time_s + rep * step_s if frame.time_s is not None else time_s + step_s
            if rep == 0 and frame.ego.s_m is not None:
                s_m = frame.ego.s_m
            elif frame_id > 0:
                s_m += (speed if math.isfinite(speed) else 0.0) * step_s
            speed = kmh_to_mps(frame.ego.speed_kmh)
            ego = EgoView(Pose(x_m=s_m), speed, s_m)
            explained = engine.decide(_scene(frame, frame_id, time_s), ego, start.after(time_s))
            frame_id += 1
        out.append((index, explained))
    return out


def check_scene(
    scene: CannedScene, results: list[tuple[int, Explained]] | None = None
) -> list[str]:
    """Every expectation that does not hold, as a sentence; empty when the scene passes.
    ``results``: what ``run_scene`` returned, to check without running it again."""
    failures = []
    for index, explained in results if results is not None else run_scene(scene):
        expect = scene.frames[index].expect
        if expect is not None:
            failures += [f"frame {index}: {f}" for f in _check(expect, explained)]
    return failures


def _check(expect: Expect, explained: Explained) -> list[str]:
    d = explained.decision
    bad = []
    allowed = expect.action if isinstance(expect.action, list) else [expect.action]
    if d.action not in allowed:
        bad.append(f"action {d.action.value}, expected {' or '.join(a.value for a in allowed)}")
    if expect.speed_kmh is not None:
        lo, hi = expect.speed_kmh
        got = mps_to_kmh(d.target_speed_mps)
        if not lo - 1e-6 <= got <= hi + 1e-6:
            bad.append(f"target speed {got:.1f} km/h outside [{lo:g}, {hi:g}]")
    if expect.stop_m is not None:
        lo, hi = expect.stop_m
        if d.stop_distance_m is None or not lo <= d.stop_distance_m <= hi:
            bad.append(f"stop distance {d.stop_distance_m} outside [{lo:g}, {hi:g}]")
    if expect.no_stop and d.stop_distance_m is not None:
        bad.append(f"stop distance {d.stop_distance_m:.1f} m, expected none")
    wanted = [expect.reason] if isinstance(expect.reason, str) else expect.reason or []
    text = " | ".join(f"[{r.rule}] {r.text} {' '.join(r.evidence)}" for r in d.reasons).lower()
    for part in wanted:
        if part.lower() not in text:
            bad.append(f"no reason mentions {part!r}")
    if bad:
        bad.append(f"reasons: {text}")
    return bad
