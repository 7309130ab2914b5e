"""Polynomial optimisation problems on the hypercube with monomial equalities.

A :class:`Problem` is ``maximize f(x)`` over ``x in {0,1}^n`` subject to monomial
equalities ``x^S = 0``. Proofs certify upper bounds ``gamma - f >= 0``.

Normal form: multilinearize (``x_i^2 = x_i``), then drop every monomial that
contains an equality monomial. The quotient basis is the monomials ``x^S`` such
that ``S`` contains no equality support (for stable set: ``S`` is a stable set).
This reduction is exact and keeps integer coefficients integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from typing import Any

from envs.polyproof.polynomial import (
    Coefficient,
    Monomial,
    Polynomial,
    normalize_monomial,
    parse_exact,
)

PROBLEM_KINDS = ("stable_set", "max_cut", "custom")


@dataclass(frozen=True, eq=False)
class Problem:
    """``maximize objective`` on ``{0,1}^n`` subject to ``x^S = 0`` for each S in ``equalities``.

    Arguments:
        n: number of binary variables ``x_1..x_n`` (0-based indices in code).
        objective: the polynomial ``f`` to maximise (reduced on construction).
        equalities: monomial supports ``S`` with ``x^S = 0`` (e.g. one per edge).
        name: a label for tables and files.
        kind: ``"stable_set"``, ``"max_cut"`` or ``"custom"``.
        known_optimum: the exact optimum if known (``alpha(G)`` for stable set);
            environments stop once a proof certifies it.
        edges: the graph's edges, kept as metadata for graph problems.
    """

    n: int
    objective: Polynomial
    equalities: tuple[Monomial, ...] = ()
    name: str = ""
    kind: str = "custom"
    known_optimum: Fraction | None = None
    edges: tuple[tuple[int, int], ...] = ()
    _zero_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n must be a positive int, got {self.n!r}")
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(f"kind must be one of {PROBLEM_KINDS}, got {self.kind!r}")
        eqs = []
        for s in self.equalities:
            mono = normalize_monomial(s)
            if not mono:
                raise ValueError("the equality 1 = 0 makes the problem infeasible")
            if mono[-1] >= self.n:
                raise ValueError(f"equality monomial {s!r} uses a variable outside x1..x{self.n}")
            eqs.append(mono)
        # Keep only minimal supports: a superset of another equality is implied by it.
        eqs = sorted(set(eqs), key=lambda m: (len(m), m))
        minimal: list[Monomial] = []
        for mono in eqs:
            ms = set(mono)
            if not any(set(other) <= ms for other in minimal):
                minimal.append(mono)
        object.__setattr__(self, "equalities", tuple(minimal))
        if not isinstance(self.objective, Polynomial):
            raise TypeError("objective must be a Polynomial")
        for mono in self.objective.terms:
            if mono and mono[-1] >= self.n:
                raise ValueError(f"objective uses variable x{mono[-1] + 1} but n = {self.n}")
        if self.known_optimum is not None:
            object.__setattr__(self, "known_optimum", Fraction(self.known_optimum))
        # Fast path for degree-2 equalities (graph edges): neighbour sets.
        neighbours: list[set[int]] = [set() for _ in range(self.n)]
        higher: list[frozenset[int]] = []
        singles: set[int] = set()
        for mono in self.equalities:
            if len(mono) == 1:
                singles.add(mono[0])
            elif len(mono) == 2:
                neighbours[mono[0]].add(mono[1])
                neighbours[mono[1]].add(mono[0])
            else:
                higher.append(frozenset(mono))
        object.__setattr__(self, "_neighbours", tuple(frozenset(s) for s in neighbours))
        object.__setattr__(self, "_higher", tuple(higher))
        object.__setattr__(self, "_singles", frozenset(singles))
        object.__setattr__(self, "objective", self.reduce(self.objective))

    # -- normal form -------------------------------------------------------------
    def is_zero_monomial(self, mono: Monomial) -> bool:
        """True if ``x^mono`` is zero modulo the equalities (``mono`` multilinear)."""
        cached = self._zero_cache.get(mono)
        if cached is not None:
            return cached
        result = False
        neighbours = self._neighbours  # type: ignore[attr-defined]
        for pos, i in enumerate(mono):
            if i in self._singles:  # type: ignore[attr-defined]
                result = True
                break
            nb = neighbours[i]
            if nb and any(j in nb for j in mono[pos + 1 :]):
                result = True
                break
        if not result and self._higher:  # type: ignore[attr-defined]
            ms = set(mono)
            result = any(h <= ms for h in self._higher)  # type: ignore[attr-defined]
        self._zero_cache[mono] = result
        return result

    def reduce(self, poly: Polynomial) -> Polynomial:
        """The normal form of ``poly``: multilinear, no monomial divisible by an equality."""
        out: dict[Monomial, Coefficient] = {}
        for mono, c in poly.terms.items():
            if self.is_zero_monomial(mono):
                continue
            total = out.get(mono, 0) + c
            if total == 0:
                out.pop(mono, None)
            else:
                out[mono] = total
        return Polynomial._trusted(out)

    def multiply(self, poly: Polynomial, multiplier: int) -> Polynomial:
        """Reduced product of ``poly`` with multiplier ``k``.

        ``k < n`` means ``x_{k+1}``; ``n <= k < 2n`` means ``1 - x_{k-n+1}``.
        """
        n = self.n
        if not 0 <= multiplier < 2 * n:
            raise ValueError(f"multiplier must be in [0, {2 * n}), got {multiplier}")
        i = multiplier % n
        times_x: dict[Monomial, Coefficient] = {}
        for mono, c in poly.terms.items():
            if i in mono:
                new = mono
            else:
                new = tuple(sorted(mono + (i,)))
                if self.is_zero_monomial(new):
                    continue
            total = times_x.get(new, 0) + c
            if total == 0:
                times_x.pop(new, None)
            else:
                times_x[new] = total
        if multiplier < n:
            return Polynomial._trusted(times_x)
        out = dict(poly.terms)
        for mono, c in times_x.items():
            total = out.get(mono, 0) - c
            if total == 0:
                out.pop(mono, None)
            else:
                out[mono] = total
        return Polynomial._trusted(out)

    def multiplier_name(self, multiplier: int) -> str:
        """``"x3"`` or ``"1-x3"`` for a multiplier index (1-based names)."""
        if not 0 <= multiplier < 2 * self.n:
            raise ValueError(f"multiplier must be in [0, {2 * self.n}), got {multiplier}")
        i = multiplier % self.n
        return f"x{i + 1}" if multiplier < self.n else f"1-x{i + 1}"

    def parse_multiplier(self, name: str) -> int:
        """Inverse of :meth:`multiplier_name`."""
        text = name.replace(" ", "")
        negated = text.startswith("1-")
        body = text[2:] if negated else text
        if not (body.startswith("x") and body[1:].isdigit()):
            raise ValueError(f"bad multiplier {name!r}: expected 'x<i>' or '1-x<i>'")
        i = int(body[1:]) - 1
        if not 0 <= i < self.n:
            raise ValueError(f"multiplier {name!r} names a variable outside x1..x{self.n}")
        return i + self.n if negated else i

    # -- axioms ----------------------------------------------------------------------
    def axioms(self) -> list[tuple[str, Polynomial]]:
        """The initial memory: ``1 >= 0``, ``x_i >= 0``, ``1 - x_i >= 0`` (reduced, nonzero)."""
        out = [("1", Polynomial.constant(1))]
        for i in range(self.n):
            out.append((f"x{i + 1}", self.reduce(Polynomial.variable(i))))
        for i in range(self.n):
            out.append((f"1-x{i + 1}", self.reduce(Polynomial.one_minus_variable(i))))
        return out

    def trivial_bound(self) -> Coefficient:
        """A valid upper bound with no proof search: constant plus positive coefficients."""
        return sum((c for m, c in self.objective.terms.items() if c > 0 or not m), 0)

    def monomial_basis(self, max_degree: int) -> list[Monomial]:
        """Nonzero multilinear monomials of degree <= ``max_degree``, by degree then lex."""
        basis: list[Monomial] = []
        for d in range(max_degree + 1):
            for mono in combinations(range(self.n), d):
                if not self.is_zero_monomial(mono):
                    basis.append(mono)
        return basis

    # -- serialisation ----------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "kind": self.kind,
            "name": self.name,
            "objective": self.objective.to_json(),
            "equalities": [list(m) for m in self.equalities],
            "edges": [list(e) for e in self.edges],
            "known_optimum": None if self.known_optimum is None else str(self.known_optimum),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        if not isinstance(data, dict):
            raise ValueError("a problem must be a JSON object")
        missing = {"n", "objective", "equalities"} - set(data)
        if missing:
            raise ValueError(f"problem JSON is missing {sorted(missing)}")
        known = data.get("known_optimum")
        return cls(
            n=data["n"],
            objective=Polynomial.from_json(data["objective"]),
            equalities=tuple(tuple(e) for e in data["equalities"]),
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "custom")),
            known_optimum=None if known is None else Fraction(parse_exact(known)),
            edges=tuple(tuple(e) for e in data.get("edges", [])),
        )

    def same_as(self, other: Problem) -> bool:
        """Mathematical equality (same n, objective and equalities)."""
        return (
            self.n == other.n
            and self.objective == other.objective
            and self.equalities == other.equalities
        )


def _check_edges(n: int, edges: Iterable[Sequence[int]]) -> tuple[tuple[int, int], ...]:
    out = set()
    for e in edges:
        if len(e) != 2:
            raise ValueError(f"an edge needs two endpoints, got {e!r}")
        u, v = int(e[0]), int(e[1])
        if not (0 <= u < n and 0 <= v < n):
            raise ValueError(f"edge {e!r} has an endpoint outside 0..{n - 1}")
        if u == v:
            raise ValueError(f"self-loop at vertex {u} is not allowed")
        out.add((min(u, v), max(u, v)))
    return tuple(sorted(out))


def stable_set_problem(
    n: int,
    edges: Iterable[Sequence[int]],
    name: str = "",
    known_optimum: object = None,
) -> Problem:
    """Maximum stable set: maximise ``sum x_i`` subject to ``x_i x_j = 0`` on edges."""
    edge_tuple = _check_edges(n, edges)
    objective = Polynomial({(i,): 1 for i in range(n)})
    return Problem(
        n=n,
        objective=objective,
        equalities=edge_tuple,
        name=name,
        kind="stable_set",
        known_optimum=None if known_optimum is None else Fraction(known_optimum),
        edges=edge_tuple,
    )


def max_cut_problem(
    n: int,
    edges: Iterable[Sequence[int]],
    name: str = "",
    known_optimum: object = None,
) -> Problem:
    """MaxCut: maximise ``sum_{ij in E} x_i + x_j - 2 x_i x_j``; only ``x_i^2 = x_i``."""
    edge_tuple = _check_edges(n, edges)
    terms: dict[Monomial, int] = {}
    for u, v in edge_tuple:
        terms[(u,)] = terms.get((u,), 0) + 1
        terms[(v,)] = terms.get((v,), 0) + 1
        terms[(u, v)] = terms.get((u, v), 0) - 2
    return Problem(
        n=n,
        objective=Polynomial(terms),
        equalities=(),
        name=name,
        kind="max_cut",
        known_optimum=None if known_optimum is None else Fraction(known_optimum),
        edges=edge_tuple,
    )
