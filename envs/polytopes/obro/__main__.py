"""``python -m envs.polytopes.obro``: the CLI of :mod:`envs.polytopes.obro.cli`."""

from envs.cli import run_cli
from envs.polytopes.obro.cli import main

if __name__ == "__main__":
    run_cli(main)
