"""Exact hyperplanes, ridges and beneath-beyond boundary triangulations of conv(0, V)."""

from __future__ import annotations

import numpy as np

_SIGNS = np.array([(-1) ** j for j in range(16)], dtype=np.int64)

_RIDGE_BASE = np.int64(64)  # point indices stay below 3d + 1 <= 64 for d <= 21


def _minor_columns(d: int) -> np.ndarray:
    """(d, d-1) column indices: row j lists all columns except j."""
    return np.array([[k for k in range(d) if k != j] for j in range(d)], dtype=np.int64)


def _hyperplanes(simplices: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outer normals ``a`` (k, d) and offsets ``b`` (k,) of the simplices' hyperplanes.

    ``a`` is the cofactor vector, so ``b = |det(vertices)|`` (0 through the origin);
    oriented so that the barycentre of conv(0, e_1..e_d) is strictly beneath.
    """
    d = pts.shape[1]
    verts = pts[simplices]  # (k, d, d)
    diffs = (verts[:, 1:, :] - verts[:, :1, :]).astype(float)
    minors = diffs[:, :, _minor_columns(d)].transpose(0, 2, 1, 3)  # (k, d, d-1, d-1)
    normal = np.rint(np.linalg.det(minors)).astype(np.int64) * _SIGNS[:d]
    offset = np.einsum("kd,kd->k", normal, verts[:, 0, :])
    # exact verification: every vertex on the hyperplane and a non-zero normal
    if not (
        np.all(np.einsum("kd,kjd->kj", normal, verts) == offset[:, None])
        and np.all(np.any(normal != 0, axis=1))
    ):
        raise ArithmeticError("inexact hyperplane computation")
    flip = (d + 1) * offset - normal.sum(axis=1) < 0
    normal[flip] *= -1
    offset[flip] *= -1
    return normal, offset


def _boundary(vertices: np.ndarray) -> np.ndarray:
    """Boundary triangulation of conv(0, vertices) (indices: 0 = origin, k = row k-1),
    by beneath-beyond from the simplex conv(0, e_1..e_d); ``vertices[:d]`` = e_1..e_d."""
    d = vertices.shape[1]
    pts = np.concatenate([np.zeros((1, d), dtype=np.int64), vertices])
    simplices = [list(range(1, d + 1))]
    for i in range(d):
        simplices.append([0] + [j + 1 for j in range(d) if j != i])
    simplices = np.array(simplices, dtype=np.int64)
    normals, offsets = _hyperplanes(simplices, pts)
    for q in range(d + 1, len(pts)):
        visible = normals @ pts[q] > offsets
        if not visible.any():
            continue
        horizon = _horizon(simplices[visible], d)
        new = np.concatenate([horizon, np.full((len(horizon), 1), q, dtype=np.int64)], axis=1)
        new_normals, new_offsets = _hyperplanes(new, pts)
        simplices = np.concatenate([simplices[~visible], new])
        normals = np.concatenate([normals[~visible], new_normals])
        offsets = np.concatenate([offsets[~visible], new_offsets])
    return simplices


def _ragged_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ranges ``[starts[i], starts[i] + counts[i])`` flattened: ``(row i, position)`` pairs."""
    busy = np.flatnonzero(counts > 0)
    lengths = counts[busy]
    group = np.repeat(busy, lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return group, np.repeat(starts[busy], lengths) + within


def _ridge_data(
    simplices: np.ndarray, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every ridge of a closed boundary triangulation: its two simplices and the
    integer functional x -> det(ridge points, x) (zero when the ridge contains 0)."""
    d = pts.shape[1]
    ridges = np.sort(simplices[:, _minor_columns(d)].reshape(-1, d - 1), axis=1)
    owner = np.repeat(np.arange(len(simplices)), d)
    codes = ridges @ (_RIDGE_BASE ** np.arange(d - 1, dtype=np.int64))
    order = np.argsort(codes, kind="stable")
    codes, owner, ridges = codes[order], owner[order], ridges[order]
    if len(codes) % 2 or np.any(codes[0::2] != codes[1::2]):
        raise RuntimeError("boundary triangulation is not closed")
    rows = pts[ridges[0::2]].astype(float)  # (R, d-1, d)
    minors = rows[:, :, _minor_columns(d)].transpose(0, 2, 1, 3)  # (R, d, d-1, d-1)
    functional = np.rint(np.linalg.det(minors)).astype(np.int64) * _SIGNS[:d]
    if not np.all(np.einsum("rd,rkd->rk", functional, pts[ridges[0::2]]) == 0):
        raise ArithmeticError("inexact ridge functional")
    return owner[0::2], owner[1::2], functional


def _horizon(seen: np.ndarray, d: int) -> np.ndarray:
    """Ridges of the visible simplices that lie in exactly one of them."""
    ridges = np.sort(seen[:, _minor_columns(d)].reshape(-1, d - 1), axis=1)
    codes = ridges @ (_RIDGE_BASE ** np.arange(d - 1, dtype=np.int64))
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    return ridges[first[counts == 1]]
