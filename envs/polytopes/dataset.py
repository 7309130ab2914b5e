"""Dataset of smooth reflexive polytopes (Øbro's classification of smooth Fano polytopes).

Source: M. Øbro, "An algorithm for the classification of smooth Fano polytopes",
arXiv:0704.0049, as distributed in the Graded Ring Database
(http://grdb.lboro.ac.uk/forms/toricsmooth) and Magma's data libraries.

* d = 2..6 ship with the package in ``envs/polytopes/data/smooth_fano_d{d}.npz``.
* d = 7, 8 are converted from the Magma block files (default ``../shared/data/smooth_fano``
  relative to the repository, or ``$POLYGYM_SMOOTH_FANO_DIR``) into a cache directory
  (default ``~/.cache/polygym/polytopes`` or ``$POLYGYM_POLYTOPE_CACHE``) by::

      python -m envs.polytopes.dataset build --dims 7 [--source DIR] [--cache-dir DIR]

  The conversion shows a progress bar, writes one part file per block and resumes from
  the parts already written.

Every sample is in Øbro's embedding: the first ``d`` rows are ``e_1..e_d``.
Each ``.npz`` holds: ``ids`` (GRDB/Magma ID inside its folder), ``row_offsets``/``rows``
(the hyperplane representation, ragged), ``vertex_offsets``/``vertices`` (the vertices of
``P = {x : 1 + w_i . x >= 0}``, computed exactly with Normaliz, sorted
lexicographically), ``keys`` (32-byte lattice normal-form digests, see
:mod:`envs.polytopes.normal_form`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.polytopes import geometry, magma_format, normal_form
from envs.polytopes.batch import pool_context

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_DIMENSIONS = (2, 3, 4, 5, 6)
KNOWN_COUNTS = {1: 1, 2: 5, 3: 18, 4: 124, 5: 866, 6: 7622, 7: 72256, 8: 749892}
SOURCE_FOLDERS = {
    2: "smoothfano",
    3: "smoothfano",
    4: "smoothfano",
    5: "smoothfano",
    6: "smoothfano",
    7: "smoothfano7",
    8: "smoothfano8",
}
REPRESENTATIONS = ("hyperplane", "vertices")
SPLITS = (None, "half_a", "half_b")


def default_source_dir() -> Path:
    """``$POLYGYM_SMOOTH_FANO_DIR`` or ``<repo>/../shared/data/smooth_fano``."""
    env = os.environ.get("POLYGYM_SMOOTH_FANO_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "smooth_fano"


def default_cache_dir() -> Path:
    """``$POLYGYM_POLYTOPE_CACHE`` or ``~/.cache/polygym/polytopes``."""
    env = os.environ.get("POLYGYM_POLYTOPE_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "polygym" / "polytopes"


def dataset_file(d: int, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the converted ``.npz`` of dimension ``d`` lives."""
    if d in SHIPPED_DIMENSIONS:
        return PACKAGE_DATA_DIR / f"smooth_fano_d{d}.npz"
    return Path(cache_dir or default_cache_dir()) / f"smooth_fano_d{d}.npz"


# ----------------------------------------------------------------------------- conversion


def convert_entry(rows: np.ndarray) -> tuple[np.ndarray, bytes]:
    """Exact vertices of ``{x : 1 + W x >= 0}`` (lexicographically sorted) and the key."""
    polyhedron = geometry.hyperplane_polyhedron(rows)
    if not (polyhedron.compact and polyhedron.lattice):
        raise ValueError(f"dataset entry is not a compact lattice polytope:\n{rows}")
    vertices = np.array(polyhedron.vertex_numerators, dtype=np.int64)
    order = np.lexsort(vertices.T[::-1])
    return vertices[order], normal_form.lattice_key(rows)


def _convert_many(rows_list: Sequence[np.ndarray]) -> list[tuple[np.ndarray, bytes]]:
    return [convert_entry(rows) for rows in rows_list]


