"""Labelled sign and light crops cut from embedded-world frames, for scoring the reader.

Frames are random layouts as the detector's data has them (``training/datagen.py``)
on the maps the reader's evaluation names, with their own seeds and lighting; each
visible sign or light box of the front camera becomes a crop, labelled from the
ground truth (sign type, value and unit, plate text; light state). The reader trains
on synthetic crops only, so every world crop is one it never saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from maps.road_map import MAPS_DIR, RoadMap, load_road_map
from reasoning.reader_crops import square_crop
from roadmind.messages import LightState, ObjectClass, SensorFrame, SignTruth, SignType
from roadmind.progress import progress as progress_bar
from sim.embedded.world import LIGHT_ID_BASE, SIGN_ID_BASE, EmbeddedWorld
from sim.scenario import Place, SignConfig
from training.datagen import _ego_place, _random_rig, _random_scenario, reset_clear_of_ego
from training.reader_data import HOURS

SIGNS_PER_FRAME = 6
KMH = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130)
MPH = (15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75)
PLATES = ("ROAD\nWORKS", "ROAD WORKS\n40 km/h", "NO\nPARKING", "ONE\nWAY")

EVAL_MAPS = ("t_junction_signals", "t_junction_yield", "four_way_signals", "straight_speed")
MIN_BOX_PX = 8.0  # smaller boxes are not crops anyone could read
MAX_OCCLUSION = 0.1
MAX_TRUNCATION = 0.05
FACING_COS = math.cos(math.radians(60))  # beyond this the face is too edge-on to read


@dataclass(frozen=True, slots=True)
class WorldCrop:
    rgb: np.ndarray  # square crop with context, as the loop cuts it
    truth: str  # the vocabulary class name it shows (``speed_limit 30 km/h``, ``light_red``)
    kind: str  # "sign" or "light"
    box_height_px: float
    box_in_crop_px: np.ndarray  # (4,) the object's own box in crop pixels
    lighting: str
    map_name: str


def sign_class_name(sign: SignTruth) -> str | None:
    """The vocabulary class a sign shows; None for plates the vocabulary has no entry for."""
    if sign.sign_type is SignType.SPEED_LIMIT:
        return f"speed_limit {sign.value:g} {sign.unit}"
    if sign.sign_type in (SignType.STOP, SignType.YIELD, SignType.SCHOOL_ZONE):
        return sign.sign_type.value
    if "WORKS" in sign.text.upper():
        return "road_works"
    return None


def light_class_name(state: LightState) -> str | None:
    return None if state is LightState.UNKNOWN else f"light_{state.value}"


def _faces_camera(yaw_rad: float, camera_yaw_rad: float) -> bool:
    """A sign or light governs traffic going the camera's way, so its face (not its
    back or edge) is what the camera sees."""
    return math.cos(yaw_rad - camera_yaw_rad) > FACING_COS


def crops_of(frame: SensorFrame, lighting: str, map_name: str) -> list[WorldCrop]:
    if frame.ground_truth is None or not frame.cameras:
        return []
    image = frame.cameras[0]
    camera_yaw = frame.ego.pose.yaw_rad + image.sensor_to_ego.yaw_rad
    rgb = image.bgra[:, :, 2::-1]
    out = []
    for box in frame.ground_truth.boxes_2d.get(image.name, ()):
        x0, y0, x1, y1 = box.xyxy_px
        if y1 - y0 < MIN_BOX_PX or box.occlusion > MAX_OCCLUSION:
            continue
        if box.truncation > MAX_TRUNCATION:
            continue
        name, kind = None, "sign"
        if box.object_class is ObjectClass.TRAFFIC_SIGN:
            sign = frame.ground_truth.signs[box.object_id - SIGN_ID_BASE]
            if _faces_camera(sign.pose.yaw_rad, camera_yaw):
                name = sign_class_name(sign)
        elif box.object_class is ObjectClass.TRAFFIC_LIGHT:
            kind = "light"
            light = frame.ground_truth.lights[box.object_id - LIGHT_ID_BASE]
            if _faces_camera(light.pose.yaw_rad, camera_yaw):
                name = light_class_name(light.state)
        if name is not None:
            crop = square_crop(rgb, box.xyxy_px)
            side = crop.shape[0]
            cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
            inner = np.array([x0 - cx, y0 - cy, x1 - cx, y1 - cy]) + side / 2.0
            out.append(WorldCrop(crop, name, kind, float(y1 - y0), inner, lighting, map_name))
    return out


def world_crops(
    frames: int, seed: int, maps: Sequence[str] = EVAL_MAPS, progress: bool = False
) -> Iterator[WorldCrop]:
    """Crops of ``frames`` random frames; frame ``i`` depends only on (seed, i)."""
    world = EmbeddedWorld()
    loaded: dict[str, RoadMap] = {}
    bar = progress_bar(frames, "world crops", "frame") if progress else None
    try:
        for i in range(frames):
            map_name = maps[i % len(maps)]
            if map_name not in loaded:
                loaded[map_name] = load_road_map(MAPS_DIR / f"{map_name}.xodr")
            road_map = loaded[map_name]
            rng = np.random.default_rng([seed, 7919, i])
            ego = _ego_place(road_map, [], rng)
            signs = _signs_ahead(road_map, ego, rng)
            scenario = _random_scenario(road_map, signs, rng, seed * 1_000_003 + i)
            scenario = scenario.model_copy(
                update={"ego": scenario.ego.model_copy(update={"start": ego})}
            )
            world.rig_override = _random_rig(rng)
            frame = reset_clear_of_ego(world, scenario)
            yield from crops_of(frame, scenario.lighting.preset, map_name)
            if bar is not None:
                bar.update()
    finally:
        world.close()
        if bar is not None:
            bar.close()


def _signs_ahead(road_map: RoadMap, ego: Place, rng: np.random.Generator) -> list[SignConfig]:
    """Signs of every kind 8-55 m ahead of the ego on its own lane, either side."""
    assert ego.road is not None and ego.lane is not None and ego.s_m is not None
    length = road_map.roads[ego.road].length_m
    ahead = 1.0 if ego.lane < 0 else -1.0  # negative lanes drive towards +s
    out = []
    for _ in range(SIGNS_PER_FRAME):
        s_m = ego.s_m + ahead * float(rng.uniform(8.0, 55.0))
        if not 1.0 <= s_m <= length - 1.0:
            continue
        kind = str(
            rng.choice(["speed_limit", "speed_limit", "stop", "yield", "school_zone", "text"])
        )
        value, unit, text = 0.0, "", ""
        if kind == "speed_limit":
            unit = "km/h" if rng.random() < 0.5 else "mph"
            value = float(rng.choice(KMH if unit == "km/h" else MPH))
        elif kind == "school_zone":
            value, unit = float(rng.choice([15, 20, 25])), "mph"
            text = f"SCHOOL\nZONE\n{value:g} MPH\n{rng.choice(HOURS)}"
        elif kind == "text":
            text = str(rng.choice(PLATES))
        out.append(
            SignConfig(
                type=kind,  # type: ignore[arg-type]
                at=Place(road=ego.road, lane=ego.lane, s_m=round(s_m, 2)),
                value=value,
                unit=unit,  # type: ignore[arg-type]
                text=text,
                side_offset_m=round(float(rng.uniform(2.2, 6.0)), 2),
            )
        )
    return out
