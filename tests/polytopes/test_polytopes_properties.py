"""Exact property checker: paper examples, dataset, bad input (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.polytopes import dataset, geometry
from envs.polytopes.batch import check_many, summarize
from envs.polytopes.properties import (
    Limits,
    PropertyReport,
    check,
    check_hyperplane,
    check_vertices,
    parse_matrix,
)

HEXAGON = "0 1\n0 -1\n-1 0\n1 0\n1 -1\n-1 1"  # paper Appendix A, Example 1

FIGURE_1_LEFT = """-1 0 0 0 0 0 0 0
0 0 0 0 0 0 0 -1
0 -1 0 0 0 0 0 0
0 0 0 0 -1 0 0 0
0 0 0 0 -1 1 0 1
0 0 0 0 0 -1 0 0
0 0 -1 0 0 0 0 0
0 0 0 -1 0 0 0 0
0 0 0 0 0 0 -1 0
1 1 1 1 0 -4 1 1
0 0 0 0 1 0 0 -1"""
FIGURE_1_RIGHT = FIGURE_1_LEFT[: FIGURE_1_LEFT.rindex("\n")] + "\n0 0 0 0 1 0 1 -1"

APPENDIX_B_HYPERPLANE = """0 0 0 0 0 0 1
0 0 0 0 0 0 -1
-1 0 0 0 0 0 0
0 -1 0 0 0 0 0
0 0 -1 0 0 0 0
0 0 0 -1 0 0 0
0 0 0 0 -1 0 0
0 0 0 0 0 -1 0
1 1 1 1 1 1 6"""
APPENDIX_B_VERTICES = """1 1 1 1 1 1 1
-12 1 1 1 1 1 1
1 -12 1 1 1 1 1
1 1 -12 1 1 1 1
1 1 1 -12 1 1 1
1 1 1 1 -12 1 1
1 1 1 1 1 -12 1
1 1 1 1 1 0 -1
1 1 1 1 0 1 -1
1 1 1 0 1 1 -1
1 1 0 1 1 1 -1
1 0 1 1 1 1 -1
0 1 1 1 1 1 -1
1 1 1 1 1 1 -1"""


def _flags(report: PropertyReport) -> tuple:
    return (report.compact, report.lattice, report.reflexive, report.smooth, report.normal)


def test_paper_hexagon() -> None:
    for method in ("facets", "edges"):
        report = check_hyperplane(HEXAGON, smooth_method=method)
        assert report.all and report.irredundant and report.n_vertices == 6
    vertices = "1 0\n1 1\n0 1\n-1 0\n-1 -1\n0 -1"
    assert check_vertices(vertices).all


def test_paper_figure_1() -> None:
    # Exact normality of this 8-d polytope takes minutes (lattice point bound ~1e9).
    left = check_hyperplane(FIGURE_1_LEFT, normality="auto")
    assert left.all
    exact = check_hyperplane(FIGURE_1_LEFT)
    assert exact.normal is None and "lattice points" in exact.notes[-1] and not exact.all
    right = check_hyperplane(FIGURE_1_RIGHT)
    # "It still defines a compact polytope, but it no longer has any of the properties
    # reflexive, smooth, normal, nor being a lattice polytope."
    assert _flags(right) == (True, False, False, False, False)
    assert "not a lattice polytope" in right.reason


def test_paper_appendix_b_both_representations() -> None:
    hyperplane = check_hyperplane(APPENDIX_B_HYPERPLANE, normality="auto")
    assert hyperplane.all and hyperplane.n_vertices == 14
    vertices = check_vertices(APPENDIX_B_VERTICES, normality="auto")
    assert vertices.all
    polyhedron = geometry.hyperplane_polyhedron(parse_matrix(APPENDIX_B_HYPERPLANE))
    computed = {tuple(int(v) for v in row) for row in polyhedron.vertex_numerators}
    listed = {
        tuple(row) for row in parse_matrix(APPENDIX_B_VERTICES, representation="vertices").tolist()
    }
    assert computed == listed


def test_simple_failures() -> None:
    unbounded = check_hyperplane([[1, 0], [0, 1]])
    assert _flags(unbounded) == (False, False, False, False, False)
    assert unbounded.reason.startswith("not compact")
    strip = check_hyperplane([[1, 0], [-1, 0]])  # lineality space
    assert not strip.compact and not strip.normal
    half_integral = check_hyperplane([[2, 0], [-2, 0], [0, 1], [0, -1]])
    assert half_integral.compact and not half_integral.lattice and not half_integral.normal
    diamond = check_hyperplane([[1, 1], [-1, 1], [1, -1], [-1, -1]])
    assert _flags(diamond) == (True, True, True, False, True)
    assert "|det| = 2" in diamond.reason
    assert not check_hyperplane([[1, 1], [-1, 1], [1, -1], [-1, -1]], smooth_method="edges").smooth
    redundant = check_hyperplane("1 0\n0 1\n-1 -1\n-1 -1\n-1 0")
    assert redundant.irredundant is False


def test_large_entries_use_exact_python_integers() -> None:
    rows = [[1000, -999, 0], [0, 1000, -999], [-999, 0, 1000], [-1, -1, -1]]
    report = check_hyperplane(rows, limits=Limits(max_abs_entry=10**6))
    assert report.compact and not report.lattice
    assert "995003/2997001" in report.reason
    report = check_hyperplane(
        [[10**5, 1], [1, 10**5], [-1, -1]], limits=Limits(max_abs_entry=10**6)
    )
    assert report.compact and "-2/99999" in report.reason


def test_vertex_representation_failures() -> None:
    reeve = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 2]]  # not normal, not reflexive
    report = check_vertices(reeve)
    assert (report.reflexive, report.smooth, report.normal) == (False, False, False)
    flat = check_vertices([[1, 0], [2, 0], [3, 0]])
    assert not flat.reflexive and "full-dimensional" in flat.reason
    triangle = check_vertices([[1, 0], [0, 1], [-1, -1]])  # reflexive, not smooth
    assert (triangle.reflexive, triangle.smooth, triangle.normal) == (True, False, True)


def test_normality_dual_mode_agrees_with_primal() -> None:
    reeve = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 3]])
    polyhedron, _ = geometry.vertex_polytope(reeve)
    assert geometry.is_normal(polyhedron) is False
    assert geometry.is_normal_primal(reeve) is False
    for rows in dataset.load(4)[:40]:
        polyhedron = geometry.hyperplane_polyhedron(rows)
        assert geometry.is_normal(polyhedron) == geometry.is_normal_primal(
            polyhedron.vertex_numerators
        )


def test_normality_modes() -> None:
    auto = check_hyperplane(HEXAGON, normality="auto")
    assert auto.normal and any("classification" in note for note in auto.notes)
    skipped = check_hyperplane(HEXAGON, normality="skip")
    assert skipped.normal is None and not skipped.all
    with pytest.raises(ValueError, match="normality"):
        check_hyperplane(HEXAGON, normality="maybe")


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_every_shipped_polytope_passes(d: int) -> None:
    for rows in dataset.load(d):
        report = check_hyperplane(rows)
        assert report.all and report.irredundant, report
    for vertices in dataset.load(d, "vertices"):
        report = check_vertices(vertices)
        assert report.all and report.irredundant, report


@pytest.mark.slow
def test_every_d6_polytope_passes() -> None:
    reports = check_many(dataset.load(6), workers=2, progress=False)
    assert all(r.all and r.irredundant for r in reports)
    reports = check_many(dataset.load(6, "vertices"), "vertices", workers=2, progress=False)
    assert all(r.all for r in reports)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_smoothness_formulations_agree_on_dataset(d: int) -> None:
    for rows in dataset.load(d):
        polyhedron = geometry.hyperplane_polyhedron(rows)
        assert geometry.smooth_by_facets(polyhedron)[0]
        assert geometry.smooth_by_edges(polyhedron)[0]


def _perturb(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows = rows.copy()
    i, j = rng.integers(rows.shape[0]), rng.integers(rows.shape[1])
    rows[i, j] = (
        rng.choice([-1, 1]) if rows[i, j] == 0 else 0 if abs(rows[i, j]) == 1 else rows[i, j]
    )
    return rows


def test_smoothness_formulations_agree_on_perturbations() -> None:
    rng = np.random.default_rng(0)
    pool = dataset.load(3) + dataset.load(4)
    seen_lattice_non_smooth = 0
    for _ in range(150):
        rows = _perturb(pool[rng.integers(len(pool))], rng)
        if not rows.any(axis=1).all():
            continue
        polyhedron = geometry.hyperplane_polyhedron(rows)
        if polyhedron.compact and polyhedron.lattice:
            by_facets = geometry.smooth_by_facets(polyhedron)[0]
            assert by_facets == geometry.smooth_by_edges(polyhedron)[0], rows
            seen_lattice_non_smooth += not by_facets
    assert seen_lattice_non_smooth > 0


# ----------------------------------------------------------------------------- bad input

TOKENS = st.one_of(
    st.integers(-3, 3),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
)
ROWS = st.lists(st.one_of(st.lists(TOKENS, max_size=5), TOKENS), max_size=6)


@settings(max_examples=80, deadline=None)
@given(data=st.one_of(ROWS, st.text(max_size=60), st.integers(), st.none()))
@pytest.mark.parametrize("representation", ["hyperplane", "vertices"])
def test_bad_input_never_crashes(data, representation: str) -> None:
    report = check(data, representation)
    assert isinstance(report, PropertyReport)
    if not report.parseable:
        assert report.reason.startswith("not parseable")
        assert not report.all


@settings(max_examples=60, deadline=None)
@given(
    d=st.integers(1, 3),
    rows=st.lists(st.lists(st.integers(-2, 2), min_size=3, max_size=3), min_size=1, max_size=7),
)
def test_random_small_matrices_consistent(d: int, rows: list[list[int]]) -> None:
    matrix = [row[:d] for row in rows]
    report = check_hyperplane(matrix)
    if not report.parseable:
        assert "zero" in report.reason
        return
    assert report.compact or not report.normal
    assert report.lattice or not report.smooth
    if report.compact and report.lattice:
        assert report.smooth == check_hyperplane(matrix, smooth_method="edges").smooth


def test_specific_bad_inputs() -> None:
    cases = {
        "ragged": [[1, 0], [0]],
        "empty": [],
        "empty_row": [[]],
        "non_integer": [[1.5, 0], [0, 1]],
        "nan": [[float("nan"), 0]],
        "zero_row": [[0, 0], [1, 0]],
        "huge": [[10**40, 0], [0, 1]],
        "string": "1 a\n0 1",
        "three_d": np.zeros((2, 2, 2)),
        "object": object(),
    }
    for name, data in cases.items():
        report = check_hyperplane(data)
        assert not report.parseable and report.reason.startswith("not parseable"), name
    assert check_hyperplane([[1.0, 0.0], [-1.0, 0.0], [0, 1], [0, -1]]).all  # integral floats
    assert check_vertices([[0, 0], [1, 0]]).parseable  # zero rows are fine for vertices
    too_many = [[1, 0]] * 41
    assert "exceed" in check_hyperplane(too_many).reason
    assert check_hyperplane(too_many, limits=Limits(max_rows=50)).parseable


def test_batch_matches_serial_and_summary() -> None:
    matrices = dataset.load(4)[:20] + [FIGURE_1_RIGHT, [[1, 0], [0, 1]], "garbage"]
    serial = [check_hyperplane(m) for m in matrices]
    parallel = check_many(matrices, workers=2, chunk_size=4, progress=False)
    assert [r.to_dict() for r in serial] == [r.to_dict() for r in parallel]
    summary = summarize(parallel)
    assert summary["total"] == 23 and summary["all"] == 20 and summary["parseable"] == 22
