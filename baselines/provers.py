"""Dynamic provers without learning: random, dual pricing, clique cover, clique partition.

Both drive :class:`envs.polyproof.session.ProofSession` directly and return a
:class:`baselines.common.BoundResult` carrying an exact, verified proof.

Dual pricing (our own baseline, not in the paper): the LP dual of the bound LP
is a pseudo-moment functional ``L`` with ``L(1) = 1`` and ``L(m) >= 0`` on the
memory. A candidate ``c`` with ``L(c) < 0`` has negative reduced cost, so adding
it can lower the bound. Each step adds the legal candidate with the most
negative ``L(c) / ||c||_1`` (column generation over the derivable products).
"""

from __future__ import annotations

import time
from functools import lru_cache

import networkx as nx
import numpy as np

from baselines.common import BoundResult
from envs.highs import LPError
from envs.polyproof.problem import Problem
from envs.polyproof.proof import CertificateError
from envs.polyproof.session import ProofSession


def _finish(method: str, session: ProofSession, seconds: float, lp_seconds: float) -> BoundResult:
    proof = session.certificate(method=method)
    if not proof.is_valid():  # exact re-check of the certificate before it becomes a bound
        raise CertificateError(f"{method}: the recovered certificate does not verify")
    return BoundResult(
        method=method,
        bound=float(proof.bound),
        bound_exact=proof.bound,
        proof=proof,
        lp_columns=session.lp.num_columns + 1,
        lp_rows=session.lp.num_rows,
        build_seconds=seconds - lp_seconds,
        solve_seconds=lp_seconds,
        extra={"steps": len(session.steps)},
    )


def _run(
    method: str,
    problem: Problem,
    choose,
    max_steps: int,
    max_degree: int,
    lp_time_limit: float | None,
) -> BoundResult:
    start = time.perf_counter()
    session = ProofSession(
        problem,
        max_degree=max_degree,
        max_memory=2 * problem.n + 1 + max_steps,
        lp_time_limit=lp_time_limit,
    )
    lp_seconds = session.solution.seconds
    for _ in range(max_steps):
        if session.proves_optimum():
            break
        mask = session.action_mask()
        legal = np.flatnonzero(mask)
        if legal.size == 0:
            break
        action = int(choose(session, legal))
        try:
            session.apply(action)
        except LPError:
            pass  # the previous bound and its certificate stay valid
        lp_seconds += session.solution.seconds
    return _finish(method, session, time.perf_counter() - start, lp_seconds)


def prove_random(
    problem: Problem,
    seed: int = 0,
    max_steps: int = 100,
    max_degree: int = 2,
    lp_time_limit: float | None = 30.0,
) -> BoundResult:
    """Uniformly random legal actions (the paper's random prover)."""
    rng = np.random.default_rng(seed)
    return _run(
        "random", problem, lambda _s, legal: rng.choice(legal), max_steps, max_degree, lp_time_limit
    )


def dual_pricing_choice(session: ProofSession, legal: np.ndarray) -> int:
    """The legal action whose product has the most negative normalised pseudo-moment."""
    moments = session.pseudo_moments()
    candidates = session.candidate_matrix()[legal]
    values = candidates @ moments
    norms = np.asarray(abs(candidates).sum(axis=1)).ravel()
    scores = values / np.maximum(norms, 1e-12)
    return int(legal[int(np.argmin(scores))])


def prove_dual_pricing(
    problem: Problem,
    max_steps: int = 100,
    max_degree: int = 2,
    lp_time_limit: float | None = 30.0,
) -> BoundResult:
    """Column generation: add the candidate of most negative normalised reduced cost."""
    return prove_scripted("dual_pricing", problem, max_steps, max_degree, lp_time_limit)


def _clique_support(poly, n: int) -> frozenset[int] | None:
    """``S`` if ``poly == 1 - sum_{i in S} x_i`` with ``|S| >= 2``, else ``None``."""
    terms = poly.terms
    if len(terms) < 3 or terms.get((), 0) != 1:
        return None
    support = []
    for mono, coefficient in terms.items():
        if mono == ():
            continue
        if len(mono) != 1 or coefficient != -1:
            return None
        support.append(mono[0])
    return frozenset(support)


