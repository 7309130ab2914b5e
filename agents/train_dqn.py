"""Train the symmetry-invariant DQN prover on PolyProof-v0.

Usage::

    python agents/train_dqn.py --config configs/dqn_cpu_dagger.yaml [--override key=value ...] [--resume]
    python agents/train_dqn.py --config configs/dqfd_cpu.yaml   # DQfD fine-tuning (agents.dqn.dqfd)

Options are the keys of :class:`agents.dqn.config.TrainArgs` (type-checked; bad input is
one ``error:`` line and exit status 2). Modules: :mod:`agents.dqn.config` (options),
:mod:`agents.dqn.construction` (envs, ``n_envs`` vectorised collection, model),
:mod:`agents.dqn.checkpointing` (exact resume), :mod:`agents.dqn.dqfd` (DQfD loss).

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
import json
import pickle
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # allow `python agents/train_dqn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv
from tqdm import tqdm

from agents.dqn import ProofDQN
from agents.dqn.checkpointing import (
    PRETRAIN_CHECKPOINT,
    load_checkpoint,
    load_pretrain_checkpoint,
    save_checkpoint,
    save_pretrain_checkpoint,
)
from agents.dqn.config import TrainArgs, load_args
from agents.dqn.construction import (
    held_out_problems,
    make_env,
    make_model,
    make_vec_env,
    validation_bound,
)
from agents.dqn.runner import run_greedy_episode
from envs.cli import UsageError, UsageParser, run_cli
from envs.polyproof.problem import Problem

__all__ = ["TrainArgs", "load_args", "main", "train"]


# -- main -------------------------------------------------------------------------------------------
class _StepBar(BaseCallback):
    def __init__(self, bar: tqdm) -> None:
        super().__init__()
        self.bar = bar

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True


def training_ns(args: TrainArgs) -> list[int]:
    """The sizes trained on, in turn (``train_ns``, else ``[n]``)."""
    return list(args.train_ns) if args.train_ns else [args.n]


def n_at(args: TrainArgs, timesteps: int) -> int:
    """The training n in effect after ``timesteps`` env steps (``ns_chunk`` steps per n)."""
    ns = training_ns(args)
    chunk = args.ns_chunk or args.eval_every
    return ns[(timesteps // chunk) % len(ns)]


def train(args: TrainArgs, resume: bool = False, quiet: bool = False) -> ProofDQN:
    """Train (or resume) according to ``args``; returns the final model."""
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    run_dir = Path(args.run_dir)
    learning_started = (run_dir / "checkpoint").exists()
    if resume and not learning_started and not (run_dir / PRETRAIN_CHECKPOINT).exists():
        raise UsageError(f"--resume: no checkpoint in {run_dir} to resume from")
    if not resume and (learning_started or (run_dir / PRETRAIN_CHECKPOINT).exists()):
        raise UsageError(
            f"{run_dir} already has a checkpoint: pass --resume or choose another run_dir"
        )
    if args.init_from and not Path(args.init_from).is_file():
        raise UsageError(f"init_from: no such model {args.init_from}")
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "config.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(asdict(args), fh, sort_keys=False)
    envs: dict[int, VecEnv] = {}

    def env_for(n: int) -> VecEnv:
        if n not in envs:
            envs[n] = make_vec_env(args, n)
        return envs[n]

    if resume and learning_started:
        with open(run_dir / "checkpoint" / "state.pkl", "rb") as fh:
            saved_steps = int(pickle.load(fh)["num_timesteps"])
        model, curve = load_checkpoint(args, env_for(n_at(args, saved_steps)))
    else:
        model = make_model(args, env_for(training_ns(args)[0]))
        if args.init_from:
            source = ProofDQN.load(args.init_from, device=args.device)
            model.policy.q_net.load_state_dict(source.policy.q_net.state_dict())
            model.policy.q_net_target.load_state_dict(source.policy.q_net.state_dict())
        curve = []
    validation = held_out_problems(
        args.n, args.eval_graphs, args.eval_seed, (args.p_low, args.p_high)
    )
    if args.dqfd and args.demonstration_episodes and not learning_started:
        fill_dqfd_buffers(model, args, env_for, validation, curve, quiet=quiet)
    elif args.demonstration_episodes:
        model = use_demonstrations(
            model,
            args,
            env_for(training_ns(args)[0]),
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
    chunk_every = min(args.eval_every, args.ns_chunk or args.eval_every)
    while model.num_timesteps < args.total_timesteps:
        n_now = n_at(args, model.num_timesteps)
        if model.env is not envs.get(n_now):
            model.set_env(env_for(n_now))
        chunk = min(
            chunk_every - model.num_timesteps % chunk_every,
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
                "updates": model._n_updates,
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
            save_checkpoint(model, model.env, args, curve)  # type: ignore[arg-type]
    bar.close()
    model.save(run_dir / "model.zip")
    for vec_env in envs.values():
        vec_env.close()
    final_evaluation(model, args, quiet=quiet)
    return model


def fill_dqfd_buffers(
    model: ProofDQN,
    args: TrainArgs,
    env_for: Any,
    validation: list[Problem],
    curve: list[dict],
    quiet: bool = False,
) -> None:
    """DQfD: expert episodes at every training n go into that n's prioritised replay buffer
    (permanent, with a priority bonus); then ``pretrain_steps`` DQfD updates on them."""
    from agents.dqn.demonstrations import collect_demonstrations

    info: dict[str, Any] = {"expert": args.expert, "per_n": {}}
    for index, n in enumerate(training_ns(args)):
        demos, bounds = collect_demonstrations(
            make_env(args, n),
            args.expert,  # type: ignore[arg-type]
            args.demonstration_episodes,
            seed=args.demonstration_seed + 1000 * index,
            device=str(model.device),
            progress=not quiet,
        )
        model.set_env(env_for(n))
        model.replay_buffer.add_demonstrations(demos)  # type: ignore[union-attr]
        info["per_n"][n] = {
            "transitions": demos.size(),
            "expert_mean_bound": float(np.mean(bounds)),
        }
    model.set_env(env_for(training_ns(args)[0]))
    if args.pretrain_steps:
        rows = model.pretrain(args.pretrain_steps, td=True, progress=not quiet)
        _write_rows(Path(args.run_dir) / "pretrain.csv", rows)
    info["validation_bound_after_pretrain"] = validation_bound(model, args, validation)
    curve.append(
        {
            "step": 0,
            "updates": 0,
            "mean_bound": info["validation_bound_after_pretrain"],
            "wall_seconds": 0.0,
        }
    )
    with open(Path(args.run_dir) / "demonstrations.json", "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    if not quiet:
        print(json.dumps(info))


def use_demonstrations(
    model: ProofDQN,
    args: TrainArgs,
    vec_env: VecEnv,
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


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    train(args, resume=ns.resume, quiet=ns.quiet)
    return 0


if __name__ == "__main__":
    run_cli(main)
