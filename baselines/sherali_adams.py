"""Sherali–Adams level-l bound (the paper's eq. 10), with an exact, checkable proof.

The level-``l`` LP is::

    min gamma  s.t.  gamma - f = sum lambda_{A,B} x^A prod_{j in B} (1 - x_j)   (normal form),
                     lambda >= 0,  A ∩ B = ∅,  |A| + |B| <= l.

**Distinct generators.** In normal form ``x^A (1 - x_j) = x^A`` whenever ``x^{A ∪ j}``
reduces to zero, and ``x^A = 0`` when ``A`` contains an equality support. Hence every
nonzero reduced generator equals ``g(A, B) = x^A prod_{j in B} (1 - x_j)`` with ``A`` a
nonzero monomial and ``B ⊆ F(A) = {j ∉ A : x^{A ∪ j} != 0}``. These are pairwise
distinct: ``x^A`` is the only lowest-degree term of ``g(A, B)`` and the next degree's
terms are exactly ``x^{A ∪ j}``, ``j ∈ B`` (coefficients ±1, no cancellation). So the
number of distinct generators is ``sum_A sum_{b <= l-|A|} C(|F(A)|, b)``, computed by
:func:`count_generators` without building anything.

**Implementation.** Sets are rows of small integer arrays; monomials are looked up by
an integer key (a bit mask for ``n <= 62``, base ``n+1`` digits beyond). Nonzero monomials are enumerated degree by
degree, generators ``(A, B)`` by extending ``B`` one free variable at a time, and each
generator is expanded as ``sum_{C ⊆ B} (-1)^{|C|} x^{A ∪ C}`` (dropping the zero
monomials) in vectorised blocks. The sparse CSC matrix is passed to HiGHS in one call
(presolve off by default: measured slower on these LPs; ``presolve=True`` turns it on).

**Certificate.** HiGHS's float multipliers are made exact with
:func:`envs.polyproof.proof.exact_certificate` on the LP support (then on the basis),
and every generator with a nonzero multiplier becomes a chain of proof steps from an
axiom, multiplying one factor at a time (``x_a`` for ``a ∈ A`` first, then ``1 - x_j``),
with shared prefixes. The returned :class:`~envs.polyproof.proof.Proof` has
``max_degree = l`` and is checked with ``Proof.is_valid()`` before it is returned.

CLI::

    python -m baselines.sherali_adams --dimacs FILE --level L [--time-limit S] [--proof-out P.json]
    python -m baselines.sherali_adams --random-n 50 --level 5 --count-only
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

import highspy
import numpy as np

from baselines.common import BoundResult
from baselines.sherali_adams_monomials import (
    DEFAULT_MEMORY_BUDGET,
    GIB,
    MemoryBudgetError,
    _check_level,
    _enumerate_monomials,
    _is_zero_sets,
    _keys,
    _lookup,
    _Monomials,
    _Structure,
    _structure,
    count_generators,
)
from envs.cli import UsageError, UsageParser, run_cli
from envs.highs import INF, LPError, new_highs, status_name
from envs.polyproof.polynomial import Monomial, Polynomial
from envs.polyproof.problem import Problem
from envs.polyproof.proof import CertificateError, Proof, ProofStep, exact_certificate

_BLOCK = 1 << 17  # generators expanded per vectorised block


# ---------------------------------------------------------------------------------------
# Generators and the LP matrix
# ---------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Generators ``x^A prod_{B}(1 - x_j)`` with ``|A| = a`` and ``|B| = b``."""

    a: int
    b: int
    a_index: np.ndarray  # index into monomials of degree a
    b_sets: np.ndarray  # (N, b) sorted
    first_column: int = 0  # LP column (0-based among generators) of the first one