def clique_cover_choice(session: ProofSession, legal: np.ndarray) -> int:
    """Scripted greedy clique cover for stable-set problems (a hand-written expert).

    A clique ``S`` of the graph gives the inequality ``1 - sum_{i in S} x_i >= 0`` in
    ``|S| - 1`` steps: ``(1 - x_u)(1 - x_v)`` for an edge, then repeated multiplication
    by ``1 - x_k`` for a ``k`` adjacent to all of ``S`` (the edge equalities remove every
    product term). The policy reads everything from the session's memory: it extends the
    most recent clique by an uncovered common neighbour (the one keeping most uncovered
    common neighbours), otherwise starts a new clique at the uncovered vertex with most
    uncovered neighbours, otherwise makes existing cliques maximal; if none of these is
    legal it falls back to :func:`dual_pricing_choice`. The LP bound is then at most the
    number of cliques used.
    """
    problem = session.problem
    n = problem.n
    equalities = set(problem.equalities)
    if not problem.edges or not all(tuple(sorted(e)) in equalities for e in problem.edges):
        return dual_pricing_choice(session, legal)  # not a stable-set problem
    neighbours = [set() for _ in range(n)]
    for i, j in problem.edges:
        neighbours[i].add(j)
        neighbours[j].add(i)
    legal_set = set(int(a) for a in legal)
    width = session.num_multipliers
    axioms = 2 * n + 1
    cliques = []
    for slot in range(axioms, len(session.memory)):
        support = _clique_support(session.memory[slot], n)
        if support is not None:
            cliques.append((slot, support))
    covered = set().union(*(s for _, s in cliques)) if cliques else set()
    uncovered = set(range(n)) - covered

    def extension(slot: int, support: frozenset[int], allowed: set[int]) -> int | None:
        common = set.intersection(*(neighbours[i] for i in support)) & allowed
        ranked = sorted(common, key=lambda k: (-len(neighbours[k] & common & uncovered), k))
        for k in ranked:
            action = slot * width + n + k
            if action in legal_set:
                return action
        return None

    if cliques:
        slot, support = cliques[-1]
        action = extension(slot, support, uncovered)
        if action is not None:
            return action
    for u in sorted(uncovered, key=lambda v: (-len(neighbours[v] & uncovered), v)):
        partners = sorted(
            neighbours[u],
            key=lambda v: (v not in uncovered, -len(neighbours[u] & neighbours[v] & uncovered), v),
        )
        for v in partners:
            action = (n + 1 + u) * width + n + v
            if action in legal_set:
                return action
    for slot, support in reversed(cliques):
        action = extension(slot, support, set(range(n)))
        if action is not None:
            return action
    return dual_pricing_choice(session, legal)


def prove_clique_cover(
    problem: Problem,
    max_steps: int = 100,
    max_degree: int = 2,
    lp_time_limit: float | None = 30.0,
) -> BoundResult:
    """The scripted greedy clique-cover prover (:func:`clique_cover_choice`)."""
    return prove_scripted("clique_cover", problem, max_steps, max_degree, lp_time_limit)


# -- clique partition: a planned cover, then clique cuts priced by the LP ----------------------
@lru_cache(maxsize=256)
def _planned_partition(n: int, edges: tuple[tuple[int, int], ...]) -> tuple[frozenset[int], ...]:
    """A small partition of the vertices into cliques, largest first.

    The colour classes of the complement graph are cliques of the graph; the colouring
    with fewest colours among networkx's deterministic greedy strategies is kept.
    """
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    complement = nx.complement(graph)
    best: dict[int, int] | None = None
    for strategy in _COLOURING_STRATEGIES:
        colouring = nx.greedy_color(complement, strategy=strategy)
        if best is None or max(colouring.values()) < max(best.values()):
            best = colouring
    classes: dict[int, set[int]] = {}
    for vertex, colour in sorted(best.items()):
        classes.setdefault(colour, set()).add(vertex)
    return tuple(sorted((frozenset(c) for c in classes.values()), key=lambda c: (-len(c), min(c))))


_COLOURING_STRATEGIES = (
    "DSATUR",
    "largest_first",
    "smallest_last",
    "independent_set",
    "connected_sequential_bfs",
)


def _memory_cliques(session: ProofSession) -> dict[frozenset[int], int]:
    """Memory slot of each proved clique inequality ``1 - sum_S x >= 0`` (singletons: axioms)."""
    n = session.n
    cliques: dict[frozenset[int], int] = {}
    for slot in range(2 * n + 1, len(session.memory)):
        support = _clique_support(session.memory[slot], n)
        if support is not None:
            cliques.setdefault(support, slot)
    for u in range(n):
        cliques.setdefault(frozenset([u]), n + 1 + u)  # the axiom 1 - x_u >= 0
    return cliques


