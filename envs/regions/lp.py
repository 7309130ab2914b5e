"""Slack linear programs solved with HiGHS (highspy).

Every polyhedral test in :mod:`envs.regions` reduces to one LP::

    maximise t  subject to  G x + h >= t (rows of G normalised),  E x + e = 0,  t <= 1.

``t`` is free below, so the LP is always feasible when the equalities are; the optimum
``t*`` tells: ``t* > tol`` the set is full-dimensional (relative to the equalities),
``t* <= tol`` it is empty or lower-dimensional.  A solve that does not end ``Optimal``
raises :class:`LPError`; it is never turned into a result.
"""

from __future__ import annotations

import highspy
import numpy as np

from envs.highs import new_highs as shared_new_highs

SLACK_TOL = 1e-7
#: float slacks with ``|t*| <= AMBIGUOUS * (1 + |x|_inf)`` are too close to 0 to trust
AMBIGUOUS = 1e-6
_CLOSE_CALLS = [0]  # optimal solves with an ambiguous slack, over the whole process
_RETRIES = ("clear", "fresh", "ipm")
_INF = highspy.kHighsInf


def new_highs() -> highspy.Highs:
    """A silent single-threaded HiGHS instance (banner swallowed by :mod:`envs.highs`)."""
    return shared_new_highs(threads=1)


class LPError(RuntimeError):
    """Raised when HiGHS does not return an optimal solution."""


def ambiguous(slack: float, point: np.ndarray) -> bool:
    """Whether a float LP slack at ``point`` is too close to 0 to trust."""
    return abs(slack) <= AMBIGUOUS * (1.0 + float(np.abs(point).max(initial=0.0)))


def close_calls() -> int:
    """How many decisions in this process so far were too close to call in floats (optimal
    solves with an :func:`ambiguous` slack, and those noted by :func:`note_close_calls`)."""
    return _CLOSE_CALLS[0]


def note_close_calls(count: int) -> None:
    """Record ``count`` float decisions made without an LP that were too close to call."""
    _CLOSE_CALLS[0] += int(count)


def _optimum(values: np.ndarray, t_col: int, dim: int) -> tuple[float, np.ndarray]:
    slack, point = float(values[t_col]), values[:dim]
    if ambiguous(slack, point):
        _CLOSE_CALLS[0] += 1
    return slack, point


