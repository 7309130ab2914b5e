"""Tests 2-6 and 8 on all children V + {w} of a node at once, before any child hull is
built (see the package docstring); mixed into :class:`~envs.polytopes.obro.search._Search`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from envs.polytopes.obro.geometry import _ragged_ranges, _ridge_data
from envs.polytopes.obro.pruning import _child_neighbour_ok, _member

if TYPE_CHECKING:
    from envs.polytopes.obro.candidates import _Universe
    from envs.polytopes.obro.search import _Node


class _ChildScreen:
    """Vectorised child tests of :class:`_Search` (uses its ``d`` and ``universe``)."""

    d: int
    universe: _Universe

    def _screen(self, node: _Node, chunk: int = 20000) -> np.ndarray:
        """Candidates passing tests 2 and 4 for the pairs that involve the new point.

        Vectorised over all candidates w: the child's boundary keeps the simplices not
        visible from w, so a vertex v disappears iff all its simplices are visible, and
        the new edges are [v, w] for v on the horizon (in a visible and a non-visible
        simplex). The possible later vertices are relaxed to the candidates after w.
        """
        cand = node.candidates
        if len(cand) == 0:
            return cand
        universe = self.universe
        n = len(node.pts)
        incidence = np.zeros((len(node.simplices), n), dtype=np.int32)
        np.put_along_axis(incidence, node.simplices, 1, axis=1)
        verts = node.pts[1:]
        # Candidates that can never become vertices while V stays (tests 2 and 4 are
        # monotone: a lost vertex stays lost in a larger hull; an edge [v, c] of P is an
        # edge of conv(V + c + 0), i.e. v is on c's horizon) are dropped from the node.
        on_visible = np.empty((len(cand), n - 1), dtype=bool)
        on_hidden = np.empty((len(cand), n - 1), dtype=bool)
        sum_ranks = np.empty((len(cand), n - 1), dtype=np.int64)
        zero = np.empty((len(cand), n - 1), dtype=bool)
        for start in range(0, len(cand), chunk):
            part = slice(start, start + chunk)
            visible = node.visible[part].astype(np.int32)
            on_visible[part] = (visible @ incidence)[:, 1:] > 0
            on_hidden[part] = ((1 - visible) @ incidence)[:, 1:] > 0
            sums = universe.points[cand[part]][:, None, :] + verts[None, :, :]
            sum_ranks[part] = universe.ranks(sums)
            zero[part] = ~np.any(sums != 0, axis=2)
        in_cand = _member(sum_ranks, cand)
        inside = np.isin(sum_ranks, node.ranks)
        edge = on_visible & on_hidden
        possible = ~np.any(on_visible & ~on_hidden, axis=1) & ~np.any(
            ~(zero | in_cand | inside) & ~edge, axis=1
        )
        if not possible.all():
            node.candidates = cand = cand[possible]
            node.visible = node.visible[possible]
            node.excess = node.excess[possible]
            if len(cand) == 0:
                return cand
            sum_ranks, zero, inside, edge = (a[possible] for a in (sum_ranks, zero, inside, edge))
            in_cand = _member(sum_ranks, cand)
        # test 3 for the old simplices: G not visible from w, with no candidate after w
        # beyond it, is final in the child; it must then be a valid facet not through w.
        # The child's later candidates are the ranks in (w, window_end(w)) (budget).
        remaining = self.d + node.height_sum + universe.heights[cand]
        budget_ok = remaining >= 0
        window_end = universe.level_end[np.maximum(remaining, 0)]
        cut_later = np.zeros(node.visible.shape, dtype=bool)  # some later c beyond G
        for g in range(node.visible.shape[1]):
            beyond = cand[node.visible[:, g]]
            if len(beyond):
                pos = np.searchsorted(beyond, cand, side="right")
                nxt = beyond[np.minimum(pos, len(beyond) - 1)]
                cut_later[:, g] = (pos < len(beyond)) & (nxt < window_end)
        on_plane = node.pts @ node.normals.T == node.offsets
        invalid = (node.offsets != 1) | (on_plane.sum(axis=0) != self.d)
        neighbour_ok = _child_neighbour_ok(
            node.pts[self.d + 1 :],
            universe.points[cand],
            -universe.heights[cand],
            cand,
            window_end,
        )
        # test 3 for the new simplices conv(r + w), r a horizon ridge between simplices
        # s1, s2: its outer side lies in the union of those of s1 and s2, so with no
        # later candidate beyond s1 or s2 it is final and needs |det(r, w)| = 1.
        first, second, ridge_det = _ridge_data(node.simplices, node.pts)
        nu = node.pts.sum(axis=0)
        points = universe.points[cand]
        becomes_final = ~node.visible & ~cut_later
        through_w = points @ node.normals.T == node.offsets
        keep = ~np.any(becomes_final & (invalid[None, :] | through_w), axis=1)
        keep &= budget_ok & neighbour_ok
        horizon = node.visible[:, first] ^ node.visible[:, second]
        new_final = horizon & ~cut_later[:, first] & ~cut_later[:, second]
        unimodular = np.abs(points @ ridge_det.T) == 1
        keep &= ~np.any(new_final & ~unimodular, axis=1)
        # no later candidate at all: the child must be complete, so nu >= 0
        alone = ~cut_later.any(axis=1)
        keep &= ~(alone & np.any(nu + points < 0, axis=1))
        later = in_cand & (sum_ranks > cand[:, None]) & (sum_ranks < window_end[:, None])
        need_edge = ~zero & ~later & ~inside
        keep &= ~np.any(need_edge & ~edge, axis=1)
        survivors = np.flatnonzero(keep)
        if len(survivors):
            bad = self._symmetry_fails(node, cand[survivors])
            keep[survivors[bad]] = False
            survivors = np.flatnonzero(keep)
        if len(survivors):
            window_pos = np.searchsorted(cand, window_end)
            bad = _final_new_simplices(
                node, survivors, window_pos, first, second, ridge_det, universe.points[cand]
            )
            keep[survivors[bad]] = False
            survivors = np.flatnonzero(keep)
            bad = _single_cover_fails(
                node, survivors, window_pos, invalid, universe.heights[cand], self.d
            )
            keep[survivors[bad]] = False
        return cand[keep]

    def _symmetry_fails(self, node: _Node, ws: np.ndarray, max_work: int = 4_000_000) -> np.ndarray:
        """Test 5 for the children V + {w} (mask over ``ws``), without building them.

        With r = the sorted ranks of V minus F (k of them) and I = the sorted image of r
        under a coordinate permutation sigma (I >= r, first difference at position L),
        the child's image is I with x = sigma(w) inserted at q = #{I < x}. It sorts
        before (r, w) iff q < min(L, k), or q = L < k and x < r_q, or q = L = k and
        x < w (a tie x = r_q is left to the child's own test). As sigma keeps heights
        and w is not higher than r_{k-1}, only sigma with L >= the start of the last
        height block of r can give such a q.
        """
        universe, d = self.universe, self.d
        own = node.ranks[d:]
        k = len(own)
        perms = universe.perms
        if k == 0:
            images = np.zeros((len(perms), 0), dtype=np.int64)
            agree = np.zeros(len(perms), dtype=np.int64)
            block = 0
        else:
            images = node.perm_images
            differ = images != own
            agree = np.where(differ.any(axis=1), differ.argmax(axis=1), k)
            heights = universe.heights[own]
            block = int(np.flatnonzero(heights == heights[-1])[0])
        chosen = np.flatnonzero(agree >= block)
        bad = np.zeros(len(ws), dtype=bool)
        if not len(chosen) or len(chosen) * len(ws) * max(k, 1) > max_work:
            return bad
        x = universe.ranks(universe.points[ws][:, perms[chosen]])  # (c, s)
        images, agree = images[chosen], agree[chosen]
        q = (images[None, :, :] < x[:, :, None]).sum(axis=2)  # (c, s)
        if k:
            r_q = own[np.minimum(q, k - 1)]
            bad = (q < np.minimum(agree, k)) | ((q == agree) & (q < k) & (x < r_q))
            bad |= (q == k) & (agree == k) & (x < ws[:, None])
        else:
            bad = x < ws[:, None]
        return bad.any(axis=1)


def _final_new_simplices(
    node: _Node,
    survivors: np.ndarray,
    window_pos: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    ridge_det: np.ndarray,
    cand_points: np.ndarray,
    max_work: int = 2_000_000,
) -> np.ndarray:
    """Test 3, exactly, for the new simplices conv(r + w) with |det(r, w)| != 1.

    For the horizon ridge r between s1 (visible from w) and s2, the new hyperplane is
    the pencil member g(x) = e1(w) e2(x) - e2(w) e1(x) (e_i(x) = <a_i, x> - b_i), which
    vanishes on r and w and is negative inside. The simplex is final in the child (so the
    child dies) when no candidate in w's window (after w, within the budget) has
    g > 0. Returns a mask over ``survivors``. Ridges with too much work are skipped,
    which only weakens the test.
    """
    excess = node.excess
    visible = node.visible[survivors]
    horizon = visible[:, first] ^ visible[:, second]
    needs = horizon & (np.abs(cand_points[survivors] @ ridge_det.T) != 1)
    bad = np.zeros(len(survivors), dtype=bool)
    for r in np.flatnonzero(needs.any(axis=0)):
        rows = np.flatnonzero(needs[:, r] & ~bad)
        if not len(rows):
            continue
        ws = survivors[rows]
        e1, e2 = excess[:, first[r]], excess[:, second[r]]
        relevant = np.flatnonzero((e1 > 0) | (e2 > 0))
        lo = np.searchsorted(relevant, ws, side="right")
        hi = np.searchsorted(relevant, window_pos[ws], side="left")
        counts = np.maximum(hi - lo, 0)
        if counts.sum() > max_work:
            continue
        e1w, e2w = e1[ws], e2[ws]
        s1_visible = e1w > 0
        k1 = np.where(s1_visible, -e2w, e2w)  # coefficient of e1(c)
        k2 = np.where(s1_visible, e1w, -e1w)  # coefficient of e2(c)
        cut = np.zeros(len(ws), dtype=bool)
        if (counts > 0).any():
            group, positions = _ragged_ranges(lo, counts)
            idx = relevant[positions]
            values = k1[group] * e1[idx] + k2[group] * e2[idx]
            cut = np.bincount(group, weights=values > 0, minlength=len(ws)) > 0
        bad[rows[~cut]] = True
    return bad


def _single_cover_fails(
    node: _Node,
    survivors: np.ndarray,
    window_pos: np.ndarray,
    invalid: np.ndarray,
    heights: np.ndarray,
    d: int,
    max_work: int = 2_000_000,
) -> np.ndarray:
    """Test 6 for children that can afford only one more vertex (mask over survivors).

    If h(w) < 0, every later vertex costs >= -h(w); when the child's budget allows just
    one, that one candidate must lie beyond every invalid simplex that w leaves.
    """
    remaining = d + node.height_sum + heights[survivors]
    single = (heights[survivors] < 0) & (remaining < -2 * heights[survivors])
    need_simplices = np.flatnonzero(invalid)[:62]
    bad = np.zeros(len(survivors), dtype=bool)
    if not single.any() or not len(need_simplices):
        return bad
    bits = np.left_shift(np.int64(1), np.arange(len(need_simplices), dtype=np.int64))
    patterns = node.visible[:, need_simplices].astype(np.int64) @ bits
    rows = np.flatnonzero(single)
    ws = survivors[rows]
    need = (~node.visible[ws][:, need_simplices]).astype(np.int64) @ bits
    lo = ws + 1
    counts = np.maximum(window_pos[ws] - lo, 0)
    if counts.sum() > max_work:
        return bad
    covered = np.zeros(len(ws), dtype=bool)
    if (counts > 0).any():
        group, idx = _ragged_ranges(lo, counts)
        hit = (patterns[idx] & need[group]) == need[group]
        covered = np.bincount(group, weights=hit, minlength=len(ws)) > 0
    bad[rows] = ~covered & (need != 0)
    return bad
