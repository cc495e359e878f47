"""Ray casting against the world: one static Open3D scene built once per map
(roads, props) and a small scene of the moving actors rebuilt every step.

Rebuilding a BVH over the whole map each step would cost more than the rendering
itself; the actors' scene has a few thousand triangles and rebuilds in well under
a millisecond. Hits from both are merged by distance.

Casts answer a triangle index per ray into the world's per-triangle tables (static
triangles, then actor triangles, then one 'miss' row last, so a miss is index -1):
sensors gather only the attributes they need, and the camera its per-triangle
lit colour, instead of every attribute for every ray.

A sensor with a range (the LiDAR's ``range_m``, a camera's optional ``range_m``) casts
against only the static triangles near it: the map is tiled into ``CELL_M`` cells at
build time, and a scene of the cells within range + ``SLACK_M`` of a centre is built
when the sensor gets farther than ``SLACK_M`` from the last centre. Hits at or beyond
the range are cut (misses), so the answer equals the whole map's: every triangle that
can be hit within range is in the scene, and a subset cannot hit nearer.
"""

from __future__ import annotations

import numpy as np
import open3d as o3d

from sim.embedded.render.materials import ALBEDO, Material
from sim.embedded.render.mesh import NO_TEXTURE, Mesh, TexturedFace, box_corners
from sim.embedded.render.shading import side_light, triangle_normals
from sim.lighting import Lighting

MISS = -1  # table row of a ray that hits nothing (Open3D's invalid id as int32)
CELL_M = 64.0  # static tiles' side
SLACK_M = 32.0  # a culled scene serves while its sensor stays this close to its centre
MARGIN_M = 1.0  # float32 hit points may lie a little beyond the range
# Per-triangle tables: attribute of a layer -> (dtype, row shape, the miss row's value)
_TABLES: dict[str, tuple[type, tuple[int, ...], object]] = {
    "material": (np.uint8, (), Material.SKY),
    "object_id": (np.int32, (), 0),
    "face_slot": (np.int32, (), NO_TEXTURE),
    "normal": (np.float32, (3,), 0.0),
    "albedo": (np.float32, (3,), 0.0),
    "offset": (np.float64, (), 0.0),
}


def _scene(vertices: np.ndarray, triangles: np.ndarray) -> o3d.t.geometry.RaycastingScene:
    scene = o3d.t.geometry.RaycastingScene()
    tmesh = o3d.t.geometry.TriangleMesh()
    tmesh.vertex.positions = o3d.core.Tensor(vertices.astype(np.float32))
    tmesh.triangle.indices = o3d.core.Tensor(triangles.astype(np.int32))
    scene.add_triangles(tmesh)
    return scene


def fill_rays(rays: np.ndarray, origin: np.ndarray, rotation: np.ndarray, dirs: np.ndarray) -> None:
    """Write (N, 6) float32 world rays from one origin (3,) and the sensor-frame unit
    directions, planar (3, N) float64, rotated by ``rotation`` (3, 3). Column by column,
    not a matmul: OpenBLAS threads linger spinning after one and slow Open3D's casting.
    Summed in float64 so the rays match ``(dirs @ rotation.T).astype(float32)``."""
    col = np.empty(dirs.shape[1])
    for k in range(3):
        rays[:, k] = origin[k]
        np.multiply(dirs[0], rotation[k, 0], out=col)
        col += dirs[1] * rotation[k, 1]
        col += dirs[2] * rotation[k, 2]
        rays[:, 3 + k] = col


