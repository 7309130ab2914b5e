"""Dataset identification by irredundant rows and under training encodings."""

from __future__ import annotations

import numpy as np
import pytest

from envs.polytopes import dataset, tokens
from envs.polytopes.identify import DatasetIndex, irredundant
from envs.polytopes.properties import check_hyperplane


def test_duplicated_row_is_identified() -> None:
    index = DatasetIndex(5, seed=1)
    rows = dataset.load(5)[17]
    doubled = np.concatenate([rows, rows[2:3]])
    result = index.identify(doubled)
    assert result.status == "exact_copy" and result.index == 17
    assert (result.repeated_rows, result.redundant_rows) == (1, 0)
    shuffled = doubled[np.random.default_rng(0).permutation(len(doubled))]
    result = index.identify(shuffled)
    assert result.status == "row_permutation" and result.repeated_rows == 1


def test_redundant_row_is_dropped() -> None:
    """(0, 1) lies on an edge of conv(rows): 1 + x_2 >= 0 is implied, no facet.

    (A smooth reflexive P has no integer redundant row: it would be a lattice point of
    the smooth Fano polytope P^dual other than a vertex or 0, and there is none.)
    """
    rows = np.array([[1, 0], [-1, 2], [-1, -1], [0, 1]])
    report = check_hyperplane(rows, normality="auto")
    assert report.compact and report.irredundant is False
    index = DatasetIndex(2)
    result = index.identify(rows, report=report)
    assert result.redundant_rows == 1 and result.repeated_rows == 0
    assert result.status == "not_in_dataset"  # the triangle is not smooth
    assert index.identify(rows, facet_rows=rows[:3].tolist()).redundant_rows == 1
    assert irredundant(rows).rows.tolist() == rows[:3].tolist()


def test_every_smooth_reflexive_sample_is_found() -> None:
    """With a repeated row and a re-embedding, every d = 4 polytope is found."""
    index = DatasetIndex(4)
    data = dataset.load_data(4)
    rng = np.random.default_rng(3)
    for i in range(len(data)):
        sample = np.concatenate([data.rows[i], data.rows[i][-1:]])
        sample = tokens.prepare(sample, embedding="random_unimodular", rng=rng)
        report = check_hyperplane(sample, normality="auto") if i % 10 == 0 else None
        assert report is None or (report.all and report.irredundant is False)
        result = index.identify(sample, report=report)
        assert result.in_dataset and result.index == i, (i, result)
        assert (result.repeated_rows, result.redundant_rows) == (1, 0)


@pytest.mark.parametrize("row_order", ["stored", "shuffled", "sorted"])
def test_training_encodings_are_exact_copies(row_order: str) -> None:
    data = dataset.load_data(5)
    for embedding in ("special", "negated"):
        index = DatasetIndex(5, embedding=embedding, row_order=row_order, encoding_seed=3)
        for i in (0, 100, 865):
            encoded = tokens.prepare(
                data.rows[i], embedding=embedding, row_order=row_order, seed=3, index=i
            )
            assert index.identify(encoded).status == "exact_copy"
            if row_order == "shuffled" and embedding == "negated":
                other_seed = tokens.prepare(
                    data.rows[i], embedding=embedding, row_order=row_order, seed=4, index=i
                )
                assert index.identify(other_seed).status == "row_permutation"


def test_random_unimodular_uses_the_negated_representative() -> None:
    index = DatasetIndex(5, embedding="random_unimodular", row_order="shuffled")
    data = dataset.load_data(5)
    negated = tokens.prepare(data.rows[9], embedding="negated", row_order="shuffled", index=9)
    assert index.identify(negated).status == "exact_copy"
    moved = tokens.prepare(data.rows[9], embedding="random_unimodular", index=9)
    assert index.identify(moved).status in ("lattice_equivalent", "row_permutation")


def test_vertex_representation() -> None:
    index = DatasetIndex(4, representation="vertices")
    data = dataset.load_data(4)
    vertices = data.vertices[30]
    assert index.identify(vertices).status == "exact_copy"
    with_origin = np.concatenate([vertices, np.zeros((1, 4), dtype=np.int64), vertices[:1]])
    result = index.identify(with_origin)
    assert result.status == "exact_copy" and result.index == 30
    assert (result.repeated_rows, result.redundant_rows) == (1, 1)
    assert index.identify(2 * vertices).status == "not_in_dataset"  # not reflexive


def test_irredundant_and_bad_arguments() -> None:
    rows = np.array([[1, 0], [0, 1], [-1, -1], [1, 0], [-1, 0]])
    reduced = irredundant(rows)
    assert reduced.repeated_rows == 1 and reduced.redundant_rows == 0
    assert reduced.rows.tolist() == [[1, 0], [0, 1], [-1, -1], [-1, 0]]
    with pytest.raises(ValueError, match="embedding"):
        DatasetIndex(4, embedding="rotated")
    with pytest.raises(ValueError, match="row_order"):
        DatasetIndex(4, row_order="random")
    with pytest.raises(ValueError, match="representation"):
        DatasetIndex(4, representation="faces")
    assert len(DatasetIndex(4).keys("half_a")) == 62


def test_key_lookup_on_the_flat_key_array() -> None:
    index = DatasetIndex(6)
    keys = dataset.load_data(6).keys
    assert keys.dtype == np.uint8 and keys.shape == (7622, 32)
    for i in range(0, 7622, 7):
        assert index.lookup(keys[i].tobytes()) == i
    assert index.lookup(bytes(32)) is None
    assert index.lookup(b"\xff" * 32) is None
    assert index.lookup(b"short") is None
    assert len(index.keys()) == 7622 and len(index.keys("half_b")) == 3811


def test_d7_identifies_from_the_shipped_keys() -> None:
    index = DatasetIndex(7, embedding="negated", row_order="shuffled")
    data = dataset.load_data(7)
    for i in (0, 36127, 72255):
        encoded = tokens.prepare(data.rows[i], embedding="negated", row_order="shuffled", index=i)
        result = index.identify(encoded)
        assert result.status == "exact_copy" and result.index == i
        assert result.grdb_id == i + 1 and result.half == index.half(i)
