"""Token sequences for polytope matrices (Nødland 2021, Section 3.2).

A polytope is a matrix of integer rows: in the **hyperplane** representation the rows
``w_i`` of ``P = {x : 1 + w_i . x >= 0}``, in the **vertex** representation the vertices
of ``P``. Each integer entry is one token (``0`` and ``-2`` are tokens), a row-end token
follows each row, and the sequence is framed by start and end tokens::

    <start> -1 0 0 <row> 0 -1 0 <row> ... 1 1 1 <row> <end> <pad> <pad> ...

With ``line_numbers=True`` the row-end token carries the row number (``<row 1>``,
``<row 2>``, ...), as in the paper's n-gram baseline (Section 4.2).

Vocabulary (ids are stable for a given ``(d, representation, line_numbers)``)::

    0 <pad>   1 <start>   2 <end>   3.. row-end token(s)   then the entries, ascending

The entries are ``-B..B`` where ``B`` is the largest absolute entry of the dimension's
dataset in that representation (so every entry and its negative are tokens, and the
special, negated and any sign-symmetric embedding of the data encode). See
:data:`ENTRY_BOUNDS` and ``envs/polytopes/README.md`` for the vocabulary sizes and
padded lengths per ``d``.

Embedding and row order (:func:`prepare`): the shared data is in Øbro's special
embedding (first rows ``e_1..e_d``); the paper's data is the *negated* embedding in a
scrambled row order, so the default is ``embedding="negated"``, ``row_order="shuffled"``
with one fixed shuffle per polytope, seeded by ``(seed, index)``.

:func:`decode` is strict: a stream that does not parse raises :class:`ParseError` with
the reason (ragged row, missing end token, start token inside, unknown id, tokens after
the end, wrong row number); no token is ever silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from envs.polytopes.properties import ParseError

REPRESENTATIONS = ("hyperplane", "vertices")
EMBEDDINGS = ("special", "negated", "random_unimodular")
ROW_ORDERS = ("stored", "shuffled", "sorted")

PAD, START, END = "<pad>", "<start>", "<end>"
PAD_ID, START_ID, END_ID = 0, 1, 2

# Largest |entry| over the dataset of dimension d (measured on the shared data with
# `python -m envs.polytopes.tokens stats`): special embedding ranges are -2..4 (d=5),
# -2..5 (d=6), -3..6 (d=7), -3..7 (d=8); the bound makes the vocabulary sign-symmetric.
ENTRY_BOUNDS = {
    "hyperplane": {2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7},
    # d = 8 vertices: not measured (its vertex cache is not built); a generous guess.
    "vertices": {2: 2, 3: 4, 4: 6, 5: 10, 6: 15, 7: 22, 8: 48},
}
# Most vertices of a dataset polytope (the vertex representation's default row limit).
VERTEX_ROWS = {2: 6, 3: 12, 4: 36, 5: 72, 6: 216, 7: 432, 8: 1024}
DIMENSIONS = tuple(range(2, 9))

__all__ = [
    "ParseError",
    "Tokenizer",
    "encode",
    "decode",
    "prepare",
    "random_unimodular",
    "max_rows",
]


def max_rows(d: int, representation: str = "hyperplane") -> int | None:
    """Most rows a valid matrix can have: ``3d`` facets (Casagrande) or no bound (vertices)."""
    return 3 * d if representation == "hyperplane" else None


@dataclass(frozen=True)
class Tokenizer:
    """Vocabulary and grammar for ``d``-dimensional matrices.

    ``entry_bound`` defaults to :data:`ENTRY_BOUNDS`; ``row_limit`` (the number of
    row-end tokens with ``line_numbers``, and the grammar's row cap) defaults to ``3d``
    in the hyperplane representation and to :data:`VERTEX_ROWS` for vertices (the paper's
    vertex experiment keeps d = 7 sequences under 800 tokens: ``row_limit=99``).
    """

    d: int
    representation: str = "hyperplane"
    line_numbers: bool = False
    entry_bound: int | None = None
    row_limit: int | None = None
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if self.representation not in REPRESENTATIONS:
            raise ValueError(
                f"representation must be one of {REPRESENTATIONS}, got {self.representation!r}"
            )
        if not isinstance(self.d, (int, np.integer)) or not 2 <= int(self.d) <= 16:
            raise ValueError(f"d must be an integer in 2..16, got {self.d!r}")
        bound = self.entry_bound
        if bound is None:
            table = ENTRY_BOUNDS[self.representation]
            bound = table.get(int(self.d), max(table.values()))
        if int(bound) < 1:
            raise ValueError(f"entry_bound must be >= 1, got {bound}")
        limit = self.row_limit
        if limit is None:
            limit = max_rows(int(self.d), self.representation) or VERTEX_ROWS.get(int(self.d), 1024)
        if int(limit) < int(self.d) + 1:
            raise ValueError(f"row_limit must be >= d + 1 = {int(self.d) + 1}, got {limit}")
        object.__setattr__(self, "entry_bound", int(bound))
        object.__setattr__(self, "row_limit", int(limit))
        row_tokens = (
            tuple(f"<row {k}>" for k in range(1, int(limit) + 1))
            if self.line_numbers
            else ("<row>",)
        )
        entries = tuple(str(v) for v in range(-int(bound), int(bound) + 1))
        object.__setattr__(self, "_names", (PAD, START, END, *row_tokens, *entries))

    # ------------------------------------------------------------------ vocabulary
    @property
    def names(self) -> tuple[str, ...]:
        """Token names, indexed by id."""
        return self._names

    @property
    def vocab_size(self) -> int:
        return len(self._names)

    @property
    def first_row_id(self) -> int:
        """Id of ``<row>`` (or ``<row 1>``)."""
        return 3

    @property
    def num_row_tokens(self) -> int:
        return int(self.row_limit) if self.line_numbers else 1

    @property
    def first_entry_id(self) -> int:
        return 3 + self.num_row_tokens

    @cached_property
    def entry_values(self) -> np.ndarray:
        """``entry_values[id - first_entry_id]`` is the integer of an entry token."""
        return np.arange(-int(self.entry_bound), int(self.entry_bound) + 1, dtype=np.int64)

    @cached_property
    def is_entry(self) -> np.ndarray:
        """Boolean mask over the vocabulary: entry tokens."""
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[self.first_entry_id :] = True
        return mask

    @cached_property
    def is_row_end(self) -> np.ndarray:
        """Boolean mask over the vocabulary: row-end tokens."""
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[self.first_row_id : self.first_entry_id] = True
        return mask

    def entry_id(self, value: int) -> int:
        """Token id of the integer ``value`` (``ValueError`` if outside the vocabulary)."""
        if not -int(self.entry_bound) <= int(value) <= int(self.entry_bound):
            raise ValueError(
                f"entry {int(value)} is outside the vocabulary -{self.entry_bound}..{self.entry_bound} "
                f"(d={self.d}, {self.representation})"
            )
        return self.first_entry_id + int(value) + int(self.entry_bound)

    def row_end_id(self, row: int) -> int:
        """Token id closing row number ``row`` (1-based)."""
        if not self.line_numbers:
            return self.first_row_id
        if not 1 <= row <= int(self.row_limit):
            raise ValueError(f"row {row} is beyond the row limit {self.row_limit}")
        return self.first_row_id + row - 1

    @property
    def max_length(self) -> int:
        """Longest grammatical sequence: start, ``row_limit`` rows of ``d + 1``, end."""
        return 2 + int(self.row_limit) * (int(self.d) + 1)

    def length(self, num_rows: int) -> int:
        """Number of tokens of a matrix with ``num_rows`` rows (start and end included)."""
        return 2 + num_rows * (int(self.d) + 1)

    # ------------------------------------------------------------------ encode / decode
    def encode(self, matrix: Any) -> list[int]:
        """Tokens of ``matrix`` (rows in the given order, entries as given)."""
        rows = np.asarray(matrix)
        if rows.ndim != 2 or rows.shape[1] != int(self.d):
            raise ValueError(f"expected a matrix with {self.d} columns, got shape {rows.shape}")
        if rows.shape[0] == 0:
            raise ValueError("the matrix has no rows")
        if not np.issubdtype(rows.dtype, np.integer):
            if not np.all(np.isfinite(rows)) or not np.array_equal(rows, np.round(rows)):
                raise ValueError("entries must be integers")
            rows = rows.astype(np.int64)
        if rows.shape[0] > int(self.row_limit):
            raise ValueError(f"{rows.shape[0]} rows exceed the row limit {self.row_limit}")
        bound = int(self.entry_bound)
        if np.abs(rows).max() > bound:
            raise ValueError(
                f"entry {int(rows.flat[np.abs(rows).argmax()])} is outside the vocabulary "
                f"-{bound}..{bound} (d={self.d}, {self.representation})"
            )
        body = rows.astype(np.int64) + (self.first_entry_id + bound)
        row_ends = np.array(
            [self.row_end_id(k + 1) for k in range(rows.shape[0])], dtype=np.int64
        )
        body = np.concatenate([body, row_ends[:, None]], axis=1).reshape(-1)
        return [START_ID, *body.tolist(), END_ID]

    def decode(self, tokens: Sequence[int] | np.ndarray) -> np.ndarray:
        """The matrix of a token stream; trailing ``<pad>`` after ``<end>`` is allowed.

        Raises :class:`ParseError` naming the position and the reason otherwise.
        """
        ids = _as_ids(tokens)
        vocab = self.vocab_size
        if ids.size == 0:
            raise ParseError("empty token stream")
        bad = np.flatnonzero((ids < 0) | (ids >= vocab))
        if bad.size:
            raise ParseError(f"unknown token id {int(ids[bad[0]])} at position {int(bad[0])}")
        if ids[0] != START_ID:
            raise ParseError(f"position 0 is {self.names[ids[0]]}, expected {START}")
        ends = np.flatnonzero(ids == END_ID)
        if ends.size == 0:
            raise ParseError("no end token")
        end = int(ends[0])
        tail = ids[end + 1 :]
        if tail.size and np.any(tail != PAD_ID):
            where = end + 1 + int(np.flatnonzero(tail != PAD_ID)[0])
            raise ParseError(f"token {self.names[ids[where]]} at position {where} after {END}")
        body = ids[1:end]
        for special, name in ((START_ID, START), (PAD_ID, PAD)):
            inside = np.flatnonzero(body == special)
            if inside.size:
                raise ParseError(f"{name} inside the sequence at position {int(inside[0]) + 1}")
        d = int(self.d)
        row_end = self.is_row_end[body]
        if body.size == 0:
            raise ParseError("no rows before the end token")
        if not row_end[-1]:
            raise ParseError(f"the last row is not closed by a row-end token before {END}")
        end_positions = np.flatnonzero(row_end)
        starts = np.concatenate([[0], end_positions[:-1] + 1])
        widths = end_positions - starts
        ragged = np.flatnonzero(widths != d)
        if ragged.size:
            k = int(ragged[0])
            raise ParseError(f"row {k + 1} has {int(widths[k])} entries, expected {d}")
        if end_positions.size > int(self.row_limit):
            raise ParseError(f"{end_positions.size} rows exceed the row limit {self.row_limit}")
        if self.line_numbers:
            expected = self.first_row_id + np.arange(end_positions.size)
            wrong = np.flatnonzero(body[end_positions] != expected)
            if wrong.size:
                k = int(wrong[0])
                raise ParseError(
                    f"row {k + 1} is closed by {self.names[body[end_positions[k]]]}, "
                    f"expected <row {k + 1}>"
                )
        entries = np.delete(body, end_positions).reshape(-1, d)
        return self.entry_values[entries - self.first_entry_id]

    def pad(self, tokens: Sequence[int], length: int | None = None) -> np.ndarray:
        """``tokens`` right-padded with ``<pad>`` to ``length`` (default :attr:`max_length`)."""
        length = self.max_length if length is None else int(length)
        if len(tokens) > length:
            raise ValueError(f"{len(tokens)} tokens do not fit the padded length {length}")
        out = np.full(length, PAD_ID, dtype=np.int64)
        out[: len(tokens)] = tokens
        return out

    def render(self, tokens: Sequence[int] | np.ndarray) -> str:
        """Token names joined by spaces (unknown ids shown as ``<?id>``)."""
        names = self.names
        return " ".join(names[i] if 0 <= i < len(names) else f"<?{i}>" for i in _as_ids(tokens))


def _as_ids(tokens: Sequence[int] | np.ndarray) -> np.ndarray:
    array = np.asarray(tokens)
    if array.ndim != 1:
        raise ParseError(f"a token stream is one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            raise ParseError("token ids must be integers")
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.round(array)):
            raise ParseError("token ids must be integers")
    return array.astype(np.int64)


# ----------------------------------------------------------------------------- embeddings


def random_unimodular(
    d: int, rng: np.random.Generator, *, steps: int | None = None
) -> np.ndarray:
    """A random matrix in ``GL_d(Z)``: signed permutation times ``steps`` transvections."""
    steps = d if steps is None else steps
    matrix = np.eye(d, dtype=np.int64)[rng.permutation(d)] * rng.choice([-1, 1], size=d)
    for _ in range(steps):
        i, j = rng.choice(d, size=2, replace=False)
        matrix[:, i] += int(rng.choice([-1, 1])) * matrix[:, j]
    return matrix


def prepare(
    matrix: Any,
    *,
    embedding: str = "negated",
    row_order: str = "shuffled",
    seed: int = 0,
    index: int = 0,
    representation: str = "hyperplane",
    entry_bound: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Re-embed and re-order a dataset matrix before tokenising.

    * ``embedding``: ``"special"`` (as stored), ``"negated"`` (``-W``, the paper's),
      ``"random_unimodular"`` (``W U`` for a fresh ``U`` in ``GL_d(Z)``; for vertices the
      same lattice map acts as ``V U^{-T}``; redrawn until every entry is within
      ``entry_bound``).
    * ``row_order``: ``"stored"``, ``"shuffled"`` (fixed per ``(seed, index)``) or
      ``"sorted"`` (lexicographic, descending: rows with a leading ``1`` first).

    Randomness comes from ``rng`` when given (fresh draws, for augmentation), otherwise
    from ``np.random.default_rng([seed, index])`` (one fixed choice per polytope).
    """
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
    if row_order not in ROW_ORDERS:
        raise ValueError(f"row_order must be one of {ROW_ORDERS}, got {row_order!r}")
    rows = np.asarray(matrix, dtype=np.int64)
    if rows.ndim != 2:
        raise ValueError(f"expected a matrix, got shape {rows.shape}")
    d = rows.shape[1]
    generator = rng if rng is not None else np.random.default_rng([int(seed), int(index)])
    if embedding == "negated":
        rows = -rows
    elif embedding == "random_unimodular":
        bound = entry_bound if entry_bound is not None else ENTRY_BOUNDS[representation].get(d, 7)
        for _ in range(1000):
            unimodular = random_unimodular(d, generator)
            if representation == "hyperplane":
                candidate = rows @ unimodular
            else:
                candidate = rows @ np.round(np.linalg.inv(unimodular)).astype(np.int64).T
            if np.abs(candidate).max() <= bound:
                rows = candidate
                break
        else:  # pragma: no cover - the identity-like draws always fit eventually
            raise ValueError(f"no unimodular re-embedding within |entry| <= {bound} in 1000 draws")
    if row_order == "shuffled":
        rows = rows[generator.permutation(rows.shape[0])]
    elif row_order == "sorted":
        rows = rows[np.lexsort(rows.T[::-1])[::-1]]
    return np.ascontiguousarray(rows)


# ----------------------------------------------------------------------------- functions


def encode(
    matrix: Any,
    d: int | None = None,
    *,
    representation: str = "hyperplane",
    line_numbers: bool = False,
) -> list[int]:
    """Tokens of ``matrix`` with the default vocabulary of its dimension (no padding)."""
    rows = np.asarray(matrix)
    if rows.ndim != 2:
        raise ValueError(f"expected a matrix, got shape {rows.shape}")
    tokenizer = Tokenizer(
        int(d if d is not None else rows.shape[1]),
        representation=representation,
        line_numbers=line_numbers,
    )
    return tokenizer.encode(rows)


def decode(
    tokens: Sequence[int] | np.ndarray,
    d: int,
    *,
    representation: str = "hyperplane",
    line_numbers: bool = False,
) -> np.ndarray:
    """Matrix of a token stream; raises :class:`ParseError` with the reason."""
    return Tokenizer(d, representation=representation, line_numbers=line_numbers).decode(tokens)


def encode_dataset(
    matrices: Sequence[np.ndarray],
    tokenizer: Tokenizer,
    *,
    embedding: str = "negated",
    row_order: str = "shuffled",
    seed: int = 0,
    indices: Sequence[int] | None = None,
    length: int | None = None,
) -> np.ndarray:
    """``(N, length)`` int64 array of padded token rows (``length``: longest sequence)."""
    indices = range(len(matrices)) if indices is None else indices
    encoded = [
        tokenizer.encode(
            prepare(
                matrix,
                embedding=embedding,
                row_order=row_order,
                seed=seed,
                index=int(index),
                representation=tokenizer.representation,
                entry_bound=tokenizer.entry_bound,
            )
        )
        for matrix, index in zip(matrices, indices, strict=True)
    ]
    longest = max((len(t) for t in encoded), default=2)
    length = longest if length is None else int(length)
    out = np.full((len(encoded), length), PAD_ID, dtype=np.int64)
    for row, tokens in enumerate(encoded):
        if len(tokens) > length:
            raise ValueError(f"sequence {row} has {len(tokens)} tokens > length {length}")
        out[row, : len(tokens)] = tokens
    return out
