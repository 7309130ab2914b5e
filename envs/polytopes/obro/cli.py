"""Command line: classify the given dimensions, one JSON file per dimension (resumable)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from envs.cli import UsageError, UsageParser
from envs.polytopes.obro.candidates import _check_dimension
from envs.polytopes.obro.search import classify


def main(argv: list[str] | None = None) -> None:
    """CLI: classify the given dimensions, one JSON file per dimension (resumable)."""
    from envs.polytopes import obro  # the package docstring is the help text

    parser = UsageParser(
        prog="python -m envs.polytopes.obro",
        description=obro.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/polytopes/obro"),
        help="writes <out>/obro_d{d}.json; finished dimensions are skipped",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes over first-level branches"
    )
    args = parser.parse_args(argv)
    for d in args.dims:  # the library's own check, before any work starts
        try:
            _check_dimension(d)
        except ValueError as error:
            raise UsageError(f"--dims: {error}") from None
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    args.out.mkdir(parents=True, exist_ok=True)
    table = []
    for d in args.dims:
        path = args.out / f"obro_d{d}.json"
        if path.exists():
            record = json.loads(path.read_text())
            table.append((d, record["count"], record["seconds"], "cached"))
            continue
        partial = args.out / f"obro_d{d}.partial.json"
        start = time.perf_counter()
        found = classify(d, progress=not args.no_progress, checkpoint=partial, workers=args.workers)
        elapsed = round(time.perf_counter() - start, 1)
        record = {
            "d": d,
            "count": len(found),
            "seconds": elapsed,
            "polytopes": [f.tolist() for f in found],
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)
        partial.unlink(missing_ok=True)
        table.append((d, len(found), elapsed, str(path)))
    print(f"{'d':>3} {'count':>7} {'seconds':>9}  file")
    for d, count, seconds, where in table:
        print(f"{d:>3} {count:>7} {seconds:>9}  {where}")
