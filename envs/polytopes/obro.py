"""Classification of smooth Fano polytopes by Øbro's SFP scheme (special embeddings).

Reference: M. Øbro, "An algorithm for the classification of smooth Fano polytopes",
arXiv:0704.0049. Only the paper's introduction was retrievable here, so the scheme below
follows the facts of that paper that are stated in our brief and re-derived (with proofs
sketched next to the code), not its pseudo-code; the pruning tests are our own and are
marked as such. Notation: P is a smooth Fano d-polytope (simplicial, 0 interior, the
vertices of every facet a Z-basis), nu = sum of its vertices, u_G the facet normal with
<u_G, G> = 1, h(v) = <(1,...,1), v> the height.

Øbro's scheme (followed):

* special facet: a facet F with nu in pos(F); every P has one (nu lies in some cone of
  the face fan).
* special embedding: F = conv(e_1, ..., e_d), so u_F = (1,...,1). Every other vertex has
  h(v) <= 0, and sum_{v not in F} h(v) = h(nu) - d >= -d (nu in pos(F) gives h(nu) >= 0),
  hence h(v) in {0, -1, ..., -d}.
* bounded candidate set: the facet F_i adjacent to F across conv(e_j : j != i) is
  conv(e_j (j != i), y) with y_i = -1 and u_{F_i} = u_F + (h(y) - 1) e_i^*; <u_{F_i}, v> <= 0
  for every other vertex gives v_i >= h(v) / (1 - h(y)) >= h(v). So every vertex outside F
  lies in the finite, S_d-invariant set ``candidate_points(d)`` =
  {v primitive : -d <= h(v) <= 0, v_i >= min(h(v), -1)}.
* total order: points are ordered by height (descending), then lexicographically
  (descending) within a height; F's vertices come first. A vertex set is compared with
  another of the same size through its sorted sequence (lexicographic order).
* search tree: the root is {e_1..e_d}; a node V has the children V + {w} for candidates w
  after max(V). Every node that is the vertex set of a smooth Fano polytope with F special
  is tested; it is output only if it is the minimal special embedding of its polytope
  (over every special facet G of conv(V) and every ordering of G's vertices, the image of
  V is not smaller). So each lattice-equivalence class is output exactly once and no
  isomorphism test between outputs is needed.

Pruning (all are necessary conditions on a prefix V of the ordered vertex set of a special
embedding, so no smooth Fano polytope is lost; the code keeps the boundary of
conv(V + {0}) as a triangulation, updated by beneath-beyond):

1. budget: sum_{v in V, v not in F} h(v) >= -d, and later vertices have height
   >= -(remaining budget) (Øbro's height sum bound above).
2. every point of V stays a vertex, and a new point must lie strictly outside the hull
   (a vertex of P inside conv(V + {0}) subset P would be a vertex of that hull). Future
   candidates inside the current hull are dropped.
3. final facets (ours): a boundary simplex G with no remaining candidate strictly beyond
   its hyperplane is a face of P, hence a facet of P: it must not contain 0, must be a
   unimodular simplex (det = 1, so <u_G, G> = 1), and all other points must satisfy
   <u_G, v> <= 0; remaining candidates must satisfy <u_G, w> <= 0. Iterated to a fixpoint.
4. primitive relations of length two (Batyrev; Fano means degree > 0): for two vertices
   v, w of P, either [v, w] is an edge, or v + w = 0, or v + w is a vertex. So if v + w is
   neither 0, nor in V, nor a remaining candidate, [v, w] must be an edge of the current
   boundary triangulation.
5. coordinate symmetry (ours, a consequence of the minimality rule): a permutation of
   coordinates maps a special embedding to a special embedding, preserving heights; if the
   image of the prefix V sorts before V, the whole vertex set has a smaller embedding, so
   the minimal embedding never passes through V.
6. covering (ours): every boundary simplex that is not a valid facet (through 0, det != 1,
   or with another point on its hyperplane) needs a later vertex strictly beyond it, and
   the later vertices' heights add up to >= -(remaining budget): a small set-cover search
   over the candidates' "beyond" bit patterns (height-0 candidates are free).
7. nu in pos(F) (ours): if a coordinate of the current vertex sum is negative and no
   height-0 candidate is left, at most (budget // cheapest cost) vertices can still
   raise it, each by at most the largest candidate coordinate.

8. neighbours of F (ours): the facet of P adjacent to F across conv(e_j : j != i) is
   conv(e_j (j != i), y_i) with (y_i)_i = -1 and u = (1,...,1) + (h(y_i) - 1) e_i^*
   (see above); <u, v> <= 0 for every other vertex v outside F gives
   |v_i| (1 - h(y_i)) <= -h(v) whenever v_i < 0 and v != y_i. So for each i some vertex
   with coordinate i equal to -1 must be able to serve as y_i (all other vertices of V
   fit it; a later y_i is a candidate with c_i = -1), m_i = -h(y_i) is at least the
   cheapest such option M_i, and candidates c with c_i <= -2 (never y_i) need
   |c_i| (1 + M_i) <= -h(c). In particular the height-0 vertices have pairwise disjoint
   negative supports, with all negative coordinates -1. The coordinates i whose y_i is
   not in V add a bit to test 6 (a later c with c_i = -1 that V fits is needed).
9. neighbours of every final facet (ours): test 3 proves that a final simplex G is a
   facet of P; the argument of test 8 uses only that F is a unimodular facet and that
   the other vertices have <u_F, v> <= 0, so it holds in the basis of G (coordinates
   x G^-1, height <u_G, x>) for every final G, not only for F.

Tests 2-6 and 8 are also applied to all children of a node at once, vectorised, before
any child hull is built (``_Search._screen``): a vertex is lost iff all its simplices are
visible from w; the new edges join w to the horizon; an old simplex with no candidate
after w beyond it becomes final; a new simplex conv(r + w) over a horizon ridge r
between s1 and s2 has the pencil hyperplane e1(w) e2(x) - e2(w) e1(x) = 0 (e_i the
excess over s_i), so its finality and det(r, w) = +-1 are decided from the node's
excess matrix alone; test 5 compares sigma(V + w) with V + w from the node's sorted
images sigma(V) (``_Search._symmetry_fails``); test 8 needs, per coordinate, only the
node's cheapest option in V and the first later candidate with c_i = -1.

All decisions use integer arithmetic. Floating point only proposes the cofactor
determinants of hyperplane normals and ridge functionals (integer matrices with entries
below ~3d^2 and size < d, so |det| < 1e10 and LU rounding errors are far below 0.5); the
rounded vectors are checked exactly to vanish on the right points, the rounded inverses
of final facets (test 9) are checked exactly to be inverses, and every output's facets
are re-checked with an exact integer inverse.

Measured (CLI, one process on a shared 2-core machine): d = 1..4 give 1, 5, 18, 124
polytopes in 0.0, 0.0, 0.1 and 1.1 s (297 search nodes for d = 4); d = 5 gives 866 in
16.5 s (2445 nodes, 15 first-level branches); d = 6 gives 7622 in 440 s (26 first-level
branches), every class equal to the published list. Before tests 8 and 9 and the
screening of test 5 the same machine needed 1.5 s for d = 4 and 664 s for d = 5
(~35k nodes, 621 first-level branches); test 9 alone cut the d = 5 nodes from 20k to
2.4k.

    python -m envs.polytopes.obro --dims 2 3 4 5 [--out results/polytopes/obro]

(``--workers N`` searches the first-level branches in N processes; same output)
writes ``<out>/obro_d{d}.json`` per dimension (finished dimensions are skipped) and,
while a dimension runs, ``<out>/obro_d{d}.partial.json`` after every first-level branch
(a rerun resumes from it; the reported seconds are those of the last run).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.cli import UsageParser, run_cli
from envs.polytopes.batch import pool_context

__all__ = ["candidate_points", "classify", "is_minimal_special_embedding", "main"]


def _check_dimension(d: object) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise ValueError(f"d must be an int, got {d!r}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    return int(d)


def candidate_points(d: int) -> np.ndarray:
    """Øbro-type candidate set, sorted in the search order (height desc., then lex desc.).

    {v in Z^d primitive : -d <= h(v) <= 0, v_i >= min(h(v), -1)} (see module docstring).
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


