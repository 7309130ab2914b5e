"""Dataset decoding, packed storage, loading API and derived fields."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from envs.polytopes import dataset, derived, magma_format
from envs.polytopes.packed import MatrixList, read_bundle, write_bundle

REPO = Path(__file__).resolve().parents[2]


def _int_from_digits(digits: list[int], base: int) -> int:
    value = 0
    for digit in reversed(digits):
        value = value * base + digit
    return value


def _source_or_skip() -> Path:
    source = dataset.default_source_dir()
    if not (source / "smoothfano").is_dir():
        pytest.skip("shared smooth Fano data not available")
    return source


# ----------------------------------------------------------------------------- Magma format


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


# ----------------------------------------------------------------------------- packed storage


def test_matrix_list_behaves_like_a_list_of_matrices() -> None:
    flat = np.array([[1, 2], [3, 4], [5, 6], [-1, -1]], dtype=np.int8)
    prefix = np.eye(2, dtype=np.int64)
    matrices = MatrixList(flat, np.array([0, 1, 1, 4]), prefix=prefix)
    expected = [
        np.array([[1, 0], [0, 1], [1, 2]]),
        np.eye(2, dtype=np.int64),
        np.array([[1, 0], [0, 1], [3, 4], [5, 6], [-1, -1]]),
    ]
    assert len(matrices) == 3
    for got, want in zip(matrices, expected, strict=True):
        assert got.dtype == np.int64 and got.flags.writeable
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(matrices[-1], expected[2])
    np.testing.assert_array_equal(matrices[np.int64(0)], expected[0])
    matrices[0][0, 0] = 99  # a fresh array: the storage is unchanged
    assert matrices[0][0, 0] == 1
    tail = matrices[1:]
    assert isinstance(tail, MatrixList) and len(tail) == 2
    np.testing.assert_array_equal(tail[1], expected[2])
    picked = matrices[[2, 0]][::-1]
    np.testing.assert_array_equal(picked[0], expected[0])
    assert len(matrices[np.array([True, False, True])]) == 2
    np.testing.assert_array_equal(matrices.lengths(), [3, 2, 5])
    np.testing.assert_array_equal(matrices[[2, 1]].positions, [2, 1])
    joined = matrices[:1] + [np.zeros((1, 2))]
    assert isinstance(joined, list) and len(joined) == 2
    assert len([np.zeros((1, 2))] + matrices) == 4
    with pytest.raises(IndexError):
        matrices[3]
    with pytest.raises(IndexError):
        matrices[[0, 5]]
    with pytest.raises(TypeError):
        matrices[[0.5]]
    with pytest.raises(ValueError, match="offsets"):
        MatrixList(flat, np.array([0, 2]))
    with pytest.raises(ValueError):
        matrices.flat[0, 0] = 7  # read-only view


def test_matrix_list_pickles_only_what_it_shows() -> None:
    rng = np.random.default_rng(0)
    flat = rng.integers(-3, 4, size=(30_000, 4)).astype(np.int8)
    matrices = MatrixList(flat, np.arange(0, 30_001, 3), prefix=np.eye(4, dtype=np.int64))
    part = matrices[5000:5010]
    restored = pickle.loads(pickle.dumps(part))
    assert len(pickle.dumps(part)) < 2000
    for a, b in zip(part, restored, strict=True):
        np.testing.assert_array_equal(a, b)
    compact = part.compact()
    assert compact.nbytes() < 500 and len(compact) == 10


@pytest.mark.parametrize("suffix", [".npz", ".npz.xz"])
def test_bundle_round_trip(tmp_path, suffix: str) -> None:
    arrays = {"a": np.arange(5, dtype=np.int8), "d": np.array(3)}
    path = write_bundle(tmp_path / f"bundle{suffix}", arrays)
    loaded = read_bundle(path)
    assert loaded.keys() == arrays.keys()
    np.testing.assert_array_equal(loaded["a"], arrays["a"])
    assert loaded["a"].dtype == np.int8
    broken = tmp_path / "broken.npz.xz"
    broken.write_bytes(b"not xz")
    with pytest.raises(ValueError, match="not a valid xz file"):
        read_bundle(broken)


# ----------------------------------------------------------------------------- shipped data


@pytest.mark.parametrize("d", dataset.SHIPPED_DIMENSIONS)
def test_counts_and_embedding(d: int) -> None:
    data = dataset.load_data(d)
    assert len(data) == dataset.KNOWN_COUNTS[d] == len(dataset.load(d))
    np.testing.assert_array_equal(data.ids, np.arange(1, len(data) + 1) + data.ids[0] - 1)
    flat = data.rows.flat
    assert flat.dtype == np.int8 and flat.shape[1] == d
    sums = flat.astype(np.int64).sum(axis=1)
    assert np.all((sums <= 0) & (sums >= -d))  # Øbro's embedding
    first = data.rows[0]
    np.testing.assert_array_equal(first[:d], np.eye(d, dtype=np.int64))
    assert first.shape[1] == d and len(first) == data.rows.lengths()[0]


def test_ids_follow_magma_numbering() -> None:
    # IDs run 1..8635 over d = 2..6 in the "smoothfano" folder, 1..N for d = 7, 8.
    ids = np.concatenate([dataset.load_data(d).ids for d in (2, 3, 4, 5, 6)])
    np.testing.assert_array_equal(ids, np.arange(1, 8636))
    for d in (7, 8):
        assert dataset.load_data(d).ids[0] == 1 and dataset.load_data(d).ids[-1] == len(
            dataset.load_data(d)
        )


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6, 7])
def test_matches_source_files_when_available(d: int) -> None:
    source = _source_or_skip()
    ids, rows_list = dataset.read_source(d, source, progress=False)
    shipped = dataset.load_data(d)
    np.testing.assert_array_equal(ids, shipped.ids)
    packed = dataset.pack_rows(d, ids, rows_list)
    np.testing.assert_array_equal(packed["rows"], shipped.rows.flat)
    np.testing.assert_array_equal(packed["counts"] + d, shipped.rows.lengths())
    for i in (0, len(ids) // 2, len(ids) - 1):
        np.testing.assert_array_equal(rows_list[i], shipped.rows[i])


@pytest.mark.slow
def test_d8_matches_source_files_when_available() -> None:
    test_matches_source_files_when_available(8)


def test_build_writes_the_shipped_file(tmp_path) -> None:
    source = _source_or_skip()
    out = dataset.build(4, source=source, out_dir=tmp_path, progress=False)
    built, shipped = read_bundle(out), read_bundle(dataset.dataset_file(4))
    assert built.keys() == shipped.keys()
    for name in shipped:
        np.testing.assert_array_equal(built[name], shipped[name])
    with pytest.raises(FileNotFoundError, match="data folder not found"):
        dataset.build(4, source=tmp_path / "nowhere", out_dir=tmp_path, progress=False)


def test_pack_rows_rejects_other_embeddings() -> None:
    with pytest.raises(ValueError, match="Øbro's embedding"):
        dataset.pack_rows(2, [1], [np.array([[0, 1], [1, 0], [-1, -1]])])


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
    np.testing.assert_array_equal(half_a.positions, index_a)


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


def test_stripped_package_explains_build_command(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(dataset, "PACKAGE_DATA_DIR", tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="python -m envs.polytopes.dataset build"):
        dataset.load(7, cache_dir=tmp_path)


FRESH_CLONE = """
import json, os, time
from envs.polytopes import dataset
from envs.polytopes.identify import DatasetIndex
out = {}
for d in DIMS:
    start = time.perf_counter()
    out[d] = [len(dataset.load(d)), time.perf_counter() - start]
