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

``report.all`` is three-valued: ``True`` when every property of the representation holds,
``False`` when one fails, ``None`` (unknown) when none fails but one is undetermined
(normality skipped, a time limit passed, a Normaliz failure). Repeated or redundant rows
(``irredundant=False``) do not count against ``all``: the polytope is the same.

Normaliz computations that may run long (exact normality; vertex enumeration of inputs
with large entries) run in a killable worker process with a time limit
(:mod:`envs.polytopes.timeout`); past the limit the property is ``None`` with the reason
``"time limit Xs exceeded"``.

Bad input (ragged rows, empty matrices, non-integers, zero rows, huge entries, too many
rows) gives a report with ``parseable=False`` and a reason, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from numbers import Integral
from typing import Any

import numpy as np

from envs.polytopes import geometry, timeout

# Limits that keep every check bounded in time. Smooth Fano polytopes have at most 3d
# vertices (so at most 3d rows), d <= 8 in the published data and entries |w| <= 13 or so.
MAX_ABS_ENTRY = 1000
MAX_DIMENSION = 10
MAX_HYPERPLANE_ROWS = 40
MAX_VERTEX_ROWS = 5000
# Time limits (seconds) of the Normaliz computations that run in the killable worker.
NORMALITY_TIME_LIMIT = 60.0
ENUMERATION_TIME_LIMIT = 30.0
# Inputs with entries up to this size (all dataset polytopes: <= 13) and at most 3d rows
# (smooth Fano polytopes have at most 3d vertices) are enumerated in this process (fast
# path, no limit); others go to the worker under the time limit.
INPROCESS_MAX_ENTRY = 16
# Exact normality runs in this process when P has at most this many lattice points
# (geometry.lattice_point_bound): a worker round trip would cost more than the computation.
INPROCESS_NORMALITY_POINTS = 2000.0
# Exact normality answers kept per process, keyed by the sorted facet rows (repeated
# samples, e.g. the same polytope generated twice, are computed once).
NORMAL_CACHE_SIZE = 4096
_NORMAL_CACHE: dict[tuple, bool] = {}
# Properties whose conjunction is ``PropertyReport.all``.
ALL_PROPERTIES = {
    "hyperplane": ("compact", "lattice", "reflexive", "smooth", "normal"),
    "vertices": ("reflexive", "smooth", "normal"),
}
_DEFAULT = object()  # "use the Limits value" for the time_limit argument


class ParseError(ValueError):
    """The input is not a matrix of the accepted form (message says why)."""


@dataclass
class Limits:
    """Input limits; larger inputs are reported as not parseable."""

    max_abs_entry: int = MAX_ABS_ENTRY
    max_dimension: int = MAX_DIMENSION
    max_rows: int | None = None  # default depends on the representation
    normality_time_limit: float | None = NORMALITY_TIME_LIMIT  # seconds; None: no limit
    enumeration_time_limit: float | None = ENUMERATION_TIME_LIMIT  # seconds; None: no limit


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
    def all(self) -> bool | None:
        """Every property of :data:`ALL_PROPERTIES` holds (a "correct" sample).

        ``False`` if one is ``False`` (or the input is not parseable), ``None`` if none is
        ``False`` but one is ``None`` (unknown), ``True`` if all are ``True``.
        ``irredundant`` does not count.
        """
        if not self.parseable:
            return False
        values = [getattr(self, name) for name in ALL_PROPERTIES[self.representation]]
        if any(value is False for value in values):
            return False
        return None if any(value is None for value in values) else True

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


def _resolve_limits(limits: Limits | None, time_limit: float | None | object) -> Limits:
    """``limits`` with ``normality_time_limit`` replaced by ``time_limit`` when given."""
    limits = limits or Limits()
    if time_limit is not _DEFAULT:
        limits = replace(limits, normality_time_limit=time_limit)
    return limits


def _enumerate(function: Any, matrix: np.ndarray, limits: Limits) -> Any:
    """Run a Normaliz enumeration; in the worker, under the time limit, unless dataset sized."""
    n_rows, dim = matrix.shape
    small = n_rows <= 3 * dim and int(np.abs(matrix).max()) <= INPROCESS_MAX_ENTRY
    limit = None if small else limits.enumeration_time_limit
    try:
        return timeout.run_limited(function, (matrix,), limit)
    except timeout.TimeLimitExceeded as error:
        raise geometry.NormalizFailure(f"{error} (vertex/facet enumeration)") from None
    except timeout.WorkerCrashed as error:
        raise geometry.NormalizFailure(str(error)) from None


