"""Facets of one activation cell ``{x : G x + h >= 0}`` (rows normalised): the geometry helpers
of the traversal (:mod:`envs.regions.cells`) and of Algorithm 4.

* :func:`hull_facets`: qhull on the polar points ``-g_i / (g_i x0 + h_i)`` of a cell with a known
  interior point ``x0`` (a row is a facet iff its point is a vertex of the hull of the points and
  the origin); rows whose points lie within a relative tolerance of the hull's boundary are
  returned as *uncertain*, for an LP to decide.  Also the cell's vertices and rays.
* :func:`redundant_rows_cdd`, :func:`redundant_rows_incremental`, :func:`facets_and_generators`:
  pycddlib redundancy removal (incremental when most rows are redundant).
* :func:`facet_probes`: a point just across each facet, from the facet's vertices.
"""

from __future__ import annotations

import cdd
import numpy as np
from scipy.spatial import ConvexHull, QhullError

#: relative distance to the polar hull's boundary under which a row is decided by an LP
HULL_REL_TOL = 1e-9
#: input dimensions for which the qhull facet finder is the default
HULL_DIMS = range(2, 9)


class HullFacets:
    """Result of :func:`hull_facets` (rows index the given ``G``; points in input coordinates)."""

    __slots__ = ("facets", "uncertain", "vertices", "rays")

    def __init__(self, facets: np.ndarray, uncertain: np.ndarray, vertices: np.ndarray,
                 rays: np.ndarray) -> None:
        self.facets, self.uncertain, self.vertices, self.rays = facets, uncertain, vertices, rays


def hull_facets(G: np.ndarray, h: np.ndarray, interior: np.ndarray) -> HullFacets:
    """Facet rows of ``{x : G x + h >= 0}`` (full-dimensional, ``interior`` strictly inside).

    With ``s = G x0 + h > 0`` the constraints read ``a_i . y <= 1`` for ``a_i = -g_i / s_i`` and
    ``y = x - x0``; row ``i`` is irredundant iff ``a_i`` is a vertex of ``conv({0} u {a_j})``
    (polar duality).  Hull facets off the origin give the cell's vertices ``x0 - n / c``, hull
    facets through it its extreme rays ``n``.  Rows whose points are not hull vertices but lie
    within ``HULL_REL_TOL`` (relative to the largest point) of the hull's boundary are
    ``uncertain`` (coincident or tangent hyperplanes, tiny facets): the caller decides them with
    an LP.  Raises ``scipy.spatial.QhullError`` for a degenerate point set (a cell containing a
    line), ``ValueError`` when ``interior`` is not strictly inside.
    """
    m = G.shape[0]
    shifted = G @ interior + h
    nearest = float(shifted.min()) if m else 1.0
    if not nearest > 0:
        raise ValueError("hull_facets needs a point strictly inside the cell")
    rows, points, hull = _rows_within_reach(G, shifted)
    if hull is None:
        points = _polar_points(G, shifted, rows)
        hull = ConvexHull(points)
    normals, offsets = hull.equations[:, :-1], hull.equations[:, -1]
    tol = HULL_REL_TOL / nearest  # relative to the largest point, |a_i| = 1 / s_i
    is_vertex = np.zeros(rows.size + 1, dtype=bool)
    is_vertex[hull.vertices] = True
    depth = (points[:-1] @ normals.T + offsets).max(axis=1)  # 0 on the boundary, < 0 inside
    uncertain = rows[~is_vertex[:-1] & (depth > -tol)]
    through_origin = np.any(hull.simplices == rows.size, axis=1) | (np.abs(offsets) <= tol)
    vertices = interior - normals[~through_origin] / offsets[~through_origin, None]
    return HullFacets(rows[is_vertex[:-1]], uncertain, vertices, normals[through_origin])


