"""Environments, vectorised collection, the model and validation graphs for ``agents/train_dqn.py``."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from agents.dqn.config import TrainArgs
from agents.dqn.dqn import ProofDQN
from agents.dqn.prioritized import PrioritizedMaskedReplayBuffer
from agents.dqn.runner import ReplayableEnv, run_greedy_episode
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.generator import RandomStableSetGenerator
from envs.polyproof.problem import Problem


def make_env(args: TrainArgs, n: int | None = None) -> PolyProofEnv:
    """The training env (at ``n`` if given, else ``args.n``)."""
    return PolyProofEnv(
        n=args.n if n is None else n,
        p_range=(args.p_low, args.p_high),
        max_steps=args.max_steps,
        max_degree=args.max_degree,
        invalid_action_penalty=args.invalid_action_penalty,
    )


def _wrapped_env(args: TrainArgs, n: int | None) -> Monitor:
    return Monitor(ReplayableEnv(make_env(args, n)))


def make_vec_env(args: TrainArgs, n: int | None = None, n_envs: int | None = None) -> VecEnv:
    """``n_envs`` (default ``args.n_envs``) envs: ``DummyVecEnv`` for one, else ``SubprocVecEnv``.

    Each env of a ``SubprocVecEnv`` runs its LPs in its own process, so collection scales
    with the cores; SB3 seeds env ``i`` with ``seed + i``.
    """
    count = args.n_envs if n_envs is None else n_envs
    factories = [partial(_wrapped_env, args, n) for _ in range(count)]
    if count == 1:
        return DummyVecEnv(factories)
    return SubprocVecEnv(factories, start_method="fork")


def make_model(args: TrainArgs, vec_env: VecEnv) -> ProofDQN:
    """A new :class:`ProofDQN` from ``args`` (DQfD's prioritised buffer with ``dqfd``)."""
    optimizer = torch.optim.RMSprop if args.optimizer == "rmsprop" else torch.optim.Adam
    buffer_class, buffer_kwargs = None, None
    if args.dqfd:
        buffer_class = PrioritizedMaskedReplayBuffer
        buffer_kwargs = {
            "alpha": args.priority_alpha,
            "beta": args.priority_beta,
            "eps": args.priority_eps,
            "demo_bonus": args.demo_priority_bonus,
            "n_step": args.n_step,
            "gamma": args.gamma,
        }
    return ProofDQN(
        "ProofDQNPolicy",
        vec_env,
        learning_rate=args.learning_rate,
        buffer_size=args.buffer_size,
        learning_starts=args.learning_starts,
        batch_size=args.batch_size,
        gamma=args.gamma,
        train_freq=args.train_freq,
        gradient_steps=args.gradient_steps,
        replay_buffer_class=buffer_class,
        replay_buffer_kwargs=buffer_kwargs,
        target_update_interval=args.target_update_interval,
        exploration_initial_eps=args.exploration_initial_eps,
        exploration_final_eps=args.exploration_final_eps,
        exploration_fraction=args.exploration_fraction,
        exploration_total_timesteps=args.total_timesteps,
        loss=args.loss,
        double_q=args.double_q or args.dqfd,
        max_grad_norm=args.max_grad_norm,
        demonstration_fraction=args.demonstration_fraction,
        margin_loss_weight=args.margin_loss_weight,
        expert_margin=args.expert_margin,
        margin_negatives=args.margin_negatives,
        mined_negatives=args.mined_negatives,
        n_step_weight=args.n_step_weight,
        l2_weight=args.l2_weight if args.dqfd else 0.0,
        policy_kwargs={
            "architecture": args.architecture,
            "width": args.width,
            "feature_dim": args.feature_dim,
            "max_degree": args.max_degree,
            "objective_normalization": args.objective_normalization,
            "optimizer_class": optimizer,
        },
        seed=args.seed,
        device=args.device,
    )


def held_out_problems(
    n: int, count: int, seed: int, p_range: tuple[float, float] = (0.5, 1.0)
) -> list[Problem]:
    """``count`` random stable-set problems on G(n, p), p ~ U[p_range], from ``seed``."""
    rng = np.random.default_rng(seed)
    generator = RandomStableSetGenerator(n=n, p_range=p_range)
    return [generator(rng) for _ in range(count)]


def validation_bound(model: ProofDQN, args: TrainArgs, problems: list[Problem]) -> float:
    """Mean greedy bound of ``model`` on ``problems`` (at their own n)."""
    envs: dict[int, PolyProofEnv] = {}
    bounds = []
    for problem in problems:
        env = envs.setdefault(problem.n, make_env(args, problem.n))
        bounds.append(run_greedy_episode(model.policy, env, problem).bound)
    return float(np.mean(bounds))
