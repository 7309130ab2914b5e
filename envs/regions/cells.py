"""One step of the activation-cell traversal: certify a cell, find its facets, step across them.

:class:`CellExpander` holds the (normalised) network and the settings; :meth:`CellExpander.expand`
is a pure function of one cell (its packed activation pattern and a candidate interior point)
returning a :class:`CellOutcome`: the certified interior point, the cell's affine output map and
its neighbours (packed patterns with points just across the shared facet).  It pickles (the HiGHS
object is created lazily in each process), so the traversal can run it in a process pool or on
Ray (:mod:`envs.regions.traversal`).

Facets come from ``facet_method``:

* ``"hull"``: qhull on the cell's polar points (:func:`envs.regions.facets.hull_facets`); rows
  near the hull's boundary are decided by a HiGHS facet LP;
* ``"cdd"``: pycddlib redundancy removal (incremental via vertex checks for many rows);
* ``"lp"``: vectorised ray shooting from the Chebyshev-like centre, then one warm-started HiGHS
  LP per remaining hyperplane.

A single-neuron facet is crossed by a probe stepped from the facet's vertices and checked by a
forward pass (the neighbour's pattern must differ in exactly that neuron, with margin); a probe
that fails this check, coincident hyperplanes and constant-zero neurons take a facet LP, which
also rules out false float facets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import QhullError

from envs.regions import facets as geometry
from envs.regions.exact_lp import ExactCells
from envs.regions.lp import LPError, SlackLP, ambiguous, box_constraints, new_highs, normalise_rows
from envs.regions.network import ReLUNetwork

FACET_METHODS = ("auto", "hull", "cdd", "lp")


def resolve_facet_method(method: str, input_dim: int) -> str:
    """``auto`` -> ``hull`` for 2 <= n0 <= 8, else ``lp`` (``cdd`` only when asked: its
    redundancy decisions are float, without the exact fallback of the other two)."""
    if method not in FACET_METHODS:
        raise ValueError(f"facet_method must be one of {', '.join(FACET_METHODS)}, got {method!r}")
    if method != "auto":
        return method
    return "hull" if input_dim in geometry.HULL_DIMS else "lp"


def pack(pattern: np.ndarray) -> bytes:
    """Bytes key of a boolean activation pattern."""
    return np.packbits(pattern).tobytes()


def unpack(key: bytes, num_hidden: int) -> np.ndarray:
    """Boolean activation pattern of a :func:`pack` key."""
    return np.unpackbits(np.frombuffer(key, dtype=np.uint8), count=num_hidden).astype(bool)


def preactivations(layers: list[tuple[np.ndarray, np.ndarray]], points: np.ndarray) -> np.ndarray:
    """Unchecked hidden pre-activations of ``points`` (hot path of the traversal)."""
    parts = []
    activation = points
    for weight, bias in layers:
        pre = activation @ weight.T + bias
        parts.append(pre)
        activation = np.maximum(pre, 0.0)
    return np.concatenate(parts, axis=1) if parts else np.zeros((points.shape[0], 0))


class _Shallow:
    """First layer of a one-hidden-layer network, precomputed for every cell."""

    def __init__(self, network: ReLUNetwork) -> None:
        self.W1, self.b1 = network.weights[0], network.biases[0]
        self.W2, self.b2 = network.weights[1], network.biases[1]
        self.G_unit, self.h_unit, self.nonzero = normalise_rows(self.W1, self.b1)


class _Cell:
    """Constraints of one activation cell (hidden rows + optional box rows)."""

    def __init__(self, network: ReLUNetwork, pattern: np.ndarray,
                 box: tuple[np.ndarray, np.ndarray], highs, shallow: _Shallow | None = None) -> None:
        self.pattern = pattern
        sigma = np.where(pattern, 1.0, -1.0)
        if shallow is not None:  # one hidden layer: the rows are the first layer's, signed
            masked = shallow.W2 * pattern[None, :]
            self.out_linear, self.out_offset = masked @ shallow.W1, masked @ shallow.b1 + shallow.b2
            c = shallow.b1
            G, h, nonzero = shallow.G_unit * sigma[:, None], shallow.h_unit * sigma, shallow.nonzero
            h_raw = c * sigma
        else:
            A, c, self.out_linear, self.out_offset = network.pattern_affine_layers(pattern)
            G_raw, h_raw = A * sigma[:, None], c * sigma
            G, h, nonzero = normalise_rows(G_raw, h_raw)
        if np.any(h_raw[~nonzero] < -1e-9):
            raise RuntimeError("inconsistent activation pattern (constant neuron of wrong sign)")
        self.neuron_rows = np.flatnonzero(nonzero)  # neuron index of each hidden LP row
        self.constant_neurons = np.flatnonzero(~nonzero)  # pre-activation constant on the cell
        # constant-zero neurons may switch on across a facet (degenerate, e.g. zero biases)
        self.has_free_neurons = bool(np.any(np.abs(h_raw[~nonzero]) <= 1e-12))
        #: neurons whose pre-activation is identically zero on the cell (their bit is moot)
        self.zero_neurons = np.flatnonzero(~nonzero & (np.abs(c) <= 1e-12))
        box_G, box_h = box
        self.G = np.vstack([G[nonzero], box_G])
        self.h = np.concatenate([h[nonzero], box_h])
        self.num_hidden_rows = self.neuron_rows.size
        self._highs = highs
        self._lp: SlackLP | None = None
        self._groups: np.ndarray | None = None

    @property
    def lp(self) -> SlackLP:
        if self._lp is None:
            self._lp = SlackLP(self.G, self.h, highs=self._highs)
        return self._lp

    @property
    def groups(self) -> np.ndarray:
        """Hyperplane group of every hidden row (coincident hyperplanes share one)."""
        if self._groups is None:
            n = self.num_hidden_rows
            self._groups = geometry.canonical_rows(self.G[:n], self.h[:n])
        return self._groups


@dataclass
class CellOutcome:
    """What :meth:`CellExpander.expand` found out about one cell."""

    #: certified interior point (``None`` for an empty pattern)
    point: np.ndarray | None = None
    #: affine output map ``[A_out | c_out]`` of the normalised network on the cell
    out_map: np.ndarray | None = None
    #: the pattern reached across a false float facet is certainly empty (not a cell)
    empty: bool = False
    #: canonical key (identically-zero units switched off) when it differs from the given one
    canonical: bytes | None = None
    #: per neighbour across a facet: packed pattern, point, whether the point is certified
    #: interior, and the one neuron flipped (-1 if not a single flip)
    neighbour_keys: list[bytes] = field(default_factory=list)
    neighbour_points: list[np.ndarray] = field(default_factory=list)
    neighbour_certain: list[bool] = field(default_factory=list)
    neighbour_flipped: list[int] = field(default_factory=list)
    num_lps: int = 0
    num_fallbacks: int = 0
    #: LP answers too close to call in floats, decided in exact arithmetic
    num_exact: int = 0
    #: ``(exception class name, message)`` when the cell failed
    error: tuple[str, str] | None = None

    def add_neighbour(self, key: bytes, point: np.ndarray, certain: bool, flipped: int) -> None:
        self.neighbour_keys.append(key)
        self.neighbour_points.append(point)
        self.neighbour_certain.append(certain)
        self.neighbour_flipped.append(flipped)

    def compact(self) -> CellOutcome:
        """Neighbour points as one array (pickles much faster than many small arrays)."""
        if isinstance(self.neighbour_points, list) and self.neighbour_points:
            self.neighbour_points = np.array(self.neighbour_points)
        return self


class CellExpander:
    """Per-cell work of the traversal; picklable (see module docstring)."""

    def __init__(self, network: ReLUNetwork, box_radius: float | None, facet_method: str,
                 num_rays: int, seed: int, original: ReLUNetwork | None = None) -> None:
        """``network`` is the normalised network the float work runs on; ``original`` (default
        ``network``) the network as given, on which close calls are decided exactly."""
        self.network = network
        self.exact = ExactCells(original if original is not None else network, box_radius)
        self.num_hidden = network.num_hidden
        self.box = box_constraints(network.input_dim, box_radius)
        self.facet_method = resolve_facet_method(facet_method, network.input_dim)
        self.num_rays = num_rays
        self.seed = seed
        self.layers = list(zip(network.weights[:-1], network.biases[:-1], strict=True))
        self.shallow = _Shallow(network) if len(network.weights) == 2 else None
        self.scale = 1.0 + max(float(np.abs(w).max()) for w in network.weights)
        directions = np.random.default_rng(seed).standard_normal((num_rays, network.input_dim))
        self.directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
        self._highs = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_highs"] = None  # HiGHS objects do not pickle; each process makes its own
        return state

    def _get_highs(self):
        if self._highs is None:
            self._highs = new_highs()
        return self._highs

    def expand_batch(self, tasks: list[tuple[bytes, np.ndarray, bool, bool, frozenset]]) -> list[CellOutcome]:
        """:meth:`expand` on every ``(key, point, certified, is_start, known)`` task; failures are
        returned in the outcome (``error``), not raised, so the caller can name the cell."""
        outcomes = []
        for task in tasks:
            try:
                outcomes.append(self.expand(*task).compact())
            except (LPError, RuntimeError, ValueError) as error:
                outcomes.append(CellOutcome(error=(type(error).__name__, str(error))))
        return outcomes

    def expand(self, key: bytes, point: np.ndarray, certified: bool, is_start: bool = False,
               known: frozenset = frozenset()) -> CellOutcome:
        """Certify the cell of ``key`` and list its neighbours (see module docstring).

        ``point`` is an interior point when ``certified``, else a hint; ``known`` holds neurons
        whose facet a neighbour already crossed towards this cell (the LP path skips them).
        """
        pattern = unpack(key, self.num_hidden)
        cell = _Cell(self.network, pattern, self.box, self._get_highs(), self.shallow)
        outcome = CellOutcome()
        if cell.zero_neurons.size and pattern[cell.zero_neurons].any():
            canonical = pattern.copy()
            canonical[cell.zero_neurons] = False
            outcome.canonical = pack(canonical)
        method = self.facet_method
        thin = False
        if method == "lp" or not certified:
            slack, point = cell.lp.max_slack()
            outcome.num_lps += 1
            if ambiguous(slack, point):  # decide in exact arithmetic
                outcome.num_exact += 1
                full, witness = self.exact.strictly_feasible(pattern, hint=point)
                if full:
                    point, thin, method = witness.astype(float), True, "lp"
                slack = 1.0 if full else -1.0
            if slack < 0:
                if is_start:
                    raise RuntimeError("the start cell is not full-dimensional")
                outcome.empty = True  # reached across a false facet, or lower-dimensional
                return outcome
        outcome.point = point
        outcome.out_map = np.hstack([cell.out_linear, cell.out_offset[:, None]])
        if cell.num_hidden_rows == 0:
            return outcome
        facet_points: dict[int, tuple] = {}  # hidden row -> (x on facet, margin, group rows)
        flips: list[int] = []  # hidden rows of single-neuron facets, crossed by probes
        vertices = rays = None
        if method == "hull":
            try:
                found = geometry.hull_facets(cell.G, cell.h, point)
            except (QhullError, ValueError):
                method = "cdd"  # degenerate (a cell containing a line): pycddlib instead
                outcome.num_fallbacks += 1
            else:
                vertices, rays = found.vertices, found.rays
                self._hull_groups(cell, found, flips, facet_points, outcome)
        if method == "cdd":
            try:
                vertices, rays = self._cdd_facets(cell, point, flips, facet_points, outcome)
            except RuntimeError:  # float cdd "numerical inconsistency": the LP path
                method = "lp"
                outcome.num_fallbacks += 1
        if method == "lp":
            directions = self.directions[:0] if thin else self.directions  # thin: no ray shooting
            self._lp_facets(cell, point, directions, known, facet_points, outcome)
        if flips:
            self._cross_flips(cell, pattern, np.array(flips), vertices, rays, facet_points, outcome)
        if facet_points:
            self._cross_facets(cell, pattern, facet_points, outcome)
        return outcome

    # ----------------------------------------------------------------------------- facet finders
    @staticmethod
    def _representatives(cell: _Cell) -> np.ndarray:
        groups = cell.groups
        representative = np.full(int(groups.max()) + 1, -1)
        representative[groups[::-1]] = np.arange(cell.num_hidden_rows)[::-1]
        return representative

    def _facet_lp(self, cell: _Cell, members: np.ndarray, facet_points: dict,
                  outcome: CellOutcome) -> None:
        """Decide one hyperplane group by a facet LP (its first row; the others dropped), in
        exact arithmetic when the float slack is too close to 0."""
        slack, x_facet = cell.lp.facet_slack(int(members[0]), inactive=members[1:])
        outcome.num_lps += 1
        margin = slack
        if ambiguous(slack, x_facet):
            outcome.num_exact += 1
            units = cell.neuron_rows[members]
            facet, witness = self.exact.strictly_feasible(
                cell.pattern, on_unit=int(units[0]), drop_units=tuple(units[1:].tolist()), hint=x_facet)
            if not facet:
                return
            x_facet, margin = witness.astype(float), 1e-3  # the crossing halves the step as needed
        if margin > 0:
            facet_points[int(members[0])] = (x_facet, margin, members)

    def _hull_groups(self, cell: _Cell, found: geometry.HullFacets, flips: list[int],
                     facet_points: dict, outcome: CellOutcome) -> None:
        """Sort qhull's facet and uncertain hidden rows into flips and facet LPs."""
        n = cell.num_hidden_rows
        facet_rows = found.facets[found.facets < n]
        uncertain = found.uncertain[found.uncertain < n]
        if uncertain.size == 0:  # coincident rows share a polar point: all facets are single
            if cell.has_free_neurons:
                for row in facet_rows:
                    self._facet_lp(cell, np.array([row]), facet_points, outcome)
            else:
                flips.extend(facet_rows.tolist())
            return
        candidates = np.concatenate([facet_rows, uncertain])
        groups = geometry.canonical_rows(cell.G[candidates], cell.h[candidates])
        counts = np.bincount(groups)
        for group in range(counts.size):
            members = np.flatnonzero(groups == group)
            rows = candidates[members]
            if counts[group] == 1 and members[0] < facet_rows.size and not cell.has_free_neurons:
                flips.append(int(rows[0]))
            else:
                self._facet_lp(cell, rows, facet_points, outcome)

    def _cdd_facets(self, cell: _Cell, point: np.ndarray, flips: list[int], facet_points: dict,
                    outcome: CellOutcome) -> tuple[np.ndarray | None, np.ndarray | None]:
        """pycddlib facets of the cell's representative rows; returns (vertices, rays)."""
        n = cell.num_hidden_rows
        groups = cell.groups
        representative = self._representatives(cell)
        rows = np.concatenate([representative, np.arange(n, cell.G.shape[0])])
        rng = np.random.default_rng(self.seed)
        redundant, vertices, rays = geometry.facets_and_generators(
            cell.G[rows], cell.h[rows], point, rng, self.num_rays)
        for group in range(representative.size):
            if group in redundant:
                continue
            members = np.flatnonzero(groups == group)
            if len(members) == 1 and not cell.has_free_neurons:
                flips.append(int(members[0]))
            else:
                self._facet_lp(cell, members, facet_points, outcome)
        return vertices, rays

    # ---------------------------------------------------------------------------- facet crossing
    def _cross_flips(self, cell: _Cell, pattern: np.ndarray, rows: np.ndarray,
                     vertices: np.ndarray | None, rays: np.ndarray | None, facet_points: dict,
                     outcome: CellOutcome) -> None:
        """Neighbours across single-neuron facets: probes from the facet's vertices, checked by a
        forward pass; a facet whose probe fails is decided (and crossed) by a facet LP."""
        neurons = cell.neuron_rows[rows]
        new_patterns = np.repeat(pattern[None, :], rows.size, axis=0)
        new_patterns[np.arange(rows.size), neurons] = ~pattern[neurons]
        ok = np.zeros(rows.size, dtype=bool)
        probes = None
        if vertices is not None and (vertices.size or rays.size):
            probes, usable = geometry.facet_probes(cell.G, cell.h, rows, vertices, rays)
            pre = preactivations(self.layers, probes)
            ok = usable & np.all((pre > 0) == new_patterns, axis=1)
            ok &= np.abs(pre).min(axis=1) > 1e-9 * self.scale * (1.0 + np.abs(probes).max(axis=1))
        for index in np.flatnonzero(ok):
            outcome.add_neighbour(pack(new_patterns[index]), probes[index], True, int(neurons[index]))
        for row in rows[~ok]:
            self._facet_lp(cell, np.array([row]), facet_points, outcome)

    def _cross_facets(self, cell: _Cell, pattern: np.ndarray, facet_points: dict,
                      outcome: CellOutcome) -> None:
        """Step across facets given by a relative-interior point and margin (batched passes)."""
        rows = list(facet_points)
        x_facets = np.array([facet_points[r][0] for r in rows])
        steps = 0.5 * np.clip([facet_points[r][1] for r in rows], 1e-12, 1.0)
        normals = cell.G[rows]
        # units that may change sign across the facet: those of the crossed hyperplane and the
        # units constant on the cell; every other row is > 0 on the facet's relative interior
        free = np.zeros((len(rows), self.num_hidden), dtype=bool)
        free[:, cell.constant_neurons] = True
        for index, row in enumerate(rows):
            free[index, cell.neuron_rows[facet_points[row][2]]] = True
        new_patterns = np.zeros((len(rows), self.num_hidden), dtype=bool)
        probes = np.zeros_like(x_facets)
        pending = np.arange(len(rows))
        for _ in range(200):  # down to ~1e-60 of the margin (tiny facets decided exactly)
            probe = x_facets[pending] - steps[pending, None] * normals[pending]
            candidate = preactivations(self.layers, probe) > 0
            ok = np.all((candidate == pattern) | free[pending], axis=1)
            new_patterns[pending[ok]] = candidate[ok]
            probes[pending[ok]] = probe[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            steps[pending] *= 0.5
        if pending.size:
            raise RuntimeError("could not step across a facet (degenerate geometry)")
        for new_pattern, probe in zip(new_patterns, probes, strict=True):
            if np.array_equal(new_pattern, pattern):
                continue  # the hyperplane does not change the pattern
            flipped = np.flatnonzero(new_pattern != pattern)
            outcome.add_neighbour(pack(new_pattern), probe, False,
                                  int(flipped[0]) if flipped.size == 1 else -1)

    def _lp_facets(self, cell: _Cell, interior: np.ndarray, directions: np.ndarray,
                   known: frozenset, facet_points: dict, outcome: CellOutcome) -> None:
        """Facets of a cell: vectorised ray shooting (a clear first hit is a facet), then one
        facet LP per remaining hyperplane group (see :meth:`_facet_lp`)."""
        representative = self._representatives(cell)
        n_hidden = cell.num_hidden_rows
        groups = cell.groups
        num_groups = representative.size
        num_rays = directions.shape[0]
        G_rep = np.vstack([cell.G[representative], cell.G[n_hidden:]])
        h_rep = np.concatenate([cell.h[representative], cell.h[n_hidden:]])
        values = G_rep @ interior + h_rep  # > 0
        rates = directions @ G_rep.T  # (rays, rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.where(rates < -1e-12, values[None, :] / -rates, np.inf)
        order = np.argsort(steps, axis=1)[:, :2]
        first = steps[np.arange(num_rays), order[:, 0]]
        second = (steps[np.arange(num_rays), order[:, 1]] if steps.shape[1] > 1
                  else np.full(num_rays, np.inf))
        with np.errstate(invalid="ignore"):
            clear = np.isfinite(first) & ~(second - first <= 1e-7 * (1 + first))
        hit_rows = order[:, 0]
        usable = np.flatnonzero(clear & (hit_rows < num_groups))
        found_groups, first_ray = np.unique(hit_rows[usable], return_index=True)
        if found_groups.size:
            rays = usable[first_ray]
            hits = interior + first[rays, None] * directions[rays]
            margins = hits @ G_rep.T + h_rep
            margins[np.arange(found_groups.size), found_groups] = np.inf
            for group, hit, margin in zip(found_groups, hits, margins.min(axis=1), strict=True):
                members = np.flatnonzero(groups == group)
                facet_points[int(representative[group])] = (hit, float(margin), members)
        found = set(found_groups.tolist())
        for group in range(num_groups):
            if group in found:
                continue
            members = np.flatnonzero(groups == group)
            if len(members) == 1 and int(cell.neuron_rows[members[0]]) in known:
                continue  # the neighbour already crossed this facet towards us
            self._facet_lp(cell, members, facet_points, outcome)
