"""Identify a generated polytope in the dataset (lattice-equivalence lookup).

    >>> index = DatasetIndex(6)
    >>> index.identify(matrix).status  # doctest: +SKIP
    'lattice_equivalent'

A sample is first reduced to its **irredundant rows**: exact duplicates are dropped
(``repeated_rows``), then rows that do not define a facet (hyperplane representation: an
inequality ``1 + w . x >= 0`` that is implied by the others; vertex representation: a
point that is not a vertex) are dropped (``redundant_rows``). The status is that of the
irredundant matrix, so appending a repeated or a redundant row does not change the
polytope's identification.

Statuses, from most to least literal:

* ``exact_copy``: the irredundant rows equal the dataset representative (same rows, same
  order);
* ``row_permutation``: same rows as the representative, in another order;
* ``lattice_equivalent``: ``W' = P W A`` with ``A`` in ``GL_d(Z)``, but not one of the above;
* ``not_in_dataset``: no dataset polytope is lattice equivalent (for a smooth reflexive
  sample this cannot happen: its irredundant rows are the vertices of a smooth Fano
  polytope and the classification is complete; note that such a sample can only carry
  repeated rows, since an integer redundant row would be a lattice point of that smooth
  Fano polytope other than a vertex or the origin, and there is none);
* ``invalid``: the matrix is not parseable or its (irredundant) rows do not span ``R^d``.

The *representative* is the dataset matrix as the training data encoded it:
``tokens.prepare(data.rows[i], embedding=..., row_order=..., seed=encoding_seed, index=i)``
(``data.vertices[i]`` for the vertex representation). For ``embedding="random_unimodular"``
the representative uses the ``"negated"`` embedding with the given row order (the random
re-embeddings are augmentations, not fixed copies), so replayed training sequences are
then reported ``lattice_equivalent``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from envs.polytopes import dataset, geometry, normal_form, tokens
from envs.polytopes.properties import ParseError, PropertyReport, parse_matrix

STATUSES = ("exact_copy", "row_permutation", "lattice_equivalent", "not_in_dataset", "invalid")


@dataclass
class Identification:
    """Result of :meth:`DatasetIndex.identify`."""

    status: str
    index: int | None = None  # position in dataset.load(d)
    grdb_id: int | None = None
    half: str | None = None  # "half_a" / "half_b" for the index's seed
    reason: str | None = None
    repeated_rows: int = 0  # rows dropped as exact duplicates
    redundant_rows: int = 0  # rows dropped because they define no facet / are no vertex
    key: str | None = None  # hex lattice key of the irredundant hyperplane rows

    @property
    def in_dataset(self) -> bool:
        return self.status in ("exact_copy", "row_permutation", "lattice_equivalent")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Irredundant:
    """Irredundant rows of a sample and the hyperplane rows that identify it."""

    rows: np.ndarray  # the sample's irredundant rows, first occurrences in input order
    hyperplane: np.ndarray | None  # facet normals W (None: not reflexive / not a polytope)
    repeated_rows: int
    redundant_rows: int


def _dedupe(rows: np.ndarray) -> tuple[np.ndarray, int]:
    _, first = np.unique(rows, axis=0, return_index=True)
    keep = np.sort(first)
    return rows[keep], rows.shape[0] - keep.size


def irredundant(
    rows: np.ndarray,
    representation: str = "hyperplane",
    *,
    facet_rows: Iterable[Sequence[int]] | None = None,
    report: PropertyReport | None = None,
) -> Irredundant:
    """Drop repeated rows, then rows that define no facet (or points that are no vertex).

    ``facet_rows`` (hyperplane: the rows ``w`` with ``1 + w . x >= 0`` a facet) skips the
    Normaliz call; so does a ``report`` of the same matrix whose ``irredundant`` is True.
    For vertices, ``hyperplane`` holds the facet normals ``u`` of the facets
    ``1 + u . x >= 0`` when every facet has that form (P reflexive), else ``None``.
    Raises :class:`geometry.NormalizFailure` if Normaliz fails.
    """
    unique, repeated = _dedupe(np.asarray(rows, dtype=np.int64))
    if representation == "hyperplane":
        if facet_rows is None and report is not None and report.irredundant:
            return Irredundant(unique, unique, repeated, 0)
        if facet_rows is None:
            polyhedron = geometry.hyperplane_polyhedron(unique)
            facet_rows = [
                normal
                for normal, offset in zip(
                    polyhedron.facet_normals, polyhedron.facet_offsets, strict=True
                )
                if offset == 1
            ]
        facets = {tuple(int(v) for v in row) for row in facet_rows}
        keep = np.array([tuple(row) in facets for row in unique.tolist()], dtype=bool)
        kept = unique[keep]
        return Irredundant(kept, kept, repeated, int((~keep).sum()))
    polyhedron, affine_dimension = geometry.vertex_polytope(unique)
    vertices = {
        tuple(int(v) for v in num)
        for num, den in zip(
            polyhedron.vertex_numerators, polyhedron.vertex_denominators, strict=True
        )
        if den == 1
    }
    keep = np.array([tuple(row) in vertices for row in unique.tolist()], dtype=bool)
    hyperplane = None
    if affine_dimension == unique.shape[1] and all(o == 1 for o in polyhedron.facet_offsets):
        hyperplane = np.array(polyhedron.facet_normals, dtype=np.int64)
    return Irredundant(unique[keep], hyperplane, repeated, int((~keep).sum()))


class DatasetIndex:
    """Dictionary from normal-form key to dataset entry for one dimension.

    ``seed`` fixes the halves (:func:`dataset.split_indices`); ``embedding``, ``row_order``
    and ``encoding_seed`` say how the training data was encoded (see the module
    docstring); ``representation`` is that of the queried samples.
    """

    def __init__(
        self,
        d: int,
        *,
        seed: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
        embedding: str = "special",
        row_order: str = "stored",
        encoding_seed: int = 0,
        representation: str = "hyperplane",
    ) -> None:
        if embedding not in tokens.EMBEDDINGS:
            raise ValueError(f"embedding must be one of {tokens.EMBEDDINGS}, got {embedding!r}")
        if row_order not in tokens.ROW_ORDERS:
            raise ValueError(f"row_order must be one of {tokens.ROW_ORDERS}, got {row_order!r}")
        if representation not in tokens.REPRESENTATIONS:
            raise ValueError(
                f"representation must be one of {tokens.REPRESENTATIONS}, got {representation!r}"
            )
        self.d = d
        self.seed = seed
        self.embedding = embedding
        self.row_order = row_order
        self.encoding_seed = int(encoding_seed)
        self.representation = representation
        self.data = dataset.load_data(d, cache_dir=cache_dir)
        # Keys stay one (n, 32) uint8 array; lookups bisect a sorted fixed-width view of it
        # (a dict of 750 000 bytes objects would cost ~150 MB for d = 8).
        self._keys = self.data.keys
        packed = np.ascontiguousarray(self._keys).view(f"S{self._keys.shape[1]}").ravel()
        self._order = np.argsort(packed, kind="stable")
        self._sorted = packed[self._order]
        if len(self._sorted) > 1 and bool(np.any(self._sorted[1:] == self._sorted[:-1])):
            raise ValueError(f"d={d}: dataset keys are not distinct")
        half_a, _ = dataset.split_indices(len(self.data), seed)
        self._in_half_a = np.zeros(len(self.data), dtype=bool)
        self._in_half_a[half_a] = True

    def __len__(self) -> int:
        return len(self.data)

    def half(self, index: int) -> str:
        return "half_a" if self._in_half_a[index] else "half_b"

    def keys(self, split: str | None = None) -> set[bytes]:
        """Lattice keys of the whole dataset or of one half (``"half_a"``/``"half_b"``)."""
        if split not in dataset.SPLITS:
            raise ValueError(f"split must be one of {dataset.SPLITS}, got {split!r}")
        chosen = np.ones(len(self.data), dtype=bool) if split is None else self._in_half_a
        if split == "half_b":
            chosen = ~chosen
        return {self._keys[i].tobytes() for i in np.flatnonzero(chosen)}

    def lookup(self, key: bytes) -> int | None:
        """Dataset index of the entry with lattice key ``key`` (32 bytes), or ``None``."""
        query = np.frombuffer(key, dtype=np.uint8)
        if query.shape != self._keys.shape[1:]:
            return None
        position = int(np.searchsorted(self._sorted, np.array(key, dtype=self._sorted.dtype)))
        if position >= len(self._sorted):
            return None
        index = int(self._order[position])
        return index if np.array_equal(self._keys[index], query) else None

    def representative(self, index: int) -> np.ndarray:
        """Entry ``index`` as the training data encodes it (see the module docstring)."""
        embedding = "negated" if self.embedding == "random_unimodular" else self.embedding
        source = self.data.rows if self.representation == "hyperplane" else self.data.vertices
        return tokens.prepare(
            source[index],
            embedding=embedding,
            row_order=self.row_order,
            seed=self.encoding_seed,
            index=int(index),
            representation=self.representation,
        )

    def identify(
        self,
        matrix: Any,
        *,
        facet_rows: Iterable[Sequence[int]] | None = None,
        report: PropertyReport | None = None,
    ) -> Identification:
        """Locate ``matrix`` (in the index's representation) in the dataset.

        ``facet_rows`` / ``report``: precomputed facts about the same matrix that spare a
        Normaliz call (see :func:`irredundant`).
        """
        try:
            rows = parse_matrix(matrix, representation=self.representation)
        except ParseError as error:
            return Identification("invalid", reason=f"not parseable: {error}")
        if rows.shape[1] != self.d:
            return Identification("invalid", reason=f"dimension {rows.shape[1]} != {self.d}")
        try:
            reduced = irredundant(rows, self.representation, facet_rows=facet_rows, report=report)
        except geometry.NormalizFailure as error:
            return Identification("invalid", reason=str(error))
        counts = {"repeated_rows": reduced.repeated_rows, "redundant_rows": reduced.redundant_rows}
        if reduced.hyperplane is None:
            return Identification(
                "not_in_dataset",
                reason="not a reflexive polytope (a facet is not at lattice distance 1)",
                **counts,
            )
        hyperplane = reduced.hyperplane
        try:
            form = normal_form.canonical_form(hyperplane)
        except ValueError as error:
            return Identification("invalid", reason=str(error), **counts)
        index = self.lookup(form.key)
        if index is None:
            return Identification("not_in_dataset", key=form.key.hex(), **counts)
        result = Identification(
            "lattice_equivalent",
            index=index,
            grdb_id=int(self.data.ids[index]),
            half=self.half(index),
            key=form.key.hex(),
            **counts,
        )
        sample = reduced.rows
        target = self.representative(index)
        if sample.shape == target.shape and np.array_equal(sample, target):
            result.status = "exact_copy"
            return result
        if sample.shape == target.shape and _same_row_multiset(sample, target):
            result.status = "row_permutation"
            return result
        reference = self.data.rows[index]
        reference_form = normal_form.canonical_form(reference)
        if not np.array_equal(form.matrix, reference_form.matrix):
            raise RuntimeError("key collision between different canonical forms")
        transform = normal_form.unimodular_map(
            reference[reference_form.order], hyperplane[form.order]
        )
        if transform is None:
            # Same projection but no GL_d(Z) map (e.g. 2 W): not lattice equivalent.
            return Identification(
                "not_in_dataset",
                reason=f"same normal-form key as entry {index} but no unimodular map",
                key=form.key.hex(),
                **counts,
            )
        return result


def _same_row_multiset(first: np.ndarray, second: np.ndarray) -> bool:
    order_first = np.lexsort(first.T[::-1])
    order_second = np.lexsort(second.T[::-1])
    return bool(np.array_equal(first[order_first], second[order_second]))
