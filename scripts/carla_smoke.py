"""End-to-end check of the CARLA backend against a running CARLA 0.9.16 server.

Usage (server already started, e.g. ``./CarlaUE4.sh -RenderOffScreen``)::

    python scripts/carla_smoke.py [--host 127.0.0.1] [--port 2000] [--town Town01]
                                  [--frames 40] [--drive-s 15] [--scenario stop_sign]
                                  [--out runs/carla_smoke]

What it checks, one line each, then PASS or FAIL and exit code 0 or 1:

1. connect: the server answers and runs the client's CARLA release;
2. town: the town is available and loaded;
3. rig: the ego spawns with the default rig on the town's first spawn point;
4. frames: ``--frames`` steps give frames 0, 1, 2, ... at 0.05 s, cameras BGRA uint8 of
   the rig's size that are not blank, LiDAR float32 (N, 4) within range and with the
   ground below the sensor, each sensor at its rig rate, and the server stepping
   synchronously at 0.05 s with one server frame per step;
5. teardown on error: an exception inside the world's ``with`` still restores the
   server's settings and leaves no roadmind actor behind;
6. drive (town): ``drive --backend carla`` for ``--drive-s`` s on the town, with video;
7. drive (OpenDRIVE): the same for ``--scenario`` (a project scenario, its .xodr built
   as a standalone OpenDRIVE world); skipped with ``--scenario ''``;
8. restored: after everything the server's settings are what they were at the start
   and no sensor or roadmind vehicle is left.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from loop.drive import DriveOptions, drive
from roadmind.messages import SensorFrame, VehicleControl
from roadmind.rates import PHYSICS_HZ
from sim.carla.backend import CarlaWorld, connect
from sim.carla.server import CarlaServer
from sim.rig import RIGS_DIR, load_rig
from sim.scenario import Scenario, load_scenario

RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, run: Callable[[], str]) -> bool:
    """Run one check; a message back is a pass, an exception a fail."""
    start = time.monotonic()
    try:
        detail = run()
        ok = True
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, AssertionError):
            traceback.print_exc()
        ok = False
    RESULTS.append((name, ok, f"{detail} ({time.monotonic() - start:.1f} s)"))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}: {RESULTS[-1][2]}", flush=True)
    return ok


def settings_tuple(client: object) -> tuple[bool, float | None, bool]:
    s = client.get_world().get_settings()  # type: ignore[attr-defined]
    return (s.synchronous_mode, s.fixed_delta_seconds, s.no_rendering_mode)


def leftovers(client: object) -> list[str]:
    """Sensors and roadmind's vehicles still in the world."""
    actors = client.get_world().get_actors()  # type: ignore[attr-defined]
    out = [a.type_id for a in actors.filter("sensor.*")]
    for vehicle in actors.filter("vehicle.*"):
        role = vehicle.attributes.get("role_name", "")
        if role in ("hero", "roadmind_npc"):
            out.append(f"{vehicle.type_id} ({role})")
    return out


def town_scenario(client: object, town: str, duration_s: float) -> Scenario:
    """A scenario on the town: the ego on its first spawn point (a lane point where the
    map has none), a random lane walk."""
    carla_map = client.get_world().get_map()  # type: ignore[attr-defined]
    spawns = carla_map.get_spawn_points() or [carla_map.generate_waypoints(20.0)[0].transform]
    loc, yaw = spawns[0].location, spawns[0].rotation.yaw
    return Scenario.model_validate(
        {
            "name": f"smoke_{town}",
            "map": town,
            "seed": 1,
            "duration_s": duration_s,
            "ego": {"start": {"x_m": loc.x, "y_m": loc.y, "yaw_deg": yaw}, "cruise_speed_kmh": 30},
        }
    )


