"""The token grammar of polytope matrices, as action masks.

A grammatical stream is ``<start>``, then rows of exactly ``d`` entries each closed by a
row-end token, then ``<end>``, with

* at most ``tokenizer.row_limit`` rows (``3d`` for the hyperplane representation: a
  reflexive ``d``-polytope has at most ``3d`` facets, Casagrande 2006);
* ``<end>`` only after at least ``d + 1`` rows (fewer rows cannot bound a polytope);
* with line-number tokens, row ``k`` is closed by ``<row k>``.

The state of a prefix is ``(rows_done, entries_in_row, finished)``. :func:`next_mask`
gives the allowed next tokens for one state and :func:`batch_masks` for arrays of states
(used by batched sampling); :class:`GrammarState` follows a stream token by token.
``<start>`` and ``<pad>`` are never allowed as actions (the start token is given).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.polytopes.tokens import END_ID, START_ID, Tokenizer


def batch_masks(
    tokenizer: Tokenizer,
    rows_done: np.ndarray,
    entries_in_row: np.ndarray,
    finished: np.ndarray | None = None,
) -> np.ndarray:
    """``(B, vocab)`` boolean masks of the tokens allowed after each prefix state.

    A finished stream (after ``<end>``) allows nothing; callers pad it.
    """
    rows_done = np.asarray(rows_done, dtype=np.int64).reshape(-1)
    entries_in_row = np.asarray(entries_in_row, dtype=np.int64).reshape(-1)
    d = int(tokenizer.d)
    limit = int(tokenizer.row_limit)
    masks = np.zeros((rows_done.size, tokenizer.vocab_size), dtype=bool)
    in_row = entries_in_row > 0
    can_entry = (entries_in_row < d) & ((rows_done < limit) | in_row)
    masks[:, tokenizer.first_entry_id :] = can_entry[:, None]
    close = entries_in_row == d
    if tokenizer.line_numbers:
        which = np.flatnonzero(close & (rows_done < limit))
        masks[which, tokenizer.first_row_id + rows_done[which]] = True
    else:
        masks[:, tokenizer.first_row_id] = close
    masks[:, END_ID] = (entries_in_row == 0) & (rows_done >= d + 1)
    if finished is not None:
        masks[np.asarray(finished, dtype=bool).reshape(-1)] = False
    return masks


def next_mask(tokenizer: Tokenizer, rows_done: int, entries_in_row: int) -> np.ndarray:
    """Allowed next tokens after a prefix with the given state."""
    return batch_masks(tokenizer, np.array([rows_done]), np.array([entries_in_row]))[0]


def advance(
    tokenizer: Tokenizer, rows_done: np.ndarray, entries_in_row: np.ndarray, tokens: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States after appending ``tokens`` (one per stream): ``(rows, entries, ended)``.

    Works for any token (grammatical or not), so it also follows unmasked sampling.
    """
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    is_entry = tokenizer.is_entry[tokens]
    is_row_end = tokenizer.is_row_end[tokens]
    rows = np.where(is_row_end, rows_done + 1, rows_done)
    entries = np.where(is_entry, entries_in_row + 1, np.where(is_row_end, 0, entries_in_row))
    return rows, entries, tokens == END_ID


@dataclass
class GrammarState:
    """Incremental grammar state of one stream (starts after ``<start>``)."""

    tokenizer: Tokenizer
    rows_done: int = 0
    entries_in_row: int = 0
    finished: bool = False
    grammatical: bool = True

    def mask(self) -> np.ndarray:
        """Allowed next tokens (all False once finished)."""
        if self.finished:
            return np.zeros(self.tokenizer.vocab_size, dtype=bool)
        return next_mask(self.tokenizer, self.rows_done, self.entries_in_row)

    def push(self, token: int) -> None:
        """Append ``token``; records whether the stream stayed grammatical."""
        token = int(token)
        if self.finished:
            raise ValueError("the stream has already ended")
        if not 0 <= token < self.tokenizer.vocab_size:
            raise ValueError(f"token id {token} outside the vocabulary 0..{self.tokenizer.vocab_size - 1}")
        if not self.mask()[token]:
            self.grammatical = False
        if token == START_ID:
            return
        rows, entries, ended = advance(
            self.tokenizer, np.array([self.rows_done]), np.array([self.entries_in_row]), np.array([token])
        )
        self.rows_done, self.entries_in_row = int(rows[0]), int(entries[0])
        self.finished = bool(ended[0])
