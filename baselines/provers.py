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
        problem, max_degree=max_degree, max_memory=2 * problem.n + 1 + max_steps, lp_time_limit=lp_time_limit
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
