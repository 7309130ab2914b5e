"""Exact linear regions of ReLU networks (on R^n0 or a box [-R, R]^n0).

Two independent methods, cross-checked in the tests:

* :func:`count_regions_traversal` - breadth-first search over the full-dimensional activation
  cells (LP with slack in HiGHS), moving across each facet; facet-adjacent cells with equal
  affine maps are merged with a union-find.  Scales to larger networks.
* :func:`count_regions_tropical` - Algorithm 4 of Lezeau et al. (2024): intersect the linear
  regions of ``p`` and ``q`` (of every output), keep the full-dimensional pieces, group them by
  affine map and glue pieces of a group that share a codimension-1 face; count components.

A linear region is a maximal connected set on which the network is affine; the same affine map
on two disconnected pieces counts twice.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import cdd
import numpy as np
from tqdm import tqdm

from envs.regions.lp import SLACK_TOL, SlackLP, box_constraints, new_highs, normalise_rows
from envs.regions.network import ReLUNetwork
from envs.regions.tropical import (
    TropicalPolynomial,
    TropicalRational,
    network_to_tropical,
    unique_row_inverse,
)


class UnionFind:
    """Plain union-find with path halving."""

    def __init__(self, size: int = 0) -> None:
        self.parent = list(range(size))

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def labels(self) -> np.ndarray:
        """Component label 0..k-1 of every item."""
        roots = np.array([self.find(i) for i in range(len(self.parent))], dtype=np.int64)
        _, labels = np.unique(roots, return_inverse=True)
        return labels.reshape(-1)


def _group_equal_maps(maps: list[tuple[np.ndarray, np.ndarray]], scale: float) -> dict[int, list[int]]:
    """Cluster affine maps that agree up to ``1e-7 * scale`` (greedy, vectorised)."""
    groups: dict[int, list[int]] = {}
    if not maps:
        return groups
    data = np.array([np.concatenate([np.ravel(lin), np.ravel(off)]) for lin, off in maps])
    representatives: list[int] = []
    for index, row in enumerate(data):
        if representatives:
            close = np.all(np.abs(data[representatives] - row) <= 1e-7 * scale, axis=1)
            hits = np.flatnonzero(close)
            if hits.size:
                groups[representatives[hits[0]]].append(index)
                continue
        representatives.append(index)
        groups[index] = [index]
    return groups


@dataclass
class RegionResult:
    """Result of an exact count."""

    count: int
    method: str
    seconds: float
    num_cells: int
    num_lps: int
    box_radius: float | None = None
    #: traversal only: cells whose float-cdd facet test failed and fell back to HiGHS
    num_cdd_fallbacks: int = 0
    #: traversal only: activation pattern (bytes) -> region label
    pattern_to_region: dict[bytes, int] = field(default_factory=dict)
    #: per region label: (linear (nL, n0), offset (nL,)) of the affine map
    region_maps: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    #: per cell: an interior point (traversal and Algorithm 4)
    cell_points: list[np.ndarray] = field(default_factory=list)
    cell_labels: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "count": self.count,
            "method": self.method,
            "seconds": round(self.seconds, 6),
            "num_cells": self.num_cells,
            "num_lps": self.num_lps,
            "box_radius": self.box_radius,
        }


# ---------------------------------------------------------------------------------- traversal
def _canonical_rows(G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Group id per normalised row so that rows on the same hyperplane share an id."""
    first = np.argmax(np.abs(G) > 1e-12, axis=1)
    sign = np.sign(G[np.arange(G.shape[0]), first])
    sign[sign == 0] = 1.0
    keys = np.round(np.hstack([G * sign[:, None], (h * sign)[:, None]]), 8)
    return unique_row_inverse(keys)


class _SharedHighs:
    """One HiGHS object reused for the per-cell LPs (only one cell is processed at a time)."""

    def __init__(self) -> None:
        self._highs = None

    def get(self):
        if self._highs is None:
            self._highs = new_highs()
        return self._highs


_SHARED_HIGHS = _SharedHighs()


