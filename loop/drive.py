"""The closed loop: world -> perception -> rules -> control -> world, at the physics
rate, writing the run folder as it goes.

run folder: config.yaml (resolved scenario and drive options), decisions.jsonl (one
line per step, flushed), metrics.json, video.mp4 (camera with boxes and a decision
HUD beside the BEV panel), timeline.png. The folder belongs to one run
(``loop/run_folder.py``: a lock, and an earlier run's outputs are refused or, with
``overwrite``, removed first).

Ctrl-C, SIGTERM and SIGHUP end the drive early and still write everything recorded so
far (metrics say ``"interrupted": true`` and which signal); a second signal while the
folder is finished is ignored (``loop/stop_signals.py``). Against SIGKILL, the drive
writes as it goes: each decisions.jsonl line with one system call, the video as
fragmented MP4 (a playable prefix), and metrics.json every simulated second
(``"complete": false`` until the end). metrics.json and timeline.png are replaced
atomically, never half-written.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from agent.agent import Agent, AgentStep
from evaluation.driving import DrivingMetrics
from evaluation.law import route_law
from loop.background_writer import BackgroundWriter
from loop.rollout import Perceive, rollout, scenario_steps
from loop.run_folder import claim_run_folder
from loop.stack import CropReader, PerceptionStack
from loop.stop_signals import StopSignals
from loop.worlds import WorldOptions
from reasoning.map_context import MapContext
from roadmind.atomic import write_text_atomic
from roadmind.frames import Pose
from roadmind.messages import (
    BevScene,
    Decision,
    LidarObject,
    ObjectClass,
    SensorFrame,
    VehicleControl,
)
from roadmind.progress import Progress
from roadmind.progress import progress as progress_bar
from roadmind.rates import PHYSICS_HZ
from roadmind.serialize import to_dict
from sim.carla.server import CarlaServer
from sim.leaderboard_routes import LeaderboardRoute, route_timeout_s
from sim.replay.source import ReplaySource
from sim.rig import RigConfig
from sim.scenario import Scenario
from sim.world import World

if TYPE_CHECKING:
    from report.run_report import BevLayers, Inset
    from sim.replay.log_writer import SensorLogWriter

STOPPED_AT_GOAL_MPS = 0.1
CHECKPOINT_STEPS = PHYSICS_HZ  # metrics.json while driving: every simulated second


@dataclass
class DriveOptions:
    perception: str = "oracle"
    duration_s: float | None = None  # default: the scenario's
    video: bool = True
    video_fps: float = 10.0
    progress: bool = True
    rig: RigConfig | None = None  # default: the scenario's
    backend: str = "embedded"  # a key of loop.worlds.WORLDS
    carla: CarlaServer = field(default_factory=CarlaServer)  # for backend "carla"
    overwrite: bool = False  # replace an earlier run's outputs in the folder (else refuse)
    route_file: LeaderboardRoute | None = None  # a Leaderboard route the scenario drives
    log: bool = True  # write log.mcap (the sensor log replay reads)
    replay: ReplaySource | None = None  # for backend "replay": the log played


@dataclass
class DriveResult:
    out_dir: Path
    metrics: dict[str, object]
    steps: int
    wall_s: float
    interrupted: bool
    finished: bool
    decision_ms: list[float] = field(default_factory=list)
    signal: int | None = None  # the signal that interrupted the drive (None: Ctrl-C or none)


def default_run_dir(scenario: Scenario, root: Path = Path("runs")) -> Path:
    return root / f"{time.strftime('%Y%m%d-%H%M%S')}_{scenario.name}"


def drive(
    scenario: Scenario,
    out_dir: Path,
    options: DriveOptions | None = None,
    signals: StopSignals | None = None,
) -> DriveResult:
    """Drive ``scenario`` and write the run folder ``out_dir``. ``signals``: stop handlers
    the caller installed and keeps until it exits (the CLI, so that the line it prints
    after the drive is not cut short either); default: the drive's own, for the drive."""
    options = options or DriveOptions()
    steps = scenario_steps(scenario, options.duration_s)
    world_options = WorldOptions(options.rig, options.carla, options.replay)
    # claimed first: a folder in use is refused before minutes of world building
    folder = claim_run_folder(out_dir, options.overwrite)
    try:
        run = rollout(
            scenario,
            steps,
            perception=options.perception,
            options=world_options,
            backend=options.backend,
        )
    except BaseException:
        folder.abandon()
        raise
    with nullcontext(signals) if signals else StopSignals() as stop, folder, run:
        stop.hold()  # a stop signal while the folder is set up ends the loop at its start
        world, agent = run.world, run.agent
        context = agent.context
        metrics = driving_metrics(world, agent)
        if options.route_file is not None:  # scored by the Leaderboard of the file's layout
            metrics.version = options.route_file.version
        route_length_m = world.drive_map().route.length_m
        timeout_s = route_timeout_s(route_length_m) if options.route_file is not None else None
        timed_out = False
        _write_config(out_dir, scenario, options, world.rig)
        recorder = _Recorder(out_dir, options, scenario.name, run.perceive)
        if options.log:
            recorder.start_log(scenario, options, world)
        scores = _PerceptionScores() if isinstance(run.perceive, PerceptionStack) else None
        start = time.perf_counter()
        interrupted = finished = False
        decision_ms: list[float] = []
        perceive_ms: list[float] = []
        bar = _progress(steps, options.progress, scenario.name)

        def summary(complete: bool) -> dict[str, object]:
            out = metrics.summary()
            out.update(
                scenario=scenario.name,
                backend=options.backend,
                perception=options.perception,
                seed=scenario.seed,
                steps=recorder.steps,  # the lines of decisions.jsonl, whatever cut the loop
                finished=finished,
                interrupted=interrupted,
                interrupted_by=(stop.name or "SIGINT") if interrupted else None,
                complete=complete,  # false: a checkpoint while driving (or of a killed run)
                wall_time_s=round(time.perf_counter() - start, 2),
                latency=latency_summary(perceive_ms, decision_ms),
                map_notes=[
                    {"text": n.text, "read_as": n.constraint.describe()}
                    if n.constraint is not None
                    else {"text": n.text, "error": n.error}
                    for n in context.notes
                ],
                map_problems=list(context.problems),
            )
            if recorder.log is not None:
                out["log"] = recorder.log_summary()
            if complete and scores is not None:
                out["perception_scores"] = scores.report(scenario.name)
            if options.route_file is not None:
                out["leaderboard_route"] = _route_summary(
                    options.route_file, route_length_m, timeout_s, timed_out
                )
            return out

        try:
            stop.arm()
            for s in run:
                frame, step = s.frame, s.step
                decision_ms.append(s.decision_ms)
                perceive_ms.append(s.perceive_ms)
                _update_metrics(metrics, frame, step)
                # one step's decision line and log frame go out together: a stop signal
                # that comes meanwhile waits for both (a log one frame short of the
                # decisions would not replay to them)
                stop.hold()
                recorder.record(frame, s.scene, step, metrics.limit_mps, context)
                stop.arm()
                if scores is not None:
                    # scored beside the loop, after the step's writes (read at the end)
                    recorder.writer.submit(scores.add, frame, s.scene, scenario.name)
                if bar is not None:
                    bar.update()
                if metrics.route_completion >= 1.0 and frame.ego.speed_mps < STOPPED_AT_GOAL_MPS:
                    finished = True
                    break
                if metrics.route_end is not None:
                    break  # route deviation or agent blocked: the Leaderboard ends the route
                if timeout_s is not None and frame.timestamp_s > timeout_s:
                    timed_out = True  # the Leaderboard's route timeout
                    break
                if recorder.steps % CHECKPOINT_STEPS == 0:
                    recorder.write_metrics(summary(complete=False))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stop.finishing()  # a signal from here on cannot cut the final writes short
            try:
                recorder.drain()  # the summary counts every logged frame
            except BaseException:
                recorder.close(summary(complete=True))
                raise
            if bar is not None:
                if finished:  # the goal came before the time limit
                    bar.set_postfix_str("goal reached")
                bar.close()
            final = summary(complete=True)
            recorder.close(final)
    return DriveResult(
        out_dir,
        final,
        recorder.steps,
        time.perf_counter() - start,
        interrupted,
        finished,
        decision_ms,
        stop.signum if interrupted else None,  # one after the loop changes nothing
    )


