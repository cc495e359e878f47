"""The perception stack in the loop: camera detector + LiDAR pipeline + BEV fusion,
turning each ``SensorFrame`` into the ``BevScene`` the rules decide on.

Sensors arrive at their own rates; the stack keeps each one's latest view. The
detector runs on a camera frame only when a fusion cycle will use it (a new scan, or
no recent scan), so a 20 Hz camera beside a 10 Hz LiDAR costs ten detections a second.
With a new scan, what LiDAR sees and no camera box explains gets a second, closer look
(``fusion/second_look.py``) before the fusion cycle. Every sign box the cycle locates
is read by the sign reader (``reasoning/sign_reader.py``): its meaning comes from the
reading, once per sign and again when it is seen nearer (``fusion/sign_readings.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fusion.bev_fusion import BevFusion, CameraView, LidarView
from fusion.config import FusionConfig, load_fusion_config
from fusion.landmarks import KnownLandmark
from fusion.second_look import look_again, sparse_probes
from maps.landmarks import LightSpec, SignSpec
from maps.road_area import RoadArea
from perception.camera_detector import CameraDetector
from perception.lidar.config import load_lidar_config
from perception.lidar.pipeline import LidarPipeline, RoadView
from reasoning.reader_crops import square_crop
from reasoning.reader_model import load_encoder
from reasoning.sign_reader import SignReader
from roadmind.messages import (
    BevScene,
    BevSign,
    CameraImage,
    LightState,
    ObjectClass,
    SensorFrame,
    SignReading,
)
from sim.rig import RigConfig


def known_landmarks(signs: Sequence[SignSpec], lights: Sequence[LightSpec]) -> list[KnownLandmark]:
    """The map's signs and lights as fusion matches them (scenario-added signs are not
    on the map, so callers leave them out)."""
    out = [
        KnownLandmark(
            s.sign_id,
            ObjectClass.TRAFFIC_SIGN,
            s.position,
            s.traffic_yaw_rad,
            s.sign_type,
            s.value,
            s.unit,
            s.text,
        )
        for s in signs
    ]
    out += [
        KnownLandmark(lt.light_id, ObjectClass.TRAFFIC_LIGHT, lt.position, lt.traffic_yaw_rad)
        for lt in lights
    ]
    return out


@dataclass
class StageTimes:
    """Milliseconds per call of each stage, for benchmarks and the run summary."""

    detector_ms: list[float] = field(default_factory=list)
    lidar_ms: list[float] = field(default_factory=list)
    fusion_ms: list[float] = field(default_factory=list)
    second_look_ms: list[float] = field(default_factory=list)
    reader_ms: list[float] = field(default_factory=list)  # per sign read (OCR included)


READER_MODEL_ENV = "ROADMIND_READER_MODEL"  # a trained folder or a CLIP checkpoint


@functools.cache
def shared_reader() -> SignReader:
    """The reader every drive of this process shares, loaded once: the shipped one, or
    the model ``$ROADMIND_READER_MODEL`` names (a trained folder, a CLIP checkpoint)."""
    return SignReader(load_encoder(os.environ.get(READER_MODEL_ENV) or None))


class CropReader:
    """Fusion's ``ReadSign``: the sign box of a camera frame, cut and read. The crops
    of the last frames are kept, so that the run video can show what a reading saw."""

    KEEP_FRAMES = 200

    def __init__(self, reader: SignReader, times: StageTimes) -> None:
        self.reader, self.times = reader, times
        self.crops: dict[int, list[tuple[SignReading, np.ndarray]]] = {}

    def __call__(self, image: CameraImage, box_xyxy: np.ndarray, frame_id: int) -> SignReading:
        crop, reading = self._read(image, box_xyxy, "sign")
        self.crops.setdefault(frame_id, []).append((reading, crop))
        for old in [f for f in self.crops if f < frame_id - self.KEEP_FRAMES]:
            del self.crops[old]
        return reading

    def light(self, image: CameraImage, box_xyxy: np.ndarray, frame_id: int) -> LightState:
        """Fusion's ``ReadLight``: the light box read by the dual encoder (used where
        the pixel state reader cannot tell the lamps apart)."""
        state = self._read(image, box_xyxy, "light")[1].light_state
        return state if state is not None else LightState.UNKNOWN

    def _read(
        self, image: CameraImage, box_xyxy: np.ndarray, kind: str
    ) -> tuple[np.ndarray, SignReading]:
        """The box's crop (BGRA -> RGB on the crop only) and its reading, timed."""
        t0 = time.perf_counter()
        crop = square_crop(image.bgra[:, :, 2::-1], box_xyxy)
        reading = self.reader.read([crop], [kind])[0]
        self.times.reader_ms.append(_ms(t0))
        return crop, reading

    def crop_of(self, sign: BevSign) -> tuple[SignReading, np.ndarray] | None:
        """The reading and crop behind a sign of the scene, while still kept."""
        if sign.read_frame is None:
            return None
        for reading, crop in self.crops.get(sign.read_frame, []):
            if reading.sign_type is sign.sign_type and reading.value == sign.value:
                return reading, crop
        return None


