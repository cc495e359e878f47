"""Ray casting against the world: one static Open3D scene built once per map
(roads, props) and a small scene of the moving actors rebuilt every step.

Rebuilding a BVH over the whole map each step would cost more than the rendering
itself; the actors' scene has a few thousand triangles and rebuilds in well under
a millisecond. Hits from both are merged by distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from sim.materials import ALBEDO, Material
from sim.mesh import NO_TEXTURE, Mesh, TexturedFace, box_corners


@dataclass
class Hits:
    """Per ray (N,): distance (inf on a miss), unit normal (N, 3), surface attributes."""

    t: np.ndarray
    normal: np.ndarray
    material: np.ndarray
    albedo: np.ndarray
    object_id: np.ndarray
    face_slot: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        return np.isfinite(self.t)


def _scene(mesh: Mesh) -> o3d.t.geometry.RaycastingScene:
    scene = o3d.t.geometry.RaycastingScene()
    tmesh = o3d.t.geometry.TriangleMesh()
    tmesh.vertex.positions = o3d.core.Tensor(mesh.vertices.astype(np.float32))
    tmesh.triangle.indices = o3d.core.Tensor(mesh.triangles.astype(np.int32))
    scene.add_triangles(tmesh)
    return scene


class _Layer:
    """One BVH with per-triangle attributes; row T of each table is the 'miss' value."""

    def __init__(self, mesh: Mesh, albedo: np.ndarray | None = None) -> None:
        self.scene = _scene(mesh)
        self.num_triangles = mesh.num_triangles
        albedo = ALBEDO[mesh.material] if albedo is None else albedo
        self.albedo = np.concatenate([albedo, np.zeros((1, 3))]).astype(np.float32)
        self.material = np.append(mesh.material, np.uint8(Material.SKY)).astype(np.uint8)
        self.object_id = np.append(mesh.object_id, 0).astype(np.int32)
        self.face_slot = np.append(mesh.face_slot, NO_TEXTURE).astype(np.int32)

    def cast(self, rays: o3d.core.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distances (N,), triangle index (N,) with T on a miss, normals (N, 3)."""
        result = self.scene.cast_rays(rays)
        t = result["t_hit"].numpy()
        prim = result["primitive_ids"].numpy().astype(np.int64)
        prim[prim >= self.num_triangles] = self.num_triangles
        return t, prim, result["primitive_normals"].numpy()


class RaycastWorld:
    """The static scene plus the current actors; ``cast`` answers (N, 6) rays."""

    def __init__(self, static_mesh: Mesh) -> None:
        self.static = _Layer(static_mesh)
        self.faces: list[TexturedFace] = static_mesh.faces
        self.num_static_triangles = static_mesh.num_triangles
        self.dynamic: _Layer | None = None
        self.actor_corners: list[np.ndarray] = []  # (8, 3) world AABB corners per actor

    def set_actors(self, meshes: list[Mesh], albedos: list[np.ndarray]) -> None:
        """Replace the actors' layer; meshes already in world coordinates."""
        if not meshes:
            self.dynamic = None
            self.actor_corners = []
            return
        offsets = np.cumsum([0] + [m.vertices.shape[0] for m in meshes[:-1]])
        merged = Mesh(
            np.concatenate([m.vertices for m in meshes]),
            np.concatenate([m.triangles + o for m, o in zip(meshes, offsets, strict=True)]),
            np.concatenate([m.material for m in meshes]),
            np.concatenate([m.object_id for m in meshes]),
            np.full(sum(m.num_triangles for m in meshes), NO_TEXTURE, np.int32),
        )
        self.dynamic = _Layer(merged, np.concatenate(albedos).astype(np.float32))
        self.actor_corners = [
            box_corners(m.vertices.min(axis=0), m.vertices.max(axis=0)) for m in meshes
        ]

    def cast(
        self, origins: np.ndarray, directions: np.ndarray, dynamic_rays: np.ndarray | None = None
    ) -> Hits:
        """Origins (3,), unit directions (N, 3), world frame. ``dynamic_rays`` (indices)
        limits the actors' layer to the rays that can reach an actor at all."""
        n = directions.shape[0]
        rays = np.empty((n, 6), dtype=np.float32)
        rays[:, :3] = origins
        rays[:, 3:] = directions
        tensor = o3d.core.Tensor(rays)
        layer = self.static
        t, prim, normal = layer.cast(tensor)
        hits = Hits(
            t,
            normal,
            layer.material[prim],
            layer.albedo[prim],
            layer.object_id[prim],
            layer.face_slot[prim],
        )
        if self.dynamic is None:
            return hits
        layer = self.dynamic
        if dynamic_rays is None:
            dynamic_rays = np.arange(n)
        if dynamic_rays.size == 0:
            return hits
        sub = o3d.core.Tensor(np.ascontiguousarray(rays[dynamic_rays]))
        t_dyn, prim_dyn, normal_dyn = layer.cast(sub)
        nearer = t_dyn < t[dynamic_rays]
        idx, prim_dyn = dynamic_rays[nearer], prim_dyn[nearer]
        hits.t[idx] = t_dyn[nearer]
        hits.normal[idx] = normal_dyn[nearer]
        hits.material[idx] = layer.material[prim_dyn]
        hits.albedo[idx] = layer.albedo[prim_dyn]
        hits.object_id[idx] = layer.object_id[prim_dyn]
        hits.face_slot[idx] = layer.face_slot[prim_dyn]
        return hits
