"""Exact linear regions by traversal of the full-dimensional activation cells.

Breadth-first search over the activation cells: each cell is expanded by
:class:`envs.regions.cells.CellExpander` (interior point, facets, points across them), facet-adjacent
cells with equal affine maps are merged with a union-find.  All float decisions are made on the
normalised network (:func:`envs.regions.normalise.normalise_network`), so they do not depend on
the scale of any layer; map equalities that floats cannot settle are decided exactly
(:class:`MapJudge`).

The expansions are independent, so they run in batches on a process pool or on Ray
(``backend``); the search itself (the table of known patterns, the queue) stays in this process
and takes the batches' results in the order they were submitted, so every backend gives the same
cells, points and labels.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from tqdm import tqdm

from envs.parallel import BACKENDS, pool_context, start_ray
from envs.regions.cells import CellExpander, CellOutcome, pack, preactivations, unpack
from envs.regions.lp import LPError
from envs.regions.network import ReLUNetwork
from envs.regions.normalise import MapJudge, normalise_network
from envs.regions.results import RegionResult, UnionFind

#: most cells per batch sent to a worker
MAX_BATCH = 256
_ERRORS: dict[str, type[Exception]] = {"LPError": LPError, "RuntimeError": RuntimeError,
                                       "ValueError": ValueError}


# -------------------------------------------------------------------------------------- runners
class _SerialRunner:
    """Expansions in this process, one cell at a time."""

    max_in_flight = 1

    def __init__(self, expander: CellExpander) -> None:
        self.expander = expander

    def submit(self, tasks: list) -> list[CellOutcome]:
        return self.expander.expand_batch(tasks)

    def result(self, handle: Any) -> list[CellOutcome]:
        return handle

    def close(self) -> None:
        pass


_WORKER_EXPANDER: CellExpander | None = None


def _init_pool_worker(expander: CellExpander) -> None:
    global _WORKER_EXPANDER
    _WORKER_EXPANDER = expander


def _expand_in_pool(tasks: list) -> list[CellOutcome]:
    return _WORKER_EXPANDER.expand_batch(tasks)


class _ProcessRunner:
    """Batches on a local process pool (the expander is sent once per worker)."""

    def __init__(self, expander: CellExpander, workers: int) -> None:
        self.pool = ProcessPoolExecutor(workers, mp_context=pool_context(),
                                        initializer=_init_pool_worker, initargs=(expander,))
        self.max_in_flight = 2 * workers

    def submit(self, tasks: list) -> Any:
        return self.pool.submit(_expand_in_pool, tasks)

    def result(self, handle: Any) -> list[CellOutcome]:
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _RayRunner:
    """Batches as Ray tasks (the expander is put in the object store once)."""

    def __init__(self, expander: CellExpander, workers: int | None, address: str | None) -> None:
        import ray

        self.ray = ray
        self.started = start_ray(workers, address)
        self.expander = ray.put(expander)
        self.remote = ray.remote(_expand_on_ray)
        self.max_in_flight = 2 * max(1, int(ray.available_resources().get("CPU", workers or 1)))

    def submit(self, tasks: list) -> Any:
        return self.remote.remote(self.expander, tasks)

    def result(self, handle: Any) -> list[CellOutcome]:
        return self.ray.get(handle)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _expand_on_ray(expander: CellExpander, tasks: list) -> list[CellOutcome]:
    return expander.expand_batch(tasks)


def _make_runner(backend: str, workers: int | None, address: str | None, expander: CellExpander):
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if backend == "serial":
        return _SerialRunner(expander)
    if backend == "process":
        import os

        return _ProcessRunner(expander, workers or os.cpu_count() or 1)
    return _RayRunner(expander, workers, address)


# ----------------------------------------------------------------------------------- the search
class _Search:
    """Known cells (by packed pattern) and the facet-adjacency edges between them."""

    def __init__(self, track_known: bool) -> None:
        self.track_known = track_known
        self.index_of: dict[bytes, int] = {}
        self.keys: list[bytes] = []
        self.points: list[np.ndarray] = []
        self.certified: list[bool] = []
        self.maps: list[np.ndarray | None] = []
        self.known: list[set[int] | None] = []
        self.edge_a: list[int] = []
        self.edge_b: list[int] = []
        self.aliases: list[tuple[int, int]] = []  # (cell, same cell under its canonical key)
        self.empty: set[int] = set()
        self.queue: deque[int] = deque()
        self.num_lps = 0
        self.num_fallbacks = 0
        self.num_exact = 0

    def add(self, key: bytes, point: np.ndarray, certain: bool) -> int:
        """Index of the cell of ``key``; new cells are appended and queued."""
        index = self.index_of.get(key)
        if index is not None:
            if certain and not self.certified[index] and self.maps[index] is None:
                self.points[index], self.certified[index] = point, True
            return index
        index = len(self.keys)
        self.index_of[key] = index
        self.keys.append(key)
        self.points.append(point)
        self.certified.append(certain)
        self.maps.append(None)
        self.known.append(None)
        self.queue.append(index)
        return index

    def task(self, index: int, start: int) -> tuple:
        known = self.known[index]
        return (self.keys[index], self.points[index], self.certified[index], index == start,
                frozenset(known) if known else frozenset())

    def integrate(self, index: int, outcome: CellOutcome, num_hidden: int) -> None:
        """Record one expansion: the cell's point and map, its neighbours and edges."""
        if outcome.error is not None:
            kind, message = outcome.error
            active = np.flatnonzero(unpack(self.keys[index], num_hidden)).tolist()
            raise _ERRORS.get(kind, RuntimeError)(f"cell {index} (active units {active}): {message}")
        self.num_lps += outcome.num_lps
        self.num_fallbacks += outcome.num_fallbacks
        self.num_exact += outcome.num_exact
        if outcome.empty:
            self.empty.add(index)
            return
        self.points[index], self.certified[index] = outcome.point, True
        self.maps[index] = outcome.out_map
        if outcome.canonical is not None:
            same = self.index_of.setdefault(outcome.canonical, index)
            if same != index:
                self.aliases.append((index, same))
        add, edge_b = self.add, self.edge_b
        for key, point, certain in zip(outcome.neighbour_keys, outcome.neighbour_points,
                                       outcome.neighbour_certain, strict=True):
            edge_b.append(add(key, point, certain))
        self.edge_a.extend([index] * len(outcome.neighbour_keys))
        if self.track_known:  # the LP facet path skips facets a neighbour already crossed
            for neighbour, flipped in zip(edge_b[-len(outcome.neighbour_keys):],
                                          outcome.neighbour_flipped, strict=True):
                if flipped >= 0:
                    if self.known[neighbour] is None:
                        self.known[neighbour] = set()
                    self.known[neighbour].add(flipped)


