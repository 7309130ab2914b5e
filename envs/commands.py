"""The ``polygym`` command: one entry point for every job of the suite.

    polygym --help                      # every command, one line each
    polygym benchmark --n 15 --graphs 5 # = python -m baselines.benchmark --n 15 --graphs 5
    polygym regions count --arch 2,3,1 --method exact
    polygym <command> --help            # the command's own options

Each command runs an existing module's ``main(argv)`` (``python -m <module>`` keeps
working and takes the same options); the module is imported only when its command runs,
so ``polygym --help`` is fast. Errors are reported as by :func:`envs.cli.run_cli`: one line
``error: ...`` on stderr and exit status 2; ``--debug`` shows the traceback.

This module lives in :mod:`envs` because ``envs`` is the package every other one builds
on (it holds :mod:`envs.cli`, the shared error helper); it names the ``agents`` and
``baselines`` modules only as strings, so it adds no import-time dependency on them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from envs.cli import EXIT_USAGE, run_cli

__all__ = ["COMMANDS", "Command", "main"]

PROG = "polygym"


@dataclass(frozen=True)
class Command:
    """A ``polygym`` command: the words that name it, its module and one line of help."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command("benchmark", "baselines.benchmark",
            "the main job: certified upper bounds on alpha(G) of random graphs (Table 1)"),
    Command("sherali-adams", "baselines.sherali_adams",
            "Sherali-Adams level-l bound on alpha(G) of one graph, with an exact proof"),
    Command("verify", "envs.polyproof.verify",
            "check a saved PolyProof proof (JSON) in exact arithmetic"),
    Command("train-dqn", "agents.train_dqn", "train the DQN prover from a YAML config"),
    Command("evaluate", "agents.evaluate",
            "evaluate a DQN prover checkpoint against the baseline provers"),
    Command("check", "envs.polytopes.check",
            "exact properties (compact, lattice, reflexive, smooth, normal) of matrices"),
    Command("dataset", "envs.polytopes.dataset", "build or inspect the smooth Fano datasets"),
    Command("train-sequence", "agents.train_sequence",
            "train a polytope sequence model (n-gram, LSTM, Transformer)"),
    Command("sample", "agents.sequence.sample", "sample polytopes from a sequence model"),
    Command("finetune", "agents.sequence.finetune",
            "fine-tune a sequence model on PolytopeGen-v0's reward (PPO, PatternBoost)"),
    Command("generation-table", "baselines.polytopes.generation_table",
            "the paper's tables for a file of generated polytopes"),
    Command("regions count", "envs.regions.count",
            "linear regions of a ReLU network (exact, traversal or numerical)"),
)


def help_text() -> str:
    """``polygym --help``: every command with its one-line description."""
    width = max(len(command.name) for command in COMMANDS) + 2
    lines = [
        f"usage: {PROG} [--version] <command> [options]    ({PROG} <command> --help: its options)",
        "",
        "Gymnasium environments, agents and baselines for machine learning on mathematics.",
        "",
        "commands:",
    ]
    lines += [f"  {command.name:<{width}}{command.help}" for command in COMMANDS]
    lines += [
        "",
        f"Each command is a module too: '{PROG} benchmark ...' = 'python -m baselines.benchmark ...'.",
        "Bad input: one line 'error: ...' on stderr, exit status 2; add --debug for the traceback.",
    ]
    return "\n".join(lines)


def group(word: str) -> list[Command]:
    """The commands of two or more words that start with ``word`` (``regions`` ...)."""
    return [c for c in COMMANDS if " " in c.name and c.name.split()[0] == word]


def find_command(args: Sequence[str]) -> tuple[Command, list[str]] | str:
    """The command named by the first words of ``args`` and the remaining arguments.

    Returns an error message instead when no command matches.
    """
    for command in COMMANDS:
        words = command.name.split()
        if list(args[: len(words)]) == words:
            return command, list(args[len(words):])
    if group(args[0]):
        choices = ", ".join(repr(c.name) for c in group(args[0]))
        return f"'{args[0]}' needs a subcommand: {choices}"
    return f"unknown command '{args[0]}' (see '{PROG} --help')"


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``polygym ARGS`` and exit with the command's status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"{PROG} {version(PROG)}")
        except PackageNotFoundError:
            print(f"{PROG} (not installed: pip install -e .)")
        sys.exit(0)
    if not args or args[0] in ("-h", "--help", "help"):
        print(help_text(), file=sys.stdout if args else sys.stderr)
        sys.exit(0 if args else EXIT_USAGE)
    if group(args[0]) and args[1:2] in (["-h"], ["--help"]):
        width = max(len(c.name) for c in group(args[0])) + 2
        print(f"usage: {PROG} {args[0]} <command> [options]\n\ncommands:")
        print("\n".join(f"  {c.name:<{width}}{c.help}" for c in group(args[0])))
        sys.exit(0)
    found = find_command(args)
    if isinstance(found, str):
        print(f"error: {found}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    command, rest = found
    module = importlib.import_module(command.module)
    # argparse derives the usage line's program name from sys.argv[0].
    sys.argv[0] = f"{PROG} {command.name}"
    run_cli(module.main, rest)


if __name__ == "__main__":
    main()
