"""Bird's-eye tracking: velocities from noisy positions, stable ids through crossings,
birth and death, and an ego that moves while it tracks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusion.tracking import Detection, Tracker, TrackerConfig
from roadmind.frames import Pose
from roadmind.messages import ObjectClass

DT = 0.1
CAR = np.array([2.3, 0.95, 0.75])


def _det(x: float, y: float, cls: ObjectClass = ObjectClass.VEHICLE) -> Detection:
    return Detection(cls, np.array([x, y, 0.75]), CAR, 0.0)


def test_constant_velocity_is_estimated_from_noisy_positions() -> None:
    rng = np.random.default_rng(0)
    tracker = Tracker()
    out = ()
    for k in range(40):  # 8 m/s along x, 0.2 m position noise
        x, y = 10.0 + 8.0 * k * DT, 3.0
        out = tracker.step([_det(x + rng.normal(0, 0.2), y + rng.normal(0, 0.2))], Pose(), k * DT)
    assert len(out) == 1
    assert np.allclose(out[0].velocity_mps[:2], [8.0, 0.0], atol=0.5)
    assert abs(out[0].position_m[0] - (10.0 + 8.0 * 39 * DT)) < 0.4


def test_ids_stay_with_their_objects_through_a_crossing() -> None:
    tracker = Tracker()
    ids_a, ids_b = set(), set()
    for k in range(60):
        t = k * DT
        a = _det(-15.0 + 5.0 * t, 0.0)  # east-bound
        b = _det(0.0, -15.0 + 5.0 * t)  # south-bound, meets a near the origin
        out = tracker.step([a, b], Pose(), t)
        for obj in out:
            if obj.position_m[1] > -1.0 and abs(obj.position_m[0]) > 3:  # clearly a
                ids_a.add(obj.track_id)
            elif abs(obj.position_m[0]) < 1.0 and abs(obj.position_m[1]) > 3:  # clearly b
                ids_b.add(obj.track_id)
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


def test_birth_needs_two_hits_and_death_comes_after_misses() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2, max_misses=3))
    assert tracker.step([_det(10, 0)], Pose(), 0.0) == ()  # one sighting is not yet a track
    assert len(tracker.step([_det(10, 0)], Pose(), 0.1)) == 1
    for k in range(3):  # missed: kept but not reported
        assert tracker.step([], Pose(), 0.2 + k * DT) == ()
        assert len(tracker.tracks) == 1
    tracker.step([], Pose(), 0.6)
    assert tracker.tracks == []
    new = [tracker.step([_det(10, 0)], Pose(), 0.7 + k * DT) for k in range(2)][-1]
    assert new[0].track_id == 2  # ids are never reused


def test_classes_must_agree_and_bad_detections_are_skipped() -> None:
    tracker = Tracker()
    for k in range(3):
        tracker.step([_det(10, 0)], Pose(), k * DT)
    out = tracker.step([_det(10.2, 0, ObjectClass.PEDESTRIAN), _det(math.nan, 0)], Pose(), 0.3)
    assert [o.object_class for o in out] == []  # the car missed, the pedestrian is new
    assert {t.object_class for t in tracker.tracks} == {
        ObjectClass.VEHICLE,
        ObjectClass.PEDESTRIAN,
    }


def test_a_moving_ego_sees_a_parked_car_standing_still() -> None:
    tracker = Tracker()
    out = ()
    for k in range(30):  # the ego drives at 10 m/s towards a car parked 50 m ahead
        ego = Pose(x_m=10.0 * k * DT, yaw_rad=0.0)
        out = tracker.step([_det(50.0 - 10.0 * k * DT, 0.0)], ego, k * DT)
    assert len(out) == 1
    assert np.linalg.norm(out[0].velocity_mps[:2]) < 0.3  # absolute velocity: standing
    assert abs(out[0].position_m[0] - (50.0 - 10.0 * 29 * DT)) < 0.3


def test_a_pedestrian_track_keeps_its_detection_beside_a_pole() -> None:
    """The default scenario's corner: a pedestrian walks past a light pole while a
    young unclassed track (a merged cluster) lies 2.4 m from the pedestrian. Making as
    many pairs as possible would hand the pedestrian to the young track and the pole
    to the pedestrian's; the cheaper assignment leaves the young track unmatched."""
    ped = ObjectClass.PEDESTRIAN
    unknown = ObjectClass.UNKNOWN
    tracker = Tracker()
    for k in range(10):  # a pedestrian standing at (8.3, 3.0); a cluster at (10.5, 4.0)
        dets = [_det(8.3, 3.0, ped)] + ([_det(10.5, 4.0, unknown)] if k >= 7 else [])
        tracker.step(dets, Pose(), k * DT)
    pedestrian_id = next(t.track_id for t in tracker.tracks if t.object_class is ped)
    young_id = next(t.track_id for t in tracker.tracks if t.object_class is unknown)
    pole = _det(7.3, 2.2, unknown)  # 1.3 m from the pedestrian, 3.7 m from the cluster
    tracker.step([_det(8.3, 3.0, ped), pole], Pose(), 10 * DT)
    by_id = {t.track_id: t for t in tracker.tracks}
    assert np.allclose(by_id[pedestrian_id].state[:2], [8.3, 3.0], atol=0.05)
    assert by_id[young_id].misses == 1  # it took nothing
    assert any(t.hits == 1 and np.allclose(t.state[:2], [7.3, 2.2]) for t in tracker.tracks)


@pytest.mark.parametrize(("unclassed_cost_m", "takes_x_m"), [(1.0, 9.2), (0.0, 10.5)])
def test_a_classed_track_prefers_a_detection_of_its_class(
    unclassed_cost_m: float, takes_x_m: float
) -> None:
    tracker = Tracker(TrackerConfig(unclassed_cost_m=unclassed_cost_m))
    for k in range(5):
        tracker.step([_det(10.0, 0.0, ObjectClass.PEDESTRIAN)], Pose(), k * DT)
    (track,) = tracker.tracks
    # an unclassed return 0.5 m off and the pedestrian 0.8 m off: with the penalty the
    # pedestrian wins, without it the nearer return does
    dets = [_det(10.5, 0.0, ObjectClass.UNKNOWN), _det(9.2, 0.0, ObjectClass.PEDESTRIAN)]
    tracker.step(dets, Pose(), 5 * DT)
    assert tracker.tracks[0] is track
    taken = track.state[0] > 10.0 if takes_x_m > 10.0 else track.state[0] < 10.0
    assert taken and track.hits == 6


def test_a_vague_detection_is_no_cheaper_for_being_vague() -> None:
    """A camera-only placement 2.6 m off with a 3 m error has a wide gate; a LiDAR
    placement 0.3 m off is still the track's."""
    ped = ObjectClass.PEDESTRIAN
    tracker = Tracker()
    for k in range(5):
        tracker.step([_det(10.0, 0.0, ped)], Pose(), k * DT)
    (track,) = tracker.tracks
    vague = Detection(ped, np.array([12.6, 0.0, 0.9]), CAR, 0.0, position_std_m=3.0)
    tracker.step([_det(10.3, 0.0, ped), vague], Pose(), 5 * DT)
    assert tracker.tracks[0] is track and abs(track.state[0] - 10.3) < 0.2
    assert len(tracker.tracks) == 2  # the vague one starts its own track
