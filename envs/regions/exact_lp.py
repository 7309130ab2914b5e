"""Exact (rational) decisions for the traversal when a float LP is too close to call.

The traversal's polyhedral questions are all "is there an ``x`` with every row of the cell
``> 0`` (one row possibly ``= 0``, some rows dropped)?": is a pattern a cell (full-dimensional),
is a hyperplane a facet.  HiGHS answers them in floats with slack ``t*``; when ``|t*|`` is within
:data:`envs.regions.lp.AMBIGUOUS` of 0 (relative to the point's size) the answer is decided
here on the network *as given* (its float weights read as exact rationals), and only on an
exactly checked certificate:

* **yes**: a rational point where every kept row is ``> 0`` (projected exactly onto the
  equality's hyperplane), evaluated in ``Fraction`` arithmetic;
* **no**: multipliers ``y >= 0`` (sum 1) and ``mu`` with ``sum y_j g_j + mu g_e = 0`` and
  ``sum y_j h_j + mu h_e <= 0`` (Motzkin's transposition theorem: then no point makes every
  row positive), solved exactly (sympy) on the support of HiGHS's duals.

The candidates come from HiGHS re-solving the question in coordinates centred at the last
point and scaled to the cell's size (the offsets ``g_j . x_c + h_j`` computed exactly), so tiny
cells become well conditioned.  If no certificate checks after a few zooms,
:class:`ExactUndecided` is raised (reported as an error naming the cell, never an answer).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from sympy import Matrix, Rational

from envs.regions.lp import SlackLP
from envs.regions.network import ReLUNetwork
from envs.regions.normalise import exact_hidden_rows, fraction_layers, to_fractions

_ZOOMS = 12

class ExactUndecided(RuntimeError):
    """The exact decision did not finish (never turned into an answer)."""


class ExactCells:
    """Exact rows of the cells of ``network`` (the network as given) and certified decisions."""

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
        hyperplane (the same hyperplane) are left out.  Raises :class:`ExactUndecided` when no
        certificate checks (see the module docstring).
        """
        self.num_decisions += 1
        G, h, unit = self.rows(pattern)
        equality = None
        keep = ~np.isin(unit, list(drop_units)) if drop_units else np.ones(unit.size, dtype=bool)
        if on_unit is not None:
            matches = np.flatnonzero(unit == on_unit)
            if matches.size == 0:
                return False, None  # the unit's pre-activation is constant on the cell
            equality = int(matches[0])
            keep &= ~_same_hyperplane(G, h, equality)
        rows = np.flatnonzero(keep)
        center = np.zeros(G.shape[1]) if hint is None else np.asarray(hint, dtype=float)
        return _decide(G, h, rows, equality, center)


def _decide(G: np.ndarray, h: np.ndarray, rows: np.ndarray, equality: int | None,
            center: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """Certificate search of :meth:`ExactCells.strictly_feasible` (see module docstring)."""
    dim = G.shape[1]
    if rows.size == 0:
        point = to_fractions(center)
        return True, _project(G, h, equality, point) if equality is not None else point
    G_float = np.array([[float(g) for g in row] for row in G[rows]]).reshape(-1, dim)
    norms = np.linalg.norm(G_float, axis=1)
    eq_float = eq_norm = None
    if equality is not None:
        eq_float = np.array([float(g) for g in G[equality]])
        eq_norm = float(np.linalg.norm(eq_float))
    scale = 1.0
    for _ in range(_ZOOMS):
        center_q = to_fractions(center)
        offsets = np.array([float(v) for v in G[rows] @ center_q + h[rows]]) / (scale * norms)
        G_lp, h_lp = G_float / norms[:, None], offsets
        if equality is not None:
            eq_offset = float(G[equality] @ center_q + h[equality]) / (scale * eq_norm)
            G_lp = np.vstack([G_lp, eq_float / eq_norm])
            h_lp = np.append(h_lp, eq_offset)
        if not (np.isfinite(G_lp).all() and np.isfinite(h_lp).all()):
            break
        lp = SlackLP(G_lp, h_lp)
        slack, y = (lp.solve_modified(equality_rows=[rows.size]) if equality is not None
                    else lp.max_slack())
        point = center_q + Fraction(scale) * to_fractions(y)
        if equality is not None:
            point = _project(G, h, equality, point)
        if all(value > 0 for value in G[rows] @ point + h[rows]):
            return True, point
        duals = np.abs(lp.row_duals()[: rows.size])
        if duals.max(initial=0.0) > 0:
            support = rows[duals > 1e-9 * duals.max()]
            if _farkas(G, h, support, equality):
                return False, None
        center = center + scale * y
        scale *= min(max(abs(slack), 1e-4), 1.0)
    raise ExactUndecided(f"no exact certificate after {_ZOOMS} zooms")


def _project(G: np.ndarray, h: np.ndarray, row: int, point: np.ndarray) -> np.ndarray:
    """Exact orthogonal projection of ``point`` onto ``G_row x + h_row = 0``."""
    g = G[row]
    return point - g * ((g @ point + h[row]) / (g @ g))


def _farkas(G: np.ndarray, h: np.ndarray, support: np.ndarray, equality: int | None) -> bool:
    """Exact check of a certificate that no ``x`` makes rows ``support`` all ``> 0`` (with row
    ``equality`` ``= 0``): ``y >= 0``, ``sum y = 1``, ``y G + mu g_e = 0``, ``y h + mu h_e <= 0``."""
    def rational(value: Fraction) -> Rational:
        return Rational(value.numerator, value.denominator)

    columns = [[rational(g) for g in G[j]] + [Rational(1)] for j in support]
    if equality is not None:
        columns.append([rational(g) for g in G[equality]] + [Rational(0)])
    system = Matrix(columns).T
    target = Matrix([0] * G.shape[1] + [1])
    try:
        solution, parameters = system.gauss_jordan_solve(target)
    except ValueError:  # inconsistent: these rows carry no certificate
        return False
    if parameters.shape[0]:
        solution = solution.subs({symbol: 0 for symbol in parameters})
    y = [Fraction(int(v.p), int(v.q)) for v in (Rational(value) for value in solution)]
    multipliers = y[: support.size]
    if any(value < 0 for value in multipliers):
        return False
    total = sum((m * h[j] for m, j in zip(multipliers, support, strict=True)), Fraction(0))
    if equality is not None:
        total += y[-1] * h[equality]
    return total <= 0


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
