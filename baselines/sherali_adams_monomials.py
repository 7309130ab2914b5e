"""Sherali–Adams generators without building them: problem structure, nonzero monomials
(enumerated degree by degree, looked up by integer keys) and exact generator counts.

Used by :mod:`baselines.sherali_adams`, which builds and solves the LP (see its docstring
for the counting argument).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from envs.polyproof.problem import Problem

GIB = 1024**3
DEFAULT_MEMORY_BUDGET = 16 * GIB  # fits comfortably in 24 GiB
# Conservative bytes per stored item while building and solving (our arrays, HiGHS's
# copy of the matrix, presolve's reduced copy, factorisation work space).
BYTES_PER_NONZERO = 64
BYTES_PER_COLUMN = 160
BYTES_PER_ROW = 200


class MemoryBudgetError(MemoryError):
    """A Sherali–Adams level whose estimated size exceeds the memory budget (refused up front)."""

    def __init__(self, level: int, estimate: SizeEstimate, budget: int) -> None:
        self.level = level
        self.estimate = estimate
        self.budget = budget
        if estimate.generators < 0:  # refused while enumerating the rows
            size = f"more than {estimate.rows:,} nonzero monomials (LP rows)"
        else:
            size = (
                f"{estimate.generators:,} generators, at most {estimate.nonzeros_upper:,} nonzeros"
            )
        super().__init__(
            f"Sherali-Adams level {level} refused: {size}, estimated "
            f"{estimate.bytes_upper / GIB:.2f} GiB > budget {budget / GIB:.2f} GiB"
        )


@dataclass(frozen=True)
class SizeEstimate:
    """Exact generator/row counts of a level and an upper bound on nonzeros and memory."""

    level: int
    generators: int  # distinct nonzero reduced generators (exact)
    rows: int  # nonzero monomials of degree <= level (exact; = LP rows)
    nonzeros_upper: int  # sum over generators of 2^|B| (>= actual nonzeros)
    bytes_upper: int
    seconds: float = 0.0

    def as_dict(self) -> dict[str, int | float]:
        return {
            "level": self.level,
            "generators": self.generators,
            "rows": self.rows,
            "nonzeros_upper": self.nonzeros_upper,
            "bytes_upper": self.bytes_upper,
            "seconds": round(self.seconds, 4),
        }


# ---------------------------------------------------------------------------------------
# Problem structure and monomial enumeration
# ---------------------------------------------------------------------------------------
@dataclass
class _Structure:
    n: int
    adjacency: np.ndarray  # (n, n) bool: x_i x_j = 0
    single: np.ndarray  # (n,) bool: x_i = 0
    higher: list[np.ndarray]  # equality supports of size >= 3


def _structure(problem: Problem) -> _Structure:
    n = problem.n
    adjacency = np.zeros((n, n), dtype=bool)
    single = np.zeros(n, dtype=bool)
    higher: list[np.ndarray] = []
    for mono in problem.equalities:
        if len(mono) == 1:
            single[mono[0]] = True
        elif len(mono) == 2:
            adjacency[mono[0], mono[1]] = adjacency[mono[1], mono[0]] = True
        else:
            higher.append(np.asarray(mono, dtype=np.int64))
    return _Structure(n, adjacency, single, higher)


def _membership(sets: np.ndarray, n: int) -> np.ndarray:
    """``(N, n)`` bool: ``member[r, j]`` iff ``j`` is in set ``r``."""
    member = np.zeros((sets.shape[0], n), dtype=bool)
    if sets.shape[1]:
        member[np.arange(sets.shape[0])[:, None], sets] = True
    return member


def _free_matrix(sets: np.ndarray, st: _Structure) -> np.ndarray:
    """``free[r, j]``: ``j ∉ S_r`` and ``x^{S_r ∪ j}`` is nonzero (``S_r`` itself nonzero)."""
    count, k = sets.shape
    free = np.broadcast_to(~st.single, (count, st.n)).copy()
    if k:
        for t in range(k):  # loop over the set's positions keeps memory at (N, n)
            free &= ~st.adjacency[sets[:, t]]
        free[np.arange(count)[:, None], sets] = False
    if st.higher and count:
        member = _membership(sets, st.n)
        for eq in st.higher:
            for pos, j in enumerate(eq):
                rest = np.delete(eq, pos)
                free[member[:, rest].all(axis=1), j] = False
    return free


def _is_zero_sets(sets: np.ndarray, st: _Structure) -> np.ndarray:
    """Vectorised zero test of monomials given as rows of distinct indices."""
    count, k = sets.shape
    zero = np.zeros(count, dtype=bool)
    if not count or not k:
        return zero
    zero |= st.single[sets].any(axis=1)
    for s, t in combinations(range(k), 2):
        zero |= st.adjacency[sets[:, s], sets[:, t]]
    if st.higher:
        member = _membership(sets, st.n)
        for eq in st.higher:
            zero |= member[:, eq].all(axis=1)
    return zero


@dataclass
class _Monomials:
    """Nonzero monomials of degree <= level, by degree (rows of sorted indices)."""

    by_degree: list[np.ndarray]
    free: list[np.ndarray]  # free matrices for degrees < level (and == level when needed)
    offsets: list[int]  # global row index of the first monomial of each degree
    base: int
    sorted_keys: np.ndarray
    order: np.ndarray  # sorted position -> global row

    @property
    def count(self) -> int:
        return self.offsets[-1]


def _keys(sets: np.ndarray, base: int) -> np.ndarray:
    """Integer key of each row (a set of indices).

    ``base == 0`` (``n <= 62``): the bit mask ``sum 2^i`` (any order). Otherwise the
    rows must be sorted and the key is ``sum (i_t + 1) base^t``.
    """
    if base == 0:
        return np.left_shift(np.int64(1), sets.astype(np.int64)).sum(axis=1, dtype=np.int64)
    key = np.zeros(sets.shape[0], dtype=np.int64)
    mult = 1
    for t in range(sets.shape[1]):
        key += (sets[:, t].astype(np.int64) + 1) * mult
        mult *= base
    return key


def _check_key_range(n: int, level: int) -> int:
    if n <= 62:
        return 0  # bit-mask keys
    base = n + 1
    if base**level >= 2**62:
        raise ValueError(f"n={n}, level={level} exceeds the 63-bit monomial key range")
    return base


def _enumerate_monomials(
    problem: Problem, level: int, st: _Structure, max_rows: float
) -> _Monomials:
    base = _check_key_range(problem.n, level)
    sets = np.zeros((1, 0), dtype=np.int32)
    by_degree = [sets]
    free_list: list[np.ndarray] = []
    arange = np.arange(problem.n)
    total = 1
    for degree in range(level + 1):
        free = _free_matrix(sets, st)
        free_list.append(free)
        if degree == level:
            break
        maxima = sets[:, -1] if degree else np.full(sets.shape[0], -1)
        extend = free & (arange[None, :] > maxima[:, None])
        new_count = int(extend.sum())
        total += new_count
        if total > max_rows:
            raise _RowLimit(total)
        parent, j = np.nonzero(extend)
        sets = np.concatenate([sets[parent], j[:, None].astype(np.int32)], axis=1)
        by_degree.append(sets)
    offsets = [0]
    for s in by_degree:
        offsets.append(offsets[-1] + s.shape[0])
    keys = np.concatenate([_keys(s, base) for s in by_degree])
    order = np.argsort(keys, kind="stable")
    return _Monomials(by_degree, free_list, offsets, base, keys[order], order)


class _RowLimit(Exception):
    def __init__(self, rows: int) -> None:
        self.rows = rows


def _lookup(monos: _Monomials, keys: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(monos.sorted_keys, keys)
    pos = np.minimum(pos, monos.sorted_keys.size - 1)
    if not np.array_equal(monos.sorted_keys[pos], keys):
        raise RuntimeError("internal error: a generator term is not a known nonzero monomial")
    return monos.order[pos]


# ---------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------
def _check_level(problem: Problem, level: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or level < 1:
        raise ValueError(f"level must be a positive int, got {level!r}")
    if problem.objective.degree > level:
        raise ValueError(
            f"level {level} is below the objective degree {problem.objective.degree}: "
            "the LP would be infeasible"
        )


def _estimate_from(monos: _Monomials, level: int) -> tuple[int, int]:
    generators = 0
    nonzeros = 0
    for a, free in enumerate(monos.free):
        sizes = free.sum(axis=1)
        values, counts = np.unique(sizes, return_counts=True)
        for f, c in zip(values.tolist(), counts.tolist(), strict=True):
            for b in range(level - a + 1):
                ways = math.comb(f, b) * c
                generators += ways
                nonzeros += ways * 2**b
    return generators, nonzeros


def _bytes(generators: int, rows: int, nonzeros: int) -> int:
    return generators * BYTES_PER_COLUMN + rows * BYTES_PER_ROW + nonzeros * BYTES_PER_NONZERO


def count_generators(
    problem: Problem, level: int, memory_budget: float = DEFAULT_MEMORY_BUDGET
) -> SizeEstimate:
    """Exact number of distinct nonzero reduced level-``l`` generators and LP rows.

    Enumerates only the nonzero monomials (the LP rows); generators are counted by
    a binomial formula. Raises :class:`MemoryBudgetError` if even the rows would not
    fit in ``memory_budget`` bytes.
    """
    _check_level(problem, level)
    start = time.perf_counter()
    st = _structure(problem)
    # each row costs ~ n bytes of free matrix plus its indices while counting
    max_rows = memory_budget / (problem.n + 8 * level + BYTES_PER_ROW)
    try:
        monos = _enumerate_monomials(problem, level, st, max_rows)
    except _RowLimit as exc:
        est = SizeEstimate(level, -1, exc.rows, -1, int(exc.rows * BYTES_PER_ROW))
        raise MemoryBudgetError(level, est, int(memory_budget)) from None
    generators, nonzeros = _estimate_from(monos, level)
    return SizeEstimate(
        level=level,
        generators=generators,
        rows=monos.count,
        nonzeros_upper=nonzeros,
        bytes_upper=_bytes(generators, monos.count, nonzeros),
        seconds=time.perf_counter() - start,
    )