def check_frames(frames: list[SensorFrame], server_frames: list[int], rig_name: str) -> str:
    rig = load_rig(RIGS_DIR / f"{rig_name}.yaml")
    assert [f.frame_id for f in frames] == list(range(len(frames))), "frame ids not 0, 1, 2..."
    times = np.array([f.timestamp_s for f in frames])
    assert np.allclose(np.diff(times), 1.0 / PHYSICS_HZ), "timestamps not 0.05 s apart"
    assert np.all(np.diff(server_frames) == 1), f"server frames not one per step: {server_frames}"
    for cfg in rig.cameras:
        every = max(1, round(PHYSICS_HZ / cfg.rate_hz))
        seen = [f.frame_id for f in frames if any(c.name == cfg.name for c in f.cameras)]
        assert seen == [i for i in range(len(frames)) if i % every == 0], f"{cfg.name} rate"
        for f in frames:
            for cam in f.cameras:
                if cam.name == cfg.name:
                    assert cam.bgra.dtype == np.uint8
                    assert cam.bgra.shape == (cfg.height_px, cfg.width_px, 4), cam.bgra.shape
        last = next(c for f in reversed(frames) for c in f.cameras if c.name == cfg.name)
        assert float(last.bgra[..., :3].std()) > 2.0, f"camera {cfg.name} looks blank"
    points = 0
    for cfg in rig.lidars:
        every = max(1, round(PHYSICS_HZ / cfg.rate_hz))
        seen = [f.frame_id for f in frames if any(s.name == cfg.name for s in f.lidars)]
        assert seen == [i for i in range(len(frames)) if i % every == 0], f"{cfg.name} rate"
        for f in frames:
            for scan in f.lidars:
                if scan.name != cfg.name:
                    continue
                xyzi = scan.points_xyzi
                assert xyzi.dtype == np.float32 and xyzi.ndim == 2 and xyzi.shape[1] == 4
                assert len(xyzi) > 100, f"{cfg.name}: only {len(xyzi)} points"
                ranges = np.linalg.norm(xyzi[:, :3], axis=1)
                assert ranges.max() <= cfg.range_m + 1.0, f"{cfg.name}: return beyond range"
                # z up: the road lies about the mount height below the sensor
                ground = np.percentile(xyzi[:, 2], 5)
                assert -cfg.pose.z_m - 1.5 < ground < -cfg.pose.z_m + 1.0, f"ground z {ground}"
                points = len(xyzi)
    truth = frames[-1].ground_truth
    assert truth is not None and truth.lights, "no traffic lights in the ground truth"
    return (
        f"{len(frames)} frames, cameras {[c.name for c in rig.cameras]}, "
        f"{points} LiDAR points, {len(truth.lights)} lights"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2000)
    parser.add_argument("--town", default="Town01")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--drive-s", type=float, default=15.0)
    parser.add_argument("--scenario", default="stop_sign", help="'' skips the OpenDRIVE drive")
    parser.add_argument("--out", default="runs/carla_smoke")
    args = parser.parse_args()
    server = CarlaServer(host=args.host, port=args.port, town=args.town)
    out = Path(args.out)
    state: dict[str, object] = {}

    def do_connect() -> str:
        client = state["client"] = connect(server)
        return f"client {client.get_client_version()}, server {client.get_server_version()}"

    if not check("connect", do_connect):
        return summary()
    client = state["client"]

    def do_town() -> str:
        maps = {m.rsplit("/", 1)[-1]: m for m in client.get_available_maps()}
        assert args.town in maps, f"{args.town} not in {sorted(maps)}"
        if client.get_world().get_map().name.rsplit("/", 1)[-1] != args.town:
            client.set_timeout(server.load_timeout_s)
            client.load_world(maps[args.town])
            client.set_timeout(server.timeout_s)
        # What every run below must leave as it found it.
        state["before"] = settings_tuple(client)
        state["left_before"] = leftovers(client)
        state["scenario"] = town_scenario(client, args.town, args.drive_s)
        return f"{args.town} loaded ({len(maps)} maps on the server)"

    if not check("town", do_town):
        return summary()
    scenario = state["scenario"]
    assert isinstance(scenario, Scenario)
    rig = load_rig(RIGS_DIR / "default.yaml")

    def do_rig_and_frames() -> str:
        with CarlaWorld(rig, server) as world:
            frames = [world.reset(scenario)]
            settings = world.world.get_settings()
            assert settings.synchronous_mode, "the world is not synchronous"
            assert abs(settings.fixed_delta_seconds - 1.0 / PHYSICS_HZ) < 1e-6
            server_frames = [world.world.get_snapshot().frame]
            for _ in range(args.frames - 1):
                frames.append(world.step(VehicleControl()))
                server_frames.append(world.world.get_snapshot().frame)
        return check_frames(frames, server_frames, "default")

    check("rig and frames", do_rig_and_frames)

    def do_error_teardown() -> str:
        try:
            with CarlaWorld(rig, server) as world:
                world.reset(scenario)
                world.step(VehicleControl(throttle=0.3))
                raise RuntimeError("a deliberate failure mid-drive")
        except RuntimeError as exc:
            assert "deliberate" in str(exc), exc
        assert settings_tuple(client) == state["before"], settings_tuple(client)
        left = leftovers(client)
        assert left == state["left_before"], f"left behind: {left}"
        return "settings restored, nothing left behind"

    check("teardown on error", do_error_teardown)

    def drive_check(sc: Scenario, folder: Path, town: str | None) -> str:
        options = DriveOptions(
            backend="carla",
            carla=CarlaServer(host=args.host, port=args.port, town=town),
            duration_s=args.drive_s,
            progress=False,
            rig=rig,
        )
        result = drive(sc, folder, options)
        m = result.metrics
        for name in ("config.yaml", "metrics.json", "decisions.jsonl", "video.mp4", "timeline.png"):
            assert (folder / name).is_file(), f"{name} missing"
        assert result.steps > 0 and not result.interrupted
        return (
            f"{result.steps} steps, score {m['driving_score']}, route "
            f"{m['route_completion_pct']}%, infractions {m['infractions']} -> {folder}/"
        )

    check("drive (town)", lambda: drive_check(scenario, out / "town", args.town))
    if args.scenario:
        project = load_scenario(args.scenario)
        check(
            f"drive (OpenDRIVE {project.map})",
            lambda: drive_check(project, out / project.name, None),
        )

    def do_restored() -> str:
        assert settings_tuple(client) == state["before"], settings_tuple(client)
        assert leftovers(client) == state["left_before"], leftovers(client)
        return f"settings {state['before']} as at the start, nothing left behind"

    check("restored", do_restored)
    return summary()


def summary() -> int:
    passed = sum(ok for _, ok, _ in RESULTS)
    print(f"\ncarla smoke: {passed}/{len(RESULTS)} checks passed")
    for name, ok, detail in RESULTS:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 0 if passed == len(RESULTS) and RESULTS else 1


if __name__ == "__main__":
    sys.exit(main())
