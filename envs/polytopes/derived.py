"""Derived fields of the smooth Fano datasets: exact vertices and lattice keys.

Computed from the hyperplane rows on first use, in parallel over a process pool, with a
progress bar, in resumable parts, and cached; small ones ship with the package.

* ``keys``: ``(n, 32) uint8``, the lattice normal-form digest of each entry
  (:func:`envs.polytopes.normal_form.lattice_key`).
* ``vertices``: the vertices of ``P = {x : 1 + w_i . x >= 0}`` (exact, Normaliz, sorted
  lexicographically), flat: ``counts`` (vertices per entry) + ``vertices`` (rows).

Lookup order: the package (``envs/polytopes/data/smooth_fano_d{d}.{field}.npz.xz``),
then the cache (``<cache>/smooth_fano_d{d}.{field}.npz``), else compute into the cache.
Parts go to ``<cache>/smooth_fano_d{d}.{field}.parts-{part_size}/partNNNNN.npz``; an
interrupted computation resumes from the parts already written, and the parts are
removed once merged.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.parallel import run_tasks
from envs.polytopes import geometry, normal_form
from envs.polytopes.packed import (
    MatrixList,
    offsets_from_counts,
    read_bundle,
    small_int_dtype,
    write_bundle,
)

__all__ = [
    "FIELDS",
    "PART_SIZE",
    "shipped_file",
    "cache_file",
    "default_workers",
    "vertices_of",
    "compute",
    "load_field",
    "keys_array",
    "vertex_list",
]

PACKAGE_DATA_DIR = Path(__file__).resolve().parent / "data"
FIELDS = ("keys", "vertices")
PART_SIZE = 1000
KEY_BYTES = 32


def shipped_file(d: int, field: str) -> Path:
    """Where a derived field ships inside the package (may not exist)."""
    return PACKAGE_DATA_DIR / f"smooth_fano_d{d}.{field}.npz.xz"


def cache_file(d: int, field: str, cache_dir: str | os.PathLike[str]) -> Path:
    """Where a computed derived field is cached."""
    return Path(cache_dir) / f"smooth_fano_d{d}.{field}.npz"


def default_workers() -> int:
    """``$POLYGYM_DATASET_WORKERS`` or the number of usable cores."""
    env = os.environ.get("POLYGYM_DATASET_WORKERS")
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"POLYGYM_DATASET_WORKERS must be a positive integer, got {env!r}")
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _check_field(field: str) -> None:
    if field not in FIELDS:
        raise ValueError(f"field must be one of {FIELDS}, got {field!r}")


# ----------------------------------------------------------------------------- one part


def vertices_of(rows: np.ndarray) -> np.ndarray:
    """Exact vertices of ``{x : 1 + W x >= 0}``, sorted lexicographically (int64)."""
    polyhedron = geometry.hyperplane_polyhedron(rows)
    if not (polyhedron.compact and polyhedron.lattice):
        raise ValueError(f"dataset entry is not a compact lattice polytope:\n{rows}")
    vertices = np.array(polyhedron.vertex_numerators, dtype=np.int64)
    return vertices[np.lexsort(vertices.T[::-1])]


def _part_arrays(field: str, rows: MatrixList) -> dict[str, np.ndarray]:
    if field == "keys":
        digests = b"".join(normal_form.lattice_key(matrix) for matrix in rows)
        return {"keys": np.frombuffer(digests, dtype=np.uint8).reshape(-1, KEY_BYTES)}
    vertex_blocks = [vertices_of(matrix) for matrix in rows]
    counts = np.array([len(block) for block in vertex_blocks], dtype=np.int64)
    flat = np.concatenate(vertex_blocks) if vertex_blocks else np.zeros((0, 0), np.int64)
    return {"counts": counts, "vertices": flat.astype(np.int32)}


def _compute_part(field: str, rows: MatrixList, path: Path) -> int:
    """Compute one part and write it to ``path`` (atomically); returns its size."""
    write_bundle(path, _part_arrays(field, rows))
    return len(rows)


def _merge(field: str, parts: list[dict[str, np.ndarray]], n: int) -> dict[str, np.ndarray]:
    if field == "keys":
        keys = np.concatenate([part["keys"] for part in parts]).astype(np.uint8)
        merged = {"keys": keys.reshape(-1, KEY_BYTES)}
        count = len(keys)
    else:
        counts = np.concatenate([part["counts"] for part in parts])
        flat = np.concatenate([part["vertices"] for part in parts])
        merged = {
            "counts": counts.astype(np.uint16 if counts.max(initial=0) < 2**16 else np.int64),
            "vertices": flat.astype(small_int_dtype(flat)),
        }
        count = len(counts)
    if count != n:
        raise ValueError(f"merged {count} entries, expected {n}")
    return merged


# ----------------------------------------------------------------------------- all parts


def compute(
    field: str,
    rows: MatrixList,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    part_size: int = PART_SIZE,
    progress: bool = True,
    desc: str | None = None,
    backend: str | None = None,
    address: str | None = None,
) -> dict[str, np.ndarray]:
    """Compute ``field`` for every matrix of ``rows``, write ``out`` (``.npz``), return it.

    Parts of ``part_size`` entries are written to ``<out>.parts-<part_size>/`` as they
    finish (tasks of :func:`envs.parallel.run_tasks` on ``backend``, default ``process``
    with ``workers`` processes, ``ray`` with ``address``; ``workers <= 1`` and no
    ``backend``: in this process), so an interrupted run
    resumes; ``out`` is written once all parts exist, and the parts are then removed.
    """
    _check_field(field)
    if part_size < 1:
        raise ValueError(f"part_size must be >= 1, got {part_size}")
    if len(rows) == 0:
        raise ValueError("no matrices to compute a field for")
    out = Path(out)
    workers = default_workers() if workers is None else int(workers)
    n = len(rows)
    parts_dir = out.with_name(f"{out.name}.parts-{part_size}")
    parts_dir.mkdir(parents=True, exist_ok=True)
    starts = list(range(0, n, part_size))
    paths = [parts_dir / f"part{k:05d}.npz" for k in range(len(starts))]
    todo = [k for k, path in enumerate(paths) if not path.exists()]
    done = n - sum(min(part_size, n - starts[k]) for k in todo)
    with tqdm(
        total=n,
        initial=done,
        desc=desc or f"computing {field}",
        unit="polytope",
        disable=not progress,
        smoothing=0.05,
    ) as bar:
        if backend in (None, "serial") and (workers <= 1 or len(todo) <= 1):
            for k in todo:
                bar.update(_compute_part(field, rows[starts[k] : starts[k] + part_size], paths[k]))
        else:
            _run_executor(
                field, rows, starts, paths, todo, part_size, workers, bar, backend, address
            )
    parts = [read_bundle(path) for path in paths]
    merged = _merge(field, parts, n)
    write_bundle(out, {**merged, "n": np.array(n)})
    shutil.rmtree(parts_dir)
    return merged


def _compute_part_task(task: tuple[str, MatrixList, Path]) -> int:
    return _compute_part(*task)


def _run_executor(
    field: str,
    rows: MatrixList,
    starts: list[int],
    paths: list[Path],
    todo: list[int],
    part_size: int,
    workers: int,
    bar: tqdm,
    backend: str | None,
    address: str | None,
) -> None:
    """Compute the parts ``todo`` through :func:`envs.parallel.run_tasks` (one task each)."""
    tasks = [(field, rows[starts[k] : starts[k] + part_size], paths[k]) for k in todo]
    outcomes = run_tasks(
        _compute_part_task,
        tasks,
        backend=backend,
        workers=workers,
        address=address,
        progress=False,
        on_result=lambda outcome: bar.update(outcome.value if outcome.ok else 0),
    )
    failed = [(todo[o.index], o.error) for o in outcomes if not o.ok]
    if failed:
        part, error = failed[0]
        raise RuntimeError(
            f"{len(failed)} part(s) of {field} failed (first: part {part}: {error}); "
            "rerun to retry them (finished parts are kept)"
        )


# ----------------------------------------------------------------------------- loading


def load_field(
    d: int,
    field: str,
    rows: MatrixList,
    *,
    cache_dir: str | os.PathLike[str],
    workers: int | None = None,
    progress: bool = True,
    backend: str | None = None,
    address: str | None = None,
) -> dict[str, np.ndarray]:
    """The arrays of ``field`` for dimension ``d``: shipped, cached, or computed now."""
    _check_field(field)
    for path in (shipped_file(d, field), cache_file(d, field, cache_dir)):
        if path.exists():
            arrays = read_bundle(path)
            count = len(arrays["keys"] if field == "keys" else arrays["counts"])
            if count != len(rows):
                raise ValueError(
                    f"{path} holds {count} entries but the d={d} dataset has {len(rows)}; "
                    "delete it to recompute"
                )
            return arrays
    return compute(
        field,
        rows,
        cache_file(d, field, cache_dir),
        workers=workers,
        progress=progress,
        desc=f"d={d} {field} (first use; cached in {cache_dir})",
        backend=backend,
        address=address,
    )


def keys_array(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The ``(n, 32) uint8`` keys of a loaded ``keys`` bundle."""
    return np.ascontiguousarray(arrays["keys"], dtype=np.uint8).reshape(-1, KEY_BYTES)


def vertex_list(arrays: dict[str, np.ndarray]) -> MatrixList:
    """The vertices of a loaded ``vertices`` bundle as a lazy :class:`MatrixList`."""
    return MatrixList(arrays["vertices"], offsets_from_counts(arrays["counts"]))
