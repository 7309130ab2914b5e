"""Proof objects with exact rational certificates.

A :class:`Proof` records how every memory element was derived (a parent memory
index times a multiplier ``x_i`` or ``1 - x_i``) and exact multipliers
``lambda`` such that, in normal form::

    bound - f == sum_i lambda_i m_i,   lambda_i >= 0.

Memory indexing: ``0`` is the axiom ``1``, ``1..n`` are ``x_1..x_n``,
``n+1..2n`` are ``1 - x_1..1 - x_n``, and derived step ``k`` (0-based) is memory
index ``2n + 1 + k``.

:func:`exact_certificate` turns a floating-point LP solution into exact
multipliers: it re-solves the equality system restricted to the LP's support
(then to its whole basis) in rationals and accepts the result only if it is
nonnegative and the identity holds exactly. The independent checker is
:mod:`envs.polyproof.verify`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from envs.polyproof.polynomial import Monomial, Polynomial, parse_exact
from envs.polyproof.problem import Problem

PROOF_FORMAT = "polygym-proof-v1"


class CertificateError(RuntimeError):
    """No exact certificate could be recovered from an LP solution."""


@dataclass(frozen=True)
class ProofStep:
    """Memory element ``parent * multiplier`` (multiplier ``k < n``: ``x_{k+1}``; else ``1 - x_{k-n+1}``)."""

    parent: int
    multiplier: int


@dataclass
class Proof:
    """A derivation plus exact multipliers certifying ``f <= bound`` on the problem."""

    problem: Problem
    steps: list[ProofStep]
    multipliers: dict[int, Fraction]
    bound: Fraction
    max_degree: int | None = None
    method: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- derived data ------------------------------------------------------------
    def memory(self) -> list[Polynomial]:
        """Recompute every memory polynomial (axioms, then steps)."""
        mem = [p for _, p in self.problem.axioms()]
        for k, step in enumerate(self.steps):
            if not 0 <= step.parent < len(mem):
                raise ValueError(f"step {k}: parent {step.parent} is not an earlier memory index")
            mem.append(self.problem.multiply(mem[step.parent], step.multiplier))
        return mem

    def is_valid(self) -> bool:
        """Exact self-check (the independent checker is :mod:`envs.polyproof.verify`)."""
        try:
            mem = self.memory()
        except ValueError:
            return False
        if self.max_degree is not None and any(p.degree > self.max_degree for p in mem):
            return False
        return check_identity(self.problem, mem, self.multipliers, self.bound)

    # -- printing -------------------------------------------------------------------
    def render(self) -> str:
        """The proof in the paper's format, one step per line, then the final combination."""
        mem = self.memory()
        n = self.problem.n
        lines = render_steps(mem, self.steps, n)
        terms = [f"{lam} * {memory_label(mem, n, i)}" for i, lam in sorted(self.multipliers.items())]
        target = (Polynomial.constant(self.bound) - self.problem.objective).to_string()
        lines.append(f"0 <= {' + '.join(terms) if terms else '0'} = {target}")
        return "\n".join(lines)

    # -- serialisation --------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """JSON document with the problem, every step (with its polynomial) and exact numbers."""
        offset = 2 * self.problem.n + 1
        return {
            "format": PROOF_FORMAT,
            "problem": self.problem.to_json(),
            "max_degree": self.max_degree,
            "method": self.method,
            "steps": [
                {
                    "parent": s.parent,
                    "multiplier": self.problem.multiplier_name(s.multiplier),
                    "polynomial": poly.to_json(),
                }
                for s, poly in zip(self.steps, self.memory()[offset:], strict=True)
            ],
            "multipliers": {str(i): str(v) for i, v in sorted(self.multipliers.items())},
            "bound": str(self.bound),
            "bound_float": float(self.bound),
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proof:
        if not isinstance(data, dict) or data.get("format") != PROOF_FORMAT:
            raise ValueError(f"not a {PROOF_FORMAT} document")
        problem = Problem.from_json(data["problem"])
        steps = []
        for k, raw in enumerate(data.get("steps", [])):
            try:
                steps.append(ProofStep(int(raw["parent"]), problem.parse_multiplier(raw["multiplier"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"step {k}: {exc}") from exc
        multipliers = {int(i): Fraction(parse_exact(v)) for i, v in data.get("multipliers", {}).items()}
        return cls(
            problem=problem,
            steps=steps,
            multipliers=multipliers,
            bound=Fraction(parse_exact(data["bound"])),
            max_degree=data.get("max_degree"),
            method=str(data.get("method", "")),
            metadata=dict(data.get("metadata", {})),
        )

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Proof:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def memory_label(memory: Sequence[Polynomial], n: int, index: int) -> str:
    """``(-x3 + 1)`` for an axiom, ``[Step k]`` for a derived element (the paper's format)."""
    if index <= 2 * n:
        return f"({memory[index].to_string()})"
    return f"[Step {index - 2 * n - 1}]"


def render_steps(memory: Sequence[Polynomial], steps: Sequence[ProofStep], n: int) -> list[str]:
    """One line per step: ``[Step 3] 0 <= -x3 - x4 + 1 = [Step 2] * (-x4 + 1)``."""
    offset = 2 * n + 1
    return [
        f"[Step {k}] 0 <= {memory[offset + k].to_string()} = "
        f"{memory_label(memory, n, step.parent)} * ({memory[1 + step.multiplier].to_string()})"
        for k, step in enumerate(steps)
    ]


# ---------------------------------------------------------------------------------
# Exact certification
# ---------------------------------------------------------------------------------
def check_identity(
    problem: Problem,
    memory: Sequence[Polynomial],
    multipliers: dict[int, Fraction],
    bound: Fraction,
) -> bool:
    """Exactly: ``bound - f == sum lambda_i m_i`` in normal form and ``lambda >= 0``."""
    total: dict[Monomial, Fraction] = {}
    for i, lam in multipliers.items():
        if lam < 0 or not 0 <= i < len(memory):
            return False
        if lam == 0:
            continue
        for mono, c in memory[i].terms.items():
            total[mono] = total.get(mono, 0) + lam * c
    target = problem.reduce(Polynomial.constant(bound) - problem.objective)
    return problem.reduce(Polynomial({m: c for m, c in total.items()})) == target


def _rationalize(x: float, max_denominator: int = 10**6) -> Fraction:
    return Fraction(x).limit_denominator(max_denominator)


def _solve_exact(
    equations: list[tuple[dict[int, Fraction], Fraction]],
    hint: dict[int, float],
) -> dict[int, Fraction] | None:
    """Gauss-Jordan elimination in rationals; free variables take their rounded hints.

    Returns ``None`` if the system is inconsistent.
    """
    pivots: dict[int, tuple[dict[int, Fraction], Fraction]] = {}  # var = rhs - sum c v
    for coefs, rhs in sorted(equations, key=lambda e: len(e[0])):
        row = dict(coefs)
        value = rhs
        for var in [v for v in row if v in pivots]:
            c = row.pop(var)
            expr, const = pivots[var]
            value -= c * const
            for v2, c2 in expr.items():
                nv = row.get(v2, 0) - c * c2
                if nv == 0:
                    row.pop(v2, None)
                else:
                    row[v2] = nv
        if not row:
            if value != 0:
                return None
            continue
        pvar = min(row, key=lambda v: (len(row), v))
        pc = row.pop(pvar)
        expr = {v: c / pc for v, c in row.items()}
        const = value / pc
        # substitute the new pivot into the existing ones
        for var, (e, k) in pivots.items():
            c = e.pop(pvar, None)
            if c is None:
                continue
            k -= c * const
            for v2, c2 in expr.items():
                nv = e.get(v2, 0) - c * c2
                if nv == 0:
                    e.pop(v2, None)
                else:
                    e[v2] = nv
            pivots[var] = (e, k)
        pivots[pvar] = (expr, const)
    free_vars = {v for coefs, _ in equations for v in coefs} - set(pivots)
    solution = {v: _rationalize(hint.get(v, 0.0)) for v in free_vars}
    for var, (expr, const) in pivots.items():
        solution[var] = const - sum((c * solution[v] for v, c in expr.items()), Fraction(0))
    return solution


def exact_certificate(
    problem: Problem,
    memory: Sequence[Polynomial],
    lambdas: np.ndarray,
    basic: Sequence[int] | None = None,
    support_tolerance: float = 1e-9,
) -> tuple[Fraction, dict[int, Fraction]]:
    """Exact ``(bound, multipliers)`` from a float LP solution, verified exactly.

    Tries, in order: rounding the float multipliers; an exact re-solve on the
    float support; an exact re-solve on the support plus the basic columns.
    Raises :class:`CertificateError` if none passes the exact check.
    """
    lambdas = np.asarray(lambdas, dtype=np.float64)
    if lambdas.shape != (len(memory),):
        raise ValueError(f"expected {len(memory)} multipliers, got shape {lambdas.shape}")
    if not np.all(np.isfinite(lambdas)):
        raise CertificateError("LP multipliers are not finite")
    scale = max(1.0, float(np.max(np.abs(lambdas))) if lambdas.size else 1.0)
    support = [int(i) for i in np.flatnonzero(lambdas > support_tolerance * scale)]
    objective = problem.objective

    def bound_from(mult: dict[int, Fraction]) -> Fraction:
        const = sum((lam * memory[i][()] for i, lam in mult.items()), Fraction(0))
        return const + Fraction(objective[()])

    # 1. rounding
    rounded = {i: _rationalize(float(lambdas[i])) for i in support}
    rounded = {i: v for i, v in rounded.items() if v != 0}
    bound = bound_from(rounded)
    if check_identity(problem, memory, rounded, bound):
        return bound, rounded

    # 2./3. exact re-solve on a column set
    column_sets = [support]
    if basic is not None:
        extended = sorted(set(support) | {int(i) for i in basic})
        if extended != support:
            column_sets.append(extended)
    gamma = -1
    for columns in column_sets:
        rows: dict[Monomial, dict[int, Fraction]] = {}
        for i in columns:
            for mono, c in memory[i].terms.items():
                rows.setdefault(mono, {})[i] = Fraction(c)
        for mono in objective.terms:
            rows.setdefault(mono, {})
        rows.setdefault((), {})[gamma] = Fraction(-1)
        equations = [(coefs, Fraction(-objective[mono])) for mono, coefs in rows.items()]
        hint = {i: float(lambdas[i]) for i in columns}
        solution = _solve_exact(equations, hint)
        if solution is None:
            continue
        mult = {i: solution[i] for i in columns if solution.get(i, 0) != 0}
        if any(v < 0 for v in mult.values()):
            continue
        bound = solution.get(gamma, bound_from(mult))
        if check_identity(problem, memory, mult, bound):
            return bound, mult
    raise CertificateError(
        f"could not recover exact nonnegative multipliers from the LP solution "
        f"(support {len(support)} columns)"
    )
