"""Exact polyhedral computations for the polytope checker.

All vertex/facet enumeration is exact: it uses Normaliz (PyNormaliz), which works
over the integers with arbitrary precision. pycddlib-standalone is floating-point
only (no ``cdd.gmp``), so it is not used for any decision here.

Conventions:

* hyperplane representation: integer matrix ``W`` (rows ``w_i``), polyhedron
  ``P = {x in R^d : 1 + w_i . x >= 0}``;
* vertex representation: integer matrix ``V``, polytope ``P = conv(rows of V)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np
import PyNormaliz

# Normaliz runs in worker processes of the batch checker: one thread each.
PyNormaliz.NmzSetNumberOfNormalizThreads(1)


class NormalizFailure(RuntimeError):
    """Normaliz raised an error; the caller reports it instead of inventing a result."""


def _normaliz(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as error:  # PyNormaliz raises its own NormalizError types
        raise NormalizFailure(f"Normaliz failed: {type(error).__name__}: {error}") from error


# ----------------------------------------------------------------------------- integers


def integer_matrix(rows: list[list[int]], width: int) -> np.ndarray:
    """A numpy integer matrix; int64 when safe, otherwise ``object`` (Python ints)."""
    if not rows:
        return np.zeros((0, width), dtype=np.int64)
    biggest = max(abs(value) for row in rows for value in row)
    dtype = np.int64 if biggest < 2**26 else object  # products stay below 2**63
    return np.array(rows, dtype=dtype).reshape(len(rows), width)


def exact_rank(matrix: np.ndarray) -> int:
    """Rank of an integer matrix by fraction-free Gaussian elimination (exact)."""
    rows = [[int(value) for value in row] for row in np.asarray(matrix)]
    if not rows:
        return 0
    n_cols = len(rows[0])
    rank = 0
    for col in range(n_cols):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        head = rows[rank]
        for r in range(rank + 1, len(rows)):
            factor = rows[r][col]
            if factor:
                rows[r] = [head[col] * a - factor * b for a, b in zip(rows[r], head, strict=True)]
                common = 0
                for value in rows[r]:
                    common = gcd(common, value)
                if common > 1:
                    rows[r] = [value // common for value in rows[r]]
        rank += 1
        if rank == len(rows):
            break
    return rank


def exact_det(matrix: np.ndarray) -> int:
    """Determinant of a square integer matrix (Bareiss algorithm, exact)."""
    a = [[int(value) for value in row] for row in np.asarray(matrix)]
    n = len(a)
    if n == 0:
        return 1
    sign, previous = 1, 1
    for k in range(n - 1):
        if a[k][k] == 0:
            swap = next((r for r in range(k + 1, n) if a[r][k] != 0), None)
            if swap is None:
                return 0
            a[k], a[swap] = a[swap], a[k]
            sign = -sign
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                a[i][j] = (a[i][j] * a[k][k] - a[i][k] * a[k][j]) // previous
        previous = a[k][k]
    return sign * a[n - 1][n - 1]


def abs_det_is_one(stack: np.ndarray) -> np.ndarray:
    """For a stack ``(m, d, d)`` of integer matrices, whether each has ``|det| = 1``.

    Uses float determinants when Hadamard's bound guarantees the rounding is exact,
    and the exact Bareiss determinant otherwise.
    """
    stack = np.asarray(stack)
    if stack.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    as_float = stack.astype(np.float64)
    hadamard = np.prod(np.sqrt((as_float**2).sum(axis=2)), axis=1)
    result = np.zeros(stack.shape[0], dtype=bool)
    safe = hadamard < 1e9
    if safe.any():
        result[safe] = np.abs(np.round(np.linalg.det(as_float[safe]))) == 1
    for index in np.flatnonzero(~safe):
        result[index] = abs(exact_det(stack[index])) == 1
    return result


def primitive(vector: np.ndarray) -> np.ndarray:
    """Divide an integer vector by the gcd of its entries."""
    common = 0
    for value in vector:
        common = gcd(common, int(value))
    return vector // common if common > 1 else vector


# ----------------------------------------------------------------------------- polyhedra


@dataclass
class Polyhedron:
    """Exact description of a full-dimensional polyhedron.

    ``vertex_numerators[k] / vertex_denominators[k]`` is vertex ``k``. ``facet_normals``
    and ``facet_offsets`` give the facets as ``normal . x + offset >= 0`` (primitive
    integer vectors). ``tight[k, f]`` says whether vertex ``k`` lies on facet ``f``.
    """

    dimension: int
    compact: bool
    vertex_numerators: np.ndarray
    vertex_denominators: np.ndarray
    facet_normals: np.ndarray
    facet_offsets: np.ndarray
    tight: np.ndarray
    recession_rays: list[list[int]]
    lineality: list[list[int]]

    @property
    def lattice(self) -> bool:
        """All vertices integral (only meaningful when compact)."""
        return bool(np.all(self.vertex_denominators == 1))


def _incidence(
    numerators: np.ndarray, denominators: np.ndarray, normals: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """``tight[k, f]``: ``normals[f] . (num_k / den_k) + offsets[f] == 0`` exactly."""
    values = numerators @ normals.T + np.multiply.outer(denominators, offsets)
    return np.asarray(values == 0, dtype=bool)


def hyperplane_polyhedron(rows: np.ndarray) -> Polyhedron:
    """Vertices, facets and recession cone of ``{x : 1 + w_i . x >= 0}`` (exact, Normaliz)."""
    rows = np.asarray(rows)
    dim = rows.shape[1]
    cone = _normaliz(
        PyNormaliz.NmzCone, inhom_inequalities=[[int(v) for v in row] + [1] for row in rows]
    )
    _normaliz(
        PyNormaliz.NmzCompute,
        cone,
        ["VerticesOfPolyhedron", "SupportHyperplanes", "ExtremeRays", "MaximalSubspace"],
    )
    vertices = _normaliz(PyNormaliz.NmzResult, cone, "VerticesOfPolyhedron")
    hyperplanes = _normaliz(PyNormaliz.NmzResult, cone, "SupportHyperplanes")
    rays = _normaliz(PyNormaliz.NmzResult, cone, "ExtremeRays")
    lineality = _normaliz(PyNormaliz.NmzResult, cone, "MaximalSubspace")
    # Drop the dehomogenisation inequality (0, ..., 0, 1) that Normaliz lists for unbounded P.
    hyperplanes = [h for h in hyperplanes if any(h[:dim])]
    numerators = integer_matrix([v[:dim] for v in vertices], dim)
    denominators = np.array([v[dim] for v in vertices], dtype=numerators.dtype)
    normals = integer_matrix([h[:dim] for h in hyperplanes], dim)
    offsets = np.array([h[dim] for h in hyperplanes], dtype=normals.dtype)
    if numerators.dtype != normals.dtype:
        numerators, denominators = numerators.astype(object), denominators.astype(object)
        normals, offsets = normals.astype(object), offsets.astype(object)
    compact = not rays and not lineality
    return Polyhedron(
        dimension=dim,
        compact=compact,
        vertex_numerators=numerators,
        vertex_denominators=denominators,
        facet_normals=normals,
        facet_offsets=offsets,
        tight=_incidence(numerators, denominators, normals, offsets),
        recession_rays=[r[:dim] for r in rays],
        lineality=[r[:dim] for r in lineality],
    )


def vertex_polytope(points: np.ndarray) -> tuple[Polyhedron, int]:
    """Vertices and facets of ``conv(points)``; also returns the affine dimension.

    Facets are only meaningful when the affine dimension equals ``d``.
    """
    points = np.asarray(points)
    dim = points.shape[1]
    cone = _normaliz(PyNormaliz.NmzCone, polytope=[[int(v) for v in row] for row in points])
    _normaliz(PyNormaliz.NmzCompute, cone, ["ExtremeRays", "SupportHyperplanes"])
    extreme = _normaliz(PyNormaliz.NmzResult, cone, "ExtremeRays")
    hyperplanes = _normaliz(PyNormaliz.NmzResult, cone, "SupportHyperplanes")
    affine_dimension = int(_normaliz(PyNormaliz.NmzResult, cone, "Rank")) - 1
    numerators = integer_matrix([v[:dim] for v in extreme], dim)
    denominators = np.array([v[dim] for v in extreme], dtype=numerators.dtype)
    normals = integer_matrix([h[:dim] for h in hyperplanes], dim)
    offsets = np.array([h[dim] for h in hyperplanes], dtype=normals.dtype)
    if numerators.dtype != normals.dtype:
        numerators, denominators = numerators.astype(object), denominators.astype(object)
        normals, offsets = normals.astype(object), offsets.astype(object)
    polyhedron = Polyhedron(
        dimension=dim,
        compact=True,
        vertex_numerators=numerators,
        vertex_denominators=denominators,
        facet_normals=normals,
        facet_offsets=offsets,
        tight=_incidence(numerators, denominators, normals, offsets),
        recession_rays=[],
        lineality=[],
    )
    return polyhedron, affine_dimension


# ----------------------------------------------------------------------------- smoothness


def smooth_by_facets(polyhedron: Polyhedron) -> tuple[bool, str | None]:
    """Smooth: every vertex lies on exactly ``d`` facets whose normals have ``|det| = 1``.

    Requires a compact lattice polytope with primitive facet normals.
    """
    dim = polyhedron.dimension
    counts = polyhedron.tight.sum(axis=1)
    bad = np.flatnonzero(counts != dim)
    if bad.size:
        k = int(bad[0])
        return (
            False,
            f"vertex {_format_vertex(polyhedron, k)} lies on {int(counts[k])} facets, not d={dim}",
        )
    facet_index = np.nonzero(polyhedron.tight)[1].reshape(-1, dim)
    stack = polyhedron.facet_normals[facet_index]
    ok = abs_det_is_one(stack)
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        det = exact_det(stack[k])
        return (
            False,
            f"facet normals at vertex {_format_vertex(polyhedron, k)} have |det| = {abs(det)}",
        )
    return True, None


def edges(polyhedron: Polyhedron) -> list[tuple[int, int]]:
    """Edges of a polytope from its vertex-facet incidences (exact).

    Vertices ``i, j`` span an edge iff their common facets have normals of rank ``d - 1``
    and no third vertex lies on all of those facets.
    """
    tight = polyhedron.tight
    normals = polyhedron.facet_normals
    dim = polyhedron.dimension
    n_vertices = tight.shape[0]
    result: list[tuple[int, int]] = []
    for i in range(n_vertices):
        for j in range(i + 1, n_vertices):
            common = tight[i] & tight[j]
            if common.sum() < dim - 1:
                continue
            contains = np.all(tight[:, common], axis=1)
            if contains.sum() != 2:
                continue
            if exact_rank(normals[common]) == dim - 1:
                result.append((i, j))
    return result


def smooth_by_edges(polyhedron: Polyhedron) -> tuple[bool, str | None]:
    """Smooth (Definition 4): at each vertex exactly ``d`` edges, and their primitive
    integer directions form a Z-basis. Requires a compact lattice polytope."""
    dim = polyhedron.dimension
    vertices = polyhedron.vertex_numerators
    neighbours: list[list[int]] = [[] for _ in range(vertices.shape[0])]
    for i, j in edges(polyhedron):
        neighbours[i].append(j)
        neighbours[j].append(i)
    for k, around in enumerate(neighbours):
        if len(around) != dim:
            return (
                False,
                f"vertex {_format_vertex(polyhedron, k)} has {len(around)} edges, not d={dim}",
            )
        directions = np.array([primitive(vertices[j] - vertices[k]) for j in around])
        if abs(exact_det(directions)) != 1:
            return (
                False,
                f"primitive edge directions at vertex {_format_vertex(polyhedron, k)} are not a Z-basis",
            )
    return True, None


def format_fraction(numerator: int, denominator: int) -> str:
    """``numerator/denominator`` in lowest terms (``"3"`` when it is an integer)."""
    numerator, denominator = int(numerator), int(denominator)
    common = gcd(numerator, denominator) or 1
    numerator, denominator = numerator // common, denominator // common
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    return str(numerator) if denominator == 1 else f"{numerator}/{denominator}"


def _format_vertex(polyhedron: Polyhedron, k: int) -> str:
    den = int(polyhedron.vertex_denominators[k])
    parts = [format_fraction(v, den) for v in polyhedron.vertex_numerators[k]]
    return "(" + ", ".join(parts) + ")"


# ----------------------------------------------------------------------------- normality


def lattice_point_bound(polyhedron: Polyhedron) -> float:
    """Upper bound on the number of lattice points of a compact full-dimensional ``P``.

    For ``d`` linearly independent integer facet normals ``A``, ``x -> A x`` is injective
    on ``Z^d`` and maps ``P``'s lattice points into the box spanned by ``A``'s values on
    the vertices. The normals are chosen greedily by smallest extent, so the bound does
    not blow up under a unimodular change of coordinates (unlike the bounding box).
    """
    vertices = (
        polyhedron.vertex_numerators.astype(float)
        / polyhedron.vertex_denominators.astype(float)[:, None]
    )
    box = float(np.prod(np.floor(vertices.max(axis=0)) - np.ceil(vertices.min(axis=0)) + 1.0))
    normals = polyhedron.facet_normals.astype(float)
    if normals.shape[0] < polyhedron.dimension:
        return box
    values = vertices @ normals.T
    extents = np.floor(values.max(axis=0)) - np.ceil(values.min(axis=0)) + 1.0
    chosen: list[int] = []
    for facet in np.argsort(extents, kind="stable"):
        candidate = chosen + [int(facet)]
        if np.linalg.matrix_rank(normals[candidate]) == len(candidate):
            chosen = candidate
            if len(chosen) == polyhedron.dimension:
                return min(box, float(np.prod(extents[chosen])))
    return box


def facet_inequalities(polyhedron: Polyhedron) -> list[list[int]]:
    """The facets as integer rows ``(normal, offset)``: ``normal . x + offset >= 0``."""
    return [
        [int(v) for v in normal] + [int(offset)]
        for normal, offset in zip(polyhedron.facet_normals, polyhedron.facet_offsets, strict=True)
    ]


def is_normal(polyhedron: Polyhedron) -> bool:
    """Normality of a full-dimensional compact lattice polytope.

    The cone over ``P x {1}`` is given by its facet inequalities and its Hilbert basis is
    computed in Normaliz's dual mode; ``P`` is normal iff that Hilbert basis lies in
    degree 1. Equivalent to ``Cone(polytope=vertices).IsDeg1HilbertBasis()``.
    Measured on 15 perturbed (compact, lattice, non-smooth) 8-d dataset polytopes: dual
    mode 30 s in all, primal ``IsDeg1HilbertBasis`` 84 s, Normaliz's own choice 69 s.
    """
    if not (polyhedron.compact and polyhedron.lattice):
        raise ValueError("normality is only defined here for compact lattice polytopes")
    return normal_from_inequalities(facet_inequalities(polyhedron))


def product_factors(inequalities: list[list[int]]) -> list[list[int]]:
    """Coordinate blocks of a product ``P = P_1 x ... x P_k`` seen in the facet rows.

    Coordinates are linked when one facet normal uses both; every facet then involves one
    block, so ``P`` is the product of the polytopes cut out by each block's facets.
    """
    dim = len(inequalities[0]) - 1
    parent = list(range(dim))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in inequalities:
        support = [j for j in range(dim) if row[j]]
        for j in support[1:]:
            parent[find(j)] = find(support[0])
    blocks: dict[int, list[int]] = {}
    for j in range(dim):
        blocks.setdefault(find(j), []).append(j)
    return list(blocks.values())


def normal_from_inequalities(inequalities: list[list[int]]) -> bool:
    """:func:`is_normal` from the facet rows of a compact lattice polytope (picklable).

    A product of lattice polytopes is normal iff every factor is (a factor is a face; a
    product of normal polytopes is normal), so factors visible in the coordinates are
    checked separately; lattice polytopes of dimension <= 2 are normal.
    """
    dim = len(inequalities[0]) - 1
    factors = product_factors(inequalities)
    if len(factors) > 1:
        for block in factors:
            rows = [row for row in inequalities if any(row[j] for j in block)]
            if not normal_from_inequalities([[row[j] for j in block] + [row[dim]] for row in rows]):
                return False
        return True
    if dim <= 2:
        return True
    cone = _normaliz(PyNormaliz.NmzCone, inequalities=inequalities, grading=[[0] * dim + [1]])
    _normaliz(PyNormaliz.NmzCompute, cone, ["DualMode", "HilbertBasis"])
    return bool(_normaliz(PyNormaliz.NmzResult, cone, "IsDeg1HilbertBasis"))


def is_normal_primal(points: np.ndarray) -> bool:
    """Normality via ``Cone(polytope=points).IsDeg1HilbertBasis()`` (primal algorithm)."""
    cone = _normaliz(PyNormaliz.NmzCone, polytope=[[int(v) for v in row] for row in points])
    return bool(_normaliz(PyNormaliz.NmzResult, cone, "IsDeg1HilbertBasis"))
