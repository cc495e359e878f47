"""Triangle soups with a material, an object id and a texture slot per triangle."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.embedded.render.materials import ALBEDO, Material

NO_TEXTURE = -1


@dataclass
class TexturedFace:
    """A planar face with a texture: origin (top-left corner), unit axes u (right), v (down)."""

    origin: np.ndarray  # (3,) float64 world
    u_axis: np.ndarray  # (3,)
    v_axis: np.ndarray  # (3,)
    width_m: float
    height_m: float
    tile: int  # atlas tile index, may change per step (traffic lights)


@dataclass
class Mesh:
    """Vertices (V, 3) float32, triangles (T, 3) int32 and per-triangle attributes (T,)."""

    vertices: np.ndarray
    triangles: np.ndarray
    material: np.ndarray  # uint8 Material
    object_id: np.ndarray  # int32, 0 = world geometry
    face_slot: np.ndarray  # int32 index into faces or NO_TEXTURE
    faces: list[TexturedFace] = field(default_factory=list)
    albedo: np.ndarray | None = None  # (T, 3) float32 colours; None: the materials' own

    @property
    def num_triangles(self) -> int:
        return int(self.triangles.shape[0])


class MeshBuilder:
    """Accumulates geometry in chunks; ``build`` concatenates once."""

    def __init__(self) -> None:
        self._verts: list[np.ndarray] = []
        self._tris: list[np.ndarray] = []
        self._mat: list[np.ndarray] = []
        self._obj: list[np.ndarray] = []
        self._slot: list[np.ndarray] = []
        self._colour: list[np.ndarray | None] = []
        self._count = 0
        self.faces: list[TexturedFace] = []

    def add(
        self,
        vertices: np.ndarray,
        triangles: np.ndarray,
        material: Material | np.ndarray,
        object_id: int = 0,
        face_slot: int = NO_TEXTURE,
        colour: np.ndarray | None = None,
    ) -> None:
        """``colour``: RGB (3,) or per triangle (T, 3) in [0, 1] instead of the material's
        albedo (varied façades, foliage)."""
        n_tri = triangles.shape[0]
        if n_tri == 0:
            return
        self._verts.append(np.asarray(vertices, dtype=np.float32))
        self._tris.append(np.asarray(triangles, dtype=np.int32) + self._count)
        mat = np.asarray(material, dtype=np.uint8)
        self._mat.append(np.broadcast_to(mat, (n_tri,)).copy())
        self._obj.append(np.full(n_tri, object_id, dtype=np.int32))
        self._slot.append(np.full(n_tri, face_slot, dtype=np.int32))
        self._colour.append(
            None
            if colour is None
            else np.broadcast_to(np.asarray(colour, np.float32), (n_tri, 3)).copy()
        )
        self._count += vertices.shape[0]

    def add_strip(
        self,
        left: np.ndarray,
        right: np.ndarray,
        material: Material,
        object_id: int = 0,
        keep: np.ndarray | None = None,
    ) -> None:
        """Quad strip between two (N, 3) polylines; ``keep`` (N-1,) bool selects segments."""
        n = left.shape[0]
        if n < 2:
            return
        verts = np.concatenate([left, right])
        i = np.arange(n - 1) if keep is None else np.flatnonzero(keep)
        tris = np.concatenate(
            [np.stack([i, i + 1, n + i], 1), np.stack([i + 1, n + i + 1, n + i], 1)]
        )
        self.add(verts, tris, material, object_id)

    def add_box(
        self,
        center: np.ndarray,
        half: np.ndarray,
        rotation: np.ndarray,
        material: Material,
        object_id: int = 0,
        colour: np.ndarray | None = None,
    ) -> None:
        """Oriented box: centre (3,), half sizes (3,), rotation (3, 3) local -> world."""
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
        verts = (signs * half) @ rotation.T + center
        self.add(verts, BOX_TRIANGLES, material, object_id, colour=colour)

    def add_face(
        self, outline_uv: np.ndarray, face: TexturedFace, material: Material, object_id: int
    ) -> None:
        """Textured convex polygon; outline in face coordinates (u right, v down) [m]."""
        verts = face.origin + outline_uv[:, :1] * face.u_axis + outline_uv[:, 1:2] * face.v_axis
        k = outline_uv.shape[0]
        tris = np.stack([np.zeros(k - 2, int), np.arange(1, k - 1), np.arange(2, k)], 1)
        self.faces.append(face)
        self.add(verts, tris, material, object_id, len(self.faces) - 1)

    def build(self) -> Mesh:
        if not self._tris:
            empty = np.zeros((0,), np.int32)
            return Mesh(
                np.zeros((0, 3), np.float32),
                np.zeros((0, 3), np.int32),
                np.zeros((0,), np.uint8),
                empty,
                empty,
                [],
            )
        albedo = None
        if any(c is not None for c in self._colour):
            albedo = np.concatenate(
                [
                    ALBEDO[m] if c is None else c
                    for m, c in zip(self._mat, self._colour, strict=True)
                ]
            )
        return Mesh(
            np.concatenate(self._verts),
            np.concatenate(self._tris),
            np.concatenate(self._mat),
            np.concatenate(self._obj),
            np.concatenate(self._slot),
            self.faces,
            albedo,
        )


# 8 corners indexed x*4 + y*2 + z with x, y, z in {0: -1, 1: +1}.
BOX_TRIANGLES = np.array(
    [
        [0, 1, 3],
        [0, 3, 2],  # -x
        [4, 6, 7],
        [4, 7, 5],  # +x
        [0, 4, 5],
        [0, 5, 1],  # -y
        [2, 3, 7],
        [2, 7, 6],  # +y
        [0, 2, 6],
        [0, 6, 4],  # -z
        [1, 5, 7],
        [1, 7, 3],  # +z
    ],
    dtype=np.int32,
)


def box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(8, 3) corners of the axis-aligned box [lo, hi], ordered x*4 + y*2 + z."""
    return np.array(
        [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    )
