"""Checkpoints of ``agents/train_dqn.py``: exact resume of TD training and of the pretraining stage.

``checkpoint/``: model.zip (with optimizer), replay_buffer.pkl, state.pkl (every RNG state,
the env's episode in progress, the curve so far). ``pretrain_checkpoint/``: the model, the
demonstration buffer and the stage reached (after pretraining and after each DAgger round).
With ``n_envs > 1`` (``SubprocVecEnv``) the episodes in progress are not saved: a resumed run
restarts them (not bit-exact).
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from agents.common import rng_state, set_rng_state
from agents.dqn.config import TrainArgs
from agents.dqn.dqn import ProofDQN
from agents.dqn.runner import ReplayableEnv, find_wrapper, restore_env_state

PRETRAIN_CHECKPOINT = "pretrain_checkpoint"


def _env_state(vec_env: VecEnv) -> dict[str, Any] | None:
    """The single env's replayable episode (``None`` for several or subprocess envs)."""
    if isinstance(vec_env, DummyVecEnv) and vec_env.num_envs == 1:
        return find_wrapper(vec_env.envs[0], ReplayableEnv).get_state()
    return None


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


def save_checkpoint(model: ProofDQN, vec_env: VecEnv, args: TrainArgs, curve: list[dict]) -> Path:
    def write(tmp: Path) -> None:
        model.save(tmp / "model.zip")
        if args.save_replay_buffer:
            model.save_replay_buffer(tmp / "replay_buffer.pkl")
        state = {
            "rng": rng_state(),
            "env": _env_state(vec_env),
            "curve": curve,
            "args": asdict(args),
            "num_timesteps": model.num_timesteps,
        }
        with open(tmp / "state.pkl", "wb") as fh:
            pickle.dump(state, fh)

    return _replace_directory(Path(args.run_dir) / "checkpoint", write)


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


def load_pretrain_checkpoint(args: TrainArgs, vec_env: VecEnv) -> tuple[ProofDQN, dict[str, Any]]:
    ckpt = Path(args.run_dir) / PRETRAIN_CHECKPOINT
    with open(ckpt / "state.pkl", "rb") as fh:
        state = pickle.load(fh)
    model = ProofDQN.load(ckpt / "model.zip", env=vec_env, device=args.device)
    with open(ckpt / "demonstrations.pkl", "rb") as fh:
        model.set_demonstrations(pickle.load(fh))
    set_rng_state(state["rng"])
    return model, state["stage"]


def load_checkpoint(args: TrainArgs, vec_env: VecEnv) -> tuple[ProofDQN, list[dict]]:
    ckpt = Path(args.run_dir) / "checkpoint"
    if not (ckpt / "model.zip").exists():
        raise FileNotFoundError(f"no checkpoint in {ckpt}")
    with open(ckpt / "state.pkl", "rb") as fh:
        state = pickle.load(fh)
    model = ProofDQN.load(ckpt / "model.zip", env=vec_env, device=args.device)
    if (ckpt / "replay_buffer.pkl").exists():
        model.load_replay_buffer(ckpt / "replay_buffer.pkl")
    if state["env"] is None:  # SubprocVecEnv: the episodes in progress restart
        model._last_obs = None
        set_rng_state(state["rng"])
        return model, list(state["curve"])
    vec_env._seeds = [None] * vec_env.num_envs  # type: ignore[attr-defined]  # never re-seed on resume
    obs = restore_env_state(vec_env.envs[0], state["env"])  # type: ignore[attr-defined]
    last = model._last_obs
    if last is not None:
        for key, value in obs.items():
            if not np.array_equal(np.asarray(last[key])[0], value):
                raise RuntimeError(f"replayed env state differs from the saved observation ({key})")
    model._last_obs = {k: np.asarray(v)[None] for k, v in obs.items()}
    set_rng_state(state["rng"])
    return model, list(state["curve"])
