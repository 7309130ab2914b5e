"""Pruning tests 6 and 8 of the package docstring: the budget cover search and the
neighbour-facet (y_i) bounds, on a node and on all its children at once."""

from __future__ import annotations

import numpy as np


def _coverable(patterns: np.ndarray, costs: np.ndarray, full: np.int64, budget: int) -> bool:
    """Whether some candidates of total cost <= budget have patterns OR-ing to ``full``.

    Candidates of cost 0 are all taken (a relaxation); the rest by a bounded
    breadth-first search over covered masks. Gives up (True) when the state set grows
    large, so a False is always a proof of infeasibility.
    """
    free = patterns[costs == 0]
    start = np.bitwise_or.reduce(free) if len(free) else np.int64(0)
    if start & full == full:
        return True
    paid = costs > 0
    pattern, cost = patterns[paid], costs[paid]
    pattern &= full & ~start
    useful = pattern != 0
    pattern, cost = pattern[useful], cost[useful]
    if not len(pattern):
        return False
    order = np.lexsort((cost, pattern))
    pattern, cost = pattern[order], cost[order]
    first = np.concatenate([[True], pattern[1:] != pattern[:-1]])
    pattern, cost = pattern[first], cost[first]
    states = np.array([start], dtype=np.int64)
    state_cost = np.zeros(1, dtype=np.int64)
    for _ in range(budget):
        grown = (states[:, None] | pattern[None, :]).ravel()
        grown_cost = (state_cost[:, None] + cost[None, :]).ravel()
        affordable = grown_cost <= budget
        grown, grown_cost = grown[affordable], grown_cost[affordable]
        if np.any(grown & full == full):
            return True
        if not len(grown):
            return False
        merged = np.concatenate([states, grown])
        merged_cost = np.concatenate([state_cost, grown_cost])
        order = np.lexsort((merged_cost, merged))
        merged, merged_cost = merged[order], merged_cost[order]
        first = np.concatenate([[True], merged[1:] != merged[:-1]])
        merged, merged_cost = merged[first], merged_cost[first]
        if len(merged) == len(states) and np.array_equal(merged_cost, state_cost):
            return False
        if len(merged) > 20000:
            return True
        states, state_cost = merged, merged_cost
    return False


_NO_NEIGHBOUR = 1 << 20  # "no possible y_i": larger than any cost


def _lack_and_cost(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max(-v_i, 0)) and -h(v) of points outside F (test 8)."""
    return np.maximum(-points, 0), -points.sum(axis=1)


def _neighbour_options(lack: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Test 8 on the vertices V outside F alone.

    Returns ``best`` (d,): the smallest cost m = -h(y) of a vertex y in V that can be
    y_i (y_i = -1 and every other v in V has lack_i(v) (1 + m) <= -h(v)), or
    ``_NO_NEIGHBOUR``; and ``room`` (d,): min over v in V with v_i < 0 of
    floor(-h(v) / lack_i(v)) (a y_i outside V needs 1 + m <= room).
    """
    n, d = lack.shape
    if n == 0:
        full = np.full(d, _NO_NEIGHBOUR, dtype=np.int64)
        return full, full
    # fits[j, k, i]: v_k satisfies the bound of coordinate i when y_i = v_j
    fits = lack[None, :, :] * (1 + cost[:, None, None]) <= cost[None, :, None]
    fits[np.arange(n), np.arange(n), :] = True
    option = fits.all(axis=1) & (lack == 1)  # (n, d)
    best = np.where(option, cost[:, None], _NO_NEIGHBOUR).min(axis=0)
    ratio = np.where(lack > 0, cost[:, None] // np.maximum(lack, 1), _NO_NEIGHBOUR)
    return best, ratio.min(axis=0)


def _neighbour_filter(
    best: np.ndarray,
    room: np.ndarray,
    cand_points: np.ndarray,
    cand_cost: np.ndarray,
    keep: np.ndarray,
) -> np.ndarray | None:
    """Test 8 at a node: None if some y_i is impossible, else the candidates allowed.

    ``best, room``: :func:`_neighbour_options` of V. y_i is a vertex of V or a kept
    candidate c with c_i = -1 (cost -h(c), all of V must fit it); m_i >= M_i = the cheapest possible
    option, and a candidate c with c_i <= -2 (never y_i) needs |c_i| (1 + M_i) <= -h(c).
    """
    minus_one = (cand_points == -1) & keep[:, None]
    future = np.where(minus_one, cand_cost[:, None], _NO_NEIGHBOUR).min(
        axis=0, initial=_NO_NEIGHBOUR
    )
    future = np.where(1 + future <= room, future, _NO_NEIGHBOUR)
    least = np.minimum(best, future)
    if np.any(least >= _NO_NEIGHBOUR):
        return None
    deep = cand_points <= -2
    return ~np.any(deep & (-cand_points * (1 + least) > cand_cost[:, None]), axis=1)


def _child_neighbour_ok(
    vertices: np.ndarray,
    cand_points: np.ndarray,
    cand_cost: np.ndarray,
    cand: np.ndarray,
    window_end: np.ndarray,
) -> np.ndarray:
    """Test 8 for every child V + {w} at once (mask over the candidates w).

    For each i, y_i is an option of V that w fits, or w itself (w_i = -1, V fits it),
    or a candidate after w in w's window with c_i = -1; the cheapest such candidate is
    the first one (costs grow with the rank) and is the only one worth checking.
    """
    best, room = _neighbour_options(*_lack_and_cost(vertices))
    lack_w = np.maximum(-cand_points, 0)
    ok = np.ones(len(cand), dtype=bool)
    positions = np.arange(len(cand))
    for i in range(cand_points.shape[1]):
        idx = np.flatnonzero(cand_points[:, i] == -1)
        if len(idx):
            nxt = np.searchsorted(idx, positions, side="right")
            j = idx[np.minimum(nxt, len(idx) - 1)]
            future = np.where(
                (nxt < len(idx)) & (cand[j] < window_end), cand_cost[j], _NO_NEIGHBOUR
            )
        else:
            future = np.full(len(cand), _NO_NEIGHBOUR, dtype=np.int64)
        from_v = (best[i] < _NO_NEIGHBOUR) & (lack_w[:, i] * (1 + best[i]) <= cand_cost)
        itself = (cand_points[:, i] == -1) & (1 + cand_cost <= room[i])
        later = (
            (future < _NO_NEIGHBOUR)
            & (1 + future <= room[i])
            & (lack_w[:, i] * (1 + future) <= cand_cost)
        )
        ok &= from_v | itself | later
    return ok


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Elementwise ``values in sorted_set`` for a sorted 1-d array."""
    if not len(sorted_set):
        return np.zeros(values.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values