class _Tiles:
    """The static triangles bucketed by the cell of their xy box centre; each cell keeps
    the xy box of its triangles. Triangles wider than a cell (the ground plane) are in
    every selection."""

    def __init__(self, mesh: Mesh) -> None:
        corners = mesh.vertices[mesh.triangles][:, :, :2]  # (T, 3, 2)
        lo, hi = corners.min(axis=1), corners.max(axis=1)
        big = (hi - lo).max(axis=1) > CELL_M
        self.always = np.flatnonzero(big)
        rest = np.flatnonzero(~big)
        cell = np.floor((lo[rest] + hi[rest]) / (2.0 * CELL_M)).astype(np.int64)
        _, inverse = np.unique(cell, axis=0, return_inverse=True)
        order = np.argsort(inverse.ravel(), kind="stable")
        rest, key = rest[order], inverse.ravel()[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if rest.size else rest
        self.lo = np.minimum.reduceat(lo[rest], starts) if rest.size else np.zeros((0, 2))
        self.hi = np.maximum.reduceat(hi[rest], starts) if rest.size else np.zeros((0, 2))
        self.cells = np.split(rest, starts[1:]) if rest.size else []

    def select(self, centre: np.ndarray, radius: float) -> np.ndarray:
        """Sorted indices of the triangles whose cell's box comes within ``radius`` (xy)."""
        gap = np.maximum(np.maximum(self.lo - centre, centre - self.hi), 0.0)
        near = np.flatnonzero(np.hypot(gap[:, 0], gap[:, 1]) <= radius)
        return np.sort(np.concatenate([self.always, *(self.cells[i] for i in near)]))


class _Culled:
    """A scene of some static triangles and their indices in the whole map."""

    def __init__(self, mesh: Mesh, ids: np.ndarray, centre: np.ndarray) -> None:
        self.scene = _scene(mesh.vertices, mesh.triangles[ids])
        self.ids = np.append(ids, MISS).astype(np.int32)  # a miss (-1) stays a miss
        self.centre = centre

    def cast(self, rays: o3d.core.Tensor) -> tuple[np.ndarray, np.ndarray]:
        result = self.scene.cast_rays(rays)
        return result["t_hit"].numpy(), self.ids[result["primitive_ids"].numpy().view(np.int32)]


class _Layer:
    """One BVH with its per-triangle attributes."""

    def __init__(self, mesh: Mesh, albedo: np.ndarray | None = None) -> None:
        self.scene = _scene(mesh.vertices, mesh.triangles)
        self.num_triangles = mesh.num_triangles
        if albedo is None:
            albedo = ALBEDO[mesh.material] if mesh.albedo is None else mesh.albedo
        self.albedo = np.asarray(albedo, np.float32).reshape(-1, 3)
        self.material = mesh.material.astype(np.uint8)
        self.object_id = mesh.object_id.astype(np.int32)
        self.face_slot = mesh.face_slot.astype(np.int32)
        self.normal, self.offset = triangle_normals(mesh.vertices, mesh.triangles)
        self.centroid = mesh.vertices[mesh.triangles].mean(axis=1)  # (T, 3) for lamp light
        self.light: np.ndarray | None = None  # (2, T, 3) once lighting is known

    def cast(self, rays: o3d.core.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Distances (N,) float32 and triangle index (N,) int32, -1 on a miss."""
        result = self.scene.cast_rays(rays)
        return result["t_hit"].numpy(), result["primitive_ids"].numpy().view(np.int32)

    def shade(self, lighting: Lighting, lamps: np.ndarray | None = None) -> None:
        self.light = side_light(self.normal, self.material, lighting, self.centroid, lamps)


class RaycastWorld:
    """The static scene plus the current actors; ``cast`` answers (N, 6) rays."""

    def __init__(
        self, static_mesh: Mesh, cull: bool = True, lamps: np.ndarray | None = None
    ) -> None:
        """``cull`` False: ranged casts too go against the whole map (same answers);
        ``lamps`` (L, 3): street lamp heads, which light the scene once they are on."""
        self.static = _Layer(static_mesh)
        self.lamps = lamps
        self.cull = cull
        self._mesh = static_mesh
        self._tiles = _Tiles(static_mesh)
        self._culled: dict[float, _Culled] = {}  # by sensor range
        self.faces: list[TexturedFace] = static_mesh.faces
        self.num_static_triangles = static_mesh.num_triangles
        self.dynamic: _Layer | None = None
        self.actor_corners: list[np.ndarray] = []  # (8, 3) world AABB corners per actor
        self.lighting: Lighting | None = None
        self._buffers: dict[str, np.ndarray] | None = None
        self._room = 0  # actor rows the buffers hold
        self._merge()

    def set_lighting(self, lighting: Lighting) -> None:
        """Light every triangle's two sides for ``view_shading``."""
        self.lighting = lighting
        for layer in self._layers():
            layer.shade(lighting, self.lamps)
        self._merge(relit=True)

    def set_actors(self, meshes: list[Mesh], albedos: list[np.ndarray]) -> None:
        """Replace the actors' layer; meshes already in world coordinates."""
        if not meshes:
            self.dynamic = None
            self.actor_corners = []
            self._merge()
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
        if self.lighting is not None:
            self.dynamic.shade(self.lighting, self.lamps)
        self.actor_corners = [
            box_corners(m.vertices.min(axis=0), m.vertices.max(axis=0)) for m in meshes
        ]
        self._merge()

    def _layers(self) -> list[_Layer]:
        return [self.static] if self.dynamic is None else [self.static, self.dynamic]

    def _merge(self, relit: bool = False) -> None:
        """Per-triangle tables over all layers, indexed by ``cast_rays``' answer: static
        rows, actor rows, the miss row. The static rows are written once into buffers
        with room for the actors, so a step writes only the actors' rows (on a town of
        400k triangles, concatenating everything cost 3-7 ms a step). ``relit``: the
        static rows' light changed."""
        static, dynamic = self.static, self.dynamic
        n_static = static.num_triangles
        n_dyn = 0 if dynamic is None else dynamic.num_triangles
        lit = self.lighting is not None
        fresh = self._buffers is None or self._room < n_dyn
        if fresh:
            self._room = max(4096, 2 * n_dyn)
            size = n_static + self._room + 1
            self._buffers = {
                name: np.empty((size, *shape), dtype) for name, (dtype, shape, _) in _TABLES.items()
            }
            for name in _TABLES:
                self._buffers[name][:n_static] = getattr(static, name)
            self._light_buf = np.empty((2, size, 3), np.float32)
            self._colour_buf = np.empty((2, size, 3), np.float32)
        assert self._buffers is not None
        if lit and (fresh or relit):
            assert static.light is not None
            self._light_buf[:, :n_static] = static.light
            self._colour_buf[:, :n_static] = static.light * static.albedo
        end = n_static + n_dyn
        for name, (_, _, miss) in _TABLES.items():
            buf = self._buffers[name]
            if dynamic is not None:
                buf[n_static:end] = getattr(dynamic, name)
            buf[end] = miss
        self.material = self._buffers["material"][: end + 1]
        self.object_id = self._buffers["object_id"][: end + 1]
        self.face_slot = self._buffers["face_slot"][: end + 1]
        self.normal = self._buffers["normal"][: end + 1]
        self.albedo = self._buffers["albedo"][: end + 1]
        self._offset = self._buffers["offset"][: end + 1]
        self._lit = None  # (2, M, 3) light, colour
        if lit:
            if dynamic is not None:
                assert dynamic.light is not None
                self._light_buf[:, n_static:end] = dynamic.light
                self._colour_buf[:, n_static:end] = dynamic.light * dynamic.albedo
            self._light_buf[:, end] = 0.0
            self._colour_buf[:, end] = 0.0
            self._lit = self._light_buf[:, : end + 1], self._colour_buf[:, : end + 1]

    def view_shading(
        self, origin: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-triangle (M, 3) lit colour (albedo * light) and light of the side facing
        ``origin``: a camera there sees only that side of each triangle. ``rows``: the
        table rows that will be read (the hits); the others are left 0."""
        assert self._lit is not None, "set_lighting first"
        light, colour = self._lit
        if rows is None:
            back = (self.normal @ origin.astype(np.float64) <= self._offset)[:, None]
            return np.where(back, colour[1], colour[0]), np.where(back, light[1], light[0])
        seen = np.zeros(self.material.shape[0], dtype=bool)
        seen[rows] = True
        used = np.flatnonzero(seen)
        back = (self.normal[used] @ origin.astype(np.float64) <= self._offset[used])[:, None]
        out_colour = np.zeros_like(colour[0])
        out_light = np.zeros_like(light[0])
        out_colour[used] = np.where(back, colour[1, used], colour[0, used])
        out_light[used] = np.where(back, light[1, used], light[0, used])
        return out_colour, out_light

    def shade_hits(
        self, origin: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``view_shading`` for just the K distinct rows among ``rows`` (N,) intp: (N,)
        positions in the (K, 3) lit colour and (K, 3) light it returns. The per-frame
        work grows with the hits, not with the map's triangles."""
        assert self._lit is not None, "set_lighting first"
        light, colour = self._lit
        size = self.material.shape[0]
        seen = np.zeros(size, dtype=bool)
        seen[rows] = True
        used = np.flatnonzero(seen)
        back = (self.normal[used] @ origin.astype(np.float64) <= self._offset[used])[:, None]
        local = np.empty(size, np.intp)
        local[used] = np.arange(used.size)
        return (
            local[rows],
            np.where(back, colour[1, used], colour[0, used]),
            np.where(back, light[1, used], light[0, used]),
        )

    def cast_rays(
        self,
        rays: np.ndarray,
        dynamic_rays: np.ndarray | None = None,
        range_m: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, 6) float32 C-contiguous rays (origin, unit direction) -> distances (N,),
        inf on a miss, and table rows (N,) int32, ``MISS`` on a miss. ``dynamic_rays``
        (indices) limits the actors' layer to the rays that can reach an actor at all.
        ``range_m``: hits at or beyond it are misses, and only the static triangles
        near the rays' origin (every ray's, the first one's) are cast against."""
        t, index = self._cast(rays, dynamic_rays, range_m)
        if range_m is not None:
            far = np.flatnonzero(t >= range_m)
            t[far] = np.inf
            index[far] = MISS
        return t, index

    def _static_scene(self, origin: np.ndarray, range_m: float) -> _Culled:
        culled = self._culled.get(range_m)
        xy = origin[:2].astype(np.float64)
        if culled is None or np.hypot(*(xy - culled.centre)) > SLACK_M:
            ids = self._tiles.select(xy, range_m + SLACK_M + MARGIN_M)
            culled = self._culled[range_m] = _Culled(self._mesh, ids, xy)
        return culled

    def _cast(
        self, rays: np.ndarray, dynamic_rays: np.ndarray | None, range_m: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        tensor = o3d.core.Tensor.from_numpy(rays)  # shares memory: no copy of the rays
        if range_m is None or not self.cull:
            t, index = self.static.cast(tensor)
        else:
            t, index = self._static_scene(rays[0, :3], range_m).cast(tensor)
        layer = self.dynamic
        if layer is None:
            return t, index
        if dynamic_rays is None:
            t_dyn, prim = layer.cast(tensor)
            near = t_dyn < t
            nearer = np.flatnonzero(near)
        else:
            if dynamic_rays.size == 0:
                return t, index
            sub = o3d.core.Tensor.from_numpy(np.ascontiguousarray(rays[dynamic_rays]))
            t_dyn, prim = layer.cast(sub)
            near = t_dyn < t[dynamic_rays]
            nearer = dynamic_rays[near]
        t[nearer] = t_dyn[near]
        index[nearer] = prim[near] + self.num_static_triangles
        return t, index