class PerceptionStack:
    """``stack(frame) -> BevScene``; holds the models and the tracker across frames."""

    def __init__(
        self,
        rig: RigConfig,
        landmarks: Sequence[KnownLandmark] = (),
        detector: CameraDetector | None = None,
        lidar: LidarPipeline | None = None,
        fusion: FusionConfig | None = None,
        reader: SignReader | None = None,
        read_signs: bool = True,
        road_area: RoadArea | None = None,
    ) -> None:
        self.detector = detector or CameraDetector()
        self.lidar = lidar or LidarPipeline(load_lidar_config())
        self.road_area = road_area  # the map's roads: the LiDAR's off-road rule
        config = fusion or load_fusion_config()
        self.times = StageTimes()
        self.crop_reader = None
        if read_signs:
            self.crop_reader = CropReader(reader or shared_reader(), self.times)
        self.fusion = BevFusion(
            config,
            landmarks,
            [c.name for c in rig.cameras],
            lidar_expected=bool(rig.lidars),
            read_sign=self.crop_reader,
            read_light=self.crop_reader.light if self.crop_reader is not None else None,
        )
        self._images: dict[str, CameraImage] = {}
        self._views: dict[str, CameraView] = {}
        self._scan: LidarView | None = None

    def __call__(self, frame: SensorFrame) -> BevScene:
        for image in frame.cameras:
            self._images[image.name] = image
        faults: list[str] = []
        if frame.lidars:
            scan = frame.lidars[0]  # one LiDAR feeds the pipeline; the rig's first
            t0 = time.perf_counter()
            try:
                road = None if self.road_area is None else RoadView(self.road_area, frame.ego.pose)
                result = self.lidar.run(scan.points_xyzi, scan.sensor_to_ego, road)
            except ValueError as err:  # a broken sweep (all NaN): the scene goes on without
                faults.append(f"LiDAR {scan.name}: scan unusable ({err})")
            else:
                self._scan = LidarView(result, frame.ego.pose, scan.timestamp_s)
            self.times.lidar_ms.append(_ms(t0))
        max_age_s = self.fusion.config.timing.max_lidar_age_s
        stale = self._scan is None or frame.timestamp_s - self._scan.timestamp_s > max_age_s
        if (frame.lidars and not faults) or stale:
            fresh = self._detect_new()
            if frame.lidars and not faults and self.fusion.config.second_look.enabled:
                self._look_again(fresh)
        t0 = time.perf_counter()
        scene = self.fusion.update(
            frame.frame_id, frame.timestamp_s, frame.ego.pose, self._views, self._scan
        )
        self.times.fusion_ms.append(_ms(t0))
        if faults:
            scene = dataclasses.replace(scene, degraded=(*faults, *scene.degraded))
        return scene

    def _detect_new(self) -> list[str]:
        """Detect in every camera frame not seen yet; their names."""
        fresh = []
        for name, image in self._images.items():
            view = self._views.get(name)
            if view is not None and view.image.timestamp_s == image.timestamp_s:
                continue
            t0 = time.perf_counter()
            detections = self.detector.detect(image)
            self.times.detector_ms.append(_ms(t0))
            self._views[name] = CameraView(image, detections)
            fresh.append(name)
        return fresh

    def _look_again(self, fresh: Sequence[str]) -> None:
        """Upscaled crops around this scan's objects that no fresh camera box explains."""
        if self._scan is None or not fresh:
            return
        t0 = time.perf_counter()
        views = {n: (self._views[n].image, self._views[n].detections) for n in fresh}
        scan, config = self._scan.result, self.fusion.config.second_look
        probes = sparse_probes(scan.points_m, scan.height_m, scan.labels, scan.is_ground, config)
        found = look_again(
            views,
            [*scan.objects, *probes],
            self.detector.detect,
            config,
        )
        for name, hits in found.items():
            view = self._views[name]
            self._views[name] = CameraView(view.image, (*view.detections, *hits))
        self.times.second_look_ms.append(_ms(t0))


def _ms(start_s: float) -> float:
    return (time.perf_counter() - start_s) * 1000.0
