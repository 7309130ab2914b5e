"""Fundamental-domain estimate for permutation-invariant (DeepSets) networks (cf. Fig. 6).

    python -m baselines.regions.fundamental_domain [--dims 2,3,4,5,6] [--networks 10]

For each input dimension n: random DeepSets networks ``R^n -> R`` (two equivariant layers
``a I + b 11^T``).  Compares Algorithm 5 on the whole cube (N points) with Algorithm 5 on the
fundamental domain ``x1 >= ... >= xn`` (N / n! points, Lemma 30 weights), and with the exact
count (traversal) where ``--exact-up-to`` allows.  Writes ``fundamental_domain.csv`` and
``fundamental_domain.png``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV, save_figure
from envs.cli import UsageParser, int_list, run_cli
from envs.regions.exact import count_regions_traversal
from envs.regions.network import random_deepsets_network
from envs.regions.numerical import estimate_regions


def main(argv: list[str] | None = None) -> list[dict]:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--dims", type=int_list, default="2,3,4,5,6")
    parser.add_argument("--networks", type=int, default=10)
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--radius", type=float, default=5.0)
    parser.add_argument("--exact-up-to", type=int, default=6)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    dims = list(args.dims)
    fields = [
        "n",
        "seed",
        "exact",
        "full_estimate",
        "full_seconds",
        "fd_points",
        "fd_estimate",
        "fd_seconds",
    ]
    runs = ResumableCSV(args.output / "fundamental_domain.csv", fields, ["n", "seed"])
    for n in tqdm(dims, desc="fundamental_domain"):
        for seed in range(args.networks):
            if runs.has(n=n, seed=seed):
                continue
            network = random_deepsets_network(n, depth=2, rng=seed)
            full = estimate_regions(network, args.points, args.radius, seed=seed)
            fd_points = max(10, args.points // math.factorial(n))
            fd = estimate_regions(
                network, fd_points, args.radius, seed=seed, fundamental_domain=True
            )
            exact = (
                count_regions_traversal(network, box_radius=args.radius).count
                if n <= args.exact_up_to
                else ""
            )
            runs.append(
                {
                    "n": n,
                    "seed": seed,
                    "exact": exact,
                    "full_estimate": int(full.count),
                    "full_seconds": f"{full.seconds:.5f}",
                    "fd_points": fd_points,
                    "fd_estimate": int(fd.count),
                    "fd_seconds": f"{fd.seconds:.5f}",
                }
            )
    summary = []
    print(
        "n | exact (box) | full estimate | fundamental-domain estimate | count ratio fd/full | time ratio fd/full"
    )
    for n in dims:
        rows = [r for r in runs.rows if int(r["n"]) == n]
        exact = [float(r["exact"]) for r in rows if r["exact"] != ""]
        entry = {
            "n": n,
            "exact": np.mean(exact) if exact else float("nan"),
            "full": np.mean([float(r["full_estimate"]) for r in rows]),
            "fd": np.mean([float(r["fd_estimate"]) for r in rows]),
            "count_ratio": np.mean(
                [float(r["fd_estimate"]) / float(r["full_estimate"]) for r in rows]
            ),
            "time_ratio": np.mean(
                [float(r["fd_seconds"]) / float(r["full_seconds"]) for r in rows]
            ),
        }
        summary.append(entry)
        print(
            f"{n} | {entry['exact']:.1f} | {entry['full']:.1f} | {entry['fd']:.1f} | "
            f"{entry['count_ratio']:.3f} | {entry['time_ratio']:.3f}"
        )
    _plot(summary, args.output / "fundamental_domain.png")
    return summary


def _plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    dims = [s["n"] for s in summary]
    ax.plot(dims, [s["count_ratio"] for s in summary], "o-", label="estimate ratio (fd / full)")
    ax.plot(dims, [s["time_ratio"] for s in summary], "s-", label="time ratio (fd / full)")
    ax.plot(dims, [s["fd"] / s["exact"] for s in summary], "^-", label="fd estimate / exact")
    ax.axhline(1.0, color="grey", lw=0.5)
    ax.set_xlabel("input dimension n")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    run_cli(main)
