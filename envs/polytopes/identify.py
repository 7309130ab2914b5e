"""Identify a generated polytope in the dataset (lattice-equivalence lookup).

    >>> index = DatasetIndex(6)
    >>> index.identify(matrix).status  # doctest: +SKIP
    'lattice_equivalent'

Statuses, from most to least literal:

* ``exact_copy``: the matrix equals its dataset representative (same rows, same order);
* ``row_permutation``: same rows as the representative, in another order;
* ``lattice_equivalent``: ``W' = P W A`` with ``A`` in ``GL_d(Z)``, but not one of the above;
* ``not_in_dataset``: no dataset polytope is lattice equivalent (for a smooth reflexive
  sample this cannot happen: the classification is complete);
* ``invalid``: the matrix is not parseable or its rows do not span ``R^d``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from envs.polytopes import dataset, normal_form
from envs.polytopes.properties import ParseError, parse_matrix

STATUSES = ("exact_copy", "row_permutation", "lattice_equivalent", "not_in_dataset", "invalid")


@dataclass
class Identification:
    """Result of :meth:`DatasetIndex.identify`."""

    status: str
    index: int | None = None  # position in dataset.load(d)
    grdb_id: int | None = None
    half: str | None = None  # "half_a" / "half_b" for the index's seed
    reason: str | None = None

    @property
    def in_dataset(self) -> bool:
        return self.status in ("exact_copy", "row_permutation", "lattice_equivalent")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DatasetIndex:
    """Dictionary from normal-form key to dataset entry for one dimension."""

    def __init__(
        self, d: int, *, seed: int = 0, cache_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.d = d
        self.seed = seed
        self.data = dataset.load_data(d, cache_dir=cache_dir)
        self._by_key = {bytes(key): i for i, key in enumerate(self.data.keys)}
        if len(self._by_key) != len(self.data):
            raise ValueError(f"d={d}: dataset keys are not distinct")
        half_a, _ = dataset.split_indices(len(self.data), seed)
        self._in_half_a = np.zeros(len(self.data), dtype=bool)
        self._in_half_a[half_a] = True

    def __len__(self) -> int:
        return len(self.data)

    def half(self, index: int) -> str:
        return "half_a" if self._in_half_a[index] else "half_b"

    def identify(self, matrix: Any) -> Identification:
        """Locate ``matrix`` (hyperplane representation) in the dataset."""
        try:
            rows = parse_matrix(matrix, representation="hyperplane")
        except ParseError as error:
            return Identification("invalid", reason=f"not parseable: {error}")
        if rows.shape[1] != self.d:
            return Identification("invalid", reason=f"dimension {rows.shape[1]} != {self.d}")
        try:
            form = normal_form.canonical_form(rows)
        except ValueError as error:
            return Identification("invalid", reason=str(error))
        index = self._by_key.get(form.key)
        if index is None:
            return Identification("not_in_dataset")
        reference = self.data.rows[index]
        result = Identification(
            "lattice_equivalent",
            index=index,
            grdb_id=int(self.data.ids[index]),
            half=self.half(index),
        )
        if rows.shape == reference.shape and np.array_equal(rows, reference):
            result.status = "exact_copy"
            return result
        if rows.shape == reference.shape and _same_row_multiset(rows, reference):
            result.status = "row_permutation"
            return result
        reference_form = normal_form.canonical_form(reference)
        if not np.array_equal(form.matrix, reference_form.matrix):
            raise RuntimeError("key collision between different canonical forms")
        transform = normal_form.unimodular_map(reference[reference_form.order], rows[form.order])
        if transform is None:
            # Same projection but no GL_d(Z) map (e.g. 2 W): not lattice equivalent.
            return Identification(
                "not_in_dataset",
                reason=f"same normal-form key as entry {index} but no unimodular map",
            )
        return result


def _same_row_multiset(first: np.ndarray, second: np.ndarray) -> bool:
    order_first = np.lexsort(first.T[::-1])
    order_second = np.lexsort(second.T[::-1])
    return bool(np.array_equal(first[order_first], second[order_second]))
