"""The encoder-backed note reader: intent from the sentence encoder, careful numbers,
units and times (a time read two ways is resolved by the zone's hours or refused)."""

from __future__ import annotations

import pytest

from maps.lane_path import LanePath
from maps.route_map import SpeedSegment
from reasoning.map_context import MapContext, map_speed_unit
from reasoning.map_text import (
    MapTextError,
    NoConstraintError,
    NoteParser,
    TimeWindow,
    ZoneKind,
    intent_text,
)
from reasoning.note_reader import EncoderNoteParser
from reasoning.rules import RuleEngine


@pytest.fixture(scope="module")
def parser() -> EncoderNoteParser:
    return EncoderNoteParser(default_unit="km/h")


def test_satisfies_the_protocol(parser: EncoderNoteParser) -> None:
    assert isinstance(parser, NoteParser)


def test_school_hours_resolve_a_bare_afternoon_time(parser: EncoderNoteParser) -> None:
    got = parser.parse("School zone 20 mph 2:45-4 weekdays")
    assert got.kind is ZoneKind.SCHOOL_ZONE
    assert got.windows == (TimeWindow(14 * 60 + 45, 16 * 60),)
    assert "'2:45-4' read as 14:45-16:00: school zone hours are 06:00-19:00" in got.reading
    assert got.reading in got.describe()


def test_school_hours_resolve_a_morning_time(parser: EncoderNoteParser) -> None:
    assert parser.parse("School zone 25 mph 7-9").windows == (TimeWindow(7 * 60, 9 * 60),)


def test_a_time_read_two_ways_without_context_is_refused(parser: EncoderNoteParser) -> None:
    with pytest.raises(MapTextError) as err:
        parser.parse("Road works 40 km/h 2:45-4 weekdays")
    message = str(err.value)
    assert "'2:45-4' reads as 02:45-04:00 or 14:45-16:00" in message
    assert "14:45-16:00 or 2:45-4 pm" in message


def test_24_hour_times_are_not_ambiguous(parser: EncoderNoteParser) -> None:
    got = parser.parse("Road works 40 km/h 14:00-16:00")
    assert got.windows == (TimeWindow(14 * 60, 16 * 60),) and got.reading == ""
    # one 24-hour time says the note keeps the 24-hour clock
    assert parser.parse("Baustelle 60 km/h 7-17 Uhr").windows == (TimeWindow(7 * 60, 17 * 60),)


def test_a_number_without_a_unit_takes_the_maps_unit_and_says_so(
    parser: EncoderNoteParser,
) -> None:
    got = parser.parse("Slow to 60")
    assert (got.cap_value, got.cap_unit) == (60, "km/h")
    assert got.reading == "no unit given: km/h, the map's unit"
    with pytest.raises(MapTextError, match=r"has no unit .* and the map gives none"):
        EncoderNoteParser().parse("Slow to 60")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Speed limit sixty-five mph", 65),
        ("twenty five mph school zone", 25),
        ("forty kilometres per hour", 40),
        ("Baustelle: vierzig km/h", 40),
        ("Zone scolaire trente km/h", 30),
    ],
)
def test_number_words(parser: EncoderNoteParser, text: str, value: float) -> None:
    assert parser.parse(text).cap_value == value


def test_a_note_about_something_else_sets_no_constraint(parser: EncoderNoteParser) -> None:
    with pytest.raises(NoConstraintError, match="sets no speed constraint"):
        parser.parse("Scenic viewpoint")
    assert issubclass(NoConstraintError, MapTextError)  # callers that catch it still do


def test_intent_text_drops_numbers_units_and_times() -> None:
    assert intent_text("SCHOOL ZONE 20 MPH 7-9 AM") == "school zone"


def test_the_rules_read_notes_in_the_maps_unit() -> None:
    records = (SpeedSegment(0.0, 100.0, 20 / 2.2369362920544, 20.0, "mph", "map"),)
    assert map_speed_unit(records) == "mph"
    assert map_speed_unit(()) is None
    engine = RuleEngine(MapContext(LanePath.straight(100.0), records))
    assert isinstance(engine.parser, EncoderNoteParser)
    assert engine.parser.default_unit == "mph"
