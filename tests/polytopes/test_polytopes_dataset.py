"""Dataset decoding and loading API."""

from __future__ import annotations

import numpy as np
import pytest

from envs.polytopes import dataset, magma_format


def _int_from_digits(digits: list[int], base: int) -> int:
    value = 0
    for digit in reversed(digits):
        value = value * base + digit
    return value


def test_decode_line_round_trip() -> None:
    rows = np.array([[1, 0], [0, 1], [-1, -1]])
    shift, base = 2, 7
    digits = [2, shift] + [int(v) + shift for v in rows.flat]
    dim, decoded = magma_format.decode_line(_int_from_digits(digits, base), base)
    assert dim == 2
    np.testing.assert_array_equal(decoded, rows)


def test_malformed_block_names_line(tmp_path) -> None:
    good = _int_from_digits([2, 2, 3, 2, 2, 3, 1, 1], 7)
    block = tmp_path / "block0"
    block.write_text(f"7\n{good}\n12x4\n")
    with pytest.raises(magma_format.DataFormatError, match=r"block0:3"):
        magma_format.read_block(block, 1)
    # wrong number of coordinates (5 coordinates for d = 2)
    bad = _int_from_digits([2, 2, 3, 2, 2, 3, 1], 7)
    block.write_text(f"7\n{good}\n{bad}\n")
    with pytest.raises(magma_format.DataFormatError, match=r"block0:3: 5 coordinates"):
        magma_format.read_block(block, 1)
    block.write_text("")
    with pytest.raises(magma_format.DataFormatError, match="missing base"):
        magma_format.read_block(block, 1)


@pytest.mark.parametrize("d", dataset.SHIPPED_DIMENSIONS)
def test_counts_and_embedding(d: int) -> None:
    data = dataset.load_data(d)
    assert len(data) == dataset.KNOWN_COUNTS[d]
    assert len(set(data.ids.tolist())) == len(data)
    for rows in data.rows:
        assert rows.shape[1] == d
        np.testing.assert_array_equal(rows[:d], np.eye(d, dtype=np.int64))
        sums = rows[d:].sum(axis=1)
        assert np.all((sums <= 0) & (sums >= -d))


def test_ids_follow_magma_numbering() -> None:
    # IDs run 1..8635 over d = 2..6 in the "smoothfano" folder.
    ids = np.concatenate([dataset.load_data(d).ids for d in dataset.SHIPPED_DIMENSIONS])
    np.testing.assert_array_equal(ids, np.arange(1, 8636))


def test_matches_source_files_when_available() -> None:
    folder = dataset.default_source_dir() / "smoothfano"
    if not folder.is_dir():
        pytest.skip("shared smooth Fano data not available")
    entries = [e for _, block in magma_format.iter_folder(folder) for e in block]
    assert len(entries) == 8635
    by_dim: dict[int, list] = {}
    for entry in entries:
        by_dim.setdefault(entry.rows.shape[1], []).append(entry.rows)
    for d in dataset.SHIPPED_DIMENSIONS:
        shipped = dataset.load(d)
        assert len(shipped) == len(by_dim[d])
        for a, b in zip(shipped, by_dim[d], strict=True):
            np.testing.assert_array_equal(a, b)


def test_splits_are_deterministic_and_disjoint() -> None:
    d = 5
    all_rows = dataset.load(d)
    half_a = dataset.load(d, split="half_a", seed=3)
    half_b = dataset.load(d, split="half_b", seed=3)
    assert len(half_a) + len(half_b) == len(all_rows)
    assert len(half_a) == (len(all_rows) + 1) // 2
    keys_a = {r.tobytes() for r in half_a}
    keys_b = {r.tobytes() for r in half_b}
    assert not keys_a & keys_b
    assert keys_a | keys_b == {r.tobytes() for r in all_rows}
    again = dataset.load(d, split="half_a", seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(half_a, again, strict=True))
    other = dataset.load(d, split="half_a", seed=4)
    assert {r.tobytes() for r in other} != keys_a
    index_a, _ = dataset.split_indices(len(all_rows), 3)
    assert dataset.half_of(d, int(index_a[0]), seed=3) == "half_a"


def test_vertex_representation_is_exact() -> None:
    from envs.polytopes.geometry import exact_rank

    for d in (2, 3, 4):
        for rows, vertices in zip(dataset.load(d), dataset.load(d, "vertices"), strict=True):
            values = 1 + vertices @ rows.T
            assert values.min() == 0  # every vertex is feasible
            for k in range(len(vertices)):
                assert exact_rank(rows[values[k] == 0]) == d  # and a vertex
            assert len({tuple(v) for v in vertices.tolist()}) == len(vertices)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="representation"):
        dataset.load(3, representation="dual")
    with pytest.raises(ValueError, match="split"):
        dataset.load(3, split="half_c")
    with pytest.raises(ValueError, match="no dataset"):
        dataset.load(9)


def test_missing_cache_explains_build_command(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m envs.polytopes.dataset build"):
        dataset.load(7, cache_dir=tmp_path)


def test_build_is_resumable(tmp_path, monkeypatch) -> None:
    source = dataset.default_source_dir()
    if not (source / "smoothfano").is_dir():
        pytest.skip("shared smooth Fano data not available")
    original = magma_format.read_block
    calls = {"n": 0}

    def failing_read_block(path, first_id):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return original(path, first_id)

    monkeypatch.setattr(magma_format, "read_block", failing_read_block)
    with pytest.raises(KeyboardInterrupt):
        dataset.build(3, source=source, out_dir=tmp_path, workers=1, progress=False)
    assert len(list((tmp_path / "parts_d3").glob("block*.npz"))) == 3
    monkeypatch.setattr(magma_format, "read_block", original)
    out = dataset.build(3, source=source, out_dir=tmp_path, workers=1, progress=False)
    with np.load(out) as built, np.load(dataset.dataset_file(3)) as shipped:
        for name in shipped.files:
            np.testing.assert_array_equal(built[name], shipped[name])
    assert not (tmp_path / "parts_d3").exists()
