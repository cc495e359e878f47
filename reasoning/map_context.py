"""What the car knows from the map along its planned route: what ``maps.route_map``
reads there (speed records, signs and lights at their stop lines, crosswalks,
junctions) plus the scenario's free-text notes parsed into constraints. A note that
cannot be parsed stays in the context with its error, so it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import carla

from maps.lane_path import LanePath
from maps.route_map import (
    RouteLight,
    RouteSign,
    RouteSpan,
    SpeedSegment,
    crosswalk_spans,
    junction_spans,
    road_range_on_route,
    route_landmarks,
    speed_segments,
)
from reasoning.map_text import CAP_UNITS, MapTextError, NoteParser, TextConstraint
from reasoning.note_reader import EncoderNoteParser
from roadmind.messages import SignType


@dataclass(frozen=True, slots=True)
class RouteNote:
    """A map-text note on a stretch of the route; ``constraint`` None means ``error`` says why."""

    s_from_m: float
    s_to_m: float
    text: str
    constraint: TextConstraint | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class NoteSpan:
    """A scenario note as written: road id and OpenDRIVE s range."""

    road_id: int
    s_from_m: float
    s_to_m: float
    text: str


@dataclass(frozen=True)
class MapContext:
    path: LanePath
    speed_limits: tuple[SpeedSegment, ...] = ()
    signs: tuple[RouteSign, ...] = ()
    lights: tuple[RouteLight, ...] = ()
    crosswalks: tuple[RouteSpan, ...] = ()
    junctions: tuple[RouteSpan, ...] = ()
    notes: tuple[RouteNote, ...] = ()
    off_route_ids: frozenset[int] = frozenset()  # map signs and lights that govern other lanes
    problems: tuple[str, ...] = ()  # map records that could not be read, each with its place

    def speed_record_at(self, s_m: float) -> SpeedSegment | None:
        for seg in self.speed_limits:
            if seg.s_from_m <= s_m < seg.s_to_m:
                return seg
        return None

    def landmark(self, landmark_id: int | None) -> RouteSign | None:
        """The route's map sign with this landmark id, if any."""
        if landmark_id is None:
            return None
        return next((g for g in self.signs if g.landmark_id == landmark_id), None)

    def last_sign_before(self, sign_type: SignType, s_m: float) -> RouteSign | None:
        passed = [g for g in self.signs if g.sign_type is sign_type and g.s_m <= s_m]
        return max(passed, key=lambda g: g.s_m) if passed else None


# --------------------------------------------------------------------------- building


def map_speed_unit(records: Sequence[SpeedSegment]) -> str | None:
    """The unit most of the map's speed records along the route use (km/h or mph): the
    unit a note's bare number is read in. None where the records give none."""
    units = [r.unit for r in records if r.unit in CAP_UNITS]
    return max(CAP_UNITS, key=units.count) if units else None


def default_parser(records: Sequence[SpeedSegment]) -> NoteParser:
    """The note reader the rules use: the encoder-backed one, in the map's unit."""
    return EncoderNoteParser(map_speed_unit(records), "the map's unit")


def build_map_context(
    carla_map: carla.Map,
    path: LanePath,
    notes: Sequence[NoteSpan] = (),
    parser: NoteParser | None = None,
) -> MapContext:
    """Everything the map knows along ``path`` (a route planned on ``carla_map``)."""
    problems: list[str] = []
    signs, lights, off_route = route_landmarks(carla_map, path, problems)
    records = speed_segments(carla_map, path, problems, signs)
    parser = parser or default_parser(records)
    return MapContext(
        path,
        records,
        tuple(sorted(signs, key=lambda g: g.s_m)),
        tuple(sorted(lights, key=lambda lt: lt.s_m)),
        crosswalk_spans(carla_map, path),
        junction_spans(path),
        tuple(
            _route_note(path, note, parser)
            for note in notes
            if road_range_on_route(path, note.road_id, note.s_from_m, note.s_to_m)
        ),
        frozenset(off_route),
        tuple(problems),
    )


def _route_note(path: LanePath, note: NoteSpan, parser: NoteParser) -> RouteNote:
    span = road_range_on_route(path, note.road_id, note.s_from_m, note.s_to_m)
    assert span is not None
    try:
        return RouteNote(*span, note.text, parser.parse(note.text))
    except MapTextError as exc:
        return RouteNote(*span, note.text, None, str(exc))