def _rows_within_reach(
    G: np.ndarray, shifted: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, ConvexHull | None]:
    """Rows (unit normals) whose hyperplanes can touch the cell; the others are redundant.

    The cell lies in the polyhedron of its ``K`` nearest rows; when that is bounded, within
    its circumradius ``R`` around the interior point, so a hyperplane farther than ``R``
    (with a 1e-6 relative margin) cannot meet the cell.  All rows when that does not apply.
    When every row within reach is among the ``K`` nearest, the hull of those ``K`` polar
    points is already the cell's polar hull (the farther points lie strictly inside the ball
    of radius ``1 / R`` that it contains, so they are not vertices; one within the hull's
    tolerance of its boundary is left *uncertain* for the LP, as any other row), so it is
    returned with its points (rows, points, hull) and not computed again; otherwise
    (rows, None, None).
    """
    m, dim = G.shape
    few = 4 * dim + 8
    everything = np.arange(m)
    if m <= 4 * few:
        return everything, None, None
    near = np.argpartition(shifted, few)[:few]
    points = _polar_points(G, shifted, near)
    try:
        hull = ConvexHull(points)
    except QhullError:
        return everything, None, None
    if few in hull.vertices or np.any(np.abs(hull.equations[:, -1]) <= 1e-12):
        return everything, None, None  # the nearest rows leave the cell unbounded
    reach = float(np.max(np.linalg.norm(hull.equations[:, :-1], axis=1)
                         / np.abs(hull.equations[:, -1])))
    within = shifted <= reach * (1.0 + 1e-6)
    if np.count_nonzero(within) <= few:  # a distance threshold: then within is inside near
        return near, points, hull
    return np.flatnonzero(within), None, None


