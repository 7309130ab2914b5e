"""Øbro's SFP classification (envs.polytopes.obro) reproduces the published lists."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from envs.polytopes import dataset, normal_form, obro
from envs.polytopes.properties import check_hyperplane


def _dataset_keys(d: int) -> set[bytes]:
    return {bytes(k) for k in dataset.load_data(d).keys}


def _check_classification(d: int, found: list[np.ndarray]) -> None:
    assert len(found) == dataset.KNOWN_COUNTS[d]
    for rows in found:
        assert rows.dtype == np.int64 and rows.shape[1] == d
        assert np.array_equal(rows[:d], np.eye(d, dtype=np.int64))  # special embedding
        assert np.all(rows.sum(axis=0) >= 0)  # conv(e_1..e_d) is special
        assert check_hyperplane(rows).all
    if d >= 2:
        keys = [normal_form.lattice_key(rows) for rows in found]
        assert len(set(keys)) == len(keys)  # each class once, no post-processing
        assert set(keys) == _dataset_keys(d)


def test_candidate_points_bounds_order_and_symmetry() -> None:
    d = 3
    points = obro.candidate_points(d)
    heights = points.sum(axis=1)
    assert np.all((heights >= -d) & (heights <= 0))
    assert np.all(points >= np.minimum(heights, -1)[:, None])
    assert np.all(np.diff(heights) <= 0)  # the search order: height descending
    as_set = {tuple(p) for p in points.tolist()}
    assert len(as_set) == len(points)
    for perm in itertools.permutations(range(d)):
        assert {tuple(p) for p in points[:, perm].tolist()} == as_set


def test_published_vertices_lie_in_the_candidate_set() -> None:
    # Lemma (special embedding): every vertex outside F is a candidate point.
    for d in (2, 3, 4, 5, 6):  # d = 6: about 5 s
        candidates = {tuple(p) for p in obro.candidate_points(d).tolist()}
        for block in dataset.load_data(d).rows:
            assert np.array_equal(block[:d], np.eye(d, dtype=np.int64))
            assert all(tuple(v) in candidates for v in block[d:].tolist())


@pytest.mark.parametrize("d", [2, 3, 4])
def test_neighbour_bounds_hold_on_published_polytopes(d: int) -> None:
    # Tests 8 and 9: in the basis of every facet G, some vertex with coordinate g = -1
    # can be the neighbour y_g, and the search's filter accepts the complete vertex set.
    for block in dataset.load_data(d).rows:
        vertices = np.asarray(block, dtype=np.int64)
        facets = obro._boundary(vertices) - 1
        assert np.all(facets >= 0)
        for facet in facets:
            inverse = obro._unimodular_inverse(vertices[facet])
            others = np.setdiff1d(np.arange(len(vertices)), facet)
            coords = vertices[others] @ inverse
            assert np.all(coords.sum(axis=1) <= 0)
            best, room = obro._neighbour_options(*obro._lack_and_cost(coords))
            empty = np.zeros((0, d), dtype=np.int64)
            no_cost = np.zeros(0, dtype=np.int64)
            allowed = obro._neighbour_filter(best, room, empty, no_cost, np.zeros(0, dtype=bool))
            assert allowed is not None
        # special embedding: the height-0 vertices have disjoint negative supports
        level = vertices[d:][vertices[d:].sum(axis=1) == 0]
        assert np.all(level >= -1) and np.all((level < 0).sum(axis=0) <= 1)


def _special_embeddings(vertices: np.ndarray) -> set[tuple[tuple[int, ...], ...]]:
    """Every special embedding (special facet -> e_1..e_d, any order) as a vertex set."""
    d = vertices.shape[1]
    nu = vertices.sum(axis=0)
    result = set()
    for facet in itertools.combinations(range(len(vertices)), d):
        basis = vertices[list(facet)]
        if round(abs(np.linalg.det(basis))) != 1:
            continue
        inverse = np.rint(np.linalg.inv(basis)).astype(np.int64)
        if np.any((vertices @ inverse).sum(axis=1) > 1):  # not a facet
            continue
        if np.any(nu @ inverse < 0):  # not special
            continue
        for perm in itertools.permutations(range(d)):
            image = (vertices @ inverse)[:, perm]
            result.add(tuple(sorted(map(tuple, image.tolist()))))
    return result


def _with_f_first(vertex_set: tuple[tuple[int, ...], ...], d: int) -> np.ndarray:
    unit = [tuple(int(i == j) for j in range(d)) for i in range(d)]
    rest = [v for v in vertex_set if v not in unit]
    return np.array(unit + rest, dtype=np.int64)


def test_minimal_special_embedding_of_the_blow_up_of_p2() -> None:
    # P^2 blown up in one point: rays e1, e2, -e1-e2, -e2; nu = (0, -1), so
    # conv(e1, e2) is not special; the special facets are [-e2, e1] and [-e1-e2, -e2].
    blow_up = np.array([[1, 0], [0, 1], [-1, -1], [0, -1]], dtype=np.int64)
    embeddings = sorted(_special_embeddings(blow_up))
    # 2 special facets x 2 orders; a reflection swaps the two facets: 2 vertex sets
    assert len(embeddings) == 2
    minimal = [e for e in embeddings if obro.is_minimal_special_embedding(_with_f_first(e, 2))]
    assert len(minimal) == 1
    (chosen,) = minimal
    # level 0 comes first and (1, -1) precedes (-1, 1): the minimal one has (1, -1)
    assert (1, -1) in chosen
    outputs = {tuple(sorted(map(tuple, rows.tolist()))) for rows in obro.classify(2, False)}
    assert chosen in outputs
    assert not (set(embeddings) - {chosen}) & outputs


def test_hexagon_every_special_embedding_is_the_same() -> None:
    hexagon = np.array([[1, 0], [0, 1], [-1, 1], [-1, 0], [0, -1], [1, -1]], dtype=np.int64)
    embeddings = _special_embeddings(hexagon)
    assert len(embeddings) == 1  # the automorphism group acts transitively
    (only,) = embeddings
    assert obro.is_minimal_special_embedding(_with_f_first(only, 2))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_classify_small_dimensions(d: int) -> None:
    _check_classification(d, obro.classify(d, progress=False))


def test_classify_d4_matches_dataset() -> None:  # about 1 s
    _check_classification(4, obro.classify(4, progress=False))


@pytest.mark.slow
def test_classify_d5_matches_dataset() -> None:  # ~20 s on one core
    _check_classification(5, obro.classify(5, progress=False))


@pytest.mark.slow
def test_classify_d6_matches_dataset() -> None:  # ~8 min on one core
    found = obro.classify(6, progress=False, workers=max(1, (os.cpu_count() or 1) - 1))
    assert len(found) == 7622
    keys = [normal_form.lattice_key(rows) for rows in found]
    assert len(set(keys)) == len(keys)
    assert set(keys) == _dataset_keys(6)


@pytest.mark.parametrize("bad", [0, -2, 2.5, "3", None, True])
def test_bad_dimension_raises(bad: object) -> None:
    with pytest.raises(ValueError):
        obro.classify(bad, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        obro.candidate_points(bad)  # type: ignore[arg-type]


def test_is_minimal_rejects_non_special_input() -> None:
    with pytest.raises(ValueError):
        obro.is_minimal_special_embedding(np.array([[1, 0], [0, 1], [-1, -1], [0, -1]]))
    with pytest.raises(ValueError):
        obro.is_minimal_special_embedding(np.array([[0, 1], [1, 0], [-1, -1]]))


def test_cli_writes_and_resumes(tmp_path, capsys) -> None:
    obro.main(["--dims", "1", "2", "3", "--out", str(tmp_path), "--no-progress"])
    first = capsys.readouterr().out
    record = json.loads((tmp_path / "obro_d3.json").read_text())
    assert record["count"] == 18 and len(record["polytopes"]) == 18
    assert " 3      18" in first
    obro.main(["--dims", "3", "--out", str(tmp_path), "--no-progress"])
    assert "cached" in capsys.readouterr().out


def test_checkpoint_per_first_level_branch(tmp_path) -> None:
    path = tmp_path / "d3.partial.json"
    first = obro.classify(3, progress=False, checkpoint=path)
    record = json.loads(path.read_text())
    assert record["d"] == 3 and sum(len(v) for v in record["branches"].values()) == 18
    again = obro.classify(3, progress=False, checkpoint=path)  # every branch reused
    assert [a.tolist() for a in again] == [f.tolist() for f in first]
    with pytest.raises(ValueError):
        obro.classify(2, progress=False, checkpoint=path)


def test_workers_give_the_same_output() -> None:
    serial = obro.classify(3, progress=False)
    parallel = obro.classify(3, progress=False, workers=2)
    assert [a.tolist() for a in parallel] == [s.tolist() for s in serial]
    with pytest.raises(ValueError):
        obro.classify(3, progress=False, workers=0)
