from __future__ import annotations

import math

import pytest

from reasoning.map_text import (
    WEEKDAYS,
    MapTextError,
    NoteParser,
    RuleBasedNoteParser,
    TextConstraint,
    TimeWindow,
    ZoneKind,
    parse_note,
)
from roadmind.units import speed_to_mps

SCHOOL = ZoneKind.SCHOOL_ZONE
WORKS = ZoneKind.ROAD_WORKS
LIMIT = ZoneKind.SPEED_LIMIT
OTHER = ZoneKind.OTHER_ZONE

ALL = frozenset(WEEKDAYS)
MON_FRI = frozenset(WEEKDAYS[:5])
WEEKEND = frozenset({"sat", "sun"})


def w(start: str, end: str) -> TimeWindow:
    """TimeWindow from "HH:MM" strings."""
    (sh, sm), (eh, em) = (map(int, start.split(":")), map(int, end.split(":")))
    return TimeWindow(sh * 60 + sm, eh * 60 + em)


# text, kind, value, unit, windows, weekdays, condition
# fmt: off
CASES = [
    ("School zone: 20 mph 7:00-9:00 and 14:00-16:00 on school days", SCHOOL, 20, "mph", (w("07:00", "09:00"), w("14:00", "16:00")), MON_FRI, "school days"),
    ("Road works, 40 km/h", WORKS, 40, "km/h", (), ALL, ""),
    ("Speed limit 30 km/h", LIMIT, 30, "km/h", (), ALL, ""),
    ("SCHOOL ZONE 25 MPH 7-9 AM 2-4 PM MON-FRI", SCHOOL, 25, "mph", (w("07:00", "09:00"), w("14:00", "16:00")), MON_FRI, ""),
    ("Roadworks 50 kph until 18:00", WORKS, 50, "km/h", (w("00:00", "18:00"),), ALL, ""),
    ("Construction zone 60 km/h 22:00-05:00", WORKS, 60, "km/h", (w("22:00", "05:00"),), ALL, ""),
    ("Work zone: 30 mph weekdays 9am-3pm", WORKS, 30, "mph", (w("09:00", "15:00"),), MON_FRI, ""),
    ("30 km/h zone at night 22:00-06:00", LIMIT, 30, "km/h", (w("22:00", "06:00"),), ALL, "at night"),
    ("Speed limit 70 km/h on weekends", LIMIT, 70, "km/h", (), WEEKEND, ""),
    ("Playground zone 30 km/h 8:00-20:00 daily", OTHER, 30, "km/h", (w("08:00", "20:00"),), ALL, ""),
    ("School zone 20 mph when children are present", SCHOOL, 20, "mph", (), ALL, "when children are present"),
    ("Roadworks \u2013 40 km/h \u2014 Mon\u2013Fri 07:00\u201319:00", WORKS, 40, "km/h", (w("07:00", "19:00"),), MON_FRI, ""),
    ("School zone 20 mph 7\u20139 a.m. and 2\u20134 p.m.", SCHOOL, 20, "mph", (w("07:00", "09:00"), w("14:00", "16:00")), ALL, ""),
    ("speed limit 60 km/h between 7 and 9 pm", LIMIT, 60, "km/h", (w("19:00", "21:00"),), ALL, ""),
    ("Work zone 45 mph 11-1 pm", WORKS, 45, "mph", (w("11:00", "13:00"),), ALL, ""),
    ("Work zone 45 mph 10 pm - 2", WORKS, 45, "mph", (w("22:00", "02:00"),), ALL, ""),
    ("Max 80 km/h from 22:00", LIMIT, 80, "km/h", (TimeWindow(22 * 60, 24 * 60),), ALL, ""),
    ("Roadworks 40 km/h from 7:00 until 18:00", WORKS, 40, "km/h", (w("07:00", "18:00"),), ALL, ""),
    ("School zone 25 mph 7:00 AM to 9:00 AM", SCHOOL, 25, "mph", (w("07:00", "09:00"),), ALL, ""),
    ("Speed limit 30 km/h daily except sundays", LIMIT, 30, "km/h", (), ALL - {"sun"}, ""),
    ("Speed limit 40 mph fri-mon", LIMIT, 40, "mph", (), frozenset({"fri", "sat", "sun", "mon"}), ""),
    ("Speed limit 30 km/h mon, wed, fri 7:00 to 9:00", LIMIT, 30, "km/h", (w("07:00", "09:00"),), frozenset({"mon", "wed", "fri"}), ""),
    ("Speed limit 30 km/h on sat & sun", LIMIT, 30, "km/h", (), WEEKEND, ""),
    ("Speed Limit 30km/h Mo-Fr", LIMIT, 30, "km/h", (), MON_FRI, ""),
    ("Residential 30 kmh", OTHER, 30, "km/h", (), ALL, ""),
    ("Hospital zone 20 MPH", OTHER, 20, "mph", (), ALL, ""),
    ("20mph school zone 8.30-9.15", SCHOOL, 20, "mph", (w("08:30", "09:15"),), ALL, ""),
    ("Speed limit \uff17\uff10 km/h", LIMIT, 70, "km/h", (), ALL, ""),
    ("Speed\u00a0limit 30\u202fkm/h", LIMIT, 30, "km/h", (), ALL, ""),
    ("School zone 20 mph noon-1pm", SCHOOL, 20, "mph", (w("12:00", "13:00"),), ALL, ""),
    ("Speed limit 50 km/h midnight-6am", LIMIT, 50, "km/h", (w("00:00", "06:00"),), ALL, ""),
    ("Speed limit 30 km/h 22:00-00:00", LIMIT, 30, "km/h", (TimeWindow(22 * 60, 24 * 60),), ALL, ""),
    ("Road works 40 km/h 6 am until midnight", WORKS, 40, "km/h", (TimeWindow(6 * 60, 24 * 60),), ALL, ""),
    ("Speed limit 30 km/h 22h-6h", LIMIT, 30, "km/h", (w("22:00", "06:00"),), ALL, ""),
    ("30 kilometres per hour", LIMIT, 30, "km/h", (), ALL, ""),
    ("20 miles per hour school zone", SCHOOL, 20, "mph", (), ALL, ""),
    ("Road works 40 km/hr until 18 May 2025", WORKS, 40, "km/h", (), ALL, "until 18 may 2025"),
    ("speed limit 30 km/h between 22:00 and 06:00 weekends", LIMIT, 30, "km/h", (w("22:00", "06:00"),), WEEKEND, ""),
    ("Speed limit 30 km/h 24/7", LIMIT, 30, "km/h", (), ALL, ""),
    ("Road works 12.5 mph", WORKS, 12.5, "mph", (), ALL, ""),
    ("Road works 40 km/h sun glare", WORKS, 40, "km/h", (), ALL, ""),
    ("School zone 20 mph during school hours", SCHOOL, 20, "mph", (), ALL, "during school hours"),
    ("Speed limit 30 km/h weekdays except holidays", LIMIT, 30, "km/h", (), MON_FRI, "except holidays"),
    ("Road works 40 km/h, 500 m", WORKS, 40, "km/h", (), ALL, ""),
    ("SCHOOL ZONE 20 MPH WHEN FLASHING", SCHOOL, 20, "mph", (), ALL, "when flashing"),
    ("School zone 20 mph when children are present on school days 7-9 am", SCHOOL, 20, "mph", (w("07:00", "09:00"),), MON_FRI, "when children are present; school days"),
]
# fmt: on


