"""Independent checker of PolyProof proofs, in exact rational arithmetic.

Usage::

    python -m envs.polyproof.verify proof.json

Exit status 0 and ``{"valid": true, "bound": ...}`` on stdout when the proof is
correct; exit status 1 and a message naming the first wrong step otherwise.

This module deliberately shares no arithmetic with the prover: it reads the
JSON document, rebuilds the problem's axioms, recomputes every derivation step
with its own multilinear arithmetic (frozensets and ``Fraction``), and checks
``bound - f == sum_i lambda_i m_i`` modulo ``x_i^2 = x_i`` and the equality
monomials, with every ``lambda_i >= 0``.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

Poly = dict[frozenset, Fraction]


class ProofRejected(Exception):
    """The proof is wrong; the message says where."""


def _number(text: Any, what: str) -> Fraction:
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ProofRejected(f"{what}: {text!r} is not an exact number")
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise ProofRejected(f"{what}: {text!r} is not an exact number") from exc


class _Algebra:
    """Multilinear arithmetic modulo monomial equalities ``x^S = 0``."""

    def __init__(self, n: int, equalities: list[frozenset]) -> None:
        self.n = n
        self.equalities = equalities

    def vanishes(self, mono: frozenset) -> bool:
        return any(eq <= mono for eq in self.equalities)

    def normal(self, poly: Poly) -> Poly:
        return {m: c for m, c in poly.items() if c != 0 and not self.vanishes(m)}

    def times(self, p: Poly, q: Poly) -> Poly:
        out: Poly = {}
        for m1, c1 in p.items():
            for m2, c2 in q.items():
                m = m1 | m2
                out[m] = out.get(m, Fraction(0)) + c1 * c2
        return self.normal(out)

    def add_scaled(self, acc: Poly, p: Poly, scale: Fraction) -> None:
        for m, c in p.items():
            acc[m] = acc.get(m, Fraction(0)) + scale * c


def _parse_poly(data: Any, n: int, what: str) -> Poly:
    if not isinstance(data, list):
        raise ProofRejected(f"{what}: not a list of terms")
    poly: Poly = {}
    for term in data:
        if not (isinstance(term, list) and len(term) == 2 and isinstance(term[0], list)):
            raise ProofRejected(f"{what}: bad term {term!r}")
        mono = []
        for i in term[0]:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
                raise ProofRejected(f"{what}: bad variable index {i!r}")
            mono.append(i)
        key = frozenset(mono)
        poly[key] = poly.get(key, Fraction(0)) + _number(term[1], what)
    return poly


def _multiplier(text: Any, n: int, where: str) -> Poly:
    if not isinstance(text, str):
        raise ProofRejected(f"{where}: multiplier {text!r} is not a string")
    s = text.replace(" ", "")
    one_minus = s.startswith("1-")
    body = s[2:] if one_minus else s
    if not (body.startswith("x") and body[1:].isdigit()):
        raise ProofRejected(f"{where}: unknown multiplier {text!r}")
    i = int(body[1:]) - 1
    if not 0 <= i < n:
        raise ProofRejected(f"{where}: multiplier {text!r} is outside x1..x{n}")
    x: Poly = {frozenset([i]): Fraction(1)}
    if one_minus:
        return {frozenset(): Fraction(1), frozenset([i]): Fraction(-1)}
    return x


def _degree(poly: Poly) -> int:
    return max((len(m) for m, c in poly.items() if c != 0), default=-1)


def _show(poly: Poly) -> str:
    terms = sorted(((sorted(m), c) for m, c in poly.items() if c != 0), key=lambda t: (-len(t[0]), t[0]))
    return " + ".join(f"{c}*" + ("*".join(f"x{i + 1}" for i in m) or "1") for m, c in terms) or "0"


def check_proof(document: dict[str, Any]) -> Fraction:
    """Return the certified bound, or raise :class:`ProofRejected` naming the first error."""
    if not isinstance(document, dict):
        raise ProofRejected("the document is not a JSON object")
    problem = document.get("problem")
    if not isinstance(problem, dict):
        raise ProofRejected("missing 'problem'")
    n = problem.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ProofRejected(f"problem: bad n {n!r}")
    equalities = []
    for eq in problem.get("equalities", []):
        if not isinstance(eq, list) or not eq or not all(isinstance(i, int) and 0 <= i < n for i in eq):
            raise ProofRejected(f"problem: bad equality monomial {eq!r}")
        equalities.append(frozenset(eq))
    algebra = _Algebra(n, equalities)
    objective = algebra.normal(_parse_poly(problem.get("objective"), n, "problem objective"))

    max_degree = document.get("max_degree")
    if max_degree is not None and (isinstance(max_degree, bool) or not isinstance(max_degree, int)):
        raise ProofRejected(f"bad max_degree {max_degree!r}")

    # axioms: 1, x_1..x_n, 1-x_1..1-x_n
    memory: list[Poly] = [{frozenset(): Fraction(1)}]
    memory += [algebra.normal({frozenset([i]): Fraction(1)}) for i in range(n)]
    memory += [algebra.normal({frozenset(): Fraction(1), frozenset([i]): Fraction(-1)}) for i in range(n)]

    steps = document.get("steps", [])
    if not isinstance(steps, list):
        raise ProofRejected("'steps' is not a list")
    for k, step in enumerate(steps):
        where = f"[Step {k}]"
        if not isinstance(step, dict):
            raise ProofRejected(f"{where}: not an object")
        parent = step.get("parent")
        if isinstance(parent, bool) or not isinstance(parent, int) or not 0 <= parent < len(memory):
            raise ProofRejected(f"{where}: parent {parent!r} is not an earlier memory index")
        product = algebra.times(memory[parent], _multiplier(step.get("multiplier"), n, where))
        if max_degree is not None and _degree(product) > max_degree:
            raise ProofRejected(f"{where}: degree {_degree(product)} exceeds max_degree {max_degree}")
        if "polynomial" in step:
            claimed = algebra.normal(_parse_poly(step["polynomial"], n, where))
            if claimed != product:
                raise ProofRejected(f"{where}: claims {_show(claimed)} but the product is {_show(product)}")
        memory.append(product)

    multipliers = document.get("multipliers", {})
    if not isinstance(multipliers, dict):
        raise ProofRejected("'multipliers' is not an object")
    combination: Poly = {}
    for key, value in multipliers.items():
        try:
            index = int(key)
        except ValueError as exc:
            raise ProofRejected(f"multiplier key {key!r} is not a memory index") from exc
        if not 0 <= index < len(memory):
            raise ProofRejected(f"multiplier for memory index {index} which does not exist")
        lam = _number(value, f"multiplier of memory {index}")
        if lam < 0:
            raise ProofRejected(f"multiplier of memory {index} is negative ({lam})")
        algebra.add_scaled(combination, memory[index], lam)
    combination = algebra.normal(combination)

    bound = _number(document.get("bound"), "bound")
    target = dict(algebra.normal({m: -c for m, c in objective.items()}))
    target[frozenset()] = target.get(frozenset(), Fraction(0)) + bound
    target = algebra.normal(target)
    if combination != target:
        monos = set(combination) | set(target)
        bad = sorted(monos, key=lambda m: (len(m), sorted(m)))
        for m in bad:
            if combination.get(m, 0) != target.get(m, 0):
                name = "*".join(f"x{i + 1}" for i in sorted(m)) or "1"
                raise ProofRejected(
                    f"final combination: coefficient of {name} is {combination.get(m, 0)} "
                    f"but bound - f has {target.get(m, 0)}"
                )
    return bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a PolyProof proof in exact arithmetic.")
    parser.add_argument("proof", type=Path, help="proof JSON file (Proof.save / certificate().save)")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.proof.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"invalid: cannot read {args.proof}: {exc}")
        return 1
    try:
        bound = check_proof(document)
    except ProofRejected as exc:
        print(f"invalid: {exc}")
        return 1
    print(json.dumps({"valid": True, "bound": str(bound), "bound_float": float(bound)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
