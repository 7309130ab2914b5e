"""Batch property checking on any executor backend (see :mod:`envs.parallel`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from envs.parallel import TaskOutcome, pool_context, run_tasks
from envs.polytopes.properties import ParseError, PropertyReport, check, parse_matrix

__all__ = ["check_many", "pool_context", "summarize"]


def _check_chunk(
    chunk: Sequence[Any], representation: str, options: dict[str, Any]
) -> list[PropertyReport]:
    return [check(matrix, representation, **options) for matrix in chunk]


def _unknown_report(matrix: Any, representation: str, error: str, limits: Any) -> PropertyReport:
    """The report of a matrix whose check failed in the executor: every property unknown."""
    report = PropertyReport(representation=representation, parseable=False)
    try:
        rows = parse_matrix(matrix, representation=representation, limits=limits)
    except ParseError as parse_error:
        report.reason = f"not parseable: {parse_error}"
        return report
    report.parseable = True
    report.n_rows, report.dimension = rows.shape
    report.compact = report.lattice = report.reflexive = report.smooth = report.normal = None
    report.reason = f"check failed: {error}"
    return report


def check_many(
    matrices: Sequence[Any],
    representation: str = "hyperplane",
    *,
    workers: int = 2,
    chunk_size: int = 8,
    progress: bool = True,
    backend: str | None = None,
    address: str | None = None,
    retries: int = 2,
    task_timeout: float | None = None,
    **options: Any,
) -> list[PropertyReport]:
    """Check many matrices; results are in input order, the same on every backend.

    Chunks of ``chunk_size`` matrices are the tasks of :func:`envs.parallel.run_tasks`
    (``backend`` default: ``serial`` for ``workers <= 1``, else ``process``; ``address``,
    ``retries`` and ``task_timeout`` as there). A chunk that still fails after its retries
    (its worker died, say) is re-run one matrix per task; a matrix that fails then too gets
    a report with every property unknown (``None``) and the error as its ``reason``.
    ``options`` go to :func:`envs.polytopes.properties.check` (``normality``,
    ``smooth_method``, ``limits``).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    worker = partial(_check_chunk, representation=representation, options=options)
    executor = {
        "backend": backend,
        "workers": workers if backend is not None or workers > 1 else 1,
        "address": address,
        "retries": retries,
        "timeout": task_timeout,
    }
    starts = list(range(0, len(matrices), chunk_size))
    chunks = [list(matrices[i : i + chunk_size]) for i in starts]
    outcomes = run_tasks(
        worker,
        chunks,
        desc="checking",
        unit="polytope",
        units=[len(chunk) for chunk in chunks],
        progress=progress,
        **executor,
    )
    failed = [k for k, outcome in enumerate(outcomes) if not outcome.ok]
    singles: dict[int, TaskOutcome] = {}
    if failed:  # isolate the matrix that broke its chunk; the others still get checked
        positions = [starts[k] + j for k in failed for j in range(len(chunks[k]))]
        rerun = run_tasks(
            worker,
            [[matrices[p]] for p in positions],
            desc="re-checking",
            unit="polytope",
            progress=progress,
            **executor,
        )
        singles = dict(zip(positions, rerun, strict=True))
    reports: list[PropertyReport] = []
    for k, outcome in enumerate(outcomes):
        if outcome.ok:
            reports.extend(outcome.value)
            continue
        for j in range(len(chunks[k])):
            single = singles[starts[k] + j]
            if single.ok:
                reports.extend(single.value)
            else:
                limits = options.get("limits")
                reports.append(
                    _unknown_report(chunks[k][j], representation, str(single.error), limits)
                )
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
