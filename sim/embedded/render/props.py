"""Sign and traffic-light props: pole, a textured face looking at the approaching
traffic, a plain back; traffic-light heads whose face tile follows the light state."""

from __future__ import annotations

import math

import numpy as np

from maps.landmarks import LightSpec, SignSpec
from roadmind.messages import LightState, SignType
from sim.embedded.render import textures
from sim.embedded.render.materials import Material
from sim.embedded.render.mesh import MeshBuilder, TexturedFace
from sim.embedded.render.textures import TextureAtlas

POLE_HALF_M = 0.04
SIGN_CENTER_HEIGHT_M = 2.2
LIGHT_CENTER_HEIGHT_M = 3.0
LIGHT_HEAD_HALF_M = np.array([0.15, 0.18, 0.5])  # depth, width, height halves
# Face sizes [m] (width, height) after the real designs.
SIGN_SIZE_M = {
    SignType.STOP: (0.9, 0.9),
    SignType.SPEED_LIMIT: (0.8, 0.8),
    SignType.YIELD: (0.95, 0.95),
    SignType.SCHOOL_ZONE: (0.9, 1.15),
    SignType.TEXT: (1.0, 0.75),
}
STATE_LAMP = {
    LightState.RED: "red",
    LightState.YELLOW: "yellow",
    LightState.GREEN: "green",
    LightState.OFF: None,
    LightState.UNKNOWN: None,
}


def light_tiles(atlas: TextureAtlas) -> dict[LightState, int]:
    return {
        state: atlas.add(("light", lamp), textures.draw_light_face(atlas.px, lamp))
        for state, lamp in STATE_LAMP.items()
    }


def _sign_tile(atlas: TextureAtlas, sign: SignSpec) -> int:
    px = atlas.px
    if sign.sign_type is SignType.STOP:
        return atlas.add(("stop",), textures.draw_stop(px))
    if sign.sign_type is SignType.SPEED_LIMIT:
        return atlas.add(
            ("speed", sign.value, sign.unit), textures.draw_speed_limit(px, sign.value, sign.unit)
        )
    if sign.sign_type is SignType.YIELD:
        return atlas.add(("yield",), textures.draw_yield(px))
    w, h = SIGN_SIZE_M[sign.sign_type]
    lines = [ln.strip() for ln in sign.text.split("\n") if ln.strip()] or [sign.sign_type.value]
    color = textures.YELLOW_GREEN if sign.sign_type is SignType.SCHOOL_ZONE else textures.WHITE
    return atlas.add(
        ("text", sign.text, sign.sign_type.value), textures.draw_text_sign(px, lines, w / h, color)
    )


def _outline(sign_type: SignType, w: float, h: float) -> np.ndarray:
    """Face polygon in face coordinates (u right, v down, origin top-left) [m]."""
    if sign_type is SignType.STOP:
        return textures.regular_polygon(8, w / 2, math.pi / 8) + w / 2
    if sign_type is SignType.SPEED_LIMIT:
        return textures.regular_polygon(32, w / 2) + w / 2
    if sign_type is SignType.YIELD:
        tri_h = w * math.sqrt(3) / 2
        top = (w - tri_h) / 2
        return np.array([[0.0, top], [w, top], [w / 2, top + tri_h]])
    return np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])


def _frame(traffic_yaw_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors towards the traffic (face normal) and to the viewer's right."""
    forward = np.array([math.cos(traffic_yaw_rad), math.sin(traffic_yaw_rad), 0.0])
    right = np.array([-math.sin(traffic_yaw_rad), math.cos(traffic_yaw_rad), 0.0])
    return -forward, right


def add_sign(builder: MeshBuilder, atlas: TextureAtlas, sign: SignSpec, object_id: int) -> None:
    w, h = SIGN_SIZE_M[sign.sign_type]
    normal, right = _frame(sign.traffic_yaw_rad)
    base = sign.position
    center = base + np.array([0.0, 0.0, SIGN_CENTER_HEIGHT_M])
    top = center[2] + h / 2
    builder.add_box(
        np.array([base[0], base[1], (base[2] + top) / 2]),
        np.array([POLE_HALF_M, POLE_HALF_M, (top - base[2]) / 2]),
        np.eye(3),
        Material.POLE,
        0,  # the pole is street furniture, not part of the sign box
    )
    outline = _outline(sign.sign_type, w, h)
    down = np.array([0.0, 0.0, -1.0])
    face_tile = _sign_tile(atlas, sign)
    for offset, material, tile in (
        (POLE_HALF_M + 0.02, Material.SIGN_FACE, face_tile),
        (POLE_HALF_M + 0.01, Material.SIGN_BACK, -1),
    ):
        origin = center + normal * offset - right * w / 2 + np.array([0.0, 0.0, h / 2])
        if tile < 0:
            # the back: same outline, plain material, seen from behind the face
            verts = origin + outline[:, :1] * right + outline[:, 1:2] * down
            k = outline.shape[0]
            tris = np.stack([np.zeros(k - 2, int), np.arange(2, k), np.arange(1, k - 1)], 1)
            builder.add(verts, tris, material, object_id)
        else:
            builder.add_face(
                outline, TexturedFace(origin, right, down, w, h, tile), material, object_id
            )


def add_light(builder: MeshBuilder, light: LightSpec, tile: int, object_id: int) -> int:
    """Pole, housing and the state face; returns the face slot whose tile the world updates."""
    normal, right = _frame(light.traffic_yaw_rad)
    base = light.position
    head = base + np.array([0.0, 0.0, LIGHT_CENTER_HEIGHT_M])
    pole_h = LIGHT_CENTER_HEIGHT_M + LIGHT_HEAD_HALF_M[2]
    builder.add_box(
        base + np.array([0.0, 0.0, pole_h / 2]),
        np.array([POLE_HALF_M * 1.5, POLE_HALF_M * 1.5, pole_h / 2]),
        np.eye(3),
        Material.POLE,
        0,
    )
    rotation = np.stack([normal, right, np.array([0.0, 0.0, 1.0])], axis=1)
    housing_center = head + normal * (POLE_HALF_M * 1.5 + LIGHT_HEAD_HALF_M[0])
    builder.add_box(housing_center, LIGHT_HEAD_HALF_M, rotation, Material.LIGHT_HOUSING, object_id)
    w, h = 2 * LIGHT_HEAD_HALF_M[1] * 0.95, 2 * LIGHT_HEAD_HALF_M[2] * 0.97
    origin = (
        housing_center
        + normal * (LIGHT_HEAD_HALF_M[0] + 0.005)
        - right * w / 2
        + np.array([0.0, 0.0, h / 2])
    )
    outline = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    builder.add_face(
        outline,
        TexturedFace(origin, right, np.array([0.0, 0.0, -1.0]), w, h, tile),
        Material.LIGHT_FACE,
        object_id,
    )
    return len(builder.faces) - 1
