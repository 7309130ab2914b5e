"""Train a next-token model (LSTM, Transformer or n-gram) on smooth Fano polytopes.

Usage::

    python agents/train_sequence.py --config configs/sequence_transformer_d7_cpu.yaml \
        [--override key=value ...] [--resume] [--run-dir DIR] [--quiet]

The data is :func:`agents.sequence.data.load_token_dataset` (cached token arrays): by
default the negated embedding, rows shuffled once per polytope (seeded by
``encoding_seed``). The loss is next-token cross-entropy over every target up to and
including ``<end>`` (``<pad>`` targets are masked). Adam, learning rate 1e-3 (the paper's).

Writes under ``run_dir``: ``config.yaml``, ``checkpoint.pt`` (after every epoch, every
``checkpoint_every`` updates and at the end; written to a temporary file and renamed:
config, tokenizer and encoding options, model and optimizer state, epoch/batch/step
counters, the python/numpy/torch RNG states and the data-shuffling generator),
``model.pt`` (the export: config, tokenizer, encoding and weights, no optimizer; load it
with :func:`agents.sequence.load_model`), ``history.csv`` (one row per epoch) and
TensorBoard scalars in ``tb/`` (train/loss, train/tokens_per_s, val/loss).

``--resume`` continues from ``run_dir/checkpoint.pt`` exactly (2 epochs straight and 1 + 1
resumed give identical weights, tested); the run stops at ``epochs``, ``max_updates`` or
``max_minutes`` of training time (counted over all resumed runs), whichever comes first,
and always checkpoints before it stops. Raise them with ``--override`` to continue.
SIGINT/SIGTERM finish the current update, checkpoint and exit (a second one stops at once).
``model: ngram`` counts n-grams instead (seconds, no gradient; the paper uses
``line_numbers: true`` for it).
"""

from __future__ import annotations

import argparse
import csv
import math
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # allow `python agents/train_sequence.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from tqdm import tqdm

from agents.common import (
    atomic_torch_save,
    rng_state,
    select_device,
    set_rng_state,
)
from agents.sequence.config import RESUME_FIXED, SequenceTrainArgs, load_args
from agents.sequence.data import (
    augmented_tokens,
    load_token_dataset,
    make_tokenizer,
    sequence_lengths,
)
from agents.sequence.model import (
    SequenceConfig,
    build_model,
    count_parameters,
    model_payload,
    tokenizer_to_dict,
)
from envs.cli import UsageError, UsageParser, run_cli
from envs.polytopes.tokens import PAD_ID

CHECKPOINT = "checkpoint.pt"
EXPORT = "model.pt"


# ----------------------------------------------------------------------------- data


def load_data(
    args: SequenceTrainArgs,
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Training and validation token arrays (validation: a seeded ``val_fraction``) and
    the dataset index of each training row."""
    try:
        tokens, indices = load_token_dataset(
            args.d,
            args.representation,
            args.split,
            args.split_seed,
            embedding=args.embedding,
            row_order=args.row_order,
            encoding_seed=args.encoding_seed,
            line_numbers=args.line_numbers,
            max_tokens=args.max_tokens,
            max_vertex_tokens=args.max_vertex_tokens,
            return_indices=True,
        )
    except FileNotFoundError as error:
        raise UsageError(str(error).splitlines()[0]) from None
    count = int(round(args.val_fraction * len(tokens)))
    if count == 0:
        return tokens, tokens[:0], indices
    order = np.random.default_rng([args.seed, 7]).permutation(len(tokens))
    train_rows, val_rows = torch.from_numpy(order[count:]), torch.from_numpy(order[:count])
    return tokens[train_rows], tokens[val_rows], indices[order[count:]]


def next_token_loss(model: torch.nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over non-pad targets of ``batch`` (trimmed to its longest row)."""
    width = int(sequence_lengths(batch).max())
    batch = batch[:, :width]
    logits = model(batch[:, :-1])
    targets = batch[:, 1:]
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=PAD_ID
    )
    return loss, int((targets != PAD_ID).sum())


