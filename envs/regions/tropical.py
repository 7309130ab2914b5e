"""Tropical (max-plus) Puiseux polynomials and rational maps of ReLU networks.

A tropical polynomial ``p(x) = max_i (c_i + e_i . x)`` is stored as a coefficient vector
``c`` (m,) and an exponent matrix ``E`` (m, n).  A network output is ``f = p - q``.

The representation is built recursively (Zhang et al. 2018; Lezeau et al. 2024): each
pre-activation is ``P - Q``; ``relu(P - Q) = max(P, Q) - Q``; an affine layer with
``W = W+ - W-`` maps ``(p_i - q_i)`` to
``P_j = b_j + sum_i W+_ji p_i + W-_ji q_i`` and ``Q_j = sum_i W+_ji q_i + W-_ji p_i``
(tropically: products of tropical powers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from envs.regions.lp import SLACK_TOL, LPError, SlackLP
from envs.regions.network import ReLUNetwork

EXPONENT_DECIMALS = 9
#: exponents rounded to the same class must agree to this relative precision (else ValueError)
MERGE_REL_TOL = 1e-13


def unique_row_inverse(keys: np.ndarray) -> np.ndarray:
    """Index of every row of ``keys`` among the distinct rows (first-occurrence order).

    A hash table on the row bytes; much faster than ``np.unique(axis=0)`` for wide rows.
    """
    keys = np.ascontiguousarray(keys, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    table: dict[bytes, int] = {}
    return np.fromiter((table.setdefault(row.tobytes(), len(table)) for row in keys),
                       dtype=np.int64, count=keys.shape[0])


@dataclass(frozen=True)
class TropicalPolynomial:
    """``max_i (coefficients[i] + exponents[i] . x)``."""

    coefficients: np.ndarray
    exponents: np.ndarray

    def __post_init__(self) -> None:
        if self.exponents.ndim != 2 or self.coefficients.shape != (self.exponents.shape[0],):
            raise ValueError(
                f"bad shapes: coefficients {self.coefficients.shape}, exponents {self.exponents.shape}"
            )
        if self.exponents.shape[0] == 0:
            raise ValueError("a tropical polynomial needs at least one monomial")

    @property
    def num_monomials(self) -> int:
        return int(self.coefficients.shape[0])

    @property
    def dim(self) -> int:
        return int(self.exponents.shape[1])

    @classmethod
    def constant(cls, value: float, dim: int) -> TropicalPolynomial:
        return cls(np.array([float(value)]), np.zeros((1, dim)))

    @classmethod
    def monomial(cls, coefficient: float, exponent: np.ndarray) -> TropicalPolynomial:
        return cls(np.array([float(coefficient)]), np.asarray(exponent, dtype=float)[None, :])

    def monomial_values(self, points: np.ndarray) -> np.ndarray:
        """``(N, m)`` values of every monomial."""
        return np.atleast_2d(points) @ self.exponents.T + self.coefficients

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return self.monomial_values(points).max(axis=1)

    def merged(self) -> TropicalPolynomial:
        """Combine monomials with equal exponents (keep the largest coefficient)."""
        inverse = unique_row_inverse(np.round(self.exponents, EXPONENT_DECIMALS))
        count = int(inverse.max()) + 1
        if count == self.num_monomials:
            return self
        coefficients = np.full(count, -np.inf)
        np.maximum.at(coefficients, inverse, self.coefficients)
        _, first = np.unique(inverse, return_index=True)  # first occurrence of each class
        spread = float(np.abs(self.exponents - self.exponents[first][inverse]).max())
        if spread > MERGE_REL_TOL * (1.0 + float(np.abs(self.exponents).max())):
            raise ValueError(
                f"monomial exponents {spread:.1e} apart would be merged: below the resolution of "
                "the float tropical representation (use the traversal)"
            )
        return TropicalPolynomial(coefficients, self.exponents[first])

    def tropical_add(self, other: TropicalPolynomial) -> TropicalPolynomial:
        """Tropical sum = pointwise max."""
        return TropicalPolynomial(
            np.concatenate([self.coefficients, other.coefficients]),
            np.vstack([self.exponents, other.exponents]),
        ).merged()

    def tropical_mul(self, other: TropicalPolynomial, max_monomials: int = 5_000_000) -> TropicalPolynomial:
        """Tropical product = pointwise sum (Minkowski sum of the monomials)."""
        size = self.num_monomials * other.num_monomials
        if size > max_monomials:
            raise ValueError(
                f"tropical product would have {size} monomials (> {max_monomials}); "
                "use prune_intermediate=True"
            )
        coefficients = (self.coefficients[:, None] + other.coefficients[None, :]).reshape(-1)
        exponents = (self.exponents[:, None, :] + other.exponents[None, :, :]).reshape(-1, self.dim)
        return TropicalPolynomial(coefficients, exponents).merged()

    def tropical_power(self, scale: float) -> TropicalPolynomial:
        """``scale * p`` for ``scale >= 0`` (a tropical Puiseux power)."""
        if scale < 0:
            raise ValueError("tropical powers need a non-negative scale")
        if scale == 0:
            return TropicalPolynomial.constant(0.0, self.dim)
        return TropicalPolynomial(scale * self.coefficients, scale * self.exponents)

    def shifted(self, value: float) -> TropicalPolynomial:
        """Tropical multiplication by the constant ``value``."""
        return TropicalPolynomial(self.coefficients + value, self.exponents)

    def region_constraints(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``G x + h >= 0`` of the region where monomial ``index`` attains the max."""
        G = self.exponents[index] - self.exponents
        h = self.coefficients[index] - self.coefficients
        keep = np.arange(self.num_monomials) != index
        return G[keep], h[keep]

    def nonredundant_mask(self, num_samples: int = 1024, seed: int = 0,
                          deadline: float | None = None) -> np.ndarray:
        """Monomials whose region is full-dimensional (LP with slack, highspy).

        A cheap vectorised pass marks monomials that are the strict maximum at random points;
        every other monomial is decided by ``max t s.t. y <= c_i + e_i x,
        y >= c_j + e_j x + t`` on one reused HiGHS model.
        """
        if not _is_merged(self):
            raise ValueError("merge equal exponents before pruning (call .merged())")
        m = self.num_monomials
        keep = np.zeros(m, dtype=bool)
        if m == 1:
            return np.ones(1, dtype=bool)
        rng = np.random.default_rng(seed)
        scale = max(1.0, float(np.abs(self.coefficients).max()))
        for radius in (0.1 * scale, scale, 10.0 * scale):
            points = rng.uniform(-radius, radius, size=(num_samples, self.dim))
            values = self.monomial_values(points)
            top_two = np.partition(values, m - 2, axis=1)[:, m - 2 :]
            winners = values.argmax(axis=1)
            strict = (top_two[:, 1] - top_two[:, 0]) > 1e-9 * (1.0 + np.abs(top_two[:, 1]))
            keep[winners[strict]] = True
        undecided = np.flatnonzero(~keep)
        if undecided.size:
            # variables z = (x, y); rows: y - e_j x >= c_j + t
            G = np.hstack([-self.exponents, np.ones((m, 1))])
            h = -self.coefficients
            norms = np.linalg.norm(G, axis=1)
            model = SlackLP(G / norms[:, None], h / norms)
            for index in undecided:
                _check_deadline(deadline)
                try:
                    slack, _ = model.solve_modified(reversed_rows=[index])
                except LPError as error:
                    raise LPError(f"pruning: region of monomial {index} of {m} "
                                  f"(exponent {self.exponents[index].tolist()}): {error}") from error
                keep[index] = slack > SLACK_TOL
        return keep

    def pruned(self, deadline: float | None = None) -> TropicalPolynomial:
        """Drop redundant monomials (same function, minimal representation)."""
        poly = self if _is_merged(self) else self.merged()
        mask = poly.nonredundant_mask(deadline=deadline)
        return TropicalPolynomial(poly.coefficients[mask], poly.exponents[mask])


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise RuntimeError("tropical computation exceeded its time limit")


