"""Exact property checker for polytopes given as token matrices (paper Appendix A).

Hyperplane representation (the paper's main format): rows ``w_i`` of an integer matrix,
``P = {x : 1 + w_i . x >= 0}``. Properties: compact, lattice, reflexive, smooth, normal.

* compact: no recession direction (Normaliz, exact);
* lattice: every vertex integral;
* reflexive: for integer rows this is "compact and lattice" (``P^dual = conv(w_i)`` is
  then a lattice polytope);
* smooth: at each vertex exactly ``d`` facets, with normals of ``|det| = 1``
  (``smooth_method="edges"`` uses Definition 4: primitive edge directions form a Z-basis);
* normal: the Hilbert basis of the cone over ``P`` lies in degree 1 (PyNormaliz);
  not compact or not lattice means not normal, as in the paper.

Vertex representation: ``P = conv(rows)``; properties reflexive, smooth, normal.

Bad input (ragged rows, empty matrices, non-integers, zero rows, huge entries, too many
rows) gives a report with ``parseable=False`` and a reason, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from numbers import Integral
from typing import Any

import numpy as np

from envs.polytopes import geometry

# Limits that keep every check bounded in time. Smooth Fano polytopes have at most 3d
# vertices (so at most 3d rows), d <= 8 in the published data and entries |w| <= 13 or so.
MAX_ABS_ENTRY = 1000
MAX_DIMENSION = 10
MAX_HYPERPLANE_ROWS = 40
MAX_VERTEX_ROWS = 5000
# Exact normality enumerates the Hilbert basis (at least every lattice point of P); it is
# skipped (normal=None) when geometry.lattice_point_bound(P) exceeds this.
MAX_NORMALITY_BOX = 1e8


class ParseError(ValueError):
    """The input is not a matrix of the accepted form (message says why)."""


@dataclass
class Limits:
    """Input limits; larger inputs are reported as not parseable."""

    max_abs_entry: int = MAX_ABS_ENTRY
    max_dimension: int = MAX_DIMENSION
    max_rows: int | None = None  # default depends on the representation
    max_normality_box: float | None = MAX_NORMALITY_BOX  # None: no limit


@dataclass
class PropertyReport:
    """Result of a property check. ``None`` means "not determined" (see ``reason``)."""

    representation: str
    parseable: bool
    reason: str | None = None
    dimension: int | None = None
    n_rows: int | None = None
    n_vertices: int | None = None
    compact: bool | None = False
    lattice: bool | None = False
    reflexive: bool | None = False
    smooth: bool | None = False
    normal: bool | None = False
    irredundant: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def all(self) -> bool:
        """All properties of the representation hold (a "correct" sample)."""
        return bool(
            self.parseable
            and self.compact
            and self.lattice
            and self.reflexive
            and self.smooth
            and self.normal
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["all"] = self.all
        return data


# ----------------------------------------------------------------------------- parsing


def _parse_token(token: Any, where: str) -> int:
    if isinstance(token, bool | np.bool_):
        raise ParseError(f"{where}: boolean {token!r} is not an integer")
    if isinstance(token, Integral):
        return int(token)
    if isinstance(token, float | np.floating):
        value = float(token)
        if not math.isfinite(value):
            raise ParseError(f"{where}: {value} is not finite")
        if not value.is_integer():
            raise ParseError(f"{where}: {value} is not an integer")
        return int(value)
    if isinstance(token, str):
        text = token.strip().replace("\u2212", "-")
        try:
            return int(text)
        except ValueError:
            raise ParseError(f"{where}: token {token[:20]!r} is not an integer") from None
    raise ParseError(f"{where}: entry of type {type(token).__name__} is not an integer")


def _rows_from_text(text: str) -> list[list[str]]:
    rows = [line.replace(",", " ").split() for line in text.strip().splitlines()]
    return [row for row in rows if row]


def parse_matrix(
    data: Any,
    *,
    representation: str = "hyperplane",
    limits: Limits | None = None,
) -> np.ndarray:
    """Parse a token matrix into an ``(n, d)`` int64 array or raise :class:`ParseError`.

    Accepts a numpy array, a sequence of rows, or text with one row per line (entries
    separated by spaces or commas). Rows must have equal length ``d >= 1``; entries must
    be integers with ``|entry| <= limits.max_abs_entry``. In the hyperplane
    representation a zero row (the trivial inequality ``1 >= 0``) is rejected.
    """
    limits = limits or Limits()
    max_rows = limits.max_rows or (
        MAX_HYPERPLANE_ROWS if representation == "hyperplane" else MAX_VERTEX_ROWS
    )
    if isinstance(data, str):
        raw_rows: Sequence[Any] = _rows_from_text(data)
    elif isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise ParseError(f"expected a 2-d array, got shape {data.shape}")
        raw_rows = list(data)
    elif isinstance(data, Sequence) and not isinstance(data, bytes | bytearray):
        raw_rows = data
    else:
        raise ParseError(f"expected a matrix, got {type(data).__name__}")
    if len(raw_rows) == 0:
        raise ParseError("empty matrix")
    if len(raw_rows) > max_rows:
        raise ParseError(f"{len(raw_rows)} rows exceed the limit of {max_rows}")
    rows: list[list[int]] = []
    width: int | None = None
    for i, raw in enumerate(raw_rows):
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence | np.ndarray):
            raise ParseError(f"row {i}: not a sequence of entries")
        if len(raw) == 0:
            raise ParseError(f"row {i}: empty row")
        if width is None:
            width = len(raw)
            if width > limits.max_dimension:
                raise ParseError(f"dimension {width} exceeds the limit of {limits.max_dimension}")
        elif len(raw) != width:
            raise ParseError(f"ragged rows: row {i} has {len(raw)} entries, row 0 has {width}")
        row = [_parse_token(token, f"row {i}, column {j}") for j, token in enumerate(raw)]
        for j, value in enumerate(row):
            if abs(value) > limits.max_abs_entry:
                raise ParseError(
                    f"row {i}, column {j}: |{value}| exceeds the limit {limits.max_abs_entry}"
                )
        if representation == "hyperplane" and not any(row):
            raise ParseError(f"row {i} is zero (the trivial inequality 1 >= 0)")
        rows.append(row)
    return np.array(rows, dtype=np.int64)


# ----------------------------------------------------------------------------- checks


def _failure(report: PropertyReport, error: Exception) -> PropertyReport:
    report.reason = str(error)
    report.compact = report.lattice = report.reflexive = report.smooth = report.normal = None
    return report


def check_hyperplane(
    data: Any,
    *,
    normality: bool | str = "exact",
    smooth_method: str = "facets",
    limits: Limits | None = None,
) -> PropertyReport:
    """Check compact / lattice / reflexive / smooth / normal for ``{x : 1 + W x >= 0}``.

    ``normality``: ``"exact"``/``True`` computes it with Normaliz; ``"auto"`` trusts the
    theorem "smooth reflexive and d <= 8 implies normal" (paper Section 3.2, checked on
    the whole classification) and computes it otherwise; ``"skip"``/``False`` reports
    ``normal=None``.
    ``smooth_method`` is ``"facets"`` (default) or ``"edges"`` (Definition 4).
    """
    report = PropertyReport(representation="hyperplane", parseable=False)
    try:
        rows = parse_matrix(data, representation="hyperplane", limits=limits)
    except ParseError as error:
        report.reason = f"not parseable: {error}"
        return report
    report.parseable = True
    report.n_rows, report.dimension = rows.shape
    try:
        polyhedron = geometry.hyperplane_polyhedron(rows)
    except geometry.NormalizFailure as error:
        return _failure(report, error)
    if not polyhedron.compact:
        direction = (polyhedron.recession_rays or polyhedron.lineality)[0]
        report.reason = f"not compact: unbounded in direction {tuple(int(v) for v in direction)}"
        return report
    report.compact = True
    report.n_vertices = int(polyhedron.vertex_numerators.shape[0])
    facet_rows = {
        tuple(int(v) for v in normal)
        for normal, offset in zip(polyhedron.facet_normals, polyhedron.facet_offsets, strict=True)
        if offset == 1
    }
    row_tuples = [tuple(int(v) for v in row) for row in rows]
    report.irredundant = len(set(row_tuples)) == len(row_tuples) and all(
        row in facet_rows for row in row_tuples
    )
    if not report.irredundant:
        report.notes.append("some rows are repeated or do not define facets")
    if not polyhedron.lattice:
        k = int(np.flatnonzero(polyhedron.vertex_denominators != 1)[0])
        report.reason = f"not a lattice polytope: vertex {geometry._format_vertex(polyhedron, k)}"
        return report
    report.lattice = True
    report.reflexive = True  # integer rows + lattice polytope: P^dual = conv(w_i) is lattice
    report.smooth, smooth_reason = _smooth(polyhedron, smooth_method)
    _set_normal(report, polyhedron, normality, limits)
    report.reason = smooth_reason or (None if report.normal is not False else "not normal")
    return report


def check_vertices(
    data: Any,
    *,
    normality: bool | str = "exact",
    smooth_method: str = "facets",
    limits: Limits | None = None,
) -> PropertyReport:
    """Check reflexive / smooth / normal for ``P = conv(rows)`` (vertex representation).

    ``compact`` and ``lattice`` are true by construction for parseable input.
    """
    report = PropertyReport(representation="vertices", parseable=False)
    try:
        points = parse_matrix(data, representation="vertices", limits=limits)
    except ParseError as error:
        report.reason = f"not parseable: {error}"
        return report
    report.parseable = True
    report.n_rows, report.dimension = points.shape
    report.compact = report.lattice = True
    try:
        polyhedron, affine_dimension = geometry.vertex_polytope(points)
        report.n_vertices = int(polyhedron.vertex_numerators.shape[0])
        report.irredundant = (
            report.n_vertices == len({tuple(row) for row in points.tolist()}) == len(points)
        )
        if affine_dimension < report.dimension:
            report.reason = f"not full-dimensional (affine dimension {affine_dimension})"
            if _normality_mode(normality) == "skip":
                report.normal = None
            else:
                report.normal = geometry.is_normal_primal(points)
            return report
        offsets = polyhedron.facet_offsets
        if not all(offset == 1 for offset in offsets):
            report.reflexive = False
            bad = next(i for i, offset in enumerate(offsets) if offset != 1)
            normal = tuple(int(v) for v in polyhedron.facet_normals[bad])
            report.reason = (
                f"not reflexive: facet {normal} . x >= {-int(offsets[bad])} "
                "is not at lattice distance 1 from the origin"
            )
        else:
            report.reflexive = True
        report.smooth, smooth_reason = _smooth(polyhedron, smooth_method)
        report.reason = report.reason or smooth_reason
    except geometry.NormalizFailure as error:
        return _failure(report, error)
    _set_normal(report, polyhedron, normality, limits)
    if report.normal is False and report.reason is None:
        report.reason = "not normal"
    return report


NORMALITY_MODES = ("exact", "auto", "skip")


def _normality_mode(normality: bool | str) -> str:
    if normality is True:
        return "exact"
    if normality is False:
        return "skip"
    if normality not in NORMALITY_MODES:
        raise ValueError(f"normality must be a bool or one of {NORMALITY_MODES}, got {normality!r}")
    return normality


def _set_normal(
    report: PropertyReport,
    polyhedron: geometry.Polyhedron,
    normality: bool | str,
    limits: Limits | None,
) -> None:
    mode = _normality_mode(normality)
    if mode == "skip":
        report.normal = None
        report.notes.append("normality not checked")
        return
    if mode == "auto" and report.smooth and report.reflexive and (report.dimension or 0) <= 8:
        report.normal = True
        report.notes.append(
            "normal by the classification: every smooth reflexive polytope of dimension <= 8 "
            "is normal (not recomputed; use normality='exact')"
        )
        return
    limit = (limits or Limits()).max_normality_box
    bound = geometry.lattice_point_bound(polyhedron)
    if limit is not None and bound > limit:
        report.normal = None
        report.notes.append(
            f"normality not computed: P may hold up to {bound:.3g} lattice points "
            f"(limit {limit:.3g}, see Limits.max_normality_box)"
        )
        return
    try:
        report.normal = geometry.is_normal(polyhedron)
    except geometry.NormalizFailure as error:
        report.normal = None
        report.notes.append(str(error))


def _smooth(polyhedron: geometry.Polyhedron, method: str) -> tuple[bool, str | None]:
    if method == "facets":
        smooth, reason = geometry.smooth_by_facets(polyhedron)
    elif method == "edges":
        smooth, reason = geometry.smooth_by_edges(polyhedron)
    else:
        raise ValueError(f"smooth_method must be 'facets' or 'edges', got {method!r}")
    return smooth, (None if smooth else f"not smooth: {reason}")


def check(
    data: Any,
    representation: str = "hyperplane",
    **kwargs: Any,
) -> PropertyReport:
    """Dispatch to :func:`check_hyperplane` or :func:`check_vertices`."""
    if representation == "hyperplane":
        return check_hyperplane(data, **kwargs)
    if representation == "vertices":
        return check_vertices(data, **kwargs)
    raise ValueError(f"representation must be 'hyperplane' or 'vertices', got {representation!r}")