@torch.no_grad()
def evaluate(model: torch.nn.Module, tokens: torch.Tensor, batch_size: int, amp: bool) -> float:
    """Token-weighted mean next-token loss on ``tokens`` (nan if empty)."""
    if len(tokens) == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for begin in range(0, len(tokens), batch_size):
        batch = tokens[begin : begin + batch_size].to(device)
        with _autocast(device, amp):
            loss, n = next_token_loss(model, batch)
        total += float(loss) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def _autocast(device: torch.device, amp: bool) -> Any:
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


# ----------------------------------------------------------------------------- checkpoints


def _payload(
    kind: str, args: SequenceTrainArgs, config: SequenceConfig, model: torch.nn.Module
) -> dict[str, Any]:
    tokenizer = make_tokenizer(
        args.d, args.representation, line_numbers=args.line_numbers, max_tokens=args.max_tokens
    )
    return model_payload(
        model,
        kind=kind,
        model_config=asdict(config),
        tokenizer=tokenizer_to_dict(tokenizer),
        encoding=args.encoding(),
        args=asdict(args),
    )


def save_export(
    args: SequenceTrainArgs, config: SequenceConfig, model: torch.nn.Module, progress: dict
) -> Path:
    """Write ``run_dir/model.pt`` (no optimizer) atomically."""
    payload = _payload("model", args, config, model)
    payload["progress"] = dict(progress)
    return atomic_torch_save(payload, Path(args.run_dir) / EXPORT)


def save_checkpoint(
    args: SequenceTrainArgs,
    config: SequenceConfig,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    progress: dict,
    shuffle_state: torch.Tensor,
    history: list[dict],
) -> Path:
    """Write ``run_dir/checkpoint.pt`` atomically (everything ``--resume`` needs)."""
    payload = _payload("checkpoint", args, config, model)
    payload.update(
        {
            "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
            "progress": dict(progress),
            "rng": rng_state(),
            "shuffle_state": shuffle_state.clone(),
            "history": list(history),
        }
    )
    return atomic_torch_save(payload, Path(args.run_dir) / CHECKPOINT)


def _check_resumable(saved: dict[str, Any], args: SequenceTrainArgs) -> None:
    changed = [k for k in RESUME_FIXED if saved.get(k) != getattr(args, k)]
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {getattr(args, k)!r}" for k in changed)
        raise UsageError(f"cannot resume with changed options ({shown})")


def _write_history(path: Path, history: list[dict]) -> None:
    if not history:
        return
    names = list(dict.fromkeys(k for row in history for k in row))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        writer.writerows(history)


# ----------------------------------------------------------------------------- training


