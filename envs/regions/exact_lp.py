"""Exact (rational) decisions for the traversal when a float LP is too close to call.

The traversal's polyhedral questions are all "is there an ``x`` with every row of the cell
``> 0`` (one row possibly ``= 0``, some rows dropped)?": is a pattern a cell (full-dimensional),
is a hyperplane a facet.  HiGHS answers them in floats with slack ``t*``; when ``|t*|`` is within
:data:`AMBIGUOUS` of 0 (relative to the point's size) the answer is decided here, exactly, on the
network *as given* (its float weights read as exact rationals):

    maximise t  s.t.  row_j(x) >= t (rows kept),  row_e(x) = 0,  t <= 1,

solved by sympy's exact simplex (``sympy.solvers.simplex.lpmax``) on a growing subset of the
rows (cutting planes): start from the rows nearest the float solution; an exact optimum
``t* <= 0`` on a subset is a proof for the whole set (more rows cannot raise ``t``); ``t* > 0``
is accepted only when the exact optimiser makes *every* row ``> 0``; otherwise the violated
rows join the subset.  No float tolerance enters the answer.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from sympy import Eq, Rational, Symbol, symbols
from sympy.solvers.simplex import InfeasibleLPError, UnboundedLPError, linprog, lpmax

from envs.regions.network import ReLUNetwork
from envs.regions.normalise import exact_hidden_rows, fraction_layers

#: float slacks with ``|t*| <= AMBIGUOUS * (1 + |x|_inf)`` are decided exactly
AMBIGUOUS = 1e-6
_MAX_ROUNDS = 60


class ExactUndecided(RuntimeError):
    """The exact decision did not finish (never turned into an answer)."""


def ambiguous(slack: float, point: np.ndarray) -> bool:
    """Whether a float LP slack at ``point`` is too close to 0 to trust."""
    return abs(slack) <= AMBIGUOUS * (1.0 + float(np.abs(point).max(initial=0.0)))


class ExactCells:
    """Exact rows of the cells of ``network`` (the network as given) and the exact LP."""

    def __init__(self, network: ReLUNetwork, box_radius: float | None) -> None:
        self.network = network
        self.box_radius = box_radius
        self._layers: list | None = None
        self.num_decisions = 0

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_layers"] = None  # rebuilt on first use in each process
        return state

    def rows(self, pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(G, h, unit)``: rows ``G x + h >= 0`` of the cell (``sigma_k`` times unit ``k``'s
        pre-activation, units with a zero linear part left out), then the box rows (unit -1)."""
        if self._layers is None:
            self._layers = fraction_layers(self.network)
        A, c = exact_hidden_rows(self._layers, pattern)
        sigma = np.where(pattern, 1, -1)
        keep = np.flatnonzero([any(value != 0 for value in row) for row in A])
        G = A[keep] * sigma[keep, None]
        h = c[keep] * sigma[keep]
        unit = keep.astype(np.int64)
        dim = self.network.input_dim
        if self.box_radius is not None:
            radius = Fraction(float(self.box_radius))
            eye = np.array([[Fraction(int(i == j)) for j in range(dim)] for i in range(dim)],
                           dtype=object)
            G = np.vstack([G.reshape(-1, dim), eye, -eye])
            h = np.concatenate([h, np.array([radius] * (2 * dim), dtype=object)])
            unit = np.concatenate([unit, np.full(2 * dim, -1)])
        return G.reshape(-1, dim), h, unit

    def strictly_feasible(
        self, pattern: np.ndarray, on_unit: int | None = None, drop_units: tuple[int, ...] = (),
        hint: np.ndarray | None = None,
    ) -> tuple[bool, np.ndarray | None]:
        """Is there an ``x`` with every kept row ``> 0`` (and ``on_unit``'s row ``= 0``)?

        Returns ``(answer, x)`` with ``x`` an exact witness (object array of ``Fraction``) when
        the answer is yes.  Rows of ``drop_units`` and rows that vanish on ``on_unit``'s
        hyperplane (the same hyperplane) are left out.  Raises :class:`ExactUndecided` if the
        cutting planes do not settle it.
        """
        self.num_decisions += 1
        G, h, unit = self.rows(pattern)
        dim = G.shape[1]
        equality = None
        keep = ~np.isin(unit, list(drop_units)) if drop_units else np.ones(unit.size, dtype=bool)
        if on_unit is not None:
            matches = np.flatnonzero(unit == on_unit)
            if matches.size == 0:
                return False, None  # the unit's pre-activation is constant on the cell
            equality = int(matches[0])
            keep &= ~_same_hyperplane(G, h, equality)
        candidates = np.flatnonzero(keep)
        if hint is not None and candidates.size > 4 * dim + 8:
            values = G[candidates].astype(float) @ np.asarray(hint, dtype=float) + h[candidates].astype(float)
            order = np.argsort(values)
            subset = list(candidates[order[: 4 * dim + 8]])
        else:
            subset = list(candidates)
        for _ in range(_MAX_ROUNDS):
            t, x = _max_slack(G, h, subset, equality, dim)
            if t <= 0:
                return False, None
            values = G[candidates] @ x + h[candidates]
            violated = candidates[np.array([value <= 0 for value in values], dtype=bool)]
            if violated.size == 0:
                return True, x
            subset.extend(violated.tolist())
        raise ExactUndecided(f"exact LP did not settle in {_MAX_ROUNDS} rounds")


