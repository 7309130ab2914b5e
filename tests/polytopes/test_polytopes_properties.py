"""Exact property checker: paper examples, dataset, bad input (hypothesis)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.polytopes import dataset, geometry, timeout
from envs.polytopes.batch import check_many, summarize
from envs.polytopes.properties import (
    ALL_PROPERTIES,
    Limits,
    PropertyReport,
    check,
    check_hyperplane,
    check_vertices,
    parse_matrix,
)

HEXAGON = "0 1\n0 -1\n-1 0\n1 0\n1 -1\n-1 1"  # paper Appendix A, Example 1

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


def test_paper_figure_1(figure_1_left, figure_1_right) -> None:
    left = check_hyperplane(figure_1_left)  # default normality "auto"
    assert left.all is True and any("classification" in note for note in left.notes)
    # Exact normality of this 8-d polytope takes 40-120 s: past the limit it is unknown,
    # and so is "all" (unknown is not "no").
    exact = check_hyperplane(figure_1_left, normality="exact", time_limit=1.0)
    assert exact.normal is None and exact.all is None and exact.smooth is True
    assert "time limit 1s exceeded" in exact.reason and exact.to_dict()["all"] is None
    right = check_hyperplane(figure_1_right)
    # "It still defines a compact polytope, but it no longer has any of the properties
    # reflexive, smooth, normal, nor being a lattice polytope."
    assert _flags(right) == (True, False, False, False, False)
    assert right.reason == "not a lattice polytope: vertex (1, 1, 1, 1, 1, 1/2, -5/2, -1/2)"


@pytest.mark.slow
def test_paper_figure_1_exact_normality(figure_1_left) -> None:
    # Measured: 121 s on 2 loaded cores (about 40 s unloaded).
    exact = check_hyperplane(figure_1_left, normality="exact", time_limit=None)
    assert exact.normal is True and exact.all is True


def test_all_is_three_valued() -> None:
    report = PropertyReport("hyperplane", True, compact=True, lattice=True, reflexive=True,
                            smooth=True, normal=True)  # fmt: skip
    assert report.all is True
    report.normal = None
    assert report.all is None and report.to_dict()["all"] is None
    report.smooth = False
    assert report.all is False
    vertices = PropertyReport("vertices", True, compact=None, lattice=None, reflexive=True,
                              smooth=True, normal=True)  # fmt: skip
    assert vertices.all is True  # compact/lattice are not part of the vertex conjunction
    assert ALL_PROPERTIES["vertices"] == ("reflexive", "smooth", "normal")
    assert PropertyReport("hyperplane", False).all is False
    # Repeated rows do not count against "all" (the polytope is the same).
    repeated = check_hyperplane(HEXAGON + "\n0 1")
    assert repeated.all is True and repeated.irredundant is False


def test_time_limited_worker() -> None:
    import time

    with pytest.raises(timeout.TimeLimitExceeded, match="time limit 0.5s exceeded"):
        timeout.run_limited(time.sleep, (30,), 0.5)
    assert timeout.run_limited(pow, (3, 4), 5.0) == 81  # restarted after the kill
    with pytest.raises(ZeroDivisionError):
        timeout.run_limited(divmod, (1, 0), 5.0)
    assert timeout.run_limited(pow, (2, 5), None) == 32  # in process
    with pytest.raises(timeout.WorkerCrashed):
        timeout.run_limited(os._exit, (3,), 5.0)
    assert timeout.run_limited(pow, (2, 6), 5.0) == 64  # restarted after the crash


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_time_limited_worker_dies_with_its_parent() -> None:
    """A killed parent cannot stop its worker; the worker must not outlive it (Normaliz runs)."""
    import signal
    import subprocess
    import time

    script = (
        "import os, time\n"
        "from envs.polytopes import timeout\n"
        "timeout.run_limited(pow, (2, 3), 60.0)\n"
        "print(timeout._WORKER._process.pid, flush=True)\n"
        "timeout.run_limited(time.sleep, (120,), 300.0)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{worker}/stat") as stat:  # a zombie (reaped by init soon) counts as dead
            if stat.read().split(")")[-1].split()[0] == "Z":
                return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the limited worker outlived its killed parent")


def test_enumeration_time_limit(monkeypatch) -> None:
    limits_seen: list = []
    real = timeout.run_limited

    def fake(function, args, time_limit):
        limits_seen.append(time_limit)
        if time_limit is not None:
            raise timeout.TimeLimitExceeded(time_limit)
        return real(function, args, time_limit)

    monkeypatch.setattr(timeout, "run_limited", fake)
    rows = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [-997, -1000, -991]]  # large entries: worker
    tight = check_hyperplane(rows, limits=Limits(enumeration_time_limit=7.0))
    assert limits_seen == [7.0]
    assert tight.parseable and tight.compact is None and tight.all is None
    assert tight.reason == "time limit 7s exceeded (vertex/facet enumeration)"
    limits_seen.clear()
    assert check_hyperplane(HEXAGON).all is True and limits_seen == [None]  # small: in process
    monkeypatch.setattr(timeout, "run_limited", real)
    relaxed = check_hyperplane(rows)
    assert relaxed.compact is True and relaxed.lattice is False and relaxed.all is False


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
    assert "(1/2, 1)" in half_integral.reason or "(-1/2" in half_integral.reason  # reduced
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


def test_normality_of_products() -> None:
    reeve = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 3]]  # not normal
    product = np.array([row + [t] for row in reeve for t in (0, 1)])  # x segment: not normal
    polyhedron, _ = geometry.vertex_polytope(product)
    inequalities = geometry.facet_inequalities(polyhedron)
    assert sorted(map(sorted, geometry.product_factors(inequalities))) == [[0, 1, 2], [3]]
    assert geometry.normal_from_inequalities(inequalities) is False
    assert geometry.is_normal_primal(product) is False
    square_hexagon = np.array(
        [
            [x, y, a, b]
            for x, y in [(0, 0), (2, 0), (0, 2), (2, 2)]
            for a, b in [(1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1)]
        ]
    )
    polyhedron, _ = geometry.vertex_polytope(square_hexagon)
    assert len(geometry.product_factors(geometry.facet_inequalities(polyhedron))) == 3
    assert geometry.is_normal(polyhedron) is True
    for rows in dataset.load(5)[:60]:  # many are products; factorwise == primal
        polyhedron = geometry.hyperplane_polyhedron(rows)
        assert geometry.is_normal(polyhedron) is geometry.is_normal_primal(
            polyhedron.vertex_numerators
        )


def test_normality_cache(monkeypatch) -> None:
    from envs.polytopes import properties

    rows = [[1, 1, 0], [-1, 1, 0], [1, -1, 0], [-1, -1, 0], [0, 0, 1], [0, 0, -1]]
    properties._NORMAL_CACHE.clear()
    first = check_hyperplane(rows, normality="exact")
    assert first.normal is True and len(properties._NORMAL_CACHE) == 1

    real = timeout.run_limited

    def fail(function, args, time_limit):
        assert function is not geometry.normal_from_inequalities, "normality recomputed"
        return real(function, args, time_limit)

    monkeypatch.setattr(timeout, "run_limited", fail)
    again = check_hyperplane(rows[::-1], normality="exact")  # same facets, other order
    assert again.normal is True and again.smooth is False


def test_normality_modes() -> None:
    auto = check_hyperplane(HEXAGON)  # "auto" is the default
    assert auto.normal and any("classification" in note for note in auto.notes)
    exact = check_hyperplane(HEXAGON, normality="exact")
    assert exact.normal is True and not any("classification" in n for n in exact.notes)
    skipped = check_hyperplane(HEXAGON, normality="skip")
    assert skipped.normal is None and skipped.all is None
    diamond = [[1, 1], [-1, 1], [1, -1], [-1, -1]]  # not smooth: computed even in "auto"
    assert check_hyperplane(diamond).normal is True
    with pytest.raises(ValueError, match="normality"):
        check_hyperplane(HEXAGON, normality="maybe")


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_every_shipped_polytope_passes(d: int) -> None:
    for rows in dataset.load(d):
        report = check_hyperplane(rows, normality="exact")
        assert report.all and report.irredundant, report
    for vertices in dataset.load(d, "vertices"):
        report = check_vertices(vertices, normality="exact")
        assert report.all and report.irredundant, report


@pytest.mark.slow
def test_every_d6_polytope_passes() -> None:
    options = {"workers": 2, "progress": False, "normality": "exact", "time_limit": None}
    reports = check_many(dataset.load(6), **options)
    assert all(r.all and r.irredundant for r in reports)
    reports = check_many(dataset.load(6, "vertices"), "vertices", **options)
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


def test_batch_matches_serial_and_summary(figure_1_right) -> None:
    matrices = dataset.load(4)[:20] + [figure_1_right, [[1, 0], [0, 1]], "garbage"]
    serial = [check_hyperplane(m) for m in matrices]
    parallel = check_many(matrices, workers=2, chunk_size=4, progress=False)
    assert [r.to_dict() for r in serial] == [r.to_dict() for r in parallel]
    summary = summarize(parallel)
    assert summary["total"] == 23 and summary["all"] == 20 and summary["parseable"] == 22
    assert summary["all_unknown"] == 0 and summary["unknown"]["normal"] == 0
    skipped = summarize(check_many(matrices, workers=1, progress=False, normality="skip"))
    assert skipped["all"] == 0 and skipped["all_unknown"] == 20
    assert skipped["unknown"]["normal"] == 20 and skipped["normal"] == 0
