"""Independent checker of PolyProof proofs, in exact rational arithmetic.

Usage::

    python -m envs.polyproof.verify proof.json
    python -m envs.polyproof.verify proof.json --dimacs graph.col   # against a given graph
    python -m envs.polyproof.verify proof.json --problem problem.json

Exit status 0 and ``{"valid": true, "bound": ...}`` on stdout when the proof is
correct; 1 and ``invalid: <first error>`` when it is not; 3 and ``contradiction: ...``
when a correct proof certifies a bound below the stated ``known_optimum`` (the stated
optimum, or the statement, is then false); 2 and one ``error:`` line on stderr for bad
input (missing or unreadable file, bad JSON, bad DIMACS).

What is checked:

- **The statement.** For a graph problem (``kind`` ``stable_set`` or ``max_cut``) the
  equalities and the objective are rebuilt from ``n`` and ``edges`` (stable set: one
  ``x_i x_j = 0`` per edge and ``f = sum x_i``; MaxCut: no equality and
  ``f = sum_{ij in E} x_i + x_j - 2 x_i x_j``) and must match the file's exactly. A
  ``custom`` problem is its equalities and objective, and may state no edges. ``name`` is
  a label and is not checked.
- **The problem, when one is given independently** (``--dimacs FILE [--kind ...]``,
  ``--problem FILE``, or ``verify_proof(doc, graph=...)`` / ``problem=...``): ``n``, the
  kind, the edge set (exactly, under the stated vertex labelling: a relabelled graph is
  a different problem), the equalities and the objective must all agree.
- **The steps.** Every memory element is recomputed with this module's own multilinear
  arithmetic (frozensets and ``Fraction``; nothing is shared with the prover), and
  ``bound - f == sum_i lambda_i m_i`` is checked modulo ``x_i^2 = x_i`` and the
  equality monomials, with every ``lambda_i >= 0``.
- **The stated optimum.** A certified bound below ``known_optimum`` is a contradiction.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from envs.cli import UsageError, UsageParser, run_cli

PROOF_FORMAT = "polygym-proof-v1"
GRAPH_KINDS = ("stable_set", "max_cut")
KINDS = (*GRAPH_KINDS, "custom")
EXIT_INVALID = 1
EXIT_CONTRADICTION = 3

Poly = dict[frozenset, Fraction]


class ProofRejected(Exception):
    """The proof is wrong; the message says where."""


class Contradiction(ProofRejected):
    """A correct proof certifies a bound below the stated ``known_optimum``."""

    def __init__(self, bound: Fraction, optimum: Fraction) -> None:
        self.bound = bound
        self.optimum = optimum
        super().__init__(
            f"the proof certifies f <= {bound} but the stated known_optimum is {optimum}: "
            "the stated optimum (or the problem statement) is false"
        )


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
    terms = sorted(
        ((sorted(m), c) for m, c in poly.items() if c != 0), key=lambda t: (-len(t[0]), t[0])
    )
    return " + ".join(f"{c}*" + ("*".join(f"x{i + 1}" for i in m) or "1") for m, c in terms) or "0"


# -- the problem statement ------------------------------------------------------------
def _parse_edges(data: Any, n: int, what: str) -> set[frozenset]:
    if not isinstance(data, list):
        raise ProofRejected(f"{what}: edges are not a list")
    edges: set[frozenset] = set()
    for e in data:
        if not (
            isinstance(e, list | tuple)
            and len(e) == 2
            and all(not isinstance(i, bool) and isinstance(i, int) and 0 <= i < n for i in e)
        ):
            raise ProofRejected(f"{what}: bad edge {e!r} (two vertices in 0..{n - 1})")
        if e[0] == e[1]:
            raise ProofRejected(f"{what}: self-loop {list(e)!r}")
        edge = frozenset(e)
        if edge in edges:
            raise ProofRejected(f"{what}: edge {sorted(edge)!r} is listed twice")
        edges.add(edge)
    return edges


def _expected_statement(kind: str, n: int, edges: set[frozenset]) -> tuple[set[frozenset], Poly]:
    """The equalities and objective a graph problem of this kind must have."""
    if kind == "stable_set":
        return set(edges), {frozenset([i]): Fraction(1) for i in range(n)}
    objective: Poly = {}
    for edge in edges:
        u, v = sorted(edge)
        for mono, c in ((frozenset([u]), 1), (frozenset([v]), 1), (edge, -2)):
            objective[mono] = objective.get(mono, Fraction(0)) + c
    return set(), {m: c for m, c in objective.items() if c != 0}


def _edges_text(edges: set[frozenset], limit: int = 3) -> str:
    shown = sorted(sorted(e) for e in edges)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(str(e) for e in shown[:limit]) + more


class Statement:
    """A parsed problem statement: ``n``, kind, edges, equalities, objective, optimum."""

    def __init__(self, data: Any, what: str = "problem") -> None:
        if not isinstance(data, dict):
            raise ProofRejected(f"{what}: not a JSON object")
        n = data.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ProofRejected(f"{what}: bad n {n!r}")
        kind = data.get("kind", "custom")
        if kind not in KINDS:
            raise ProofRejected(f"{what}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        self.n, self.kind, self.name = n, kind, str(data.get("name", ""))
        self.edges = _parse_edges(data.get("edges", []), n, what)
        self.equalities: set[frozenset] = set()
        for eq in data.get("equalities", []):
            if not (
                isinstance(eq, list)
                and eq
                and all(not isinstance(i, bool) and isinstance(i, int) and 0 <= i < n for i in eq)
            ):
                raise ProofRejected(f"{what}: bad equality monomial {eq!r}")
            self.equalities.add(frozenset(eq))
        raw = _parse_poly(data.get("objective"), n, f"{what} objective")
        self.objective = {m: c for m, c in raw.items() if c != 0}
        known = data.get("known_optimum")
        self.known_optimum = None if known is None else _number(known, f"{what} known_optimum")
        if kind == "custom":
            if self.edges:
                raise ProofRejected(
                    f"{what}: a custom problem states edges; give the graph problem's kind "
                    f"({' or '.join(GRAPH_KINDS)}) so that its constraints can be checked"
                )
            return
        equalities, objective = _expected_statement(kind, n, self.edges)
        if self.equalities != equalities:
            extra, missing = self.equalities - equalities, equalities - self.equalities
            detail = []
            if extra:
                detail.append(f"{len(extra)} not from an edge ({_edges_text(extra)})")
            if missing:
                detail.append(f"{len(missing)} edge(s) without one ({_edges_text(missing)})")
            raise ProofRejected(
                f"{what}: the equality constraints do not match the stated {kind} graph's "
                f"edges: {'; '.join(detail)}"
            )
        if self.objective != objective:
            raise ProofRejected(
                f"{what}: the objective {_show(self.objective)} is not the {kind} objective "
                f"{_show(objective)} of the stated graph"
            )

    def mismatch(self, other: Statement) -> str | None:
        """Why ``other`` (given independently) is a different problem, or ``None``."""
        if self.n != other.n:
            return f"n is {self.n} in the proof but {other.n} in the given problem"
        if other.kind in GRAPH_KINDS and self.kind != other.kind:
            return f"the proof is for a {self.kind} problem, the given problem is {other.kind}"
        if self.edges != other.edges:
            extra, missing = self.edges - other.edges, other.edges - self.edges
            return (
                "the edge sets differ (under the stated vertex labelling): "
                f"{len(extra)} edge(s) only in the proof"
                + (f" ({_edges_text(extra)})" if extra else "")
                + f", {len(missing)} only in the given graph"
                + (f" ({_edges_text(missing)})" if missing else "")
            )
        if self.equalities != other.equalities:
            return "the equality constraints differ from the given problem's"
        if self.objective != other.objective:
            return "the objective differs from the given problem's"
        if (
            self.known_optimum is not None
            and other.known_optimum is not None
            and self.known_optimum != other.known_optimum
        ):
            return (
                f"known_optimum is {self.known_optimum} in the proof but "
                f"{other.known_optimum} in the given problem"
            )
        return None


def graph_statement(
    graph: Any, kind: str = "stable_set", known_optimum: Any = None
) -> dict[str, Any]:
    """The problem JSON of a graph (``networkx.Graph``; nodes ``0..n-1``, else sorted)."""
    from envs.polyproof.graphs import canonical_graph

    if kind not in GRAPH_KINDS:
        raise ValueError(f"kind must be one of {GRAPH_KINDS}, got {kind!r}")
    g = canonical_graph(graph)
    n = g.number_of_nodes()
    edges = {frozenset(e) for e in g.edges()}
    equalities, objective = _expected_statement(kind, n, edges)
    return {
        "n": n,
        "kind": kind,
        "name": str(g.graph.get("name", "")),
        "edges": sorted(sorted(e) for e in edges),
        "equalities": sorted(sorted(e) for e in equalities),
        "objective": [[sorted(m), str(c)] for m, c in objective.items()],
        "known_optimum": None if known_optimum is None else str(known_optimum),
    }


# -- the proof ------------------------------------------------------------------------------
def check_proof(document: dict[str, Any]) -> Fraction:
    """Return the certified bound, or raise :class:`ProofRejected` naming the first error.

    Checks the statement against its own graph, every step, the final identity and the
    stated ``known_optimum`` (:class:`Contradiction` if the bound is below it).
    """
    return verify_proof(document)


def verify_proof(
    document: dict[str, Any],
    problem: Any = None,
    graph: Any = None,
    kind: str = "stable_set",
) -> Fraction:
    """Verify a proof document, optionally against a problem given independently of it.

    ``problem``: a :class:`envs.polyproof.problem.Problem` or its JSON dict; ``graph``: a
    ``networkx.Graph`` read as a ``kind`` problem (``stable_set`` or ``max_cut``). Returns
    the certified bound; raises :class:`ProofRejected` (or :class:`Contradiction`).
    """
    if not isinstance(document, dict):
        raise ProofRejected("the document is not a JSON object")
    if document.get("format") != PROOF_FORMAT:
        raise ProofRejected(f"format is {document.get('format')!r}, expected {PROOF_FORMAT!r}")
    statement = Statement(document.get("problem"))
    given: Statement | None = None
    if problem is not None and graph is not None:
        raise ValueError("give either problem or graph, not both")
    if graph is not None:
        given = Statement(graph_statement(graph, kind), "given graph")
    elif problem is not None:
        data = problem if isinstance(problem, dict) else problem.to_json()
        given = Statement(data, "given problem")
    if given is not None:
        why = statement.mismatch(given)
        if why is not None:
            raise ProofRejected(f"not a proof of the given problem: {why}")
    n = statement.n
    algebra = _Algebra(n, sorted(statement.equalities, key=sorted))
    objective = algebra.normal(statement.objective)

    max_degree = document.get("max_degree")
    if max_degree is not None and (isinstance(max_degree, bool) or not isinstance(max_degree, int)):
        raise ProofRejected(f"bad max_degree {max_degree!r}")

    # axioms: 1, x_1..x_n, 1-x_1..1-x_n
    memory: list[Poly] = [{frozenset(): Fraction(1)}]
    memory += [algebra.normal({frozenset([i]): Fraction(1)}) for i in range(n)]
    memory += [
        algebra.normal({frozenset(): Fraction(1), frozenset([i]): Fraction(-1)}) for i in range(n)
    ]

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
            raise ProofRejected(
                f"{where}: degree {_degree(product)} exceeds max_degree {max_degree}"
            )
        if "polynomial" in step:
            claimed = algebra.normal(_parse_poly(step["polynomial"], n, where))
            if claimed != product:
                raise ProofRejected(
                    f"{where}: claims {_show(claimed)} but the product is {_show(product)}"
                )
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
    for optimum in (statement.known_optimum, None if given is None else given.known_optimum):
        if optimum is not None and bound < optimum:
            raise Contradiction(bound, optimum)
    return bound


# -- command line ---------------------------------------------------------------------------
def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc


def _read_graph(path: Path) -> Any:
    from envs.polyproof.graphs import GraphFormatError, read_dimacs

    try:
        return read_dimacs(path)
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except GraphFormatError as exc:
        raise UsageError(str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from exc


def main(argv: list[str] | None = None) -> int:
    """Check one proof file; see the module docstring for exit statuses."""
    parser = UsageParser(
        prog="python -m envs.polyproof.verify",
        description="Check a PolyProof proof (statement, steps, certificate) in exact arithmetic.",
    )
    parser.add_argument(
        "proof", type=Path, help="proof JSON file (Proof.save / certificate().save)"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dimacs", type=Path, help="verify against this DIMACS graph")
    source.add_argument("--problem", type=Path, help="verify against this problem JSON")
    parser.add_argument(
        "--kind", choices=GRAPH_KINDS, default="stable_set", help="problem of the --dimacs graph"
    )
    args = parser.parse_args(argv)
    document = _read_json(args.proof)
    graph = _read_graph(args.dimacs) if args.dimacs is not None else None
    problem = _read_json(args.problem) if args.problem is not None else None
    try:
        bound = verify_proof(document, problem=problem, graph=graph, kind=args.kind)
    except Contradiction as exc:
        print(f"contradiction: {exc}")
        return EXIT_CONTRADICTION
    except ProofRejected as exc:
        print(f"invalid: {exc}")
        return EXIT_INVALID
    statement = document["problem"]
    against = (
        f"dimacs {args.dimacs}"
        if args.dimacs is not None
        else f"problem {args.problem}"
        if args.problem is not None
        else "stated problem"
    )
    print(
        json.dumps(
            {
                "valid": True,
                "bound": str(bound),
                "bound_float": float(bound),
                "kind": statement.get("kind", "custom"),
                "n": statement["n"],
                "edges": len(statement.get("edges", [])),
                "name": statement.get("name", ""),
                "checked_against": against,
            }
        )
    )
    return 0


if __name__ == "__main__":
    run_cli(main)
