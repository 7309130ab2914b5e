"""Throughput of the property checker and time of a normal-form lookup.

    python -m baselines.polytopes.benchmark --dims 6 7 --n 1000 --workers 2 \
        --normality skip auto exact --out results/polytopes
    python -m baselines.polytopes.benchmark --dims 8 --n 1000 --perturbed --normality auto \
        --no-lookup --out results/polytopes/normality8

For each dimension: ``n`` dataset polytopes (seeded sample) are checked with
:func:`envs.polytopes.batch.check_many` for each normality mode, and ``n`` randomly
re-embedded, row-shuffled copies are identified with :class:`DatasetIndex`. Prints a
table and writes ``benchmark.csv`` / ``benchmark.json``. ``--perturbed`` checks instead
one-entry perturbations of dataset polytopes (``baselines.polytopes.sensitivity.make_samples``:
a 0 -> +-1 or +-1 -> 0 change, seeded), the generated-sample mix in which many polytopes are
compact and lattice but not smooth, so that exact normality (a Hilbert basis) is needed;
the ``exact_normality`` column counts those. ``--no-lookup`` skips the identification.
d = 7 needs the cache (``python -m envs.polytopes.dataset build --dims 7``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baselines.polytopes.sensitivity import make_samples, random_unimodular
from envs.cli import UsageError, UsageParser, run_cli
from envs.polytopes import dataset
from envs.polytopes.batch import check_many, summarize
from envs.polytopes.identify import DatasetIndex
from envs.polytopes.properties import PropertyReport, normal_by_classification


def benchmark_checker(
    d: int, n: int, workers: int, modes: list[str], seed: int, perturbed: bool = False
) -> list[dict]:
    """Check ``n`` dataset polytopes (or one-entry perturbations) per normality mode."""
    if perturbed:
        sample = [record["matrix"] for record in make_samples(d, n, seed, reembed=False)]
    else:
        polytopes = dataset.load(d)
        rng = np.random.default_rng(seed)
        sample = [polytopes[i] for i in rng.choice(len(polytopes), n, replace=False)]
    rows = []
    for mode in modes:
        start = time.perf_counter()
        reports = check_many(sample, workers=workers, progress=True, normality=mode)
        elapsed = time.perf_counter() - start
        summary = summarize(reports)
        rows.append(
            {
                "benchmark": "check",
                "samples": "perturbed" if perturbed else "dataset",
                "d": d,
                "n": n,
                "workers": workers,
                "normality": mode,
                "seconds": round(elapsed, 2),
                "per_second": round(n / elapsed, 1),
                "all_true": summary["all"],
                "normal_undetermined": sum(r.normal is None for r in reports),
                "exact_normality": sum(_needs_exact_normality(r) for r in reports),
                "seconds_per_1000": round(1000 * elapsed / n, 1),
            }
        )
    return rows


def _needs_exact_normality(report: PropertyReport) -> bool:
    """Compact lattice samples whose normality ``auto`` computes (a Hilbert basis)."""
    return bool(report.compact and report.lattice and not normal_by_classification(report))


def benchmark_lookup(d: int, n: int, seed: int) -> dict:
    start = time.perf_counter()
    index = DatasetIndex(d)
    build_seconds = time.perf_counter() - start
    polytopes = dataset.load(d)
    rng = np.random.default_rng(seed)
    positions = rng.choice(len(polytopes), n, replace=False)
    queries = []
    for position in positions:
        rows = polytopes[position] @ random_unimodular(d, rng)
        queries.append(rows[rng.permutation(len(rows))])
    start = time.perf_counter()
    results = [index.identify(query) for query in queries]
    elapsed = time.perf_counter() - start
    correct = int(sum(r.index == p for r, p in zip(results, positions, strict=True)))
    return {
        "benchmark": "lookup",
        "d": d,
        "n": n,
        "index_size": len(index),
        "index_load_seconds": round(build_seconds, 2),
        "ms_per_lookup": round(1000 * elapsed / n, 3),
        "found": correct,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m baselines.polytopes.benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dims", type=int, nargs="+", default=[6, 7])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--normality",
        nargs="+",
        default=["skip", "auto", "exact"],
        choices=["skip", "auto", "exact"],
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--perturbed", action="store_true", help="check one-entry perturbations of dataset polytopes"
    )
    parser.add_argument("--no-lookup", action="store_true", help="skip the identification timing")
    parser.add_argument("--out", type=Path, default=Path("results/polytopes"))
    args = parser.parse_args(argv)
    if args.n < 1 or args.workers < 1:
        raise UsageError(f"--n and --workers must be >= 1, got {args.n} and {args.workers}")
    rows: list[dict] = []
    for d in args.dims:
        try:
            count = len(dataset.load(d))
        except ValueError as error:  # no data for d
            raise UsageError(str(error)) from None
        if args.n > count:
            raise UsageError(f"--n {args.n} exceeds the {count} polytopes of d={d}")
        rows.extend(
            benchmark_checker(d, args.n, args.workers, args.normality, args.seed, args.perturbed)
        )
        if not args.no_lookup:
            rows.append(benchmark_lookup(d, args.n, args.seed))
    args.out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    (args.out / "benchmark.json").write_text(
        json.dumps({"load_average": load, "rows": rows}, indent=2)
    )
    fields = sorted({key for row in rows for key in row})
    with open(args.out / "benchmark.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n(load average {load:.1f} on {os.cpu_count()} cores)")
    for row in rows:
        if row["benchmark"] == "check":
            print(
                f"check  d={row['d']} {row['samples']} normality={row['normality']:<5} "
                f"{row['per_second']:>8} polytopes/s ({row['seconds']} s for {row['n']}, "
                f"{row['workers']} workers; {row['seconds_per_1000']} s per 1000), "
                f"all={row['all_true']}, exact normality needed={row['exact_normality']}, "
                f"normal undetermined={row['normal_undetermined']}"
            )
        else:
            print(
                f"lookup d={row['d']} {row['ms_per_lookup']:>8} ms/polytope "
                f"(index of {row['index_size']} loaded in {row['index_load_seconds']} s), "
                f"found {row['found']}/{row['n']}"
            )
    return 0


if __name__ == "__main__":
    run_cli(main)