class _PerceptionScores:
    """The stack's fused scenes on LiDAR frames against the frames' ground truth
    (``evaluation/fusion.py``): every scan frame counts for tracking and detection."""

    def __init__(self) -> None:
        from evaluation.fusion import TrackingTally

        self.records: list = []
        self.tracking = TrackingTally()

    def add(self, frame: SensorFrame, scene: BevScene, scenario: str) -> None:
        from evaluation.fusion import frame_record

        if frame.lidars and frame.ground_truth is not None:
            record = frame_record(frame, scene)
            self.tracking.add(record, scenario)
            self.records.append(record)

    def report(self, scenario: str) -> dict[str, object]:
        from evaluation.fusion import score

        if not self.records:
            return {"scored_frames": 0}
        return {"scored_frames": len(self.records), **score(self.records, self.tracking)}


def latency_summary(perceive_ms: list[float], decision_ms: list[float]) -> dict[str, object]:
    """metrics.json's ``latency``: per step, the perception (oracle or stack) and the
    decision (rules + control), and both together, p50 and p95 [ms]. Steps with a LiDAR
    scan carry the heavy work (detector, LiDAR, fusion); the others only extrapolate."""
    if not perceive_ms:
        return {"steps": 0}
    perceive, decide = np.asarray(perceive_ms), np.asarray(decision_ms)
    out: dict[str, object] = {"steps": len(perceive_ms)}
    for name, ms in (("perceive", perceive), ("decide", decide), ("step", perceive + decide)):
        out[f"{name}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
        out[f"{name}_p95_ms"] = round(float(np.percentile(ms, 95)), 2)
    out["step_max_ms"] = round(float((perceive + decide).max()), 2)
    return out


def _route_summary(
    route: LeaderboardRoute, length_m: float, timeout_s: float | None, timed_out: bool
) -> dict[str, object]:
    return {
        "file": str(route.source),
        "route_id": route.route_id,
        "town": route.town,
        "layout": route.version,
        "keypoints": len(route.keypoints),
        "keypoint_polyline_m": round(route.keypoint_length_m, 1),
        "interpolated_route_m": round(length_m, 1),
        "weather": route.weather,
        "timeout_s": None if timeout_s is None else round(timeout_s, 1),
        "route_timeout": timed_out,
        "scenarios_not_run": [
            {"name": e.name, "type": e.type, "trigger_xyz": e.trigger_xyz, "why": "not staged"}
            for e in route.scenarios
        ],
    }


def driving_metrics(world: World, agent: Agent) -> DrivingMetrics:
    """The scorer of a drive on a world just reset: the law along the route (from the
    truth, not the car's reading of it), the start clock, the car's size, the poles
    it may hit, and the map and route the Leaderboard's route criteria judge against."""
    drive_map = world.drive_map()
    metrics = DrivingMetrics(
        route_law(drive_map.carla_map, drive_map.route, drive_map.signs, world.scenario),
        agent.start_clock,
        drive_map.ego_extent_m.copy(),
        drive_map.poles_xy,
        carla_map=drive_map.carla_map,
        route=drive_map.route,
    )
    return metrics


def _update_metrics(metrics: DrivingMetrics, frame: SensorFrame, step: AgentStep) -> None:
    truth = frame.ground_truth
    assert truth is not None
    metrics.update(
        frame.timestamp_s,
        frame.ego.pose,
        frame.ego.speed_mps,
        step.route_s_m,
        step.lateral_m,
        truth.actors,
        {light.light_id: light.state for light in truth.lights},
        truth.collisions,
        truth.lane_invasions,
    )


def _progress(steps: int, show: bool, name: str) -> Progress | None:
    return progress_bar(steps, f"driving {name}", "step") if show else None


def _write_config(out: Path, scenario: Scenario, options: DriveOptions, rig: RigConfig) -> None:
    config = {
        "scenario": scenario.model_dump(mode="json"),
        "drive": {
            "backend": options.backend,
            **({"carla": dataclasses.asdict(options.carla)} if options.backend == "carla" else {}),
            "perception": options.perception,
            "duration_s": options.duration_s or scenario.duration_s,
            "physics_hz": PHYSICS_HZ,
            "video_fps": options.video_fps if options.video else None,
            "log": options.log,
            **(
                {
                    "replay": {
                        "log": str(options.replay.path),
                        "from_s": options.replay.from_s,
                        "to_s": options.replay.to_s,
                        "realtime": options.replay.realtime,
                    }
                }
                if options.replay is not None
                else {}
            ),
        },
        "rig": rig.model_dump(mode="json"),
    }
    write_text_atomic(out / "config.yaml", yaml.safe_dump(config, sort_keys=False))


class _Recorder:
    """Writes decisions.jsonl as it goes, the video if asked, and the summary files."""

    def __init__(self, out: Path, options: DriveOptions, title: str, perceive: Perceive) -> None:
        self.out = out
        self.perceive = perceive
        self.title = title
        # a raw descriptor: each line goes out whole in one write, which neither a signal
        # handler nor a kill can split
        self.decisions: int | None = os.open(
            out / "decisions.jsonl", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644
        )
        self.video = None
        self.video_every = max(1, round(PHYSICS_HZ / options.video_fps))
        if options.video:
            from report.run_report import VideoWriter

            self.video = VideoWriter(out / "video.mp4", options.video_fps)
        self.series: dict[str, list] = {k: [] for k in ("t", "v", "limit", "target", "action")}
        self.steps = 0  # lines written to decisions.jsonl
        self.insets: dict[tuple, Inset] = {}
        self.log: SensorLogWriter | None = None
        self.log_ms: list[float] = []
        # the log's compression and the video's drawing and encoding run beside the loop
        self.writer = BackgroundWriter()

    def start_log(self, scenario: Scenario, options: DriveOptions, world: World) -> None:
        """log.mcap and its header: what replay rebuilds the drive from."""
        from sim.replay.log_format import LOG_NAME, drive_map_to_dict
        from sim.replay.log_writer import SensorLogWriter

        self.log = SensorLogWriter(self.out / LOG_NAME)
        self.log.write_run(
            {
                "scenario": scenario.model_dump(mode="json"),
                "rig": world.rig.model_dump(mode="json"),
                "backend": options.backend,
                "perception": options.perception,
                "drive_map": drive_map_to_dict(world.drive_map()),
            }
        )

    def log_summary(self) -> dict[str, object]:
        assert self.log is not None
        ms = np.array(self.log_ms) if self.log_ms else np.zeros(1)
        return {
            "file": self.log.path.name,
            "frames": self.log.frames,
            "mb": round(self.log.path.stat().st_size / 1e6, 2),
            "write_ms_mean": round(float(ms.mean()), 2),
            "write_ms_p95": round(float(np.percentile(ms, 95)), 2),
        }

    def record(
        self,
        frame: SensorFrame,
        scene: BevScene,
        step: AgentStep,
        limit_mps: float | None,
        context: MapContext,
    ) -> None:
        decision = step.explained.decision
        line = {
            "frame_id": frame.frame_id,
            "time_s": round(frame.timestamp_s, 3),
            "speed_mps": round(frame.ego.speed_mps, 3),
            "route_s_m": round(step.route_s_m, 2),
            "limit_mps": None if limit_mps is None else round(limit_mps, 3),
            "believed_limit_mps": step.explained.limit_mps,
            "decision": to_dict(decision),
            "control": to_dict(step.control),
        }
        _write_all(self.decisions, (json.dumps(line) + "\n").encode())
        self.steps += 1
        if self.log is not None:
            self.writer.submit(self._log_frame, frame, scene, decision, step.control)
        for key, value in zip(
            ("t", "v", "limit", "target", "action"),
            (
                frame.timestamp_s,
                frame.ego.speed_mps,
                np.nan if limit_mps is None else limit_mps,
                decision.target_speed_mps,
                decision.action.value,
            ),
            strict=True,
        ):
            self.series[key].append(value)
        if self.video is not None and frame.frame_id % self.video_every == 0:
            self._video_frame(frame, scene, step, context)

    def _log_frame(
        self, frame: SensorFrame, scene: BevScene, decision: Decision, control: VehicleControl
    ) -> None:
        assert self.log is not None
        t0 = time.perf_counter()
        self.log.write_frame(frame, scene, decision, control)
        self.log_ms.append((time.perf_counter() - t0) * 1000.0)

    def drain(self) -> None:
        """Wait for the log and video writes handed to the worker (raises their error)."""
        self.writer.close()

    def _video_frame(
        self, frame: SensorFrame, scene: BevScene, step: AgentStep, context: MapContext
    ) -> None:
        """What the frame shows is gathered here (the stack's state changes next step);
        the worker draws and encodes it."""
        from report.run_report import LabeledBox, compose_frame

        assert self.video is not None
        cam = frame.cameras[0] if frame.cameras else None
        boxes = []
        layers = None
        if isinstance(self.perceive, PerceptionStack):  # what the stack saw
            layers = _stack_layers(self.perceive, frame.ego.pose)
            if cam is not None:
                for det in self.perceive.fusion.debug.detections.get(cam.name, ()):
                    label = f"{det.object_class.value} {det.score:.2f}"
                    boxes.append(LabeledBox(det.xyxy_px, label, det.object_class))
        elif cam is not None and frame.ground_truth is not None:  # what the oracle knows
            for box in frame.ground_truth.boxes_2d.get(cam.name, ()):
                if box.object_class is not ObjectClass.UNKNOWN:
                    boxes.append(LabeledBox(box.xyxy_px, box.object_class.value, box.object_class))
        near = (context.path.s > step.route_s_m - 20) & (context.path.s < step.route_s_m + 60)
        route = frame.ego.pose.inverse_transform_points(context.path.points[near])[:, :2]
        decision = step.explained.decision
        hud = [r.text for r in decision.reasons]
        inset = None
        if isinstance(self.perceive, PerceptionStack) and self.perceive.crop_reader is not None:
            inset = self._reading_inset(self.perceive.crop_reader, scene, decision)
        video = self.video
        self.writer.submit(
            lambda: video.write(
                compose_frame(
                    cam.bgra if cam is not None else None,
                    boxes,
                    scene,
                    decision,
                    route,
                    hud,
                    ego_speed_mps=frame.ego.speed_mps,
                    layers=layers,
                    inset=inset,
                )
            )
        )

    def _reading_inset(
        self, reader: CropReader, scene: BevScene, decision: Decision
    ) -> Inset | None:
        """The read sign the decision cites (else the nearest read one) with the reader's
        saliency over it; computed once per reading."""
        from reasoning.reader_saliency import overlay, saliency
        from report.run_report import Inset

        read = [s for s in scene.signs if s.read_frame is not None]
        if not read:
            return None
        evidence = " ".join(e for r in decision.reasons for e in r.evidence)
        cited = [s for s in read if f"frame {s.read_frame}" in evidence]
        sign = min(cited or read, key=lambda s: s.distance_m)
        key = (sign.read_frame, sign.sign_type, sign.value)
        if key not in self.insets:
            found = reader.crop_of(sign)
            if found is None:
                return None
            reading, crop = found
            names = {c.name for c in reader.reader.classes}
            name = reading.describe() if reading.describe() in names else None
            heat = saliency(reader.reader, crop, name)
            caption = (
                f"read {reading.describe()} {reading.confidence:.2f} (frame {sign.read_frame})"
            )
            self.insets[key] = Inset(overlay(crop, heat), caption)
        return self.insets[key]

    def write_metrics(self, summary: dict[str, object]) -> None:
        write_text_atomic(self.out / "metrics.json", json.dumps(summary, indent=1) + "\n")

    def close(self, summary: dict[str, object]) -> None:
        """The final files, small ones first: metrics, timeline, then the video; the log's
        summary (index) first of all."""
        try:
            self.writer.close()  # every queued write first (drive() drained it already)
        finally:
            self._close_files(summary)

    def _close_files(self, summary: dict[str, object]) -> None:
        if self.decisions is not None:
            os.close(self.decisions)
            self.decisions = None
        if self.log is not None:
            self.log.close()
        self.write_metrics(summary)
        try:
            self._timeline(summary)
        finally:
            if self.video is not None:
                self.video.close()

    def _timeline(self, summary: dict[str, object]) -> None:
        if self.series["t"]:
            from report.run_report import write_timeline

            infractions = summary.get("infractions", [])
            assert isinstance(infractions, list)
            write_timeline(
                self.out / "timeline.png",
                np.array(self.series["t"]),
                np.array(self.series["v"]),
                np.array(self.series["limit"], dtype=float),
                np.array(self.series["target"]),
                self.series["action"],
                [(e["time_s"], e["kind"]) for e in infractions],
                f"{self.title}: driving score {summary['driving_score']}",
            )


def _write_all(fd: int | None, data: bytes) -> None:
    assert fd is not None, "decisions.jsonl is closed"
    view = memoryview(data)
    while view:  # a regular file takes it all at once; loop for the rare short write
        view = view[os.write(fd, view) :]


def _stack_layers(stack: PerceptionStack, ego: Pose) -> BevLayers:
    """The stack's last LiDAR boxes and camera rays, moved into the current ego frame."""
    from report.run_report import BevLayers

    debug = stack.fusion.debug
    boxes = [
        LidarObject(
            ego.inverse_transform_points(o.center_m[None, :])[0],
            o.extent_m,
            o.yaw_rad - ego.yaw_rad,
            o.num_points,
            o.class_hint,
        )
        for o in debug.lidar_objects_world
    ]
    rays = [
        (
            ego.inverse_transform_points(r.origin_m[None, :])[0],
            ego.inverse_transform_points(r.end_m[None, :])[0],
            r.object_class,
        )
        for r in debug.rays_world
    ]
    return BevLayers(boxes, rays)
