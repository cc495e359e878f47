"""The law along a route, from ground truth, for the scorer.

What the map says (lane speed records, speed-limit and stop signs and traffic lights at
their stop lines, read by ``maps.route_map``) plus what the scenario put up (signs
placed by the world) and the legal meaning the scenario states for its notes and zone
signs (``law`` fields, never the free text). Nothing here imports the agent or its
rules: the judge reads the law on its own, so a bug in the car's rules or in its note
reader shows up as an infraction instead of being shared by car and judge.

How the law reads:

- The speed limit at a route position is the lane's speed record there and the last
  speed-limit sign passed (a passed sign holds until the next one); where both exist
  the lower holds (a map can contradict itself; the law takes the safe side).
- Zones (school zone, road works, a speed-limit note, other zones) cap the speed over
  their stretch of route while in force: inside one of their hours windows (none: all
  day) on one of their days (none: every day). A window wrapping midnight belongs to
  the day it starts on, so "fri 22:00-06:00" holds into Saturday morning.
- A zone sign makes a zone of its stated length unless a note of the same kind covers
  the sign (the note says where that zone ends).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

import carla

from maps.landmarks import SignSpec
from maps.lane_path import LanePath
from maps.route_map import (
    RouteLight,
    RouteSign,
    SpeedSegment,
    road_range_on_route,
    route_landmarks,
    speed_segments,
)
from maps.stop_lines import line_on_path
from roadmind.clock import WEEKDAYS, Clock
from roadmind.messages import SignType
from roadmind.units import speed_to_mps
from sim.scenario import NoteConfig, Scenario, SignConfig, ZoneLaw, hours_window_min

SCHOOL_ZONE = "school_zone"
SIGN_BEFORE_NOTE_M = 8.0  # a zone sign this far before its note's stretch is that note's sign


@dataclass(frozen=True, slots=True)
class SpeedSign:
    """A speed-limit sign where it takes effect on the route."""

    s_m: float
    limit_mps: float


@dataclass(frozen=True, slots=True)
class Zone:
    """A capped stretch of route; ``windows_min``: (start, end) minutes after midnight,
    end exclusive, end < start wraps midnight; empty ``windows_min`` or ``days``: always."""

    kind: str
    s_from_m: float
    s_to_m: float
    cap_mps: float
    windows_min: tuple[tuple[int, int], ...] = ()
    days: frozenset[str] = frozenset()
    source: str = ""

    def __post_init__(self) -> None:
        if not self.cap_mps > 0:
            raise ValueError(f"Zone.cap_mps must be > 0, got {self.cap_mps}")
        if self.s_to_m < self.s_from_m:
            raise ValueError(f"Zone runs backwards: s {self.s_from_m} to {self.s_to_m} m")
        if not self.days <= set(WEEKDAYS):
            raise ValueError(f"Zone.days must be among {WEEKDAYS}, got {sorted(self.days)}")

    def covers(self, s_m: float) -> bool:
        return self.s_from_m <= s_m <= self.s_to_m

    def in_force(self, clock: Clock) -> bool:
        if not self.windows_min:
            return self._on(clock.weekday)
        day_before = WEEKDAYS[(WEEKDAYS.index(clock.weekday) - 1) % 7]
        minute = clock.minute_of_day
        for start, end in self.windows_min:
            if start < end and start <= minute < end and self._on(clock.weekday):
                return True
            if end < start:  # wraps: the evening part is today's, the morning part yesterday's
                if minute >= start and self._on(clock.weekday):
                    return True
                if minute < end and self._on(day_before):
                    return True
        return False

    def _on(self, weekday: str) -> bool:
        return not self.days or weekday in self.days


@dataclass(frozen=True)
class RouteLaw:
    """The law along one route (route arc length s [m])."""

    length_m: float
    speed_records: tuple[SpeedSegment, ...] = ()
    speed_signs: tuple[SpeedSign, ...] = ()
    zones: tuple[Zone, ...] = ()
    stop_signs: tuple[RouteSign, ...] = ()  # s_m: the stop line
    lights: tuple[RouteLight, ...] = ()  # s_m: the stop line

    def posted_limit_mps(self, s_m: float) -> float | None:
        """Speed record and last sign passed at ``s_m``, the lower holding; None: neither."""
        limits = [r.limit_mps for r in self.speed_records if r.s_from_m <= s_m < r.s_to_m][:1]
        passed = [g for g in self.speed_signs if g.s_m <= s_m]
        if passed:
            last_s = max(g.s_m for g in passed)
            limits.append(min(g.limit_mps for g in passed if g.s_m == last_s))
        return min(limits) if limits else None

    def zones_in_force(self, s_m: float, clock: Clock) -> list[Zone]:
        return [z for z in self.zones if z.covers(s_m) and z.in_force(clock)]

    def caps_mps(self, s_m: float, clock: Clock) -> tuple[float | None, float | None]:
        """(limit in force, school-zone cap in force) at ``s_m`` at ``clock``; the limit is
        the posted one and every zone in force, the lowest holding; None: none."""
        zones = self.zones_in_force(s_m, clock)
        caps = [z.cap_mps for z in zones]
        posted = self.posted_limit_mps(s_m)
        if posted is not None:
            caps.append(posted)
        school = [z.cap_mps for z in zones if z.kind == SCHOOL_ZONE]
        return (min(caps) if caps else None), (min(school) if school else None)

    def limit_mps(self, s_m: float, clock: Clock) -> float | None:
        return self.caps_mps(s_m, clock)[0]

    def school_cap_mps(self, s_m: float, clock: Clock) -> float | None:
        return self.caps_mps(s_m, clock)[1]


# --------------------------------------------------------------------------- building


def route_law(
    carla_map: carla.Map, path: LanePath, signs: Iterable[SignSpec], scenario: Scenario
) -> RouteLaw:
    """The law along ``path`` from the map, the world's signs (``signs``: every sign the
    world put up; its scenario-added ones in ``scenario.signs`` order) and the scenario's
    stated law for notes and zone signs."""
    problems: list[str] = []  # unreadable map records: the law ignores them, as a court would
    map_signs, lights, _ = route_landmarks(carla_map, path, problems)
    added = [g for g in signs if not g.on_map]
    if len(added) != len(scenario.signs):
        raise ValueError(
            f"the world put up {len(added)} scenario signs but scenario "
            f"{scenario.name!r} has {len(scenario.signs)}"
        )
    placed = []  # (route s of the sign's line, its config)
    for spec, config in zip(added, scenario.signs, strict=True):
        if spec.sign_type is not SignType(config.type):
            raise ValueError(
                f"scenario sign {spec.sign_id} is a {spec.sign_type.value}, not {config.type}"
            )
        s = line_on_path(path, spec.stop_lines)
        if s is not None:
            placed.append((s, config))
    note_zones = [z for n in scenario.notes if (z := _note_zone(path, n)) is not None]
    speed_signs = [
        SpeedSign(g.s_m, speed_to_mps(g.value, g.unit))
        for g in map_signs
        if g.sign_type is SignType.SPEED_LIMIT
    ] + [
        SpeedSign(s, speed_to_mps(c.value, c.unit))  # value and unit checked by SignConfig
        for s, c in placed
        if c.type == "speed_limit"
    ]
    stop_signs = [g for g in map_signs if g.sign_type is SignType.STOP] + [
        RouteSign(SignType.STOP, s, None, c.value, c.unit, c.text)
        for s, c in placed
        if c.type == "stop"
    ]
    by_s = attrgetter("s_m")  # a stable sort: at one s, map signs stay first
    return RouteLaw(
        path.length_m,
        speed_segments(carla_map, path, problems, map_signs),
        tuple(sorted(speed_signs, key=by_s)),
        tuple(note_zones + _sign_zones(placed, note_zones)),
        tuple(sorted(stop_signs, key=by_s)),
        tuple(sorted(lights, key=by_s)),
    )


def _zone(law: ZoneLaw, s_from_m: float, s_to_m: float, source: str) -> Zone:
    return Zone(
        law.kind,
        s_from_m,
        s_to_m,
        speed_to_mps(law.cap, law.unit),
        tuple(hours_window_min(h) for h in law.hours),
        frozenset(law.days),
        source,
    )


def _note_zone(path: LanePath, note: NoteConfig) -> Zone | None:
    if note.law is None:
        return None
    span = road_range_on_route(path, note.road, note.s_from_m, note.s_to_m)
    if span is None:
        return None
    return _zone(note.law, *span, f"note {note.text!r}")


def _sign_zones(placed: list[tuple[float, SignConfig]], notes: list[Zone]) -> list[Zone]:
    zones = []
    for s, config in placed:
        law = config.law
        if law is None:
            continue
        covered = any(
            n.kind == law.kind and n.s_from_m - SIGN_BEFORE_NOTE_M <= s <= n.s_to_m for n in notes
        )
        if not covered:
            zones.append(_zone(law, s, s + law.length_m, f"{config.type} sign {config.text!r}"))
    return zones