def check_hyperplane(
    data: Any,
    *,
    normality: bool | str = "auto",
    smooth_method: str = "facets",
    limits: Limits | None = None,
    time_limit: float | None | object = _DEFAULT,
) -> PropertyReport:
    """Check compact / lattice / reflexive / smooth / normal for ``{x : 1 + W x >= 0}``.

    ``normality``: ``"auto"`` (default) trusts the classification ("smooth reflexive and
    d <= 8 implies normal", paper Section 3.2; checked on every polytope of d <= 6 here)
    and computes it exactly otherwise; ``"exact"``/``True`` always computes it with
    Normaliz; ``"skip"``/``False`` reports ``normal=None``.
    ``time_limit``: seconds for exact normality (default ``limits.normality_time_limit``,
    60 s; ``None``: no limit); past it ``normal=None`` and ``all`` is unknown.
    ``smooth_method`` is ``"facets"`` (default) or ``"edges"`` (Definition 4).
    """
    limits = _resolve_limits(limits, time_limit)
    report = PropertyReport(representation="hyperplane", parseable=False)
    try:
        rows = parse_matrix(data, representation="hyperplane", limits=limits)
    except ParseError as error:
        report.reason = f"not parseable: {error}"
        return report
    report.parseable = True
    report.n_rows, report.dimension = rows.shape
    try:
        polyhedron = _enumerate(geometry.hyperplane_polyhedron, rows, limits)
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
    normal_reason = _set_normal(report, polyhedron, normality, limits)
    report.reason = smooth_reason or normal_reason
    return report


def check_vertices(
    data: Any,
    *,
    normality: bool | str = "auto",
    smooth_method: str = "facets",
    limits: Limits | None = None,
    time_limit: float | None | object = _DEFAULT,
) -> PropertyReport:
    """Check reflexive / smooth / normal for ``P = conv(rows)`` (vertex representation).

    ``compact`` and ``lattice`` are true by construction for parseable input. Options as
    in :func:`check_hyperplane`.
    """
    limits = _resolve_limits(limits, time_limit)
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
        polyhedron, affine_dimension = _enumerate(geometry.vertex_polytope, points, limits)
        report.n_vertices = int(polyhedron.vertex_numerators.shape[0])
        report.irredundant = (
            report.n_vertices == len({tuple(row) for row in points.tolist()}) == len(points)
        )
        if affine_dimension < report.dimension:
            report.reflexive = report.smooth = False
            report.reason = f"not full-dimensional (affine dimension {affine_dimension})"
            if _normality_mode(normality) == "skip":
                report.normal = None
            else:
                report.normal = _limited_normal(
                    report, geometry.is_normal_primal, points, limits.normality_time_limit
                )
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
    normal_reason = _set_normal(report, polyhedron, normality, limits)
    report.reason = report.reason or normal_reason
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


def _limited_normal(
    report: PropertyReport, function: Any, argument: Any, time_limit: float | None
) -> bool | None:
    """``function(argument)`` under ``time_limit``; ``None`` with a note when it fails."""
    try:
        return bool(timeout.run_limited(function, (argument,), time_limit))
    except (timeout.TimeLimitExceeded, timeout.WorkerCrashed, geometry.NormalizFailure) as error:
        report.notes.append(f"normality not determined: {error}")
        return None


def normal_by_classification(report: PropertyReport) -> bool:
    """Smooth reflexive of dimension <= 8: normal by the classification (no Hilbert basis)."""
    return bool(report.smooth and report.reflexive and (report.dimension or 0) <= 8)


def _set_normal(
    report: PropertyReport,
    polyhedron: geometry.Polyhedron,
    normality: bool | str,
    limits: Limits,
) -> str | None:
    """Set ``report.normal``; return a reason when it is ``False`` or undetermined."""
    mode = _normality_mode(normality)
    if mode == "skip":
        report.normal = None
        report.notes.append("normality not checked")
        return "normality not checked"
    if mode == "auto" and normal_by_classification(report):
        report.normal = True
        report.notes.append(
            "normal by the classification: every smooth reflexive polytope of dimension <= 8 "
            "is normal (not recomputed; use normality='exact')"
        )
        return None
    limit = limits.normality_time_limit
    if limit is not None and geometry.lattice_point_bound(polyhedron) <= INPROCESS_NORMALITY_POINTS:
        limit = None  # tiny: cheaper here than a worker round trip
    inequalities = geometry.facet_inequalities(polyhedron)
    key = tuple(sorted(map(tuple, inequalities)))  # same facets (any order): same answer
    report.normal = _NORMAL_CACHE.get(key)
    if report.normal is None:
        function = geometry.normal_from_inequalities
        report.normal = _limited_normal(report, function, inequalities, limit)
        if report.normal is not None:  # only definite answers are cached
            if len(_NORMAL_CACHE) >= NORMAL_CACHE_SIZE:
                _NORMAL_CACHE.pop(next(iter(_NORMAL_CACHE)))
            _NORMAL_CACHE[key] = report.normal
    if report.normal is None:
        return report.notes[-1]
    return None if report.normal else "not normal"


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
