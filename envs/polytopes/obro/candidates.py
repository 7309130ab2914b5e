"""The candidate set of Øbro's search: dimension check, candidate points and the
ordered universe (F's vertices e_1..e_d, then the candidates) with exact rank lookup."""

from __future__ import annotations

import itertools

import numpy as np


def _check_dimension(d: object) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise ValueError(f"d must be an int, got {d!r}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    return int(d)


def candidate_points(d: int) -> np.ndarray:
    """Øbro-type candidate set, sorted in the search order (height desc., then lex desc.).

    {v in Z^d primitive : -d <= h(v) <= 0, v_i >= min(h(v), -1)} (see the package docstring).
    """
    d = _check_dimension(d)
    blocks = []
    for height in range(0, -d - 1, -1):
        low = min(height, -1)
        total = height - d * low  # the shifted coordinates v_i - low >= 0 sum to this
        rows = []
        for cuts in itertools.combinations(range(total + d - 1), d - 1):
            bounds = (-1,) + cuts + (total + d - 1,)
            rows.append([bounds[k + 1] - bounds[k] - 1 + low for k in range(d)])
        block = np.array(rows, dtype=np.int64).reshape(-1, d)
        block = block[np.gcd.reduce(np.abs(block), axis=1) == 1]
        order = np.lexsort(tuple(-block[:, k] for k in range(d - 1, -1, -1)))
        blocks.append(block[order])
    return np.concatenate(blocks)


class _Universe:
    """F's vertices e_1..e_d followed by the candidates; exact point -> rank lookup."""

    def __init__(self, d: int) -> None:
        self.d = d
        pool = candidate_points(d)
        self.points = np.concatenate([np.eye(d, dtype=np.int64), pool])
        self.heights = self.points.sum(axis=1)
        self.offset = 2 * d + 1
        self.base = 2 * d * d + 2 * d + 3
        self.powers = self.base ** np.arange(d - 1, -1, -1, dtype=np.int64)
        codes = self.encode(self.points)
        self.sort_order = np.argsort(codes)
        self.sorted_codes = codes[self.sort_order]
        # level_end[k] = first rank whose height is < -k (k = 0..d)
        self.level_end = np.array(
            [np.searchsorted(-self.heights, k, side="right") for k in range(d + 1)]
        )
        self.perms = np.array(list(itertools.permutations(range(d))), dtype=np.int64)

    def encode(self, points: np.ndarray) -> np.ndarray:
        shifted = points.astype(np.int64) + self.offset
        if shifted.size and shifted.min() >= 0 and shifted.max() < self.base:
            return shifted @ self.powers  # every point in the box: no clipping needed
        inside = np.all((shifted >= 0) & (shifted < self.base), axis=-1)
        code = np.zeros(points.shape[:-1], dtype=np.int64)
        for k in range(self.d):
            code = code * self.base + np.clip(shifted[..., k], 0, self.base - 1)
        return np.where(inside, code, -1)

    def ranks(self, points: np.ndarray) -> np.ndarray:
        """Rank of each point in the universe, -1 if absent."""
        code = self.encode(points)
        pos = np.searchsorted(self.sorted_codes, code)
        pos = np.minimum(pos, len(self.sorted_codes) - 1)
        found = (self.sorted_codes[pos] == code) & (code >= 0)
        return np.where(found, self.sort_order[pos], -1)

