"""Pruning rate of random against trained one-hidden-layer networks [2, w, 1].

    python -m baselines.regions.pruning_rate [--seeds 5] [--steps 1500]

Pruning rate = 1 - pruned / native monomial count.  Trained networks fit the regression
target ``sin(2 x) cos(2 y)`` on 2000 points of ``[-1, 1]^2`` (Adam, full batch, seeded).
Writes ``pruning_rate.csv``, ``pruning_rate_summary.csv`` and ``pruning_rate.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV, save_figure, write_csv
from envs.cli import UsageParser, int_list, run_cli
from envs.regions.exact import count_regions_traversal
from envs.regions.network import ReLUNetwork, random_network
from envs.regions.tropical import monomial_counts


def train_network(width: int, seed: int, steps: int) -> tuple[ReLUNetwork, float]:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(2000, 2, generator=generator) * 2 - 1
    y = (torch.sin(2 * x[:, 0]) * torch.cos(2 * x[:, 1]))[:, None]
    model = torch.nn.Sequential(
        torch.nn.Linear(2, width), torch.nn.ReLU(), torch.nn.Linear(width, 1)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        optimiser.step()
    return ReLUNetwork.from_sequential(model), float(loss)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--widths", type=int_list, default="4,6,8,10,12")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    widths = list(args.widths)
    fields = ["kind", "width", "seed", "native", "pruned", "pruning_rate", "regions", "train_mse"]
    runs = ResumableCSV(args.output / "pruning_rate.csv", fields, ["kind", "width", "seed"])
    jobs = [
        (kind, w, s) for w in widths for kind in ("random", "trained") for s in range(args.seeds)
    ]
    for kind, width, seed in tqdm(jobs, desc="pruning_rate"):
        if runs.has(kind=kind, width=width, seed=seed):
            continue
        if kind == "random":
            network, mse = random_network([2, width, 1], seed), float("nan")
        else:
            network, mse = train_network(width, seed, args.steps)
        counts = monomial_counts(network, native=True)
        native, pruned = counts["native_total"], counts["monomial_complexity"]
        runs.append(
            {
                "kind": kind,
                "width": width,
                "seed": seed,
                "native": native,
                "pruned": pruned,
                "pruning_rate": f"{1 - pruned / native:.6f}",
                "regions": count_regions_traversal(network).count,
                "train_mse": f"{mse:.6f}",
            }
        )
    summary = []
    for width in widths:
        for kind in ("random", "trained"):
            rows = [r for r in runs.rows if r["kind"] == kind and int(r["width"]) == width]
            summary.append(
                {
                    "kind": kind,
                    "width": width,
                    "native_mean": np.mean([float(r["native"]) for r in rows]),
                    "pruned_mean": np.mean([float(r["pruned"]) for r in rows]),
                    "pruning_rate_mean": np.mean([float(r["pruning_rate"]) for r in rows]),
                    "regions_mean": np.mean([float(r["regions"]) for r in rows]),
                }
            )
    write_csv(args.output / "pruning_rate_summary.csv", summary)
    print("kind | width | native | pruned | pruning rate | regions")
    for s in summary:
        print(
            f"{s['kind']} | {s['width']} | {s['native_mean']:.1f} | {s['pruned_mean']:.1f} | "
            f"{s['pruning_rate_mean']:.3f} | {s['regions_mean']:.1f}"
        )
    _plot(summary, widths, args.output / "pruning_rate.png")
    return summary


def _plot(summary: list[dict], widths: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind in ("random", "trained"):
        ax.plot(
            widths, [s["pruning_rate_mean"] for s in summary if s["kind"] == kind], "o-", label=kind
        )
    ax.set_xlabel("hidden width w of [2, w, 1]")
    ax.set_ylabel("pruning rate 1 - pruned/native")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    run_cli(main)
