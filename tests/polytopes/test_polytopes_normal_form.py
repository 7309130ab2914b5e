"""Lattice-equivalence normal form and dataset identification."""

from __future__ import annotations

import numpy as np
import pytest

from envs.polytopes import dataset, normal_form
from envs.polytopes.identify import DatasetIndex


def random_unimodular(d: int, rng: np.random.Generator, steps: int = 12) -> np.ndarray:
    matrix = np.eye(d, dtype=np.int64)
    for _ in range(steps):
        i, j = rng.choice(d, 2, replace=False) if d > 1 else (0, 0)
        if i == j:
            matrix[:, 0] *= -1
            continue
        matrix[:, i] += int(rng.integers(-2, 3)) * matrix[:, j]
    if rng.random() < 0.5:
        matrix[:, 0] *= -1
    return matrix


def transform(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rows @ random_unimodular(rows.shape[1], rng))[rng.permutation(len(rows))]


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_keys_distinct_and_match_stored(d: int) -> None:
    data = dataset.load_data(d)
    keys = [normal_form.lattice_key(rows) for rows in data.rows]
    assert len(set(keys)) == len(keys) == dataset.KNOWN_COUNTS[d]
    assert keys == [bytes(k) for k in data.keys]


@pytest.mark.slow
def test_keys_distinct_d6() -> None:
    data = dataset.load_data(6)
    keys = [normal_form.lattice_key(rows) for rows in data.rows]
    assert len(set(keys)) == 7622
    assert keys == [bytes(k) for k in data.keys]


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_invariant_under_unimodular_maps_and_shuffles(d: int) -> None:
    rng = np.random.default_rng(d)
    rows_list = dataset.load(d)
    for index in rng.choice(len(rows_list), size=min(25, len(rows_list)), replace=False):
        rows = rows_list[index]
        moved = transform(rows, rng)
        first, second = normal_form.canonical_form(rows), normal_form.canonical_form(moved)
        assert first.key == second.key
        np.testing.assert_array_equal(first.matrix, second.matrix)
        transform_back = normal_form.unimodular_map(rows[first.order], moved[second.order])
        assert transform_back is not None


def test_projection_and_adjugate() -> None:
    rows = np.array([[1, 0], [0, 1], [-1, -1]])
    projection = normal_form.projection_matrix(rows)
    np.testing.assert_array_equal(projection, [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]])
    with pytest.raises(ValueError, match="span"):
        normal_form.projection_matrix(np.array([[1, 0], [2, 0]]))


def test_identify_statuses() -> None:
    index = DatasetIndex(5, seed=1)
    rng = np.random.default_rng(0)
    rows = dataset.load(5)[17]
    exact = index.identify(rows)
    assert exact.status == "exact_copy" and exact.index == 17
    assert exact.half == ("half_a" if 17 in dataset.split_indices(866, 1)[0] else "half_b")
    assert exact.grdb_id == int(dataset.load_data(5).ids[17])
    shuffled = rows[rng.permutation(len(rows))]
    assert index.identify(shuffled).status == "row_permutation"
    moved = index.identify(transform(rows, rng))
    assert moved.status == "lattice_equivalent" and moved.index == 17
    # 2 W has the same projection matrix but is not lattice equivalent
    doubled = index.identify(2 * rows)
    assert doubled.status == "not_in_dataset" and "unimodular" in doubled.reason
    assert index.identify(rows[:-1]).status in ("not_in_dataset", "invalid")
    assert index.identify("junk").status == "invalid"
    assert index.identify(np.eye(4, dtype=int)).status == "invalid"  # wrong dimension
    assert index.identify([[1, 0, 0, 0, 0]] * 5).status == "invalid"  # rank 1


def test_identify_every_entry_of_d4_after_transform() -> None:
    index = DatasetIndex(4)
    rng = np.random.default_rng(5)
    for position, rows in enumerate(dataset.load(4)):
        result = index.identify(transform(rows, rng))
        assert result.in_dataset and result.index == position
