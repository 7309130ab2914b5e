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
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from envs.regions.facets import generators as _generators
from envs.regions.facets import redundant_rows_cdd as _redundant_rows_cdd
from envs.regions.facets import redundant_rows_incremental as _redundant_rows_incremental
from envs.regions.lp import (
    AMBIGUOUS,
    SLACK_TOL,
    LPError,
    SlackLP,
    box_constraints,
    close_calls,
    normalise_rows,
    note_close_calls,
)
from envs.regions.network import ReLUNetwork
from envs.regions.normalise import MAP_REL_TOL, MapJudge, normalise_network, to_fractions
from envs.regions.results import CELL_KINDS, CountUnknown, RegionResult, UnionFind
from envs.regions.traversal import count_regions_traversal
from envs.regions.tropical import TropicalPolynomial, TropicalRational, network_to_tropical

__all__ = [
    "CELL_KINDS",
    "RegionResult",
    "UnionFind",
    "count_regions",
    "count_regions_traversal",
    "count_regions_tropical",
    "_redundant_rows_cdd",
    "_redundant_rows_incremental",
]


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

    Accepts a network (normalised first, see :func:`normalise_network`; its tropical maps are
    built with intermediate pruning) or a list of tropical rational maps (one per output).
    Affine maps of pieces are compared in floats only when they clearly differ; otherwise
    exactly (the network's map for the piece's activation pattern, or the tropical data).
    An LP that fails after retries raises :class:`LPError` naming the piece.

    Its LP decisions are float (the tropical data are float); when one of them was a close call
    (:func:`envs.regions.lp.ambiguous`), the count is checked against the exact-backed
    traversal on the same network (``verified_by_traversal``); if they differ,
    :class:`CountUnknown` (a ``ValueError``) says the count is unknown, never a wrong number.
    For a list of tropical maps (no network
    to check against) the close calls are only counted (``num_close_calls``).
    """
    begin = time.perf_counter()
    calls_before = close_calls()
    judge: MapJudge | None = None
    normalised: ReLUNetwork | None = None
    output_scale = None
    if isinstance(network_or_maps, ReLUNetwork):
        normalised, output_scale = normalise_network(network_or_maps)
        judge = MapJudge(network_or_maps, normalised)
        maps = network_to_tropical(normalised, prune_intermediate=True, time_limit=time_limit)
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
            decided, points = _screen_monomials(poly, piece)
            model = None
            for j in range(poly.num_monomials):
                if time_limit is not None and time.perf_counter() - begin > time_limit:
                    raise RuntimeError(f"Algorithm 4 exceeded time_limit={time_limit}s")
                if decided[j] < 0:
                    continue  # certified empty (dominated by one monomial on the whole piece)
                if decided[j] > 0:
                    slack, z = 1.0, points[j]  # certified by a sample point with slack
                else:
                    if model is None:
                        model = _lifted_model(poly, piece.G, piece.h)
                    try:
                        slack, z = model.solve_modified(reversed_rows=[j])
                    except LPError as error:
                        raise LPError(f"piece {piece.indices + (j,)} (monomial indices of the "
                                      f"refined polynomials): {error}") from error
                    num_lps += 1
                if slack > SLACK_TOL:
                    G_new, h_new = poly.region_constraints(j)
                    G_new, h_new, nonzero = normalise_rows(G_new, h_new)
                    refined.append(
                        _Piece(piece.indices + (j,), np.vstack([piece.G, G_new[nonzero]]),
                               np.concatenate([piece.h, h_new[nonzero]]), z[:dim])
                    )
        pieces = refined
    # --- affine map [linear | offset] of every piece, (N, nL, n0 + 1)
    maps_of_pieces = np.array([_piece_map(polys, piece.indices) for piece in pieces])
    groups = _map_groups(polys, pieces, maps_of_pieces, judge, normalised)
    # --- glue pieces of a group that share a codimension-1 face
    union_find = UnionFind(len(pieces))
    for members in groups:
        for position, a in enumerate(members):
            for b in members[position + 1 :]:
                if union_find.find(a) == union_find.find(b):
                    continue
                if time_limit is not None and time.perf_counter() - begin > time_limit:
                    raise RuntimeError(f"Algorithm 4 exceeded time_limit={time_limit}s")
                try:
                    glued, used_lp = _share_facet(polys, pieces[a], pieces[b])
                except LPError as error:
                    raise LPError(f"face of pieces {pieces[a].indices} and {pieces[b].indices}: "
                                  f"{error}") from error
                num_lps += used_lp
                if glued:
                    union_find.union(a, b)
    labels = union_find.labels()
    count = int(labels.max()) + 1 if len(labels) else 0
    region_maps: list = [None] * count
    for index, label in enumerate(labels):
        if region_maps[label] is None:
            piece_map = maps_of_pieces[index]
            if output_scale is not None:  # back to the scale of the network as given
                with np.errstate(over="ignore", invalid="ignore"):  # inf beyond float64
                    piece_map = piece_map * output_scale[:, None]
            region_maps[label] = (piece_map[:, :-1], piece_map[:, -1])
    num_close = close_calls() - calls_before
    verified = False
    if num_close and isinstance(network_or_maps, ReLUNetwork):
        remaining = None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - begin))
        check = count_regions_traversal(network_or_maps, box_radius=box_radius,
                                        time_limit=remaining, interior_points=False)
        if check.count != count:
            raise CountUnknown(f"Algorithm 4 made {num_close} float LP decisions too close to call "
                             f"and counted {count}, the exact-backed traversal {check.count}: "
                             "Algorithm 4's count is unknown here (use the traversal)")
        verified = True
    return RegionResult(
        count=count,
        method="tropical",
        num_close_calls=num_close,
        verified_by_traversal=verified,
        seconds=time.perf_counter() - begin,
        num_cells=len(pieces),
        num_lps=num_lps,
        box_radius=box_radius,
        region_maps=region_maps,
        cell_points=[piece.point for piece in pieces],
        cell_labels=[int(label) for label in labels],
    )


def _screen_monomials(poly: TropicalPolynomial, piece: _Piece) -> tuple[np.ndarray, np.ndarray]:
    """Decide without an LP which monomials of ``poly`` win on a full-dimensional part of a piece.

    Returns ``decided`` (+1 yes, -1 no, 0 unknown: solve the LP) and, for the yes-monomials, an
    interior point.  Yes: a sample point of the piece (its centre, midpoints towards its
    vertices, steps along its rays) where the monomial beats every other by more than the LP
    tolerance (the same slack the lifted LP measures).  No: another monomial is at least as
    large on every vertex and ray of the piece (pycddlib generators), so the LP slack is <= 0.
    """
    m, dim = poly.num_monomials, poly.dim
    decided = np.zeros(m, dtype=np.int8)
    points = np.zeros((m, dim))
    if piece.G.shape[0] == 0:
        return decided, points
    try:
        shifted = piece.G @ piece.point + piece.h
        if shifted.min() <= 0:
            return decided, points
        vertices, rays, lines = _generators(piece.G, shifted)
    except RuntimeError:  # float cdd failure: leave everything to the LPs
        return decided, points
    vertices = vertices + piece.point
    samples = [piece.point[None, :], 0.5 * (vertices + piece.point)]
    if rays.size:
        unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
        samples.append(piece.point + unit)
    samples = np.vstack(samples)
    norms = np.linalg.norm(np.hstack([poly.exponents, np.ones((m, 1))]), axis=1)
    values = poly.monomial_values(samples)  # (S, m)
    winner = values.argmax(axis=1)
    gaps = (values[np.arange(len(samples)), winner][:, None] - values) / norms[None, :]
    gaps[np.arange(len(samples)), winner] = np.inf
    slack = np.minimum(gaps.min(axis=1), (samples @ piece.G.T + piece.h).min(axis=1))
    slack = np.minimum(slack, 1.0)
    for sample in np.argsort(-slack):
        if slack[sample] <= 10 * SLACK_TOL:
            break
        if decided[winner[sample]] == 0:
            decided[winner[sample]] = 1
            points[winner[sample]] = samples[sample]
    # dominance on the whole piece: D[j, k] = max over the piece of (mono_j - mono_k)
    if lines.size:
        return decided, points
    scale = 1.0 + np.abs(values).max()
    at_vertices = poly.monomial_values(vertices) if vertices.size else np.zeros((0, m))
    diff_max = (at_vertices[:, :, None] - at_vertices[:, None, :]).max(axis=0)  # (m, m)
    if rays.size:
        slopes = rays @ poly.exponents.T  # (R, m)
        unbounded = ((slopes[:, :, None] - slopes[:, None, :]) > 1e-12).any(axis=0)
        diff_max = np.where(unbounded, np.inf, diff_max)
    np.fill_diagonal(diff_max, np.inf)
    dominated = (diff_max <= 1e-12 * scale).any(axis=1) & (decided == 0)
    # a domination by a margin within the ambiguity band is a close call (checked later)
    clear = (diff_max <= -AMBIGUOUS * scale).any(axis=1)
    note_close_calls(int(np.count_nonzero(dominated & ~clear)))
    decided[dominated] = -1
    return decided, points


def _piece_map(polys: list[TropicalPolynomial], indices: tuple[int, ...], exact: bool = False) -> np.ndarray:
    """``[linear | offset]`` rows ``p_k - q_k`` of a piece (object Fractions when ``exact``)."""
    rows = []
    for k in range(len(polys) // 2):
        p_poly, q_poly = polys[2 * k], polys[2 * k + 1]
        i, j = indices[2 * k], indices[2 * k + 1]
        p_row = np.append(p_poly.exponents[i], p_poly.coefficients[i])
        q_row = np.append(q_poly.exponents[j], q_poly.coefficients[j])
        if exact:
            p_row, q_row = to_fractions(p_row), to_fractions(q_row)
        rows.append(p_row - q_row)
    return np.array(rows, dtype=object if exact else float)


def _map_groups(
    polys: list[TropicalPolynomial], pieces: list[_Piece], maps: np.ndarray,
    judge: MapJudge | None, network: ReLUNetwork | None,
) -> list[list[int]]:
    """Pieces grouped by (exactly) equal affine map.

    Candidate pairs are float maps within ``MAP_REL_TOL`` of each other relative to a
    per-output bound (k-d tree); each candidate is decided exactly: for a network, by its maps
    for the activation patterns at the pieces' interior points (when these agree with the
    tropical float maps), otherwise from the tropical data in rationals.
    """
    count = len(pieces)
    if count == 0:
        return []
    if judge is not None:
        bound = judge.bound
    else:
        bound = np.abs(maps).max(axis=(0, 2))
        bound = np.where(bound > 0, bound, 1.0)
    scaled = (maps / bound[None, :, None]).reshape(count, -1)
    pairs = cKDTree(scaled).query_pairs(r=MAP_REL_TOL, p=np.inf, output_type="ndarray")
    union_find = UnionFind(count)
    if len(pairs):
        patterns = pattern_maps = None
        if network is not None and judge is not None:
            points = np.array([piece.point for piece in pieces])
            patterns = network.activation_patterns(points)
            pattern_maps = np.array([_float_map(network, pattern) for pattern in patterns])
            consistent = ~judge.clearly_different(pattern_maps, maps)
        exact_cache: dict[int, np.ndarray] = {}

        def tropical_exact(index: int) -> np.ndarray:
            if index not in exact_cache:
                exact_cache[index] = _piece_map(polys, pieces[index].indices, exact=True)
            return exact_cache[index]

        for a, b in pairs:
            a, b = int(a), int(b)
            if union_find.find(a) == union_find.find(b):
                continue
            if patterns is not None and consistent[a] and consistent[b]:
                equal = judge.equal(patterns[a], patterns[b])
            else:
                equal = bool(np.all(tropical_exact(a) == tropical_exact(b)))
            if equal:
                union_find.union(a, b)
    labels = union_find.labels()
    return [np.flatnonzero(labels == label).tolist() for label in range(int(labels.max()) + 1)]


def _float_map(network: ReLUNetwork, pattern: np.ndarray) -> np.ndarray:
    _, _, linear, offset = network.pattern_affine_layers(pattern)
    return np.hstack([linear, offset[:, None]])


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
