"""Detector training data from the embedded world: YOLO-format images and labels.

Every frame is a fresh random layout on a project map: cars of every model and
colour on random lanes, pedestrians on sidewalks, extra signs at random places and
distances, random sun and sky, camera height, pitch and field of view jittered,
pixel noise and blur. Frames come in groups that share a map and its extra signs
(the static world is built once per group). Validation groups use maps training
never sees, and their own seeds.

``streetscape`` (off by default) puts real streets' clutter around them: one profile
for all groups, or ``mixed`` (a group is bare, suburban or urban by chance), at a
density and with a seed per group; its datasets also train on ``hill_street`` (cars
parked along its kerbs) and see night and fog now and then.

Frame ``i`` depends only on (seed, i), so an interrupted run resumes where it
stopped and produces the same files. A frame's label file is written last, through
a temporary name: a frame counts as done when its label file exists.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from PIL import Image, ImageFilter

from maps.road_map import MAPS_DIR, RoadMap, load_road_map
from roadmind.config import read_yaml
from roadmind.errors import UserError
from roadmind.messages import Box2DTruth, ObjectClass, SensorFrame
from roadmind.progress import progress as progress_bar
from sim.embedded.world import EmbeddedWorld
from sim.lighting import LightingConfig
from sim.placement import PlacedOnEgoError
from sim.rig import CameraConfig, MountPose, RigConfig
from sim.scenario import (
    EgoConfig,
    PedestrianActor,
    Place,
    Scenario,
    SignConfig,
    VehicleActor,
)
from sim.streetscape import StreetscapeConfig
from training.dataset_layout import FRAMES_PER_GROUP, VAL_EVERY_GROUPS

CLASSES = (
    ObjectClass.VEHICLE,
    ObjectClass.PEDESTRIAN,
    ObjectClass.TRAFFIC_LIGHT,
    ObjectClass.TRAFFIC_SIGN,
)
TRAIN_MAPS = ("four_way_signals", "four_way_stop", "straight_speed", "crosswalk")
VAL_MAPS = ("t_junction_signals", "t_junction_yield")
# Groups take maps in turn; the one map with lights comes twice as often (lights are few).
TRAIN_CYCLE = (
    "four_way_signals",
    "four_way_stop",
    "four_way_signals",
    "straight_speed",
    "crosswalk",
)
# With a streetscape, groups also take the map with parking lanes in turn.
STREETS_TRAIN_CYCLE = (*TRAIN_CYCLE, "hill_street")
IMAGE_SIZE_PX = (640, 360)
Streets = Literal["off", "suburban", "urban", "mixed"]

# What counts as a labelled object: big enough and visible enough to be found.
MIN_BOX_PX = 4.0
MIN_VISIBLE_PX = 12
MAX_OCCLUSION = 0.85
MAX_TRUNCATION = 0.95  # truncated objects are labelled, as in KITTI and COCO

MODELS = ("compact", "sedan", "suv", "van", "truck")
SIGN_KINDS = ("speed_limit", "stop", "yield", "school_zone", "text")
TEXTS = ("SCHOOL\nZONE\n20 MPH", "ROAD\nWORKS", "NO\nPARKING", "ONE\nWAY", "BUS\nSTOP")


@dataclass(frozen=True, slots=True)
class FramePlan:
    index: int
    split: str  # "train" or "val"
    group: int


def plan(frames: int) -> list[FramePlan]:
    out = []
    for i in range(frames):
        group = i // FRAMES_PER_GROUP
        split = "val" if group % VAL_EVERY_GROUPS == VAL_EVERY_GROUPS - 1 else "train"
        out.append(FramePlan(i, split, group))
    return out


def generate(
    out: Path, frames: int, seed: int = 0, progress: bool = True, streetscape: Streets = "off"
) -> dict[str, int]:
    """Write (or complete) a dataset of ``frames`` frames under ``out``; counts per split."""
    _check_resume(out, frames, seed, streetscape)
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    _write_data_yaml(out, frames, seed, streetscape)
    todo = [p for p in plan(frames) if not _label_path(out, p).exists()]
    counts = {"train": 0, "val": 0, "skipped_done": frames - len(todo)}
    bar = None
    if progress:
        bar = progress_bar(frames, "datagen", "frame", initial=frames - len(todo))
    world = EmbeddedWorld()
    maps: dict[str, RoadMap] = {}
    try:
        for p, frame, jitter in _frames(todo, seed, world, maps, streetscape):
            _write_frame(out, p, frame, jitter)
            counts[p.split] += 1
            if bar is not None:
                bar.update()
    finally:
        world.close()
        if bar is not None:
            bar.close()
    return counts


def _frames(
    todo: list[FramePlan],
    seed: int,
    world: EmbeddedWorld,
    maps: dict[str, RoadMap],
    streetscape: Streets = "off",
) -> Iterator[tuple[FramePlan, SensorFrame, np.random.Generator]]:
    cycle = TRAIN_CYCLE if streetscape == "off" else STREETS_TRAIN_CYCLE
    for p in todo:
        group_rng = np.random.default_rng([seed, p.group])
        val_groups_before = p.group // VAL_EVERY_GROUPS
        if p.split == "val":
            map_name = VAL_MAPS[val_groups_before % len(VAL_MAPS)]
        else:
            map_name = cycle[(p.group - val_groups_before) % len(cycle)]
        if map_name not in maps:
            maps[map_name] = load_road_map(MAPS_DIR / f"{map_name}.xodr")
        road_map = maps[map_name]
        signs = _random_signs(road_map, group_rng)
        rng = np.random.default_rng([seed, p.group, p.index])
        scenario = _random_scenario(road_map, signs, rng, seed * 1_000_003 + p.index)
        if streetscape != "off":  # own generators: the bare datasets stay as they were
            scenario = _with_streets(scenario, streetscape, seed, p)
        world.rig_override = _random_rig(rng)
        frame = reset_clear_of_ego(world, scenario)
        yield p, frame, rng


def reset_clear_of_ego(world: EmbeddedWorld, scenario: Scenario) -> SensorFrame:
    """The first frame of a random ``scenario``. Its actors are drawn around the lanes,
    not around the ego: one that lands on the ego is left out (the world refuses it),
    as if it had never been drawn."""
    while True:
        try:
            return world.reset(scenario)
        except PlacedOnEgoError as err:
            actors = [a for k, a in enumerate(scenario.actors) if k != err.actor_index]
            scenario = scenario.model_copy(update={"actors": actors})


# --------------------------------------------------------------------------- layouts


def _lanes(road_map: RoadMap, lane_type: str) -> list[tuple[int, int, float]]:
    """(road, lane, length) of every lane of a type outside junctions."""
    out = []
    for road in road_map.roads.values():
        if road.junction_id != -1:
            continue
        ids = {ln.lane_id for sec in road.sections for ln in sec.lanes if ln.lane_type == lane_type}
        out += [(road.road_id, lane, road.length_m) for lane in sorted(ids)]
    return out


def _place(road_map: RoadMap, lane_type: str, rng: np.random.Generator, margin_m: float) -> Place:
    lanes = _lanes(road_map, lane_type)
    road, lane, length = lanes[int(rng.integers(len(lanes)))]
    s = float(rng.uniform(margin_m, max(margin_m + 0.1, length - margin_m)))
    return Place(road=road, lane=lane, s_m=round(s, 2))


def _random_signs(road_map: RoadMap, rng: np.random.Generator) -> list[SignConfig]:
    signs = []
    for _ in range(int(rng.integers(1, 6))):
        kind = SIGN_KINDS[int(rng.integers(len(SIGN_KINDS)))]
        value, unit, text = 0.0, "", ""
        if kind in ("speed_limit", "school_zone"):
            unit = "km/h" if rng.random() < 0.6 else "mph"
            value = float(rng.choice([20, 30, 40, 50, 60, 70]))
        if kind == "school_zone":
            text = f"SCHOOL\nZONE\n{value:g} {unit.upper()}"
        elif kind == "text":
            text = TEXTS[int(rng.integers(len(TEXTS)))]
        signs.append(
            SignConfig(
                type=kind,  # type: ignore[arg-type]
                at=_place(road_map, "driving", rng, 3.0),
                value=value,
                unit=unit,  # type: ignore[arg-type]
                text=text,
                side_offset_m=round(float(rng.uniform(2.2, 6.5)), 2),
            )
        )
    return signs


def _random_scenario(
    road_map: RoadMap, signs: list[SignConfig], rng: np.random.Generator, seed: int
) -> Scenario:
    ego = _ego_place(road_map, signs, rng)
    wp = road_map.lane_point(ego.road, ego.lane, ego.s_m, "ego")  # type: ignore[arg-type]
    view = _View.of(wp)
    actors: list[VehicleActor | PedestrianActor] = []
    for _ in range(int(rng.integers(3, 14))):
        actors.append(
            VehicleActor(
                kind="vehicle",
                start=_place_in_view(road_map, "driving", rng, view, min_m=7.0),
                behaviour="parked" if rng.random() < 0.3 else "drive",
                speed_kmh=float(rng.uniform(10, 50)),
                model=MODELS[int(rng.integers(len(MODELS)))],  # type: ignore[arg-type]
                color=tuple(float(c) for c in rng.uniform(0.03, 0.95, 3)),  # type: ignore[arg-type]
            )
        )
    for _ in range(int(rng.integers(2, 10))):
        actors.append(
            PedestrianActor(
                kind="pedestrian",
                start=_place_in_view(road_map, "sidewalk", rng, view, min_m=3.0),
                behaviour="walk" if rng.random() < 0.6 else "stand",
                size="child" if rng.random() < 0.25 else "adult",
            )
        )
    return Scenario(
        name="datagen",
        map=road_map.name,
        seed=seed,
        ego=EgoConfig(start=ego),
        actors=actors,
        signs=signs,
        lighting=_random_lighting(rng),
        rig=RigConfig(cameras=[], lidars=[]),
    )


@dataclass(frozen=True, slots=True)
class _View:
    """Where the ego stands and looks, to put things where the camera sees them."""

    xy: np.ndarray
    yaw_rad: float

    @staticmethod
    def of(wp: object) -> _View:
        tr = wp.transform  # type: ignore[attr-defined]
        return _View(np.array([tr.location.x, tr.location.y]), math.radians(tr.rotation.yaw))

    def sees(self, xy: np.ndarray, min_m: float, max_m: float = 70.0) -> bool:
        rel = xy - self.xy
        dist = float(np.linalg.norm(rel))
        if not min_m <= dist <= max_m:
            return False
        bearing = math.atan2(rel[1], rel[0]) - self.yaw_rad
        return math.cos(bearing) > math.cos(math.radians(50))


def _place_in_view(
    road_map: RoadMap, lane_type: str, rng: np.random.Generator, view: _View, min_m: float
) -> Place:
    """Mostly where the camera looks; now and then anywhere (the world behind counts too),
    but never within ``min_m`` of the ego (the world refuses an actor placed on it)."""
    anywhere = rng.random() < 0.15
    for _ in range(40):
        place = _place(road_map, lane_type, rng, 2.0)
        loc = road_map.lane_point(place.road, place.lane, place.s_m, "actor").transform.location  # type: ignore[arg-type]
        xy = np.array([loc.x, loc.y])
        if view.sees(xy, min_m) or (anywhere and np.linalg.norm(xy - view.xy) >= min_m):
            return place
    return place


def _ego_place(road_map: RoadMap, signs: list[SignConfig], rng: np.random.Generator) -> Place:
    """Usually on the approach to a light or sign (map or extra), 2.5-60 m before it:
    up to the stop line, where a near-corner light looms large in a wide camera."""
    targets: list[tuple[int, int, float]] = [
        (s.at.road, s.at.lane, s.at.s_m)
        for s in signs
        if s.at.road is not None and s.at.lane is not None and s.at.s_m is not None
    ]
    for lm in road_map.carla_map.get_all_landmarks():
        for a, b in lm.get_lane_validities():
            targets += [
                (lm.road_id, lane, lm.s) for lane in range(min(a, b), max(a, b) + 1) if lane
            ]
    if targets and rng.random() < 0.7:
        road, lane, s = targets[int(rng.integers(len(targets)))]
        length = road_map.roads[road].length_m if road in road_map.roads else 0.0
        back = float(rng.uniform(2.5, 60.0))
        s_ego = s + back if lane > 0 else s - back  # positive lanes drive towards -s
        if 2.0 <= s_ego <= length - 2.0:
            wp = road_map.carla_map.get_waypoint_xodr(road, lane, s_ego)
            if wp is not None and str(wp.lane_type) == "Driving":
                return Place(road=road, lane=lane, s_m=round(s_ego, 2))
    return _place(road_map, "driving", rng, 5.0)


def _with_streets(scenario: Scenario, streets: Streets, seed: int, p: FramePlan) -> Scenario:
    """The group's streetscape (one static world per group: its own seed) and, one frame
    in four, night or fog."""
    group = np.random.default_rng([seed, p.group, 0x57EE7])
    profile = streets
    if streets == "mixed":
        profile = ("off", "suburban", "urban")[int(group.choice(3, p=[0.2, 0.4, 0.4]))]
    config = StreetscapeConfig(
        profile=profile,  # type: ignore[arg-type]
        density=round(float(group.uniform(0.6, 1.4)), 2),
        seed=int(group.integers(2**32)),
    )
    frame = np.random.default_rng([seed, p.group, p.index, 0x57EE7])
    lighting = scenario.lighting
    weather = frame.random()
    if weather < 0.15:
        lighting = LightingConfig(preset="night", sun_azimuth_deg=lighting.sun_azimuth_deg)
    elif weather < 0.25:
        lighting = LightingConfig(
            preset="fog", visibility_m=round(float(frame.uniform(50.0, 250.0)), 0)
        )
    return scenario.model_copy(update={"streetscape": config, "lighting": lighting})


def _random_lighting(rng: np.random.Generator) -> LightingConfig:
    preset = ("day", "overcast", "dusk")[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
    return LightingConfig(
        preset=preset,  # type: ignore[arg-type]
        sun_azimuth_deg=round(float(rng.uniform(0, 360)), 1),
        visibility_m=round(float(rng.uniform(250, 2000)), 0),
    )


def _random_rig(rng: np.random.Generator) -> RigConfig:
    width, height = IMAGE_SIZE_PX
    return RigConfig(
        cameras=[
            CameraConfig(
                name="front",
                width_px=width,
                height_px=height,
                # a main camera, or one in three a wide one (rigs carry both)
                fov_deg=round(
                    float(rng.uniform(60, 90) if rng.random() < 0.67 else rng.uniform(90, 125)), 1
                ),
                pose=MountPose(
                    x_m=round(float(rng.uniform(0.3, 1.5)), 2),
                    y_m=round(float(rng.uniform(-0.4, 0.4)), 2),
                    z_m=round(float(rng.uniform(1.2, 2.2)), 2),
                    pitch_deg=round(float(rng.uniform(-7, 10)), 1),
                    yaw_deg=round(float(rng.uniform(-12, 12)), 1),
                ),
                noise_std=round(float(rng.choice([0.0, 2.0, 5.0, 9.0])), 1),
            )
        ],
        lidars=[],
    )


# --------------------------------------------------------------------------- writing


def labels(boxes: tuple[Box2DTruth, ...], width_px: int, height_px: int) -> list[str]:
    """YOLO label lines (class cx cy w h, normalised) of the boxes worth finding."""
    lines = []
    for box in boxes:
        if box.object_class not in CLASSES:
            continue
        x0, y0, x1, y1 = box.xyxy_px
        if min(x1 - x0, y1 - y0) < MIN_BOX_PX or box.visible_px < MIN_VISIBLE_PX:
            continue
        if box.occlusion > MAX_OCCLUSION or box.truncation > MAX_TRUNCATION:
            continue
        cls = CLASSES.index(box.object_class)
        cx, cy = (x0 + x1) / 2 / width_px, (y0 + y1) / 2 / height_px
        w, h = (x1 - x0) / width_px, (y1 - y0) / height_px
        lines.append(f"{cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def _write_frame(out: Path, p: FramePlan, frame: SensorFrame, rng: np.random.Generator) -> None:
    cam = frame.cameras[0]
    if frame.ground_truth is None:
        raise ValueError("datagen needs a world that knows its ground truth")
    height, width = cam.bgra.shape[:2]
    img = Image.fromarray(np.ascontiguousarray(cam.bgra[:, :, 2::-1]))
    if rng.random() < 0.3:  # focus and motion blur, as real lenses and shutters give
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.4, 1.4))))
    stem = f"{p.index:06d}"
    img.save(out / "images" / p.split / f"{stem}.jpg", quality=int(rng.integers(80, 96)))
    lines = labels(frame.ground_truth.boxes_2d.get(cam.name, ()), width, height)
    final = _label_path(out, p)
    tmp = final.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + ("\n" if lines else ""))
    os.replace(tmp, final)


def _label_path(out: Path, p: FramePlan) -> Path:
    return out / "labels" / p.split / f"{p.index:06d}.txt"


def _check_resume(out: Path, frames: int, seed: int, streetscape: Streets = "off") -> None:
    """A folder holds one dataset: resuming must ask for the same seed and streetscape and
    no fewer frames."""
    path = out / "data.yaml"
    if not path.is_file():
        return
    doc = read_yaml(path)
    made = doc.get("roadmind", {}) if isinstance(doc, dict) else None
    if not isinstance(made, dict):
        raise UserError(
            f"{path}: not a dataset description (a mapping whose 'roadmind' entry holds "
            "seed and frames); use another --out folder"
        )
    if made.get("seed", seed) != seed or made.get("frames", frames) > frames:
        raise UserError(
            f"{path}: this dataset was made with seed {made.get('seed')} and "
            f"{made.get('frames')} frames; asked for seed {seed} and {frames} frames. "
            "Use another --out folder (or the same seed and at least as many frames)"
        )
    if made.get("streetscape", "off") != streetscape:
        raise UserError(
            f"{path}: this dataset was made with streetscape {made.get('streetscape', 'off')}; "
            f"asked for {streetscape}. Use another --out folder"
        )


def _write_data_yaml(out: Path, frames: int, seed: int, streetscape: Streets = "off") -> None:
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": {i: c.value for i, c in enumerate(CLASSES)},
        "roadmind": {
            "seed": seed,
            "frames": frames,
            "train_maps": list(TRAIN_MAPS) + ([] if streetscape == "off" else ["hill_street"]),
            "val_maps": list(VAL_MAPS),
            "frames_per_group": FRAMES_PER_GROUP,
            "image_size_px": list(IMAGE_SIZE_PX),
        },
    }
    if streetscape != "off":
        data["roadmind"]["streetscape"] = streetscape  # type: ignore[index]
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
