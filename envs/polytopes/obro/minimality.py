"""Øbro's output rule: a complete node is output only if it is the minimal special
embedding of its polytope (over every special facet and ordering of its vertices)."""

from __future__ import annotations

import numpy as np

from envs.polytopes.obro.candidates import _Universe
from envs.polytopes.obro.geometry import _boundary


def _unimodular_inverse(basis: np.ndarray) -> np.ndarray:
    """Exact integer inverse of a unimodular integer matrix (checked)."""
    inverse = np.rint(np.linalg.inv(basis.astype(float))).astype(np.int64)
    if not np.array_equal(basis @ inverse, np.eye(len(basis), dtype=np.int64)):
        raise ArithmeticError("facet is not unimodular")
    return inverse



def _any_smaller(images: np.ndarray, own: np.ndarray) -> bool:
    """Whether some row of ``images`` is lexicographically smaller than ``own``."""
    differ = images != own
    has = differ.any(axis=1)
    first = differ.argmax(axis=1)
    rows = np.arange(len(images))
    return bool(np.any(has & (images[rows, first] < own[first])))


def _minimal(
    universe: _Universe, vertices: np.ndarray, facets: np.ndarray, ranks: np.ndarray
) -> bool:
    """Whether ``vertices`` (a special embedding, facets as index rows) is minimal."""
    d = universe.d
    nu = vertices.sum(axis=0)
    own = np.sort(ranks)
    for facet in facets:
        basis = vertices[facet]
        inverse = np.rint(np.linalg.inv(basis.astype(float))).astype(np.int64)
        if not np.array_equal(basis @ inverse, np.eye(d, dtype=np.int64)):
            raise ArithmeticError("facet is not unimodular")
        if np.any(nu @ inverse < 0):  # not special
            continue
        image = vertices @ inverse  # F -> e_1..e_d
        images = universe.ranks(image[:, universe.perms].transpose(1, 0, 2))
        if np.any(images < 0):
            raise RuntimeError("special embedding outside the candidate set")
        if _any_smaller(np.sort(images, axis=1), own):
            return False
    return True


def is_minimal_special_embedding(vertices: np.ndarray) -> bool:
    """Whether ``vertices`` (rows; a smooth Fano polytope whose first d rows are
    e_1..e_d and whose facet conv(e_1..e_d) is special) is Øbro's minimal special
    embedding of its polytope, i.e. the representative the search outputs."""
    vertices = np.asarray(vertices, dtype=np.int64)
    d = vertices.shape[1]
    if not np.array_equal(vertices[:d], np.eye(d, dtype=np.int64)):
        raise ValueError("the first d rows must be e_1..e_d")
    if np.any(vertices.sum(axis=0) < 0):
        raise ValueError("conv(e_1..e_d) is not a special facet")
    universe = _Universe(d)
    ranks = universe.ranks(vertices)
    if np.any(ranks < 0):
        raise ValueError("a vertex lies outside the candidate set of a special embedding")
    facets = _boundary(vertices)
    if np.any(facets == 0):
        raise ValueError("the origin is not in the interior of conv(vertices)")
    return _minimal(universe, vertices, facets - 1, ranks)