@dataclass
class SheraliAdamsLP:
    """The level-``l`` LP in CSC form (generator columns only; gamma is added when solving)."""

    problem: Problem
    level: int
    row_monomials: list[np.ndarray]  # by degree
    row_offsets: list[int]
    groups: list[_Group]
    col_start: np.ndarray  # int64, length columns + 1
    row_index: np.ndarray  # int32
    values: np.ndarray  # float64 (entries are +-1)
    build_seconds: float
    monomials: _Monomials
    timings: dict[str, float] = field(default_factory=dict)
    _row_tuples: list[Monomial] | None = field(default=None, repr=False)

    @property
    def num_columns(self) -> int:
        return int(self.col_start.size - 1)

    @property
    def num_rows(self) -> int:
        return self.row_offsets[-1]

    @property
    def num_nonzeros(self) -> int:
        return int(self.row_index.size)

    def row_monomial(self, row: int) -> Monomial:
        """The monomial of LP row ``row`` (0-based, gamma's constant row is row 0)."""
        if self._row_tuples is None:
            self._row_tuples = [
                tuple(int(i) for i in mono) for sets in self.row_monomials for mono in sets
            ]
        return self._row_tuples[row]

    def generator(self, column: int) -> tuple[Monomial, Monomial]:
        """``(A, B)`` of a generator column."""
        for group in self.groups:
            if group.first_column <= column < group.first_column + group.b_sets.shape[0]:
                r = column - group.first_column
                a = tuple(int(i) for i in self.row_monomials[group.a][group.a_index[r]])
                return a, tuple(int(i) for i in group.b_sets[r])
        raise IndexError(f"column {column} out of range")

    def column_polynomial(self, column: int) -> Polynomial:
        lo, hi = int(self.col_start[column]), int(self.col_start[column + 1])
        return Polynomial._trusted(
            {
                self.row_monomial(int(r)): int(v)
                for r, v in zip(self.row_index[lo:hi], self.values[lo:hi], strict=True)
            }
        )


