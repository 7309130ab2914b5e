"""The paper's n-gram baseline (Nødland 2021, Section 4.2), as an ``nn.Module``.

The next token is drawn from the histogram of the tokens that followed the previous
``n`` tokens (default ``n = 10``) in the training data. Train it on line-number token
sequences (``Tokenizer(line_numbers=True)``) so that ``<end>`` cannot come too early.

Contexts: the sequence is left-padded with ``<pad>``, so near the start a context is
``<pad> ... <pad> <start> x y`` -- the true (shorter) history, which also encodes the
position. **Unseen context** (only possible with a grammar mask, top-k, or a foreign
prefix; plain ancestral sampling only reaches seen contexts): back off to the longest
shorter suffix of the context that was seen *and* leaves a token the mask allows; the
last resort is the unigram histogram (suffix length 0), then the mask itself (uniform).

Storage: each full context is a base-``V`` integer whose most significant digit is the
most recent token, so all contexts sharing a suffix form one contiguous range of the
sorted keys. The buffers ``keys`` (sorted unique contexts), ``offsets`` (CSR row starts),
``next_tokens`` and ``counts`` (the histograms) are ordinary buffers, so the model
round-trips through ``state_dict`` / :func:`agents.sequence.load_model`. Fitting is a sort
(seconds for d = 7). Needs ``V ** (n + 1) < 2 ** 63``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from agents.sequence.model import AncestralSampling
from envs.polytopes.tokens import PAD_ID

__all__ = ["NGramModel"]


class NGramModel(AncestralSampling, nn.Module):
    """Histogram of next tokens given the previous ``n`` tokens, with suffix back-off."""

    def __init__(self, vocab_size: int, max_length: int, n: int = 10) -> None:
        super().__init__()
        if int(vocab_size) ** (int(n) + 1) >= 2**63:
            raise ValueError(f"vocab_size {vocab_size} ** (n + 1 = {n + 1}) overflows int64 keys")
        self.vocab_size = int(vocab_size)
        self.max_length = int(max_length)
        self.n = int(n)
        self.register_buffer("keys", torch.zeros(0, dtype=torch.long))
        self.register_buffer("offsets", torch.zeros(1, dtype=torch.long))
        self.register_buffer("next_tokens", torch.zeros(0, dtype=torch.long))
        self.register_buffer("counts", torch.zeros(0, dtype=torch.long))
        self.register_buffer("unigram", torch.zeros(self.vocab_size, dtype=torch.long))
        self._np: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ storage
    def _load_from_state_dict(  # resize the count buffers before copying
        self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        for name in ("keys", "offsets", "next_tokens", "counts", "unigram"):
            if prefix + name in state_dict:
                self._buffers[name] = torch.empty_like(state_dict[prefix + name])
        self._np = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._np is None:
            self._np = {
                name: getattr(self, name).cpu().numpy()
                for name in ("keys", "offsets", "next_tokens", "counts", "unigram")
            }
        return self._np

    @property
    def num_contexts(self) -> int:
        """Number of distinct (left-padded) contexts seen in training."""
        return int(self.keys.numel())

    def _context_keys(self, tokens: np.ndarray) -> np.ndarray:
        """``keys[b, t]``: the context ending at token ``t`` (inclusive) of each row."""
        tokens = np.asarray(tokens, dtype=np.int64)
        v, top = self.vocab_size, self.vocab_size ** (self.n - 1)
        keys = np.empty(tokens.shape, dtype=np.int64)
        key = np.zeros(tokens.shape[0], dtype=np.int64)  # all-<pad> context (PAD_ID = 0)
        for t in range(tokens.shape[1]):
            key = key // v + tokens[:, t] * top
            keys[:, t] = key
        return keys

    # ------------------------------------------------------------------ fitting
    def fit(self, tokens: torch.Tensor | np.ndarray) -> NGramModel:
        """Count every (context, next token) pair of the padded rows ``tokens`` [N, L].

        Targets are the tokens after ``<start>`` up to and including ``<end>``.
        """
        array = np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens)
        array = array.astype(np.int64)
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError("token ids outside the vocabulary")
        keys = self._context_keys(array[:, :-1])
        targets = array[:, 1:]
        valid = targets != PAD_ID
        pairs = keys[valid] * self.vocab_size + targets[valid]
        unique_pairs, pair_counts = np.unique(pairs, return_counts=True)
        context = unique_pairs // self.vocab_size
        unique_keys, starts = np.unique(context, return_index=True)
        next_tokens = unique_pairs % self.vocab_size
        self.keys = torch.from_numpy(unique_keys)
        self.offsets = torch.from_numpy(np.append(starts, len(unique_pairs)).astype(np.int64))
        self.next_tokens = torch.from_numpy(next_tokens.astype(np.int64))
        self.counts = torch.from_numpy(pair_counts.astype(np.int64))
        self.unigram = torch.from_numpy(
            np.bincount(next_tokens, weights=pair_counts, minlength=self.vocab_size).astype(
                np.int64
            )
        )
        self._np = None
        return self

    # ------------------------------------------------------------------ histograms
    def _suffix_histogram(self, key: int, length: int) -> np.ndarray:
        """Summed histogram of all contexts whose last ``length`` tokens match ``key``'s."""
        a = self._arrays()
        if length <= 0:
            return a["unigram"].astype(np.float64)
        span = self.vocab_size ** (self.n - length)
        low = (int(key) // span) * span
        first, last = np.searchsorted(a["keys"], [low, low + span])
        edges = slice(a["offsets"][first], a["offsets"][last])
        return np.bincount(
            a["next_tokens"][edges], weights=a["counts"][edges], minlength=self.vocab_size
        ).astype(np.float64)

    def histograms(self, keys: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Counts ``[B, V]`` of the next token after each context key (with back-off).

        With ``mask`` [B, V] the counts are masked and a row with no allowed count backs
        off; a row that backs off to the unigram and still has nothing gets the mask.
        """
        a = self._arrays()
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        out = np.zeros((keys.size, self.vocab_size), dtype=np.float64)
        where = np.searchsorted(a["keys"], keys)
        found = where < a["keys"].size
        found[found] = a["keys"][where[found]] == keys[found]
        rows = np.flatnonzero(found)
        if rows.size:
            starts, ends = a["offsets"][where[rows]], a["offsets"][where[rows] + 1]
            lengths = ends - starts
            row_of_edge = np.repeat(rows, lengths)
            edge = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
                lengths.sum()
            )
            out[row_of_edge, a["next_tokens"][edge]] = a["counts"][edge]
        if mask is not None:
            out *= mask
        for row in np.flatnonzero(out.sum(axis=1) <= 0):
            for length in range(self.n - 1, -1, -1):
                histogram = self._suffix_histogram(int(keys[row]), length)
                if mask is not None:
                    histogram = histogram * mask[row]
                if histogram.sum() > 0:
                    out[row] = histogram
                    break
            else:
                out[row] = mask[row] if mask is not None else 1.0
        return out

    def context_coverage(self, tokens: torch.Tensor | np.ndarray) -> float:
        """Fraction of the targets of ``tokens`` whose full context was seen in training."""
        array = np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens)
        keys = self._context_keys(array[:, :-1])[array[:, 1:] != PAD_ID]
        a = self._arrays()
        where = np.minimum(np.searchsorted(a["keys"], keys), max(a["keys"].size - 1, 0))
        if a["keys"].size == 0:
            return 0.0
        return float(np.mean(a["keys"][where] == keys)) if keys.size else float("nan")

    # ------------------------------------------------------------------ interface
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Log-frequencies ``[B, T, V]`` of the next token (``-inf`` for unseen tokens)."""
        array = tokens.detach().cpu().numpy()
        keys = self._context_keys(array)
        counts = self.histograms(keys.reshape(-1)).reshape(*array.shape, self.vocab_size)
        with np.errstate(divide="ignore"):
            logits = np.log(counts / counts.sum(axis=-1, keepdims=True))
        return torch.from_numpy(logits).float().to(tokens.device)

    # ``sample`` comes from AncestralSampling; the state is the context key.
    def _sample_device(self) -> torch.device:
        return torch.device("cpu")

    def _start_state(self, batch: int) -> np.ndarray:
        return np.zeros(batch, dtype=np.int64)

    def _step(
        self, token: torch.Tensor, key: np.ndarray, position: int, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, np.ndarray]:
        key = key // self.vocab_size + token.cpu().numpy() * self.vocab_size ** (self.n - 1)
        allowed = mask.cpu().numpy() if mask is not None else None
        counts = self.histograms(key, allowed)
        with np.errstate(divide="ignore"):
            logits = torch.from_numpy(np.log(counts)).float()
        return logits, key
