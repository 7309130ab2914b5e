"""Width against depth: monomial counts of [2, w+2, 1] against [2, w, 2, 1], w = 2..8.

    python -m baselines.regions.width_depth [--seeds 5] [--output results/regions]
        [--backend serial|process|ray] [--workers N] [--address ADDR]

Both families have w + 2 hidden neurons.  For each network: native monomial count (like
terms combined), pruned count (monomial complexity) and exact number of linear regions
(traversal).  Writes ``width_depth.csv`` / ``width_depth_summary.csv`` / ``width_depth.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV, save_figure, write_csv
from envs.cli import UsageParser, int_list, run_cli
from envs.parallel import TaskOutcome, add_executor_arguments, executor_options, run_tasks
from envs.regions.exact import count_regions_traversal
from envs.regions.network import random_network
from envs.regions.tropical import monomial_counts

FIELDS = ["family", "w", "seed", "architecture", "native", "pruned", "regions"]


def sweep_row(job: tuple[str, int, int]) -> dict:
    """One network ``(family, w, seed)`` -> its CSV row (a task for the executor)."""
    family, w, seed = job
    arch = [2, w + 2, 1] if family == "shallow" else [2, w, 2, 1]
    network = random_network(arch, seed)
    counts = monomial_counts(network, native=True)
    return {
        "family": family,
        "w": w,
        "seed": seed,
        "architecture": ",".join(map(str, arch)),
        "native": counts["native_total"],
        "pruned": counts["monomial_complexity"],
        "regions": count_regions_traversal(network).count,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--widths", type=int_list, default="2,3,4,5,6,7,8")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    add_executor_arguments(parser, workers=1)
    args = parser.parse_args(argv)
    widths = list(args.widths)
    runs = ResumableCSV(args.output / "width_depth.csv", FIELDS, ["family", "w", "seed"])
    jobs = [
        (family, w, seed)
        for w in widths
        for family in ("shallow", "deep")
        for seed in range(args.seeds)
    ]
    todo = [job for job in jobs if not runs.has(family=job[0], w=job[1], seed=job[2])]

    def record(outcome: TaskOutcome) -> None:  # appended as each network finishes: resumable
        if outcome.ok:
            runs.append(outcome.value)

    outcomes = run_tasks(
        sweep_row,
        todo,
        desc="width_depth",
        unit="network",
        on_result=record,
        **executor_options(args),
    )
    # Rows were appended as they finished; rewrite them in job order (same file on any backend).
    position = {(f, str(w), str(seed)): k for k, (f, w, seed) in enumerate(jobs)}
    runs.rows.sort(key=lambda r: position.get((r["family"], r["w"], r["seed"]), len(position)))
    write_csv(runs.path, runs.rows, FIELDS)
    failed = [(job, o.error) for job, o in zip(todo, outcomes, strict=True) if not o.ok]
    if failed:  # not in the CSV: a rerun retries them
        lines = "; ".join(f"{job}: {error}" for job, error in failed)
        raise RuntimeError(f"{len(failed)} networks failed (rerun to retry them): {lines}")
    summary = []
    for w in widths:
        for family in ("shallow", "deep"):
            rows = [r for r in runs.rows if r["family"] == family and int(r["w"]) == w]
            summary.append(
                {
                    "family": family,
                    "w": w,
                    "architecture": rows[0]["architecture"],
                    "native_mean": np.mean([float(r["native"]) for r in rows]),
                    "pruned_mean": np.mean([float(r["pruned"]) for r in rows]),
                    "regions_mean": np.mean([float(r["regions"]) for r in rows]),
                }
            )
    write_csv(args.output / "width_depth_summary.csv", summary)
    print("architecture | native | pruned (monomial complexity) | regions")
    for s in summary:
        print(
            f"[{s['architecture']}] | {s['native_mean']:.1f} | {s['pruned_mean']:.1f} | {s['regions_mean']:.1f}"
        )
    _plot(summary, widths, args.output / "width_depth.png")
    return summary


def _plot(summary: list[dict], widths: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, key, title in zip(
        axes,
        ["native_mean", "pruned_mean", "regions_mean"],
        ["native monomials", "pruned monomials", "linear regions"],
        strict=True,
    ):
        for family, label in [("shallow", "[2, w+2, 1]"), ("deep", "[2, w, 2, 1]")]:
            ax.plot(widths, [s[key] for s in summary if s["family"] == family], "o-", label=label)
        ax.set_xlabel("w")
        ax.set_title(title)
        ax.set_yscale("log")
        ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    run_cli(main)
