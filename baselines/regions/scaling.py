"""Largest architecture each exact method handles within a time limit, and regions per second.

    python -m baselines.regions.scaling [--limit 300] [--families one2,one4,two3]
    python -m baselines.regions.scaling --limit 60 --reference old_regions --reference-path /tmp/oldpkg
    python -m baselines.regions.scaling --backend process --workers 2   # traversal on 2 processes

Walks up architecture families ([2, w, 1], [4, w, 1], [3, w, w, 1]) with one random network
(seed 0) per size; a method stops at its first run over ``--limit`` seconds (aborted via the
methods' ``time_limit``, so the count is unknown, never guessed).  Writes ``scaling_runs.csv`` and
prints, per family and method, the largest architecture finished in time, its regions and the
regions per second.  With ``--reference PACKAGE`` (a copy of ``envs.regions`` importable under
another name, e.g. an older version) the same walk runs with the reference code in the same
process, and the ratio of regions per second (this code / reference) is printed for every
architecture both finished.  ``--backend``/``--workers``/``--address`` run this code's traversal
on a process pool or Ray (the reference always runs as it is).  Timings depend on the (shared)
CPU.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV
from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import BACKENDS

FAMILIES = {
    "one2": [[2, w, 1] for w in (8, 16, 32, 48, 64, 96, 128, 160, 192, 256, 384, 512, 768, 1024,
                                 1216, 1536, 2048)],
    "one4": [[4, w, 1] for w in (8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 72, 80, 96)],
    "two3": [[3, w, w, 1] for w in (4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48, 56, 64, 80)],
}
METHODS = ("tropical", "traversal")
FIELDS = ["code", "family", "method", "architecture", "count", "seconds", "regions_per_second",
          "status"]


def load_code(package: str) -> tuple[dict[str, Callable], Callable]:
    """The two counters and ``random_network`` of ``package`` (``envs.regions`` or a copy)."""
    exact = importlib.import_module(f"{package}.exact")
    network = importlib.import_module(f"{package}.network")
    methods = {"tropical": exact.count_regions_tropical, "traversal": exact.count_regions_traversal}
    return methods, network.random_network


def walk(codes: list[tuple[str, str]], families: list[str], methods: list[str], limit: float,
         runs: ResumableCSV, traversal_options: dict | None = None) -> dict:
    """Run every family/method up to each code's first run over ``limit``; the codes run
    interleaved (same architecture back to back) so that a shared CPU's load hits them alike.
    Returns ``{code: {(family, method): largest row done in time}}``."""
    loaded = {code: load_code(package) for code, package in codes}
    largest: dict = {code: {} for code, _ in codes}
    for family in families:
        for method in methods:
            stopped: set[str] = set()
            for arch in FAMILIES[family]:
                for code, _ in codes:
                    if code in stopped:
                        continue
                    options = traversal_options if code == "current" and method == "traversal" else None
                    row = _run_one(code, loaded[code], family, method, arch, limit, runs, options)
                    if row["status"] != "ok" or float(row["seconds"]) > limit:
                        stopped.add(code)
                    else:
                        largest[code][(family, method)] = row
                if len(stopped) == len(codes):
                    break
    return largest


def _run_one(code: str, loaded: tuple, family: str, method: str, arch: list[int], limit: float,
             runs: ResumableCSV, options: dict | None = None) -> dict:
    """One count (or its row from an earlier, resumed run)."""
    counters, random_network = loaded
    name = ",".join(map(str, arch))
    for row in runs.rows:
        if (row["code"], row["family"], row["method"], row["architecture"]) == (code, family, method, name):
            return row
    network = random_network(arch, 0)
    begin = time.perf_counter()
    try:
        count = counters[method](network, time_limit=limit, **(options or {})).count
        status = "ok"
    except (RuntimeError, ValueError) as error:
        count, status = "", f"aborted: {str(error).splitlines()[0]}"
    seconds = time.perf_counter() - begin
    row = {"code": code, "family": family, "method": method, "architecture": name, "count": count,
           "seconds": f"{seconds:.2f}",
           "regions_per_second": f"{count / seconds:.1f}" if count != "" else "", "status": status}
    runs.append(row)
    print(row, flush=True)
    return row


def run(argv: Sequence[str] | None = None) -> dict:
    """Run the experiment; return its rows (bad input raises :class:`UsageError`)."""
    parser = UsageParser(prog="python -m baselines.regions.scaling", description=__doc__)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--reference", default=None,
                        help="package name of a reference copy of envs.regions to compare with")
    parser.add_argument("--reference-path", default=None, help="directory to import it from")
    parser.add_argument("--backend", choices=BACKENDS, default="serial",
                        help="where this code's traversal expands cells (default serial)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes (or Ray CPUs) for --backend process/ray; default all CPUs")
    parser.add_argument("--address", default=None, help="Ray cluster to join (--backend ray)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    families, methods = args.families.split(","), args.methods.split(",")
    for family in families:
        if family not in FAMILIES:
            raise UsageError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    for method in methods:
        if method not in METHODS:
            raise UsageError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if not args.limit > 0:
        raise UsageError(f"--limit must be positive, got {args.limit}")
    codes = [("current", "envs.regions")]
    if args.reference:
        if args.reference_path:
            sys.path.insert(0, args.reference_path)
        try:
            load_code(args.reference)
        except ImportError as error:
            raise UsageError(f"cannot import reference package {args.reference!r}: {error}") from error
        codes.append(("reference", args.reference))
    runs = ResumableCSV(args.output / "scaling_runs.csv", FIELDS, ["code", "family", "method",
                                                             "architecture"])
    traversal_options = {"backend": args.backend, "workers": args.workers, "address": args.address}
    largest = walk(codes, families, methods, args.limit, runs, traversal_options)
    print(f"limit {args.limit:g} s per run; traversal backend {args.backend}"
          f"{f' ({args.workers} workers)' if args.workers else ''}")
    print("code | family | method | largest architecture within limit | seconds | regions | "
          "regions/s")
    for code, table in largest.items():
        for (family, method), row in table.items():
            print(f"{code} | {family} | {method} | [{row['architecture']}] | {row['seconds']} | "
                  f"{row['count']} | {row['regions_per_second']}")
    if args.reference:
        print("family | method | architecture | regions | regions/s current / reference")
        by_key = {(r["code"], r["family"], r["method"], r["architecture"]): r for r in runs.rows}
        for (code, family, method, name), row in by_key.items():
            other = by_key.get(("reference", family, method, name))
            if code != "current" or other is None or row["status"] != "ok" or other["status"] != "ok":
                continue
            ratio = float(row["regions_per_second"]) / float(other["regions_per_second"])
            print(f"{family} | {method} | [{name}] | {row['count']} | {ratio:.2f}")
    return largest


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (exit status)."""
    run(argv)
    return 0


if __name__ == "__main__":
    run_cli(main)
