"""Fine-tune a pretrained sequence model on ``PolytopeGen-v0``'s exact reward.

Two methods, both starting from a language model trained by ``agents/train_sequence.py``:

* ``ppo`` — sequence-level PPO. Each iteration samples ``batch`` polytopes with the
  environment's grammar mask (the policy *is* the model, masked as in the env), replays
  each token stream through a ``PolytopeGen-v0`` instance to get its reward (property
  credit + novelty bonus; the env's exact checker and identification), and takes
  ``ppo_epochs`` clipped-surrogate steps on the token log-probabilities with the
  sequence's normalised reward as the advantage, plus ``kl_coef`` times the exact
  per-token KL divergence to the frozen pretrained model (to keep diversity; guards
  against mode collapse). This is PPO without a learned critic (the batch mean is the
  baseline), run in its own loop because SB3's per-step rollouts recompute the whole
  prefix at every step (quadratic in the length); the SB3 route
  (:mod:`agents.sequence.policies` with MaskablePPO) is kept for small runs.
* ``patternboost`` — PatternBoost's generate–filter–retrain loop (Charton, Ellenberg,
  Wagner, Williamson 2024): sample, keep the valid samples whose lattice class is new
  (not in the training half, not kept before), fine-tune on them by cross-entropy,
  repeat.

``python -m agents.sequence.finetune --checkpoint CKPT --out DIR [--method ppo]
[--override key=value ...] [--resume]`` writes ``DIR/checkpoint.pt`` (resumable, each
iteration), ``DIR/model.pt`` (export for :mod:`agents.sequence.sample`) and
``DIR/log.csv`` (per iteration: mean reward, correct samples, distinct correct classes,
novel classes, samples kept (PatternBoost), gradient updates so far, KL).
"""

from __future__ import annotations

import csv
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agents.common import atomic_torch_save, load_dataclass_config, rng_state, set_rng_state
from agents.sequence.model import build_model, load_model, model_payload
from agents.sequence.sample import load_for_cli
from envs.cli import UsageError, UsageParser, run_cli
from envs.polytopes.grammar import advance, batch_masks
from envs.polytopes.reward import NoveltyTracker
from envs.polytopes.tokens import PAD_ID, Tokenizer

METHODS = ("ppo", "patternboost")