def _build_step(
    session: ProofSession,
    clique: frozenset[int],
    cliques: dict[frozenset[int], int],
    legal: set[int],
    weight: np.ndarray,
) -> int | None:
    """Next product towards ``clique``: extend its largest proved sub-clique by a vertex."""
    n, width = session.n, session.num_multipliers
    prefixes = sorted(
        (s for s in cliques if s < clique), key=lambda s: (-len(s), -weight[sorted(s)].sum(), min(s))
    )
    for support in prefixes:
        for k in sorted(clique - support, key=lambda v: (-weight[v], v)):
            action = cliques[support] * width + n + k
            if action in legal:
                return action
    return None


def _heaviest_clique(adjacency: np.ndarray, weight: np.ndarray) -> tuple[frozenset[int], float]:
    """A heavy clique under ``weight``: greedy from every start vertex, the best kept."""
    best: tuple[frozenset[int], float] = (frozenset(), 0.0)
    for start in np.flatnonzero(weight > 0):
        clique = [int(start)]
        allowed = adjacency[start].copy()
        while True:
            scores = np.where(allowed, weight, -np.inf)
            k = int(np.argmax(scores))
            if not allowed[k] or weight[k] <= 0:
                break
            clique.append(k)
            allowed &= adjacency[k]
        total = float(weight[clique].sum())
        if total > best[1] + 1e-12:
            best = (frozenset(clique), total)
    return best


def clique_partition_choice(session: ProofSession, legal: np.ndarray) -> int:
    """Scripted prover: a planned clique partition, then clique cuts (a stronger expert).

    First it proves the cliques of :func:`_planned_partition` (colour classes of the
    complement, fewest colours among several greedy colourings), each by a chain of
    products that starts from the largest clique already in memory. Then, while steps
    remain, it reads the LP's pseudo-moments ``L(x_i)`` and proves a heavy clique ``C``
    with ``sum_C L(x_i) > 1`` (a violated clique inequality: column generation whose
    pricing step is a heavy clique, found greedily). Otherwise it continues as
    :func:`clique_cover_choice`. Not a stable-set problem: :func:`dual_pricing_choice`.
    """
    problem = session.problem
    n = problem.n
    equalities = set(problem.equalities)
    if not problem.edges or not all(tuple(sorted(e)) in equalities for e in problem.edges):
        return dual_pricing_choice(session, legal)
    legal_set = set(int(a) for a in legal)
    cliques = _memory_cliques(session)
    moments = session.pseudo_moments()
    position = session.index.position  # type: ignore[attr-defined]
    weight = np.array([moments[position[(i,)]] for i in range(n)])
    edges = tuple(sorted(tuple(sorted(e)) for e in problem.edges))
    for clique in _planned_partition(n, edges):
        if len(clique) > 1 and clique not in cliques:
            action = _build_step(session, clique, cliques, legal_set, weight)
            if action is not None:
                return action
    adjacency = np.zeros((n, n), dtype=bool)
    for i, j in edges:
        adjacency[i, j] = adjacency[j, i] = True
    clique, total = _heaviest_clique(adjacency, weight)
    if total > 1 + 1e-6 and clique not in cliques:
        action = _build_step(session, clique, cliques, legal_set, weight)
        if action is not None:
            return action
    return clique_cover_choice(session, legal)


def prove_clique_partition(
    problem: Problem,
    max_steps: int = 100,
    max_degree: int = 2,
    lp_time_limit: float | None = 30.0,
) -> BoundResult:
    """The scripted clique-partition prover (:func:`clique_partition_choice`)."""
    return prove_scripted("clique_partition", problem, max_steps, max_degree, lp_time_limit)


#: The scripted choice rules, by method name (benchmark, evaluation and DQN demonstrations).
SCRIPTED_CHOICES = {
    "dual_pricing": dual_pricing_choice,
    "clique_cover": clique_cover_choice,
    "clique_partition": clique_partition_choice,
}


def prove_scripted(
    name: str,
    problem: Problem,
    max_steps: int = 100,
    max_degree: int = 2,
    lp_time_limit: float | None = 30.0,
) -> BoundResult:
    """Run the scripted prover ``name`` (a key of :data:`SCRIPTED_CHOICES`)."""
    if name not in SCRIPTED_CHOICES:
        raise ValueError(f"unknown scripted prover {name!r}: choose one of {sorted(SCRIPTED_CHOICES)}")
    return _run(name, problem, SCRIPTED_CHOICES[name], max_steps, max_degree, lp_time_limit)
