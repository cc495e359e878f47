"""The CARLA backend against a fake of the carla client API boundary (no server here):
connection and versions, synchronous settings and their restoration, spawning, frame
gathering and dropped frames, teardown on errors and Ctrl-C, the closed loop."""

from __future__ import annotations

import json
import time
from pathlib import Path

import carla
import numpy as np
import pytest
import yaml
from fake_carla import (
    FakeCollisionEvent,
    FakeLaneInvasionEvent,
    FakeLaneMarking,
    FakeLidarMeasurement,
    FakeSensor,
    FakeServer,
    FakeStatic,
    FakeTrafficLight,
    FakeVehicle,
    FakeWalker,
    FakeWalkerController,
    camera_bytes,
    lidar_points,
)

from loop import worlds as world_module
from loop.drive import DriveOptions, drive
from loop.worlds import WorldOptions
from maps.road_map import MAPS_DIR
from roadmind.errors import UserError
from roadmind.messages import LightState, ObjectClass, VehicleControl
from sim.carla.backend import CarlaServerError, CarlaWorld, SensorStream, connect, town_for
from sim.carla.server import CarlaServer
from sim.rig import CameraConfig, LidarConfig, RigConfig
from sim.scenario import Scenario, load_scenario

TOWN01 = Path(__file__).resolve().parents[4] / "shared" / "maps" / "Town01.xodr"
RIG = RigConfig(
    cameras=[CameraConfig(name="front", width_px=32, height_px=18, fov_deg=90.0, rate_hz=20.0)],
    lidars=[LidarConfig(name="top", channels=4, columns=16, rate_hz=10.0)],
)
FAST = CarlaServer(port=2999, sensor_timeout_s=0.2, connect_attempts=5)


def fake_server(**kw: object) -> FakeServer:
    """A server whose current world is some other map (the backend must load its own)."""
    return FakeServer((MAPS_DIR / "straight_speed.xodr").read_text(), "Other", **kw)


def carla_world(fake: FakeServer, server: CarlaServer = FAST, rig: RigConfig = RIG) -> CarlaWorld:
    return CarlaWorld(rig, server, fake.client, sleep=lambda s: None)


def spawned(fake: FakeServer, cls: type) -> list:
    return [a for a in fake.world.actors.values() if isinstance(a, cls)]


def assert_released(fake: FakeServer) -> None:
    """Settings as before, every spawned actor gone, sensors stopped before destroyed."""
    s = fake.world.settings
    assert not s.synchronous_mode and s.fixed_delta_seconds is None
    assert fake.tm is None or not fake.tm.synchronous
    assert [a for a in fake.world.actors.values() if not isinstance(a, FakeTrafficLight)] == []
    assert not any("destroy-while-listening" in line for line in fake.log)
    for i, line in enumerate(fake.log):
        what, actor_id, type_id = [*line.split(), "", "", ""][:3]
        if what == "destroy" and type_id.startswith("sensor."):
            assert f"stop {actor_id} {type_id}" in fake.log[:i], f"{line} before its stop"


# --------------------------------------------------------------------------- connection


def test_unreachable_server_retries_with_backoff_then_one_message() -> None:
    fake = fake_server(unreachable_attempts=99)
    sleeps: list[float] = []
    with pytest.raises(CarlaServerError) as err:
        connect(CarlaServer(host="10.1.2.3", port=2999), fake.client, sleeps.append)
    assert fake.attempts == 5
    assert sleeps == [1.0, 2.0, 4.0, 8.0]  # doubling, nothing after the last attempt
    message = str(err.value)
    assert "10.1.2.3:2999" in message and "5 attempts" in message
    assert "CarlaUE4.sh" in message and "--port" in message
    assert isinstance(err.value, UserError) and "\n" not in message


