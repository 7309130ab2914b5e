"""Autoregressive token models for polytope matrices (Nødland 2021, Section 4.5), nanoGPT-style.

* :class:`LSTMModel`: token embedding of dimension 4, one or two LSTM layers of 256
  units, a linear head to the vocabulary (the paper's recurrent models).
* :class:`TransformerModel`: a causal pre-LN decoder, 4 layers of width 128, 4 heads,
  feed-forward 512, learned positions (``max_length`` of them), dropout (default 0).
  Its parameter count is about that of the 2-layer LSTM, as in the paper.
* :class:`agents.sequence.ngram.NGramModel`: the paper's n-gram baseline (same interface).

Common interface (the SB3 policy in :mod:`agents.sequence.policies` builds on it)::

    model(tokens)                 # LongTensor[B, T] -> logits FloatTensor[B, T, V]
    model.hidden_states(tokens)   # -> FloatTensor[B, T, H], last features before the head
    model.head                    # the final nn.Linear(H, V)
    model.vocab_size, model.max_length
    model.sample(n, generator=g, temperature=1.0, top_k=None, grammar=None, batch_size=256)

``sample`` draws ancestrally from ``<start>`` until ``<end>`` or ``max_length`` tokens and
returns ``LongTensor[n, max_length]`` padded with ``<pad>`` after ``<end>``. The LSTM steps
its state one token at a time; the Transformer keeps a key/value cache. With
``grammar=tokenizer`` the logits are masked by :func:`envs.polytopes.grammar.batch_masks`,
so every sample decodes. Sampling is deterministic for a given generator state (the
random draws use only ``generator``; on GPU the draws come from a generator on the same
device as that generator).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from envs.polytopes.grammar import advance, batch_masks
from envs.polytopes.tokens import END_ID, PAD_ID, START_ID, Tokenizer

__all__ = [
    "SequenceConfig",
    "SequenceModel",
    "LSTMModel",
    "TransformerModel",
    "build_model",
    "load_model",
    "model_payload",
    "count_parameters",
    "ancestral_sample",
    "AncestralSampling",
    "tokenizer_from_dict",
    "tokenizer_to_dict",
    "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = "polygym.sequence/1"
KINDS = ("lstm", "transformer", "ngram")


@dataclass
class SequenceConfig:
    """Architecture of a sequence model (saved in checkpoints as a dict)."""

    kind: str = "transformer"  # lstm | transformer | ngram
    vocab_size: int = 0
    max_length: int = 0
    layers: int = 4  # LSTM: 1 or 2 (the paper's); Transformer: 4
    # Transformer
    width: int = 128
    heads: int = 4
    ff_dim: int = 512
    dropout: float = 0.0  # Transformer: residual/attention dropout; LSTM: between layers
    # LSTM
    embedding_dim: int = 4
    hidden_dim: int = 256
    # n-gram
    n: int = 10

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model kind must be one of {KINDS}, got {self.kind!r}")
        if self.vocab_size < 4 or self.max_length < 3:
            raise ValueError("vocab_size and max_length must come from the tokenizer")
        if self.kind == "transformer" and self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        if self.layers < 1 or self.n < 1:
            raise ValueError("layers and n must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- sampling

StepFn = Callable[[torch.Tensor, Any, int, "torch.Tensor | None"], tuple[torch.Tensor, Any]]


def _draw(
    logits: torch.Tensor,
    generator: torch.Generator,
    temperature: float,
    top_k: int | None,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    """One token per row from ``logits`` [B, V] (masked, tempered, top-k filtered)."""
    logits = logits.float()
    if mask is not None:
        logits = logits.masked_fill(~mask, float("-inf"))
    if temperature <= 0:
        return logits.argmax(dim=-1)
    if temperature != 1.0:
        logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        threshold = torch.topk(logits, int(top_k), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    probs = torch.softmax(logits, dim=-1).to(generator.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(logits.device)


def ancestral_sample(
    start_state: Callable[[int], Any],
    step: StepFn,
    *,
    n: int,
    vocab_size: int,
    max_length: int,
    device: torch.device,
    generator: torch.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    grammar: Tokenizer | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Batched ancestral sampling shared by all models.

    ``start_state(b)`` gives the state before ``<start>``; ``step(tokens [b], state,
    position, mask)`` feeds one token per stream at ``position`` and returns the next-token
    logits [b, V] and the new state (``mask`` [b, V] is the grammar mask or ``None``; only
    the n-gram model uses it, for its back-off). Returns ``LongTensor[n, max_length]`` on
    the CPU.
    """
    if grammar is not None and grammar.vocab_size != vocab_size:
        raise ValueError(
            f"the grammar's vocabulary has {grammar.vocab_size} tokens, the model {vocab_size}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    chunks = []
    for begin in range(0, int(n), int(batch_size)):
        b = min(int(batch_size), int(n) - begin)
        out = torch.full((b, max_length), PAD_ID, dtype=torch.long)
        out[:, 0] = START_ID
        token = torch.full((b,), START_ID, dtype=torch.long, device=device)
        finished = torch.zeros(b, dtype=torch.bool, device=device)
        rows = np.zeros(b, dtype=np.int64)
        entries = np.zeros(b, dtype=np.int64)
        state = start_state(b)
        for position in range(1, max_length):
            mask = None
            if grammar is not None:
                allowed = batch_masks(grammar, rows, entries)
                allowed[finished.cpu().numpy()] = True  # ignored: finished streams get <pad>
                mask = torch.from_numpy(allowed).to(device)
            logits, state = step(token, state, position - 1, mask)
            token = _draw(logits, generator, temperature, top_k, mask)
            token = torch.where(finished, torch.full_like(token, PAD_ID), token)
            out[:, position] = token.cpu()
            if grammar is not None:
                rows, entries, _ = advance(grammar, rows, entries, token.cpu().numpy())
            finished = finished | (token == END_ID)
            if bool(finished.all()):
                break
        chunks.append(out)
    if not chunks:
        return torch.zeros((0, max_length), dtype=torch.long)
    return torch.cat(chunks)


class AncestralSampling:
    """Mixin for ``nn.Module`` models: ``sample`` via :func:`ancestral_sample`.

    Subclasses set ``vocab_size`` and ``max_length`` and define ``_start_state``,
    ``_step`` (see :func:`ancestral_sample`) and ``_sample_device``.
    """

    vocab_size: int
    max_length: int

    def _sample_device(self) -> torch.device:  # pragma: no cover
        raise NotImplementedError

    def _start_state(self, batch: int) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _step(
        self, token: torch.Tensor, state: Any, position: int, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:  # pragma: no cover
        raise NotImplementedError

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator,
        temperature: float = 1.0,
        top_k: int | None = None,
        grammar: Tokenizer | None = None,
        batch_size: int = 256,
    ) -> torch.Tensor:
        """``n`` samples ``LongTensor[n, max_length]`` (see the module docstring)."""
        was_training = self.training
        self.eval()
        try:
            return ancestral_sample(
                self._start_state,
                self._step,
                n=n,
                vocab_size=self.vocab_size,
                max_length=self.max_length,
                device=self._sample_device(),
                generator=generator,
                temperature=temperature,
                top_k=top_k,
                grammar=grammar,
                batch_size=batch_size,
            )
        finally:
            self.train(was_training)


class SequenceModel(AncestralSampling, nn.Module):
    """Base class: ``forward = head(hidden_states)``, ``sample`` via :func:`ancestral_sample`."""

    config: SequenceConfig
    head: nn.Linear

    def __init__(self, config: SequenceConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.vocab_size = int(config.vocab_size)
        self.max_length = int(config.max_length)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``[B, T, V]`` for ``tokens`` ``[B, T]``."""
        return self.head(self.hidden_states(tokens))

    def _sample_device(self) -> torch.device:
        return next(self.parameters()).device


# ----------------------------------------------------------------------------- LSTM


class LSTMModel(SequenceModel):
    """Embedding (dim 4) -> LSTM (1 or 2 layers, 256 units) -> linear head."""

    def __init__(self, config: SequenceConfig) -> None:
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_dim,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.head = nn.Linear(config.hidden_dim, config.vocab_size)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(self.embedding(tokens))
        return output

    def _start_state(self, batch: int) -> Any:
        return None  # nn.LSTM starts from zeros

    def _step(
        self, token: torch.Tensor, state: Any, position: int, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:
        output, state = self.lstm(self.embedding(token)[:, None, :], state)
        return self.head(output[:, 0]), state


# ----------------------------------------------------------------------------- Transformer


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with an optional key/value cache."""

    def __init__(self, config: SequenceConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.proj = nn.Linear(config.width, config.width)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        shape = (b, t, self.heads, c // self.heads)
        return (
            q.view(shape).transpose(1, 2),
            k.view(shape).transpose(1, 2),
            v.view(shape).transpose(1, 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self._split(x)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(b, t, c)))

    def step(self, x: torch.Tensor, cache: dict[str, torch.Tensor], position: int) -> torch.Tensor:
        """One new token per stream ``x`` [B, 1, C] at ``position``; fills ``cache``."""
        b, _, c = x.shape
        q, k, v = self._split(x)
        cache["k"][:, :, position] = k[:, :, 0]
        cache["v"][:, :, position] = v[:, :, 0]
        keys = cache["k"][:, :, : position + 1]
        values = cache["v"][:, :, : position + 1]
        y = F.scaled_dot_product_attention(q, keys, values)
        return self.proj(y.transpose(1, 2).reshape(b, 1, c))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + attn(ln(x))``, ``x + mlp(ln(x))``."""

    def __init__(self, config: SequenceConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.width)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.width)
        self.mlp = nn.Sequential(
            nn.Linear(config.width, config.ff_dim),
            nn.GELU(),
            nn.Linear(config.ff_dim, config.width),
            nn.Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))

    def step(self, x: torch.Tensor, cache: dict[str, torch.Tensor], position: int) -> torch.Tensor:
        x = x + self.attn.step(self.ln1(x), cache, position)
        return x + self.mlp(self.ln2(x))


class TransformerModel(SequenceModel):
    """Causal pre-LN decoder: token + learned position embeddings, blocks, final LN, head."""

    def __init__(self, config: SequenceConfig) -> None:
        super().__init__(config)
        self.token_embedding = nn.Embedding(config.vocab_size, config.width)
        self.position_embedding = nn.Embedding(config.max_length, config.width)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab_size)
        self.apply(self._init_weights)
        for name, parameter in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def hidden_states(self, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        if t > self.max_length:
            raise ValueError(f"{t} tokens exceed the model's max_length {self.max_length}")
        positions = torch.arange(t, device=tokens.device)
        x = self.drop(self.token_embedding(tokens) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def _start_state(self, batch: int) -> Any:
        parameter = self.head.weight
        c, h = self.config.width, self.config.heads
        shape = (batch, h, self.max_length, c // h)
        return [
            {
                "k": torch.zeros(shape, dtype=parameter.dtype, device=parameter.device),
                "v": torch.zeros(shape, dtype=parameter.dtype, device=parameter.device),
            }
            for _ in self.blocks
        ]

    def _step(
        self, token: torch.Tensor, state: Any, position: int, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, Any]:
        where = torch.full((1,), position, dtype=torch.long, device=token.device)
        x = self.token_embedding(token)[:, None, :] + self.position_embedding(where)
        for block, cache in zip(self.blocks, state, strict=True):
            x = block.step(x, cache, position)
        return self.head(self.ln_f(x)[:, 0]), state


# ----------------------------------------------------------------------------- construction


def build_model(config: SequenceConfig | dict[str, Any]) -> nn.Module:
    """The model described by ``config`` (a :class:`SequenceConfig` or its dict)."""
    if isinstance(config, dict):
        known = {f.name for f in fields(SequenceConfig)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown}")
        config = SequenceConfig(**config)
    config.validate()
    if config.kind == "lstm":
        return LSTMModel(config)
    if config.kind == "transformer":
        return TransformerModel(config)
    from agents.sequence.ngram import NGramModel

    return NGramModel(config.vocab_size, config.max_length, n=config.n)


def tokenizer_to_dict(tokenizer: Tokenizer) -> dict[str, Any]:
    """The constructor arguments of ``tokenizer`` (saved in checkpoints)."""
    return {
        "d": int(tokenizer.d),
        "representation": tokenizer.representation,
        "line_numbers": bool(tokenizer.line_numbers),
        "entry_bound": int(tokenizer.entry_bound),
        "row_limit": int(tokenizer.row_limit),
    }


def tokenizer_from_dict(options: dict[str, Any]) -> Tokenizer:
    """Inverse of :func:`tokenizer_to_dict`."""
    return Tokenizer(**options)


def model_payload(
    model: nn.Module,
    *,
    kind: str,
    model_config: dict[str, Any],
    tokenizer: dict[str, Any],
    encoding: dict[str, Any],
    args: dict[str, Any],
) -> dict[str, Any]:
    """The dict :func:`load_model` reads (``kind``: ``"model"`` export or ``"checkpoint"``)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "kind": kind,
        "args": args,
        "model_config": model_config,
        "tokenizer": tokenizer,
        "encoding": encoding,
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def load_model(
    path: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> tuple[nn.Module, Tokenizer, dict[str, Any]]:
    """Load a training checkpoint (``checkpoint.pt``) or an export (``model.pt``).

    Returns ``(model, tokenizer, info)``; ``info`` holds ``model_config`` (a dict for
    :func:`build_model`), ``tokenizer`` (its options), ``encoding`` (embedding, row
    order, seeds, split, token limit), ``args`` (the training options) and ``progress``.
    The model is in eval mode on ``device``.
    """
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a sequence-model checkpoint ({CHECKPOINT_FORMAT})")
    model = build_model(dict(payload["model_config"]))
    model.load_state_dict(payload["model_state"])
    model.to(device).eval()
    tokenizer = tokenizer_from_dict(payload["tokenizer"])
    info = {
        "kind": payload.get("kind"),
        "model_config": dict(payload["model_config"]),
        "tokenizer": dict(payload["tokenizer"]),
        "encoding": dict(payload.get("encoding", {})),
        "args": dict(payload.get("args", {})),
        "progress": dict(payload.get("progress", {})),
    }
    return model, tokenizer, info


def config_dict(config: SequenceConfig) -> dict[str, Any]:
    """``asdict`` of a config (kept as a function so callers need not import dataclasses)."""
    return asdict(config)
