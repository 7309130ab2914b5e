"""Sequence models as SB3 policies on PolytopeGen-v0, and the fine-tuning loop."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from sb3_contrib import MaskablePPO

import envs  # noqa: F401
from agents.sequence.finetune import FinetuneArgs, finetune, grammar_masks, token_logprobs
from agents.sequence.model import build_model, load_model, model_payload, tokenizer_to_dict
from agents.sequence.policies import SequencePolicy, load_pretrained, policy_kwargs_for
from envs.cli import UsageError
from envs.polytopes import dataset, tokens

D = 4


def _config(kind: str, tokenizer: tokens.Tokenizer) -> dict:
    small = {"layers": 1, "width": 16, "heads": 2, "ff_dim": 32, "hidden_dim": 16}
    return {
        "kind": kind,
        "vocab_size": tokenizer.vocab_size,
        "max_length": tokenizer.max_length,
        **small,
    }


def _export(tmp_path: Path, kind: str) -> Path:
    tokenizer = tokens.Tokenizer(D)
    torch.manual_seed(0)
    model = build_model(_config(kind, tokenizer))
    path = tmp_path / f"{kind}.pt"
    payload = model_payload(
        model,
        kind="model",
        model_config=_config(kind, tokenizer),
        tokenizer=tokenizer_to_dict(tokenizer),
        encoding={"embedding": "negated", "row_order": "shuffled", "encoding_seed": 0},
        args={},
    )
    torch.save(payload, path)
    return path


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_pretrained_policy_starts_as_the_language_model(tmp_path: Path, kind: str) -> None:
    path = _export(tmp_path, kind)
    env = gym.make("PolytopeGen-v0", d=D)
    ppo = MaskablePPO(SequencePolicy, env, policy_kwargs=policy_kwargs_for(path), n_steps=32,
                      batch_size=16, n_epochs=1, seed=0, device="cpu")
    load_pretrained(ppo.policy, path)
    model, tokenizer, _ = load_model(path)
    obs, info = env.reset(seed=0)
    for action in tokenizer.encode(dataset.load(D)[0])[1:6]:
        obs, *_ = env.step(action)
    obs_tensor, _ = ppo.policy.obs_to_tensor(obs)
    mask = env.unwrapped.action_masks()
    dist = ppo.policy.get_distribution(obs_tensor, action_masks=mask)
    position = int(obs["position"][0])
    with torch.no_grad():
        logits = model(torch.as_tensor(obs["tokens"][None, :position]))[0, -1]
    expected = torch.log_softmax(logits.masked_fill(~torch.as_tensor(mask), -1e8), -1)
    got = dist.distribution.logits[0]
    allowed = torch.as_tensor(mask)
    assert torch.allclose(got[allowed], expected[allowed], atol=1e-4)


def test_maskable_ppo_learns_and_round_trips(tmp_path: Path) -> None:
    path = _export(tmp_path, "transformer")
    env = gym.make("PolytopeGen-v0", d=D)
    ppo = MaskablePPO(SequencePolicy, env, policy_kwargs=policy_kwargs_for(path), n_steps=64,
                      batch_size=32, n_epochs=1, seed=0, device="cpu")
    load_pretrained(ppo.policy, path)
    ppo.learn(64)
    ppo.save(tmp_path / "ppo.zip")
    again = MaskablePPO.load(tmp_path / "ppo.zip", env=env, device="cpu")
    obs, _ = env.reset(seed=1)
    mask = env.unwrapped.action_masks()
    first = ppo.predict(obs, deterministic=True, action_masks=mask)[0]
    second = again.predict(obs, deterministic=True, action_masks=mask)[0]
    assert first == second and mask[int(first)]


def test_policy_rejects_a_model_with_another_vocabulary(tmp_path: Path) -> None:
    path = _export(tmp_path, "transformer")
    env = gym.make("PolytopeGen-v0", d=D, line_numbers=True)
    with pytest.raises(ValueError):
        MaskablePPO(SequencePolicy, env, policy_kwargs=policy_kwargs_for(path), device="cpu")


def test_masked_logprobs_sum_to_sequence_probability(tmp_path: Path) -> None:
    path = _export(tmp_path, "transformer")
    model, tokenizer, _ = load_model(path)
    sequences = model.sample(8, generator=torch.Generator().manual_seed(0), grammar=tokenizer)
    masks = grammar_masks(tokenizer, sequences)
    logp, _, valid = token_logprobs(model, sequences, masks)
    assert torch.isfinite(logp).all()
    assert (valid.sum(1) == (sequences[:, 1:] != 0).sum(1)).all()
    for row in sequences:
        tokenizer.decode(row.numpy())  # grammar-masked samples always decode


@pytest.mark.parametrize("method", ["ppo", "patternboost"])
def test_finetune_runs_checkpoints_and_resumes(tmp_path: Path, method: str) -> None:
    path = _export(tmp_path, "transformer")
    args = FinetuneArgs(method=method, iterations=2, batch=8, minibatch=4, known=None,
                        keep_known=True)
    finetune(path, tmp_path / "run", args, quiet=True)
    straight = load_model(tmp_path / "run" / "model.pt")[0].state_dict()
    args_one = FinetuneArgs(method=method, iterations=1, batch=8, minibatch=4, known=None,
                            keep_known=True)
    finetune(path, tmp_path / "resumed", args_one, quiet=True)
    finetune(path, tmp_path / "resumed", args, resume=True, quiet=True)
    resumed = load_model(tmp_path / "resumed" / "model.pt")[0].state_dict()
    for name, value in straight.items():
        assert torch.equal(value, resumed[name]), name
    state = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=False)
    assert "produced" in state  # the env's novelty memory survives a resume
    del state["produced"]
    torch.save(state, tmp_path / "resumed" / "checkpoint.pt")
    with pytest.raises(UsageError, match="novelty memory"):
        finetune(path, tmp_path / "resumed", args, resume=True, quiet=True)
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(log) == 3 and log[0].startswith("iteration,mean_reward,valid")
    assert np.isfinite(float(log[-1].split(",")[1]))
