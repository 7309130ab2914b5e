"""Decoder for the Magma ``smoothfano`` block files (Øbro's classification).

Each ``blockK`` file starts with an integer base ``b``; every further line is one
integer whose base-``b`` digits, least significant first, are the dimension ``d``,
a shift ``s`` and then the vertex coordinates plus ``s``, ``d`` at a time.

The entry with ID ``k`` sits on line ``((k - 1) mod blocksize) + 1`` *after* the
header line (the README.txt snippets shipped with the data are off by one).

Data: M. Øbro, "An algorithm for the classification of smooth Fano polytopes",
arXiv:0704.0049; Graded Ring Database, http://grdb.lboro.ac.uk/forms/toricsmooth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataFormatError(ValueError):
    """A block file does not follow the documented format (message names file and line)."""


@dataclass(frozen=True)
class BlockEntry:
    """One decoded polytope: ``grdb_id`` is the ID inside its folder (1-based)."""

    grdb_id: int
    rows: np.ndarray  # (n_rows, d) int64, the vertices of P^dual = the rows w_i of P


def decode_line(value: int, base: int) -> tuple[int, np.ndarray]:
    """Decode one integer into ``(d, rows)``; raises ``ValueError`` on inconsistent data."""
    if base < 2:
        raise ValueError(f"base must be >= 2, got {base}")
    if value <= 0:
        raise ValueError(f"entry must be a positive integer, got {value}")
    digits: list[int] = []
    while value:
        value, digit = divmod(value, base)
        digits.append(digit)
    if len(digits) < 2:
        raise ValueError("entry has fewer than two base-b digits (dimension and shift)")
    dim, shift = digits[0], digits[1]
    coords = digits[2:]
    if dim < 1:
        raise ValueError(f"decoded dimension {dim} < 1")
    # The data never uses digit 0 for a coordinate (every coordinate is >= 1 - shift), so
    # a coordinate count that is not a multiple of d means a corrupt line.
    if not coords or len(coords) % dim:
        raise ValueError(f"{len(coords)} coordinates do not split into rows of length d={dim}")
    rows = np.asarray(coords, dtype=np.int64).reshape(-1, dim) - shift
    return dim, rows


def block_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The ``blockK`` files of ``folder`` sorted by ``K``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"smooth Fano data folder not found: {folder}")
    files = [p for p in folder.iterdir() if p.name.startswith("block") and p.name[5:].isdigit()]
    if not files:
        raise FileNotFoundError(f"no blockK files in {folder}")
    files.sort(key=lambda p: int(p.name[5:]))
    numbers = [int(p.name[5:]) for p in files]
    if numbers != list(range(len(files))):
        raise DataFormatError(f"{folder}: block files are not numbered 0..{len(files) - 1}")
    return files


def read_block(path: str | os.PathLike[str], first_id: int) -> list[BlockEntry]:
    """Decode one block file; ``first_id`` is the ID of its first entry."""
    path = Path(path)
    with open(path, encoding="ascii", errors="strict") as handle:
        lines = handle.read().splitlines()
    entries: list[BlockEntry] = []
    base: int | None = None
    for line_number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            if line_number == len(lines):
                continue
            raise DataFormatError(f"{path}:{line_number}: empty line")
        if not text.isdigit():
            raise DataFormatError(
                f"{path}:{line_number}: not a non-negative integer: {text[:40]!r}"
            )
        if base is None:
            base = int(text)
            if base < 2:
                raise DataFormatError(f"{path}:{line_number}: base must be >= 2, got {base}")
            continue
        try:
            _, rows = decode_line(int(text), base)
        except ValueError as error:
            raise DataFormatError(f"{path}:{line_number}: {error}") from None
        entries.append(BlockEntry(first_id + len(entries), rows))
    if base is None:
        raise DataFormatError(f"{path}:1: missing base line")
    return entries


def iter_folder(folder: str | os.PathLike[str]) -> Iterator[tuple[Path, list[BlockEntry]]]:
    """Yield ``(block_path, entries)`` for every block of a Magma ``smoothfano*`` folder.

    The block size (entries per file) is read from ``block0``; every block but the
    last must have exactly that many entries.
    """
    files = block_files(folder)
    next_id = 1
    block_size: int | None = None
    for index, path in enumerate(files):
        entries = read_block(path, next_id)
        if block_size is None:
            block_size = len(entries)
        elif len(entries) != block_size and index != len(files) - 1:
            raise DataFormatError(
                f"{path}: {len(entries)} entries, expected the block size {block_size}"
            )
        next_id += len(entries)
        yield path, entries
