"""Scenario files (YAML): map, ego start and route, actors with behaviours and
triggers, light timings, extra signs, map-text notes, lighting, duration, seed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from roadmind.clock import Clock
from roadmind.config import StrictModel, load_model
from roadmind.errors import ConfigError
from roadmind.resources import configs_dir
from sim.lighting import LightingConfig
from sim.rig import RigConfig, load_rig, resolve_rig_path

SCENARIOS_DIR = configs_dir() / "scenarios"


class Place(StrictModel):
    """A point on the map: a lane point (road, lane, s) or a world point (x, y)."""

    road: int | None = None
    lane: int | None = None
    s_m: float | None = Field(None, ge=0.0)
    x_m: float | None = None
    y_m: float | None = None
    yaw_deg: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Place:
        lane_form = (self.road, self.lane, self.s_m)
        world_form = (self.x_m, self.y_m)
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
    goal: Place


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


class SignConfig(StrictModel):
    """A sign the scenario adds beside a lane, facing the lane's traffic."""

    type: Literal["speed_limit", "stop", "yield", "school_zone", "text"]
    at: Place
    value: float = 0.0
    unit: Literal["", "km/h", "mph"] = ""
    text: str = ""
    side_offset_m: float = Field(2.5, ge=0.0, le=20.0)  # from lane centre to the pole, right


class NoteConfig(StrictModel):
    """Free map text attached to a stretch of road (read by the reasoning module)."""

    road: int
    s_from_m: float = Field(0.0, ge=0.0)
    s_to_m: float = Field(..., ge=0.0)
    text: str = Field(..., min_length=1)


class Scenario(StrictModel):
    name: str
    description: str = ""
    map: str
    seed: int = 0
    duration_s: float = Field(30.0, gt=0.0, le=3600.0)
    start_clock: str = "08:00"  # local time of day (HH:MM) at t = 0, for time-windowed notes
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "wed"
    ego: EgoConfig
    actors: list[Annotated[VehicleActor | PedestrianActor, Field(discriminator="kind")]] = []
    traffic_lights: LightTimingConfig = LightTimingConfig()
    signs: list[SignConfig] = []
    notes: list[NoteConfig] = []
    lighting: LightingConfig = LightingConfig()
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
