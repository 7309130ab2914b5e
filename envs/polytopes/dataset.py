"""Dataset of smooth reflexive polytopes (Øbro's classification of smooth Fano polytopes).

Source: M. Øbro, "An algorithm for the classification of smooth Fano polytopes",
arXiv:0704.0049, as distributed in the Graded Ring Database
(http://grdb.lboro.ac.uk/forms/toricsmooth) and Magma's data libraries. Cite both
whenever the data is used.

* The hyperplane rows of every d = 2..8 ship with the package, xz-compressed, in
  ``envs/polytopes/data/smooth_fano_d{d}.rows.npz.xz`` (1.8 MB in all; see its README):
  a fresh clone loads every dimension with no network and no ``../shared``.
* They were converted once from the Magma block files (default ``../shared/data/smooth_fano``
  relative to the repository, or ``$POLYGYM_SMOOTH_FANO_DIR``) by::

      python -m envs.polytopes.dataset build --dims 2 3 4 5 6 7 8 [--source DIR] [--out DIR]

* Derived fields (``keys``, ``vertices``; :mod:`envs.polytopes.derived`) ship where small
  (keys for d <= 7, vertices for d <= 6); the others are computed on first use, in
  parallel, resumable, into the cache (``~/.cache/polygym/polytopes`` or
  ``$POLYGYM_POLYTOPE_CACHE``), or ahead of time by::

      python -m envs.polytopes.dataset derive --dims 8 --fields keys [--workers N]

Every sample is in Øbro's embedding: the first ``d`` rows are ``e_1..e_d`` (not stored).
A rows file holds ``d``, ``first_id`` (or ``ids``: the Magma/GRDB ID inside its folder),
``counts`` (uint8, rows after the first ``d``) and ``rows`` (int8, those rows, flat).
:func:`load` returns a lazy :class:`~envs.polytopes.packed.MatrixList` of int64 matrices.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import BACKENDS
from envs.polytopes import derived, magma_format
from envs.polytopes.packed import MatrixList, offsets_from_counts, read_bundle, write_bundle

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
DIMENSIONS = (2, 3, 4, 5, 6, 7, 8)
SHIPPED_DIMENSIONS = DIMENSIONS  # hyperplane rows ship for every dimension
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
FORMAT_VERSION = 2


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


def rows_file_name(d: int) -> str:
    return f"smooth_fano_d{d}.rows.npz.xz"


def dataset_file(d: int, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The packed hyperplane rows of ``d``: the package's file, else one in ``cache_dir``
    (a local ``build --out``); the package path when neither exists."""
    shipped = PACKAGE_DATA_DIR / rows_file_name(d)
    if shipped.exists():
        return shipped
    local = Path(cache_dir or default_cache_dir()) / rows_file_name(d)
    return local if local.exists() else shipped


def _check_dimension(d: int) -> None:
    if d not in SOURCE_FOLDERS:
        raise ValueError(f"no dataset for d={d}; available: {sorted(SOURCE_FOLDERS)}")


# ----------------------------------------------------------------------------- conversion


def read_source(
    d: int, source: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> tuple[list[int], list[np.ndarray]]:
    """``(ids, rows)`` of every dimension-``d`` entry of the Magma block files."""
    _check_dimension(d)
    folder = Path(source or default_source_dir()) / SOURCE_FOLDERS[d]
    files = magma_format.block_files(folder)
    ids: list[int] = []
    rows_list: list[np.ndarray] = []
    next_id = 1
    for path in tqdm(files, desc=f"decoding d={d}", unit="block", disable=not progress):
        entries = magma_format.read_block(path, next_id)
        next_id += len(entries)
        for entry in entries:
            if entry.rows.shape[1] == d:
                ids.append(entry.grdb_id)
                rows_list.append(entry.rows)
    return ids, rows_list


def pack_rows(d: int, ids: Sequence[int], rows_list: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Flat arrays of a dimension's hyperplane rows (the first ``d`` rows must be ``e_i``)."""
    identity = np.eye(d, dtype=np.int64)
    extra = []
    for grdb_id, rows in zip(ids, rows_list, strict=True):
        if rows.shape[1] != d or len(rows) <= d or not np.array_equal(rows[:d], identity):
            raise ValueError(f"entry {grdb_id}: not in Øbro's embedding (first rows e_1..e_{d})")
        extra.append(rows[d:])
    counts = np.array([len(rows) for rows in extra], dtype=np.int64)
    flat = np.concatenate(extra) if extra else np.zeros((0, d), dtype=np.int64)
    if counts.max(initial=0) > 255 or (flat.size and np.abs(flat).max() > 127):
        raise ValueError("entries too large for the compact storage (uint8 counts, int8 rows)")
    ids_array = np.asarray(ids, dtype=np.int64)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT_VERSION),
        "d": np.array(d),
        "counts": counts.astype(np.uint8),
        "rows": flat.astype(np.int8),
    }
    if len(ids_array) and np.array_equal(ids_array, ids_array[0] + np.arange(len(ids_array))):
        arrays["first_id"] = np.array(ids_array[0])
    else:
        arrays["ids"] = ids_array.astype(np.int32)
    return arrays


