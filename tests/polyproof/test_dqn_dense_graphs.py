"""Regression: dense graphs at n = 50 no longer run out of legal actions (issue 13, section 1).

Cause: a clique ``S`` is proved by a chain of products with ``3, 4, ..., |S| + 1`` terms, so
clique proofs store ``O(|S|^2)`` terms, and the former default term budget
``4 * max_memory + 4n`` (1004 at n = 50) was used up after about 40 steps on G(50, 0.975):
every product then failed the "fits the observation" test and the mask went empty.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from baselines.provers import clique_cover_choice
from envs.polyproof.env import PolyProofEnv, default_max_terms
from envs.polyproof.graphs import stable_set_from_graph


def play_expert(env: PolyProofEnv, graph: nx.Graph) -> tuple[int, dict, bool]:
    env.reset(options={"problem": stable_set_from_graph(graph)})
    steps, info, terminated, truncated = 0, {}, False, False
    while not (terminated or truncated):
        legal = np.flatnonzero(env.action_masks())
        _, _, terminated, truncated, info = env.step(int(clique_cover_choice(env.session, legal)))
        steps += 1
    return steps, info, bool(env.action_masks().any())


def test_default_budget_fits_a_clique_proof_of_k50() -> None:
    env = PolyProofEnv(n=50, max_steps=100)
    assert env.max_terms == default_max_terms(50, env.max_memory, 100) >= 1 + 3 * 50 + 100 * 51
    steps, info, _ = play_expert(env, nx.complete_graph(50))
    assert info["proved_optimum"] and info["bound"] == pytest.approx(1.0)
    assert steps == 49  # the chain (1 - x_u)(1 - x_v)(1 - x_k)... over all 50 vertices


def test_former_budget_ran_out_of_legal_actions() -> None:
    n, max_steps = 50, 100
    old_budget = 4 * (2 * n + 1 + max_steps) + 4 * n  # 1004
    env = PolyProofEnv(n=n, max_steps=max_steps, max_terms=old_budget)
    steps, info, any_legal = play_expert(env, nx.complete_graph(n))
    assert not any_legal and not info["proved_optimum"] and steps < 49
    assert info["bound"] > 1.5


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_agent_keeps_legal_actions_on_dense_g50() -> None:
    """The shipped agent on G(50, 0.975) proves all 100 steps (was: no legal action after ~40)."""
    from agents.dqn import ProofDQN
    from agents.dqn.runner import run_greedy_episode
    from envs.polyproof.generator import RandomStableSetGenerator

    problem = RandomStableSetGenerator(n=50, p_range=(0.975, 0.975))(np.random.default_rng(3))
    env = PolyProofEnv(n=50, max_steps=100)
    model = ProofDQN.load("checkpoints/polyproof_dqn.zip", env=env, device="cpu")
    result = run_greedy_episode(model.policy, env, problem, certify=True)
    assert result.steps == 100 or env.session.proves_optimum()
