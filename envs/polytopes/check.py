"""Command line property checker.

    python -m envs.polytopes.check FILE [--representation vertices] [--normality auto]

``FILE`` (or ``-`` for stdin) holds one integer matrix per blank-line-separated block,
one row per line, entries separated by spaces or commas. Prints one JSON object per
block (JSON lines) with the properties and, for failures, a reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from envs.polytopes.batch import check_many, summarize


def read_blocks(text: str) -> list[str]:
    """Split text into blank-line-separated blocks (each block is one matrix)."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m envs.polytopes.check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="input file, or - for stdin")
    parser.add_argument(
        "--representation", choices=("hyperplane", "vertices"), default="hyperplane"
    )
    parser.add_argument(
        "--normality",
        choices=("exact", "auto", "skip"),
        default="exact",
        help="exact: Normaliz always; auto: smooth reflexive d<=8 is normal "
        "by the classification; skip: do not check",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--summary", action="store_true", help="print counts to stderr")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    blocks = read_blocks(text)
    reports = check_many(
        blocks,
        args.representation,
        workers=args.workers,
        progress=not args.no_progress,
        normality=args.normality,
    )
    for block_number, report in enumerate(reports):
        record = {"block": block_number, **report.to_dict()}
        print(json.dumps(record))
    if args.summary:
        print(json.dumps(summarize(reports)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
