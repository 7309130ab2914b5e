"""Hoffman constants of matrices and tropical rational maps; minimal effective radius.

Norms: residuals and distances in the infinity norm, so by Pena-Vera-Zuluaga (2018, Prop. 2)

    H(A) = max_{J A-surjective} 1 / min { ||A_J^T v||_1 : v >= 0, sum(v) = 1 }.

``J`` is A-surjective iff that minimum is positive (0 is not in the convex hull of the rows).
Provided: brute force over row subsets, the PVZ algorithm, a sampled lower bound (random
subsets grown greedily to maximal surjective sets) and the upper bound
``max_J sqrt|J| / sigma_min(A_J)`` over linearly independent row sets (Guler et al. 1995),
exhaustive for small matrices.  For a tropical rational map ``f = p - q`` the Hoffman constant is
the maximum over the cells ``(i, j)`` of the matrices ``[E_p - 1 e_i ; E_q - 1 e'_j]``
(Lezeau et al. 2024, Def. 20) and ``r_f(x) <= H(f) * max(p(x) - min_i m_i(x),
q(x) - min_j m'_j(x))`` bounds the minimal effective radius (Prop. 22): the cube of that
radius around ``x`` meets every linear region.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import highspy
import numpy as np

from envs.regions.lp import LPError, new_highs
from envs.regions.tropical import TropicalRational

SURJECTIVE_TOL = 1e-9
_INF = highspy.kHighsInf


def _check_matrix(A: np.ndarray) -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"expected a non-empty 2-D matrix, got shape {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError("matrix contains NaN or inf")
    return A


def surjectivity_value(A_J: np.ndarray) -> tuple[float, np.ndarray]:
    """``min ||A_J^T v||_1 s.t. v >= 0, sum v = 1`` (HiGHS); returns (value, v)."""
    k, n = A_J.shape
    highs = new_highs()
    lp = highspy.HighsLp()
    lp.num_col_ = k + n
    lp.num_row_ = 2 * n + 1
    lp.col_cost_ = np.concatenate([np.zeros(k), np.ones(n)])
    lp.col_lower_ = np.zeros(k + n)
    lp.col_upper_ = np.full(k + n, _INF)
    # rows: A^T v - s <= 0 ; -A^T v - s <= 0 ; sum v = 1
    eye = np.eye(n)
    dense = np.vstack([
        np.hstack([A_J.T, -eye]),
        np.hstack([-A_J.T, -eye]),
        np.concatenate([np.ones(k), np.zeros(n)])[None, :],
    ])
    lp.row_lower_ = np.concatenate([np.full(2 * n, -_INF), [1.0]])
    lp.row_upper_ = np.concatenate([np.zeros(2 * n), [1.0]])
    mask = dense != 0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
    lp.a_matrix_.index_ = np.nonzero(mask)[1].astype(np.int32)
    lp.a_matrix_.value_ = dense[mask]
    highs.passModel(lp)
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise LPError(f"surjectivity LP: HiGHS returned {highs.modelStatusToString(status)}")
    values = np.asarray(highs.getSolution().col_value)
    return float(highs.getInfo().objective_function_value), values[:k]


def _is_surjective(value: float, A: np.ndarray) -> bool:
    return value > SURJECTIVE_TOL * (1.0 + np.abs(A).max())


def hoffman_brute_force(A: np.ndarray, max_rows: int = 16) -> float:
    """Exact H(A) by enumerating every non-empty row subset (exponential; small A only)."""
    A = _check_matrix(A)
    m = A.shape[0]
    if m > max_rows:
        raise ValueError(f"brute force over 2^{m} subsets refused (max_rows={max_rows})")
    best = 0.0
    for size in range(1, m + 1):
        for subset in itertools.combinations(range(m), size):
            value, _ = surjectivity_value(A[list(subset)])
            if _is_surjective(value, A):
                best = max(best, 1.0 / value)
    return best


@dataclass
class PVZResult:
    hoffman: float
    num_lps: int
    maximal_surjective_sets: list[frozenset[int]]


def hoffman_pvz(A: np.ndarray) -> PVZResult:
    """Exact H(A) by the Pena-Vera-Zuluaga algorithm (maximal surjective sets)."""
    A = _check_matrix(A)
    m = A.shape[0]
    surjective: list[frozenset[int]] = []
    not_surjective: list[frozenset[int]] = []
    candidates: set[frozenset[int]] = {frozenset(range(m))}
    best, num_lps = 0.0, 0

    def split(sets: set[frozenset[int]], bad: frozenset[int]) -> set[frozenset[int]]:
        result: set[frozenset[int]] = set()
        for cand in sets:
            if bad <= cand:
                for i in bad:
                    smaller = cand - {i}
                    if smaller and not any(smaller <= s for s in surjective):
                        result.add(smaller)
            else:
                result.add(cand)
        return result

    while candidates:
        cand = max(candidates, key=len)
        candidates.discard(cand)
        if any(cand <= s for s in surjective):
            continue
        known_bad = next((bad for bad in not_surjective if bad <= cand), None)
        if known_bad is not None:
            candidates |= split({cand}, known_bad)
            continue
        rows = sorted(cand)
        value, v = surjectivity_value(A[rows])
        num_lps += 1
        if _is_surjective(value, A):
            surjective.append(cand)
            best = max(best, 1.0 / value)
            candidates = {c for c in candidates if not c <= cand}
        else:
            support = frozenset(rows[i] for i in np.flatnonzero(v > 1e-12))
            if not support:
                raise LPError("non-surjective certificate with empty support")
            not_surjective.append(support)
            candidates = split(candidates | {cand}, support)
    return PVZResult(best, num_lps, surjective)


def hoffman_lower_bound(A: np.ndarray, num_samples: int = 50, seed: int = 0) -> float:
    """Sampled lower bound: random row orders grown greedily into maximal surjective sets."""
    A = _check_matrix(A)
    rng = np.random.default_rng(seed)
    m = A.shape[0]
    best = 0.0
    for _ in range(num_samples):
        chosen: list[int] = []
        best_value = None
        for row in rng.permutation(m):
            value, _ = surjectivity_value(A[chosen + [int(row)]])
            if _is_surjective(value, A):
                chosen.append(int(row))
                best_value = value
        if best_value is not None:
            best = max(best, 1.0 / best_value)
    return best


def hoffman_upper_bound(A: np.ndarray, max_subsets: int = 20_000, seed: int = 0) -> tuple[float, bool]:
    """``max sqrt|J| / sigma_min(A_J)`` over bases of the row space; returns (bound, exhaustive).

    Exhaustive (a true upper bound) when at most ``max_subsets`` subsets of size rank(A);
    otherwise ``max_subsets`` random subsets are used and the value is only an estimate.
    """
    A = _check_matrix(A)
    A = A[np.linalg.norm(A, axis=1) > 1e-12]
    if A.shape[0] == 0:
        return 0.0, True
    rank = np.linalg.matrix_rank(A)
    m = A.shape[0]
    exhaustive = math.comb(m, rank) <= max_subsets
    if exhaustive:
        subsets = np.array(list(itertools.combinations(range(m), rank)), dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        subsets = np.array([rng.choice(m, size=rank, replace=False) for _ in range(max_subsets)])
    blocks = A[subsets]  # (S, rank, n)
    sigma_min = np.linalg.svd(blocks, compute_uv=False)[:, -1]
    independent = sigma_min > 1e-10 * (1.0 + np.abs(A).max())
    if not independent.any():
        return 0.0, exhaustive
    return float(np.sqrt(rank) / sigma_min[independent].min()), exhaustive


def tropical_hoffman_matrices(f: TropicalRational) -> list[np.ndarray]:
    """The matrices ``[E_p - 1 e_i ; E_q - 1 e'_j]`` (zero rows dropped) for every cell (i, j)."""
    p, q = f.numerator, f.denominator
    matrices = []
    for i in range(p.num_monomials):
        block_p = np.delete(p.exponents - p.exponents[i], i, axis=0)
        for j in range(q.num_monomials):
            block_q = np.delete(q.exponents - q.exponents[j], j, axis=0)
            matrix = np.vstack([block_p, block_q])
            matrix = matrix[np.linalg.norm(matrix, axis=1) > 1e-12]
            if matrix.shape[0]:
                matrices.append(matrix)
    return matrices


def tropical_hoffman_constant(f: TropicalRational, method: str = "upper") -> float:
    """H(f) over all cells; ``method`` in {"pvz", "brute", "upper", "lower"}."""
    functions = {
        "pvz": lambda A: hoffman_pvz(A).hoffman,
        "brute": hoffman_brute_force,
        "upper": lambda A: hoffman_upper_bound(A)[0],
        "lower": hoffman_lower_bound,
    }
    if method not in functions:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(functions)}")
    return max((functions[method](A) for A in tropical_hoffman_matrices(f)), default=0.0)


def minimal_effective_radius_bound(
    f: TropicalRational, point: np.ndarray | None = None, hoffman: float | None = None,
    method: str = "upper",
) -> float:
    """Upper bound on the infinity-norm radius around ``point`` meeting every linear region."""
    p, q = f.numerator, f.denominator
    point = np.zeros(p.dim) if point is None else np.asarray(point, dtype=float)
    if point.shape != (p.dim,) or not np.isfinite(point).all():
        raise ValueError(f"point must be a finite vector of length {p.dim}")
    if hoffman is None:
        hoffman = tropical_hoffman_constant(f, method)
    values_p = p.monomial_values(point)[0]
    values_q = q.monomial_values(point)[0]
    residual = max(values_p.max() - values_p.min(), values_q.max() - values_q.min())
    return float(hoffman * residual)