def _expand_group(
    monos: _Monomials, st: _Structure, a_sets: np.ndarray, b_sets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC pieces of a block: per-column counts, row indices, values (column-major).

    Pattern ``p`` (a bit set over the positions of ``B``) is the term
    ``(-1)^{|C|} x^{A ∪ C}``; its key and its validity are obtained from the pattern
    without its highest bit, so each pattern costs a few vector operations.
    """
    count, b = b_sets.shape
    num_patterns = 1 << b
    pair_ok = {
        (s, t): ~st.adjacency[b_sets[:, s], b_sets[:, t]] for s, t in combinations(range(b), 2)
    }
    bitmask = monos.base == 0
    keys = np.empty((num_patterns, count), dtype=np.int64)  # pattern-major: contiguous
    valid = np.empty((num_patterns, count), dtype=bool)
    vals = np.empty(num_patterns, dtype=np.float64)
    keys[0] = _keys(a_sets, monos.base)
    valid[0] = True
    vals[0] = 1.0
    bits = np.left_shift(np.int64(1), b_sets.T.astype(np.int64)) if bitmask else None
    for p in range(1, num_patterns):
        high = p.bit_length() - 1
        prev = p ^ (1 << high)
        chosen = [s for s in range(b) if p >> s & 1]
        vals[p] = -vals[prev]
        ok = valid[prev].copy()
        for s in chosen[:-1]:
            ok &= pair_ok[(s, high)]
        if bitmask and not (st.higher and len(chosen) >= 2):
            np.add(keys[prev], bits[high], out=keys[p])
        else:
            terms = np.concatenate([a_sets, b_sets[:, chosen]], axis=1)
            terms.sort(axis=1)
            if st.higher and len(chosen) >= 2:
                ok &= ~_is_zero_sets(terms, st)
            keys[p] = _keys(terms, monos.base)
        valid[p] = ok
    counts = valid.sum(axis=0)
    valid_t = valid.T  # generator-major order = CSC order
    flat_valid = valid_t.ravel()
    rows = _lookup(monos, keys.T.ravel()[flat_valid])
    return (
        counts,
        rows.astype(np.int32),
        np.broadcast_to(vals, valid_t.shape).ravel()[flat_valid],
    )


def build_sherali_adams_lp(
    problem: Problem,
    level: int,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool = False,
) -> SheraliAdamsLP:
    """Enumerate the distinct reduced generators and assemble the LP matrix.

    Refuses with :class:`MemoryBudgetError` (before building anything large) when the
    estimated memory exceeds ``memory_budget`` bytes.
    """
    start = time.perf_counter()
    estimate = count_generators(problem, level, memory_budget)
    if estimate.bytes_upper > memory_budget:
        raise MemoryBudgetError(level, estimate, int(memory_budget))
    timings = {"count": time.perf_counter() - start}
    st = _structure(problem)
    monos = _enumerate_monomials(problem, level, st, math.inf)
    arange = np.arange(problem.n)

    # generators: start from B = ∅ for every A, extend B by free variables in increasing order
    groups: list[_Group] = []
    frontier = [
        _Group(
            a,
            0,
            np.arange(monos.by_degree[a].shape[0]),
            np.zeros((monos.by_degree[a].shape[0], 0), np.int32),
        )
        for a in range(level + 1)
    ]
    while frontier:
        groups.extend(frontier)
        nxt = []
        for g in frontier:
            if g.a + g.b >= level or g.a_index.size == 0:
                continue
            free = monos.free[g.a][g.a_index]
            if g.b:
                free = free & (arange[None, :] > g.b_sets[:, -1][:, None])
            parent, j = np.nonzero(free)
            if parent.size:
                b_sets = np.concatenate([g.b_sets[parent], j[:, None].astype(np.int32)], axis=1)
                nxt.append(_Group(g.a, g.b + 1, g.a_index[parent], b_sets))
        frontier = nxt
    timings["enumerate"] = time.perf_counter() - start - timings["count"]

    counts_all, rows_all, vals_all = [], [], []
    column = 0
    blocks = [(g, lo) for g in groups for lo in range(0, g.a_index.size, _BLOCK)]
    iterator = blocks
    if progress:
        from tqdm import tqdm

        iterator = tqdm(blocks, desc=f"SA level {level} build", leave=False)
    for g, lo in iterator:
        if lo == 0:
            g.first_column = column
        hi = min(lo + _BLOCK, g.a_index.size)
        a_sets = monos.by_degree[g.a][g.a_index[lo:hi]]
        counts, rows, vals = _expand_group(monos, st, a_sets, g.b_sets[lo:hi])
        counts_all.append(counts)
        rows_all.append(rows)
        vals_all.append(vals)
        column += hi - lo
    counts = np.concatenate(counts_all) if counts_all else np.zeros(0, np.int64)
    col_start = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=col_start[1:])
    if column != estimate.generators:
        raise RuntimeError(
            f"internal error: enumerated {column} generators, counted {estimate.generators}"
        )
    timings["expand"] = time.perf_counter() - start - timings["count"] - timings["enumerate"]
    return SheraliAdamsLP(
        problem=problem,
        level=level,
        row_monomials=monos.by_degree,
        row_offsets=monos.offsets,
        groups=groups,
        col_start=col_start,
        row_index=np.concatenate(rows_all) if rows_all else np.zeros(0, np.int32),
        values=np.concatenate(vals_all) if vals_all else np.zeros(0),
        build_seconds=time.perf_counter() - start,
        monomials=monos,
        timings=timings,
    )


# ---------------------------------------------------------------------------------------
# Solving and certifying
# ---------------------------------------------------------------------------------------
def _objective_rhs(lp: SheraliAdamsLP) -> np.ndarray:
    """``-f[S]`` for every row ``S`` (the objective's monomials must all be rows)."""
    rhs = np.zeros(lp.num_rows)
    monos = lp.monomials
    for mono, c in lp.problem.objective.terms.items():
        if len(mono) > lp.level:
            raise ValueError(f"objective monomial {mono} has degree above level {lp.level}")
        row = _lookup(monos, _keys(np.asarray([mono], dtype=np.int64).reshape(1, -1), monos.base))
        rhs[int(row[0])] = -float(c)
    return rhs


def solve_lp(
    lp: SheraliAdamsLP,
    time_limit: float | None = None,
    threads: int = 1,
    presolve: bool = False,
):
    """Solve with HiGHS. Returns ``(model, gamma, lambdas, seconds)``.

    Presolve is off by default: on these LPs (many columns, few rows) it was
    measured 1.5-7x slower (n=20..30, levels 4-5, dual simplex).

    Raises :class:`envs.highs.LPError` unless HiGHS reports an optimal solution.
    """
    num_col = lp.num_columns + 1
    num_row = lp.num_rows
    # gamma is column 0: coefficient -1 in the constant row (row 0)
    starts = np.concatenate([[0], lp.col_start + 1]).astype(np.int32)
    index = np.concatenate([[0], lp.row_index]).astype(np.int32)
    value = np.concatenate([[-1.0], lp.values])
    cost = np.zeros(num_col)
    cost[0] = 1.0
    lower = np.zeros(num_col)
    lower[0] = -INF
    upper = np.full(num_col, INF)
    rhs = _objective_rhs(lp)
    model = new_highs(time_limit=time_limit, threads=threads, presolve=presolve)
    status = model.passModel(
        num_col,
        num_row,
        int(index.size),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        cost,
        lower,
        upper,
        rhs,
        rhs,
        starts,
        index,
        value,
        np.zeros(num_col, dtype=np.int32),  # all continuous
    )
    if status == highspy.HighsStatus.kError:
        raise LPError("Error", "HiGHS rejected the Sherali-Adams model")
    start = time.perf_counter()
    model.run()
    seconds = time.perf_counter() - start
    name = status_name(model)
    if name != "Optimal":
        raise LPError(name, f"Sherali-Adams level {lp.level} ({lp.num_columns} columns)")
    values = np.asarray(model.getSolution().col_value, dtype=np.float64)
    return model, float(values[0]), values[1:], seconds


def _factor_sequence(a: Monomial, b: Monomial, n: int) -> list[int]:
    """Multiplier codes (``i``: ``x_{i+1}``, ``n + i``: ``1 - x_{i+1}``) of a generator."""
    return list(a) + [n + j for j in b]


def proof_from_generators(
    problem: Problem,
    level: int,
    generators: list[tuple[Monomial, Monomial]],
    multipliers: list[Fraction],
    bound: Fraction,
    metadata: dict | None = None,
) -> Proof:
    """Derivation of each generator one factor at a time (shared prefixes) plus its multiplier."""
    n = problem.n
    steps: list[ProofStep] = []
    node_of: dict[tuple[int, ...], int] = {(): 0}
    mult: dict[int, Fraction] = {}
    for (a, b), lam in zip(generators, multipliers, strict=True):
        seq = tuple(_factor_sequence(a, b, n))
        if seq and (seq[:1] not in node_of):
            node_of[seq[:1]] = 1 + seq[0]  # axiom x_i (1 + i) or 1 - x_i (1 + n + i)
        for k in range(2, len(seq) + 1):
            prefix = seq[:k]
            if prefix not in node_of:
                steps.append(ProofStep(node_of[prefix[:-1]], prefix[-1]))
                node_of[prefix] = 2 * n + len(steps)
        index = node_of[seq]
        mult[index] = mult.get(index, Fraction(0)) + lam
    return Proof(
        problem=problem,
        steps=steps,
        multipliers=mult,
        bound=bound,
        max_degree=level,
        method=f"sherali_adams:{level}",
        metadata=dict(metadata or {}),
    )


def _basic_columns(model: highspy.Highs) -> np.ndarray:
    """Generator columns (0-based, gamma excluded) that are basic in HiGHS's final basis."""
    status, basic = model.getBasicVariables()
    if status != highspy.HighsStatus.kError:
        basic = np.asarray(basic, dtype=np.int64)
        return np.sort(basic[basic >= 1] - 1)
    basis = model.getBasis()
    if not basis.valid:
        return np.zeros(0, dtype=np.int64)
    kbasic = highspy.HighsBasisStatus.kBasic
    return np.asarray([j for j, s in enumerate(basis.col_status[1:]) if s == kbasic], np.int64)


def certify(
    lp: SheraliAdamsLP, model: highspy.Highs, lambdas: np.ndarray
) -> tuple[Fraction, Proof]:
    """Exact bound and verified proof from an optimal HiGHS solution."""
    scale = max(1.0, float(np.max(np.abs(lambdas)))) if lambdas.size else 1.0
    support = np.flatnonzero(lambdas > 1e-9 * scale)
    basic = _basic_columns(model)
    columns = np.union1d(support, basic)
    memory = [lp.column_polynomial(int(c)) for c in columns]
    local = {int(c): k for k, c in enumerate(columns)}
    bound, mult = exact_certificate(
        lp.problem,
        memory,
        lambdas[columns],
        basic=[local[int(c)] for c in basic],
    )
    chosen = sorted(mult)
    gens = [lp.generator(int(columns[k])) for k in chosen]
    proof = proof_from_generators(
        lp.problem,
        lp.level,
        gens,
        [mult[k] for k in chosen],
        bound,
        metadata={"lp_columns": lp.num_columns + 1, "lp_rows": lp.num_rows},
    )
    if not proof.is_valid():
        raise CertificateError("the Sherali-Adams proof does not verify (Proof.is_valid() failed)")
    return bound, proof


def sherali_adams_bound(
    problem: Problem,
    level: int,
    time_limit: float | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    certify_proof: bool = True,
    progress: bool = False,
    presolve: bool = False,
) -> BoundResult:
    """Level-``l`` Sherali–Adams bound with an exact, verified certificate.

    Raises :class:`MemoryBudgetError` for a level that would not fit,
    :class:`envs.highs.LPError` if HiGHS fails or times out, and
    :class:`envs.polyproof.proof.CertificateError` if no exact proof is found.
    With ``certify_proof=False`` the float bound is returned with ``proof=None`` and
    ``bound_exact`` rationalised from the float (for sizing experiments only).
    """
    _check_level(problem, level)
    lp = build_sherali_adams_lp(problem, level, memory_budget, progress=progress)
    model, gamma, lambdas, solve_seconds = solve_lp(lp, time_limit, presolve=presolve)
    cert_start = time.perf_counter()
    if certify_proof:
        bound, proof = certify(lp, model, lambdas)
    else:
        bound, proof = Fraction(gamma).limit_denominator(10**6), None
    cert_seconds = time.perf_counter() - cert_start
    return BoundResult(
        method=f"sherali_adams:{level}",
        bound=float(bound),
        bound_exact=bound,
        proof=proof,
        lp_columns=lp.num_columns + 1,
        lp_rows=lp.num_rows,
        build_seconds=lp.build_seconds,
        solve_seconds=solve_seconds,
        extra={
            "generators": lp.num_columns,
            "nonzeros": lp.num_nonzeros,
            "certificate_seconds": round(cert_seconds, 6),
            "proof_steps": None if proof is None else len(proof.steps),
            "float_bound": gamma,
        },
    )


# ---------------------------------------------------------------------------------------
# Brute force (tests and small cross-checks)
# ---------------------------------------------------------------------------------------
def brute_force_generators(problem: Problem, level: int) -> set[Polynomial]:
    """Distinct nonzero reduced generators by direct expansion (exponential; small n only)."""
    n = problem.n
    out: set[Polynomial] = set()
    for size in range(level + 1):
        for support in combinations(range(n), size):
            for a_size in range(size + 1):
                for a in combinations(support, a_size):
                    poly = Polynomial.constant(1)
                    for i in a:
                        poly = problem.multiply(poly, i)
                    for j in support:
                        if j not in a:
                            poly = problem.multiply(poly, n + j)
                    if not poly.is_zero():
                        out.add(poly)
    return out


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------
def _load_problem(args: argparse.Namespace) -> Problem:
    from envs.polyproof.graphs import random_graph, read_dimacs, stable_set_from_graph

    if args.dimacs:
        graph = read_dimacs(args.dimacs)
    else:
        graph = random_graph(args.random_n, np.random.default_rng(args.seed))
        graph.graph["name"] = f"G({args.random_n},p={graph.graph['p']:.3f},seed={args.seed})"
    return stable_set_from_graph(graph, with_optimum=args.alpha)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the bound as JSON; bad input raises :class:`UsageError` (see :mod:`envs.cli`).

    A memory budget that is too small (exit 2) and an LP or certificate failure (exit 1)
    are reported as JSON ``{"error": ..., "message": ...}`` on stdout.
    """
    parser = UsageParser(
        prog="python -m baselines.sherali_adams",
        description="Sherali-Adams level-l upper bound on alpha(G) with an exact proof.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dimacs", help="graph file in DIMACS .col/.clq format")
    source.add_argument("--random-n", type=int, help="use a random G(n,p), p~U[0.5,1]")
    parser.add_argument("--seed", type=int, default=0, help="seed for --random-n")
    parser.add_argument("--level", type=int, required=True)
    parser.add_argument("--time-limit", type=float, default=None, help="HiGHS time limit (s)")
    parser.add_argument("--memory-gib", type=float, default=DEFAULT_MEMORY_BUDGET / GIB)
    parser.add_argument("--presolve", action="store_true", help="HiGHS presolve (default off)")
    parser.add_argument("--count-only", action="store_true", help="only count generators")
    parser.add_argument("--alpha", action="store_true", help="also compute exact alpha(G)")
    parser.add_argument("--proof-out", help="save the proof as JSON (Proof.save)")
    args = parser.parse_args(argv)
    if args.level < 1:
        raise UsageError(f"--level must be >= 1, got {args.level}")
    if args.random_n is not None and args.random_n < 1:
        raise UsageError(f"--random-n must be >= 1, got {args.random_n}")
    if args.memory_gib <= 0 or (args.time_limit is not None and args.time_limit <= 0):
        raise UsageError("--memory-gib and --time-limit must be > 0")
    try:
        problem = _load_problem(args)
    except OSError as exc:
        raise UsageError(f"{args.dimacs}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a malformed DIMACS file (the message names file:line)
        raise UsageError(str(exc)) from None
    try:
        budget = args.memory_gib * GIB
        if args.count_only:
            est = count_generators(problem, args.level, budget)
            print(json.dumps({"n": problem.n, "name": problem.name, **est.as_dict()}))
            return 0
        start = time.perf_counter()
        result = sherali_adams_bound(
            problem, args.level, args.time_limit, budget, presolve=args.presolve
        )
        seconds = time.perf_counter() - start
    except MemoryBudgetError as exc:
        print(json.dumps({"error": "memory_budget", "message": str(exc)}))
        return 2
    except (LPError, CertificateError, ValueError, OSError) as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        return 1
    out = {
        "name": problem.name,
        "n": problem.n,
        "edges": len(problem.edges),
        "level": args.level,
        "bound": result.bound,
        "bound_exact": str(result.bound_exact),
        "lp_columns": result.lp_columns,
        "lp_rows": result.lp_rows,
        "generators": result.extra["generators"],
        "nonzeros": result.extra["nonzeros"],
        "build_seconds": round(result.build_seconds, 4),
        "solve_seconds": round(result.solve_seconds, 4),
        "seconds": round(seconds, 4),
        "proof_valid": result.proof is not None and result.proof.is_valid(),
    }
    if problem.known_optimum is not None:
        out["alpha"] = int(problem.known_optimum)
    if args.proof_out and result.proof is not None:
        result.proof.save(args.proof_out)
        out["proof_out"] = args.proof_out
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    run_cli(main)
