"""Command line property checker.

    python -m envs.polytopes.check FILE [--representation vertices] [--normality exact]
        [--time-limit 60] [--enumeration-time-limit 30] [--workers 2] [--backend serial|process|ray] [--summary]

``FILE`` (or ``-`` for stdin) holds one integer matrix per blank-line-separated block,
one row per line, entries separated by spaces or commas. Prints one JSON object per
block (JSON lines) with the properties and, for failures, a reason. ``all`` is ``null``
when no property failed but one is unknown (e.g. normality past its time limit).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import add_executor_arguments, validate_executor_arguments
from envs.polytopes.batch import check_many, summarize
from envs.polytopes.properties import (
    ENUMERATION_TIME_LIMIT,
    NORMALITY_TIME_LIMIT,
    Limits,
    PropertyReport,
)


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


def _seconds(text: str) -> float | None:
    """A time limit in seconds; ``none`` (or ``0``) means no limit."""
    if text.strip().lower() in ("none", "0", "inf"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"time limit must be >= 0, got {text}")
    return value


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """``--normality``, ``--time-limit`` and ``--enumeration-time-limit`` options."""
    parser.add_argument(
        "--normality",
        choices=("exact", "auto", "skip"),
        default="auto",
        help="auto (default): smooth reflexive d<=8 is normal by the classification, "
        "otherwise computed; exact: Normaliz always; skip: not checked",
    )
    parser.add_argument(
        "--time-limit",
        type=_seconds,
        default=NORMALITY_TIME_LIMIT,
        help=f"seconds per exact normality computation (default {NORMALITY_TIME_LIMIT:g}; "
        "none: no limit); past it normal and all are null",
    )
    parser.add_argument(
        "--enumeration-time-limit",
        type=_seconds,
        default=ENUMERATION_TIME_LIMIT,
        help="seconds per vertex/facet enumeration of inputs with large entries "
        f"(default {ENUMERATION_TIME_LIMIT:g}; none: no limit)",
    )


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` selected by :func:`add_limit_arguments`'s options."""
    return Limits(
        normality_time_limit=args.time_limit, enumeration_time_limit=args.enumeration_time_limit
    )


def read_text(path: str) -> str:
    """The file's text (``-``: stdin); a missing or unreadable file is a UsageError."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (UTF-8)") from None


def check_file(path: str, args: argparse.Namespace) -> tuple[list[str], list[PropertyReport]]:
    """The blocks of ``path`` (``-``: stdin) and their reports.

    ``args`` holds ``representation``, ``workers``, ``no_progress`` and the options of
    :func:`add_limit_arguments`. A file with no matrix is a :class:`UsageError`.
    """
    blocks = read_blocks(read_text(path))
    if not blocks:
        raise UsageError(f"no polytopes in {'standard input' if path == '-' else path}")
    reports = check_many(
        blocks,
        args.representation,
        workers=args.workers,
        backend=getattr(args, "backend", None),
        address=getattr(args, "address", None),
        retries=getattr(args, "retries", 2),
        task_timeout=getattr(args, "task_timeout", None),
        progress=not args.no_progress,
        normality=args.normality,
        limits=limits_from_args(args),
    )
    return blocks, reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m envs.polytopes.check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="input file, or - for stdin")
    parser.add_argument(
        "--representation", choices=("hyperplane", "vertices"), default="hyperplane"
    )
    add_limit_arguments(parser)
    add_executor_arguments(parser, workers=2)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--summary", action="store_true", help="print counts to stderr")
    args = parser.parse_args(argv)
    validate_executor_arguments(args)
    _, reports = check_file(args.file, args)
    for block_number, report in enumerate(reports):
        record = {"block": block_number, **report.to_dict()}
        print(json.dumps(record))
    if args.summary:
        print(json.dumps(summarize(reports)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main)
