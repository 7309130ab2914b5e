"""Options of ``agents/train_dqn.py``: the dataclass behind its YAML configs.

:class:`TrainArgs` holds every key (environment, network, DQN, demonstrations and DAgger,
DQfD, collection, run directory); :func:`load_args` reads a YAML file plus ``key=value``
overrides with :func:`agents.common.load_dataclass_config` (type-checked) and validates
them; every bad input is an :class:`envs.cli.UsageError` (one line, exit status 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.common import load_dataclass_config
from envs.cli import UsageError

__all__ = ["TrainArgs", "load_args"]


@dataclass
class TrainArgs:
    """All options (YAML keys). Defaults are the paper's (Fawzi et al. 2019, App. B.4)."""

    # environment
    n: int = 25
    p_low: float = 0.5
    p_high: float = 1.0
    max_steps: int = 100
    max_degree: int = 2
    invalid_action_penalty: float = 1.0
    # network
    architecture: str = "symmetric"  # or "vanilla"
    width: int = 500
    feature_dim: int | None = None
    objective_normalization: str = (
        "sum"  # "mean": per-class mean over f's monomials (n-independent)
    )
    # DQN
    total_timesteps: int = 1_000_000
    learning_rate: float = 1e-5
    optimizer: str = "rmsprop"  # or "adam"
    batch_size: int = 32
    gamma: float = 0.99
    buffer_size: int = 100_000
    learning_starts: int = 1000
    train_freq: int = 4
    gradient_steps: int = 1
    target_update_interval: int = 1000
    exploration_initial_eps: float = 0.1
    exploration_final_eps: float = 0.1
    exploration_fraction: float = 0.0
    loss: str = "l1"
    double_q: bool = False
    max_grad_norm: float | None = 10.0
    # learning from demonstrations (DQfD; off by default, the paper uses none)
    expert: str | None = None  # a name in agents.dqn.demonstrations.EXPERTS
    demonstration_episodes: int = 0
    demonstration_seed: int = 777
    demonstration_fraction: float = 0.25
    pretrain_steps: int = 0
    pretrain_td: bool = True  # False: margin loss only while pretraining (fast behaviour cloning)
    margin_loss_weight: float = 1.0
    expert_margin: float = 0.8
    margin_negatives: int = 32
    mined_negatives: int = 0  # of which the highest-Q non-expert actions (hard-negative mining)
    # DAgger rounds after pretraining: the agent plays, the expert labels its states, and
    # pretrain_steps-style margin updates follow (needs pretrain_td: false, total_timesteps: 0)
    dagger_rounds: int = 0
    dagger_episodes: int = 20
    dagger_updates: int = 200
    dagger_seed: int = 5000
    # DQfD (Hester et al. 2018): prioritised replay holding the demonstrations, 1-step and
    # n-step double-DQN TD losses, margin loss on demonstrations only, L2 (agents.dqn.dqfd)
    dqfd: bool = False
    n_step: int = 10
    n_step_weight: float = 1.0
    l2_weight: float = 1e-5
    priority_alpha: float = 0.4
    priority_beta: float = 0.6
    priority_eps: float = 1e-3
    demo_priority_bonus: float = 1.0
    train_ns: list[int] | None = None  # several n: one env and replay buffer per n, in turn
    ns_chunk: int = 0  # env steps per n before switching (0: eval_every)
    # collection
    n_envs: int = 1  # > 1: SB3 SubprocVecEnv (one process per env), 1: DummyVecEnv
    # run
    seed: int = 0
    run_dir: str = "runs/dqn_paper"
    device: str = "auto"
    torch_threads: int = 0  # 0: torch default
    checkpoint_every: int = 10_000
    eval_every: int = 10_000
    eval_graphs: int = 20
    eval_seed: int = 12345
    final_eval_graphs: int = 50
    final_eval_seed: int = 54321
    save_replay_buffer: bool = True
    init_from: str | None = (
        None  # a ProofDQN .zip whose network weights start this run (fine-tuning)
    )
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if self.architecture not in ("symmetric", "vanilla"):
            raise UsageError(
                f"architecture must be 'symmetric' or 'vanilla', got {self.architecture!r}"
            )
        if self.optimizer not in ("rmsprop", "adam"):
            raise UsageError(f"optimizer must be 'rmsprop' or 'adam', got {self.optimizer!r}")
        for name in (
            "n",
            "max_steps",
            "width",
            "batch_size",
            "train_freq",
            "checkpoint_every",
            "eval_every",
        ):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}")
        if self.total_timesteps < 0 or (self.total_timesteps == 0 and not self.pretrain_steps):
            raise UsageError(
                "total_timesteps must be positive (0 only with pretrain_steps > 0: pretraining alone)"
            )
        if self.checkpoint_every % self.eval_every:
            raise UsageError("checkpoint_every must be a multiple of eval_every")
        if self.eval_every % self.train_freq:
            raise UsageError("eval_every must be a multiple of train_freq (exact resume)")
        if not (0.0 <= self.p_low <= self.p_high <= 1.0):
            raise UsageError("need 0 <= p_low <= p_high <= 1")
        if not np.isfinite(self.learning_rate) or self.learning_rate <= 0:
            raise UsageError("learning_rate must be a positive finite number")
        if self.demonstration_episodes < 0 or self.pretrain_steps < 0:
            raise UsageError("demonstration_episodes and pretrain_steps must be >= 0")
        if self.demonstration_episodes and self.expert is None:
            raise UsageError(
                "demonstration_episodes > 0 needs an expert "
                "(clique_cover, clique_partition or dual_pricing)"
            )
        if self.pretrain_steps and not self.demonstration_episodes:
            raise UsageError("pretrain_steps > 0 needs demonstration_episodes > 0")
        if self.n_envs < 1:
            raise UsageError(f"n_envs must be positive, got {self.n_envs}")
        if self.n_envs > 1 and self.checkpoint_every % (self.n_envs * self.train_freq):
            raise UsageError(
                "with n_envs > 1, checkpoint_every must be a multiple of n_envs * train_freq"
            )
        if self.dqfd:
            if self.n_step < 1:
                raise UsageError(f"n_step must be >= 1, got {self.n_step}")
            if not 0.0 <= self.priority_beta <= 1.0 or self.priority_alpha < 0:
                raise UsageError("need priority_alpha >= 0 and 0 <= priority_beta <= 1")
            if self.dagger_rounds:
                raise UsageError(
                    "dqfd warm-starts from a DAgger model (init_from): dagger_rounds: 0"
                )
            if self.n_envs > 1:
                raise UsageError("dqfd needs n_envs: 1 (n-step returns walk one env's episodes)")
        if self.train_ns is not None:
            if not self.train_ns or any(n < 1 for n in self.train_ns):
                raise UsageError(
                    f"train_ns must be a non-empty list of positive n, got {self.train_ns}"
                )
            if self.architecture != "symmetric":
                raise UsageError(
                    "train_ns needs the symmetric network (the vanilla one is tied to one n)"
                )
        if self.dagger_rounds < 0:
            raise UsageError(f"dagger_rounds must be >= 0, got {self.dagger_rounds}")
        if self.dagger_rounds:
            if not self.pretrain_steps:
                raise UsageError("dagger_rounds > 0 needs pretrain_steps > 0")
            if self.dagger_episodes < 1 or self.dagger_updates < 1:
                raise UsageError("dagger_episodes and dagger_updates must be positive")
            if self.pretrain_td or self.total_timesteps:
                raise UsageError(
                    "DAgger's relabelled transitions carry the played action's next state, "
                    "so they serve the margin loss only: set pretrain_td: false and "
                    "total_timesteps: 0"
                )


def load_args(config: str | None, overrides: Sequence[str]) -> TrainArgs:
    """Options from a YAML file and ``key=value`` overrides, type-checked and validated."""
    args = load_dataclass_config(TrainArgs, config, list(overrides))
    args.validate()
    return args