def test_the_message_says_how_long_it_really_waited() -> None:
    """Each attempt waits for its time-out (2 s here) besides the backoff between them."""
    fake = fake_server(unreachable_attempts=99)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def factory(host: str, port: int) -> object:
        now[0] += 2.0  # a real client's connection attempt runs to its time-out
        return fake.client(host, port)

    with pytest.raises(CarlaServerError, match=r"5 attempts over 25 s"):
        connect(CarlaServer(), factory, sleep, clock=lambda: now[0])


def test_a_host_name_that_does_not_resolve_is_not_retried() -> None:
    fake = fake_server()
    fake.unknown_hosts.add("carla.invalid")
    sleeps: list[float] = []
    with pytest.raises(CarlaServerError) as err:
        connect(CarlaServer(host="carla.invalid"), fake.client, sleeps.append)
    assert fake.attempts == 1 and sleeps == []
    message = str(err.value)
    assert message == (
        "--host 'carla.invalid': the name does not resolve (Host not found (authoritative)); "
        "give the server's host name or IP address"
    )


def test_backoff_is_capped_and_a_late_server_is_taken() -> None:
    fake = fake_server(unreachable_attempts=6)
    sleeps: list[float] = []
    client = connect(CarlaServer(connect_attempts=8), fake.client, sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert client.timeout_s == CarlaServer().timeout_s  # the working timeout once connected


def test_version_mismatch_names_both_versions() -> None:
    fake = fake_server(version="0.9.15")
    with pytest.raises(CarlaServerError, match=r"client 0\.9\.16 and server 0\.9\.15 differ") as e:
        connect(FAST, fake.client, lambda s: None)
    assert "pip install carla==0.9.15" in str(e.value)


def test_builds_of_the_same_release_connect() -> None:
    fake = fake_server(version="0.9.16-3-g1a2b3c")
    assert connect(FAST, fake.client, lambda s: None) is not None


def test_unavailable_town_lists_the_available_ones() -> None:
    text = (MAPS_DIR / "straight_speed.xodr").read_text()
    fake = FakeServer(text, "Town01", towns={"Town01": text, "Town02": text, "Town10HD_Opt": text})
    scenario = load_scenario("default").model_copy(update={"map": "Town07"})
    with carla_world(fake) as world, pytest.raises(CarlaServerError) as err:
        world.reset(scenario)
    assert str(err.value) == (
        "town 'Town07' is not available on the CARLA server at 127.0.0.1:2999; "
        "available: Town01, Town02, Town10HD_Opt"
    )
    assert_released(fake)


def test_town_comes_from_the_option_or_the_map_name() -> None:
    scenario = load_scenario("default")
    assert town_for(scenario, CarlaServer()) is None  # a project .xodr: standalone world
    assert town_for(scenario, CarlaServer(town="Town03")) == "Town03"
    town = scenario.model_copy(update={"map": "/data/maps/Town01.xodr"})
    assert town_for(town, CarlaServer()) == "Town01"


# --------------------------------------------------------------------------- reset, spawning


def test_reset_goes_synchronous_and_close_restores_everything() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        frame = world.reset(load_scenario("default"))
        settings = fake.world.settings
        assert settings.synchronous_mode and settings.fixed_delta_seconds == pytest.approx(0.05)
        assert fake.tm is not None and fake.tm.synchronous and fake.tm.seed == 7
        assert frame.frame_id == 0 and frame.timestamp_s == 0.0
        # the Traffic Manager goes synchronous before the world does
        tm_at = fake.log.index("tm.set_synchronous_mode(True)")
        assert tm_at < fake.log.index("apply_settings(sync=True, dt=0.05)")
    assert_released(fake)


def test_a_synchronous_server_gets_its_own_settings_back() -> None:
    fake = fake_server()
    original = carla.WorldSettings(synchronous_mode=True, no_rendering_mode=True)
    original.fixed_delta_seconds = 0.1
    fake.world.settings = original
    with carla_world(fake) as world:
        world.reset(load_scenario("stop_sign"))
        assert fake.world.settings.fixed_delta_seconds == pytest.approx(0.05)
        assert not fake.world.settings.no_rendering_mode  # the cameras need rendering
    restored = fake.world.settings
    assert restored.synchronous_mode and restored.no_rendering_mode
    assert restored.fixed_delta_seconds == pytest.approx(0.1)
    assert fake.tm.synchronous  # as the world it serves


def test_standalone_opendrive_world_from_the_scenario_xodr() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        world.reset(load_scenario("default"))
        text, params = fake.opendrive
        assert text == (MAPS_DIR / "four_way_signals.xodr").read_text()
        assert params.enable_pedestrian_navigation  # walker AI controllers need it
        drive_map = world.drive_map()
        assert drive_map.carla_map is fake.world.get_map()  # the server's map, not a copy
        assert drive_map.route.length_m > 100.0
        assert {light.light_id for light in drive_map.lights}  # map landmarks, as embedded
        assert any(not sign.on_map for sign in drive_map.signs)  # scenario's sign


def test_broken_xodr_fails_before_the_server_sees_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.xodr"
    bad.write_text("<OpenDRIVE><road id='1' length='10'>")
    scenario = load_scenario("default").model_copy(update={"map": str(bad)})
    fake = fake_server()
    with carla_world(fake) as world, pytest.raises(UserError, match="not valid OpenDRIVE XML"):
        world.reset(scenario)
    assert fake.opendrive is None
    assert_released(fake)


@pytest.mark.skipif(not TOWN01.exists(), reason="CARLA town maps not beside the checkout")
def test_town_scenario_runs_on_the_servers_map_without_a_local_file() -> None:
    text = TOWN01.read_text()
    fake = FakeServer(text, "Carla/Maps/Town01", towns={"Town01": text})
    scenario = Scenario.model_validate(
        {
            "name": "town01",
            "map": "Town01",  # no such file here: the server has it
            "ego": {"start": {"road": 15, "lane": -1, "s_m": 150.0}},
            "actors": [{"kind": "vehicle", "start": {"road": 15, "lane": -1, "s_m": 170.0}}],
        }
    )
    with carla_world(fake) as world:
        frame = world.reset(scenario)
        assert "load_world(Town01)" not in fake.log  # already loaded: kept
        lights = frame.ground_truth.lights
        assert len(lights) >= 30 and all(lt.state is LightState.RED for lt in lights)
        assert len(world.drive_map().signs) >= 20
    assert_released(fake)


@pytest.mark.skipif(not TOWN01.exists(), reason="CARLA town maps not beside the checkout")
def test_town_option_loads_the_town() -> None:
    text = TOWN01.read_text()
    fake = FakeServer(
        (MAPS_DIR / "straight_speed.xodr").read_text(), "Other", towns={"Town01": text}
    )
    scenario = Scenario.model_validate(
        {
            "name": "t",
            "map": "somewhere.xodr",
            "ego": {"start": {"road": 15, "lane": -1, "s_m": 150}},
        }
    )
    with carla_world(fake, CarlaServer(town="town01", sensor_timeout_s=0.2)) as world:
        world.reset(scenario)
    assert "load_world(Town01)" in fake.log
    assert_released(fake)


def test_spawns_the_rig_and_the_scenario() -> None:
    fake = fake_server()
    scenario = load_scenario("default")
    with carla_world(fake) as world:
        world.reset(scenario)
        vehicles = spawned(fake, FakeVehicle)
        ego = [v for v in vehicles if v.attributes["role_name"] == "hero"]
        assert len(ego) == 1 and ego[0].type_id == "vehicle.lincoln.mkz_2020"  # sedan
        assert len(vehicles) == 1 + sum(a.kind == "vehicle" for a in scenario.actors)
        sensors = {s.type_id: s for s in spawned(fake, FakeSensor)}
        assert set(sensors) == {
            "sensor.camera.rgb",
            "sensor.lidar.ray_cast",
            "sensor.other.collision",
            "sensor.other.lane_invasion",
        }
        assert all(s.parent is ego[0] and s.listening for s in sensors.values())
        cam = sensors["sensor.camera.rgb"].attributes
        assert (cam["image_size_x"], cam["image_size_y"], cam["fov"]) == ("32", "18", "90.0")
        lidar = sensors["sensor.lidar.ray_cast"].attributes
        assert lidar["channels"] == "4" and lidar["points_per_second"] == str(4 * 16 * 20)
        assert lidar["rotation_frequency"] == "20.0"  # a full turn each tick
        # Cars that just drive go to the Traffic Manager at their speed; the parked one not.
        drivers = [v for v in vehicles if v.autopilot]
        assert len(drivers) == 9
        assert sorted(fake.tm.desired_kmh.values()) == sorted(
            a.speed_kmh for a in scenario.actors if a.kind == "vehicle" and a.behaviour == "drive"
        )
        parked = [v for v in vehicles if v is not ego[0] and not v.autopilot]
        assert len(parked) == 1 and parked[0].control.hand_brake
        # Walkers: AI controllers for those that move; the crossing one waits for its trigger.
        walkers = spawned(fake, FakeWalker)
        controllers = spawned(fake, FakeWalkerController)
        assert len(walkers) == 5 and len(controllers) == 4
        assert all(w.attributes["is_invincible"] == "false" for w in walkers)
        assert sum(c.started for c in controllers) == 3
        assert any(w.attributes["age"] == "child" for w in walkers)
        # Light timing from the scenario, cycles restarted at t = 0.
        lights = spawned(fake, FakeTrafficLight)
        assert lights and all(
            lt.times == {"green": 10.0, "yellow": 3.0, "red": 1.0} for lt in lights
        )
        assert fake.world.lights_reset == 1
        assert fake.world.weather.sun_altitude_angle == pytest.approx(50.0)
    assert_released(fake)
    assert all(lt.times == {"green": 10.0, "yellow": 3.0, "red": 2.0} for lt in lights)


def test_spawn_failure_names_the_field_and_cleans_up() -> None:
    fake = fake_server()
    fake.spawn_fails = lambda bp_id: bp_id.startswith("walker.")
    with carla_world(fake) as world, pytest.raises(UserError) as err:
        world.reset(load_scenario("default"))
    assert str(err.value).startswith("actors.10.start: CARLA could not spawn a pedestrian at (")
    assert "collision at spawn position" in str(err.value)
    assert_released(fake)


def test_second_reset_starts_from_an_empty_scene() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        world.reset(load_scenario("default"))
        first = fake.live_spawned()
        world.reset(load_scenario("stop_sign"))
        assert first and all(a.destroyed for a in first)
        assert not any(a in first for a in fake.live_spawned())
    assert_released(fake)


# --------------------------------------------------------------------------- frames


def test_frames_have_the_embedded_layout_and_rates() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        frames = [world.reset(load_scenario("stop_sign"))]
        frames += [world.step(VehicleControl(throttle=0.5)) for _ in range(3)]
        server_frame = fake.world.frame
    assert [f.frame_id for f in frames] == [0, 1, 2, 3]
    assert [f.timestamp_s for f in frames] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert [len(f.cameras) for f in frames] == [1, 1, 1, 1]  # 20 Hz camera
    assert [len(f.lidars) for f in frames] == [1, 0, 1, 0]  # 10 Hz LiDAR, as embedded
    cam = frames[3].cameras[0]
    assert cam.bgra.dtype == np.uint8 and cam.bgra.shape == (18, 32, 4)
    assert cam.bgra.tobytes() == camera_bytes(32, 18, server_frame)  # this tick's image
    assert cam.sensor_to_ego == RIG.cameras[0].pose.to_pose()
    scan = frames[2].lidars[0]
    assert scan.points_xyzi.dtype == np.float32
    np.testing.assert_array_equal(
        scan.points_xyzi, np.array(lidar_points(server_frame - 1), np.float32)
    )
    assert frames[3].ego.speed_mps > frames[1].ego.speed_mps > 0.0
    truth = frames[0].ground_truth
    assert truth.collisions == () and truth.lane_invasions == ()


def test_ego_pose_is_the_ground_point_under_its_box_centre() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        frame = world.reset(load_scenario("stop_sign"))
        ego = next(v for v in spawned(fake, FakeVehicle) if v.attributes["role_name"] == "hero")
        tr = ego.get_transform()
        yaw = np.radians(tr.rotation.yaw)
        # the fake's box centre sits 0.1 m ahead of the actor's origin
        want = np.array([tr.location.x + 0.1 * np.cos(yaw), tr.location.y + 0.1 * np.sin(yaw)])
        np.testing.assert_allclose([frame.ego.pose.x_m, frame.ego.pose.y_m], want, atol=1e-6)
        np.testing.assert_allclose(world.drive_map().ego_extent_m, [2.4, 1.0, 0.75], rtol=1e-6)


def test_dropped_sensor_frame_raises_after_the_timeout_not_a_hang() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        world.reset(load_scenario("stop_sign"))
        lost = fake.world.frame + 2
        fake.drop = lambda sensor, frame: sensor.type_id == "sensor.camera.rgb" and frame == lost
        world.step(VehicleControl())
        start = time.monotonic()
        with pytest.raises(CarlaServerError) as err:
            world.step(VehicleControl())
        assert time.monotonic() - start < 1.0  # FAST: 0.2 s sensor timeout
    message = str(err.value)
    assert f"sensor 'front' (sensor.camera.rgb) sent nothing for server frame {lost}" in message
    assert "within 0.2 s" in message
    assert_released(fake)


def test_a_sensor_message_of_a_later_frame_means_ours_was_dropped() -> None:
    stream = SensorStream("top", "sensor.lidar.ray_cast", 30.0)
    stream.put(FakeLidarMeasurement(1004, b""))  # left from settling: skipped
    stream.put(FakeLidarMeasurement(1006, b""))
    start = time.monotonic()
    with pytest.raises(CarlaServerError, match=r"'top' .* skipped server frame 1005 .* 1006"):
        stream.take(1005, time.monotonic() + 30.0)
    assert time.monotonic() - start < 1.0  # no waiting for what cannot come


def test_traffic_light_states_and_actors_in_the_truth() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        world.reset(load_scenario("default"))
        lights = spawned(fake, FakeTrafficLight)
        lights[0].state = carla.TrafficLightState.Green
        frame = world.step(VehicleControl())
    states = {lt.light_id: lt.state for lt in frame.ground_truth.lights}
    assert states[int(lights[0].opendrive_id)] is LightState.GREEN
    assert states[int(lights[1].opendrive_id)] is LightState.RED
    classes = [a.object_class for a in frame.ground_truth.actors]
    assert classes.count(ObjectClass.VEHICLE) == 10 and classes.count(ObjectClass.PEDESTRIAN) == 5


def test_collisions_and_lane_invasions_reach_the_truth() -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        world.reset(load_scenario("stop_sign"))
        frame_no = fake.world.frame
        fake.world.emit(
            "sensor.other.collision",
            FakeCollisionEvent(frame_no, FakeStatic(7, "static.pole"), carla.Vector3D(3, 4, 0)),
        )
        fake.world.emit(
            "sensor.other.collision",
            FakeCollisionEvent(frame_no, FakeStatic(8, "static.road"), carla.Vector3D(0, 0, 1)),
        )
        fake.world.emit(
            "sensor.other.lane_invasion",
            FakeLaneInvasionEvent(frame_no, [FakeLaneMarking(carla.LaneMarkingType.Solid)]),
        )
        truth = world.step(VehicleControl()).ground_truth
        later = world.step(VehicleControl()).ground_truth
    assert len(truth.collisions) == 1  # the road under the wheels is no contact
    hit = truth.collisions[0]
    assert (hit.other_id, hit.other_class, hit.other_type) == (
        7,
        ObjectClass.UNKNOWN,
        "static.pole",
    )
    assert hit.impulse_ns == pytest.approx(5.0)
    assert truth.lane_invasions == ("Solid",)
    assert later.collisions == () and later.lane_invasions == ()  # drained once


def test_scripted_braking_and_triggers() -> None:
    fake = fake_server()
    scenario = load_scenario("lead_vehicle_braking")  # suv brakes at 9 s for 3 s
    with carla_world(fake, rig=RigConfig(cameras=[], lidars=[])) as world:
        world.reset(scenario)
        suv = next(v for v in spawned(fake, FakeVehicle) if v.autopilot)
        for _ in range(int(9.0 * 20)):
            world.step(VehicleControl())
        assert not suv.autopilot and suv.control.brake == 1.0
        for _ in range(int(3.0 * 20)):
            world.step(VehicleControl())
        assert suv.autopilot and suv.control.brake == 0.0


def test_triggered_walker_sets_out_and_walks_its_legs() -> None:
    fake = fake_server()
    scenario = load_scenario("default")  # the crossing walker waits for the ego within 45 m
    with carla_world(fake, rig=RigConfig(cameras=[], lidars=[])) as world:
        world.reset(scenario)
        crossing = [c for c in spawned(fake, FakeWalkerController) if not c.started]
        assert len(crossing) == 1
        ego = next(v for v in spawned(fake, FakeVehicle) if v.attributes["role_name"] == "hero")
        walker = crossing[0].parent
        loc = walker.transform.location
        ego.transform = carla.Transform(
            carla.Location(loc.x + 20.0, loc.y, loc.z), carla.Rotation()
        )
        world.step(VehicleControl(hand_brake=True))
        assert crossing[0].started and crossing[0].max_speed_mps == pytest.approx(1.4)
        first = crossing[0].destinations[-1]
        walker.transform = carla.Transform(first, carla.Rotation())  # it got there
        world.step(VehicleControl(hand_brake=True))
        assert len(crossing[0].destinations) == 2  # across the crosswalk next


# --------------------------------------------------------------------------- teardown


def test_teardown_goes_on_after_a_failure_and_warns(capsys: pytest.CaptureFixture[str]) -> None:
    fake = fake_server()
    with carla_world(fake) as world:
        world.reset(load_scenario("stop_sign"))
        stuck = spawned(fake, FakeVehicle)[-1]
        fake.destroy_fails = {stuck.id}
    assert [a.id for a in fake.live_spawned()] == [stuck.id]
    assert not fake.world.settings.synchronous_mode
    err = capsys.readouterr().err
    assert f"roadmind: warning: CARLA teardown: destroying actor {stuck.id}" in err


def test_a_dead_server_is_not_waited_on_once_per_actor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_server()
    world = carla_world(fake)
    world.reset(load_scenario("default"))
    fake.gone = True
    world.close()
    assert fake.calls_while_gone == 1  # the first time-out, then nothing more
    err = capsys.readouterr().err
    assert "time-out" in err and "stopped answering" in err and "steps skipped" in err
    assert all(not s.listening for s in spawned(fake, FakeSensor))  # client-side: done


def test_ctrl_c_during_teardown_finishes_it_first() -> None:
    fake = fake_server()
    world = carla_world(fake)
    world.reset(load_scenario("default"))
    walker = spawned(fake, FakeWalker)[0]
    fake.ctrl_c_on_destroy = walker.id
    with pytest.raises(KeyboardInterrupt):
        world.close()
    assert fake.live_spawned() == [walker]  # only the interrupted one is left
    assert not fake.world.settings.synchronous_mode


def test_ctrl_c_during_reset_still_tears_down() -> None:
    fake = fake_server()

    def interrupt(bp_id: str) -> bool:
        if bp_id == "controller.ai.walker":
            raise KeyboardInterrupt
        return False

    fake.spawn_fails = interrupt
    with pytest.raises(KeyboardInterrupt), carla_world(fake) as world:
        world.reset(load_scenario("default"))
    assert_released(fake)


def test_close_twice_is_harmless() -> None:
    fake = fake_server()
    world = carla_world(fake)
    world.reset(load_scenario("stop_sign"))
    world.close()
    world.close()
    assert_released(fake)


# --------------------------------------------------------------------------- the closed loop


@pytest.fixture
def carla_backend(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """`drive --backend carla` against the fake server."""
    fake = fake_server()
    monkeypatch.setitem(
        world_module.WORLDS,
        "carla",
        lambda options: CarlaWorld(options.rig, options.carla, fake.client, lambda s: None),
    )
    return fake


def _options(**kw: object) -> DriveOptions:
    return DriveOptions(backend="carla", carla=FAST, video=False, progress=False, rig=RIG, **kw)


def test_drive_in_carla_writes_the_run_folder(carla_backend: FakeServer, tmp_path: Path) -> None:
    result = drive(load_scenario("stop_sign"), tmp_path, _options(duration_s=2.0))
    assert result.steps == 40 and not result.interrupted
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["drive"]["backend"] == "carla" and config["drive"]["carla"]["port"] == 2999
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["backend"] == "carla" and metrics["lane_invasions"] == 0
    assert len((tmp_path / "decisions.jsonl").read_text().splitlines()) == 40
    last = json.loads((tmp_path / "decisions.jsonl").read_text().splitlines()[-1])
    assert last["speed_mps"] > 1.0  # the agent drove the fake car
    assert_released(carla_backend)


def test_error_mid_drive_restores_settings_and_destroys_actors(
    carla_backend: FakeServer, tmp_path: Path
) -> None:
    start = carla_backend.world.frame

    def crash(frame: int) -> None:
        if frame > start + 30:
            raise RuntimeError("time-out of 20000ms while waiting for the simulator")

    carla_backend.on_tick = crash
    with pytest.raises(CarlaServerError, match=r"127\.0\.0\.1:2999 did not finish a step"):
        drive(load_scenario("stop_sign"), tmp_path, _options())
    assert_released(carla_backend)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] > 0  # what was driven is still scored


def test_ctrl_c_mid_drive_restores_settings_and_destroys_actors(
    carla_backend: FakeServer, tmp_path: Path
) -> None:
    start = carla_backend.world.frame

    def ctrl_c(frame: int) -> None:
        if frame > start + 40:
            raise KeyboardInterrupt

    carla_backend.on_tick = ctrl_c
    result = drive(load_scenario("stop_sign"), tmp_path, _options())
    assert result.interrupted
    assert_released(carla_backend)
    assert json.loads((tmp_path / "metrics.json").read_text())["interrupted"] is True


def test_static_collisions_are_scored(carla_backend: FakeServer, tmp_path: Path) -> None:
    fake = carla_backend
    start = fake.world.frame

    def hit_a_pole(frame: int) -> None:
        if frame in (start + 21, start + 22, start + 60):  # one contact, then another later
            fake.world.emit(
                "sensor.other.collision",
                FakeCollisionEvent(frame, FakeStatic(55, "static.pole"), carla.Vector3D(1, 0, 0)),
            )

    fake.on_tick = hit_a_pole
    result = drive(load_scenario("stop_sign"), tmp_path, _options(duration_s=4.0))
    kinds = [e["kind"] for e in result.metrics["infractions"]]
    assert kinds == ["collision_static", "collision_static"]
    assert result.metrics["infraction_penalty"] == pytest.approx(0.65**2, abs=1e-4)


def test_cli_prints_one_line_when_the_server_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from cli.main import main

    fake = fake_server(unreachable_attempts=99)
    made: list[CarlaServer] = []

    def factory(options: WorldOptions) -> CarlaWorld:
        made.append(options.carla)
        return CarlaWorld(options.rig, options.carla, fake.client, lambda s: None)

    monkeypatch.setitem(world_module.WORLDS, "carla", factory)
    argv = ["drive", "--backend", "carla", "--host", "sim.lan", "--port", "2005"]
    argv += ["--town", "Town03", "--scenario", "stop_sign", "--out", str(tmp_path / "run")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("roadmind: error: no CARLA server answered at sim.lan:2005")
    assert made[0].town == "Town03"