@pytest.mark.parametrize(
    ("text", "kind", "value", "unit", "windows", "weekdays", "condition"), CASES
)
def test_parse_table(
    text: str,
    kind: ZoneKind,
    value: float,
    unit: str,
    windows: tuple[TimeWindow, ...],
    weekdays: frozenset[str],
    condition: str,
) -> None:
    got = parse_note(text)
    assert got.kind is kind
    assert got.cap_value == value
    assert got.cap_unit == unit
    assert got.cap_mps == pytest.approx(speed_to_mps(value, unit))
    assert got.windows == windows
    assert got.weekdays == weekdays
    assert got.condition == condition
    assert got.text == text


def test_table_is_large_and_varied() -> None:
    assert len(CASES) >= 25
    assert {case[1] for case in CASES} == set(ZoneKind)


def test_cap_mps_is_converted_once() -> None:
    assert parse_note("School zone 20 mph").cap_mps == pytest.approx(8.9408, abs=1e-4)
    assert parse_note("Speed limit 36 km/h").cap_mps == pytest.approx(10.0)


def test_same_cap_in_two_units_keeps_the_lower() -> None:
    got = parse_note("Speed limit 50 km/h (31 mph)")
    assert (got.cap_value, got.cap_unit) == (31, "mph")
    assert got.cap_mps < speed_to_mps(50, "km/h")


# --- active() ---------------------------------------------------------------------------------


def hm(clock: str) -> float:
    hours, minutes = map(int, clock.split(":"))
    return hours * 60 + minutes


