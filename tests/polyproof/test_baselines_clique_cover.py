"""The scripted greedy clique-cover prover (the expert for DQN demonstrations)."""

from __future__ import annotations

import numpy as np

from baselines.benchmark import graph_problem
from baselines.provers import clique_cover_choice, prove_clique_cover, prove_random
from envs.polyproof.graphs import named_graph, stable_set_from_graph
from envs.polyproof.problem import max_cut_problem
from envs.polyproof.session import ProofSession


def test_complete_graph_needs_one_clique() -> None:
    problem = stable_set_from_graph(named_graph("complete", 6))
    result = prove_clique_cover(problem)
    assert result.bound_exact == 1
    assert result.extra["steps"] == 5  # (1-x_u)(1-x_v), then 4 extensions
    assert result.proof.is_valid()


def test_random_graphs_certified_and_far_below_sherali_adams_level_3() -> None:
    bounds, alphas = [], []
    for index in range(3):
        problem, fields = graph_problem(0, 20, index)
        result = prove_clique_cover(problem)
        assert result.proof.is_valid()
        assert result.bound >= fields["alpha"] - 1e-9
        bounds.append(result.bound)
        alphas.append(fields["alpha"])
    assert np.mean(bounds) < 20 / 3 - 1
    random_mean = np.mean(
        [prove_random(graph_problem(0, 20, i)[0], seed=i).bound for i in range(3)]
    )
    assert np.mean(bounds) < random_mean - 2


def test_choice_is_legal_and_falls_back_without_edges() -> None:
    problem = max_cut_problem(4, [(0, 1), (1, 2)])
    session = ProofSession(problem)
    legal = np.flatnonzero(session.action_mask())
    assert int(clique_cover_choice(session, legal)) in set(legal.tolist())