def _same_hyperplane(G: np.ndarray, h: np.ndarray, row: int) -> np.ndarray:
    """Rows that are positive multiples of ``row`` (they vanish on its hyperplane)."""
    reference = np.append(G[row], h[row])
    pivot = next(i for i, value in enumerate(reference) if value != 0)
    same = np.zeros(G.shape[0], dtype=bool)
    for index in range(G.shape[0]):
        candidate = np.append(G[index], h[index])
        if candidate[pivot] == 0:
            continue
        factor = candidate[pivot] / reference[pivot]
        same[index] = factor > 0 and all(a == factor * b for a, b in zip(candidate, reference, strict=True))
    return same


def _max_slack(G: np.ndarray, h: np.ndarray, rows: list[int], equality: int | None,
               dim: int) -> tuple[Fraction, np.ndarray]:
    """Exact ``max t s.t. G_j x + h_j >= t (j in rows), G_e x + h_e = 0, t <= 1``.

    sympy's ``lpmax`` on the symbolic constraints (free ``x``); its matrix form ``linprog`` in
    standard form (``x = p - q``, ``t = 1 - u``) if that fails.  Raises
    :class:`ExactUndecided` when both fail (sympy's simplex can stop on degenerate systems).
    """
    def rational(value: Fraction) -> Rational:
        return Rational(value.numerator, value.denominator)

    xs = symbols(f"x0:{dim}")
    t = Symbol("t")

    def form(j: int):
        return sum((rational(g) * x for g, x in zip(G[j], xs, strict=True)), rational(h[j]))

    constraints = [form(j) >= t for j in rows] + [t <= 1]
    if equality is not None:
        constraints.append(Eq(form(equality), 0))
    try:
        value, point = lpmax(t, constraints)
        x = np.array([_fraction(point.get(symbol, 0)) for symbol in xs], dtype=object)
        return _fraction(value), x
    except (InfeasibleLPError, UnboundedLPError):
        pass

    def split(row: np.ndarray) -> list[Rational]:
        coefficients = [rational(g) for g in row]
        return coefficients + [-c for c in coefficients]

    A = [[-c for c in split(G[j])] + [Rational(-1)] for j in rows]  # -G(p-q) - u <= h - 1
    b = [rational(h[j]) - 1 for j in rows]
    A_eq = b_eq = None
    if equality is not None:
        A_eq = [split(G[equality]) + [Rational(0)]]
        b_eq = [-rational(h[equality])]
    try:
        value, solution = linprog([Rational(0)] * (2 * dim) + [Rational(1)], A or None, b or None,
                                  A_eq, b_eq)
    except (InfeasibleLPError, UnboundedLPError) as error:
        raise ExactUndecided(f"sympy's exact simplex failed: {str(error).split(chr(10))[0]}") from error
    x = np.array([_fraction(solution[i]) - _fraction(solution[dim + i]) for i in range(dim)],
                 dtype=object)
    return 1 - _fraction(value), x


def _fraction(value) -> Fraction:
    """sympy number (or int) -> ``Fraction``."""
    rational = Rational(value)
    return Fraction(int(rational.p), int(rational.q))
