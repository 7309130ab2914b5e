"""Types of PolyProof-v0: the monomial indexing of observations and action codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from itertools import combinations
from math import comb

import numpy as np

from envs.polyproof.polynomial import Monomial, Polynomial


class CandidateStatus(IntEnum):
    """Why an action is (il)legal. Only ``LEGAL`` actions are unmasked."""

    LEGAL = 0
    EMPTY_SLOT = 1  # no memory element at that index yet
    DEGREE_TOO_HIGH = 2  # illegal: the reduced product exceeds max_degree
    ZERO = 3  # legal but useless: the product reduces to 0
    DUPLICATE = 4  # legal but useless: a positive multiple is already in memory
    TOO_LARGE = 5  # cannot be encoded: too many terms or a coefficient beyond int16


@dataclass(frozen=True)
class MonomialIndex:
    """Dense indexing of all multilinear monomials of degree <= ``max_degree`` in ``n`` variables.

    Order: by degree, then lexicographically on 0-based indices: ``1, x1..xn,
    x1x2, x1x3, ..., x_{n-1}x_n, ...``. It does not depend on the equalities, so
    every instance with the same ``n`` shares it.
    """

    n: int
    max_degree: int

    def __post_init__(self) -> None:
        monos: list[Monomial] = []
        for d in range(self.max_degree + 1):
            monos.extend(combinations(range(self.n), d))
        object.__setattr__(self, "monomials", tuple(monos))
        object.__setattr__(self, "position", {m: i for i, m in enumerate(monos)})

    @property
    def size(self) -> int:
        return sum(comb(self.n, d) for d in range(self.max_degree + 1))

    def index(self, mono: Monomial) -> int:
        return self.position[mono]  # type: ignore[attr-defined]

    def dense(self, poly: Polynomial, dtype: type = np.float32) -> np.ndarray:
        """Coefficient vector of ``poly`` (all its monomials must be indexed)."""
        out = np.zeros(self.size, dtype=dtype)
        for mono, c in poly.terms.items():
            out[self.position[mono]] = float(c)  # type: ignore[attr-defined]
        return out

    def monomial(self, index: int) -> Monomial:
        return self.monomials[index]  # type: ignore[attr-defined]
