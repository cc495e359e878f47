"""The scorer's law: limits from records and signs (a passed sign holds, the lower of
record and sign), zones in their hours and days (windows may wrap midnight), zones from
scenario notes and zone signs, and the scenario's ``law`` fields checked at load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.law import RouteLaw, SpeedSign, Zone, route_law
from loop.worlds import WORLDS, WorldOptions
from maps.route_map import SpeedSegment
from roadmind.clock import Clock
from roadmind.errors import ConfigError
from roadmind.units import kmh_to_mps, mph_to_mps
from sim.rig import RigConfig
from sim.scenario import Scenario, hours_window_min, load_scenario

NO_SENSORS = RigConfig(cameras=[], lidars=[])
ROOT = Path(__file__).resolve().parents[2]


def _record(a: float, b: float, kmh: float) -> SpeedSegment:
    return SpeedSegment(a, b, kmh_to_mps(kmh), kmh, "km/h", "map speed record")


def _sign(s: float, kmh: float) -> SpeedSign:
    return SpeedSign(s, kmh_to_mps(kmh))


def _kmh(mps: float | None) -> float | None:
    return None if mps is None else round(mps * 3.6, 6)


def test_a_passed_sign_holds_until_the_next() -> None:
    law = RouteLaw(500, speed_signs=(_sign(50, 30), _sign(200, 60)))
    assert law.posted_limit_mps(10) is None  # before any sign, no record: no limit
    assert _kmh(law.posted_limit_mps(50)) == 30  # in force from the sign on
    assert _kmh(law.posted_limit_mps(199.9)) == 30
    assert _kmh(law.posted_limit_mps(450)) == 60  # the last sign holds to the route's end


def test_record_and_sign_the_lower_holds() -> None:
    law = RouteLaw(
        400,
        speed_records=(_record(0, 200, 50), _record(200, 400, 30)),
        speed_signs=(_sign(100, 40),),
    )
    assert _kmh(law.posted_limit_mps(50)) == 50  # record alone
    assert _kmh(law.posted_limit_mps(150)) == 40  # sign lower than the record
    assert _kmh(law.posted_limit_mps(250)) == 30  # record lower than the passed sign
    assert _kmh(RouteLaw(100).posted_limit_mps(50)) is None


def test_zone_in_force_only_in_its_hours_and_days() -> None:
    zone = Zone(
        "school_zone", 0, 100, mph_to_mps(20), ((420, 540), (840, 960)), frozenset({"mon", "tue"})
    )
    assert zone.in_force(Clock.parse("08:00", "mon"))
    assert zone.in_force(Clock.parse("15:59", "tue"))
    assert not zone.in_force(Clock.parse("09:00", "mon"))  # the end is exclusive
    assert not zone.in_force(Clock.parse("12:00", "mon"))
    assert not zone.in_force(Clock.parse("08:00", "wed"))
    always = Zone("road_works", 0, 100, kmh_to_mps(40))
    assert always.in_force(Clock.parse("03:00", "sun"))


def test_a_window_wrapping_midnight_belongs_to_the_day_it_starts() -> None:
    night = Zone("road_works", 0, 100, kmh_to_mps(40), (hours_window_min("22:00-06:00"),))
    assert night.in_force(Clock.parse("23:30", "wed"))
    assert night.in_force(Clock.parse("05:59", "thu"))
    assert not night.in_force(Clock.parse("06:00", "thu"))
    assert not night.in_force(Clock.parse("12:00", "thu"))
    friday_night = Zone(
        "road_works", 0, 100, kmh_to_mps(40), (hours_window_min("22:00-06:00"),), frozenset({"fri"})
    )
    assert friday_night.in_force(Clock.parse("23:00", "fri"))
    assert friday_night.in_force(Clock.parse("05:00", "sat"))  # Friday night, after midnight
    assert not friday_night.in_force(Clock.parse("05:00", "fri"))  # Thursday night's
    assert not friday_night.in_force(Clock.parse("23:00", "sat"))
    assert hours_window_min("22:00-24:00") == (1320, 1440)


def test_limit_and_school_cap_from_zones_in_force() -> None:
    school = Zone("school_zone", 50, 150, mph_to_mps(20), ((420, 540),))
    works = Zone("road_works", 100, 300, kmh_to_mps(30))
    law = RouteLaw(400, speed_records=(_record(0, 400, 50),), zones=(school, works))
    morning, noon = Clock.parse("08:00", "tue"), Clock.parse("12:00", "tue")
    assert law.limit_mps(60, morning) == pytest.approx(mph_to_mps(20))
    assert law.school_cap_mps(60, morning) == pytest.approx(mph_to_mps(20))
    assert law.limit_mps(60, noon) == pytest.approx(kmh_to_mps(50))
    assert law.school_cap_mps(60, noon) is None
    assert law.limit_mps(200, noon) == pytest.approx(kmh_to_mps(30))
    assert law.school_cap_mps(200, noon) is None  # road works are not a school zone
    assert law.school_cap_mps(150, morning) == pytest.approx(mph_to_mps(20))  # ends count
    assert law.limit_mps(150, morning) == pytest.approx(kmh_to_mps(30))  # the lowest holds


def _built(scenario: Scenario) -> RouteLaw:
    with WORLDS["embedded"](WorldOptions(NO_SENSORS)) as world:
        world.reset(scenario)
        dm = world.drive_map()
        return route_law(dm.carla_map, dm.route, dm.signs, scenario)


def test_route_law_of_the_school_zone_scenario() -> None:
    law = _built(load_scenario("school_zone"))
    # the note's zone; the zone sign stands at its start, so it adds none of its own
    assert [(z.kind, round(z.s_from_m), round(z.s_to_m)) for z in law.zones] == [
        ("school_zone", 60, 150)
    ]
    zone = law.zones[0]
    assert zone.cap_mps == pytest.approx(mph_to_mps(20))
    assert zone.windows_min == ((420, 540), (840, 960))
    assert zone.days == frozenset({"mon", "tue", "wed", "thu", "fri"})


def test_route_law_knows_a_temporary_limit_the_map_lacks() -> None:
    law = _built(load_scenario("road_works_temporary"))  # route from road s 380 m
    noon = Clock.parse("12:00", "thu")
    assert law.limit_mps(50, noon) == pytest.approx(kmh_to_mps(70))  # map record and sign
    assert law.limit_mps(120, noon) == pytest.approx(kmh_to_mps(40))  # the scenario's sign
    assert law.limit_mps(180, noon) == pytest.approx(kmh_to_mps(70))  # restored after
    assert law.zones == ()  # the "ROAD WORKS" plate states no zone


def test_route_law_takes_the_posted_sign_under_an_outdated_record() -> None:
    law = _built(load_scenario("map_outdated_limit"))  # route from road s 5 m
    noon = Clock.parse("12:00", "mon")
    assert law.limit_mps(100, noon) == pytest.approx(kmh_to_mps(50))
    assert law.limit_mps(150, noon) == pytest.approx(kmh_to_mps(30))  # record 50, sign 30


def test_route_law_of_a_school_zone_plate_with_no_note() -> None:
    law = _built(load_scenario("school_zone_plate"))
    assert [(z.kind, round(z.s_from_m), round(z.s_to_m)) for z in law.zones] == [
        ("school_zone", 60, 260)
    ]
    zone = law.zones[0]
    assert zone.in_force(Clock.parse("07:45", "tue"))
    assert not zone.in_force(Clock.parse("08:15", "sat"))
    assert not zone.in_force(Clock.parse("11:00", "tue"))


def test_a_zone_sign_with_no_note_makes_a_zone_of_its_length() -> None:
    base = load_scenario("road_works")
    note = base.notes[0].model_copy(update={"law": None})  # the note states nothing
    sign = base.signs[0]
    sign = sign.model_copy(update={"law": sign.law.model_copy(update={"length_m": 120.0})})  # type: ignore[union-attr]
    law = _built(base.model_copy(update={"notes": [note], "signs": [sign]}))
    assert len(law.zones) == 1
    zone = law.zones[0]
    assert zone.kind == "road_works" and zone.s_to_m - zone.s_from_m == pytest.approx(120.0)
    assert zone.windows_min == () and zone.days == frozenset()


def _scenario_yaml(tmp_path: Path, note: str, sign: str = "") -> Path:
    text = (
        "name: t\nmap: straight_speed\n"
        "ego: {start: {road: 1, lane: -1, s_m: 5}}\n"
        f"notes:\n  - {note}\n" + (f"signs:\n  - {sign}\n" if sign else "")
    )
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("note", "sign", "message"),
    [
        ('{road: 1, s_to_m: 50, text: "School zone 20 mph"}', "", "notes.0.law: Field required"),
        (
            '{road: 1, s_to_m: 50, text: "x", law: {kind: school_zone, cap: 20, unit: mph, '
            'hours: ["7-9"]}}',
            "",
            "notes.0.law.hours: hours window '7-9' must be HH:MM-HH:MM",
        ),
        (
            '{road: 1, s_to_m: 50, text: "x", law: {kind: school_zone, cap: 20, unit: m/s}}',
            "",
            "notes.0.law.unit: Input should be 'km/h' or 'mph'",
        ),
        (
            '{road: 1, s_to_m: 50, text: "x", law: {kind: zoo, cap: 20, unit: mph}}',
            "",
            "notes.0.law.kind: Input should be",
        ),
        (
            '{road: 1, s_to_m: 50, text: "x", law: {kind: road_works, cap: 40, unit: km/h, '
            "days: [mon, funday]}}",
            "",
            "notes.0.law.days.1: Input should be",
        ),
        (
            '{road: 1, s_to_m: 50, text: "x", law: null}',
            "{type: stop, at: {road: 1, lane: -1, s_m: 20}, "
            "law: {kind: school_zone, cap: 20, unit: mph}}",
            "signs.0: law: only school_zone and text signs state a zone, not stop",
        ),
        (
            '{road: 1, s_to_m: 50, text: "x", law: null}',
            "{type: speed_limit, at: {road: 1, lane: -1, s_m: 20}}",
            "signs.0: a speed_limit sign needs a value",
        ),
    ],
)
def test_bad_law_is_a_clear_config_error(
    tmp_path: Path, note: str, sign: str, message: str
) -> None:
    path = _scenario_yaml(tmp_path, note, sign)
    with pytest.raises(ConfigError) as err:
        load_scenario(str(path))
    assert f"{path}: {message}" in str(err.value)


def test_a_note_stating_no_law_loads(tmp_path: Path) -> None:
    path = _scenario_yaml(tmp_path, '{road: 1, s_to_m: 50, text: "Deer crossing", law: null}')
    assert load_scenario(str(path)).notes[0].law is None


def test_the_scorer_loads_nothing_of_the_agent() -> None:
    """The driving judge shares no code with the car it judges, not even indirectly."""
    probe = (
        "import sys, evaluation.driving, evaluation.law; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'reasoning', 'agent', 'loop'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