def pack(
    ids: Sequence[int],
    rows_list: Sequence[np.ndarray],
    converted: Sequence[tuple[np.ndarray, bytes]],
) -> dict[str, np.ndarray]:
    """Pack ragged lists into flat arrays for ``np.savez_compressed``."""
    rows_list = list(rows_list)
    vertices_list = [vertices for vertices, _ in converted]
    all_rows = np.concatenate(rows_list)
    all_vertices = np.concatenate(vertices_list)
    if np.abs(all_rows).max() > 127 or np.abs(all_vertices).max() > 32767:
        raise ValueError("entries too large for the compact storage types")
    return {
        "ids": np.asarray(ids, dtype=np.int32),
        "row_offsets": np.cumsum([0] + [len(r) for r in rows_list]).astype(np.int64),
        "rows": all_rows.astype(np.int8),
        "vertex_offsets": np.cumsum([0] + [len(v) for v in vertices_list]).astype(np.int64),
        "vertices": all_vertices.astype(np.int16),
        "keys": np.frombuffer(b"".join(key for _, key in converted), dtype=np.uint8).reshape(
            -1, 32
        ),
    }


def _merge(parts: Iterable[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = list(parts)
    merged: dict[str, np.ndarray] = {}
    for name in ("ids", "rows", "vertices", "keys"):
        merged[name] = np.concatenate([part[name] for part in parts])
    for name, count in (("row_offsets", "rows"), ("vertex_offsets", "vertices")):
        offsets = [np.zeros(1, dtype=np.int64)]
        base = 0
        for part in parts:
            offsets.append(part[name][1:] + base)
            base += len(part[count])
        merged[name] = np.concatenate(offsets)
    return merged


def _chunks(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def build(
    d: int,
    *,
    source: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> Path:
    """Convert dimension ``d`` from the Magma block files into ``smooth_fano_d{d}.npz``.

    One part file per block is written to ``<out_dir>/parts_d{d}/`` first, so an
    interrupted run resumes where it stopped; the parts are removed once the merged file
    is written. Returns the path of the merged file.
    """
    if d not in SOURCE_FOLDERS:
        raise ValueError(f"no published data for d={d}; available: {sorted(SOURCE_FOLDERS)}")
    folder = Path(source or default_source_dir()) / SOURCE_FOLDERS[d]
    target = Path(out_dir) if out_dir else dataset_file(d).parent
    parts_dir = target / f"parts_d{d}"
    parts_dir.mkdir(parents=True, exist_ok=True)
    files = magma_format.block_files(folder)
    part_paths: list[Path] = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=pool_context()) as pool:
        bar = tqdm(files, desc=f"converting d={d}", unit="block", disable=not progress)
        next_id = 1
        for path in bar:
            part_path = parts_dir / f"{path.name}.npz"
            if part_path.exists():
                with np.load(part_path) as part:
                    next_id += int(part["n_in_block"])
                    if len(part["ids"]):
                        part_paths.append(part_path)
                continue
            entries = magma_format.read_block(path, next_id)
            next_id += len(entries)
            selected = [e for e in entries if e.rows.shape[1] == d]
            rows_list = [e.rows for e in selected]
            converted: list[tuple[np.ndarray, bytes]] = []
            for chunk in pool.map(_convert_many, _chunks(rows_list, 25)):
                converted.extend(chunk)
            arrays = (
                pack([e.grdb_id for e in selected], rows_list, converted)
                if selected
                else {"ids": np.zeros(0, dtype=np.int32)}
            )
            tmp = part_path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, n_in_block=len(entries), **arrays)
            tmp.replace(part_path)
            if selected:
                part_paths.append(part_path)
    parts = []
    for part_path in part_paths:
        with np.load(part_path) as part:
            parts.append({name: part[name] for name in part.files if name != "n_in_block"})
    merged = _merge(parts)
    count = len(merged["ids"])
    if count != KNOWN_COUNTS[d]:
        raise ValueError(f"decoded {count} polytopes for d={d}, expected {KNOWN_COUNTS[d]}")
    output = target / f"smooth_fano_d{d}.npz"
    tmp = output.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **merged)
    tmp.replace(output)
    for part_path in parts_dir.iterdir():
        part_path.unlink()
    parts_dir.rmdir()
    return output


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class SmoothFanoData:
    """All polytopes of one dimension (ragged arrays split into lists)."""

    d: int
    ids: np.ndarray
    rows: list[np.ndarray]
    vertices: list[np.ndarray]
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def _split_ragged(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    flat = flat.astype(np.int64)
    return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


@lru_cache(maxsize=8)
def _load_data_cached(path: str, d: int) -> SmoothFanoData:
    with np.load(path) as archive:
        return SmoothFanoData(
            d=d,
            ids=archive["ids"].copy(),
            rows=_split_ragged(archive["rows"], archive["row_offsets"]),
            vertices=_split_ragged(archive["vertices"], archive["vertex_offsets"]),
            keys=archive["keys"].copy(),
        )


def load_data(d: int, *, cache_dir: str | os.PathLike[str] | None = None) -> SmoothFanoData:
    """Load every polytope of dimension ``d`` with IDs and normal-form keys."""
    if d not in SOURCE_FOLDERS:
        raise ValueError(f"no dataset for d={d}; available: {sorted(SOURCE_FOLDERS)}")
    path = dataset_file(d, cache_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; build it with "
            f"`python -m envs.polytopes.dataset build --dims {d}"
            + (f" --cache-dir {cache_dir}`" if cache_dir else "`")
        )
    return _load_data_cached(str(path), d)


def split_indices(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic halves: a seeded permutation, first ``ceil(n/2)`` indices are half A."""
    permutation = np.random.default_rng(seed).permutation(n)
    half = (n + 1) // 2
    return np.sort(permutation[:half]), np.sort(permutation[half:])


def load(
    d: int,
    representation: str = "hyperplane",
    split: str | None = None,
    seed: int = 0,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[np.ndarray]:
    """Smooth reflexive polytopes of dimension ``d`` as int64 matrices.

    ``representation="hyperplane"``: rows ``w_i`` with ``P = {x : 1 + w_i . x >= 0}``
    (Øbro's embedding); ``"vertices"``: the vertices of the same ``P``.
    ``split``: ``None`` (all), ``"half_a"`` or ``"half_b"`` (see :func:`split_indices`).
    """
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    data = load_data(d, cache_dir=cache_dir)
    matrices = data.rows if representation == "hyperplane" else data.vertices
    if split is None:
        indices: Iterable[int] = range(len(matrices))
    else:
        half_a, half_b = split_indices(len(matrices), seed)
        indices = half_a if split == "half_a" else half_b
    return [matrices[i].copy() for i in indices]


def half_of(d: int, index: int, seed: int = 0, n: int | None = None) -> str:
    """Which half (``"half_a"``/``"half_b"``) the dataset entry ``index`` belongs to."""
    count = n if n is not None else KNOWN_COUNTS[d]
    half_a, _ = split_indices(count, seed)
    return "half_a" if np.isin(index, half_a) else "half_b"


# ----------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m envs.polytopes.dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="convert Magma block files into .npz")
    build_parser.add_argument("--dims", type=int, nargs="+", required=True)
    build_parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder holding smoothfano/, smoothfano7/, smoothfano8/",
    )
    build_parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="output folder (default: package data for d<=6, cache for d>=7)",
    )
    build_parser.add_argument("--workers", type=int, default=2)
    info_parser = sub.add_parser("info", help="print counts of the available datasets")
    info_parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "build":
        for d in args.dims:
            out_dir = args.cache_dir or dataset_file(d).parent
            path = build(d, source=args.source, out_dir=out_dir, workers=args.workers)
            print(f"d={d}: wrote {path}")
    else:
        for d in sorted(SOURCE_FOLDERS):
            try:
                data = load_data(d, cache_dir=args.cache_dir)
                print(f"d={d}: {len(data)} polytopes ({dataset_file(d, args.cache_dir)})")
            except FileNotFoundError:
                print(f"d={d}: not built")


if __name__ == "__main__":
    main()