def _prepare_run_dir(args: SequenceTrainArgs, resume: bool) -> Path:
    run_dir = Path(args.run_dir)
    exists = (run_dir / CHECKPOINT).exists()
    if resume and not exists:
        raise UsageError(f"--resume: no checkpoint at {run_dir / CHECKPOINT}")
    if not resume and exists:
        raise UsageError(
            f"{run_dir} already has a checkpoint: pass --resume or choose another --run-dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "config.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(asdict(args), fh, sort_keys=False)
    return run_dir


def train_ngram(args: SequenceTrainArgs, quiet: bool = False) -> dict[str, Any]:
    """Count the n-grams of the training data; write checkpoint and export."""
    train_tokens, val_tokens, _ = load_data(args)
    tokenizer = make_tokenizer(
        args.d, args.representation, line_numbers=args.line_numbers, max_tokens=args.max_tokens
    )
    config = args.model_config(tokenizer.vocab_size, tokenizer.max_length)
    model = build_model(config)
    begin = time.perf_counter()
    model.fit(train_tokens)
    seconds = time.perf_counter() - begin
    row = {
        "epoch": 1,
        "step": 0,
        "train_sequences": len(train_tokens),
        "contexts": model.num_contexts,
        "fit_seconds": round(seconds, 2),
        "val_context_coverage": model.context_coverage(val_tokens) if len(val_tokens) else "",
    }
    progress = {"epoch": 1, "batch": 0, "step": 0, "tokens": 0, "train_seconds": seconds}
    save_checkpoint(args, config, model, None, progress, torch.zeros(0), [row])
    save_export(args, config, model, progress)
    _write_history(Path(args.run_dir) / "history.csv", [row])
    if not quiet:
        print(f"n-gram (n={args.n}): {row}")
    return {"history": [row], "progress": progress, "parameters": 0}


class _StopRequest:
    """SIGINT/SIGTERM set ``requested`` (the loop checkpoints and stops after the update)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no graceful stop
                pass

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second signal: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train(args: SequenceTrainArgs, resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train (or resume) according to ``args``; returns ``{history, progress, parameters}``."""
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    run_dir = _prepare_run_dir(args, resume)
    if args.model == "ngram":
        return train_ngram(args, quiet=quiet)
    device = select_device(args.device)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    import random

    random.seed(args.seed)
    train_tokens, val_tokens, train_indices = load_data(args)
    tokenizer = make_tokenizer(
        args.d, args.representation, line_numbers=args.line_numbers, max_tokens=args.max_tokens
    )
    config = args.model_config(tokenizer.vocab_size, tokenizer.max_length)
    model = build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    shuffler = torch.Generator().manual_seed(args.seed)
    progress: dict[str, Any] = {
        "epoch": 0,
        "batch": 0,
        "step": 0,
        "tokens": 0,
        "train_seconds": 0.0,
    }
    history: list[dict] = []
    if resume:
        saved = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=False)
        _check_resumable(saved["args"], args)
        model.load_state_dict(saved["model_state"])
        optimizer.load_state_dict(saved["optimizer_state"])
        progress = dict(saved["progress"])
        history = list(saved["history"])
        shuffler.set_state(saved["shuffle_state"])
        set_rng_state(saved["rng"])
    train_tokens = train_tokens.to(device)
    batches_per_epoch = math.ceil(len(train_tokens) / args.batch_size)
    total = batches_per_epoch * args.epochs
    if args.max_updates is not None:
        total = min(total, args.max_updates)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tb"), purge_step=progress["step"] if resume else None)
    bar = tqdm(
        total=total, initial=progress["step"], desc=args.model, disable=quiet, dynamic_ncols=True
    )
    model.train()

    def out_of_budget() -> bool:
        return (
            (args.max_updates is not None and progress["step"] >= args.max_updates)
            or (args.max_minutes is not None and progress["train_seconds"] >= 60 * args.max_minutes)
            or stop.requested
        )

    def checkpoint(epoch_start_state: torch.Tensor) -> None:
        save_checkpoint(args, config, model, optimizer, progress, epoch_start_state, history)
        save_export(args, config, model, progress)

    stop = _StopRequest()
    try:
        window_loss, window_tokens, window_seconds, window_updates = 0.0, 0, 0.0, 0
        epoch_start_state = shuffler.get_state()
        stopped = out_of_budget()
        while progress["epoch"] < args.epochs and not stopped:
            epoch_start_state = shuffler.get_state()
            order = torch.randperm(len(train_tokens), generator=shuffler).to(device)
            if args.augment_every_epoch:
                train_tokens = augmented_tokens(
                    tokenizer,
                    train_indices,
                    progress["epoch"],
                    length=train_tokens.shape[1],
                    embedding=args.embedding,
                    row_order=args.row_order,
                    encoding_seed=args.encoding_seed,
                ).to(device)
            progress.setdefault("epoch_loss_sum", 0.0)
            progress.setdefault("epoch_tokens", 0)
            epoch_begin = time.perf_counter()
            epoch_tokens_here = 0
            while progress["batch"] < batches_per_epoch:
                begin = time.perf_counter()
                index = order[
                    progress["batch"] * args.batch_size : (progress["batch"] + 1) * args.batch_size
                ]
                with _autocast(device, args.amp):
                    loss, count = next_token_loss(model, train_tokens[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if args.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
                optimizer.step()
                value = float(loss.detach())
                seconds = time.perf_counter() - begin
                progress["batch"] += 1
                progress["step"] += 1
                progress["tokens"] += count
                progress["train_seconds"] += seconds
                progress["epoch_loss_sum"] += value * count
                progress["epoch_tokens"] += count
                epoch_tokens_here += count
                window_loss += value * count
                window_tokens += count
                window_seconds += seconds
                window_updates += 1
                bar.update(1)
                if window_updates >= args.log_every:
                    writer.add_scalar("train/loss", window_loss / window_tokens, progress["step"])
                    writer.add_scalar(
                        "train/tokens_per_s", window_tokens / window_seconds, progress["step"]
                    )
                    bar.set_postfix(
                        loss=f"{window_loss / window_tokens:.4f}",
                        tok_s=f"{window_tokens / window_seconds:.0f}",
                    )
                    window_loss, window_tokens, window_seconds, window_updates = 0.0, 0, 0.0, 0
                stopped = out_of_budget()
                if stopped:
                    break
                if args.checkpoint_every and progress["step"] % args.checkpoint_every == 0:
                    checkpoint(epoch_start_state)
            if progress["batch"] >= batches_per_epoch:
                progress["epoch"] += 1
                progress["batch"] = 0
                epoch_start_state = shuffler.get_state()
                wall = time.perf_counter() - epoch_begin  # this process's part of the epoch
                train_loss = progress["epoch_loss_sum"] / max(progress["epoch_tokens"], 1)
                progress["epoch_loss_sum"], progress["epoch_tokens"] = 0.0, 0
                val_loss = evaluate(model, val_tokens, 256, args.amp)
                row = {
                    "epoch": progress["epoch"],
                    "step": progress["step"],
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "epoch_seconds": round(wall, 1),
                    "train_seconds": round(progress["train_seconds"], 1),
                    "tokens_per_s": round(epoch_tokens_here / max(wall, 1e-9)),
                }
                history.append(row)
                writer.add_scalar("train/epoch_loss", row["train_loss"], progress["step"])
                if len(val_tokens):
                    writer.add_scalar("val/loss", val_loss, progress["step"])
                _write_history(run_dir / "history.csv", history)
                if not quiet:
                    tqdm.write(
                        f"epoch {row['epoch']}: train {row['train_loss']:.4f} "
                        f"val {val_loss:.4f} ({row['epoch_seconds']} s)"
                    )
                checkpoint(epoch_start_state)
    finally:
        stop.restore()
    bar.close()
    checkpoint(epoch_start_state)
    writer.close()
    if stop.requested and not quiet:
        print(f"stopped by signal; checkpoint written, continue with --resume --run-dir {run_dir}")
    return {
        "history": history,
        "progress": progress,
        "parameters": count_parameters(model),
        "stopped_by_signal": stop.requested,
    }


# ----------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python agents/train_sequence.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML file with SequenceTrainArgs keys")
    parser.add_argument("--override", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    parser.add_argument("--run-dir", default=None, help="overrides run_dir")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    ns = parser.parse_args(argv)
    args = load_args(ns.config, ns.override, ns.run_dir)
    result = train(args, resume=ns.resume, quiet=ns.quiet)
    if not ns.quiet:
        progress = result["progress"]
        print(
            f"done: epoch {progress['epoch']}, step {progress['step']}, "
            f"{progress['train_seconds']:.0f} s training; wrote {Path(args.run_dir) / EXPORT}"
        )
    return 0


if __name__ == "__main__":
    run_cli(main)
