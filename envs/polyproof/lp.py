"""The bound LP, solved incrementally with HiGHS.

For memory ``m_1..m_k`` and objective ``f`` (all in normal form)::

    gamma* = min gamma  s.t.  gamma - f = sum_i lambda_i m_i  (coefficient-wise),  lambda >= 0.

Variables are ``gamma`` (free, column 0) and one ``lambda_i >= 0`` per memory
element (column ``i + 1``). There is one equality row per monomial seen so far::

    sum_i lambda_i m_i[S] - [S = 1] gamma = -f[S].

:class:`BoundLP` keeps one HiGHS model: adding a memory element appends rows for
new monomials (rhs 0) and one column, and the next solve starts from the
previous optimal basis (HiGHS hot start). The LP dual of the equality rows is a
pseudo-moment functional ``L = -y`` with ``L(1) = 1`` and ``L(m_i) >= 0`` on the
memory; :meth:`BoundLP.pseudo_moments` returns it for pricing new columns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from envs.highs import INF, LPError, new_highs, status_name
from envs.polyproof.polynomial import Monomial, Polynomial


@dataclass
class LPSolution:
    """Outcome of one bound-LP solve.

    ``bound`` is ``inf`` when the LP is infeasible (no bound derivable from the
    memory yet). ``lambdas[i]`` is the float multiplier of memory element ``i``.
    """

    status: str
    bound: float
    lambdas: np.ndarray
    seconds: float
    iterations: int


class BoundLP:
    """Incremental HiGHS model of the bound LP for a fixed objective.

    Arguments:
        objective: the polynomial ``f`` in normal form.
        time_limit: seconds allowed per solve (``None``: no limit).
        warm_start: keep the basis between solves (``False`` clears the solver
            state before each solve, for benchmarking against rebuilding).
        presolve: use HiGHS presolve (worth it for large one-shot LPs only).
    """

    def __init__(
        self,
        objective: Polynomial,
        time_limit: float | None = None,
        warm_start: bool = True,
        presolve: bool = False,
    ) -> None:
        self.objective = objective
        self.warm_start = warm_start
        self.model = new_highs(time_limit=time_limit, threads=1, presolve=presolve)
        self.row_of: dict[Monomial, int] = {}
        self.num_columns = 0  # memory columns (gamma excluded)
        self._last: LPSolution | None = None
        constant_row = self._ensure_rows([()])[0]
        self._ensure_rows(sorted(objective.terms, key=lambda m: (len(m), m)))
        # gamma: free, cost 1, coefficient -1 in the constant row.
        self.model.addCol(
            1.0,
            -INF,
            INF,
            1,
            np.array([constant_row], dtype=np.int32),
            np.array([-1.0]),
        )

    # -- building ---------------------------------------------------------------
    def _ensure_rows(self, monomials: Iterable[Monomial]) -> list[int]:
        new_monos = []
        rows = []
        for mono in monomials:
            row = self.row_of.get(mono)
            if row is None:
                row = len(self.row_of)
                self.row_of[mono] = row
                new_monos.append(mono)
            rows.append(row)
        if new_monos:
            rhs = np.array([-float(self.objective[m]) for m in new_monos])
            self.model.addRows(
                len(new_monos),
                rhs,
                rhs,
                0,
                np.zeros(len(new_monos), dtype=np.int32),
                np.array([], dtype=np.int32),
                np.array([], dtype=np.float64),
            )
        return rows

    def add_columns(self, polys: Sequence[Polynomial]) -> None:
        """Append memory elements as new columns ``lambda >= 0`` with cost 0."""
        if not polys:
            return
        starts, indices, values = [], [], []
        for poly in polys:
            starts.append(len(indices))
            rows = self._ensure_rows(poly.terms.keys())
            indices.extend(rows)
            values.extend(float(c) for c in poly.terms.values())
        k = len(polys)
        self.model.addCols(
            k,
            np.zeros(k),
            np.zeros(k),
            np.full(k, INF),
            len(indices),
            np.array(starts, dtype=np.int32),
            np.array(indices, dtype=np.int32),
            np.array(values, dtype=np.float64),
        )
        self.num_columns += k

    # -- solving -----------------------------------------------------------------
    def solve(self) -> LPSolution:
        """Solve; ``bound = inf`` if infeasible. Raises :class:`LPError` otherwise."""
        if not self.warm_start:
            self.model.clearSolver()
        start = time.perf_counter()
        self.model.run()
        seconds = time.perf_counter() - start
        status = status_name(self.model)
        if status == "Optimal":
            sol = self.model.getSolution()
            values = np.asarray(sol.col_value, dtype=np.float64)
            bound = float(values[0])
            lambdas = values[1:].copy()
        elif status == "Infeasible":
            bound = float("inf")
            lambdas = np.zeros(self.num_columns)
        else:
            raise LPError(status, f"bound LP with {self.num_columns} memory columns")
        iterations = int(self.model.getInfo().simplex_iteration_count)
        self._last = LPSolution(status, bound, lambdas, seconds, iterations)
        return self._last

    def pseudo_moments(self) -> dict[Monomial, float]:
        """``L(x^S)`` for every row monomial from the last optimal solve (``L(1) = 1``)."""
        if self._last is None or self._last.status != "Optimal":
            return {}
        duals = np.asarray(self.model.getSolution().row_dual, dtype=np.float64)
        # HiGHS duals satisfy c - A^T y = reduced costs; the gamma column gives
        # 1 - (-1) y_const = 0, so L = -y has L(1) = 1.
        return {mono: -float(duals[row]) for mono, row in self.row_of.items()}

    def basic_columns(self) -> list[int]:
        """Memory indices whose lambda is basic in the current HiGHS basis."""
        basis = self.model.getBasis()
        status = basis.col_status
        return [j - 1 for j in range(1, self.num_columns + 1) if status[j] == highspy.HighsBasisStatus.kBasic]

    @property
    def num_rows(self) -> int:
        return len(self.row_of)


def solve_bound_lp(
    objective: Polynomial,
    polys: Sequence[Polynomial],
    time_limit: float | None = None,
) -> tuple[BoundLP, LPSolution]:
    """Build and solve the bound LP from scratch (for static hierarchies)."""
    lp = BoundLP(objective, time_limit=time_limit, warm_start=True, presolve=True)
    lp.add_columns(polys)
    return lp, lp.solve()


__all__ = ["BoundLP", "LPError", "LPSolution", "solve_bound_lp"]
