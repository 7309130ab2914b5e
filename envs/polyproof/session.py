"""The proof engine behind PolyProof-v0: memory, legal products, incremental LP, certificates.

:class:`ProofSession` is usable without Gymnasium (baselines drive it
directly). Actions are ``(parent memory index, multiplier)`` with multiplier
``k < n`` meaning ``x_{k+1}`` and ``n <= k < 2n`` meaning ``1 - x_{k-n+1}``; the
flat action id is ``parent * 2n + k``.

Candidate products are computed once, when their parent enters memory, and are
kept as a sparse matrix over the monomial index; a new memory element only
updates the duplicate marks. This keeps the per-step mask cost proportional to
``2n`` products rather than ``|memory| * 2n``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from envs.highs import LPError
from envs.polyproof.lp import BoundLP, LPSolution
from envs.polyproof.polynomial import Polynomial
from envs.polyproof.problem import Problem
from envs.polyproof.proof import CertificateError, Proof, ProofStep, exact_certificate
from envs.polyproof.types import CandidateStatus, MonomialIndex

INT16_MAX = np.iinfo(np.int16).max


class ProofSession:
    """Dynamic proof search state for one problem.

    Arguments:
        problem: the instance.
        max_degree: products of higher degree are illegal.
        max_memory: capacity of the memory (axioms included).
        max_terms: capacity of the observation's term list (all memory terms together).
        lp_time_limit: seconds per LP solve; a solve that fails or times out raises
            :class:`envs.highs.LPError` from :meth:`solve` and never becomes a bound.
        warm_start: keep one HiGHS model and warm-start each solve (default).
    """

    def __init__(
        self,
        problem: Problem,
        max_degree: int = 2,
        max_memory: int | None = None,
        max_terms: int | None = None,
        lp_time_limit: float | None = 30.0,
        warm_start: bool = True,
    ) -> None:
        if max_degree < 1:
            raise ValueError(f"max_degree must be >= 1, got {max_degree}")
        if problem.objective.degree > max_degree:
            raise ValueError(
                f"objective has degree {problem.objective.degree} > max_degree {max_degree}"
            )
        self.problem = problem
        self.n = problem.n
        self.max_degree = max_degree
        self.index = MonomialIndex(problem.n, max_degree)
        if self.index.size > INT16_MAX:
            raise ValueError(f"{self.index.size} monomials exceed the int16 observation encoding")
        axioms = problem.axioms()
        self.max_memory = max_memory if max_memory is not None else len(axioms) + 100
        if self.max_memory < len(axioms):
            raise ValueError(f"max_memory must be >= {len(axioms)} (the axioms)")
        self.max_terms = max_terms if max_terms is not None else 4 * self.max_memory + 4 * problem.n
        self.num_multipliers = 2 * problem.n
        self.num_actions = self.max_memory * self.num_multipliers
        self.lp = BoundLP(problem.objective, time_limit=lp_time_limit, warm_start=warm_start)

        self.memory: list[Polynomial] = []
        self.labels: list[str] = []
        self.steps: list[ProofStep] = []
        self.total_terms = 0
        self._keys: set = set()
        self.status = np.full(self.num_actions, CandidateStatus.EMPTY_SLOT, dtype=np.int8)
        self._products: dict[int, Polynomial] = {}
        self._by_key: dict[object, list[int]] = {}
        # candidate matrix in COO pieces (row = action id, col = monomial index)
        self._cand_rows: list[np.ndarray] = []
        self._cand_cols: list[np.ndarray] = []
        self._cand_vals: list[np.ndarray] = []
        self._cand_matrix: sp.csr_matrix | None = None

        for label, poly in axioms:
            self._append(poly, label)
        self.lp.add_columns(self.memory)
        self.solution: LPSolution = self.lp.solve()
        self.bound = self.solution.bound

    # -- memory -----------------------------------------------------------------
    def _append(self, poly: Polynomial, label: str) -> None:
        slot = len(self.memory)
        self.memory.append(poly)
        self.labels.append(label)
        self.total_terms += len(poly)
        key = poly.primitive_key()
        self._keys.add(key)
        for action in self._by_key.pop(key, []):
            if self.status[action] == CandidateStatus.LEGAL:
                self.status[action] = CandidateStatus.DUPLICATE
        self._add_candidates(slot, poly)
        self._cand_matrix = None

    def _add_candidates(self, slot: int, poly: Polynomial) -> None:
        base = slot * self.num_multipliers
        rows, cols, vals = [], [], []
        for k in range(self.num_multipliers):
            action = base + k
            product = self.problem.multiply(poly, k)
            if product.is_zero():
                self.status[action] = CandidateStatus.ZERO
                continue
            if product.degree > self.max_degree:
                self.status[action] = CandidateStatus.DEGREE_TOO_HIGH
                continue
            if any(abs(c) > INT16_MAX for c in product.terms.values()):
                self.status[action] = CandidateStatus.TOO_LARGE
                continue
            key = product.primitive_key()
            if key in self._keys:
                self.status[action] = CandidateStatus.DUPLICATE
                continue
            self.status[action] = CandidateStatus.LEGAL
            self._products[action] = product
            self._by_key.setdefault(key, []).append(action)
            for mono, c in product.terms.items():
                rows.append(action)
                cols.append(self.index.position[mono])  # type: ignore[attr-defined]
                vals.append(float(c))
        if rows:
            self._cand_rows.append(np.asarray(rows, dtype=np.int64))
            self._cand_cols.append(np.asarray(cols, dtype=np.int64))
            self._cand_vals.append(np.asarray(vals, dtype=np.float64))

    def decode(self, action: int) -> tuple[int, int]:
        """``(parent memory index, multiplier)`` of a flat action id."""
        return divmod(int(action), self.num_multipliers)

    def action_mask(self) -> np.ndarray:
        """Boolean mask of legal and useful actions (capacity limits included)."""
        mask = self.status == CandidateStatus.LEGAL
        if len(self.memory) >= self.max_memory:
            return np.zeros_like(mask)
        room = self.max_terms - self.total_terms
        if room <= 0:
            return np.zeros_like(mask)
        legal = np.flatnonzero(mask)
        if legal.size:
            sizes = np.diff(self.candidate_matrix().indptr)[legal]
            mask[legal[sizes > room]] = False
        return mask

    def product(self, action: int) -> Polynomial:
        """The reduced product an action would add (any legal or useless action)."""
        if action in self._products:
            return self._products[action]
        parent, k = self.decode(action)
        if parent >= len(self.memory):
            raise ValueError(f"action {action}: memory slot {parent} is empty")
        return self.problem.multiply(self.memory[parent], k)

    def candidate_matrix(self) -> sp.csr_matrix:
        """Sparse ``(num_actions, num_monomials)`` matrix of legal candidate products."""
        if self._cand_matrix is None:
            if self._cand_rows:
                rows = np.concatenate(self._cand_rows)
                cols = np.concatenate(self._cand_cols)
                vals = np.concatenate(self._cand_vals)
            else:
                rows = cols = np.zeros(0, dtype=np.int64)
                vals = np.zeros(0)
            self._cand_matrix = sp.csr_matrix(
                (vals, (rows, cols)), shape=(self.num_actions, self.index.size)
            )
        return self._cand_matrix

    # -- stepping ------------------------------------------------------------------
    def apply(self, action: int) -> float:
        """Add the product of a legal action to memory, re-solve, return the new bound.

        Raises ``ValueError`` for masked actions and :class:`LPError` if the LP fails
        (the memory keeps the new element; the previous bound stays valid).
        """
        if not 0 <= action < self.num_actions:
            raise ValueError(f"action {action} out of range [0, {self.num_actions})")
        if not self.action_mask()[action]:
            reason = CandidateStatus(int(self.status[action])).name
            raise ValueError(f"action {action} is masked ({reason})")
        parent, k = self.decode(action)
        product = self._products[action]
        self.steps.append(ProofStep(parent, k))
        label = f"[Step {len(self.steps) - 1}]"
        self._append(product, label)
        self.lp.add_columns([product])
        solution = self.lp.solve()
        self.solution = solution
        self.bound = min(self.bound, solution.bound)
        return self.bound

    def pseudo_moments(self) -> np.ndarray:
        """Dual pseudo-moments ``L`` over the monomial index (0 for unseen monomials)."""
        out = np.zeros(self.index.size)
        for mono, value in self.lp.pseudo_moments().items():
            out[self.index.position[mono]] = value  # type: ignore[attr-defined]
        return out

    # -- certificates -----------------------------------------------------------------
    def certificate(self, method: str = "dynamic") -> Proof:
        """An exact, verified proof of the current bound.

        Raises :class:`envs.polyproof.proof.CertificateError` if the LP has no finite
        bound yet or no exact certificate can be recovered.
        """
        if self.solution.status != "Optimal":
            raise CertificateError(f"no finite bound to certify (LP status {self.solution.status})")
        lambdas = np.zeros(len(self.memory))
        lambdas[: self.solution.lambdas.size] = self.solution.lambdas
        bound, multipliers = exact_certificate(
            self.problem, self.memory, lambdas, basic=self.lp.basic_columns()
        )
        return Proof(
            problem=self.problem,
            steps=list(self.steps),
            multipliers=multipliers,
            bound=bound,
            max_degree=self.max_degree,
            method=method,
            metadata={"lp_columns": self.lp.num_columns + 1, "lp_rows": self.lp.num_rows},
        )

    def proves_optimum(self, tol: float = 1e-7) -> bool:
        opt = self.problem.known_optimum
        return opt is not None and self.bound <= float(opt) + tol


__all__ = ["LPError", "ProofSession"]