def build(
    d: int,
    *,
    source: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Path:
    """Convert dimension ``d`` from the Magma block files into ``smooth_fano_d{d}.rows.npz.xz``.

    Written to ``out_dir`` (default: the package data folder). d = 8 takes about a minute
    (decoding 82 MB of text, then xz); it checks the count against the classification.
    """
    ids, rows_list = read_source(d, source, progress=progress)
    if len(ids) != KNOWN_COUNTS[d]:
        raise ValueError(f"decoded {len(ids)} polytopes for d={d}, expected {KNOWN_COUNTS[d]}")
    target = Path(out_dir) if out_dir else PACKAGE_DATA_DIR
    return write_bundle(target / rows_file_name(d), pack_rows(d, ids, rows_list))


# ----------------------------------------------------------------------------- loading


class SmoothFanoData:
    """All polytopes of one dimension: ``rows`` (lazy int64 matrices), ``ids``; ``keys``
    and ``vertices`` are loaded (or computed, see :mod:`envs.polytopes.derived`) on first
    access."""

    def __init__(self, d: int, ids: np.ndarray, rows: MatrixList, cache_dir: Path) -> None:
        self.d = d
        self.ids = ids
        self.rows = rows
        self.cache_dir = cache_dir

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"SmoothFanoData(d={self.d}, {len(self)} polytopes)"

    def available(self, field: str) -> bool:
        """Whether ``field`` loads without computing (shipped or cached)."""
        return (
            derived.shipped_file(self.d, field).exists()
            or derived.cache_file(self.d, field, self.cache_dir).exists()
        )

    def field(
        self, field: str, *, workers: int | None = None, progress: bool = True, **executor: Any
    ) -> dict[str, np.ndarray]:
        """The arrays of a derived field (computed into the cache if neither shipped nor cached).

        ``executor``: ``backend`` / ``address`` of :func:`envs.parallel.run_tasks`.
        """
        return derived.load_field(
            self.d,
            field,
            self.rows,
            cache_dir=self.cache_dir,
            workers=workers,
            progress=progress,
            **executor,
        )

    @cached_property
    def keys(self) -> np.ndarray:
        """``(n, 32) uint8`` lattice normal-form digests."""
        return derived.keys_array(self.field("keys"))

    @cached_property
    def vertices(self) -> MatrixList:
        """Exact vertices of each ``P`` (lazy int64 matrices, lexicographically sorted)."""
        return derived.vertex_list(self.field("vertices"))


@lru_cache(maxsize=8)
def _load_data_cached(path: str, d: int, cache_dir: str) -> SmoothFanoData:
    arrays = read_bundle(path)
    if int(arrays.get("format", -1)) != FORMAT_VERSION or int(arrays["d"]) != d:
        raise ValueError(f"{path}: not a d={d} rows file of format {FORMAT_VERSION}")
    counts = arrays["counts"]
    if "first_id" in arrays:
        ids = int(arrays["first_id"]) + np.arange(len(counts), dtype=np.int32)
    else:
        ids = arrays["ids"].astype(np.int32)
    rows = MatrixList(arrays["rows"], offsets_from_counts(counts), prefix=np.eye(d, dtype=np.int64))
    return SmoothFanoData(d=d, ids=ids, rows=rows, cache_dir=Path(cache_dir))


def load_data(d: int, *, cache_dir: str | os.PathLike[str] | None = None) -> SmoothFanoData:
    """Every polytope of dimension ``d`` with IDs; keys and vertices on first access.

    ``cache_dir``: where computed derived fields go (default :func:`default_cache_dir`).
    """
    _check_dimension(d)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    path = dataset_file(d, cache)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist (the package data is incomplete); rebuild it with "
            f"`python -m envs.polytopes.dataset build --dims {d} --source DIR`"
        )
    return _load_data_cached(str(path), d, str(cache.resolve()))


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
) -> MatrixList:
    """Smooth reflexive polytopes of dimension ``d``: a lazy sequence of int64 matrices.

    ``representation="hyperplane"``: rows ``w_i`` with ``P = {x : 1 + w_i . x >= 0}``
    (Øbro's embedding); ``"vertices"``: the vertices of the same ``P`` (computed into the
    cache on first use where not shipped). ``split``: ``None`` (all), ``"half_a"`` or
    ``"half_b"`` (see :func:`split_indices`). Indexing gives a fresh ``np.ndarray``;
    slices and index arrays give another lazy sequence; ``+`` gives a list.
    """
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    data = load_data(d, cache_dir=cache_dir)
    matrices = data.rows if representation == "hyperplane" else data.vertices
    if split is None:
        return matrices
    half_a, half_b = split_indices(len(matrices), seed)
    return matrices[half_a if split == "half_a" else half_b]


