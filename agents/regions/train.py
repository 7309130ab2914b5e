"""Train an SB3 PPO (or SAC) agent on RegionEnum-v0 and compare it with uniform sampling.

    python -m agents.regions.train --config configs/regions_ppo.yaml [--timesteps N]

Writes ``model.zip``, ``evaluation.csv`` (found fraction per episode for the agent and the
uniform baseline) and ``config.yaml`` into ``output_dir``.  Actions are rescaled to
``[-1, 1]`` with ``gymnasium.wrappers.RescaleAction`` for the agent.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium.wrappers import RescaleAction
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.monitor import Monitor

import envs  # noqa: F401
from baselines.regions.samplers import UniformSampler, run_episode
from envs.cli import UsageParser, run_cli


def make_env(env_kwargs: dict) -> gym.Env:
    env = gym.make("RegionEnum-v0", **env_kwargs)
    return RescaleAction(env, np.float32(-1.0), np.float32(1.0))


def evaluate_agent(model, env_kwargs: dict, episodes: int, seed: int) -> list[float]:
    env = make_env(env_kwargs)
    fractions = []
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        done = False
        while not done:
            action, _ = model.predict(observation, deterministic=False)
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        fractions.append(info["found_fraction"])
    return fractions


def main(argv: list[str] | None = None) -> dict:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--config", default="configs/regions_ppo.yaml")
    parser.add_argument("--timesteps", type=int, default=None, help="override total_timesteps")
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("POLYGYM_TORCH_THREADS", "1")))
    config = yaml.safe_load(Path(args.config).read_text())
    if args.timesteps is not None:
        config["total_timesteps"] = args.timesteps
    if args.output_dir is not None:
        config["output_dir"] = args.output_dir
    algorithm = config.get("algorithm", "ppo").lower()
    if algorithm not in ("ppo", "sac"):
        raise ValueError(f"algorithm must be ppo or sac, got {algorithm!r}")
    output = Path(config["output_dir"])
    output.mkdir(parents=True, exist_ok=True)
    env_kwargs = dict(config.get("env", {}))
    env = Monitor(make_env(env_kwargs))
    seed = int(config.get("seed", 0))
    if algorithm == "ppo":
        model = PPO("MlpPolicy", env, seed=seed, verbose=0, **config.get("ppo", {}))
    else:
        model = SAC("MlpPolicy", env, seed=seed, verbose=0, **config.get("sac", {}))
    begin = time.perf_counter()
    model.learn(total_timesteps=int(config["total_timesteps"]), progress_bar=False)
    train_seconds = time.perf_counter() - begin
    model.save(output / "model.zip")
    evaluation = config.get("evaluation", {})
    episodes, eval_seed = int(evaluation.get("episodes", 20)), int(evaluation.get("seed", 1000))
    agent = evaluate_agent(model, env_kwargs, episodes, eval_seed)
    uniform_env = gym.make("RegionEnum-v0", **env_kwargs)
    sampler = UniformSampler(seed=eval_seed)
    uniform = [
        run_episode(uniform_env, sampler, seed=eval_seed + e)["found_fraction"]
        for e in range(episodes)
    ]
    with open(output / "evaluation.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["episode", "agent_found_fraction", "uniform_found_fraction"])
        for episode, (a, u) in enumerate(zip(agent, uniform, strict=True)):
            writer.writerow([episode, f"{a:.6f}", f"{u:.6f}"])
    (output / "config.yaml").write_text(yaml.safe_dump(config))
    summary = {
        "algorithm": algorithm,
        "timesteps": int(config["total_timesteps"]),
        "train_seconds": round(train_seconds, 2),
        "agent_found_fraction": float(np.mean(agent)),
        "uniform_found_fraction": float(np.mean(uniform)),
    }
    print(summary)
    return summary


if __name__ == "__main__":
    run_cli(main)
