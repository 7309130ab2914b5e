"""Options of ``agents/train_sequence.py``: the dataclass behind its YAML configs.

:class:`SequenceTrainArgs` holds every key (model, data, encoding, optimisation, budget,
run directory); :func:`load_args` reads a YAML file plus ``key=value`` overrides
(type-checked, bad input as :class:`envs.cli.UsageError`); :data:`RESUME_FIXED` are the keys
that a ``--resume`` may not change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.common import load_dataclass_config
from agents.sequence.model import KINDS, SequenceConfig
from envs.cli import UsageError
from envs.polytopes.tokens import EMBEDDINGS, REPRESENTATIONS, ROW_ORDERS

__all__ = ["RESUME_FIXED", "SequenceTrainArgs", "load_args"]

# Keys that must not change when resuming (they define the model, the data or the order).
RESUME_FIXED = (
    "model",
    "layers",
    "width",
    "heads",
    "ff_dim",
    "dropout",
    "embedding_dim",
    "hidden_dim",
    "n",
    "d",
    "representation",
    "split",
    "split_seed",
    "embedding",
    "row_order",
    "encoding_seed",
    "line_numbers",
    "max_tokens",
    "max_vertex_tokens",
    "augment_every_epoch",
    "val_fraction",
    "batch_size",
    "lr",
    "weight_decay",
    "seed",
)


@dataclass
class SequenceTrainArgs:
    """All options (YAML keys). Defaults: the paper's Transformer on d = 7, Adam 1e-3."""

    # model
    model: str = "transformer"  # lstm | transformer | ngram
    layers: int = 4  # LSTM: 1 or 2; Transformer: 4
    width: int = 128
    heads: int = 4
    ff_dim: int = 512
    dropout: float = 0.0
    embedding_dim: int = 4
    hidden_dim: int = 256
    n: int = 10  # n-gram context length
    # data
    d: int = 7
    representation: str = "hyperplane"
    split: str | None = None  # None (all) | half_a | half_b
    split_seed: int = 0
    embedding: str = "negated"
    row_order: str = "shuffled"
    encoding_seed: int = 0
    line_numbers: bool = False
    max_tokens: int | None = None  # keep sequences with fewer tokens (vertex experiment: 800)
    max_vertex_tokens: int | None = None  # keep polytopes with fewer vertex tokens (either rep.)
    augment_every_epoch: bool = False  # fresh embedding/row-order draws every epoch
    val_fraction: float = 0.0  # held out from the training data for the validation loss
    # optimisation
    batch_size: int = 64
    epochs: int = 100
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    max_updates: int | None = None
    max_minutes: float | None = None  # training time over all resumed runs
    amp: bool = False  # bfloat16 autocast on CUDA
    # run
    seed: int = 0
    run_dir: str = "runs/sequence"
    device: str = "auto"
    num_threads: int = 0  # 0: torch default
    checkpoint_every: int = 0  # updates; 0: every epoch and at the end only
    log_every: int = 50  # updates between TensorBoard train/loss points

    def validate(self) -> None:
        """Raise :class:`UsageError` for impossible settings."""
        checks = [
            (self.model in KINDS, f"model must be one of {KINDS}, got {self.model!r}"),
            (
                self.representation in REPRESENTATIONS,
                f"representation must be one of {REPRESENTATIONS}",
            ),
            (self.split in (None, "half_a", "half_b"), "split must be null, half_a or half_b"),
            (self.embedding in EMBEDDINGS, f"embedding must be one of {EMBEDDINGS}"),
            (self.row_order in ROW_ORDERS, f"row_order must be one of {ROW_ORDERS}"),
            (2 <= self.d <= 8, f"d must be in 2..8, got {self.d}"),
            (self.batch_size >= 1 and self.epochs >= 1, "batch_size and epochs must be >= 1"),
            (self.layers >= 1 and self.n >= 1, "layers and n must be >= 1"),
            (self.model != "lstm" or self.layers in (1, 2, 3, 4), "LSTM layers must be 1..4"),
            (0.0 <= self.val_fraction < 1.0, "val_fraction must be in [0, 1)"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (math.isfinite(self.lr) and self.lr > 0, "lr must be a positive number"),
            (self.max_updates is None or self.max_updates >= 1, "max_updates must be >= 1"),
            (self.max_minutes is None or self.max_minutes > 0, "max_minutes must be > 0"),
            (self.checkpoint_every >= 0 and self.log_every >= 1, "bad checkpoint/log interval"),
            (self.num_threads >= 0, "num_threads must be >= 0"),
            (self.width % max(self.heads, 1) == 0, "width must be divisible by heads"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)

    def model_config(self, vocab_size: int, max_length: int) -> SequenceConfig:
        return SequenceConfig(
            kind=self.model,
            vocab_size=vocab_size,
            max_length=max_length,
            layers=self.layers,
            width=self.width,
            heads=self.heads,
            ff_dim=self.ff_dim,
            dropout=self.dropout,
            embedding_dim=self.embedding_dim,
            hidden_dim=self.hidden_dim,
            n=self.n,
        )

    def encoding(self) -> dict[str, Any]:
        """How the training sequences were made (saved with the model)."""
        return {
            "d": self.d,
            "representation": self.representation,
            "split": self.split,
            "split_seed": self.split_seed,
            "embedding": self.embedding,
            "row_order": self.row_order,
            "encoding_seed": self.encoding_seed,
            "line_numbers": self.line_numbers,
            "max_tokens": self.max_tokens,
            "max_vertex_tokens": self.max_vertex_tokens,
            "augment_every_epoch": self.augment_every_epoch,
        }


def load_args(
    config: str | None, overrides: Sequence[str], run_dir: str | None = None
) -> SequenceTrainArgs:
    """Options from a YAML file, ``key=value`` overrides and ``--run-dir``."""
    args = load_dataclass_config(SequenceTrainArgs, config, list(overrides))
    if run_dir is not None:
        args.run_dir = run_dir
    args.validate()
    return args