def normalise_rows(G: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each row (g, h) to ||g||_2 = 1; return (G, h, nonzero_mask) (zero rows kept)."""
    norms = np.linalg.norm(G, axis=1)
    nonzero = norms > 1e-12
    scale = np.where(nonzero, norms, 1.0)
    return G / scale[:, None], h / scale, nonzero


class SlackLP:
    """A reusable HiGHS model for ``max t s.t. G x + h >= t`` (one row per constraint).

    Rows can be switched to an equality ``g_k x + h_k = 0`` or deactivated, then solved again
    (HiGHS warm-starts from the previous basis), which makes facet tests on a cell cheap.
    """

    def __init__(self, G: np.ndarray, h: np.ndarray, highs: highspy.Highs | None = None) -> None:
        G = np.asarray(G, dtype=float)
        h = np.asarray(h, dtype=float)
        if G.ndim != 2 or h.shape != (G.shape[0],):
            raise ValueError(f"bad LP shapes G{G.shape}, h{h.shape}")
        if not (np.isfinite(G).all() and np.isfinite(h).all()):
            raise ValueError("LP data contains NaN or inf")
        self.num_rows, self.dim = G.shape
        self.G, self.h = G, h
        self.t_col = self.dim
        highs = highs if highs is not None else new_highs()
        lp = highspy.HighsLp()
        num_cols = self.dim + 1
        lp.num_col_ = num_cols
        lp.num_row_ = self.num_rows
        cost = np.zeros(num_cols)
        cost[self.t_col] = 1.0
        lp.col_cost_ = cost
        lower = np.full(num_cols, -_INF)
        upper = np.full(num_cols, _INF)
        upper[self.t_col] = 1.0
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = -h
        lp.row_upper_ = np.full(self.num_rows, _INF)
        dense = np.hstack([G, -np.ones((self.num_rows, 1))])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        mask = dense != 0.0
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(mask)[1].astype(np.int32)
        lp.a_matrix_.value_ = dense[mask]
        lp.sense_ = highspy.ObjSense.kMaximize
        if self.num_rows == 0:
            lp.a_matrix_.start_ = np.zeros(1, dtype=np.int32)
        highs.passModel(lp)
        self.highs = highs
        self.num_solves = 0
        self.num_retries = 0
        self.last_solver: highspy.Highs | None = None

    def row_duals(self) -> np.ndarray:
        """Row duals of the last optimal solve (HiGHS sign convention)."""
        return np.asarray(self.last_solver.getSolution().row_dual)

    def solve(self) -> tuple[float, np.ndarray]:
        """Solve the current model; return (t*, x*).

        A solve that does not end ``Optimal`` is retried: from scratch (solver state cleared),
        then on a fresh HiGHS copy without presolve, then with the interior-point solver.  If
        all fail, :class:`LPError` is raised; a failed LP never becomes a result.
        """
        self.highs.run()
        self.num_solves += 1
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            self.last_solver = self.highs
            return _optimum(np.asarray(self.highs.getSolution().col_value), self.t_col, self.dim)
        first = self.highs.modelStatusToString(status)
        for attempt in _RETRIES:
            self.num_retries += 1
            solver = self.highs
            if attempt == "clear":
                solver.clearSolver()
            else:
                solver = new_highs()
                solver.setOptionValue("presolve", "off")
                if attempt == "ipm":
                    solver.setOptionValue("solver", "ipm")
                solver.passModel(self.highs.getLp())
            solver.run()
            if solver.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                self.last_solver = solver
                return _optimum(np.asarray(solver.getSolution().col_value), self.t_col, self.dim)
        raise LPError(f"HiGHS returned {first} (retries: {', '.join(_RETRIES)} failed)")

    def solve_modified(
        self, reversed_rows: np.ndarray | list[int] = (), equality_rows: np.ndarray | list[int] = (),
        inactive_rows: np.ndarray | list[int] = (),
    ) -> tuple[float, np.ndarray]:
        """Solve with some rows changed, then restore the model.

        ``reversed_rows``: ``g x + h <= 0`` (no slack); ``equality_rows``: ``g x + h = 0``;
        ``inactive_rows``: dropped.
        """
        highs = self.highs
        changed = []
        for row, lower, upper in (
            [(r, -_INF, -self.h[r]) for r in reversed_rows]
            + [(r, -self.h[r], -self.h[r]) for r in equality_rows]
            + [(r, -_INF, _INF) for r in inactive_rows]
        ):
            row = int(row)
            highs.changeCoeff(row, self.t_col, 0.0)
            highs.changeRowBounds(row, lower, upper)
            changed.append(row)
        try:
            return self.solve()
        finally:
            for row in changed:
                highs.changeCoeff(row, self.t_col, -1.0)
                highs.changeRowBounds(row, -self.h[row], _INF)

    def max_slack(self) -> tuple[float, np.ndarray]:
        """Maximal slack with all rows as inequalities."""
        return self.solve()

    def facet_slack(self, row: int, inactive: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Max slack of the other rows on the hyperplane of ``row``.

        ``inactive`` lists rows (e.g. multiples of ``row``) that are dropped for this solve.
        The model is restored afterwards.
        """
        highs = self.highs
        highs.changeCoeff(row, self.t_col, 0.0)
        highs.changeRowBounds(row, -self.h[row], -self.h[row])
        inactive = np.asarray([] if inactive is None else inactive, dtype=np.int32)
        inactive = inactive[inactive != row]
        if inactive.size:
            highs.changeRowsBounds(
                inactive.size, inactive, np.full(inactive.size, -_INF), np.full(inactive.size, _INF)
            )
        try:
            return self.solve()
        finally:
            highs.changeCoeff(row, self.t_col, -1.0)
            highs.changeRowBounds(row, -self.h[row], _INF)
            if inactive.size:
                highs.changeRowsBounds(
                    inactive.size, inactive, -self.h[inactive], np.full(inactive.size, _INF)
                )


def max_slack(G: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray]:
    """One-shot ``max t s.t. G x + h >= t, t <= 1`` (rows should be normalised)."""
    return SlackLP(G, h).max_slack()


def box_constraints(dim: int, radius: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``-radius <= x_i <= radius`` as ``G x + h >= 0`` (empty when radius is None)."""
    if radius is None:
        return np.zeros((0, dim)), np.zeros(0)
    if not np.isfinite(radius) or radius <= 0:
        raise ValueError(f"box radius must be a positive finite number, got {radius}")
    eye = np.eye(dim)
    return np.vstack([eye, -eye]), np.full(2 * dim, float(radius))
