"""Scenario and rig documents that used to load and then drive wrong: each is refused
with the file and the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadmind.errors import ConfigError, UserError
from sim.embedded.world import EmbeddedWorld
from sim.rig import RigConfig, load_rig
from sim.scenario import load_scenario

BASE = "name: t\nmap: four_way_stop\nego:\n  start: {road: 1, lane: 1, s_m: 50}\n"


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def _refused(tmp_path: Path, text: str) -> str:
    path = _scenario(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_scenario(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    return message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("traffic_lights: {{green_s: {v}}}\n", "traffic_lights.green_s"),
        ("traffic_lights: {{yellow_s: {v}}}\n", "traffic_lights.yellow_s"),
        ("traffic_lights: {{all_red_s: {v}}}\n", "traffic_lights.all_red_s"),
        ("traffic_lights: {{offset_s: {v}}}\n", "traffic_lights.offset_s"),
        (
            "signs: [{{type: speed_limit, value: {v}, unit: km/h, "
            "at: {{road: 1, lane: 1, s_m: 30}}}}]\n",
            "signs.0.value",
        ),
        ("  speed_kmh: {v}\n", "ego.speed_kmh"),
        ("duration_s: {v}\n", "duration_s"),
        (
            "actors: [{{kind: vehicle, start: {{x_m: {v}, y_m: 1.0}}}}]\n",
            "actors.0.vehicle.start.x_m",
        ),
        (
            "notes: [{{road: 1, s_to_m: {v}, text: slow, law: null}}]\n",
            "notes.0.s_to_m",
        ),
        ("lighting: {{sun_elevation_deg: {v}}}\n", "lighting.sun_elevation_deg"),
    ],
)
def test_nan_and_infinity_are_refused_in_every_numeric_field(
    tmp_path: Path, extra: str, field: str, value: str
) -> None:
    message = _refused(tmp_path, BASE + extra.format(v=value))
    assert f": {field}: Input should be a finite number" in message


def test_a_nan_yaw_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("s_m: 50}", "s_m: 50, yaw_deg: .nan}")
    assert "ego.start.yaw_deg: Input should be a finite number" in _refused(tmp_path, text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "signs.0: a speed_limit sign needs a value in (0, 200]"),
        ("-30", "signs.0.value: Input should be greater than or equal to 0"),
    ],
)
def test_a_speed_sign_of_zero_or_below_is_refused(tmp_path: Path, value: str, message: str) -> None:
    sign = f"{{type: speed_limit, value: {value}, unit: km/h, at: {{road: 1, lane: 1, s_m: 30}}}}"
    assert message in _refused(tmp_path, BASE + f"signs: [{sign}]\n")


def test_a_negative_value_on_any_sign_is_refused(tmp_path: Path) -> None:
    extra = (
        "signs: [{type: school_zone, value: -30, unit: km/h, at: {road: 1, lane: 1, s_m: 30}}]\n"
    )
    assert "signs.0.value: Input should be greater than or equal to 0" in _refused(
        tmp_path, BASE + extra
    )


def test_a_sign_value_without_a_unit_is_refused(tmp_path: Path) -> None:
    extra = "signs: [{type: school_zone, value: 30, at: {road: 1, lane: 1, s_m: 30}}]\n"
    assert "signs.0: value 30 needs a unit" in _refused(tmp_path, BASE + extra)


@pytest.mark.parametrize(("s_from", "s_to"), [(80, 20), (40, 40)])
def test_a_note_that_ends_before_it_starts_is_refused(
    tmp_path: Path, s_from: int, s_to: int
) -> None:
    extra = f"notes: [{{road: 1, s_from_m: {s_from}, s_to_m: {s_to}, text: slow, law: null}}]\n"
    message = _refused(tmp_path, BASE + extra)
    assert f"notes.0: s_from_m ({s_from}) must be below s_to_m ({s_to})" in message


def test_hours_that_wrap_past_midnight_are_a_night_window(tmp_path: Path) -> None:
    """Documented (``hours_window_min``): an end before the start spans midnight."""
    extra = (
        "notes: [{road: 1, s_from_m: 0, s_to_m: 90, text: 'Works 30 km/h 22:00-06:00', "
        "law: {kind: road_works, cap: 30, unit: km/h, hours: ['22:00-06:00']}}]\n"
    )
    scenario = load_scenario(str(_scenario(tmp_path, BASE + extra)))
    law = scenario.notes[0].law
    assert law is not None and law.hours == ["22:00-06:00"]


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_outside_unsigned_32_bit_is_refused(tmp_path: Path, seed: str) -> None:
    assert "seed: Input should be" in _refused(tmp_path, BASE + f"seed: {seed}\n")


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, BASE + "seed: 1\nseed: 2\n")
    assert "line 6: key 'seed' given twice (first on line 5)" in message


def test_an_empty_rig_file_is_refused_not_the_default_rig(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"rig\.yaml: the file is empty"):
        load_rig(path)


@pytest.mark.parametrize(
    ("rig", "field"),
    [
        ("cameras: [{pose: {x_m: .nan}}]\n", "cameras.0.pose.x_m"),
        ("cameras: [{pose: {yaw_deg: .inf}}]\n", "cameras.0.pose.yaw_deg"),
        ("lidars: [{pose: {pitch_deg: .nan}}]\n", "lidars.0.pose.pitch_deg"),
        ("lidars: [{range_m: .nan}]\n", "lidars.0.range_m"),
    ],
)
def test_nan_in_a_rig_pose_is_refused(tmp_path: Path, rig: str, field: str) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(rig)
    with pytest.raises(ConfigError, match=rf"rig\.yaml: {field}: Input should be a finite number"):
        load_rig(path)


# ------------------------------------------------------------------ placed on the map


def _reset(tmp_path: Path, text: str) -> None:
    with EmbeddedWorld(RigConfig(cameras=[], lidars=[])) as world:
        world.reset(load_scenario(str(_scenario(tmp_path, text))))


@pytest.mark.parametrize("goal_s", [50, 47])  # on the start; inside the car's own length
def test_a_goal_on_the_start_is_refused(tmp_path: Path, goal_s: int) -> None:
    text = BASE + f"  route: {{goal: {{road: 1, lane: 1, s_m: {goal_s}}}}}\n"
    with pytest.raises(UserError, match=r"ego\.route\.goal: the route .* is \d\.\d m long"):
        _reset(tmp_path, text)


@pytest.mark.parametrize(
    ("actor", "kind"),
    [
        ("{kind: vehicle, start: {road: 1, lane: 1, s_m: 52}, behaviour: parked}", "vehicle"),
        ("{kind: pedestrian, start: {road: 1, lane: 1, s_m: 50}, behaviour: stand}", "pedestrian"),
    ],
)
def test_an_actor_on_the_ego_is_refused_by_name(tmp_path: Path, actor: str, kind: str) -> None:
    clear = "{kind: vehicle, start: {road: 1, lane: 1, s_m: 30}}"
    text = BASE + f"actors:\n  - {clear}\n  - {actor}\n"
    with pytest.raises(UserError, match=rf"^actors\.1: the {kind} is placed on the ego"):
        _reset(tmp_path, text)


def test_a_goal_ahead_and_actors_clear_of_the_ego_load(tmp_path: Path) -> None:
    text = BASE + "  route: {goal: {road: 1, lane: 1, s_m: 40}}\n"
    text += "actors:\n  - {kind: vehicle, start: {road: 1, lane: 1, s_m: 43}, behaviour: parked}\n"
    _reset(tmp_path, text)
