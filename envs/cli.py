"""One way for every command-line tool to report bad input.

Bad input (a missing file, a malformed value, an impossible option) is one line on
stderr, ``error: <what is wrong>``, and exit status 2, with no traceback; ``--debug`` (or
``POLYGYM_DEBUG=1``) re-raises so the traceback shows::

    from envs.cli import UsageError, run_cli

    def main(argv=None) -> int:
        ...
        raise UsageError(f"{path}: no such file")

    if __name__ == "__main__":
        run_cli(main)

Build the parser with :class:`UsageParser` so that argparse's own errors (unknown option,
bad value) are reported the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

__all__ = ["UsageError", "UsageParser", "run_cli", "int_list", "EXIT_USAGE"]

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input to a command-line tool; its message is the one line shown."""


class UsageParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are :class:`UsageError` (one line via :func:`run_cli`).

    Run by the ``polygym`` command (:mod:`envs.commands` sets ``sys.argv[0]`` to
    ``"polygym CMD"``), a ``prog`` of the form ``"python ..."`` is shown as ``polygym CMD``.
    """

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - argparse's own
        prog = kwargs.get("prog")
        command = sys.argv[0] if sys.argv else ""
        if isinstance(prog, str) and prog.startswith("python ") and command.startswith("polygym "):
            kwargs["prog"] = command
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def int_list(text: str) -> list[int]:
    """An argparse ``type`` for comma-separated integers (``"4,6,8"``)."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 4,6,8, got {text!r}"
        ) from None
    return values


def run_cli(
    main: Callable[[Sequence[str] | None], int | None],
    argv: Sequence[str] | None = None,
    *,
    expected: tuple[type[BaseException], ...] = (UsageError, FileNotFoundError),
) -> None:
    """Run ``main(argv)`` and exit; ``expected`` errors become one line and status 2.

    ``main`` returns its exit status; a ``main`` that returns its results instead (for
    Python callers: a list or dict) exits 0.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("POLYGYM_DEBUG") == "1"
    if "--debug" in args:
        args.remove("--debug")
    try:
        status = main(args)
    except expected as error:
        if debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    sys.exit(status if isinstance(status, int) and not isinstance(status, bool) else 0)