@pytest.mark.parametrize(
    ("weekday", "clock", "expected"),
    [
        ("mon", "07:30", True),
        ("mon", "07:00", True),  # start inclusive
        ("mon", "09:00", False),  # end exclusive
        ("mon", "06:59", False),
        ("mon", "12:00", False),
        ("wed", "15:59", True),
        ("fri", "14:00", True),
        ("sat", "08:00", False),  # not a school day
        ("sun", "15:00", False),
    ],
)
def test_school_zone_active(weekday: str, clock: str, expected: bool) -> None:
    zone = parse_note("School zone: 20 mph 7:00-9:00 and 14:00-16:00 on school days")
    assert zone.active(weekday, hm(clock)) is expected


@pytest.mark.parametrize(
    ("weekday", "clock", "expected"),
    [
        ("thu", "23:00", True),
        ("fri", "00:00", True),
        ("fri", "04:59", True),
        ("fri", "05:00", False),
        ("fri", "12:00", False),
        ("fri", "21:59", False),
    ],
)
def test_overnight_window_every_day(weekday: str, clock: str, expected: bool) -> None:
    zone = parse_note("Construction zone 60 km/h 22:00-05:00")
    assert zone.active(weekday, hm(clock)) is expected


@pytest.mark.parametrize(
    ("weekday", "clock", "expected"),
    [
        ("fri", "22:00", True),
        ("sat", "03:00", True),  # Friday night, after midnight
        ("fri", "03:00", False),  # Thursday night: not listed
        ("sat", "23:00", False),
        ("sat", "05:00", False),
        ("thu", "23:30", False),
    ],
)
def test_overnight_window_belongs_to_the_day_it_starts(
    weekday: str, clock: str, expected: bool
) -> None:
    zone = parse_note("Road works 60 km/h 22:00-05:00 on fri")
    assert zone.weekdays == {"fri"}
    assert zone.active(weekday, hm(clock)) is expected


@pytest.mark.parametrize(
    ("weekday", "clock", "expected"),
    [
        ("fri", "23:00", False),
        ("sat", "02:00", False),  # started Friday
        ("sat", "23:00", True),
        ("sun", "02:00", True),
        ("mon", "02:00", True),  # started Sunday
        ("mon", "23:00", False),
    ],
)
def test_overnight_window_on_weekends(weekday: str, clock: str, expected: bool) -> None:
    zone = parse_note("speed limit 30 km/h between 22:00 and 06:00 weekends")
    assert zone.active(weekday, hm(clock)) is expected


def test_all_day_cap_follows_weekdays_only() -> None:
    zone = parse_note("Speed limit 70 km/h on weekends")
    assert zone.active("sat", 0.0)
    assert zone.active("sun", 1439.5)
    assert not zone.active("mon", 720.0)
    assert not zone.active("fri", 1439.0)


def test_unevaluated_condition_keeps_the_cap_on() -> None:
    zone = parse_note("School zone 20 mph when children are present")
    assert all(zone.active(day, minute) for day in WEEKDAYS for minute in (0.0, 450.5, 1439.0))


def test_until_window_starts_at_midnight() -> None:
    zone = parse_note("Roadworks 50 kph until 18:00")
    assert zone.active("tue", 0.0)
    assert zone.active("tue", 1079.9)
    assert not zone.active("tue", 1080.0)


def test_active_accepts_full_day_names_and_rejects_bad_input() -> None:
    zone = parse_note("Speed limit 70 km/h on weekends")
    assert zone.active("Saturday", 60.0)
    assert zone.active("SUN", 60.0)
    for bad_day in ("xyz", "", "saturdays", "monkey"):
        with pytest.raises(ValueError, match="unknown weekday"):
            zone.active(bad_day, 60.0)
    for bad_minute in (-1.0, 1440.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="minute_of_day"):
            zone.active("sat", bad_minute)


# --- TimeWindow / TextConstraint --------------------------------------------------------------


def test_time_window_contains() -> None:
    day = TimeWindow(420, 540)
    assert day.contains(420) and day.contains(539.99)
    assert not day.contains(540) and not day.contains(419.5)
    assert not day.wraps
    night = TimeWindow(1320, 300)
    assert night.wraps
    assert night.contains(1320) and night.contains(0) and night.contains(299)
    assert not night.contains(300) and not night.contains(720)
    assert str(night) == "22:00-05:00"
    assert str(TimeWindow(1320, 1440)) == "22:00-24:00"


@pytest.mark.parametrize(("start", "end"), [(1440, 60), (-1, 60), (60, 1441), (60, 60), (1.5, 60)])
def test_time_window_rejects_bad_bounds(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="TimeWindow"):
        TimeWindow(start, end)