class _Cell:
    """Constraints of one activation cell (hidden rows + optional box rows)."""

    def __init__(self, network: ReLUNetwork, pattern: np.ndarray, box: tuple[np.ndarray, np.ndarray]):
        A, c, self.out_linear, self.out_offset = network.pattern_affine_layers(pattern)
        sigma = np.where(pattern, 1.0, -1.0)
        G_raw, h_raw = A * sigma[:, None], c * sigma
        G, h, nonzero = normalise_rows(G_raw, h_raw)
        if np.any(h_raw[~nonzero] < -1e-9):
            raise RuntimeError("inconsistent activation pattern (constant neuron of wrong sign)")
        self.neuron_rows = np.flatnonzero(nonzero)  # neuron index of each hidden LP row
        # constant-zero neurons may switch on across a facet (degenerate, e.g. zero biases)
        self.has_free_neurons = bool(np.any(np.abs(h_raw[~nonzero]) <= 1e-12))
        box_G, box_h = box
        self.G = np.vstack([G[nonzero], box_G])
        self.h = np.concatenate([h[nonzero], box_h])
        self.num_hidden_rows = self.neuron_rows.size
        self.groups = _canonical_rows(self.G[: self.num_hidden_rows], self.h[: self.num_hidden_rows])
        self._lp: SlackLP | None = None

    @property
    def lp(self) -> SlackLP:
        if self._lp is None:
            self._lp = SlackLP(self.G, self.h, highs=_SHARED_HIGHS.get())
        return self._lp

    def release(self) -> None:
        """Drop the LP (the shared HiGHS object is reused by the next cell)."""
        self._lp = None


def _activation_pattern(network: ReLUNetwork, point: np.ndarray) -> np.ndarray:
    return network.preactivations(point[None, :])[0] > 0


def _preactivations(layers: list[tuple[np.ndarray, np.ndarray]], points: np.ndarray) -> np.ndarray:
    """Unchecked hidden pre-activations (hot path of the traversal)."""
    parts = []
    activation = points
    for weight, bias in layers:
        pre = activation @ weight.T + bias
        parts.append(pre)
        activation = np.maximum(pre, 0.0)
    return np.concatenate(parts, axis=1) if parts else np.zeros((points.shape[0], 0))


def _redundant_rows_cdd(G: np.ndarray, h: np.ndarray) -> set[int]:
    """Rows of ``G x + h >= 0`` that are redundant (pycddlib, one call)."""
    matrix = cdd.matrix_from_array(np.hstack([h[:, None], G]).tolist(),
                                   rep_type=cdd.RepType.INEQUALITY)
    return set(cdd.redundant_rows(matrix))


def _redundant_rows_incremental(
    G: np.ndarray, h: np.ndarray, interior: np.ndarray, rng: np.random.Generator, num_rays: int,
) -> set[int]:
    """Redundant rows of a full-dimensional polyhedron with a known interior point.

    Rays from the interior point give a first set ``F`` of facets; the vertices/rays/lines of
    ``P_F`` (pycddlib, coordinates centred at the interior point so the system is never
    homogeneous) are checked against all other rows at once, violated rows join ``F``, until
    ``P_F`` equals the polyhedron; the final redundancy test runs on ``F`` only.  Much faster
    than one redundancy LP per row when most rows are redundant (many neurons, low n0).
    """
    m, dim = G.shape
    if m <= 4 * dim + 8:
        return _redundant_rows_cdd(G, h)
    shifted = G @ interior + h  # > 0: the origin of the shifted coordinates is interior
    directions = rng.standard_normal((num_rays, dim))
    rates = directions @ G.T
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.where(rates < -1e-12, shifted[None, :] / -rates, np.inf)
    first = np.argmin(steps, axis=1)
    in_set = np.zeros(m, dtype=bool)
    in_set[first[np.isfinite(steps[np.arange(num_rays), first])]] = True
    if not in_set.any():
        return _redundant_rows_cdd(G, h)
    tol = 1e-9
    for _ in range(m):
        members = np.flatnonzero(in_set)
        matrix = cdd.matrix_from_array(np.hstack([shifted[members, None], G[members]]).tolist(),
                                       rep_type=cdd.RepType.INEQUALITY)
        generators = cdd.copy_generators(cdd.polyhedron_from_matrix(matrix))
        array = np.array(generators.array, dtype=float).reshape(-1, dim + 1)
        lines = np.zeros(len(array), dtype=bool)
        lines[list(generators.lin_set)] = True
        vertices = array[(array[:, 0] > 0.5) & ~lines, 1:]
        rays = array[(array[:, 0] <= 0.5) & ~lines, 1:]
        line_dirs = array[lines, 1:]
        others = np.flatnonzero(~in_set)
        ok = np.ones(others.size, dtype=bool)
        if vertices.size:
            ok &= np.all(G[others] @ vertices.T + shifted[others, None] >= -tol, axis=1)
        if rays.size:
            ok &= np.all(G[others] @ rays.T >= -tol, axis=1)
        if line_dirs.size:
            ok &= np.all(np.abs(G[others] @ line_dirs.T) <= tol, axis=1)
        if ok.all():
            break
        in_set[others[~ok]] = True
    members = np.flatnonzero(in_set)
    inner = _redundant_rows_cdd(G[members], shifted[members])
    facets = {int(members[i]) for i in range(members.size) if i not in inner}
    return set(range(m)) - facets


