"""Leaderboard metrics on hand-made drives along a straight route: each infraction is
detected where it happens and costs its coefficient; speeding and school zones are
measured against the limit in force."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.driving import PENALTY, DrivingMetrics, Infraction
from evaluation.law import RouteLaw, Zone
from maps.route_map import RouteLight, RouteSign, SpeedSegment
from roadmind.clock import Clock
from roadmind.frames import Pose
from roadmind.messages import ActorTruth, CollisionTruth, LightState, ObjectClass, SignType
from roadmind.units import kmh_to_mps, mph_to_mps

EGO_EXTENT = np.array([2.35, 0.95, 0.75])
MON_FRI = frozenset({"mon", "tue", "wed", "thu", "fri"})
DT = 0.05


def _law(length_m: float, limits_kmh=(), **kw: object) -> RouteLaw:
    """A straight route's law; ``limits_kmh``: (from, to, km/h) speed records."""
    records = tuple(
        SpeedSegment(a, b, kmh_to_mps(v), v, "km/h", "map speed record") for a, b, v in limits_kmh
    )
    return RouteLaw(length_m, records, **kw)  # type: ignore[arg-type]


def _metrics(law: RouteLaw, clock: str = "08:00", weekday: str = "tue") -> DrivingMetrics:
    return DrivingMetrics(law, Clock.parse(clock, weekday), EGO_EXTENT)


def _run(metrics: DrivingMetrics, speeds_mps: list[float], lights=None, actors=()) -> None:
    s, t = 0.0, 0.0
    for v in speeds_mps:
        metrics.update(t, Pose(x_m=s), v, s, 0.0, actors, lights or {})
        s += v * DT
        t += DT


def test_clean_drive_scores_100() -> None:
    m = _metrics(_law(100, [(0, 100, 50)]))
    _run(m, [10.0] * 200)  # 100 m at 36 km/h
    summary = m.summary()
    assert summary["driving_score"] == 100.0
    assert summary["infractions"] == []
    assert summary["speeding"]["time_s"] == 0.0


def test_red_light_run_costs_0_70_and_green_does_not() -> None:
    spec = _law(200, lights=(RouteLight(7, 50.0),))
    red = _metrics(spec)
    _run(red, [10.0] * 200, lights={7: LightState.RED})
    green = _metrics(spec)
    _run(green, [10.0] * 200, lights={7: LightState.GREEN})
    assert [e.kind for e in red.infractions] == [Infraction.RED_LIGHT]
    assert red.penalty == pytest.approx(0.70)
    assert red.infractions[0].route_s_m == pytest.approx(50, abs=0.6)
    assert green.infractions == []


def test_rolling_stop_is_an_infraction_full_stop_is_not() -> None:
    spec = _law(100, stop_signs=(RouteSign(SignType.STOP, 30.0, 3),))
    rolling = _metrics(spec)
    _run(rolling, [10.0] * 50 + [1.0] * 60 + [10.0] * 100)
    assert [e.kind for e in rolling.infractions] == [Infraction.STOP_SIGN]
    full = _metrics(spec)
    # 10 m/s for 27 m, stop (front bumper ~1 m before the line), go on
    _run(full, [10.0] * 52 + [0.05] * 20 + [5.0] * 100)
    assert full.infractions == []


def test_collisions_once_per_contact_with_their_coefficients() -> None:
    m = _metrics(_law(200))
    ped = ActorTruth(
        5, ObjectClass.PEDESTRIAN, Pose(x_m=20.0), np.array([0.25, 0.3, 0.9]), np.zeros(3)
    )
    car = ActorTruth(6, ObjectClass.VEHICLE, Pose(x_m=40.0), np.array([2.3, 0.9, 0.7]), np.zeros(3))
    _run(m, [8.0] * 150, actors=(ped, car))
    kinds = sorted(e.kind for e in m.infractions)
    assert kinds == [Infraction.COLLISION_PEDESTRIAN, Infraction.COLLISION_VEHICLE]
    assert m.penalty == pytest.approx(PENALTY[Infraction.COLLISION_PEDESTRIAN] * 0.60)
    assert m.summary()["driving_score"] == pytest.approx(100 * m.route_completion * 0.30, abs=0.01)


def test_a_pole_is_a_static_collision() -> None:
    m = _metrics(_law(100))
    m.poles_xy = np.array([[30.0, 0.5], [30.0, 5.0]])  # one in the path, one beside it
    _run(m, [10.0] * 100)
    assert [e.kind for e in m.infractions] == [Infraction.COLLISION_STATIC]


def test_speeding_time_distance_and_excess() -> None:
    m = _metrics(_law(500, [(0, 100, 50), (100, 500, 30)]))
    _run(m, [60 / 3.6] * 200 + [30 / 3.6] * 100)  # 10 s at 60 km/h: over 50, then over 30
    sp = m.summary()["speeding"]
    assert sp["max_over_kmh"] == pytest.approx(30.0, abs=0.1)
    assert 9.5 <= sp["time_s"] <= 10.05
    assert sp["distance_m"] == pytest.approx(sp["time_s"] * 60 / 3.6, rel=0.01)
    assert sp["episodes"] == 1
    assert sp["episodes_per_km"] > 0


def test_school_zone_only_inside_its_hours() -> None:
    school = Zone("school_zone", 50, 150, mph_to_mps(20), ((7 * 60, 9 * 60),), MON_FRI)
    spec = _law(300, zones=(school,))
    inside = _metrics(spec, clock="08:00", weekday="tue")
    _run(inside, [40 / 3.6] * 400)
    saturday = _metrics(spec, clock="08:00", weekday="sat")
    _run(saturday, [40 / 3.6] * 400)
    zone = inside.summary()["school_zone_violations"]
    assert zone["episodes"] == 1 and zone["distance_m"] == pytest.approx(100, abs=2)
    assert saturday.summary()["school_zone_violations"]["time_s"] == 0.0


def test_route_completion_counts_progress_on_the_route() -> None:
    m = _metrics(_law(100))
    _run(m, [10.0] * 60)  # 30 m: front at ~32 m
    assert m.route_completion == pytest.approx(32.35 / 100, abs=0.01)
    m.update(10.0, Pose(x_m=90.0, y_m=8.0), 10.0, 90.0, 8.0, (), {})  # off the route
    assert m.route_completion == pytest.approx(32.35 / 100, abs=0.01)


def test_sensor_contacts_with_the_static_world_once_per_contact() -> None:
    m = _metrics(_law(100))
    pole = CollisionTruth(31, ObjectClass.UNKNOWN, "static.pole", 900.0)
    light = CollisionTruth(32, ObjectClass.TRAFFIC_LIGHT, "traffic.traffic_light", 500.0)
    car = CollisionTruth(33, ObjectClass.VEHICLE, "vehicle.tesla.model3", 800.0)
    events = {0: (pole,), 1: (pole,), 10: (light, car), 60: (pole,)}  # steps; 60 is 3 s later
    for step in range(80):
        m.update(
            step * DT,
            Pose(x_m=step * 0.1),
            2.0,
            step * 0.1,
            0.0,
            (),
            {},
            events.get(step, ()),
            ("Solid",) if step == 5 else (),
        )
    details = [(e.kind, e.detail) for e in m.infractions]
    assert details == [
        (Infraction.COLLISION_STATIC, "static.pole"),
        (Infraction.COLLISION_STATIC, "traffic.traffic_light"),
        (Infraction.COLLISION_STATIC, "static.pole"),
    ]  # the car is judged by its footprint, not here
    assert m.summary()["lane_invasions"] == 1
    assert _metrics(_law(100)).summary()["lane_invasions"] is None  # no sensor
