"""The search tree (root, children by beneath-beyond, node pruning, leaves), the
process-pool branch worker and :func:`classify`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.polytopes.batch import pool_context
from envs.polytopes.obro.candidates import _check_dimension, _Universe
from envs.polytopes.obro.geometry import _horizon, _hyperplanes
from envs.polytopes.obro.minimality import _any_smaller, _minimal, _unimodular_inverse
from envs.polytopes.obro.pruning import (
    _NO_NEIGHBOUR,
    _coverable,
    _lack_and_cost,
    _neighbour_filter,
    _neighbour_options,
)
from envs.polytopes.obro.screening import _ChildScreen


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


class _Search(_ChildScreen):
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
        """Tests 2-5 of the package docstring; the node with its filtered candidates."""
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