@dataclass
class FinetuneArgs:
    """Options of a fine-tuning run (YAML keys / ``--override``)."""

    method: str = "ppo"
    seed: int = 0
    iterations: int = 60
    batch: int = 256  # samples per iteration
    lr: float = 2e-5
    ppo_epochs: int = 2
    minibatch: int = 64
    clip: float = 0.2
    kl_coef: float = 0.05
    novelty_bonus: float = 0.5
    redundancy_penalty: float = 0.0  # env reward term for repeated / non-facet rows
    known: str | None = "half_a"  # known classes for the novelty bonus (env option; None: none)
    temperature: float = 1.0
    max_minutes: float | None = None
    num_threads: int = 1
    n_envs: int = 1  # envs scoring samples: SB3 SubprocVecEnv for > 1, DummyVecEnv for 1
    # PatternBoost
    keep_known: bool = False  # also keep valid samples of known classes
    ce_epochs: int = 2

    def validate(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("iterations", "batch", "ppo_epochs", "minibatch", "ce_epochs", "n_envs"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.clip <= 0 or self.kl_coef < 0 or self.temperature <= 0:
            raise UsageError("lr, clip and temperature must be > 0 and kl_coef >= 0")


# ----------------------------------------------------------------------------- scoring


def make_env(tokenizer: Tokenizer, encoding: dict[str, Any], args: FinetuneArgs) -> Any:
    """The ``PolytopeGen-v0`` instance whose reward the run optimises."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the id)

    return gym.make(
        "PolytopeGen-v0",
        d=int(tokenizer.d),
        representation=tokenizer.representation,
        line_numbers=bool(tokenizer.line_numbers),
        embedding=encoding.get("embedding", "negated"),
        row_order=encoding.get("row_order", "shuffled"),
        seed_split=int(encoding.get("split_seed", 0)),
        encoding_seed=int(encoding.get("encoding_seed", 0)),
        known=args.known,
        reward={
            "novelty_bonus": float(args.novelty_bonus),
            "redundancy_penalty": float(args.redundancy_penalty),
        },
    ).unwrapped


def replay(env: Any, row: Sequence[int]) -> tuple[float, dict[str, Any]]:
    """Reward and final info of one token stream (``row[0]`` is ``<start>``) in ``env``."""
    env.reset()
    info: dict[str, Any] = {}
    for token in row[1:]:
        _, reward, terminated, truncated, info = env.step(int(token))
        if terminated or truncated:
            return float(reward), info
    return 0.0, info


class ReplayEnv(gym.Wrapper):
    """Env ``rank`` of a vector env; ``replay_group(rows)`` scores ``rows[rank]``."""

    def __init__(self, env: Any, rank: int) -> None:
        super().__init__(env)
        self.rank = rank

    def replay_group(self, rows: list[list[int]]) -> tuple[float, dict[str, Any]] | None:
        return replay(self.env, rows[self.rank]) if self.rank < len(rows) else None


def _replay_env(tokenizer: Tokenizer, encoding: dict[str, Any], args: FinetuneArgs, rank: int):
    return ReplayEnv(make_env(tokenizer, encoding, args), rank)


def make_vec_env(tokenizer: Tokenizer, encoding: dict[str, Any], args: FinetuneArgs) -> Any:
    """``args.n_envs`` scoring envs: ``SubprocVecEnv`` (forkserver) for > 1, else ``DummyVecEnv``."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from envs.parallel import pool_context

    fns = [partial(_replay_env, tokenizer, encoding, args, rank) for rank in range(args.n_envs)]
    if args.n_envs == 1:
        return DummyVecEnv(fns)
    return SubprocVecEnv(fns, start_method=pool_context().get_start_method())


def score(
    envs: Any, sequences: torch.Tensor, novelty: NoveltyTracker, novelty_bonus: float
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Replay each token stream through the vector env ``envs``; rewards and final infos.

    The envs score ``num_envs`` samples at a time; the novelty bonus is then decided here,
    in sample order, with the run's one ``novelty`` memory (each env's own memory sees
    only its samples), so rewards do not depend on ``n_envs``.
    """
    rows = sequences.tolist()
    results: list[tuple[float, dict[str, Any]]] = []
    for start in range(0, len(rows), envs.num_envs):
        group = rows[start : start + envs.num_envs]
        results.extend(envs.env_method("replay_group", group)[: len(group)])
    rewards = np.zeros(len(rows))
    infos: list[dict[str, Any]] = []
    for k, (reward, info) in enumerate(results):
        terms = info.get("reward_terms")
        if terms and "novelty" in terms:  # a finished, checked sample: redo its novelty term
            key = info.get("lattice_key")
            novel = bool(
                key is not None
                and (info.get("report") or {}).get("all") is True
                and novelty.add(bytes.fromhex(key))
            )
            info["novel"] = novel
            terms["novelty"] = novelty_bonus if novel else 0.0
            reward = float(sum(terms.values()))
        rewards[k] = reward
        infos.append(info)
    return rewards, infos


def class_key(info: dict[str, Any]) -> str | None:
    """Lattice class of a sample with all properties, else ``None``."""
    report = info.get("report") or {}
    return info.get("lattice_key") if report.get("all") else None


# ----------------------------------------------------------------------------- log-probs


def grammar_masks(tokenizer: Tokenizer, sequences: torch.Tensor) -> torch.Tensor:
    """``[B, T-1, V]`` masks of the tokens allowed at each step (all True after the end)."""
    tokens = sequences.numpy()
    batch, length = tokens.shape
    rows = np.zeros(batch, dtype=np.int64)
    entries = np.zeros(batch, dtype=np.int64)
    ended = np.zeros(batch, dtype=bool)
    masks = np.ones((batch, length - 1, tokenizer.vocab_size), dtype=bool)
    for t in range(length - 1):
        allowed = batch_masks(tokenizer, rows, entries)
        allowed[ended] = True
        masks[:, t] = allowed
        rows, entries, now_ended = advance(tokenizer, rows, entries, tokens[:, t + 1])
        ended |= now_ended
    return torch.from_numpy(masks)


def token_logprobs(
    model: torch.nn.Module, sequences: torch.Tensor, masks: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token log-probs of ``sequences`` under the masked model, its log-softmax, valid."""
    logits = model(sequences[:, :-1]).float().masked_fill(~masks, float("-inf"))
    logp_all = F.log_softmax(logits, dim=-1)
    targets = sequences[:, 1:]
    valid = targets != PAD_ID
    logp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return torch.where(valid, logp, torch.zeros_like(logp)), logp_all, valid


def exact_kl(logp_new: torch.Tensor, logp_ref: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over valid positions of KL(new || ref) over the masked vocabulary."""
    p_new = logp_new.exp()
    diff = torch.where(p_new > 0, logp_new - logp_ref, torch.zeros_like(logp_new))
    kl = (p_new * diff).sum(-1)
    return (kl * valid).sum() / valid.sum().clamp(min=1)


# ----------------------------------------------------------------------------- updates


def ppo_update(
    model: torch.nn.Module,
    reference: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    sequences: torch.Tensor,
    masks: torch.Tensor,
    advantages: torch.Tensor,
    args: FinetuneArgs,
    generator: torch.Generator,
) -> float:
    """Clipped-surrogate steps; returns the last mean KL to the reference."""
    with torch.no_grad():
        old_logp, _, valid = token_logprobs(model, sequences, masks)
        _, ref_all, _ = token_logprobs(reference, sequences, masks)
    kl_value = 0.0
    for _ in range(args.ppo_epochs):
        order = torch.randperm(len(sequences), generator=generator)
        for begin in range(0, len(order), args.minibatch):
            idx = order[begin : begin + args.minibatch]
            logp, logp_all, mask_valid = token_logprobs(model, sequences[idx], masks[idx])
            ratio = torch.exp(logp - old_logp[idx])
            adv = advantages[idx, None]
            surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - args.clip, 1 + args.clip) * adv)
            policy_loss = -(surrogate * mask_valid).sum() / mask_valid.sum().clamp(min=1)
            kl = exact_kl(logp_all, ref_all[idx], mask_valid)
            loss = policy_loss + args.kl_coef * kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            kl_value = float(kl.detach())
    return kl_value


def cross_entropy_update(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    sequences: torch.Tensor,
    args: FinetuneArgs,
    generator: torch.Generator,
) -> None:
    """PatternBoost's retraining step: next-token cross-entropy on the kept samples."""
    for _ in range(args.ce_epochs):
        order = torch.randperm(len(sequences), generator=generator)
        for begin in range(0, len(order), args.minibatch):
            batch = sequences[order[begin : begin + args.minibatch]]
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), ignore_index=PAD_ID
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()


# ----------------------------------------------------------------------------- run


def _export(model: torch.nn.Module, info: dict[str, Any], args: FinetuneArgs, path: Path) -> None:
    payload = model_payload(
        model,
        kind="model",
        model_config=info["model_config"],
        tokenizer=info["tokenizer"],
        encoding=info["encoding"],
        args={**info.get("args", {}), "finetune": dataclasses.asdict(args)},
    )
    payload["progress"] = info.get("progress", {})
    atomic_torch_save(payload, path)


def finetune(
    checkpoint: str | Path, out: str | Path, args: FinetuneArgs, *, resume: bool = False,
    quiet: bool = False,
) -> Path:
    """Run fine-tuning; returns the path of the exported ``model.pt``."""
    args.validate()
    torch.set_num_threads(args.num_threads)
    out = Path(out)
    state_path = out / "checkpoint.pt"
    if resume and not state_path.is_file():
        raise UsageError(f"--resume: no checkpoint at {state_path}")
    base, tokenizer, info = load_model(checkpoint)
    if info["model_config"]["kind"] == "ngram":
        raise UsageError("fine-tuning needs a neural model (lstm or transformer), not an n-gram")
    model = build_model(info["model_config"])
    model.load_state_dict(base.state_dict())
    reference = base.eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    start, log_rows, kept_keys = 0, [], set()
    produced: list[bytes] = []  # the env's novelty memory (classes produced so far)
    if resume:
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model_state"])
        optimizer.load_state_dict(state["optimizer_state"])
        generator.set_state(state["generator"])
        set_rng_state(state["rng"])
        start, log_rows, kept_keys = state["iteration"], state["log"], set(state["kept_keys"])
        if "produced" not in state:
            raise UsageError(
                f"{state_path} predates the saved novelty memory: a resume would pay the "
                "novelty bonus again for every class; start a new run"
            )
        produced = list(state["produced"])
    envs = make_vec_env(tokenizer, info["encoding"], args)
    known = envs.get_attr("novelty", indices=[0])[0].known
    novelty = NoveltyTracker(known=known, seen=set(produced))
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    bar = tqdm(range(start, args.iterations), desc=f"finetune[{args.method}]", disable=quiet)
    for iteration in bar:
        model.eval()
        sequences = model.sample(
            args.batch, generator=generator, temperature=args.temperature, grammar=tokenizer
        )
        rewards, infos = score(envs, sequences, novelty, args.novelty_bonus)
        keys = [class_key(i) for i in infos]
        novel = [bool(i.get("novel")) for i in infos]
        model.train()
        kl = 0.0
        keep: list[int] = []
        if args.method == "ppo":
            masks = grammar_masks(tokenizer, sequences)
            advantages = torch.tensor(
                (rewards - rewards.mean()) / (rewards.std() + 1e-8), dtype=torch.float32
            )
            kl = ppo_update(
                model, reference, optimizer, sequences, masks, advantages, args, generator
            )
        else:
            keep = [
                k
                for k, key in enumerate(keys)
                if key is not None and key not in kept_keys and (novel[k] or args.keep_known)
            ]
            kept_keys.update(keys[k] for k in keep)
            if keep:
                cross_entropy_update(model, optimizer, sequences[keep], args, generator)
        valid = [k for k in keys if k is not None]
        row = {
            "iteration": iteration + 1,
            "mean_reward": round(float(rewards.mean()), 5),
            "valid": len(valid),
            "batch": len(sequences),
            "distinct_valid_classes": len(set(valid)),
            "novel": int(sum(novel)),
            "kept": len(keep),
            "updates": _adam_steps(optimizer),
            "kl": round(kl, 6),
            "minutes": round((time.monotonic() - began) / 60, 3),
        }
        log_rows.append(row)
        bar.set_postfix(reward=row["mean_reward"], valid=row["valid"], novel=row["novel"])
        atomic_torch_save(
            {
                "model_state": model.state_dict(),
                "optimizer_state": optimizer.state_dict(),
                "generator": generator.get_state(),
                "rng": rng_state(),
                "iteration": iteration + 1,
                "log": log_rows,
                "kept_keys": sorted(kept_keys),
                "produced": sorted(novelty.seen),
                "args": dataclasses.asdict(args),
            },
            state_path,
        )
        _write_log(out / "log.csv", log_rows)
        if args.max_minutes is not None and (time.monotonic() - began) / 60 >= args.max_minutes:
            break
    envs.close()
    export = out / "model.pt"
    _export(model, info, args, export)
    return export


def _adam_steps(optimizer: torch.optim.Optimizer) -> int:
    """Gradient updates taken so far (Adam's step count)."""
    states = list(optimizer.state.values())
    return int(states[0]["step"]) if states else 0


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    names = list(dict.fromkeys(key for row in rows for key in row))  # older logs lack columns
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, restval="")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="pretrained model (.pt)")
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument("--config", default=None, help="YAML of FinetuneArgs keys")
    parser.add_argument("--method", choices=METHODS, default=None)
    parser.add_argument("--override", action="extend", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", action="store_true")
    options = parser.parse_args(argv)
    if not Path(options.checkpoint).is_file():
        raise UsageError(f"{options.checkpoint}: no such checkpoint")
    load_for_cli(options.checkpoint)  # a file that is not a checkpoint: one line, up front
    overrides = list(options.override)
    if options.method:
        overrides.append(f"method={options.method}")
    args = load_dataclass_config(FinetuneArgs, options.config, overrides)
    try:
        path = finetune(options.checkpoint, options.out, args, resume=options.resume)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
