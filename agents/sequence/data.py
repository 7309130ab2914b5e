"""Padded token arrays of the smooth Fano datasets, cached on disk.

:func:`load_token_dataset` encodes every polytope of a dimension (or one half of it) with
:func:`envs.polytopes.tokens.encode_dataset` and caches the ``(N, L)`` array in an
``.npz`` under ``<polytope cache>/tokens/`` (``$POLYGYM_POLYTOPE_CACHE`` or
``~/.cache/polygym/polytopes``), keyed by every option, so the second load is instant.
The d = 7 hyperplane array (72 256 x 162) takes about 7 s to encode the first time.

The cached array holds one fixed encoding per polytope (seeded by ``(encoding_seed,
index)``); :func:`augmented_tokens` re-encodes with fresh draws per epoch (the training
option ``augment_every_epoch``, e.g. with ``embedding="random_unimodular"``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.polytopes import dataset
from envs.polytopes.tokens import Tokenizer, encode_dataset, prepare

__all__ = [
    "make_tokenizer",
    "load_token_dataset",
    "augmented_tokens",
    "token_cache_file",
    "sequence_lengths",
]

CACHE_VERSION = 1


def make_tokenizer(
    d: int,
    representation: str = "hyperplane",
    *,
    line_numbers: bool = False,
    max_tokens: int | None = None,
) -> Tokenizer:
    """The tokenizer of a dataset: ``max_tokens`` (exclusive) caps the row limit.

    With ``max_tokens`` the row limit becomes the most rows whose sequence has fewer than
    ``max_tokens`` tokens (d = 7 vertices, ``max_tokens=800``: 99 rows), so the model's
    ``max_length`` and the grammar agree with the filtered data.
    """
    tokenizer = Tokenizer(d, representation=representation, line_numbers=line_numbers)
    if max_tokens is None:
        return tokenizer
    rows = (int(max_tokens) - 1 - 2) // (int(d) + 1)
    if rows < d + 1:
        raise ValueError(f"max_tokens={max_tokens} leaves fewer than d + 1 rows")
    return Tokenizer(
        d,
        representation=representation,
        line_numbers=line_numbers,
        row_limit=min(rows, int(tokenizer.row_limit)),
    )


def token_cache_file(options: dict[str, Any], cache_dir: str | os.PathLike[str] | None) -> Path:
    """Cache path for the token array of ``options`` (a hash of every option)."""
    digest = hashlib.sha256(
        json.dumps({"version": CACHE_VERSION, **options}, sort_keys=True).encode()
    ).hexdigest()[:16]
    root = Path(cache_dir) if cache_dir else dataset.default_cache_dir()
    name = f"tokens_d{options['d']}_{options['representation']}_{options['split']}_{digest}.npz"
    return root / "tokens" / name


def load_token_dataset(
    d: int,
    representation: str = "hyperplane",
    split: str | None = None,
    split_seed: int = 0,
    *,
    embedding: str = "negated",
    row_order: str = "shuffled",
    encoding_seed: int = 0,
    line_numbers: bool = False,
    max_tokens: int | None = None,
    max_vertex_tokens: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    return_indices: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, np.ndarray]:
    """``LongTensor[N, L]`` of padded token rows (``L``: the longest sequence kept).

    ``split``: ``None`` (all), ``"half_a"`` or ``"half_b"`` (seeded by ``split_seed``);
    ``embedding``/``row_order``/``encoding_seed``: see :func:`envs.polytopes.tokens.prepare`
    (one fixed shuffle per polytope, seeded by ``(encoding_seed, dataset index)``);
    ``max_tokens``: keep only sequences with fewer tokens (the paper's vertex experiment
    uses 800); ``max_vertex_tokens``: keep only polytopes whose *vertex* sequence has fewer
    tokens, in either representation (the paper's "corresponding hyperplane dataset":
    d = 7, ``max_vertex_tokens=800`` keeps 39 737 polytopes). ``cache_dir``: where the
    ``.npz`` goes (default the polytope cache);
    ``data_dir``: where the d >= 7 datasets live (default the polytope cache).
    ``return_indices``: also return the dataset index of each row (``int64 [N]``).
    """
    if split not in dataset.SPLITS:
        raise ValueError(f"split must be one of {dataset.SPLITS}, got {split!r}")
    tokenizer = make_tokenizer(d, representation, line_numbers=line_numbers, max_tokens=max_tokens)
    options = {
        "d": int(d),
        "representation": representation,
        "split": split,
        "split_seed": int(split_seed),
        "embedding": embedding,
        "row_order": row_order,
        "encoding_seed": int(encoding_seed),
        "line_numbers": bool(line_numbers),
        "max_tokens": None if max_tokens is None else int(max_tokens),
        "max_vertex_tokens": None if max_vertex_tokens is None else int(max_vertex_tokens),
        "entry_bound": int(tokenizer.entry_bound),
        "row_limit": int(tokenizer.row_limit),
    }
    path = token_cache_file(options, cache_dir)
    if path.exists():
        with np.load(path) as archive:
            tokens = torch.from_numpy(archive["tokens"].astype(np.int64))
            indices = archive["indices"].astype(np.int64)
        return (tokens, indices) if return_indices else tokens
    matrices = dataset.load(d, representation, None, cache_dir=data_dir)
    if split is None:
        indices = np.arange(len(matrices))
    else:
        half_a, half_b = dataset.split_indices(len(matrices), split_seed)
        indices = half_a if split == "half_a" else half_b
    if max_tokens is not None:
        lengths = np.array([tokenizer.length(len(matrices[i])) for i in indices])
        indices = indices[lengths < int(max_tokens)]
    if max_vertex_tokens is not None:
        vertices = dataset.load_data(d, cache_dir=data_dir).vertices
        lengths = np.array([2 + len(vertices[i]) * (int(d) + 1) for i in indices])
        indices = indices[lengths < int(max_vertex_tokens)]
    array = encode_dataset(
        [matrices[i] for i in indices],
        tokenizer,
        embedding=embedding,
        row_order=row_order,
        seed=encoding_seed,
        indices=indices.tolist(),
    )
    small = array.astype(np.int16 if tokenizer.vocab_size < 2**15 else np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, tokens=small, indices=indices, options=json.dumps(options))
    os.replace(tmp, path)
    tokens = torch.from_numpy(array.astype(np.int64))
    return (tokens, indices.astype(np.int64)) if return_indices else tokens


def augmented_tokens(
    tokenizer: Tokenizer,
    indices: np.ndarray,
    epoch: int,
    *,
    length: int,
    embedding: str = "random_unimodular",
    row_order: str = "shuffled",
    encoding_seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> torch.Tensor:
    """A fresh encoding of the polytopes ``indices`` for one epoch (augmentation).

    Polytope ``i`` in epoch ``e`` draws its re-embedding and row order from
    ``np.random.default_rng([encoding_seed, e, i])``, so every epoch differs and a resumed
    run sees the same data. Returns ``LongTensor[len(indices), length]``.
    """
    d = int(tokenizer.d)
    matrices = dataset.load(d, tokenizer.representation, None, cache_dir=data_dir)
    out = np.zeros((len(indices), int(length)), dtype=np.int64)
    for row, index in enumerate(np.asarray(indices, dtype=np.int64)):
        matrix = prepare(
            matrices[int(index)],
            embedding=embedding,
            row_order=row_order,
            representation=tokenizer.representation,
            entry_bound=tokenizer.entry_bound,
            rng=np.random.default_rng([int(encoding_seed), int(epoch), int(index)]),
        )
        encoded = tokenizer.encode(matrix)
        out[row, : len(encoded)] = encoded
    return torch.from_numpy(out)


def sequence_lengths(tokens: torch.Tensor) -> torch.Tensor:
    """Number of tokens up to and including ``<end>`` (non-pad count) per row."""
    return (tokens != 0).sum(dim=1)