_SIGNS = np.array([(-1) ** j for j in range(16)], dtype=np.int64)


def _minor_columns(d: int) -> np.ndarray:
    """(d, d-1) column indices: row j lists all columns except j."""
    return np.array([[k for k in range(d) if k != j] for j in range(d)], dtype=np.int64)


def _hyperplanes(simplices: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outer normals ``a`` (k, d) and offsets ``b`` (k,) of the simplices' hyperplanes.

    ``a`` is the cofactor vector, so ``b = |det(vertices)|`` (0 through the origin);
    oriented so that the barycentre of conv(0, e_1..e_d) is strictly beneath.
    """
    d = pts.shape[1]
    verts = pts[simplices]  # (k, d, d)
    diffs = (verts[:, 1:, :] - verts[:, :1, :]).astype(float)
    minors = diffs[:, :, _minor_columns(d)].transpose(0, 2, 1, 3)  # (k, d, d-1, d-1)
    normal = np.rint(np.linalg.det(minors)).astype(np.int64) * _SIGNS[:d]
    offset = np.einsum("kd,kd->k", normal, verts[:, 0, :])
    # exact verification: every vertex on the hyperplane and a non-zero normal
    if not (
        np.all(np.einsum("kd,kjd->kj", normal, verts) == offset[:, None])
        and np.all(np.any(normal != 0, axis=1))
    ):
        raise ArithmeticError("inexact hyperplane computation")
    flip = (d + 1) * offset - normal.sum(axis=1) < 0
    normal[flip] *= -1
    offset[flip] *= -1
    return normal, offset


@dataclass
class _Node:
    pts: np.ndarray  # (n, d): row 0 is the origin, rows 1..d are e_1..e_d
    ranks: np.ndarray  # universe ranks of pts[1:]
    simplices: np.ndarray  # (f, d) indices into pts: boundary triangulation of conv(pts)
    normals: np.ndarray  # (f, d)
    offsets: np.ndarray  # (f,)
    candidates: np.ndarray  # universe ranks still possible as later vertices
    height_sum: int  # sum of heights of the vertices outside F
    visible: np.ndarray | None = None  # (c, f): candidate strictly beyond simplex
    excess: np.ndarray | None = None  # (c, f): <a, w> - b for every candidate and simplex
    perm_images: np.ndarray | None = None  # (perms, k): sorted ranks of sigma(V minus F)


class _Search:
    def __init__(self, d: int, progress: bool) -> None:
        self.d = d
        self.universe = _Universe(d)
        self.found: list[np.ndarray] = []
        self.nodes = 0
        self.bar = tqdm(desc=f"Øbro SFP d={d}", unit="node", disable=not progress, mininterval=1)

    # ------------------------------------------------------------------ node construction
    def root(self) -> _Node | None:
        d = self.d
        pts = np.concatenate([np.zeros((1, d), dtype=np.int64), np.eye(d, dtype=np.int64)])
        simplices = [list(range(1, d + 1))]
        for i in range(d):
            simplices.append([0] + [j + 1 for j in range(d) if j != i])
        simplices = np.array(simplices, dtype=np.int64)
        normals, offsets = _hyperplanes(simplices, pts)
        candidates = np.arange(d, len(self.universe.points), dtype=np.int64)
        node = _Node(pts, np.arange(d), simplices, normals, offsets, candidates, 0)
        return self._prune(node)

    def child(self, node: _Node, rank: int) -> _Node | None:
        d, universe = self.d, self.universe
        w = universe.points[rank]
        height_sum = node.height_sum + int(universe.heights[rank])
        if height_sum < -d:
            return None
        visible = node.normals @ w > node.offsets
        if not visible.any():
            return None
        horizon = _horizon(node.simplices[visible], d)
        q = len(node.pts)
        pts = np.concatenate([node.pts, w[None, :]])
        new = np.concatenate([horizon, np.full((len(horizon), 1), q, dtype=np.int64)], axis=1)
        new_normals, new_offsets = _hyperplanes(new, pts)
        simplices = np.concatenate([node.simplices[~visible], new])
        present = np.zeros(q + 1, dtype=bool)
        present[simplices.ravel()] = True
        if not present[1:].all():  # a vertex of P must stay a vertex (test 2)
            return None
        candidates = node.candidates[node.candidates > rank]
        candidates = candidates[candidates < universe.level_end[d + height_sum]]
        return self._prune(
            _Node(
                pts,
                np.append(node.ranks, rank),
                simplices,
                np.concatenate([node.normals[~visible], new_normals]),
                np.concatenate([node.offsets[~visible], new_offsets]),
                candidates,
                height_sum,
            )
        )

    def _prune(self, node: _Node) -> _Node | None:
        """Tests 2-5 of the module docstring; the node with its filtered candidates."""
        d, universe = self.d, self.universe
        cand = node.candidates
        excess = universe.points[cand] @ node.normals.T - node.offsets  # (c, f)
        keep = np.ones(len(cand), dtype=bool)
        checked = np.zeros(len(node.simplices), dtype=bool)
        on_plane = node.pts @ node.normals.T == node.offsets  # (n, f)
        contains_origin = node.offsets == 0
        cand_points = universe.points[cand]
        cand_cost = -universe.heights[cand]
        best, room = _neighbour_options(*_lack_and_cost(node.pts[d + 1 :]))  # V is fixed here
        while True:
            keep &= (excess > 0).any(axis=1)  # strictly outside the current hull
            # test 8: the neighbours y_i of F; candidates that no choice of y_i allows go
            allowed = _neighbour_filter(best, room, cand_points, cand_cost, keep)
            if allowed is None:
                return None
            keep &= allowed
            final = ~(excess[keep] > 0).any(axis=0) & ~checked
            if not final.any():
                break
            if np.any(contains_origin[final]):
                return None
            if np.any(node.offsets[final] != 1) or np.any(on_plane[:, final].sum(axis=0) != d):
                return None
            keep &= np.all(excess[:, final] < 0, axis=1)  # <u_G, w> <= 0
            checked |= final
            # test 9: test 8 in the basis of every new final facet G (a facet of P)
            for g in np.flatnonzero(final):
                simplex = node.simplices[g]
                if simplex[0] == 1 and simplex[-1] == d and np.all(np.diff(simplex) == 1):
                    continue  # G = F: test 8 itself
                inverse = _unimodular_inverse(node.pts[simplex])
                others = np.ones(len(node.pts), dtype=bool)
                others[0] = False
                others[simplex] = False
                coords = node.pts[others] @ inverse
                cand_coords = cand_points @ inverse
                allowed = _neighbour_filter(
                    *_neighbour_options(*_lack_and_cost(coords)),
                    cand_coords,
                    -cand_coords.sum(axis=1),
                    keep,
                )
                if allowed is None:
                    return None
                keep &= allowed
        cand = cand[keep]
        node.excess = excess[keep]
        node.visible = node.excess > 0
        # test 6: the simplices that are not valid facets must all be cut by later
        # vertices whose heights add up to at least -(remaining budget)
        # (test 8 adds one bit per coordinate i whose y_i is not in V: some later c with
        # c_i = -1, and 1 - h(c) <= room_i, is needed)
        invalid = (node.offsets != 1) | (on_plane.sum(axis=0) != d)
        open_coords = np.flatnonzero(best >= _NO_NEIGHBOUR)
        need = np.flatnonzero(invalid)[: 62 - len(open_coords)]
        if len(need) or len(open_coords):
            columns = np.concatenate(
                [
                    node.visible[:, need],
                    (cand_points[keep][:, open_coords] == -1)
                    & (1 + cand_cost[keep][:, None] <= room[open_coords]),
                ],
                axis=1,
            )
            bits = np.left_shift(np.int64(1), np.arange(columns.shape[1], dtype=np.int64))
            patterns = columns.astype(np.int64) @ bits
            full = np.int64((1 << columns.shape[1]) - 1)
            costs = -universe.heights[cand]
            if not _coverable(patterns, costs, full, d + node.height_sum):
                return None
        # test 7 (ours): nu must end in pos(F) = R^d_{>=0}; without free (height 0)
        # candidates at most (budget // cheapest cost) vertices are still to come
        deficit = -np.minimum(node.pts.sum(axis=0), 0)
        if deficit.any():
            costs = -universe.heights[cand]
            if not len(cand):
                return None
            if costs.min() > 0:
                most = (d + node.height_sum) // costs.min()
                gain = np.maximum(universe.points[cand].max(axis=0), 0)
                if np.any(deficit > most * gain):
                    return None
        # test 4: primitive relations of length two
        n = len(node.ranks)
        if n > d:
            verts = node.pts[1:]
            first, second = np.triu_indices(n, 1)
            sums = verts[first] + verts[second]
            nonzero = np.any(sums != 0, axis=1)
            sum_ranks = universe.ranks(sums)
            in_v = np.isin(sum_ranks, node.ranks)
            future = np.zeros_like(in_v)
            if len(cand):
                pos = np.minimum(np.searchsorted(cand, sum_ranks), len(cand) - 1)
                future = cand[pos] == sum_ranks
            need_edge = nonzero & ~in_v & ~future
            if need_edge.any():
                s = node.simplices
                m = len(node.pts)
                ea, eb = np.triu_indices(d, 1)
                lo = np.minimum(s[:, ea], s[:, eb]).ravel()
                hi = np.maximum(s[:, ea], s[:, eb]).ravel()
                edges = np.unique(lo * m + hi)
                wanted = (first[need_edge] + 1) * m + (second[need_edge] + 1)
                if not np.all(np.isin(wanted, edges)):
                    return None
            # test 5: a coordinate permutation must not give a smaller prefix
            own = np.sort(node.ranks[d:])
            images = universe.ranks(node.pts[d + 1 :][:, universe.perms].transpose(1, 0, 2))
            if np.any(images < 0):
                raise RuntimeError("candidate set is not permutation invariant")
            images = np.sort(images, axis=1)
            if _any_smaller(images, own):
                return None
            node.perm_images = images
        node.candidates = cand
        return node

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

    # ------------------------------------------------------------------ leaves
    def complete(self, node: _Node) -> bool:
        """conv(V) is smooth Fano with F special (V = pts[1:])."""
        if np.any(node.offsets != 1):  # a simplex through 0, or det != 1
            return False
        on_plane = node.pts @ node.normals.T == 1
        if np.any(on_plane.sum(axis=0) != self.d):
            return False
        return bool(np.all(node.pts.sum(axis=0) >= 0))

    def run(
        self,
        done: dict[int, list[np.ndarray]] | None = None,
        on_branch: Callable[[int, list[np.ndarray]], None] | None = None,
        workers: int = 1,
    ) -> None:
        """Search every first-level branch (root + one candidate); results in branch order.

        ``done`` maps branch ranks to results found earlier (reused, not searched
        again); ``on_branch(rank, found)`` is called after each new branch. With
        ``workers > 1`` the branches run in a process pool (results are still
        collected in branch order, so the output does not depend on ``workers``).
        """
        done = dict(done or {})
        results: dict[int, list[np.ndarray]] = {}
        start = self.root()
        branches = self._screen(start).tolist() if start is not None else []
        todo = [rank for rank in branches if rank not in done]
        self.bar.set_postfix(branches=len(branches), done=len(done), refresh=False)
        if workers > 1 and len(todo) > 1:
            with pool_context().Pool(workers) as pool:
                tasks = [(self.d, rank) for rank in todo]
                for rank, found, nodes in pool.imap(_branch_worker, tasks):
                    results[rank] = found
                    self.nodes += nodes
                    self.bar.update(nodes)
                    self.bar.set_postfix(found=sum(map(len, results.values())), refresh=False)
                    if on_branch is not None:
                        on_branch(rank, found)
        else:
            for rank in todo:
                before = len(self.found)
                child = self.child(start, rank)
                if child is not None:
                    self._visit(child)
                results[rank] = self.found[before:]
                if on_branch is not None:
                    on_branch(rank, results[rank])
            self.bar.update(self.nodes % 256)
        self.found = [f for rank in branches for f in done.get(rank, results.get(rank, []))]
        self.bar.close()

    def _visit(self, node: _Node) -> None:
        self.nodes += 1
        if self.nodes % 256 == 0:
            self.bar.update(256)
            self.bar.set_postfix(found=len(self.found), refresh=False)
        if self.complete(node):
            vertices = node.pts[1:]
            if _minimal(self.universe, vertices, node.simplices - 1, node.ranks):
                self.found.append(vertices.copy())
        for rank in self._screen(node).tolist():
            child = self.child(node, rank)
            if child is not None:
                self._visit(child)


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


def _unimodular_inverse(basis: np.ndarray) -> np.ndarray:
    """Exact integer inverse of a unimodular integer matrix (checked)."""
    inverse = np.rint(np.linalg.inv(basis.astype(float))).astype(np.int64)
    if not np.array_equal(basis @ inverse, np.eye(len(basis), dtype=np.int64)):
        raise ArithmeticError("facet is not unimodular")
    return inverse


_WORKER_STATE: dict[int, tuple[_Search, _Node | None]] = {}


def _branch_worker(task: tuple[int, int]) -> tuple[int, list[np.ndarray], int]:
    """Search one first-level branch in a pool process: (rank, found, nodes)."""
    d, rank = task
    if d not in _WORKER_STATE:
        search = _Search(d, progress=False)
        start = search.root()
        if start is not None:
            search._screen(start)  # the same candidate filtering as in ``run``
        _WORKER_STATE[d] = (search, start)
    search, start = _WORKER_STATE[d]
    search.found, search.nodes = [], 0
    child = search.child(start, rank) if start is not None else None
    if child is not None:
        search._visit(child)
    return rank, search.found, search.nodes


def _any_smaller(images: np.ndarray, own: np.ndarray) -> bool:
    """Whether some row of ``images`` is lexicographically smaller than ``own``."""
    differ = images != own
    has = differ.any(axis=1)
    first = differ.argmax(axis=1)
    rows = np.arange(len(images))
    return bool(np.any(has & (images[rows, first] < own[first])))


def _minimal(
    universe: _Universe, vertices: np.ndarray, facets: np.ndarray, ranks: np.ndarray
) -> bool:
    """Whether ``vertices`` (a special embedding, facets as index rows) is minimal."""
    d = universe.d
    nu = vertices.sum(axis=0)
    own = np.sort(ranks)
    for facet in facets:
        basis = vertices[facet]
        inverse = np.rint(np.linalg.inv(basis.astype(float))).astype(np.int64)
        if not np.array_equal(basis @ inverse, np.eye(d, dtype=np.int64)):
            raise ArithmeticError("facet is not unimodular")
        if np.any(nu @ inverse < 0):  # not special
            continue
        image = vertices @ inverse  # F -> e_1..e_d
        images = universe.ranks(image[:, universe.perms].transpose(1, 0, 2))
        if np.any(images < 0):
            raise RuntimeError("special embedding outside the candidate set")
        if _any_smaller(np.sort(images, axis=1), own):
            return False
    return True


def is_minimal_special_embedding(vertices: np.ndarray) -> bool:
    """Whether ``vertices`` (rows; a smooth Fano polytope whose first d rows are
    e_1..e_d and whose facet conv(e_1..e_d) is special) is Øbro's minimal special
    embedding of its polytope, i.e. the representative the search outputs."""
    vertices = np.asarray(vertices, dtype=np.int64)
    d = vertices.shape[1]
    if not np.array_equal(vertices[:d], np.eye(d, dtype=np.int64)):
        raise ValueError("the first d rows must be e_1..e_d")
    if np.any(vertices.sum(axis=0) < 0):
        raise ValueError("conv(e_1..e_d) is not a special facet")
    universe = _Universe(d)
    ranks = universe.ranks(vertices)
    if np.any(ranks < 0):
        raise ValueError("a vertex lies outside the candidate set of a special embedding")
    facets = _boundary(vertices)
    if np.any(facets == 0):
        raise ValueError("the origin is not in the interior of conv(vertices)")
    return _minimal(universe, vertices, facets - 1, ranks)


def _boundary(vertices: np.ndarray) -> np.ndarray:
    """Boundary triangulation of conv(0, vertices) (indices: 0 = origin, k = row k-1),
    by beneath-beyond from the simplex conv(0, e_1..e_d); ``vertices[:d]`` = e_1..e_d."""
    d = vertices.shape[1]
    pts = np.concatenate([np.zeros((1, d), dtype=np.int64), vertices])
    simplices = [list(range(1, d + 1))]
    for i in range(d):
        simplices.append([0] + [j + 1 for j in range(d) if j != i])
    simplices = np.array(simplices, dtype=np.int64)
    normals, offsets = _hyperplanes(simplices, pts)
    for q in range(d + 1, len(pts)):
        visible = normals @ pts[q] > offsets
        if not visible.any():
            continue
        horizon = _horizon(simplices[visible], d)
        new = np.concatenate([horizon, np.full((len(horizon), 1), q, dtype=np.int64)], axis=1)
        new_normals, new_offsets = _hyperplanes(new, pts)
        simplices = np.concatenate([simplices[~visible], new])
        normals = np.concatenate([normals[~visible], new_normals])
        offsets = np.concatenate([offsets[~visible], new_offsets])
    return simplices


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


def _ragged_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ranges ``[starts[i], starts[i] + counts[i])`` flattened: ``(row i, position)`` pairs."""
    busy = np.flatnonzero(counts > 0)
    lengths = counts[busy]
    group = np.repeat(busy, lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return group, np.repeat(starts[busy], lengths) + within


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


def _ridge_data(
    simplices: np.ndarray, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every ridge of a closed boundary triangulation: its two simplices and the
    integer functional x -> det(ridge points, x) (zero when the ridge contains 0)."""
    d = pts.shape[1]
    ridges = np.sort(simplices[:, _minor_columns(d)].reshape(-1, d - 1), axis=1)
    owner = np.repeat(np.arange(len(simplices)), d)
    codes = ridges @ (_RIDGE_BASE ** np.arange(d - 1, dtype=np.int64))
    order = np.argsort(codes, kind="stable")
    codes, owner, ridges = codes[order], owner[order], ridges[order]
    if len(codes) % 2 or np.any(codes[0::2] != codes[1::2]):
        raise RuntimeError("boundary triangulation is not closed")
    rows = pts[ridges[0::2]].astype(float)  # (R, d-1, d)
    minors = rows[:, :, _minor_columns(d)].transpose(0, 2, 1, 3)  # (R, d, d-1, d-1)
    functional = np.rint(np.linalg.det(minors)).astype(np.int64) * _SIGNS[:d]
    if not np.all(np.einsum("rd,rkd->rk", functional, pts[ridges[0::2]]) == 0):
        raise ArithmeticError("inexact ridge functional")
    return owner[0::2], owner[1::2], functional


def _horizon(seen: np.ndarray, d: int) -> np.ndarray:
    """Ridges of the visible simplices that lie in exactly one of them."""
    ridges = np.sort(seen[:, _minor_columns(d)].reshape(-1, d - 1), axis=1)
    codes = ridges @ (_RIDGE_BASE ** np.arange(d - 1, dtype=np.int64))
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    return ridges[first[counts == 1]]


_RIDGE_BASE = np.int64(64)  # point indices stay below 3d + 1 <= 64 for d <= 21


def classify(
    d: int,
    progress: bool = True,
    checkpoint: str | Path | None = None,
    workers: int = 1,
) -> list[np.ndarray]:
    """All smooth Fano d-polytopes up to lattice equivalence, each once.

    Each entry is an int64 (n, d) matrix of vertices (first d rows e_1..e_d, Øbro's
    minimal special embedding); its rows are also the rows w of the smooth reflexive
    polytope {x : 1 + w . x >= 0}. With ``checkpoint`` (a JSON file), the results of
    every finished first-level branch are saved there and reused by a later call;
    ``workers > 1`` searches the first-level branches in a process pool (same output).
    """
    d = _check_dimension(d)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int, got {workers!r}")
    if d == 1:
        return [np.array([[1], [-1]], dtype=np.int64)]
    search = _Search(d, progress)
    done: dict[int, list[np.ndarray]] = {}
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        record = json.loads(path.read_text())
        if record.get("d") != d:
            raise ValueError(f"checkpoint {path} is for d={record.get('d')}, not d={d}")
        done = {
            int(rank): [np.array(rows, dtype=np.int64) for rows in found]
            for rank, found in record["branches"].items()
        }

    def save(rank: int, found: list[np.ndarray]) -> None:
        done[rank] = found
        if path is not None:
            branches = {str(r): [f.tolist() for f in fs] for r, fs in done.items()}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"d": d, "branches": branches}))
            tmp.replace(path)

    search.run(done=dict(done), on_branch=save, workers=workers)
    return search.found


def main(argv: list[str] | None = None) -> None:
    """CLI: classify the given dimensions, one JSON file per dimension (resumable)."""
    parser = UsageParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/polytopes/obro"),
        help="writes <out>/obro_d{d}.json; finished dimensions are skipped",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes over first-level branches"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    table = []
    for d in args.dims:
        path = args.out / f"obro_d{d}.json"
        if path.exists():
            record = json.loads(path.read_text())
            table.append((d, record["count"], record["seconds"], "cached"))
            continue
        partial = args.out / f"obro_d{d}.partial.json"
        start = time.perf_counter()
        found = classify(d, progress=not args.no_progress, checkpoint=partial, workers=args.workers)
        elapsed = round(time.perf_counter() - start, 1)
        record = {
            "d": d,
            "count": len(found),
            "seconds": elapsed,
            "polytopes": [f.tolist() for f in found],
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)
        partial.unlink(missing_ok=True)
        table.append((d, len(found), elapsed, str(path)))
    print(f"{'d':>3} {'count':>7} {'seconds':>9}  file")
    for d, count, seconds, where in table:
        print(f"{d:>3} {count:>7} {seconds:>9}  {where}")


if __name__ == "__main__":
    run_cli(main)
