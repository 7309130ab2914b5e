"""Batch property checking with a process pool and a progress bar."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

from tqdm import tqdm

from envs.polytopes.properties import PropertyReport, check


def pool_context() -> multiprocessing.context.BaseContext:
    """Process start method for worker pools.

    Normaliz uses OpenMP; forking a process after OpenMP ran deadlocks the child, so
    workers start from a clean ``forkserver`` (or ``spawn`` where that is unavailable).
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _check_chunk(
    chunk: Sequence[Any], representation: str, options: dict[str, Any]
) -> list[PropertyReport]:
    return [check(matrix, representation, **options) for matrix in chunk]


def check_many(
    matrices: Sequence[Any],
    representation: str = "hyperplane",
    *,
    workers: int = 2,
    chunk_size: int = 8,
    progress: bool = True,
    **options: Any,
) -> list[PropertyReport]:
    """Check many matrices; results are in input order.

    ``workers <= 1`` runs in this process. ``options`` go to
    :func:`envs.polytopes.properties.check` (``normality``, ``smooth_method``, ``limits``).
    """
    chunks = [matrices[i : i + chunk_size] for i in range(0, len(matrices), chunk_size)]
    worker = partial(_check_chunk, representation=representation, options=options)
    reports: list[PropertyReport] = []
    with tqdm(total=len(matrices), desc="checking", unit="polytope", disable=not progress) as bar:
        if workers <= 1:
            for chunk in chunks:
                reports.extend(worker(chunk))
                bar.update(len(chunk))
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
                for result in pool.map(worker, chunks):
                    reports.extend(result)
                    bar.update(len(result))
    return reports


def summarize(reports: Sequence[PropertyReport]) -> dict[str, Any]:
    """Counts of each property (the paper's Section 3.3 style table).

    ``summary[name]`` counts reports where the property is ``True``;
    ``summary["unknown"][name]`` those where it is ``None`` among parseable reports
    (not determined: skipped, time limit, Normaliz failure). ``all`` counts correct
    samples, ``all_unknown`` those with no failed property but an unknown one.
    """
    names = ("parseable", "compact", "lattice", "reflexive", "smooth", "normal")
    summary: dict[str, Any] = {
        name: sum(getattr(r, name) is True for r in reports) for name in names
    }
    summary["all"] = sum(r.all is True for r in reports)
    summary["all_unknown"] = sum(r.all is None for r in reports)
    summary["irredundant"] = sum(r.irredundant is True for r in reports)
    summary["unknown"] = {
        name: sum(r.parseable and getattr(r, name) is None for r in reports) for name in names[1:]
    }
    summary["total"] = len(reports)
    return summary
