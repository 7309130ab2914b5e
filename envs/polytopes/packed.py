"""Flat storage of many small integer matrices, handed out lazily as int64 matrices.

A dimension's polytopes live in one flat small-integer array of rows plus offsets;
:class:`MatrixList` is a read-only sequence over them whose ``[i]`` builds the int64
matrix of entry ``i`` on demand (a few hundred bytes), so 749 892 d = 8 polytopes cost
~45 MB instead of 750 000 separate arrays. Bundles of arrays are stored as an
uncompressed ``.npz`` (fast to load) or as an xz-compressed one (``.npz.xz``, what ships
with the package); :func:`read_bundle` / :func:`write_bundle` handle both.
"""

from __future__ import annotations

import io
import lzma
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

__all__ = ["MatrixList", "read_bundle", "write_bundle", "small_int_dtype", "offsets_from_counts"]

XZ_PRESET = 9 | lzma.PRESET_EXTREME


def small_int_dtype(values: np.ndarray) -> np.dtype:
    """The smallest of int8/int16/int32 holding every value of ``values``."""
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return np.dtype(dtype)
    raise ValueError(f"entries {low}..{high} do not fit in int32")


def offsets_from_counts(counts: np.ndarray) -> np.ndarray:
    """``[0, c0, c0 + c1, ...]`` as int64 (length ``len(counts) + 1``)."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


class MatrixList(Sequence[np.ndarray]):
    """Lazy sequence of int64 matrices stored flat: entry ``i`` is ``prefix`` over
    ``flat[offsets[i]:offsets[i+1]]``.

    ``prefix`` (optional, ``(k, d)``): rows shared by every matrix and not stored (the
    ``e_1..e_d`` that start every hyperplane matrix in Øbro's embedding). ``indices``
    (optional): the entries of the underlying storage this list shows, in order (splits,
    slices). ``[i]`` returns a fresh writable int64 array; ``[a:b]``, ``[array]`` return
    another :class:`MatrixList` over the same storage; ``+`` with any sequence gives a
    ``list``. Pickling copies only the shown entries.
    """

    def __init__(
        self,
        flat: np.ndarray,
        offsets: np.ndarray,
        *,
        prefix: np.ndarray | None = None,
        indices: np.ndarray | None = None,
    ) -> None:
        flat = np.asarray(flat)
        offsets = np.asarray(offsets, dtype=np.int64)
        if flat.ndim != 2:
            raise ValueError(f"flat must be a 2-d array of rows, got shape {flat.shape}")
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(flat):
            raise ValueError("offsets must run from 0 to the number of flat rows")
        if prefix is not None:
            prefix = np.asarray(prefix, dtype=np.int64)
            if prefix.ndim != 2 or prefix.shape[1] != flat.shape[1]:
                raise ValueError(f"prefix shape {prefix.shape} does not match rows {flat.shape}")
        if indices is not None:
            indices = np.asarray(indices, dtype=np.int64)
            if indices.size and (indices.min() < 0 or indices.max() >= len(offsets) - 1):
                raise IndexError("indices out of range")
        self._flat = flat
        self._offsets = offsets
        self._prefix = prefix
        self._indices = indices

    # ------------------------------------------------------------------ sequence protocol

    def __len__(self) -> int:
        return len(self._offsets) - 1 if self._indices is None else len(self._indices)

    def _position(self, i: int) -> int:
        n = len(self)
        if i < -n or i >= n:
            raise IndexError(f"index {i} out of range for {n} matrices")
        i = i + n if i < 0 else i
        return i if self._indices is None else int(self._indices[i])

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, i: slice | Sequence[int] | np.ndarray) -> MatrixList: ...

    def __getitem__(self, i: Any) -> np.ndarray | MatrixList:
        if isinstance(i, int | np.integer):
            return self._matrix(self._position(int(i)))
        if isinstance(i, slice):
            picked = range(len(self))[i]
            chosen = np.arange(picked.start, picked.stop, picked.step, dtype=np.int64)
        else:
            chosen = np.asarray(i)
            if chosen.dtype == bool:
                if chosen.shape != (len(self),):
                    raise IndexError(f"boolean mask of shape {chosen.shape} for {len(self)}")
                chosen = np.flatnonzero(chosen)
            elif chosen.ndim != 1 or (chosen.size and not np.issubdtype(chosen.dtype, np.integer)):
                raise TypeError(f"MatrixList indices must be integers, got {i!r}")
            chosen = chosen.astype(np.int64)
            chosen = np.where(chosen < 0, chosen + len(self), chosen)
            if chosen.size and (chosen.min() < 0 or chosen.max() >= len(self)):
                raise IndexError("index out of range")
        base = chosen if self._indices is None else self._indices[chosen]
        return MatrixList(self._flat, self._offsets, prefix=self._prefix, indices=base)

    def _matrix(self, position: int) -> np.ndarray:
        block = self._flat[self._offsets[position] : self._offsets[position + 1]]
        if self._prefix is None:
            return block.astype(np.int64)
        out = np.empty((len(self._prefix) + len(block), self._flat.shape[1]), dtype=np.int64)
        out[: len(self._prefix)] = self._prefix
        out[len(self._prefix) :] = block
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        positions = range(len(self)) if self._indices is None else self._indices.tolist()
        for position in positions:
            yield self._matrix(position)

    def __add__(self, other: Sequence[Any]) -> list[Any]:
        return list(self) + list(other)

    def __radd__(self, other: Sequence[Any]) -> list[Any]:
        return list(other) + list(self)

    def __repr__(self) -> str:
        return f"MatrixList({len(self)} matrices, d={self._flat.shape[1]})"

    # ------------------------------------------------------------------ flat views

    @property
    def flat(self) -> np.ndarray:
        """The stored rows of every matrix of the underlying storage (read-only view)."""
        view = self._flat.view()
        view.flags.writeable = False
        return view

    @property
    def offsets(self) -> np.ndarray:
        """Matrix ``k`` of the storage is ``flat[offsets[k]:offsets[k + 1]]`` (read-only)."""
        view = self._offsets.view()
        view.flags.writeable = False
        return view

    @property
    def prefix(self) -> np.ndarray | None:
        """Rows prepended to every matrix (not stored), or ``None``."""
        return None if self._prefix is None else self._prefix.copy()

    @property
    def positions(self) -> np.ndarray:
        """Index of each shown matrix in the underlying storage."""
        if self._indices is None:
            return np.arange(len(self), dtype=np.int64)
        return self._indices.copy()

    def lengths(self) -> np.ndarray:
        """Number of rows of each matrix (int64, without building the matrices)."""
        stored = np.diff(self._offsets)
        if self._indices is not None:
            stored = stored[self._indices]
        return stored + (0 if self._prefix is None else len(self._prefix))

    def compact(self) -> MatrixList:
        """A copy whose storage holds only the shown matrices."""
        if self._indices is None:
            return self
        starts, stops = self._offsets[self._indices], self._offsets[self._indices + 1]
        counts = stops - starts
        if counts.size:
            take = np.repeat(starts - offsets_from_counts(counts)[:-1], counts)
            take += np.arange(int(counts.sum()), dtype=np.int64)
            flat = self._flat[take]
        else:
            flat = self._flat[:0]
        return MatrixList(flat, offsets_from_counts(counts), prefix=self._prefix)

    def nbytes(self) -> int:
        """Bytes held by the storage (flat rows + offsets + indices)."""
        extra = 0 if self._indices is None else self._indices.nbytes
        return int(self._flat.nbytes + self._offsets.nbytes + extra)

    def __reduce__(self) -> tuple[Any, ...]:
        small = self.compact()
        return (
            MatrixList,
            (small._flat, small._offsets),
            {"_prefix": small._prefix, "_indices": None},
        )


def write_bundle(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` as ``.npz`` (uncompressed) or, for ``*.xz``, an xz-compressed ``.npz``.

    Written to a temporary file first and renamed, so a reader never sees half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
    payload = buffer.getvalue()
    if path.suffix == ".xz":
        payload = lzma.compress(payload, format=lzma.FORMAT_XZ, preset=XZ_PRESET)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
    return path


def read_bundle(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a bundle written by :func:`write_bundle` into a dict of arrays."""
    path = Path(path)
    payload = path.read_bytes()
    if path.suffix == ".xz":
        try:
            payload = lzma.decompress(payload)
        except lzma.LZMAError as error:
            raise ValueError(f"{path}: not a valid xz file ({error})") from None
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
