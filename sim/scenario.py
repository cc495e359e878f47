"""Scenario files (YAML): map, ego start and route, actors with behaviours and
triggers, light timings, extra signs, map-text notes, lighting, streetscape, duration,
seed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from roadmind.clock import MINUTES_PER_DAY, Clock
from roadmind.config import StrictModel, load_model
from roadmind.errors import ConfigError
from roadmind.resources import configs_dir
from roadmind.units import MAX_SPEED_VALUE
from sim.lighting import LightingConfig
from sim.rig import RigConfig, load_rig, resolve_rig_path
from sim.streetscape import StreetscapeConfig

SCENARIOS_DIR = configs_dir() / "scenarios"


class Place(StrictModel):
    """A point on the map: a lane point (road, lane, s) or a world point (x, y). A world
    point with ``z_m`` (a Leaderboard keypoint) is taken to the nearest driving lane at
    that height, as the Leaderboard's route planner localises its keypoints; without
    it the point must lie on a lane."""

    road: int | None = None
    lane: int | None = None
    s_m: float | None = Field(None, ge=0.0)
    x_m: float | None = None
    y_m: float | None = None
    z_m: float | None = None
    yaw_deg: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Place:
        lane_form = (self.road, self.lane, self.s_m)
        world_form = (self.x_m, self.y_m)
        if self.z_m is not None and self.x_m is None:
            raise ValueError("z_m goes with x_m and y_m (a world point)")
        if all(v is not None for v in lane_form) and all(v is None for v in world_form):
            return self
        if all(v is not None for v in world_form) and all(v is None for v in lane_form):
            return self
        raise ValueError("give either road, lane and s_m, or x_m and y_m (optionally yaw_deg)")


class Trigger(StrictModel):
    """When a behaviour starts: at a time, or when the ego comes within a distance."""

    time_s: float | None = Field(None, ge=0.0)
    ego_within_m: float | None = Field(None, gt=0.0)


class RouteConfig(StrictModel):
    """Where the ego goes: through every ``via`` point in order, then to ``goal``, each
    leg the shortest lane path (a Leaderboard route's keypoints: start, via..., goal)."""

    goal: Place
    via: list[Place] = []


class EgoConfig(StrictModel):
    start: Place
    route: RouteConfig | None = None
    speed_kmh: float = Field(0.0, ge=0.0, le=250.0)
    cruise_speed_kmh: float = Field(40.0, gt=0.0, le=250.0)
    model: Literal["compact", "sedan", "suv", "van", "truck"] = "sedan"


class VehicleActor(StrictModel):
    kind: Literal["vehicle"]
    start: Place
    behaviour: Literal["drive", "parked"] = "drive"
    speed_kmh: float = Field(40.0, ge=0.0, le=250.0)
    model: Literal["compact", "sedan", "suv", "van", "truck"] = "sedan"
    color: tuple[float, float, float] | None = None  # RGB in [0, 1]; random when absent
    trigger: Trigger | None = None  # starts driving then; waits before
    brake_at_s: float | None = Field(None, ge=0.0)  # hard stop at this time (lead braking)
    brake_for_s: float | None = Field(None, gt=0.0)  # then drives on after this long; absent: stays


class PedestrianActor(StrictModel):
    kind: Literal["pedestrian"]
    start: Place
    behaviour: Literal["walk", "cross", "stand"] = "walk"
    crosswalk: int | None = Field(None, ge=0)  # for cross: index into the map's crosswalks
    speed_mps: float = Field(1.4, gt=0.0, le=5.0)
    size: Literal["adult", "child"] = "adult"
    trigger: Trigger | None = None


class LightTimingConfig(StrictModel):
    green_s: float = Field(12.0, gt=0.0)
    yellow_s: float = Field(3.0, ge=0.0)
    all_red_s: float = Field(1.0, ge=0.0)
    offset_s: float = 0.0


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SIGN_ZONE_M = 200.0  # default reach of a zone sign that no note of its kind covers
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def hours_window_min(text: str) -> tuple[int, int]:
    """``"07:00-09:00"`` -> (420, 540) minutes after midnight, end exclusive; an end
    before the start wraps past midnight ("22:00-06:00"); "24:00" may end a window.
    ValueError says what a window must look like."""
    match = _HOURS.match(text.strip())
    shape = f"hours window {text!r} must be HH:MM-HH:MM (00:00 to 24:00), e.g. '07:00-09:00'"
    if match is None:
        raise ValueError(shape)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ValueError(shape)
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end % MINUTES_PER_DAY:
        raise ValueError(f"hours window {text!r} starts where it ends (all day: leave hours out)")
    return start, end


class ZoneLaw(StrictModel):
    """What a note or zone sign means legally: a speed cap of some kind of zone, in
    force in its hours (empty: all day) on its days (empty: every day). The scorer
    reads this, never the free text, so a misread text cannot fool both car and judge.
    A window wrapping midnight belongs to the day it starts on."""

    kind: Literal["school_zone", "road_works", "speed_limit", "other_zone"]
    cap: float = Field(..., gt=0.0, le=MAX_SPEED_VALUE)
    unit: Literal["km/h", "mph"]
    hours: list[str] = []
    days: list[Weekday] = []

    @field_validator("hours")
    @classmethod
    def _hours_are_windows(cls, value: list[str]) -> list[str]:
        for text in value:
            hours_window_min(text)  # ValueError names the bad window
        return value

    @field_validator("days")
    @classmethod
    def _days_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"days {value} name a day twice")
        return value