def _lp_facets(
    cell: _Cell, interior: np.ndarray, representative: np.ndarray, num_groups: int,
    rng: np.random.Generator, num_rays: int, known: set[int],
) -> tuple[dict[int, tuple[np.ndarray, float]], int]:
    """Facets of a cell: vectorised ray shooting (first hits are facets), then HiGHS LPs.

    Returns ``{group: (relative-interior point of the facet, margin)}`` and the LP count.
    """
    facet_points: dict[int, tuple[np.ndarray, float]] = {}
    n_hidden, dim = cell.num_hidden_rows, cell.G.shape[1]
    groups = cell.groups
    num_lps = 0
    directions = rng.standard_normal((num_rays, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    G_rep = np.vstack([cell.G[representative], cell.G[n_hidden:]])
    h_rep = np.concatenate([cell.h[representative], cell.h[n_hidden:]])
    values = G_rep @ interior + h_rep  # > 0
    rates = directions @ G_rep.T  # (rays, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.where(rates < -1e-12, values[None, :] / -rates, np.inf)
    order = np.argsort(steps, axis=1)[:, :2]
    first = steps[np.arange(num_rays), order[:, 0]]
    second = steps[np.arange(num_rays), order[:, 1]] if steps.shape[1] > 1 else np.full(num_rays, np.inf)
    with np.errstate(invalid="ignore"):
        clear = np.isfinite(first) & ~(second - first <= 1e-7 * (1 + first))
    hit_rows = order[:, 0]
    usable = np.flatnonzero(clear & (hit_rows < num_groups))
    found_rows, first_ray = np.unique(hit_rows[usable], return_index=True)
    if found_rows.size:
        rays = usable[first_ray]
        hits = interior + first[rays, None] * directions[rays]
        margins = hits @ G_rep.T + h_rep
        margins[np.arange(found_rows.size), found_rows] = np.inf
        for row, hit, margin in zip(found_rows, hits, margins.min(axis=1), strict=True):
            facet_points[int(row)] = (hit, float(margin))
    # --- LPs for the remaining hyperplane groups
    for group in range(num_groups):
        if group in facet_points:
            continue
        members = np.flatnonzero(groups == group)
        if len(members) == 1 and int(cell.neuron_rows[members[0]]) in known:
            continue  # the neighbour already crossed this facet towards us
        slack, x_facet = cell.lp.facet_slack(int(members[0]), inactive=members[1:])
        num_lps += 1
        if slack > SLACK_TOL:
            facet_points[group] = (x_facet, slack)
    return facet_points, num_lps


def count_regions_traversal(
    network: ReLUNetwork,
    box_radius: float | None = None,
    start_point: np.ndarray | None = None,
    num_rays: int | None = None,
    seed: int = 0,
    max_cells: int | None = None,
    time_limit: float | None = None,
    facet_method: str = "auto",
    interior_points: bool = True,
    progress: bool = False,
) -> RegionResult:
    """Exact number of linear regions by activation-cell traversal (see module docstring).

    Each cell is checked full-dimensional with a HiGHS slack LP.  Its facets come from
    ``facet_method``: ``"cdd"`` (pycddlib redundancy removal, incremental via vertex checks when
    the cell has many rows, see :func:`_redundant_rows_incremental`; crossing a facet of a
    single neuron flips that neuron) or ``"lp"`` (vectorised ray shooting from the
    interior point, then one warm-started HiGHS LP per remaining hyperplane); ``"auto"`` picks
    cdd for n0 <= 12 (measured faster there) and lp above.  Coincident
    hyperplanes and constant-zero neurons always take the LP path, which steps across the
    facet from a relative-interior point.  ``max_cells``/``time_limit`` abort with
    ``RuntimeError`` instead of returning a partial count.  ``interior_points=False`` skips the
    per-cell slack LP on the cdd path (cells are reached across cdd facets, so they are
    full-dimensional) and leaves ``cell_points`` empty.  ``progress`` shows a tqdm counter.
    """
    if facet_method == "auto":
        facet_method = "cdd" if network.input_dim <= 12 else "lp"
    if facet_method not in ("cdd", "lp"):
        raise ValueError(f"facet_method must be 'auto', 'cdd' or 'lp', got {facet_method!r}")
    begin = time.perf_counter()
    dim = network.input_dim
    rng = np.random.default_rng(seed)
    box = box_constraints(dim, box_radius)
    scale = 1.0 + max(float(np.abs(w).max()) for w in network.weights)
    num_rays = num_rays if num_rays is not None else min(16 * dim + 16, 256)
    layers = list(zip(network.weights[:-1], network.biases[:-1], strict=True))
    if start_point is None:
        start_point = rng.uniform(-1.0, 1.0, size=dim) * (0.5 * box_radius if box_radius else 1.0)
    start_point = np.asarray(start_point, dtype=float)
    if start_point.shape != (dim,) or not np.isfinite(start_point).all():
        raise ValueError(f"start_point must be a finite vector of length {dim}")
    if box_radius is not None and np.abs(start_point).max() >= box_radius:
        raise ValueError("start_point must lie inside the open box (-R, R)^n0")
    progress_bar = tqdm(desc="cells", unit="cell", disable=not progress)

    # cell bookkeeping
    index_of: dict[bytes, int] = {}
    cells: list[_Cell] = []
    patterns: list[np.ndarray] = []
    points: list[np.ndarray] = []
    edges: list[tuple[int, int]] = []
    known_facet_neurons: list[set[int]] = []
    num_lps = 0
    num_cdd_fallbacks = 0

    def add_cell(pattern: np.ndarray, point: np.ndarray) -> int:
        key = np.packbits(pattern).tobytes()
        if key in index_of:
            return index_of[key]
        index_of[key] = len(cells)
        cells.append(_Cell(network, pattern, box))
        patterns.append(pattern)
        points.append(point)
        known_facet_neurons.append(set())
        return len(cells) - 1

    # move the start point off every bent hyperplane (e.g. the origin of a zero-bias network)
    jitter = 1e-3 * (box_radius if box_radius else 1.0)
    for _ in range(100):
        if np.all(np.abs(_preactivations(layers, start_point[None, :])) > 1e-9 * scale):
            break
        candidate = start_point + rng.uniform(-jitter, jitter, size=dim)
        if box_radius is None or np.abs(candidate).max() < box_radius:
            start_point = candidate
    start = add_cell(_activation_pattern(network, start_point), start_point)
    queue = deque([start])
    last_cell: _Cell | None = None
    while queue:
        if max_cells is not None and len(cells) > max_cells:
            raise RuntimeError(f"traversal exceeded max_cells={max_cells}")
        if time_limit is not None and time.perf_counter() - begin > time_limit:
            raise RuntimeError(f"traversal exceeded time_limit={time_limit}s")
        index = queue.popleft()
        progress_bar.update(1)
        if last_cell is not None:
            last_cell.release()
        cell = last_cell = cells[index]
        if facet_method == "lp" or interior_points or index == start:
            slack, interior = cell.lp.max_slack()
            num_lps += 1
            if slack <= SLACK_TOL:
                raise RuntimeError(f"cell {index} is not full-dimensional (slack {slack:.3g})")
            points[index] = interior
            interior_known = True
        else:
            interior = points[index]  # a point of a neighbouring cell: only a placeholder
            interior_known = False
        n_hidden = cell.num_hidden_rows
        if n_hidden == 0:
            continue
        groups = cell.groups
        num_groups = int(groups.max()) + 1
        representative = np.full(num_groups, -1)
        representative[groups[::-1]] = np.arange(n_hidden)[::-1]
        facet_points: dict[int, tuple[np.ndarray, float]] = {}
        current = patterns[index]
        use_cdd = facet_method == "cdd"
        if use_cdd:
            rows = np.concatenate([representative, np.arange(n_hidden, cell.G.shape[0])])
            try:
                if interior_known:
                    redundant = _redundant_rows_incremental(cell.G[rows], cell.h[rows], interior,
                                                            rng, num_rays)
                else:
                    redundant = _redundant_rows_cdd(cell.G[rows], cell.h[rows])
            except RuntimeError:
                # float cdd can report "numerical inconsistency": use the HiGHS path for this cell
                use_cdd = False
                num_cdd_fallbacks += 1
                if not interior_known:
                    slack, interior = cell.lp.max_slack()
                    num_lps += 1
                    if slack <= SLACK_TOL:
                        raise RuntimeError(f"cell {index} is not full-dimensional") from None
        if use_cdd:
            for group in range(num_groups):
                if group in redundant:
                    continue
                members = np.flatnonzero(groups == group)
                if len(members) == 1 and not cell.has_free_neurons:
                    new_pattern = current.copy()
                    neuron = int(cell.neuron_rows[members[0]])
                    new_pattern[neuron] = not new_pattern[neuron]
                    before = len(cells)
                    neighbour = add_cell(new_pattern, interior)
                    edges.append((index, neighbour))
                    if neighbour == before:
                        queue.append(neighbour)
                    continue
                slack, x_facet = cell.lp.facet_slack(int(members[0]), inactive=members[1:])
                num_lps += 1
                if slack > SLACK_TOL:
                    facet_points[group] = (x_facet, slack)
                else:
                    raise RuntimeError("pycddlib and HiGHS disagree on a facet; use facet_method='lp'")
        else:
            facet_points, used = _lp_facets(cell, interior, representative, num_groups, rng,
                                            num_rays, known_facet_neurons[index])
            num_lps += used
        # --- cross every facet (batched forward passes)
        if not facet_points:
            continue
        facet_groups = list(facet_points)
        x_facets = np.array([facet_points[g][0] for g in facet_groups])
        steps = 0.5 * np.clip([facet_points[g][1] for g in facet_groups], 1e-12, 1.0)
        normals = cell.G[representative[facet_groups]]
        old = _preactivations(layers, x_facets)
        free = np.abs(old) <= 1e-9 * scale * (1.0 + np.abs(old).max(axis=1, keepdims=True))
        new_patterns = np.zeros_like(old, dtype=bool)
        probes = np.zeros_like(x_facets)
        pending = np.arange(len(facet_groups))
        for _ in range(40):
            probe = x_facets[pending] - steps[pending, None] * normals[pending]
            candidate = _preactivations(layers, probe) > 0
            ok = np.all((candidate == current) | free[pending], axis=1)
            new_patterns[pending[ok]] = candidate[ok]
            probes[pending[ok]] = probe[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            steps[pending] *= 0.5
        if pending.size:
            raise RuntimeError("could not step across a facet (degenerate geometry)")
        for new_pattern, probe in zip(new_patterns, probes, strict=True):
            if np.array_equal(new_pattern, current):
                continue  # the hyperplane does not change the pattern
            before = len(cells)
            neighbour = add_cell(new_pattern, probe)
            edges.append((index, neighbour))
            flipped = np.flatnonzero(new_pattern != current)
            if len(flipped) == 1:
                known_facet_neurons[neighbour].add(int(flipped[0]))
            if neighbour == before:
                queue.append(neighbour)

    progress_bar.close()
    union_find = UnionFind(len(cells))
    if edges:
        maps = np.array([np.concatenate([c.out_linear.ravel(), c.out_offset]) for c in cells])
        pairs = np.array(edges)
        equal = np.all(np.abs(maps[pairs[:, 0]] - maps[pairs[:, 1]]) <= 1e-7 * scale, axis=1)
        for a, b in pairs[equal]:
            union_find.union(int(a), int(b))
    labels = union_find.labels()
    count = int(labels.max()) + 1 if len(labels) else 0
    region_maps: list = [None] * count
    for cell_index, label in enumerate(labels):
        if region_maps[label] is None:
            region_maps[label] = (cells[cell_index].out_linear, cells[cell_index].out_offset)
    pattern_to_region = {
        np.packbits(pattern).tobytes(): int(label)
        for pattern, label in zip(patterns, labels, strict=True)
    }
    return RegionResult(
        count=count,
        method="traversal",
        seconds=time.perf_counter() - begin,
        num_cells=len(cells),
        num_lps=num_lps,
        box_radius=box_radius,
        num_cdd_fallbacks=num_cdd_fallbacks,
        pattern_to_region=pattern_to_region,
        region_maps=region_maps,
        cell_points=points if (facet_method == "lp" or interior_points) else [],
        cell_labels=[int(label) for label in labels],
    )


# ---------------------------------------------------------------------------------- Algorithm 4
@dataclass
class _Piece:
    indices: tuple[int, ...]
    G: np.ndarray
    h: np.ndarray
    point: np.ndarray


def _lifted_model(poly: TropicalPolynomial, G: np.ndarray, h: np.ndarray) -> SlackLP:
    """Model over z = (x, y): rows of the piece (in x) and ``y - e_l x >= c_l`` for all l."""
    m = poly.num_monomials
    lifted = np.hstack([-poly.exponents, np.ones((m, 1))])
    norms = np.linalg.norm(lifted, axis=1)
    piece_rows = np.hstack([G, np.zeros((G.shape[0], 1))])
    return SlackLP(np.vstack([lifted / norms[:, None], piece_rows]),
                   np.concatenate([-poly.coefficients / norms, h]))


def _is_multiple(G: np.ndarray, h: np.ndarray, normal: np.ndarray, offset: float) -> np.ndarray:
    dots = G @ normal
    return (np.abs(np.abs(dots) - 1.0) < 1e-9) & (np.abs(h - np.sign(dots) * offset) < 1e-8 * (1 + abs(offset)))


def count_regions_tropical(
    network_or_maps: ReLUNetwork | list[TropicalRational],
    box_radius: float | None = None,
    time_limit: float | None = None,
) -> RegionResult:
    """Exact number of linear regions by Algorithm 4 (see module docstring).

    Accepts a network (its tropical maps are built with intermediate pruning) or a list of
    tropical rational maps (one per output).
    """
    begin = time.perf_counter()
    if isinstance(network_or_maps, ReLUNetwork):
        maps = network_to_tropical(network_or_maps, prune_intermediate=True, time_limit=time_limit)
    else:
        maps = list(network_or_maps)
        if not maps or not all(isinstance(f, TropicalRational) for f in maps):
            raise ValueError("expected a ReLUNetwork or a non-empty list of TropicalRational")
    polys: list[TropicalPolynomial] = []
    deadline = None if time_limit is None else begin + time_limit
    for f in maps:
        polys.extend([f.numerator.merged().pruned(deadline), f.denominator.merged().pruned(deadline)])
    dim = polys[0].dim
    box_G, box_h = box_constraints(dim, box_radius)
    num_lps = 0
    # --- refine: pieces of the first polynomial, then intersect with the others
    pieces: list[_Piece] = [_Piece((), box_G, box_h, np.zeros(dim))]
    for poly in polys:
        refined: list[_Piece] = []
        for piece in pieces:
            if poly.num_monomials == 1:
                refined.append(_Piece(piece.indices + (0,), piece.G, piece.h, piece.point))
                continue
            model = _lifted_model(poly, piece.G, piece.h)
            for j in range(poly.num_monomials):
                if time_limit is not None and time.perf_counter() - begin > time_limit:
                    raise RuntimeError(f"Algorithm 4 exceeded time_limit={time_limit}s")
                slack, z = model.solve_modified(reversed_rows=[j])
                num_lps += 1
                if slack > SLACK_TOL:
                    G_new, h_new = poly.region_constraints(j)
                    G_new, h_new, nonzero = normalise_rows(G_new, h_new)
                    refined.append(
                        _Piece(piece.indices + (j,), np.vstack([piece.G, G_new[nonzero]]),
                               np.concatenate([piece.h, h_new[nonzero]]), z[:dim])
                    )
        pieces = refined
    # --- affine map of every piece, groups
    scale = 1.0 + max(float(np.abs(p.exponents).max()) for p in polys)
    maps_of_pieces = []
    for piece in pieces:
        linear, offset = [], []
        for k in range(len(maps)):
            p_poly, q_poly = polys[2 * k], polys[2 * k + 1]
            i, j = piece.indices[2 * k], piece.indices[2 * k + 1]
            linear.append(p_poly.exponents[i] - q_poly.exponents[j])
            offset.append(p_poly.coefficients[i] - q_poly.coefficients[j])
        maps_of_pieces.append((np.array(linear), np.array(offset)))
    groups = _group_equal_maps(maps_of_pieces, scale)
    # --- glue pieces of a group that share a codimension-1 face
    union_find = UnionFind(len(pieces))
    for members in groups.values():
        for position, a in enumerate(members):
            for b in members[position + 1 :]:
                if union_find.find(a) == union_find.find(b):
                    continue
                if time_limit is not None and time.perf_counter() - begin > time_limit:
                    raise RuntimeError(f"Algorithm 4 exceeded time_limit={time_limit}s")
                glued, used_lp = _share_facet(polys, pieces[a], pieces[b])
                num_lps += used_lp
                if glued:
                    union_find.union(a, b)
    labels = union_find.labels()
    count = int(labels.max()) + 1 if len(labels) else 0
    region_maps: list = [None] * count
    for index, label in enumerate(labels):
        if region_maps[label] is None:
            region_maps[label] = maps_of_pieces[index]
    return RegionResult(
        count=count,
        method="tropical",
        seconds=time.perf_counter() - begin,
        num_cells=len(pieces),
        num_lps=num_lps,
        box_radius=box_radius,
        region_maps=region_maps,
        cell_points=[piece.point for piece in pieces],
        cell_labels=[int(label) for label in labels],
    )


def _share_facet(polys: list[TropicalPolynomial], a: _Piece, b: _Piece) -> tuple[bool, int]:
    """Whether the closures of two pieces meet in an (n-1)-dimensional set."""
    hyperplane = None
    for r, (i, j) in enumerate(zip(a.indices, b.indices, strict=True)):
        if i == j:
            continue
        poly = polys[r]
        normal = poly.exponents[i] - poly.exponents[j]
        offset = poly.coefficients[i] - poly.coefficients[j]
        norm = np.linalg.norm(normal)
        if norm < 1e-12:
            return False, 0
        normal, offset = normal / norm, offset / norm
        if hyperplane is None:
            hyperplane = (normal, offset)
        else:
            same = _is_multiple(normal[None, :], np.array([offset]), *hyperplane)[0]
            if not same:
                return False, 0  # the contact lies in two different hyperplanes: codim >= 2
    if hyperplane is None:
        return True, 0
    normal, offset = hyperplane
    G = np.vstack([a.G, b.G, normal[None, :]])
    h = np.concatenate([a.h, b.h, [offset]])
    inactive = np.flatnonzero(_is_multiple(G[:-1], h[:-1], normal, offset))
    model = SlackLP(G, h)
    slack, _ = model.solve_modified(equality_rows=[G.shape[0] - 1], inactive_rows=inactive)
    return slack > SLACK_TOL, 1


def count_regions(network: ReLUNetwork, method: str = "traversal", **kwargs) -> RegionResult:
    """Dispatch to ``traversal`` or ``exact``/``tropical`` (Algorithm 4)."""
    if method == "traversal":
        return count_regions_traversal(network, **kwargs)
    if method in ("exact", "tropical", "algorithm4"):
        return count_regions_tropical(network, **kwargs)
    raise ValueError(f"unknown method {method!r}; use 'traversal' or 'exact'")
