"""Exact linear regions by traversal of the full-dimensional activation cells.

Breadth-first search over the activation cells (LP with slack in HiGHS, facets from pycddlib or
ray shooting + LPs), moving across each facet; facet-adjacent cells with equal affine maps are
merged with a union-find.  All float decisions are made on the normalised network
(:func:`envs.regions.normalise.normalise_network`), so they do not depend on the scale of any
layer; map equalities that floats cannot settle are decided exactly (:class:`MapJudge`).
"""

from __future__ import annotations

import time
from collections import deque

import cdd
import numpy as np
from tqdm import tqdm

from envs.regions.lp import SLACK_TOL, LPError, SlackLP, box_constraints, new_highs, normalise_rows
from envs.regions.network import ReLUNetwork
from envs.regions.normalise import MapJudge, normalise_network
from envs.regions.results import RegionResult, UnionFind


def _canonical_rows(G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Group id per normalised row so that rows on the same hyperplane share an id."""
    first = np.argmax(np.abs(G) > 1e-12, axis=1)
    sign = np.sign(G[np.arange(G.shape[0]), first])
    sign[sign == 0] = 1.0
    keys = np.round(np.hstack([G * sign[:, None], (h * sign)[:, None]]), 8) + 0.0
    if keys.shape[0] <= 1:
        return np.zeros(keys.shape[0], dtype=np.int64)
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    new_group = np.concatenate([[True], np.any(ordered[1:] != ordered[:-1], axis=1)])
    ids = np.empty(keys.shape[0], dtype=np.int64)
    ids[order] = np.cumsum(new_group) - 1
    return ids


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
        #: neurons whose pre-activation is identically zero on the cell (their bit is moot)
        self.zero_neurons = np.flatnonzero(~nonzero & (np.abs(c) <= 1e-12))
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
    return _facets_and_generators(G, h, interior, rng, num_rays)[0]


def _generators(G: np.ndarray, shifted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, rays and lines of ``{y : G y + shifted >= 0}`` (pycddlib, float)."""
    dim = G.shape[1]
    matrix = cdd.matrix_from_array(np.hstack([shifted[:, None], G]).tolist(),
                                   rep_type=cdd.RepType.INEQUALITY)
    generators = cdd.copy_generators(cdd.polyhedron_from_matrix(matrix))
    array = np.array(generators.array, dtype=float).reshape(-1, dim + 1)
    lines = np.zeros(len(array), dtype=bool)
    lines[list(generators.lin_set)] = True
    return (array[(array[:, 0] > 0.5) & ~lines, 1:], array[(array[:, 0] <= 0.5) & ~lines, 1:],
            array[lines, 1:])


def _facets_and_generators(
    G: np.ndarray, h: np.ndarray, interior: np.ndarray, rng: np.random.Generator, num_rays: int,
) -> tuple[set[int], np.ndarray | None, np.ndarray | None]:
    """Redundant rows (see :func:`_redundant_rows_incremental`) and, when computed on the way,
    the vertices and rays of the polyhedron (original coordinates; ``None`` otherwise)."""
    m, dim = G.shape
    shifted = G @ interior + h  # > 0: the origin of the shifted coordinates is interior
    if m <= 4 * dim + 8:
        vertices, rays, _ = _generators(G, shifted)
        return _redundant_rows_cdd(G, h), vertices + interior, rays
    directions = rng.standard_normal((num_rays, dim))
    rates = directions @ G.T
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.where(rates < -1e-12, shifted[None, :] / -rates, np.inf)
    first = np.argmin(steps, axis=1)
    in_set = np.zeros(m, dtype=bool)
    in_set[first[np.isfinite(steps[np.arange(num_rays), first])]] = True
    if not in_set.any():
        return _redundant_rows_cdd(G, h), None, None
    tol = 1e-9
    vertices = rays = None
    for _ in range(m):
        members = np.flatnonzero(in_set)
        vertices, rays, line_dirs = _generators(G[members], shifted[members])
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
    return set(range(m)) - facets, vertices + interior, rays


def _facet_probes(
    G: np.ndarray, h: np.ndarray, rows: np.ndarray, vertices: np.ndarray, rays: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For facet rows of ``G x + h >= 0`` (normalised rows): a point just across each facet.

    The mean of the facet's vertices plus its unit rays is in the facet's relative interior;
    the probe steps half its distance to the other rows across the facet.  Returns
    ``(probes, usable)``; unusable probes (no vertex on the facet, no margin) get an LP later.
    """
    scale = 1.0 + (np.abs(vertices).max() if vertices.size else 0.0)
    tight_v = np.abs(G[rows] @ vertices.T + h[rows, None]) <= 1e-9 * scale
    count = tight_v.sum(axis=1)
    x_facets = (tight_v @ vertices) / np.maximum(count, 1)[:, None]
    if rays.size:
        unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        x_facets = x_facets + (np.abs(G[rows] @ unit.T) <= 1e-9) @ unit
    values = x_facets @ G.T + h
    values[np.arange(rows.size), rows] = np.inf
    margin = values.min(axis=1) if G.shape[0] > 1 else np.ones(rows.size)
    margin = np.minimum(margin, 1.0)
    usable = (count > 0) & (margin > 1e-9)
    return x_facets - 0.5 * np.where(usable, margin, 0.0)[:, None] * G[rows], usable


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


def _merge_equal_maps(
    cells: list[_Cell], patterns: list[np.ndarray], edges: list[tuple[int, int]], judge: MapJudge,
) -> np.ndarray:
    """Region label of every cell: union of facet-adjacent cells with equal affine maps.

    Float maps (normalised network) that differ clearly are different; every other pair is
    decided exactly by ``judge``.
    """
    union_find = UnionFind(len(cells))
    if edges:
        maps = np.array([np.hstack([c.out_linear, c.out_offset[:, None]]) for c in cells])
        pairs = np.array(edges)
        unclear = ~judge.clearly_different(maps[pairs[:, 0]], maps[pairs[:, 1]])
        for a, b in pairs[unclear]:
            a, b = int(a), int(b)
            if union_find.find(a) != union_find.find(b) and judge.equal(patterns[a], patterns[b]):
                union_find.union(a, b)
    return union_find.labels()


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

    Every cell is certified full-dimensional by an interior point: on the cdd path a probe
    stepped across a facet of its neighbour (from the facet's vertices, checked by a forward
    pass), otherwise a HiGHS slack LP; a pattern the LP finds certainly empty (slack < -tol,
    reached across a false float-cdd facet) is dropped (``num_empty_dropped``), an ambiguous one
    raises ``RuntimeError``.  Facets come from ``facet_method``: ``"cdd"`` (pycddlib redundancy
    removal, incremental via vertex checks when the cell has many rows, see
    :func:`_redundant_rows_incremental`; crossing a facet of a single neuron flips that neuron)
    or ``"lp"`` (vectorised ray shooting from the interior point, then one warm-started HiGHS LP
    per remaining hyperplane); ``"auto"`` picks cdd for n0 <= 12 and lp above.  Coincident
    hyperplanes and constant-zero neurons always take the LP path, which steps across the
    facet from a relative-interior point.  ``max_cells``/``time_limit`` abort with
    ``RuntimeError`` instead of returning a partial count.  ``interior_points=False`` leaves
    ``cell_points`` empty.  ``progress`` shows a tqdm counter.
    """
    if facet_method == "auto":
        facet_method = "cdd" if network.input_dim <= 12 else "lp"
    if facet_method not in ("cdd", "lp"):
        raise ValueError(f"facet_method must be 'auto', 'cdd' or 'lp', got {facet_method!r}")
    begin = time.perf_counter()
    original = network
    network, _ = normalise_network(original)
    judge = MapJudge(original, network)
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
    certified: list[bool] = []  # points[i] is a certified interior point of cell i
    empty: set[int] = set()  # patterns reached across a false facet, certified empty by an LP
    edges: list[tuple[int, int]] = []
    known_facet_neurons: list[set[int]] = []
    num_lps = 0
    num_cdd_fallbacks = 0

    def add_cell(pattern: np.ndarray, point: np.ndarray, certain: bool = False) -> int:
        """Index of the cell of ``pattern`` (new cells are appended); ``point`` is an interior
        point when ``certain``, else a placeholder."""
        key = np.packbits(pattern).tobytes()
        if key not in index_of:
            cell = _Cell(network, pattern, box)
            if pattern[cell.zero_neurons].any():  # canonical form: identically-zero units off
                alias = key
                pattern = pattern.copy()
                pattern[cell.zero_neurons] = False
                key = np.packbits(pattern).tobytes()
                if key not in index_of:
                    index_of[key] = len(cells)
                    cells.append(_Cell(network, pattern, box))
                    patterns.append(pattern)
                    points.append(point)
                    certified.append(certain)
                index_of[alias] = index_of[key]
        if key in index_of:
            known = index_of[key]
            if certain and not certified[known]:
                points[known], certified[known] = point, True
            return known
        index_of[key] = len(cells)
        cells.append(cell)
        patterns.append(pattern)
        points.append(point)
        certified.append(certain)
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
    start_pre = _preactivations(layers, start_point[None, :])[0]
    start = add_cell(start_pre > 0, start_point, bool(np.all(np.abs(start_pre) > 1e-9 * scale)))
    queue = deque([start])
    last_cell: _Cell | None = None

    def process(index: int) -> None:
        """Certify cell ``index``, find its facets, queue the neighbours across them."""
        nonlocal last_cell, num_lps, num_cdd_fallbacks
        if last_cell is not None:
            last_cell.release()
        cell = last_cell = cells[index]
        if facet_method == "lp" or not certified[index]:
            slack, interior = cell.lp.max_slack()
            num_lps += 1
            if slack < -SLACK_TOL and index != start:
                # certainly empty: reached across a false facet of float cdd; not a cell
                empty.add(index)
                return
            if slack <= SLACK_TOL:
                raise RuntimeError(f"cell {index} is not full-dimensional (slack {slack:.3g})")
            points[index] = interior
            certified[index] = True
        interior = points[index]  # certified: an interior point; else a neighbour's point
        interior_known = certified[index]
        n_hidden = cell.num_hidden_rows
        if n_hidden == 0:
            return
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
                    redundant, vertices, rays = _facets_and_generators(
                        cell.G[rows], cell.h[rows], interior, rng, num_rays)
                else:
                    redundant, vertices, rays = _redundant_rows_cdd(cell.G[rows], cell.h[rows]), None, None
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
            flips: list[tuple[int, int]] = []  # (group, neuron) of single-neuron facets
            for group in range(num_groups):
                if group in redundant:
                    continue
                members = np.flatnonzero(groups == group)
                if len(members) == 1 and not cell.has_free_neurons:
                    flips.append((group, int(cell.neuron_rows[members[0]])))
                    continue
                slack, x_facet = cell.lp.facet_slack(int(members[0]), inactive=members[1:])
                num_lps += 1
                if slack > SLACK_TOL:
                    facet_points[group] = (x_facet, slack)
                else:
                    raise RuntimeError("pycddlib and HiGHS disagree on a facet; use facet_method='lp'")
            if flips:
                new_patterns = np.repeat(current[None, :], len(flips), axis=0)
                neurons = np.array([neuron for _, neuron in flips])
                new_patterns[np.arange(len(flips)), neurons] = ~current[neurons]
                probes = np.repeat(interior[None, :], len(flips), axis=0)
                ok = np.zeros(len(flips), dtype=bool)
                if vertices is not None:
                    probes, usable = _facet_probes(cell.G[rows], cell.h[rows],
                                                   np.array([g for g, _ in flips]), vertices, rays)
                    pre = _preactivations(layers, probes)
                    ok = usable & np.all((pre > 0) == new_patterns, axis=1)
                    ok &= np.abs(pre).min(axis=1) > 1e-12
                for new_pattern, probe, certain in zip(new_patterns, probes, ok, strict=True):
                    before = len(cells)
                    neighbour = add_cell(new_pattern, probe if certain else interior, bool(certain))
                    edges.append((index, neighbour))
                    if neighbour == before:
                        queue.append(neighbour)
        else:
            facet_points, used = _lp_facets(cell, interior, representative, num_groups, rng,
                                            num_rays, known_facet_neurons[index])
            num_lps += used
        # --- cross every facet (batched forward passes)
        if not facet_points:
            return
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

    while queue:
        if max_cells is not None and len(cells) > max_cells:
            raise RuntimeError(f"traversal exceeded max_cells={max_cells}")
        if time_limit is not None and time.perf_counter() - begin > time_limit:
            raise RuntimeError(f"traversal exceeded time_limit={time_limit}s")
        index = queue.popleft()
        progress_bar.update(1)
        try:
            process(index)
        except LPError as error:
            raise LPError(f"cell {index} (active units "
                          f"{np.flatnonzero(patterns[index]).tolist()}): {error}") from error

    progress_bar.close()
    if empty:  # drop the empty patterns and their edges, renumber the cells
        keep = [i for i in range(len(cells)) if i not in empty]
        new_index = {old: new for new, old in enumerate(keep)}
        cells = [cells[i] for i in keep]
        patterns = [patterns[i] for i in keep]
        points = [points[i] for i in keep]
        edges = [(new_index[a], new_index[b]) for a, b in edges if a in new_index and b in new_index]
        index_of = {key: new_index[i] for key, i in index_of.items() if i in new_index}
    labels = _merge_equal_maps(cells, patterns, edges, judge)
    count = int(labels.max()) + 1 if len(labels) else 0
    region_maps: list = [None] * count
    for cell_index, label in enumerate(labels):
        if region_maps[label] is None:  # maps of the network as given (not normalised)
            with np.errstate(over="ignore", invalid="ignore"):  # inf beyond float64
                region_maps[label] = original.pattern_affine_layers(patterns[cell_index])[2:]
    pattern_to_region = {key: int(labels[index]) for key, index in index_of.items()}
    return RegionResult(
        count=count,
        method="traversal",
        seconds=time.perf_counter() - begin,
        num_cells=len(cells),
        num_lps=num_lps,
        box_radius=box_radius,
        num_cdd_fallbacks=num_cdd_fallbacks,
        num_empty_dropped=len(empty),
        pattern_to_region=pattern_to_region,
        region_maps=region_maps,
        cell_points=points if interior_points else [],
        cell_labels=[int(label) for label in labels],
    )