class SignZoneLaw(ZoneLaw):
    """A zone sign's law; ``length_m``: how far the zone runs past the sign where no
    note of its kind covers it (a note there says where the zone ends)."""

    length_m: float = Field(SIGN_ZONE_M, gt=0.0, le=5000.0)


class SignConfig(StrictModel):
    """A sign the scenario adds beside a lane, facing the lane's traffic. A zone sign
    (school_zone, text) states its legal meaning in ``law``; absent: no zone."""

    type: Literal["speed_limit", "stop", "yield", "school_zone", "text"]
    at: Place
    value: float = Field(0.0, ge=0.0, le=MAX_SPEED_VALUE)  # 0: the sign shows no number
    unit: Literal["", "km/h", "mph"] = ""
    text: str = ""
    side_offset_m: float = Field(2.5, ge=0.0, le=20.0)  # from lane centre to the pole, right
    law: SignZoneLaw | None = None

    @model_validator(mode="after")
    def _states_its_law(self) -> SignConfig:
        if self.law is not None and self.type not in ("school_zone", "text"):
            raise ValueError(f"law: only school_zone and text signs state a zone, not {self.type}")
        if self.type == "speed_limit" and not (0 < self.value <= MAX_SPEED_VALUE and self.unit):
            raise ValueError(
                f"a speed_limit sign needs a value in (0, {MAX_SPEED_VALUE:g}] and a unit "
                "(km/h or mph), "
                f"got {self.value:g} {self.unit!r}"
            )
        if self.value > 0 and not self.unit:
            raise ValueError(f"value {self.value:g} needs a unit (km/h or mph)")
        return self


class NoteConfig(StrictModel):
    """Free map text attached to a stretch of road (read by the reasoning module), and
    ``law``, what it means legally (null: the text states no legal constraint). The
    key is required so no note's truth is forgotten."""

    road: int
    s_from_m: float = Field(0.0, ge=0.0)
    s_to_m: float = Field(..., ge=0.0)
    text: str = Field(..., min_length=1)
    law: ZoneLaw | None = Field(...)

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> NoteConfig:
        if self.s_from_m >= self.s_to_m:
            raise ValueError(
                f"s_from_m ({self.s_from_m:g}) must be below s_to_m ({self.s_to_m:g}): "
                "both are the road's s, whichever way its lanes run"
            )
        return self


class Scenario(StrictModel):
    name: str
    description: str = ""
    map: str
    seed: int = Field(0, ge=0, le=2**32 - 1)  # CARLA's seeds are unsigned 32-bit
    duration_s: float = Field(30.0, gt=0.0, le=3600.0)
    start_clock: str = "08:00"  # local time of day (HH:MM) at t = 0, for time-windowed notes
    weekday: Weekday = "wed"
    ego: EgoConfig
    actors: list[Annotated[VehicleActor | PedestrianActor, Field(discriminator="kind")]] = []
    traffic_lights: LightTimingConfig = LightTimingConfig()
    signs: list[SignConfig] = []
    notes: list[NoteConfig] = []
    lighting: LightingConfig = LightingConfig()
    streetscape: StreetscapeConfig = StreetscapeConfig()  # off unless asked for
    rig: str | RigConfig = "default"  # name in configs/rigs, a path, or inline

    source: Path | None = Field(None, exclude=True)

    @field_validator("start_clock")
    @classmethod
    def _clock_is_hhmm(cls, value: str) -> str:
        Clock.parse(value, "mon")  # ValueError names the bad text
        return value

    def resolve_rig(self) -> RigConfig:
        if isinstance(self.rig, RigConfig):
            return self.rig
        base = self.source.parent if self.source is not None else None
        return load_rig(resolve_rig_path(self.rig, base))


def resolve_scenario_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = SCENARIOS_DIR / f"{name_or_path}.yaml"
    return path


def load_scenario(name_or_path: str) -> Scenario:
    """Load a scenario by name (``stop_sign``) or path; errors name the file and field."""
    path = resolve_scenario_path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml")))
        raise ConfigError(f"{path}: scenario file not found (project scenarios: {known})")
    scenario = load_model(Scenario, path)
    return scenario.model_copy(update={"source": path})
