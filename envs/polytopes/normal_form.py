"""Lattice-equivalence normal form of smooth Fano polytopes (equivalently, of the smooth
reflexive polytopes ``{x : 1 + W x >= 0}``) and the dataset identification API.

Key. For a vertex matrix ``W`` (rows = vertices of ``P^dual``, rank ``d``) the projection
``W (W^T W)^-1 W^T`` onto its column space does not change under ``W -> W A`` for any
invertible ``A``. Scaled to a primitive integer matrix and canonicalised under
simultaneous row/column permutation (graph canonical labelling with nauty, PyPI
``pynauty``), it is the key. If two smooth Fano matrices have the same key, then
``W' = P W A`` for a row permutation ``P`` and a real ``A``; since the rows of any facet
of ``W`` form a Z-basis, ``A`` is integral, and likewise ``A^-1``: they are lattice
equivalent. For inputs that are not smooth Fano the key alone can merge
non-equivalent matrices (``2 W`` has the key of ``W``), so :meth:`DatasetIndex.identify`
re-derives ``A`` and checks ``A in GL_d(Z)`` exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from math import gcd
from typing import Any

import numpy as np

try:
    import pynauty
except ImportError:  # pragma: no cover - exercised only without the optional dependency
    pynauty = None


def _require_pynauty() -> None:
    if pynauty is None:
        raise ImportError(
            "the lattice normal form needs pynauty (pip install pynauty); it is on PyPI"
        )


def adjugate_and_det(matrix: np.ndarray) -> tuple[list[list[int]], int]:
    """Exact ``(adj(G), det(G))`` of a square integer matrix (fraction-free Gauss-Jordan).

    ``adj(G) = det(G) G^-1``; both are 0-filled / 0 when ``G`` is singular.
    """
    n = matrix.shape[0]
    a = [[int(v) for v in row] + [int(i == j) for j in range(n)] for i, row in enumerate(matrix)]
    sign, previous = 1, 1
    for k in range(n):
        pivot = next((r for r in range(k, n) if a[r][k] != 0), None)
        if pivot is None:
            return [[0] * n for _ in range(n)], 0
        if pivot != k:
            a[k], a[pivot] = a[pivot], a[k]
            sign = -sign
        head = a[k]
        for i in range(n):
            if i != k:
                row = a[i]
                factor = row[k]
                a[i] = [(row[j] * head[k] - factor * head[j]) // previous for j in range(2 * n)]
        previous = head[k]
    # Elimination of [G | I] with row swaps ends in [c I | c G^-1], c = det of the
    # row-swapped matrix = sign * det(G).
    scaled_inverse = [[sign * a[i][n + j] for j in range(n)] for i in range(n)]
    return scaled_inverse, sign * previous


def projection_matrix(rows: np.ndarray) -> np.ndarray:
    """Primitive integer multiple of ``W (W^T W)^-1 W^T`` (``object`` dtype, exact)."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise ValueError(f"expected a non-empty 2-d matrix, got shape {rows.shape}")
    exact = rows.astype(object)
    gram = exact.T @ exact
    adjugate, det = adjugate_and_det(gram)
    if det == 0:
        raise ValueError("the rows do not span R^d (W^T W is singular)")
    product = exact @ np.array(adjugate, dtype=object) @ exact.T
    common = 0
    for value in product.flat:
        common = gcd(common, int(value))
    return product // common


@dataclass(frozen=True)
class CanonicalForm:
    """Canonical projection matrix and the row order that produced it."""

    matrix: np.ndarray  # canonical (n, n) integer matrix
    order: list[int]  # order[i] = input row placed at canonical position i

    @property
    def key(self) -> bytes:
        """32-byte digest of the canonical matrix (the dictionary key)."""
        return canonical_digest(self.matrix)


def canonical_digest(matrix: np.ndarray) -> bytes:
    text = f"{matrix.shape[0]}:" + ",".join(str(int(v)) for v in matrix.flat)
    return hashlib.sha256(text.encode()).digest()


def canonical_form(rows: np.ndarray) -> CanonicalForm:
    """Canonical form of ``W`` under ``W -> P W A`` (``P`` a row permutation, ``A`` invertible).

    Builds a vertex-coloured graph: one vertex per row (coloured by the diagonal entry of
    the projection matrix) and one vertex per pair of rows (coloured by the off-diagonal
    entry), and lets nauty canonically label it.
    """
    _require_pynauty()
    projection = projection_matrix(rows)
    n = projection.shape[0]
    diagonal_values = sorted({int(projection[i, i]) for i in range(n)})
    pair_values = sorted({int(projection[i, j]) for i in range(n) for j in range(i + 1, n)})
    adjacency: dict[int, list[int]] = {i: [] for i in range(n)}
    pair_cells: dict[int, set[int]] = {value: set() for value in pair_values}
    vertex = n
    for i in range(n):
        for j in range(i + 1, n):
            adjacency[vertex] = [i, j]
            pair_cells[int(projection[i, j])].add(vertex)
            vertex += 1
    row_cells: dict[int, set[int]] = {value: set() for value in diagonal_values}
    for i in range(n):
        row_cells[int(projection[i, i])].add(i)
    coloring = [row_cells[v] for v in diagonal_values] + [pair_cells[v] for v in pair_values]
    graph = pynauty.Graph(vertex, adjacency_dict=adjacency, vertex_coloring=coloring)
    labelling = pynauty.canon_label(graph)
    order = [int(v) for v in labelling[:n]]
    if sorted(order) != list(range(n)):  # cannot happen: row cells come first
        raise RuntimeError("nauty did not keep the row vertices first")
    canonical = projection[np.ix_(order, order)]
    # Diagonal values and pair values are encoded in the cell colours, which are part of
    # the matrix itself, so equal inputs give equal matrices.
    return CanonicalForm(matrix=canonical.astype(object), order=order)


def lattice_key(rows: Any) -> bytes:
    """Key deciding lattice equivalence of smooth Fano vertex matrices (row order free)."""
    return canonical_form(np.asarray(rows, dtype=np.int64)).key


def unimodular_map(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The ``A`` in ``GL_d(Z)`` with ``source @ A == target`` (rows aligned), or ``None``."""
    from envs.polytopes.geometry import exact_det

    source = np.asarray(source, dtype=object)
    target = np.asarray(target, dtype=object)
    if source.shape != target.shape:
        return None
    dim = source.shape[1]
    # Pick d rows of the source forming a basis, solve exactly with fractions.
    from fractions import Fraction

    basis: list[int] = []
    for i in range(source.shape[0]):
        candidate = basis + [i]
        sub = source[candidate]
        if _rank(sub) == len(candidate):
            basis = candidate
        if len(basis) == dim:
            break
    if len(basis) < dim:
        return None
    b_matrix = source[basis]
    det = exact_det(b_matrix)
    adjugate, det_check = adjugate_and_det(b_matrix)
    if det_check != det:  # defensive; both are exact
        return None
    numerator = np.array(adjugate, dtype=object) @ target[basis]
    solution = np.empty((dim, dim), dtype=object)
    for i in range(dim):
        for j in range(dim):
            value = Fraction(int(numerator[i, j]), det)
            if value.denominator != 1:
                return None
            solution[i, j] = int(value)
    if not np.array_equal(source @ solution, target):
        return None
    if abs(exact_det(solution)) != 1:
        return None
    return solution


def _rank(matrix: np.ndarray) -> int:
    from envs.polytopes.geometry import exact_rank

    return exact_rank(matrix)
