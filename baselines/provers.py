"""Dynamic provers without learning: uniformly random legal actions, and dual pricing.

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
    return _run("dual_pricing", problem, dual_pricing_choice, max_steps, max_degree, lp_time_limit)


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
    return _run("clique_cover", problem, clique_cover_choice, max_steps, max_degree, lp_time_limit)