def _merge_equal_maps(search: _Search, judge: MapJudge, num_hidden: int) -> UnionFind:
    """Union of facet-adjacent cells with equal affine maps, and of aliases.

    Float maps (normalised network) that differ clearly are different; every other pair is
    decided exactly by ``judge``.
    """
    union_find = UnionFind(len(search.keys))
    for a, b in search.aliases:
        union_find.union(a, b)
    if not search.edge_a:
        return union_find
    pairs = np.column_stack([search.edge_a, search.edge_b])
    live = np.array([search.maps[i] is not None for i in range(len(search.keys))])
    pairs = pairs[live[pairs[:, 0]] & live[pairs[:, 1]]]
    if pairs.size == 0:
        return union_find
    dummy = next(m for m in search.maps if m is not None)
    maps = np.array([m if m is not None else dummy for m in search.maps])
    unclear = ~judge.clearly_different(maps[pairs[:, 0]], maps[pairs[:, 1]])
    for a, b in pairs[unclear]:
        a, b = int(a), int(b)
        if union_find.find(a) != union_find.find(b) and judge.equal(
                unpack(search.keys[a], num_hidden), unpack(search.keys[b], num_hidden)):
            union_find.union(a, b)
    return union_find


def _start_point(network: ReLUNetwork, rng: np.random.Generator, box_radius: float | None,
                 start_point: np.ndarray | None, scale: float) -> tuple[np.ndarray, bool]:
    """The search's first point, moved off every bent hyperplane; and whether it is interior."""
    dim = network.input_dim
    layers = list(zip(network.weights[:-1], network.biases[:-1], strict=True))
    if start_point is None:
        start_point = rng.uniform(-1.0, 1.0, size=dim) * (0.5 * box_radius if box_radius else 1.0)
    start_point = np.asarray(start_point, dtype=float)
    if start_point.shape != (dim,) or not np.isfinite(start_point).all():
        raise ValueError(f"start_point must be a finite vector of length {dim}")
    if box_radius is not None and np.abs(start_point).max() >= box_radius:
        raise ValueError("start_point must lie inside the open box (-R, R)^n0")
    jitter = 1e-3 * (box_radius if box_radius else 1.0)
    for _ in range(100):
        if np.all(np.abs(preactivations(layers, start_point[None, :])) > 1e-9 * scale):
            break
        candidate = start_point + rng.uniform(-jitter, jitter, size=dim)
        if box_radius is None or np.abs(candidate).max() < box_radius:
            start_point = candidate
    pre = preactivations(layers, start_point[None, :])[0]
    return start_point, bool(np.all(np.abs(pre) > 1e-9 * scale))


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
    backend: str = "serial",
    workers: int | None = None,
    address: str | None = None,
) -> RegionResult:
    """Exact number of linear regions by activation-cell traversal (see module docstring).

    Every cell is certified full-dimensional by an interior point: a probe stepped across a
    facet of its neighbour (from the facet's vertices, checked by a forward pass), otherwise a
    HiGHS slack LP; a pattern the LP finds certainly empty (slack < -tol, reached across a false
    float facet) is dropped (``num_empty_dropped``), an ambiguous one raises ``RuntimeError``.
    Facets come from ``facet_method`` (:mod:`envs.regions.cells`): ``"hull"`` (qhull on the
    polar points; rows near the hull's boundary decided by an LP), ``"cdd"`` (pycddlib
    redundancy removal) or ``"lp"`` (ray shooting, then one warm-started HiGHS LP per
    hyperplane); ``"auto"`` picks hull for 2 <= n0 <= 8, cdd for n0 = 1 and 9..12, lp above.
    ``backend`` ``"serial"``, ``"process"`` (``workers`` processes, default all CPUs) or
    ``"ray"`` (``address`` joins a cluster) runs the cell expansions; the result is the same on
    every backend.  ``max_cells``/``time_limit`` abort with ``RuntimeError`` instead of
    returning a partial count.  ``interior_points=False`` leaves ``cell_points`` empty.
    ``progress`` shows a tqdm counter.
    """
    begin = time.perf_counter()
    original = network
    network, output_scale = normalise_network(original)
    judge = MapJudge(original, network)
    dim = network.input_dim
    num_rays = num_rays if num_rays is not None else min(16 * dim + 16, 256)
    expander = CellExpander(network, box_radius, facet_method, num_rays, seed, original=original)
    rng = np.random.default_rng(seed)
    point, certain = _start_point(network, rng, box_radius, start_point, expander.scale)
    num_hidden = network.num_hidden
    search = _Search(track_known=expander.facet_method == "lp")
    start = search.add(pack(preactivations(expander.layers, point[None, :])[0] > 0), point, certain)
    runner = _make_runner(backend, workers, address, expander)
    progress_bar = tqdm(desc="cells", unit="cell", disable=not progress)
    check = _limits(begin, max_cells, time_limit, search)
    try:
        in_flight: deque[tuple[list[int], Any]] = deque()
        while search.queue or in_flight:
            while search.queue and len(in_flight) < runner.max_in_flight:
                size = 1 if runner.max_in_flight == 1 else min(
                    MAX_BATCH, max(1, len(search.queue) // runner.max_in_flight))
                batch = [search.queue.popleft() for _ in range(min(size, len(search.queue)))]
                in_flight.append((batch, runner.submit([search.task(i, start) for i in batch])))
            batch, handle = in_flight.popleft()
            for index, outcome in zip(batch, runner.result(handle), strict=True):
                search.integrate(index, outcome, num_hidden)
            progress_bar.update(len(batch))
            check()
    finally:
        runner.close()
        progress_bar.close()
    union_find = _merge_equal_maps(search, judge, num_hidden)
    return _result(search, union_find, output_scale, begin, box_radius, interior_points)


def _limits(begin: float, max_cells: int | None, time_limit: float | None,
            search: _Search) -> Callable[[], None]:
    def check() -> None:
        if max_cells is not None and len(search.keys) > max_cells:
            raise RuntimeError(f"traversal exceeded max_cells={max_cells}")
        if time_limit is not None and time.perf_counter() - begin > time_limit:
            raise RuntimeError(f"traversal exceeded time_limit={time_limit}s")
    return check


def _result(search: _Search, union_find: UnionFind, output_scale: np.ndarray, begin: float,
            box_radius: float | None, interior_points: bool) -> RegionResult:
    """The :class:`RegionResult` of a finished search (aliases and empty patterns left out)."""
    alias = {a for a, _ in search.aliases}
    cells = [i for i in range(len(search.keys)) if i not in search.empty and i not in alias]
    roots = np.array([union_find.find(i) for i in range(len(search.keys))], dtype=np.int64)
    unique_roots, labels_of_cells = np.unique(roots[cells], return_inverse=True)
    label_of_root = dict(zip(unique_roots.tolist(), range(unique_roots.size), strict=True))
    count = int(unique_roots.size)
    first_cell = np.array(cells, dtype=np.int64)[np.unique(labels_of_cells, return_index=True)[1]]
    region_maps: list = []
    with np.errstate(over="ignore", invalid="ignore"):  # inf beyond float64
        for cell in first_cell.tolist():  # back to the scale of the network as given
            out_map = search.maps[cell] * output_scale[:, None]
            region_maps.append((out_map[:, :-1], out_map[:, -1]))
    pattern_to_region = {key: label_of_root[int(roots[index])]
                         for key, index in search.index_of.items() if index not in search.empty}
    return RegionResult(
        count=count,
        method="traversal",
        seconds=time.perf_counter() - begin,
        num_cells=len(cells),
        num_lps=search.num_lps,
        box_radius=box_radius,
        num_cdd_fallbacks=search.num_fallbacks,
        num_empty_dropped=len(search.empty),
        num_exact_decisions=search.num_exact,
        pattern_to_region=pattern_to_region,
        region_maps=region_maps,
        cell_points=[search.points[i] for i in cells] if interior_points else [],
        cell_labels=[int(label) for label in labels_of_cells],
    )