def _is_merged(poly: TropicalPolynomial) -> bool:
    inverse = unique_row_inverse(np.round(poly.exponents, EXPONENT_DECIMALS))
    return int(inverse.max()) + 1 == poly.num_monomials


@dataclass(frozen=True)
class TropicalRational:
    """``p - q`` for tropical polynomials p, q."""

    numerator: TropicalPolynomial
    denominator: TropicalPolynomial

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return self.numerator(points) - self.denominator(points)

    @property
    def num_monomials(self) -> tuple[int, int]:
        return self.numerator.num_monomials, self.denominator.num_monomials

    def pruned(self) -> TropicalRational:
        return TropicalRational(self.numerator.pruned(), self.denominator.pruned())

    @property
    def dim(self) -> int:
        return self.numerator.dim


def _product(factors: list[TropicalPolynomial], dim: int, prune: bool,
             deadline: float | None = None) -> TropicalPolynomial:
    result = TropicalPolynomial.constant(0.0, dim)
    # multiply small factors first to keep intermediate sizes low
    for factor in sorted(factors, key=lambda poly: poly.num_monomials):
        _check_deadline(deadline)
        result = result.tropical_mul(factor)
        if prune and result.num_monomials > 1:
            result = result.pruned(deadline)
    return result


def network_to_tropical(
    network: ReLUNetwork, prune_intermediate: bool = False, time_limit: float | None = None,
) -> list[TropicalRational]:
    """Tropical rational map ``f_k = p_k - q_k`` for every network output ``k``.

    ``prune_intermediate=False`` gives the native representation (like terms combined only);
    ``True`` prunes redundant monomials after every operation (same function, much smaller).
    ``time_limit`` (seconds) aborts with ``RuntimeError``.
    """
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    dim = network.input_dim
    eye = np.eye(dim)
    neurons = [
        (TropicalPolynomial.monomial(0.0, eye[i]), TropicalPolynomial.constant(0.0, dim))
        for i in range(dim)
    ]
    num_layers = len(network.weights)
    for layer, (weight, bias) in enumerate(zip(network.weights, network.biases, strict=True)):
        new_neurons = []
        for j in range(weight.shape[0]):
            numerator_factors, denominator_factors = [], []
            for i, (p_i, q_i) in enumerate(neurons):
                w = weight[j, i]
                if w > 0:
                    numerator_factors.append(p_i.tropical_power(w))
                    denominator_factors.append(q_i.tropical_power(w))
                elif w < 0:
                    numerator_factors.append(q_i.tropical_power(-w))
                    denominator_factors.append(p_i.tropical_power(-w))
            big_p = _product(numerator_factors, dim, prune_intermediate, deadline).shifted(bias[j])
            big_q = _product(denominator_factors, dim, prune_intermediate, deadline)
            if layer < num_layers - 1:
                big_p = big_p.tropical_add(big_q)
                if prune_intermediate:
                    big_p = big_p.pruned(deadline)
            new_neurons.append((big_p, big_q))
        neurons = new_neurons
    return [TropicalRational(p, q) for p, q in neurons]


def monomial_counts(network: ReLUNetwork, native: bool = True) -> dict:
    """Native and pruned monomial counts of every output's ``p`` and ``q``.

    ``monomial_complexity`` is the total number of monomials after pruning.
    """
    result: dict = {}
    pruned_maps = network_to_tropical(network, prune_intermediate=True)
    pruned_maps = [f.pruned() for f in pruned_maps]
    result["pruned"] = [list(f.num_monomials) for f in pruned_maps]
    result["monomial_complexity"] = int(sum(sum(c) for c in result["pruned"]))
    if native:
        native_maps = network_to_tropical(network, prune_intermediate=False)
        result["native"] = [list(f.num_monomials) for f in native_maps]
        result["native_total"] = int(sum(sum(c) for c in result["native"]))
    return result
