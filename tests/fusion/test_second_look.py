"""The second look: a far pedestrian the whole frame misses is found on an upscaled
crop around the LiDAR object there; objects a camera box explains, and looks that
find nothing, add nothing."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from fusion.associate import iou
from fusion.config import SecondLookConfig
from fusion.second_look import crop_for, look_again, sparse_probes
from perception.camera_detector import DEFAULT_WEIGHTS, CameraDetector
from roadmind.messages import CameraImage, Detection2D, LidarObject, ObjectClass
from sim.embedded.world import EmbeddedWorld
from sim.rig import load_rig, resolve_rig_path
from sim.scenario import load_scenario

P = ObjectClass.PEDESTRIAN
Case = tuple[CameraImage, LidarObject, np.ndarray]


@pytest.fixture(scope="module")
def far_pedestrian(
    tmp_path_factory: pytest.TempPathFactory,
) -> Case:
    """The surround rig's 120-degree front camera, a pedestrian standing 44 m ahead on
    the right sidewalk (7 px tall: at 40 m, 8 px, the detector finds it in the whole
    frame), the LiDAR box a pipeline would give it, its true box."""
    scenario = {
        "name": "far_pedestrian",
        "map": "crosswalk",
        "seed": 1,
        "duration_s": 5,
        "ego": {
            "start": {"road": 1, "lane": -1, "s_m": 60},
            "route": {"goal": {"road": 1, "lane": -1, "s_m": 200}},
            "cruise_speed_kmh": 30,
        },
        "actors": [
            {
                "kind": "pedestrian",
                "start": {"road": 1, "lane": -2, "s_m": 104},
                "behaviour": "stand",
            }
        ],
        "lighting": {"preset": "day"},
    }
    path = tmp_path_factory.mktemp("scenario") / "far_pedestrian.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with EmbeddedWorld(load_rig(resolve_rig_path("surround"))) as world:
        frame = world.reset(load_scenario(path))
    (actor,) = [a for a in frame.ground_truth.actors if a.object_class is P]
    centre = frame.ego.pose.inverse_transform_points(actor.pose.translation[None, :])[0]
    image = next(c for c in frame.cameras if c.name == "front_wide")
    (truth,) = [b for b in frame.ground_truth.boxes_2d["front_wide"] if b.object_class is P]
    return image, LidarObject(centre, np.array([0.3, 0.3, 0.9]), 0.0, 8), truth.xyxy_px


def test_a_second_look_finds_a_far_pedestrian_the_frame_misses(far_pedestrian: Case) -> None:
    image, obj, truth = far_pedestrian
    assert truth[3] - truth[1] < 10  # px: too small for the whole frame
    detector = CameraDetector(DEFAULT_WEIGHTS, "torch")
    plain = detector.detect(image)
    assert not any(d.object_class is P and iou(d.xyxy_px, truth) > 0.3 for d in plain)
    found = look_again({image.name: (image, plain)}, [obj], detector.detect, SecondLookConfig())
    (hit,) = found[image.name]
    assert hit.object_class is P and hit.camera == image.name
    assert iou(hit.xyxy_px, truth) > 0.5  # back in the frame's pixels


def test_no_look_where_a_camera_box_explains_the_object_or_none_is_left(
    far_pedestrian: Case,
) -> None:
    image, obj, truth = far_pedestrian
    calls = []

    def detect(bgra: np.ndarray, camera: str) -> tuple[Detection2D, ...]:
        calls.append(bgra.shape)
        return ()

    explained = Detection2D(image.name, P, truth.astype(np.float64), 0.9)
    assert look_again({image.name: (image, (explained,))}, [obj], detect, SecondLookConfig()) == {}
    assert calls == []
    assert look_again({image.name: (image, ())}, [obj], detect, SecondLookConfig()) == {}
    assert calls == [(256, 256, 4)]  # looked once, found nothing: adds nothing
    no_looks = SecondLookConfig(max_looks=0)
    assert look_again({image.name: (image, ())}, [obj], detect, no_looks) == {}
    assert len(calls) == 1


def test_the_crop_is_square_inside_the_frame_and_scaled_at_most_fourfold() -> None:
    config = SecondLookConfig()
    u0, v0, side = crop_for(np.array([630.0, 200, 634, 210]), 360, 640, config)
    assert side == config.min_crop_px == 64 and u0 + side == 640 and v0 == 173
    _, _, side = crop_for(np.array([100.0, 100, 130, 140]), 360, 640, config)
    assert side == 200  # five box heights of context
    _, _, side = crop_for(np.array([0.0, 0, 300, 300]), 240, 320, config)
    assert side == 240  # never larger than the frame


def test_returns_too_few_to_cluster_get_a_person_sized_probe_on_the_ground() -> None:
    points = np.array(
        [
            [30.2, 5.1, 0.5],  # two returns on one far person
            [30.4, 5.3, 1.2],
            [10.0, 0.0, 1.0],  # near: anything real there clusters
            [45.0, -3.0, 0.8],  # one return
            [45.0, -3.0, 3.5],  # too high for a person
            [48.0, 2.0, 0.5],  # a cluster's point
            [50.0, 2.0, -0.1],  # ground
            [70.0, 0.0, 1.0],  # beyond max_range_m
        ]
    )
    height = np.array([0.6, 1.3, 1.0, 0.9, 3.6, 0.6, 0.0, 1.0])
    labels = np.array([-1, -1, -1, -1, -1, 4, -1, -1])
    ground = np.array([False] * 6 + [True, False])
    probes = sparse_probes(points, height, labels, ground, SecondLookConfig())
    assert [p.num_points for p in probes] == [2, 1]
    np.testing.assert_allclose(probes[0].center_m, [30.3, 5.2, -0.1 + 0.9])
    np.testing.assert_allclose(probes[1].center_m, [45.0, -3.0, -0.1 + 0.9])
    assert all(p.class_hint is ObjectClass.UNKNOWN for p in probes)
