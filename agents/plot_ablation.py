"""Learning curves of the symmetric vs the vanilla Q-network (the paper's Fig. 3).

    python agents/plot_ablation.py --runs runs/dqn_cpu runs/dqn_vanilla_cpu \\
        --labels symmetric vanilla --out results/agents/ablation.png

    python agents/plot_ablation.py --runs checkpoints/dqn_cpu_symmetric.curve.csv \\
        checkpoints/dqn_vanilla_cpu.curve.csv --labels symmetric vanilla   # the shipped curves

Reads each run's ``curve.csv`` (or a curve CSV given directly; mean final bound of the greedy agent on the fixed
validation graphs, written by ``agents/train_dqn.py`` every ``eval_every`` steps) and plots
bound vs environment steps, up to the largest step that every run reached unless
``--all-steps``. Also writes the merged table next to the PNG (``.csv``).

Bad input (a missing run, a curve without rows or columns, ``--runs`` and ``--labels`` of
different lengths) is one ``error:`` line on stderr and exit status 2 (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envs.cli import UsageError, UsageParser, run_cli  # noqa: E402


def read_curve(run: str | Path) -> list[tuple[int, float]]:
    """(step, mean bound) rows of a run directory's ``curve.csv``, or of a curve CSV itself."""
    path = Path(run)
    if not path.is_file():
        path = path / "curve.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (train with agents/train_dqn.py first)")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"step", "mean_bound"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} is not a curve CSV (no column {', '.join(sorted(missing))})")
        rows = []
        for line, r in enumerate(reader, start=2):
            try:
                rows.append((int(r["step"]), float(r["mean_bound"])))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{line}: bad step or mean_bound ({exc})") from exc
    if not rows:
        raise ValueError(f"{path} has no rows")
    return rows


def plot(
    runs: list[str],
    labels: list[str],
    out: str | Path,
    all_steps: bool = False,
    title: str | None = None,
) -> Path:
    if len(runs) != len(labels):
        raise ValueError("--runs and --labels must have the same length")
    curves = [read_curve(r) for r in runs]
    limit = None if all_steps else min(c[-1][0] for c in curves)
    fig, ax = plt.subplots(figsize=(6, 4))
    merged: dict[int, dict[str, float]] = {}
    for label, curve in zip(labels, curves, strict=True):
        pts = [(s, b) for s, b in curve if limit is None or s <= limit]
        ax.plot([s for s, _ in pts], [b for _, b in pts], marker="o", markersize=3, label=label)
        for s, b in pts:
            merged.setdefault(s, {})[label] = b
    ax.set_xlabel("environment steps")
    ax.set_ylabel("mean bound on validation graphs (lower is better)")
    ax.set_title(title or "Symmetric vs vanilla Q-network")
    ax.grid(alpha=0.3)
    ax.legend()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", *labels])
        for step in sorted(merged):
            writer.writerow([step, *(merged[step].get(label, "") for label in labels)])
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line; bad input raises :class:`UsageError` (one line, exit 2 via ``run_cli``)."""
    parser = UsageParser(
        prog="python -m agents.plot_ablation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shipped = Path(__file__).resolve().parents[1] / "checkpoints"
    parser.add_argument(
        "--runs",
        nargs="+",
        default=[str(shipped / f"{name}.curve.csv") for name in ("dqn_cpu_symmetric", "dqn_vanilla_cpu")],
        help="run folders or curve CSVs (default: the shipped curves in checkpoints/)",
    )
    parser.add_argument("--labels", nargs="+", default=["symmetric", "vanilla"])
    parser.add_argument("--out", default="results/agents/ablation.png")
    parser.add_argument("--all-steps", action="store_true", help="do not cut at the shortest run")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    try:
        path = plot(args.runs, args.labels, args.out, all_steps=args.all_steps, title=args.title)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {path} and {path.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    run_cli(main)