def half_of(d: int, index: int, seed: int = 0, n: int | None = None) -> str:
    """Which half (``"half_a"``/``"half_b"``) the dataset entry ``index`` belongs to."""
    count = n if n is not None else KNOWN_COUNTS[d]
    half_a, _ = split_indices(count, seed)
    return "half_a" if np.isin(index, half_a) else "half_b"


# ----------------------------------------------------------------------------- CLI


def _size(path: Path) -> str:
    if not path.exists():
        return "-"
    size = path.stat().st_size
    return f"{size / 1e6:.2f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def _info(cache_dir: Path | None) -> None:
    cache = cache_dir or default_cache_dir()
    print("d  polytopes  rows file            keys                vertices")
    for d in DIMENSIONS:
        try:
            data = load_data(d, cache_dir=cache)
            count = str(len(data))
        except (FileNotFoundError, ValueError) as error:
            print(f"{d}  missing ({error})")
            continue
        cells = []
        for field in derived.FIELDS:
            shipped, cached = derived.shipped_file(d, field), derived.cache_file(d, field, cache)
            cells.append(
                f"shipped {_size(shipped)}"
                if shipped.exists()
                else f"cached {_size(cached)}"
                if cached.exists()
                else "on first use"
            )
        print(f"{d}  {count:>9}  {_size(dataset_file(d, cache)):<19}  {cells[0]:<18}  {cells[1]}")


def _derive(args: argparse.Namespace) -> None:
    for d in args.dims:
        data = load_data(d, cache_dir=args.cache_dir)
        for field in args.fields:
            if args.recompute:
                arrays = derived.compute(
                    field,
                    data.rows,
                    derived.cache_file(d, field, data.cache_dir),
                    workers=args.workers,
                    part_size=args.part_size,
                    desc=f"d={d} {field}",
                    backend=args.backend,
                    address=args.address,
                )
            else:
                arrays = data.field(
                    field, workers=args.workers, backend=args.backend, address=args.address
                )
            where = derived.cache_file(d, field, data.cache_dir)
            if args.ship:
                arrays = {name: value for name, value in arrays.items() if name != "n"}
                where = write_bundle(derived.shipped_file(d, field), arrays)
            print(f"d={d} {field}: {len(data)} entries ({where})")


def main(argv: Sequence[str] | None = None) -> int:
    """``build`` (Magma -> package rows), ``derive`` (keys/vertices), ``info``."""
    parser = UsageParser(
        prog="python -m envs.polytopes.dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=UsageParser)
    build_parser = sub.add_parser("build", help="convert Magma block files into packed rows")
    build_parser.add_argument("--dims", type=int, nargs="+", required=True)
    build_parser.add_argument(
        "--source", type=Path, default=None, help="folder holding smoothfano/, smoothfano7/, ..."
    )
    build_parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: the package data)"
    )
    derive_parser = sub.add_parser("derive", help="compute keys/vertices into the cache")
    derive_parser.add_argument("--dims", type=int, nargs="+", required=True)
    derive_parser.add_argument(
        "--fields", nargs="+", choices=derived.FIELDS, default=list(derived.FIELDS)
    )
    derive_parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    derive_parser.add_argument(
        "--backend", choices=BACKENDS, default=None,
        help="serial, process (default) or ray (envs.parallel; a cluster with --address)",
    )
    derive_parser.add_argument("--address", default=None, help="Ray cluster to join")
    derive_parser.add_argument("--part-size", type=int, default=derived.PART_SIZE)
    derive_parser.add_argument("--cache-dir", type=Path, default=None)
    derive_parser.add_argument(
        "--recompute", action="store_true", help="compute even if shipped or cached"
    )
    derive_parser.add_argument(
        "--ship", action="store_true", help="also write the xz copy into the package data"
    )
    info_parser = sub.add_parser("info", help="what is shipped, cached or computed on use")
    info_parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    for d in getattr(args, "dims", ()):
        if d not in SOURCE_FOLDERS:
            raise UsageError(f"no dataset for d={d}; available: {sorted(SOURCE_FOLDERS)}")
    if args.command == "build":
        for d in args.dims:
            path = build(d, source=args.source, out_dir=args.out)
            print(f"d={d}: wrote {path} ({_size(path)})")
    elif args.command == "derive":
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"--workers must be >= 1, got {args.workers}")
        if args.part_size < 1:
            raise UsageError(f"--part-size must be >= 1, got {args.part_size}")
        _derive(args)
    else:
        _info(args.cache_dir)
    return 0


if __name__ == "__main__":
    run_cli(main, expected=(UsageError, FileNotFoundError, magma_format.DataFormatError))
