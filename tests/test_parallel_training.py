"""Vectorised scoring in the sequence fine-tuner: ``n_envs`` does not change the run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.sequence.finetune import FinetuneArgs, finetune
from agents.sequence.model import build_model, load_model, model_payload, tokenizer_to_dict
from envs.cli import UsageError
from envs.polytopes import tokens

D = 4


def _export(tmp_path: Path) -> Path:
    tokenizer = tokens.Tokenizer(D)
    config = {
        "kind": "lstm",
        "vocab_size": tokenizer.vocab_size,
        "max_length": tokenizer.max_length,
        "layers": 1,
        "width": 16,
        "heads": 2,
        "ff_dim": 32,
        "hidden_dim": 16,
    }
    torch.manual_seed(0)
    path = tmp_path / "lm.pt"
    payload = model_payload(
        build_model(config),
        kind="model",
        model_config=config,
        tokenizer=tokenizer_to_dict(tokenizer),
        encoding={"embedding": "negated", "row_order": "shuffled", "encoding_seed": 0},
        args={},
    )
    torch.save(payload, path)
    return path


def _log(path: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        row.pop("minutes")
    return rows


@pytest.mark.slow  # ~12 s: two runs, subprocess envs import the checker
def test_finetune_same_run_with_subprocess_envs(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    checkpoint = _export(tmp_path)
    runs = {}
    for n_envs in (1, 2):
        args = FinetuneArgs(iterations=2, batch=10, minibatch=5, known=None, n_envs=n_envs)
        finetune(checkpoint, tmp_path / f"n{n_envs}", args, quiet=True)
        model = load_model(tmp_path / f"n{n_envs}" / "model.pt")[0].state_dict()
        runs[n_envs] = (model, _log(tmp_path / f"n{n_envs}" / "log.csv"))
    assert runs[1][1] == runs[2][1]
    for name, value in runs[1][0].items():
        assert torch.equal(value, runs[2][0][name]), name
    state = torch.load(tmp_path / "n2" / "checkpoint.pt", weights_only=False)
    assert state["args"]["n_envs"] == 2


def test_finetune_rejects_bad_n_envs() -> None:
    with pytest.raises(UsageError, match="n_envs"):
        FinetuneArgs(n_envs=0).validate()


def _score(n_envs: int, subprocess: bool = False):
    from functools import partial

    from stable_baselines3.common.vec_env import DummyVecEnv

    from agents.sequence.finetune import _replay_env, make_vec_env, score
    from envs.polytopes import dataset
    from envs.polytopes.reward import NoveltyTracker

    tokenizer = tokens.Tokenizer(D)
    polytopes = dataset.load(D)
    streams = [tokenizer.encode(polytopes[i]) for i in (0, 1, 0, 2, 1)]
    sequences = torch.tensor(np.array([tokenizer.pad(s, tokenizer.max_length) for s in streams]))
    args = FinetuneArgs(known=None, n_envs=n_envs)
    encoding = {"embedding": "negated", "row_order": "shuffled", "encoding_seed": 0}
    if subprocess:
        envs = make_vec_env(tokenizer, encoding, args)
    else:  # the same envs in this process (fast)
        ranks = range(n_envs)
        envs = DummyVecEnv([partial(_replay_env, tokenizer, encoding, args, r) for r in ranks])
    try:
        rewards, infos = score(envs, sequences, NoveltyTracker(), args.novelty_bonus)
    finally:
        envs.close()
    return rewards.tolist(), [i["novel"] for i in infos], [i["lattice_key"] for i in infos]


def test_score_novelty_is_decided_once_across_envs() -> None:
    one, two = _score(1), _score(3)
    assert one == two
    rewards, novel, keys = one
    assert all(k is not None for k in keys)
    assert novel == [keys[k] not in keys[:k] for k in range(5)] == [True, True, False, True, False]
    assert rewards[0] == rewards[2] + 0.5


@pytest.mark.slow  # ~13 s: two subprocess envs import the checker
def test_score_same_in_subprocess_envs() -> None:
    assert _score(2, subprocess=True) == _score(1)


def test_tune_dqn_trial_command_and_metrics(tmp_path: Path) -> None:
    from agents.tune_dqn import read_metrics, trial_overrides

    config = {"learning_rate": 0.001, "target_update_interval": 100}
    overrides = trial_overrides(config, 600, tmp_path / "run")
    assert "learning_rate=0.001" in overrides and "target_update_interval=100" in overrides
    assert "total_timesteps=600" in overrides and f"run_dir={tmp_path / 'run'}" in overrides
    (tmp_path / "final_eval.json").write_text('{"agent_mean_bound_certified": 2.5}')
    (tmp_path / "curve.csv").write_text("step,updates,mean_bound\n300,5,3.0\n600,9,2.75\n")
    assert read_metrics(tmp_path) == {"final_bound": 2.5, "best_val_bound": 2.75}
