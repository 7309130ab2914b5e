"""RegionEnum-v0: checkers, rewards, baselines (priority 6)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401
from baselines.regions.samplers import (
    FundamentalDomainSampler,
    HoffmanRadiusSampler,
    UniformSampler,
    run_episode,
)
from envs.regions.env import RegionEnumEnv
from envs.regions.exact import count_regions_traversal
from envs.regions.network import random_network


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_env_checkers():
    env = RegionEnumEnv(budget=16)
    check_env(env)
    sb3_check_env(RegionEnumEnv(budget=16))
    deepsets = RegionEnumEnv(generator="deepsets", input_dim=3, budget=8)
    check_env(deepsets)


def test_registered_and_rewards():
    env = gym.make("RegionEnum-v0", budget=40, radius=4.0)
    observation, info = env.reset(seed=3)
    assert env.observation_space.contains(observation)
    network = env.unwrapped.state.network
    total = count_regions_traversal(network, box_radius=4.0).count
    assert info["total"] == total and info["found"] == 0
    rewards, regions = [], set()
    rng = np.random.default_rng(0)
    for step in range(40):
        point = rng.uniform(-4, 4, size=2).astype(np.float32)
        observation, reward, terminated, truncated, info = env.step(point)
        assert env.observation_space.contains(observation)
        assert reward == (1.0 if info["is_new"] else 0.0)
        regions.add(info["region"])
        rewards.append(reward)
        assert terminated == (step == 39) and not truncated
    assert sum(rewards) == info["found"] == len(regions - {-1})
    with pytest.raises(RuntimeError):
        env.step(np.zeros(2, dtype=np.float32))


def test_fixed_network_all_regions_found_by_cell_points():
    network = random_network([2, 5, 1], 2)
    env = RegionEnumEnv(network=network, budget=200, radius=3.0, stop_when_complete=True)
    _, info = env.reset(seed=0)
    points = count_regions_traversal(network, box_radius=3.0).cell_points
    found = 0
    for point in points:
        _, reward, terminated, _, info = env.step(np.asarray(point, dtype=np.float32))
        found += reward
        if terminated:
            break
    assert info["found"] == info["total"] == found


def test_bad_input():
    with pytest.raises(ValueError):
        RegionEnumEnv(budget=0)
    with pytest.raises(ValueError):
        RegionEnumEnv(radius=-1.0)
    with pytest.raises(ValueError):
        RegionEnumEnv(architectures=[[2, 3, 1], [3, 3, 1]])
    env = RegionEnumEnv()
    with pytest.raises(RuntimeError):
        env.step(np.zeros(2))
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError):
        env.step(np.zeros(3))
    with pytest.raises(ValueError):
        env.reset(options={"network": random_network([3, 2, 1], 0)})


def test_samplers_run_and_are_deterministic():
    env = RegionEnumEnv(budget=30)
    for sampler_cls in (UniformSampler, HoffmanRadiusSampler):
        a = run_episode(env, sampler_cls(seed=1), seed=5)
        b = run_episode(env, sampler_cls(seed=1), seed=5)
        assert a["found"] == b["found"] and 0 < a["found"] <= a["total"]
    hoffman = HoffmanRadiusSampler(seed=0)
    env.reset(seed=5)
    hoffman.reset(env)
    assert hoffman.effective_radius > 0
    deepsets = RegionEnumEnv(generator="deepsets", input_dim=3, budget=60)
    result = run_episode(deepsets, FundamentalDomainSampler(seed=0), seed=2)
    assert 0 < result["found"] <= result["total"]


@pytest.mark.slow
def test_ppo_training_script_runs(tmp_path):
    from agents.regions.train import main

    summary = main(["--timesteps", "256", "--output-dir", str(tmp_path)])
    assert (tmp_path / "model.zip").exists() and (tmp_path / "evaluation.csv").exists()
    assert 0 <= summary["agent_found_fraction"] <= 1
