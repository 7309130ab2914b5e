"""Result record and union-find shared by the exact region counters."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: what ``RegionResult.num_cells`` counts, per method
CELL_KINDS = {
    "traversal": "activation cells: non-empty open sets of inputs with one activation pattern",
    "tropical": "tropical pieces: full-dimensional intersections of the linear regions of all "
                "p_k and q_k (f_k = p_k - q_k)",
}


class CountUnknown(ValueError):
    """A method cannot vouch for its count on this input (the count is unknown, not guessed)."""


class UnionFind:
    """Plain union-find with path halving."""

    def __init__(self, size: int = 0) -> None:
        self.parent = list(range(size))

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def labels(self) -> np.ndarray:
        """Component label 0..k-1 of every item."""
        roots = np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)
        _, labels = np.unique(roots, return_inverse=True)
        return labels.reshape(-1)


@dataclass
class RegionResult:
    """Result of an exact count."""

    count: int
    method: str
    seconds: float
    num_cells: int
    num_lps: int
    box_radius: float | None = None
    #: traversal only: cells whose float-cdd facet test failed and fell back to HiGHS
    num_cdd_fallbacks: int = 0
    #: traversal only: patterns reached across a false (float cdd) facet, certified empty by an
    #: LP (slack < -tol) and dropped
    num_empty_dropped: int = 0
    #: traversal only: LP answers too close to call in floats, decided in exact arithmetic
    num_exact_decisions: int = 0
    #: Algorithm 4 only: float LP decisions too close to call (then checked by the traversal)
    num_close_calls: int = 0
    #: Algorithm 4 only: the count was confirmed by the exact-backed traversal
    verified_by_traversal: bool = False
    #: traversal only: activation pattern (bytes) -> region label
    pattern_to_region: dict[bytes, int] = field(default_factory=dict)
    #: per region label: (linear (nL, n0), offset (nL,)) of the affine map
    region_maps: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    #: per cell: an interior point (traversal and Algorithm 4)
    cell_points: list[np.ndarray] = field(default_factory=list)
    cell_labels: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-ready fields (``cell_kind`` says what ``num_cells`` counts)."""
        return {
            "count": self.count,
            "method": self.method,
            "seconds": round(self.seconds, 6),
            "num_cells": self.num_cells,
            "cell_kind": CELL_KINDS.get(self.method, ""),
            "num_lps": self.num_lps,
            "box_radius": self.box_radius,
        }
