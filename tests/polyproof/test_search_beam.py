"""agents.dqn.search: env forks match a replay, beam width 1 is the greedy agent, beams verify."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from agents.dqn.search import beam_search, fork_env, parse_beam_method
from baselines.benchmark import graph_problem
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.verify import check_proof

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "dqn_cpu_dagger.zip"


@pytest.fixture(scope="module")
def q_net():
    from agents.evaluate import load_q_network

    return load_q_network(CHECKPOINT)


def _random_steps(env: PolyProofEnv, obs: dict, rng: np.random.Generator, k: int) -> dict:
    for _ in range(k):
        legal = np.flatnonzero(obs["action_mask"])
        if legal.size == 0:
            break
        obs, *_ = env.step(int(rng.choice(legal)))
    return obs


def _same_state(a: PolyProofEnv, b: PolyProofEnv) -> None:
    assert a.session.steps == b.session.steps
    assert a.session.bound == b.session.bound
    assert a.session.memory == b.session.memory
    oa, ob = a._observation(), b._observation()
    assert all(np.array_equal(oa[k], ob[k]) for k in oa)


def test_parse_beam_method() -> None:
    assert parse_beam_method("agent_beam:4") == (4, 4)
    assert parse_beam_method("agent_beam:8x2") == (8, 2)
    assert parse_beam_method("agent") is None and parse_beam_method("clique_cover") is None
    for bad in ("agent_beam", "agent_beam:", "agent_beam:0", "agent_beam:x2", "agent_beam:4x0"):
        with pytest.raises(ValueError, match="agent_beam:<width>"):
            parse_beam_method(bad)


def test_fork_matches_replay_and_is_independent() -> None:
    problem, _ = graph_problem(0, 12, 3)
    env = PolyProofEnv(n=12, max_steps=40)
    obs, _ = env.reset(options={"problem": problem})
    rng = np.random.default_rng(0)
    obs = _random_steps(env, obs, rng, 12)
    before = copy.deepcopy(env.session.memory)
    fork, replay = fork_env(env), fork_env(env, replay=True)
    _same_state(fork, replay)
    _same_state(fork, env)
    # step the parent first, then the fork and the replay with other actions
    _random_steps(env, env._observation(), np.random.default_rng(1), 5)
    obs_f = _random_steps(fork, fork._observation(), np.random.default_rng(2), 10)
    _random_steps(replay, replay._observation(), np.random.default_rng(2), 10)
    _same_state(fork, replay)
    assert env.session.memory[: len(before)] == before
    assert env.session.steps != fork.session.steps
    # the fork's certificate is exact and independently verified
    proof = fork.certificate()
    assert proof.is_valid() and check_proof(proof.to_json()) == proof.bound
    assert float(proof.bound) == pytest.approx(float(obs_f["bound"][0]), abs=1e-6)


@pytest.mark.usefixtures("one_torch_thread")
def test_forked_q_cache_gives_fresh_values(q_net) -> None:
    from agents.dqn.policies import CachedQEvaluator

    problem, _ = graph_problem(0, 10, 1)
    env = PolyProofEnv(n=10, max_steps=30)
    obs, _ = env.reset(options={"problem": problem})
    cache = CachedQEvaluator(q_net)
    q = cache.q_values(obs)
    child, forked_cache = fork_env(env), copy.copy(cache)
    child_obs, *_ = child.step(int(np.argmax(q)))
    np.testing.assert_allclose(
        forked_cache.q_values(child_obs), CachedQEvaluator(q_net).q_values(child_obs), rtol=1e-5
    )


@pytest.mark.usefixtures("one_torch_thread")
def test_width_one_is_greedy_and_beams_are_deterministic(q_net) -> None:
    import torch

    from agents.dqn.policies import CachedQEvaluator
    from agents.dqn.runner import run_greedy_episode
    from agents.evaluate import GreedyProver

    problem, _ = graph_problem(0, 10, 2)
    with torch.no_grad():
        greedy = run_greedy_episode(
            GreedyProver(q_net), PolyProofEnv(n=10, max_steps=25), problem, certify=True
        )
        one = beam_search(CachedQEvaluator(q_net), PolyProofEnv(n=10, max_steps=25), problem, 1, 1)
        assert one.bound == pytest.approx(greedy.bound)
        assert one.steps == greedy.steps and one.lp_solves == greedy.steps + 1
        runs = [
            beam_search(CachedQEvaluator(q_net), PolyProofEnv(n=10, max_steps=25), problem, 3, 2)
            for _ in range(2)
        ]
    assert runs[0].bound == runs[1].bound and runs[0].lp_solves == runs[1].lp_solves
    assert runs[0].env.session.steps == runs[1].env.session.steps
    assert runs[0].lp_solves == runs[0].forks + 1
    proof = runs[0].env.certificate()
    assert proof.is_valid() and check_proof(proof.to_json()) == proof.bound
    assert proof.bound >= problem.known_optimum


def test_bad_width() -> None:
    problem, _ = graph_problem(0, 6, 0)
    with pytest.raises(ValueError, match="width"):
        beam_search(None, PolyProofEnv(n=6), problem, 0)


def test_beam_is_never_worse_than_greedy(q_net) -> None:
    """The greedy line stays in the beam, so the beam's bound is at most the greedy bound."""
    import torch

    from agents.dqn.policies import CachedQEvaluator
    from agents.dqn.runner import run_greedy_episode
    from agents.evaluate import GreedyProver

    with torch.no_grad():
        for index in range(4):
            problem, _ = graph_problem(2026, 12, index)
            greedy = run_greedy_episode(
                GreedyProver(q_net), PolyProofEnv(n=12, max_steps=20), problem, certify=False
            )
            beam = beam_search(
                CachedQEvaluator(q_net), PolyProofEnv(n=12, max_steps=20), problem, 2, 2
            )
            assert beam.bound <= greedy.bound + 1e-9, index
