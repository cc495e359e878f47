"""Lone returns: drops of rain or spray that returned a beam in the air near the sensor.

A surface near the sensor is sampled densely (at 10 m, neighbouring beams of one ring
hit 6-10 cm apart), so each of its returns has several others in its voxel and the 26
voxels around it; a drop's return has few (drops are sparse even in a downpour). A
radius outlier filter (as DROR, Charron et al. 2018, for snow) on voxels: cheap,
because only returns with too few others in their own voxel are looked at further."""

from __future__ import annotations

import itertools

import numpy as np

DENSE_MAX_VOXELS = 4_000_000  # a denser grid of counts than this: sort the keys instead
_OFFSETS = np.array(
    [d for d in itertools.product((-1, 0, 1), repeat=3) if d != (0, 0, 0)], np.int64
)


def lone_returns(
    xyz: np.ndarray, cell_m: float, min_neighbours: int = 1, checked: np.ndarray | None = None
) -> np.ndarray:
    """(N,) bool: points (N, 3) with fewer than ``min_neighbours`` other points in their
    own voxel of ``cell_m`` and the 26 around it; ``checked`` (N,) bool: only these can
    be lone (the rest are neighbours only: a band beyond the checked range)."""
    if xyz.shape[0] == 0:
        return np.zeros(0, bool)
    ijk = np.floor(xyz / cell_m).astype(np.int64)
    ijk -= ijk.min(axis=0) - 1  # a margin of one voxel: neighbours' keys stay in the grid
    dims = ijk.max(axis=0) + 2
    key = (ijk[:, 0] * dims[1] + ijk[:, 1]) * dims[2] + ijk[:, 2]
    size = int(np.prod(dims))
    if size <= DENSE_MAX_VOXELS:  # a dense count per voxel: no sorting
        counts = np.bincount(key, minlength=size)

        def count(keys: np.ndarray) -> np.ndarray:
            return counts[keys]
    else:
        voxels, per_voxel = np.unique(key, return_counts=True)

        def count(keys: np.ndarray) -> np.ndarray:
            at = np.minimum(np.searchsorted(voxels, keys), voxels.size - 1)
            return np.where(voxels[at] == keys, per_voxel[at], 0)

    own = count(key) - 1
    short = own < min_neighbours  # the rest have enough in their own voxel
    few = np.flatnonzero(short if checked is None else short & checked)
    out = np.zeros(xyz.shape[0], bool)
    if few.size:
        offsets = (_OFFSETS[:, 0] * dims[1] + _OFFSETS[:, 1]) * dims[2] + _OFFSETS[:, 2]
        near = key[few, None] + offsets[None, :]  # (F, 26)
        around = count(near.ravel()).reshape(near.shape).sum(axis=1)
        out[few] = own[few] + around < min_neighbours
    return out