def _polar_points(G: np.ndarray, shifted: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The polar points ``-g_i / s_i`` of ``rows``, then the origin (its index is ``rows.size``)."""
    points = np.empty((rows.size + 1, G.shape[1]))
    np.divide(G[rows], -shifted[rows, None], out=points[:-1])
    points[-1] = 0.0
    return points


def canonical_rows(G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Group id per normalised row so that rows on the same hyperplane share an id."""
    first = np.argmax(np.abs(G) > 1e-12, axis=1)
    sign = np.sign(G[np.arange(G.shape[0]), first])
    sign[sign == 0] = 1.0
    keys = np.round(np.hstack([G * sign[:, None], (h * sign)[:, None]]), 8) + 0.0
    if keys.shape[0] <= 1:
        return np.zeros(keys.shape[0], dtype=np.int64)
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    new_group = np.concatenate([[True], np.any(ordered[1:] != ordered[:-1], axis=1)])
    ids = np.empty(keys.shape[0], dtype=np.int64)
    ids[order] = np.cumsum(new_group) - 1
    return ids




def redundant_rows_cdd(G: np.ndarray, h: np.ndarray) -> set[int]:
    """Rows of ``G x + h >= 0`` that are redundant (pycddlib, one call)."""
    matrix = cdd.matrix_from_array(np.hstack([h[:, None], G]).tolist(),
                                   rep_type=cdd.RepType.INEQUALITY)
    return set(cdd.redundant_rows(matrix))


def redundant_rows_incremental(
    G: np.ndarray, h: np.ndarray, interior: np.ndarray, rng: np.random.Generator, num_rays: int,
) -> set[int]:
    """Redundant rows of a full-dimensional polyhedron with a known interior point.

    Rays from the interior point give a first set ``F`` of facets; the vertices/rays/lines of
    ``P_F`` (pycddlib, coordinates centred at the interior point so the system is never
    homogeneous) are checked against all other rows at once, violated rows join ``F``, until
    ``P_F`` equals the polyhedron; the final redundancy test runs on ``F`` only.  Much faster
    than one redundancy LP per row when most rows are redundant (many neurons, low n0).
    """
    return facets_and_generators(G, h, interior, rng, num_rays)[0]


def generators(G: np.ndarray, shifted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, rays and lines of ``{y : G y + shifted >= 0}`` (pycddlib, float)."""
    dim = G.shape[1]
    matrix = cdd.matrix_from_array(np.hstack([shifted[:, None], G]).tolist(),
                                   rep_type=cdd.RepType.INEQUALITY)
    generators = cdd.copy_generators(cdd.polyhedron_from_matrix(matrix))
    array = np.array(generators.array, dtype=float).reshape(-1, dim + 1)
    lines = np.zeros(len(array), dtype=bool)
    lines[list(generators.lin_set)] = True
    return (array[(array[:, 0] > 0.5) & ~lines, 1:], array[(array[:, 0] <= 0.5) & ~lines, 1:],
            array[lines, 1:])


def facets_and_generators(
    G: np.ndarray, h: np.ndarray, interior: np.ndarray, rng: np.random.Generator, num_rays: int,
) -> tuple[set[int], np.ndarray | None, np.ndarray | None]:
    """Redundant rows (see :func:`redundant_rows_incremental`) and, when computed on the way,
    the vertices and rays of the polyhedron (original coordinates; ``None`` otherwise)."""
    m, dim = G.shape
    shifted = G @ interior + h  # > 0: the origin of the shifted coordinates is interior
    if m <= 4 * dim + 8:
        vertices, rays, _ = generators(G, shifted)
        return redundant_rows_cdd(G, h), vertices + interior, rays
    directions = rng.standard_normal((num_rays, dim))
    rates = directions @ G.T
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.where(rates < -1e-12, shifted[None, :] / -rates, np.inf)
    first = np.argmin(steps, axis=1)
    in_set = np.zeros(m, dtype=bool)
    in_set[first[np.isfinite(steps[np.arange(num_rays), first])]] = True
    if not in_set.any():
        return redundant_rows_cdd(G, h), None, None
    tol = 1e-9
    vertices = rays = None
    for _ in range(m):
        members = np.flatnonzero(in_set)
        vertices, rays, line_dirs = generators(G[members], shifted[members])
        others = np.flatnonzero(~in_set)
        ok = np.ones(others.size, dtype=bool)
        if vertices.size:
            ok &= np.all(G[others] @ vertices.T + shifted[others, None] >= -tol, axis=1)
        if rays.size:
            ok &= np.all(G[others] @ rays.T >= -tol, axis=1)
        if line_dirs.size:
            ok &= np.all(np.abs(G[others] @ line_dirs.T) <= tol, axis=1)
        if ok.all():
            break
        in_set[others[~ok]] = True
    members = np.flatnonzero(in_set)
    inner = redundant_rows_cdd(G[members], shifted[members])
    facets = {int(members[i]) for i in range(members.size) if i not in inner}
    return set(range(m)) - facets, vertices + interior, rays


def facet_probes(
    G: np.ndarray, h: np.ndarray, rows: np.ndarray, vertices: np.ndarray, rays: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For facet rows of ``G x + h >= 0`` (normalised rows): a point just across each facet.

    The mean of the facet's vertices plus its unit rays is in the facet's relative interior;
    the probe steps half its distance to the other rows across the facet.  Returns
    ``(probes, usable)``; unusable probes (no vertex on the facet, no margin) get an LP later.
    """
    scale = 1.0 + (np.abs(vertices).max() if vertices.size else 0.0)
    tight_v = np.abs(G[rows] @ vertices.T + h[rows, None]) <= 1e-9 * scale
    count = tight_v.sum(axis=1)
    x_facets = (tight_v @ vertices) / np.maximum(count, 1)[:, None]
    if rays.size:
        unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        x_facets = x_facets + (np.abs(G[rows] @ unit.T) <= 1e-9) @ unit
    values = x_facets @ G.T + h
    values[np.arange(rows.size), rows] = np.inf
    margin = values.min(axis=1) if G.shape[0] > 1 else np.ones(rows.size)
    margin = np.minimum(margin, 1.0)
    usable = (count > 0) & (margin > 1e-9)
    return x_facets - 0.5 * np.where(usable, margin, 0.0)[:, None] * G[rows], usable
