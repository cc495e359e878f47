"""CARLA's own towns, read as CARLA reads them.

CARLA's towns are RoadRunner exports whose speed-limit signs are ``<object
name="Speed_30">`` entries; CARLA's OpenDRIVE parser turns each into a 274 signal named
``Speed_<n>`` with subtype ``"<n>"``, value n and unit ``"mph"``, and ``carla.Map``
reports that unit. In CARLA those signs are km/h signs: the sign actors set a vehicle's
speed limit to n km/h (``Vehicle.get_speed_limit()``, which the Traffic Manager obeys;
CARLA issues #2039 and #7929). The towns' lane ``<speed>`` records (``25 mph`` in Town01)
set no vehicle's limit in CARLA: a vehicle's limit is 30 km/h
(``WheeledVehicleAIController::SpeedLimit``) until it passes its first sign.

How roadmind recognises them:

- **a CARLA speed sign** is a 274 landmark named ``Speed_<n>`` (any case: Town04 has
  ``speed_60``) with unit ``mph`` and value n: its value is read in km/h, in any map
  (a custom map that copies CARLA's convention gets CARLA's meaning);
- **a CARLA town** is a map whose name is a town's (``Town01``, ``Town10HD``,
  ``Town10HD_Opt``, ``Carla/Maps/Town04``: the file stem or the server's map name) or
  that holds a CARLA speed sign. In a CARLA town lane speed records are not the law:
  the limit is 30 km/h until the route passes its first speed-limit sign, then the
  signs' (the records are reported in ``problems``, once, as ignored).
"""

from __future__ import annotations

import re

import carla

from maps.opendrive import SIGNAL_SPEED_LIMIT

CARLA_DEFAULT_LIMIT_KMH = 30.0  # a CARLA vehicle's limit before its first sign [km/h]
_SPEED_SIGN_NAME = re.compile(r"speed_(\d+)", re.IGNORECASE)
_TOWN_NAME = re.compile(r"town\d+(hd)?(_opt)?", re.IGNORECASE)


def is_carla_speed_sign(landmark: carla.Landmark) -> bool:
    """A speed-limit sign as CARLA's parser makes it from a town's ``Speed_<n>`` object."""
    if landmark.type != SIGNAL_SPEED_LIMIT or (landmark.unit or "").lower() != "mph":
        return False
    match = _SPEED_SIGN_NAME.fullmatch(landmark.name or "")
    return match is not None and float(match.group(1)) == float(landmark.value)


def landmark_unit(landmark: carla.Landmark, default: str) -> str:
    """The unit of a landmark's value as CARLA means it (``default`` when none is written)."""
    if is_carla_speed_sign(landmark):
        return "km/h"
    return landmark.unit or default


def is_town_name(name: str) -> bool:
    """``Town01``, ``Town10HD_Opt``, ``Carla/Maps/Town04``, ``/x/Town02.xodr``."""
    stem = re.split(r"[\\/]", name)[-1].removesuffix(".xodr")
    return _TOWN_NAME.fullmatch(stem) is not None


def is_carla_town(carla_map: carla.Map) -> bool:
    """By its name or by the CARLA speed signs it holds (module docstring)."""
    if is_town_name(carla_map.name):
        return True
    return any(is_carla_speed_sign(lm) for lm in carla_map.get_all_landmarks())
