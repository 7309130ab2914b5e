"""Vectorised collection (``n_envs``), training on several n, and the speed benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from agents.dqn.construction import make_vec_env
from agents.train_dqn import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_make_vec_env_kinds(tiny_train_args, tmp_path: Path) -> None:
    one = make_vec_env(tiny_train_args(tmp_path, 12))
    two = make_vec_env(
        tiny_train_args(tmp_path, 16, "n_envs=2", "checkpoint_every=24", "eval_every=24")
    )
    try:
        assert isinstance(one, DummyVecEnv) and isinstance(two, SubprocVecEnv)
        assert two.num_envs == 2 and two.observation_space == one.observation_space
    finally:
        one.close()
        two.close()


def test_training_with_two_subprocess_envs(tiny_train_args, tmp_path: Path) -> None:
    args = tiny_train_args(tmp_path / "r", 24, "n_envs=2", "checkpoint_every=24", "eval_every=24")
    model = train(args, quiet=True)
    assert model.num_timesteps == 24 and model.n_envs == 2
    assert (tmp_path / "r" / "checkpoint" / "model.zip").exists()


def test_training_on_several_n_keeps_one_buffer_per_n(tiny_train_args, tmp_path: Path) -> None:
    args = tiny_train_args(tmp_path / "m", 48, "train_ns=[5, 6]", "ns_chunk=12")
    model = train(args, quiet=True)
    sizes = sorted(b.size() for b in model._buffers_by_shape.values())
    assert sizes == [24, 24]  # 2 chunks of 12 steps at each n
    rows = (tmp_path / "m" / "curve.csv").read_text().splitlines()
    assert rows[0].startswith("step,updates,mean_bound")


def test_collect_speed_writes_table(tmp_path: Path, capsys) -> None:
    from agents.dqn.collect_speed import main

    assert main(["--n", "5", "--steps", "8", "--max-steps", "4", "--out", str(tmp_path / "s")]) == 0
    rows = json.loads((tmp_path / "s.json").read_text())
    assert [r["n_envs"] for r in rows] == [1, 2] and rows[0]["ratio_to_1_env"] == 1.0
    assert (tmp_path / "s.csv").exists() and "env steps/s" in capsys.readouterr().out