def test_text_constraint_validates() -> None:
    good = {"kind": LIMIT, "cap_value": 30.0, "cap_unit": "km/h", "cap_mps": 30 / 3.6}
    assert TextConstraint(**good).weekdays == ALL
    with pytest.raises(ValueError, match="cap_unit"):
        TextConstraint(**{**good, "cap_unit": "m/s", "cap_mps": 30.0})
    with pytest.raises(ValueError, match="cap_mps"):
        TextConstraint(**{**good, "cap_mps": 30.0})
    with pytest.raises(ValueError, match="cap_value"):
        TextConstraint(**{**good, "cap_value": 0.0, "cap_mps": 0.0})
    with pytest.raises(ValueError, match="weekdays"):
        TextConstraint(**good, weekdays=frozenset({"monday"}))
    with pytest.raises(ValueError, match="weekdays"):
        TextConstraint(**good, weekdays=frozenset())
    with pytest.raises(ValueError, match="kind"):
        TextConstraint(**{**good, "kind": "speed_limit"})


def test_describe() -> None:
    school = parse_note("School zone: 20 mph 7:00-9:00 and 14:00-16:00 on school days")
    assert school.describe() == (
        "school zone 20 mph (8.9 m/s) 07:00-09:00, 14:00-16:00 mon-fri, school days"
    )
    assert parse_note("Speed limit 30 km/h").describe() == "speed limit 30 km/h (8.3 m/s)"
    assert parse_note("Construction zone 60 km/h 22:00-05:00").describe() == (
        "road works 60 km/h (16.7 m/s) 22:00-05:00"
    )
    assert parse_note("Road works 12.5 mph on sat & sun").describe() == (
        "road works 12.5 mph (5.6 m/s) sat-sun"
    )
    assert parse_note("Speed limit 30 km/h mon, wed, fri").describe().endswith("mon, wed, fri")


def test_rule_based_parser_satisfies_the_protocol() -> None:
    parser: NoteParser = RuleBasedNoteParser()
    assert isinstance(parser, NoteParser)
    text = "Work zone: 30 mph weekdays 9am-3pm"
    assert parser.parse(text) == parse_note(text)


# --- errors -----------------------------------------------------------------------------------


def test_error_message_names_the_note_and_what_is_missing() -> None:
    with pytest.raises(MapTextError) as err:
        parse_note("Beware of deer")
    assert str(err.value) == (
        "cannot read map note 'Beware of deer': no speed value with a unit (km/h, mph)"
    )
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Bus stop", "no speed value with a unit"),
        ("", "empty"),
        ("   ", "empty"),
        ("!!!###", "no speed value"),
        ("School zone 7:00-9:00", "no speed value"),
        ("Speed limit 30", "speed value 30 has no unit"),
        ("School zone 20 7-9 am", "speed value 20 has no unit"),
        ("School zone 20 mph 25:00-26:00", "invalid time '25:00'"),
        ("Speed limit 30 km/h 7:75-9:00", "invalid time '7:75'"),
        ("Road works 40 km/h 13pm-2pm", "invalid time '13pm'"),
        ("Speed limit 30 km/h until 24:30", "invalid time '24:30'"),
        ("School zone 20 mph 7:00-7:00", "is empty"),
        ("Speed limit 0 km/h", "out of range"),
        ("Speed limit -30 km/h", "out of range"),
        ("Speed limit 250 km/h", "out of range"),
        ("Speed limit 201 mph", "out of range"),
        ("Speed limit 10 m/s", "m/s"),
        ("30 km/h, 50 km/h at night", "several different speed values"),
        ("Road works 30 km/h 07:00-19:00, 50 km/h otherwise", "several different speed values"),
        ("Speed limit 30 km/h at 18:00", "cannot read time '18:00'"),
        ("Speed limit 30 km/h, 50 at night", "unrecognised number '50'"),
        ("Limit 30 km/h 0700-0900", "unrecognised number '0700'"),
        ("Speed limit 30 km/h daily except mon-sun", "no day"),
        ("Don't stop: 30", "has no unit"),
    ],
)
def test_errors_quote_the_note(text: str, reason: str) -> None:
    with pytest.raises(MapTextError) as err:
        parse_note(text)
    message = str(err.value)
    assert message.startswith(f"cannot read map note {text!r}: ")
    assert reason in message


def test_non_string_is_a_map_text_error() -> None:
    with pytest.raises(MapTextError, match="not a string"):
        parse_note(None)  # type: ignore[arg-type]
