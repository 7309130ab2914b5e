"""Train the symmetry-invariant DQN prover on PolyProof-v0.

Usage::

    python agents/train_dqn.py --config configs/dqn_cpu_dagger.yaml [--override key=value ...] [--resume]

Without ``--config`` the defaults are the paper's settings (``configs/dqn_paper.yaml``,
meant for a GPU). ``configs/dqn_cpu_dagger.yaml`` trains the shipped checkpoint in about 15
minutes on one core; ``configs/dqn_cpu.yaml`` is TD alone on a CPU budget.

Writes under ``run_dir``: TensorBoard events and SB3's progress.csv (``tb/``), the
validation learning curve (``curve.csv``: mean final bound on fixed validation graphs; ``best_model.zip``: the model
at the best point of that curve), checkpoints (``checkpoint/``: model.zip with optimizer, replay_buffer.pkl, state.pkl with
every RNG state, the env's episode in progress and the curve so far), the final model
(``model.zip``) and the held-out evaluation (``final_eval.json``).

``--resume`` continues from ``run_dir/checkpoint`` with nothing lost: replay buffer,
optimizer state, step and update counters, the python/numpy/torch RNG states, the
exploration RNG and the environment's current episode (replayed action by action). A run
resumed from a checkpoint reproduces the uninterrupted run exactly (tested).

With demonstrations (``expert``, ``demonstration_episodes``, ``pretrain_steps``) and
optional DAgger rounds (``dagger_rounds``), the pretraining stage writes
``pretrain_checkpoint/`` after pretraining and after every DAgger round (model, optimizer,
demonstration buffer, RNG states), ``pretrain.csv`` (one row per update),
``dagger.csv`` (one row per round) and ``demonstrations.json``; ``--resume`` continues
from the last finished round, again exactly (tested).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # allow `python agents/train_dqn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv
from tqdm import tqdm

from agents.common import rng_state, set_rng_state
from agents.dqn import ProofDQN
from agents.dqn.runner import ReplayableEnv, find_wrapper, restore_env_state, run_greedy_episode
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.generator import RandomStableSetGenerator
from envs.polyproof.problem import Problem


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
    expert: str | None = None  # "clique_cover" or "dual_pricing" (agents.dqn.demonstrations)
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
            raise ValueError(
                f"architecture must be 'symmetric' or 'vanilla', got {self.architecture!r}"
            )
        if self.optimizer not in ("rmsprop", "adam"):
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {self.optimizer!r}")
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
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.total_timesteps < 0 or (self.total_timesteps == 0 and not self.pretrain_steps):
            raise ValueError(
                "total_timesteps must be positive (0 only with pretrain_steps > 0: pretraining alone)"
            )
        if self.checkpoint_every % self.eval_every:
            raise ValueError("checkpoint_every must be a multiple of eval_every")
        if self.eval_every % self.train_freq:
            raise ValueError("eval_every must be a multiple of train_freq (exact resume)")
        if not (0.0 <= self.p_low <= self.p_high <= 1.0):
            raise ValueError("need 0 <= p_low <= p_high <= 1")
        if not np.isfinite(self.learning_rate) or self.learning_rate <= 0:
            raise ValueError("learning_rate must be a positive finite number")
        if self.demonstration_episodes < 0 or self.pretrain_steps < 0:
            raise ValueError("demonstration_episodes and pretrain_steps must be >= 0")
        if self.demonstration_episodes and self.expert is None:
            raise ValueError(
                "demonstration_episodes > 0 needs an expert (clique_cover or dual_pricing)"
            )
        if self.pretrain_steps and not self.demonstration_episodes:
            raise ValueError("pretrain_steps > 0 needs demonstration_episodes > 0")
        if self.dagger_rounds < 0:
            raise ValueError(f"dagger_rounds must be >= 0, got {self.dagger_rounds}")
        if self.dagger_rounds:
            if not self.pretrain_steps:
                raise ValueError("dagger_rounds > 0 needs pretrain_steps > 0")
            if self.dagger_episodes < 1 or self.dagger_updates < 1:
                raise ValueError("dagger_episodes and dagger_updates must be positive")
            if self.pretrain_td or self.total_timesteps:
                raise ValueError(
                    "DAgger's relabelled transitions carry the played action's next state, "
                    "so they serve the margin loss only: set pretrain_td: false and "
                    "total_timesteps: 0"
                )


def load_args(config: str | None, overrides: list[str]) -> TrainArgs:
    data: dict[str, Any] = {}
    if config:
        with open(config, encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{config}: the config must be a mapping")
        data.update(loaded)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--override expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        data[key.strip()] = yaml.safe_load(value)
    names = {f.name for f in dataclasses.fields(TrainArgs)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown config keys: {unknown}")
    args = TrainArgs(**data)
    args.validate()
    return args


# -- construction ---------------------------------------------------------------------------------
def make_env(args: TrainArgs) -> PolyProofEnv:
    return PolyProofEnv(
        n=args.n,
        p_range=(args.p_low, args.p_high),
        max_steps=args.max_steps,
        max_degree=args.max_degree,
        invalid_action_penalty=args.invalid_action_penalty,
    )


def make_vec_env(args: TrainArgs) -> DummyVecEnv:
    return DummyVecEnv([lambda: Monitor(ReplayableEnv(make_env(args)))])


def make_model(args: TrainArgs, vec_env: DummyVecEnv) -> ProofDQN:
    optimizer = torch.optim.RMSprop if args.optimizer == "rmsprop" else torch.optim.Adam
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
        target_update_interval=args.target_update_interval,
        exploration_initial_eps=args.exploration_initial_eps,
        exploration_final_eps=args.exploration_final_eps,
        exploration_fraction=args.exploration_fraction,
        exploration_total_timesteps=args.total_timesteps,
        loss=args.loss,
        double_q=args.double_q,
        max_grad_norm=args.max_grad_norm,
        demonstration_fraction=args.demonstration_fraction,
        margin_loss_weight=args.margin_loss_weight,
        expert_margin=args.expert_margin,
        margin_negatives=args.margin_negatives,
        mined_negatives=args.mined_negatives,
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
    env = make_env(args)
    bounds = [run_greedy_episode(model.policy, env, p).bound for p in problems]
    return float(np.mean(bounds))


# -- checkpoints ------------------------------------------------------------------------------------
def _replace_directory(final: Path, write: Callable[[Path], None]) -> Path:
    """Write a directory through ``write(tmp)`` and swap it in for ``final`` (never half-written)."""
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write(tmp)
    if final.exists():
        old = final.with_name(final.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    return final


def save_checkpoint(
    model: ProofDQN, vec_env: DummyVecEnv, args: TrainArgs, curve: list[dict]
) -> Path:
    def write(tmp: Path) -> None:
        model.save(tmp / "model.zip")
        if args.save_replay_buffer:
            model.save_replay_buffer(tmp / "replay_buffer.pkl")
        replayable = find_wrapper(vec_env.envs[0], ReplayableEnv)
        state = {
            "rng": rng_state(),
            "env": replayable.get_state(),
            "curve": curve,
            "args": asdict(args),
            "num_timesteps": model.num_timesteps,
        }
        with open(tmp / "state.pkl", "wb") as fh:
            pickle.dump(state, fh)

    return _replace_directory(Path(args.run_dir) / "checkpoint", write)


PRETRAIN_CHECKPOINT = "pretrain_checkpoint"


def save_pretrain_checkpoint(model: ProofDQN, args: TrainArgs, stage: dict[str, Any]) -> Path:
    """Checkpoint after pretraining and after each DAgger round: model (with optimizer and
    exploration RNG), the demonstration buffer, the global RNG states and ``stage``."""

    def write(tmp: Path) -> None:
        model.save(tmp / "model.zip")
        with open(tmp / "demonstrations.pkl", "wb") as fh:
            pickle.dump(model.demonstration_buffer, fh)
        with open(tmp / "state.pkl", "wb") as fh:
            pickle.dump({"rng": rng_state(), "stage": stage, "args": asdict(args)}, fh)

    return _replace_directory(Path(args.run_dir) / PRETRAIN_CHECKPOINT, write)


def load_pretrain_checkpoint(
    args: TrainArgs, vec_env: DummyVecEnv
) -> tuple[ProofDQN, dict[str, Any]]:
    ckpt = Path(args.run_dir) / PRETRAIN_CHECKPOINT
    with open(ckpt / "state.pkl", "rb") as fh:
        state = pickle.load(fh)
    model = ProofDQN.load(ckpt / "model.zip", env=vec_env, device=args.device)
    with open(ckpt / "demonstrations.pkl", "rb") as fh:
        model.set_demonstrations(pickle.load(fh))
    set_rng_state(state["rng"])
    return model, state["stage"]


def load_checkpoint(args: TrainArgs, vec_env: DummyVecEnv) -> tuple[ProofDQN, list[dict]]:
    ckpt = Path(args.run_dir) / "checkpoint"
    if not (ckpt / "model.zip").exists():
        raise FileNotFoundError(f"no checkpoint in {ckpt}")
    with open(ckpt / "state.pkl", "rb") as fh:
        state = pickle.load(fh)
    model = ProofDQN.load(ckpt / "model.zip", env=vec_env, device=args.device)
    if (ckpt / "replay_buffer.pkl").exists():
        model.load_replay_buffer(ckpt / "replay_buffer.pkl")
    vec_env._seeds = [None] * vec_env.num_envs  # never re-seed the env on resume
    obs = restore_env_state(vec_env.envs[0], state["env"])
    last = model._last_obs
    if last is not None:
        for key, value in obs.items():
            if not np.array_equal(np.asarray(last[key])[0], value):
                raise RuntimeError(f"replayed env state differs from the saved observation ({key})")
    model._last_obs = {k: np.asarray(v)[None] for k, v in obs.items()}
    set_rng_state(state["rng"])
    return model, list(state["curve"])


# -- main -------------------------------------------------------------------------------------------
class _StepBar(BaseCallback):
    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True


def train(args: TrainArgs, resume: bool = False, quiet: bool = False) -> ProofDQN:
    """Train (or resume) according to ``args``; returns the final model."""
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "config.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(asdict(args), fh, sort_keys=False)
    vec_env = make_vec_env(args)
    learning_started = (run_dir / "checkpoint").exists()
    if resume and not learning_started and not (run_dir / PRETRAIN_CHECKPOINT).exists():
        raise FileNotFoundError(f"no checkpoint in {run_dir} to resume from")
    if resume and learning_started:
        model, curve = load_checkpoint(args, vec_env)
    else:
        if not resume and (learning_started or (run_dir / PRETRAIN_CHECKPOINT).exists()):
            raise FileExistsError(
                f"{run_dir} already has a checkpoint: pass --resume or choose another run_dir"
            )
        model = make_model(args, vec_env)
        if args.init_from:
            source = ProofDQN.load(args.init_from, device=args.device)
            model.policy.q_net.load_state_dict(source.policy.q_net.state_dict())
            model.policy.q_net_target.load_state_dict(source.policy.q_net.state_dict())
        curve = []
    validation = held_out_problems(
        args.n, args.eval_graphs, args.eval_seed, (args.p_low, args.p_high)
    )
    if args.demonstration_episodes:
        model = use_demonstrations(
            model,
            args,
            vec_env,
            pretrain=not learning_started,
            resume=resume,
            curve=curve,
            validation=validation,
            quiet=quiet,
        )
    model.set_logger(configure(str(run_dir / "tb"), ["tensorboard", "csv"]))
    bar = tqdm(
        total=args.total_timesteps,
        initial=model.num_timesteps,
        desc="DQN",
        disable=quiet,
        dynamic_ncols=True,
    )
    start = time.time()
    first = not resume
    while model.num_timesteps < args.total_timesteps:
        chunk = min(
            args.eval_every - model.num_timesteps % args.eval_every,
            args.total_timesteps - model.num_timesteps,
        )
        model.learn(chunk, callback=_StepBar(bar), reset_num_timesteps=first, log_interval=10)
        first = False
        at_eval = (
            model.num_timesteps % args.eval_every == 0
            or model.num_timesteps >= args.total_timesteps
        )
        if at_eval:
            bound = validation_bound(model, args, validation)
            row = {
                "step": model.num_timesteps,
                "mean_bound": bound,
                "wall_seconds": round(time.time() - start, 1),
            }
            curve.append(row)
            model.logger.record("eval/mean_bound", bound)
            model.logger.dump(model.num_timesteps)
            _write_rows(run_dir / "curve.csv", curve, fieldnames=list(row))
            bar.set_postfix(val_bound=f"{bound:.3f}")
            if bound <= min(r["mean_bound"] for r in curve):  # the curve is checkpointed: resumable
                model.save(run_dir / "best_model.zip")
        if (
            model.num_timesteps % args.checkpoint_every == 0
            or model.num_timesteps >= args.total_timesteps
        ):
            save_checkpoint(model, vec_env, args, curve)
    bar.close()
    model.save(run_dir / "model.zip")
    final_evaluation(model, args, quiet=quiet)
    return model


def use_demonstrations(
    model: ProofDQN,
    args: TrainArgs,
    vec_env: DummyVecEnv,
    pretrain: bool,
    resume: bool,
    curve: list[dict],
    validation: list[Problem],
    quiet: bool = False,
) -> ProofDQN:
    """Collect the expert's episodes and hand them to the model; unless learning has already
    started, pretrain on them (DQfD) and run ``dagger_rounds`` DAgger rounds.

    The pretraining stage is checkpointed after pretraining and after every DAgger round
    (``pretrain_checkpoint/``), so ``--resume`` continues from the last finished round.
    Returns the model (a reloaded one when resuming from that checkpoint).
    """
    from agents.dqn.demonstrations import collect_demonstrations

    run_dir = Path(args.run_dir)
    if resume and pretrain and (run_dir / PRETRAIN_CHECKPOINT).exists():
        model, stage = load_pretrain_checkpoint(args, vec_env)
        buffer, info = model.demonstration_buffer, stage["info"]
    else:
        # deterministic, so a run resumed after pretraining rebuilds the same buffer
        buffer, bounds = collect_demonstrations(
            make_env(args),
            args.expert,  # type: ignore[arg-type]
            args.demonstration_episodes,
            seed=args.demonstration_seed,
            buffer_size=(args.demonstration_episodes + args.dagger_rounds * args.dagger_episodes)
            * args.max_steps,
            device=str(model.device),
            progress=not quiet,
        )
        model.set_demonstrations(buffer)
        info = {
            "expert": args.expert,
            "episodes": len(bounds),
            "transitions": buffer.size(),
            "expert_mean_bound": float(np.mean(bounds)),
        }
        stage = {"rounds_done": -1, "info": info}
    if not pretrain or not args.pretrain_steps:
        return model
    if stage["rounds_done"] < 0:
        rows = model.pretrain(args.pretrain_steps, td=args.pretrain_td, progress=not quiet)
        _write_rows(run_dir / "pretrain.csv", rows)
        info["pretrain_steps"] = len(rows)
        info["validation_bound_after_pretrain"] = validation_bound(model, args, validation)
        model.save(run_dir / "pretrained_model.zip")
        stage = {"rounds_done": 0, "info": info}
        save_pretrain_checkpoint(model, args, stage)
    env = make_env(args)
    for round_index in range(stage["rounds_done"], args.dagger_rounds):
        _, bounds = collect_demonstrations(
            env,
            args.expert,  # type: ignore[arg-type]
            args.dagger_episodes,
            seed=args.dagger_seed + round_index * args.dagger_episodes,
            policy=model.policy,
            buffer=buffer,
            progress=not quiet,
        )
        rows = model.pretrain(args.dagger_updates, td=False, progress=not quiet)
        info.setdefault("dagger", []).append(
            {
                "round": round_index + 1,
                "agent_mean_bound": float(np.mean(bounds)),
                "transitions": buffer.size(),
                "margin_loss": float(np.mean([r["margin_loss"] for r in rows])),
                "validation_bound": validation_bound(model, args, validation),
            }
        )
        _write_rows(run_dir / "dagger.csv", info["dagger"])
        stage = {"rounds_done": round_index + 1, "info": info}
        save_pretrain_checkpoint(model, args, stage)
        if not quiet:
            print(json.dumps(info["dagger"][-1]))
    info["validation_bound_after_pretrain_and_dagger"] = (
        info["dagger"][-1]["validation_bound"]
        if args.dagger_rounds
        else info["validation_bound_after_pretrain"]
    )
    with open(run_dir / "demonstrations.json", "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    if not curve:
        curve.append(
            {
                "step": 0,
                "mean_bound": info["validation_bound_after_pretrain_and_dagger"],
                "wall_seconds": 0.0,
            }
        )
    if not quiet:
        print(json.dumps(info, indent=2))
    return model


def _write_rows(path: Path, rows: list[dict], fieldnames: list[str] | None = None) -> None:
    """Write ``rows`` as a CSV (columns: ``fieldnames``, default every key, sorted)."""
    if fieldnames is None:
        fieldnames = sorted({k for r in rows for k in r})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def final_evaluation(model: ProofDQN, args: TrainArgs, quiet: bool = False) -> dict[str, Any]:
    """Held-out graphs at the training n: agent (certified) vs random prover and n/3."""
    if args.final_eval_graphs <= 0:
        return {}
    from envs.polyproof.graphs import stability_number  # noqa: F401  (alpha is attached by the generator)

    problems = held_out_problems(
        args.n, args.final_eval_graphs, args.final_eval_seed, (args.p_low, args.p_high)
    )
    env = make_env(args)
    rng = np.random.default_rng(args.final_eval_seed)
    agent, rand, alpha = [], [], []
    for p in tqdm(problems, desc="final eval", disable=quiet):
        agent.append(run_greedy_episode(model.policy, env, p, certify=True).bound)
        rand.append(run_greedy_episode(None, env, p, rng=rng).bound)
        alpha.append(float(p.known_optimum))
    result = {
        "n": args.n,
        "graphs": len(problems),
        "max_steps": args.max_steps,
        "agent_mean_bound_certified": float(np.mean(agent)),
        "random_mean_bound": float(np.mean(rand)),
        "mean_alpha": float(np.mean(alpha)),
        "sherali_adams_l3_floor_n_over_3": args.n / 3,
    }
    with open(Path(args.run_dir) / "final_eval.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    if not quiet:
        print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="YAML file with TrainArgs keys")
    parser.add_argument(
        "--override", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys"
    )
    parser.add_argument("--resume", action="store_true", help="continue from run_dir/checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    ns = parser.parse_args(argv)
    if ns.config is None:
        print(
            "train_dqn: no --config, so the paper's settings (n = 25, width 500, 1e6 steps; "
            "meant for a GPU). On a CPU use --config configs/dqn_cpu_dagger.yaml (15 minutes).",
            file=sys.stderr,
        )
    args = load_args(ns.config, ns.override)
    os.makedirs(args.run_dir, exist_ok=True)
    train(args, resume=ns.resume, quiet=ns.quiet)


if __name__ == "__main__":
    main()