half = dataset.load(7, split="half_a")
out["half_a"] = [len(half), int(half[0].shape[1])]
out["index7"] = DatasetIndex(7).identify(dataset.load(7)[123]).status
out["cache"] = sorted(os.listdir(os.environ["POLYGYM_POLYTOPE_CACHE"]))
print(json.dumps(out))
"""


def _fresh_clone(tmp_path: Path, dims: tuple[int, ...]) -> dict:
    """Load in a fresh process with no shared data folder and an empty cache."""
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {
        **os.environ,
        "POLYGYM_SMOOTH_FANO_DIR": str(tmp_path / "no_shared_data"),
        "POLYGYM_POLYTOPE_CACHE": str(cache),
        "PYTHONPATH": str(REPO),
    }
    code = FRESH_CLONE.replace("DIMS", repr(dims))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_fresh_clone_loads_without_shared_data(tmp_path) -> None:
    """d = 2..7 load with no ../shared, no network; nothing is computed or cached."""
    result = _fresh_clone(tmp_path, (2, 3, 4, 5, 6, 7))
    for d in (2, 3, 4, 5, 6, 7):
        assert result[str(d)][0] == dataset.KNOWN_COUNTS[d]
    assert result["half_a"] == [36128, 7]
    assert result["index7"] == "exact_copy"  # the d = 7 keys ship
    assert result["cache"] == []


def test_fresh_clone_loads_d8(tmp_path) -> None:
    result = _fresh_clone(tmp_path, (8,))
    count, seconds = result["8"]
    assert count == 749892
    assert seconds < 10


# ----------------------------------------------------------------------------- derived fields


def test_shipped_derived_fields_match_a_recomputation(tmp_path) -> None:
    data = dataset.load_data(4)
    rows = data.rows[::10]
    keys = derived.compute("keys", rows, tmp_path / "k.npz", workers=1, progress=False)
    np.testing.assert_array_equal(keys["keys"], data.keys[::10])
    vertices = derived.compute("vertices", rows, tmp_path / "v.npz", workers=1, progress=False)
    computed = derived.vertex_list(vertices)
    for a, b in zip(computed, data.vertices[::10], strict=True):
        np.testing.assert_array_equal(a, b)


def test_derived_computation_resumes(tmp_path, monkeypatch) -> None:
    rows = dataset.load(5)[:60]
    out = tmp_path / "keys.npz"
    original = derived._part_arrays
    calls = {"n": 0}

    def failing(field, chunk):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return original(field, chunk)

    monkeypatch.setattr(derived, "_part_arrays", failing)
    with pytest.raises(KeyboardInterrupt):
        derived.compute("keys", rows, out, workers=1, part_size=25, progress=False)
    parts = tmp_path / "keys.npz.parts-25"
    assert sorted(p.name for p in parts.iterdir()) == ["part00000.npz", "part00001.npz"]
    assert not out.exists()
    monkeypatch.setattr(derived, "_part_arrays", original)
    calls["n"] = 0
    merged = derived.compute("keys", rows, out, workers=1, part_size=25, progress=False)
    np.testing.assert_array_equal(merged["keys"], dataset.load_data(5).keys[:60])
    assert out.exists() and not parts.exists()


def test_derived_computation_in_a_process_pool(tmp_path) -> None:
    rows = dataset.load(4)
    merged = derived.compute("keys", rows, tmp_path / "keys.npz", workers=2, part_size=40)
    np.testing.assert_array_equal(merged["keys"], dataset.load_data(4).keys)


def test_unshipped_fields_are_computed_once_into_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(derived, "PACKAGE_DATA_DIR", tmp_path / "no_derived")
    monkeypatch.setenv("POLYGYM_DATASET_WORKERS", "1")
    data = dataset.load_data(3, cache_dir=tmp_path)
    assert not data.available("keys")
    shipped_keys = read_bundle(REPO / "envs/polytopes/data/smooth_fano_d3.keys.npz.xz")["keys"]
    np.testing.assert_array_equal(data.keys, shipped_keys)
    assert data.available("keys") and (tmp_path / "smooth_fano_d3.keys.npz").exists()
    assert len(data.vertices) == 18 and data.available("vertices")
    write_bundle(tmp_path / "smooth_fano_d3.keys.npz", {"keys": shipped_keys[:3]})
    with pytest.raises(ValueError, match="delete it to recompute"):
        derived.load_field(3, "keys", data.rows, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="field"):
        derived.load_field(3, "faces", data.rows, cache_dir=tmp_path)


# ----------------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envs.polytopes.dataset", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_cli_info_and_bad_input() -> None:
    info = _cli("info")
    assert info.returncode == 0 and "749892" in info.stdout and "shipped" in info.stdout
    bad = _cli("build", "--dims", "9")
    assert bad.returncode == 2 and bad.stderr.startswith("error: no dataset for d=9")
    assert "Traceback" not in bad.stderr
    missing = _cli("build", "--dims", "4", "--source", "/nonexistent/folder")
    assert missing.returncode == 2 and "data folder not found" in missing.stderr
    workers = _cli("derive", "--dims", "4", "--workers", "0")
    assert workers.returncode == 2 and "--workers" in workers.stderr


def test_memory_script_measures_in_a_fresh_process(tmp_path) -> None:
    from baselines.polytopes import dataset_memory

    out = tmp_path / "memory.json"
    assert dataset_memory.main(["--d", "4", "--steps", "load", "index", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [row["step"] for row in rows] == ["load", "index"]
    assert all(row["n"] == 124 and 0 < row["peak_rss_mb"] < 1000 for row in rows)
