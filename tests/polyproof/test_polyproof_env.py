"""PolyProof-v0: checkers, masking, scripted proofs, determinism, LP failures."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the ids)
from envs.highs import LPError
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.generator import RandomMaxCutGenerator
from envs.polyproof.graphs import named_graph


def test_registered_and_checkers_pass():
    env = gym.make("PolyProof-v0", n=7)
    check_env(env.unwrapped)
    sb3_check_env(PolyProofEnv(n=7), warn=False)


def _multiply_action(env: PolyProofEnv, parent: int, multiplier: int) -> int:
    return parent * 2 * env.n + multiplier


@pytest.mark.parametrize("n", [3, 5, 8])
def test_complete_graph_scripted_proof(n):
    env = PolyProofEnv(problem=named_graph("complete", n), max_degree=2)
    _, info = env.reset(seed=0)
    assert info["bound"] == pytest.approx(n)
    parent = n + 1  # memory index of 1 - x1
    for i in range(1, n):
        _, reward, terminated, truncated, info = env.step(_multiply_action(env, parent, n + i))
        assert reward == pytest.approx(1.0)
        parent = info["memory_size"] - 1
    assert info["bound"] == pytest.approx(1.0)
    assert terminated and not truncated  # alpha(K_n) = 1 is proved
    proof = env.certificate()
    assert proof.bound == 1 and proof.is_valid()
    assert len(proof.steps) == n - 1


def test_render_uses_paper_format():
    env = PolyProofEnv(problem=named_graph("complete", 4), render_mode="ansi")
    env.reset(seed=0)
    env.step(_multiply_action(env, 4 + 1, 4 + 1))
    env.step(_multiply_action(env, 9, 4 + 2))
    text = env.render()
    assert "[Step 0] 0 <= -x1 - x2 + 1 = (-x1 + 1) * (-x2 + 1)" in text
    assert "[Step 1] 0 <= -x1 - x2 - x3 + 1 = [Step 0] * (-x3 + 1)" in text


def test_masked_action_is_penalised_and_changes_nothing():
    env = PolyProofEnv(n=6, invalid_action_penalty=0.5)
    obs, info = env.reset(seed=1)
    masked = np.flatnonzero(~info["action_mask"])
    assert masked.size > 0
    before = {k: v.copy() for k, v in obs.items()}
    obs2, reward, terminated, truncated, info2 = env.step(int(masked[-1]))
    assert reward == -0.5 and info2["invalid_action"]
    for key in before:
        if key != "steps_left":
            np.testing.assert_array_equal(before[key], obs2[key])
    assert info2["memory_size"] == info["memory_size"]


def test_out_of_range_action_raises():
    env = PolyProofEnv(n=4)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside"):
        env.step(env.action_space.n)
    with pytest.raises(ValueError):
        env.step(-1)
    with pytest.raises(ValueError):
        env.step(1.5)


def test_mask_rules_degree_zero_duplicate():
    env = PolyProofEnv(problem=named_graph("path", 3), max_degree=2)  # edges x1x2, x2x3
    env.reset(seed=0)
    mask = env.action_masks()
    n = env.n
    # x1 * x1 duplicates x1; x1 * x2 = 0; (1 - x1) * (1 - x1) duplicates 1 - x1
    assert not mask[_multiply_action(env, 1, 0)]
    assert not mask[_multiply_action(env, 1, 1)]
    assert not mask[_multiply_action(env, n + 1, n)]
    assert mask[_multiply_action(env, 1, 2)]  # x1 x3 is new
    # empty memory slots are masked
    assert not mask[_multiply_action(env, env.session.max_memory - 1, 0)]


def test_degree_limit_is_enforced():
    env = PolyProofEnv(problem=named_graph("empty", 4), max_degree=2)
    env.reset(seed=0)
    env.step(_multiply_action(env, 1, 1))  # x1 x2
    idx = env.session.memory.__len__() - 1
    assert not env.action_masks()[_multiply_action(env, idx, 2)]  # x1 x2 x3: degree 3
    status = env.session.status[_multiply_action(env, idx, 2)]
    assert status == 2  # DEGREE_TOO_HIGH


def test_same_seed_same_episode():
    def rollout(seed):
        env = PolyProofEnv(n=10)
        obs, info = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        bounds = []
        for _ in range(20):
            a = int(rng.choice(np.flatnonzero(info["action_mask"])))
            obs, r, te, tr, info = env.step(a)
            bounds.append(info["bound"])
        return obs, bounds

    o1, b1 = rollout(5)
    o2, b2 = rollout(5)
    assert b1 == b2
    for key in o1:
        np.testing.assert_array_equal(o1[key], o2[key])


def test_episode_truncates_at_max_steps():
    env = PolyProofEnv(n=12, max_steps=5, p_range=(0.5, 0.5))
    _, info = env.reset(seed=0)
    done = False
    steps = 0
    while not done:
        a = int(np.flatnonzero(info["action_mask"])[0])
        _, _, terminated, truncated, info = env.step(a)
        steps += 1
        done = terminated or truncated
    assert steps <= 5


def test_reset_with_given_problem_and_wrong_size():
    env = PolyProofEnv(n=5)
    _, info = env.reset(seed=0, options={"graph": named_graph("cycle", 5)})
    assert info["known_optimum"] == 2
    with pytest.raises(ValueError, match="n=6"):
        env.reset(options={"graph": named_graph("cycle", 6)})


def test_maxcut_env_reaches_a_finite_certified_bound():
    env = PolyProofEnv(generator=RandomMaxCutGenerator(n=5), max_steps=60)
    _, info = env.reset(seed=0)
    assert info["bound"] == float("inf")  # the axioms alone cannot cancel x_i x_j terms
    rng = np.random.default_rng(0)
    done = False
    while not done:
        a = int(rng.choice(np.flatnonzero(info["action_mask"])))
        _, reward, te, tr, info = env.step(a)
        assert reward >= 0
        done = te or tr
    assert np.isfinite(info["bound"])
    proof = env.certificate()
    assert proof.is_valid()
    problem = env.problem
    best = max(problem.objective.evaluate([(m >> i) & 1 for i in range(5)]) for m in range(32))
    assert proof.bound >= best


def test_lp_failure_is_reported_not_turned_into_a_bound(monkeypatch):
    env = PolyProofEnv(n=6)
    _, info = env.reset(seed=0)
    bound_before = info["bound"]

    def failing_solve(self):
        raise LPError("Time limit reached")

    monkeypatch.setattr("envs.polyproof.lp.BoundLP.solve", failing_solve)
    a = int(np.flatnonzero(info["action_mask"])[0])
    _, reward, _, _, info = env.step(a)
    assert info["lp_status"] == "Time limit reached"
    assert info["bound"] == bound_before and reward == 0.0


def test_observation_size_is_documented():
    env = PolyProofEnv(n=25)
    obs, _ = env.reset(seed=0)
    nbytes = sum(v.nbytes for v in obs.values())
    assert nbytes < 28_000  # ~26 KB: 100k transitions (obs + next_obs) ~ 5.1 GB
    assert obs["objective"].shape == (326,)
