"""Table 3 analogue: exact (both methods) vs numerical region counts and runtimes.

    python -m baselines.regions.table3 [--networks 25] [--output results/regions]

For every architecture, ``--networks`` random Gaussian networks (seeds 0..k-1) are counted by
Algorithm 4, by the activation-cell traversal and by Algorithm 5 with R in {5, 20} and
N in {1000, 5000}.  Writes ``table3_runs.csv`` (one row per network, resumable),
``table3_summary.csv`` and ``table3.png``, and prints the summary table.  Exits non-zero if the
two exact methods ever disagree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV, save_figure, write_csv
from envs.cli import UsageParser, run_cli
from envs.regions.exact import count_regions_traversal, count_regions_tropical
from envs.regions.network import random_network
from envs.regions.numerical import estimate_regions

ARCHITECTURES = ["2,6,1", "3,5,1", "4,4,1", "5,3,1", "6,2,1", "3,2,2,1", "3,3,2,1"]
RADII = [5.0, 20.0]
SAMPLES = [1000, 5000]


def numerical_columns() -> list[str]:
    return [
        f"numerical_R{int(r)}_N{n}{suffix}"
        for r in RADII
        for n in SAMPLES
        for suffix in ("", "_seconds")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--networks", type=int, default=25)
    parser.add_argument("--architectures", default=";".join(ARCHITECTURES))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-resume", action="store_true")
    args = parser.parse_args(argv)
    architectures = [a for a in args.architectures.split(";") if a]
    fields = [
        "architecture",
        "seed",
        "tropical",
        "tropical_seconds",
        "traversal",
        "traversal_seconds",
    ] + numerical_columns()
    runs = ResumableCSV(
        args.output / "table3_runs.csv", fields, ["architecture", "seed"], resume=not args.no_resume
    )
    jobs = [(a, s) for a in architectures for s in range(args.networks)]
    for arch, seed in tqdm(jobs, desc="table3"):
        if runs.has(architecture=arch, seed=seed):
            continue
        network = random_network(arch, seed)
        tropical = count_regions_tropical(network)
        traversal = count_regions_traversal(network)
        row = {
            "architecture": arch,
            "seed": seed,
            "tropical": tropical.count,
            "tropical_seconds": f"{tropical.seconds:.6f}",
            "traversal": traversal.count,
            "traversal_seconds": f"{traversal.seconds:.6f}",
        }
        for radius in RADII:
            for samples in SAMPLES:
                result = estimate_regions(network, samples, radius, seed=seed)
                name = f"numerical_R{int(radius)}_N{samples}"
                row[name] = int(result.count)
                row[name + "_seconds"] = f"{result.seconds:.6f}"
        runs.append(row)
    summary, disagreements = [], 0
    for arch in architectures:
        rows = [r for r in runs.rows if r["architecture"] == arch]
        if not rows:
            continue
        trop = np.array([float(r["tropical"]) for r in rows])
        trav = np.array([float(r["traversal"]) for r in rows])
        disagreements += int(np.sum(trop != trav))
        entry = {
            "architecture": f"[{arch}]",
            "networks": len(rows),
            "exact_mean": f"{trop.mean():.2f}",
            "exact_std": f"{trop.std():.2f}",
            "methods_agree": f"{int(np.sum(trop == trav))}/{len(rows)}",
            "tropical_seconds": f"{np.mean([float(r['tropical_seconds']) for r in rows]):.4f}",
            "traversal_seconds": f"{np.mean([float(r['traversal_seconds']) for r in rows]):.4f}",
        }
        for radius in RADII:
            for samples in SAMPLES:
                name = f"numerical_R{int(radius)}_N{samples}"
                values = np.array([float(r[name]) for r in rows])
                entry[name] = f"{values.mean():.2f}"
                entry[name + "_seconds"] = (
                    f"{np.mean([float(r[name + '_seconds']) for r in rows]):.4f}"
                )
        summary.append(entry)
    write_csv(args.output / "table3_summary.csv", summary)
    header = [
        "architecture",
        "exact_mean",
        "methods_agree",
        "tropical_seconds",
        "traversal_seconds",
    ]
    header += [f"numerical_R{int(r)}_N{n}" for r in RADII for n in SAMPLES]
    print(" | ".join(header))
    for entry in summary:
        print(" | ".join(str(entry[h]) for h in header))
    _plot(summary, args.output / "table3.png")
    print(f"exact methods disagree on {disagreements} networks")
    return 1 if disagreements else 0


def _plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [s["architecture"] for s in summary]
    x = np.arange(len(labels))
    columns = ["exact_mean"] + [f"numerical_R{int(r)}_N{n}" for r in RADII for n in SAMPLES]
    fig, (ax_count, ax_time) = plt.subplots(1, 2, figsize=(13, 4.5))
    width = 0.8 / len(columns)
    for k, column in enumerate(columns):
        ax_count.bar(
            x + k * width,
            [float(s[column]) for s in summary],
            width,
            label=column.replace("_mean", " (both methods)"),
        )
    ax_count.set_xticks(x + 0.4 - width / 2, labels, rotation=30)
    ax_count.set_ylabel("mean number of linear regions")
    ax_count.legend(fontsize=7)
    for column, label in [
        ("tropical_seconds", "Algorithm 4"),
        ("traversal_seconds", "traversal"),
        ("numerical_R5_N5000_seconds", "numerical N=5000"),
    ]:
        ax_time.plot(x, [float(s[column]) for s in summary], "o-", label=label)
    ax_time.set_xticks(x, labels, rotation=30)
    ax_time.set_yscale("log")
    ax_time.set_ylabel("mean seconds per network")
    ax_time.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    run_cli(main)
